//! End-to-end tests of user-space probes against the real kernel: uprobes,
//! uretprobes and USDT probes on the test programs of `user_programs`
//! (built with gcc at test time), `-c` with `cpid`, `-p`, and listing.
//! Every session is scoped to its own child process (`-c` or `-p`), so
//! tests running in parallel never see each other's calls.

use ferrotrace_tests::harness::{kernel_available, run};
use ferrotrace_tests::user_programs::user_programs;
use std::process::{Command, Stdio};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `script` with `-c 'demo ROUNDS'` and returns the output.
fn with_demo(script: &str, rounds: u32) -> std::process::Output {
    let cmd = format!("{} {rounds}", user_programs().demo_str());
    let o = run(&["-c", &cmd, "-e", script]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    o
}

#[test]
fn uprobe_reads_arguments_and_func() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    let o = with_demo(
        &format!(r#"uprobe:{demo}:add_ints {{ printf("%s(%d, %d)\n", func, arg0, arg1); }}"#),
        3,
    );
    assert_eq!(
        stdout(&o),
        "add_ints(0, 10)\nadd_ints(1, 10)\nadd_ints(2, 10)\n\n\n"
    );
    assert_eq!(stderr(&o), "Attached 1 probe\n");
}

#[test]
fn uretprobe_reads_return_values() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    // scale(i, 3, 7) returns 3i + 7.
    let o = with_demo(
        &format!(r#"uretprobe:{demo}:scale {{ printf("%s -> %d\n", func, retval); }}"#),
        3,
    );
    assert_eq!(stdout(&o), "scale -> 7\nscale -> 10\nscale -> 13\n\n\n");
}

#[test]
fn wildcard_attaches_one_probe_per_function_and_offsets_work() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    let o = with_demo(
        &format!("uprobe:{demo}:*e {{ @[func] = count(); }} uprobe:{demo}:add_ints+4 {{ @off = count(); }}"),
        3,
    );
    assert_eq!(stdout(&o), "\n\n@[negate]: 3\n@[scale]: 3\n@off: 3\n");
    assert_eq!(stderr(&o), "Attached 3 probes\n");
}

#[test]
fn library_by_short_name_and_by_path() {
    if !kernel_available() {
        return;
    }
    let p = user_programs();
    // demo calls atoi(argv[1]) once; lib_add(i, 100) in its library each round.
    let o = with_demo(
        &format!(
            r#"uprobe:libc:atoi {{ printf("atoi in the command: %d\n", pid == cpid); }}
               uretprobe:{}:lib_add {{ printf("lib_add -> %d\n", retval); }}"#,
            p.lib_str()
        ),
        2,
    );
    assert_eq!(
        stdout(&o),
        "atoi in the command: 1\nlib_add -> 100\nlib_add -> 101\n\n\n"
    );
}

#[test]
fn usdt_arguments_from_memory_registers_and_constants() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    // demo:tick's note says `-4@-4(%rbp) -8@%rax -4@$-5` with gcc -O0.
    let o = with_demo(
        &format!(r#"usdt:{demo}:demo:tick {{ printf("tick %d %d %d\n", arg0, arg1, arg2); }}"#),
        2,
    );
    assert_eq!(stdout(&o), "tick 0 1000 -5\ntick 1 1001 -5\n\n\n");
}

#[test]
fn usdt_semaphore_is_set_while_attached() {
    if !kernel_available() {
        return;
    }
    let p = user_programs();
    // demo fires demo:guarded only when its semaphore is non-zero; the
    // library's demolib:add has no semaphore.
    let o = with_demo(
        &format!(
            r#"U:{}:guarded {{ printf("guarded %d\n", arg0); }}
               usdt:{}:demolib:add {{ printf("add %d %d\n", arg0, arg1); }}"#,
            p.demo_str(),
            p.lib_str()
        ),
        2,
    );
    assert_eq!(
        stdout(&o),
        "add 0 100\nguarded 42\nadd 1 100\nguarded 43\n\n\n"
    );
}

#[test]
fn c_runs_the_command_and_cpid_names_it() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    let o = with_demo(
        &format!(
            r#"BEGIN {{ printf("begin\n"); }}
               uprobe:{demo}:main {{ printf("main is cpid: %d\n", pid == cpid); }}
               END {{ printf("end\n"); @rounds = 1; }}"#
        ),
        1,
    );
    assert_eq!(stdout(&o), "begin\nmain is cpid: 1\nend\n\n\n@rounds: 1\n");
}

#[test]
fn p_scopes_probes_to_the_process_and_ends_with_it() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    let o = with_demo_pid(
        &format!(
            r#"uprobe:{demo}:negate {{ printf("negate(%d) in target: %d\n", arg0, pid == $TARGET); }}
               usdt:*:demo:tick {{ printf("tick %d\n", arg0); }}"#
        ),
        2,
    );
    assert_eq!(
        stdout(&o),
        "negate(1) in target: 1\ntick 0\nnegate(2) in target: 1\ntick 1\n\n\n"
    );
}

#[test]
fn p_with_a_missing_process_is_an_error() {
    let o = run(&["-p", "999999999", "-e", "BEGIN { exit(); }"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "ERROR: process 999999999 does not exist; check the pid given with -p.\n"
    );
}

#[test]
fn nothing_is_left_in_tracefs() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    with_demo(&format!("uprobe:{demo}:negate {{ @ = count(); }}"), 1);
    for events in [
        "/sys/kernel/tracing/uprobe_events",
        "/sys/kernel/debug/tracing/uprobe_events",
    ] {
        let text = std::fs::read_to_string(events).unwrap_or_default();
        assert!(!text.contains(demo), "{events} still names {demo}: {text}");
    }
}

/// Runs `script` with `-p` on `demo ROUNDS 3000` (3 s to attach before
/// its rounds) and returns the output once the target has exited.
fn with_demo_pid(script: &str, rounds: u32) -> std::process::Output {
    let mut target = spawn_demo(rounds, 3000);
    let pid = target.id().to_string();
    let o = run(&["-p", &pid, "-e", &script.replace("$TARGET", &pid)]);
    let _ = target.wait();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    o
}

/// Starts `demo ROUNDS DELAY_MS` in the background.
fn spawn_demo(rounds: u32, delay_ms: u32) -> std::process::Child {
    let demo = user_programs().demo_str();
    match Command::new(demo)
        .args([rounds.to_string(), delay_ms.to_string()])
        .stdout(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot start {demo}: {e}"),
    }
}

#[test]
fn p_filters_tracepoints_by_pid() {
    if !kernel_available() {
        return;
    }
    // demo's usleep returns after 3 s, while traced; other processes'
    // sleeps at the same time are filtered out.
    let o = with_demo_pid(
        "tracepoint:syscalls:sys_exit_clock_nanosleep { @[comm] = count(); }",
        1,
    );
    assert_eq!(stdout(&o), "\n\n@[demo]: 1\n");
}

#[test]
fn lists_functions_and_usdt_probes_of_a_binary() {
    let p = user_programs();
    let demo = p.demo_str();
    let o = run(&["-l", &format!("usdt:{demo}:*")]);
    assert_eq!(
        stdout(&o),
        format!("usdt:{demo}:demo:guarded\nusdt:{demo}:demo:tick\n")
    );
    let o = run(&["-l", &format!("uretprobe:{demo}:*e")]);
    assert_eq!(
        stdout(&o),
        format!("uretprobe:{demo}:negate\nuretprobe:{demo}:scale\n")
    );
    let o = run(&["-l", "usdt:libdemolib:*"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "ERROR: binary `libdemolib` does not exist; give a path or a library's short name such as `libc`.\n"
    );
}

#[test]
fn lists_usdt_probes_of_a_process() {
    let p = user_programs();
    let mut target = spawn_demo(1, 3000);
    let pid = target.id().to_string();
    // Give the dynamic linker time to map the library.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let o = run(&["-p", &pid, "-l", "usdt:*:*"]);
    let _ = target.kill();
    let _ = target.wait();
    assert_eq!(
        stdout(&o),
        format!(
            "usdt:{d}:demo:guarded\nusdt:{d}:demo:tick\nusdt:{l}:demolib:add\n",
            d = p.demo_str(),
            l = p.lib_str()
        )
    );
}

#[test]
fn cpp_functions_by_demangled_name() {
    if !kernel_available() {
        return;
    }
    let cpp = user_programs().cpp_str();
    let o = run(&[
        "-c",
        cpp,
        "-e",
        &format!(
            r#"uprobe:{cpp}:cpp:"shapes::*" {{ printf("%s\n", func); }}
               uretprobe:{cpp}:"shapes::scaled" {{ printf("%s -> %d\n", func, retval); }}"#
        ),
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "shapes::Circle::area\nshapes::scaled\nshapes::scaled -> 24\n\n\n"
    );
}

#[test]
fn libraries_linked_by_the_command() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    // `libdemolib` is in no system directory: it resolves through demo's
    // run path, and demo's own USDT search falls through to it.
    let o = with_demo(
        &format!(
            r#"uprobe:libdemolib:lib_add {{ printf("lib_add(%d, %d)\n", arg0, arg1); }}
               usdt:{demo}:demolib:add {{ printf("demolib:add %d %d\n", arg0, arg1); }}"#
        ),
        2,
    );
    assert_eq!(
        stdout(&o),
        "lib_add(0, 100)\ndemolib:add 0 100\nlib_add(1, 100)\ndemolib:add 1 100\n\n\n"
    );
}

#[test]
fn arguments_past_the_sixth_come_from_the_stack() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    // sum8(i, 1, 2, 3, 4, 5, 60 + i, 70 + i)
    let o = with_demo(
        &format!(r#"uprobe:{demo}:sum8 {{ printf("%d %d %d %d\n", arg0, arg5, arg6, arg7); }}"#),
        2,
    );
    assert_eq!(stdout(&o), "0 5 60 70\n1 5 61 71\n\n\n");
}

#[test]
fn raw_address_attaches_inside_its_function() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    let object = match ferrotrace_runtime::elf_symbols::read_object(demo) {
        Ok(o) => o,
        Err(e) => panic!("{e}"),
    };
    let Some(negate) = object.symbols.iter().find(|s| s.name == "negate") else {
        panic!("demo has no negate symbol");
    };
    let o = with_demo(
        &format!(
            r#"uprobe:{demo}:{:#x} {{ printf("%s %d\n", func, arg0); }}"#,
            negate.address
        ),
        2,
    );
    assert_eq!(stdout(&o), "negate 1\nnegate 2\n\n\n");
}

#[test]
fn p_with_any_binary_searches_the_process_objects() {
    if !kernel_available() {
        return;
    }
    let o = with_demo_pid(
        r#"uprobe:*:lib_add { printf("%s(%d, %d)\n", func, arg0, arg1); }"#,
        1,
    );
    assert_eq!(stdout(&o), "lib_add(0, 100)\n\n\n");
}

#[test]
fn str_reads_the_traced_process_memory() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    let o = with_demo(
        &format!(
            r#"uprobe:{demo}:greet {{ printf("hello, %s\n", str(arg0)); }}
               uretprobe:{demo}:greet {{ printf("%d letters\n", retval); }}"#
        ),
        1,
    );
    assert_eq!(stdout(&o), "hello, ferrotrace\n10 letters\n\n\n");
}

/// The BPF links of the whole system that attach a uprobe to `path`:
/// uprobe_multi links and perf-event links over a uprobe, read back from
/// the kernel (`bpf_link_info`).
fn uprobe_links_on(path: &str) -> usize {
    let mut count = 0;
    let mut id = 0u32;
    loop {
        let mut next = 0u32;
        // SAFETY: `next` is a valid out pointer.
        if unsafe { libbpf_sys::bpf_link_get_next_id(id, &mut next) } != 0 {
            return count;
        }
        id = next;
        // SAFETY: a plain call; a negative result means the link is gone.
        let fd = unsafe { libbpf_sys::bpf_link_get_fd_by_id(id) };
        if fd < 0 {
            continue;
        }
        if link_uprobe_path(fd).is_some_and(|p| p == path) {
            count += 1;
        }
        // SAFETY: closes the fd this loop opened.
        unsafe { libc::close(fd) };
    }
}

/// The binary a uprobe link attaches to, or `None` for other links.
fn link_uprobe_path(fd: i32) -> Option<String> {
    const BPF_LINK_TYPE_PERF_EVENT: u32 = 7;
    const BPF_LINK_TYPE_UPROBE_MULTI: u32 = 12;
    const BPF_PERF_EVENT_UPROBE: u32 = 1;
    const BPF_PERF_EVENT_URETPROBE: u32 = 2;
    let info_of = |info: &mut libbpf_sys::bpf_link_info| {
        let mut len = std::mem::size_of::<libbpf_sys::bpf_link_info>() as u32;
        // SAFETY: `info` and `len` are valid and sized for each other; any
        // buffer `info` points at outlives the call.
        unsafe { libbpf_sys::bpf_link_get_info_by_fd(fd, info, &mut len) == 0 }
    };
    // SAFETY: bpf_link_info is plain old data; all-zero asks for no strings.
    let mut info: libbpf_sys::bpf_link_info = unsafe { std::mem::zeroed() };
    if !info_of(&mut info) {
        return None;
    }
    let mut name = vec![0u8; 4096];
    // SAFETY: as above.
    let mut again: libbpf_sys::bpf_link_info = unsafe { std::mem::zeroed() };
    match info.type_ {
        BPF_LINK_TYPE_UPROBE_MULTI => {
            again.__bindgen_anon_1.uprobe_multi =
                libbpf_sys::bpf_link_info__bindgen_ty_1__bindgen_ty_10 {
                    path: name.as_mut_ptr() as u64,
                    path_size: name.len() as u32,
                    ..Default::default()
                };
        }
        BPF_LINK_TYPE_PERF_EVENT => {
            // SAFETY: the kernel filled the perf_event member for this type.
            let perf = unsafe { info.__bindgen_anon_1.perf_event };
            if !matches!(perf.type_, BPF_PERF_EVENT_UPROBE | BPF_PERF_EVENT_URETPROBE) {
                return None;
            }
            again.__bindgen_anon_1.perf_event.__bindgen_anon_1.uprobe =
                libbpf_sys::bpf_link_info__bindgen_ty_1__bindgen_ty_11__bindgen_ty_1__bindgen_ty_1 {
                    file_name: name.as_mut_ptr() as u64,
                    name_len: name.len() as u32,
                    ..Default::default()
                };
        }
        _ => return None,
    }
    if !info_of(&mut again) {
        return None;
    }
    let end = name.iter().position(|b| *b == 0).unwrap_or(0);
    Some(String::from_utf8_lossy(&name[..end]).into_owned())
}

#[test]
fn sigkill_leaves_no_uprobe_behind() {
    if !kernel_available() {
        return;
    }
    let p = user_programs();
    // Both attach paths: uprobe_multi links, and per-probe perf events.
    for (tag, extra) in [("multi", None), ("perf", Some("--no-feature=uprobe_multi"))] {
        // A copy of its own, so other tests' probes on demo do not count.
        let copy = p.dir.join(format!("demo-sigkill-{tag}"));
        if let Err(e) = std::fs::copy(&p.demo, &copy) {
            panic!("cannot copy demo: {e}");
        }
        let copy = copy.to_string_lossy().into_owned();
        let cmd = format!("{copy} 1 2000");
        let script = format!("uprobe:{copy}:negate, uretprobe:{copy}:negate {{ @ = count(); }}");
        let mut args = vec!["-c", &cmd, "-e", &script];
        args.extend(extra);
        let session = ferrotrace_tests::harness::Session::start(&args);
        assert_eq!(uprobe_links_on(&copy), 2, "{tag}");
        session.signal(libc::SIGKILL);
        let (code, _, _) = session.finish();
        assert_eq!(code, -1, "killed by a signal, so no exit code");
        assert_eq!(uprobe_links_on(&copy), 0, "{tag}");
    }
}

#[test]
fn perf_event_path_when_uprobe_multi_is_turned_off() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    let cmd = format!("{demo} 2");
    // Per-probe uprobe PMU events: return bit and semaphore in `config`.
    let o = run(&[
        "--no-feature",
        "uprobe_multi",
        "-c",
        &cmd,
        "-e",
        &format!(
            r#"uretprobe:{demo}:scale {{ printf("scale -> %d\n", retval); }}
               usdt:{demo}:demo:guarded {{ printf("guarded %d\n", arg0); }}"#
        ),
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "scale -> 7\nguarded 42\nscale -> 10\nguarded 43\n\n\n"
    );
}

#[test]
fn c_with_a_missing_command_is_an_error() {
    let o = run(&[
        "-c",
        "/nonexistent/ferrotrace-cmd 1",
        "-e",
        "BEGIN { exit(); }",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "ERROR: the command `/nonexistent/ferrotrace-cmd` given with -c was not found; give its path or put it on PATH.\n"
    );
}
