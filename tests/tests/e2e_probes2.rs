//! End-to-end tests of the tracer-run and breakpoint probe kinds against
//! the real kernel: watchpoints on a global of a test program (`-c` with
//! its address as a positional parameter, `-p` with `unwatch()`),
//! `self:signal:SIGUSR1`, `--test` and `--bench`, `-p`/`-c` scoping of
//! profile and software events, and `missing_probes` for user probes.
//! Every traced session is scoped to its own child process, so tests
//! running in parallel never see each other's events.

use ferrotrace_tests::harness::{kernel_available, line_reader, run, spawn, Session};
use ferrotrace_tests::user_programs::gcc;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::OnceLock;
use std::time::Duration;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The watch program (`fixtures/user/watch.c`), built once with -no-pie,
/// and the address of its `counter` global as `nm` prints it.
fn watch_program() -> &'static (PathBuf, String) {
    static BUILT: OnceLock<(PathBuf, String)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/user/watch.c");
        let dir = std::env::temp_dir().join(format!("ferrotrace-probes2-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        let exe = dir.join("watch");
        gcc(&[
            "-O0",
            "-no-pie",
            "-o",
            exe.to_str().unwrap_or_default(),
            src.to_str().unwrap_or_default(),
        ]);
        let nm = Command::new("nm").arg(&exe).output();
        let symbols = match nm {
            Ok(o) => stdout(&o),
            Err(e) => panic!("cannot run nm: {e}"),
        };
        let addr = symbols
            .lines()
            .find(|l| l.ends_with(" counter"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|a| u64::from_str_radix(a, 16).ok())
            .unwrap_or_else(|| panic!("no `counter` in nm output: {symbols}"));
        (exe, format!("0x{addr:x}"))
    })
}

fn watch_exe() -> &'static str {
    watch_program().0.to_str().unwrap_or_default()
}

fn watch_addr() -> &'static str {
    &watch_program().1
}

#[test]
fn watchpoint_counts_writes_of_a_c_child_with_a_positional_address() {
    if !kernel_available() {
        return;
    }
    let cmd = format!("{} 4", watch_exe());
    let o = run(&[
        "-c",
        &cmd,
        "-e",
        r#"watchpoint:$1:8:w { @writes = count(); printf("%s by child %d\n", probe, pid == cpid); }"#,
        watch_addr(),
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let line = format!("watchpoint:{}:8:w by child 1\n", watch_addr());
    assert_eq!(stdout(&o), format!("{}\n\n@writes: 4\n", line.repeat(4)));
    assert_eq!(stderr(&o), "Attached 1 probe\n");
}

/// The watch program in its interactive mode: it prints the address of
/// `counter`, then writes it N times for each line N it reads.
struct Interactive {
    child: Child,
    lines: Receiver<String>,
}

impl Interactive {
    fn start() -> Interactive {
        let mut child = match Command::new(watch_exe())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => panic!("cannot start the watch program: {e}"),
        };
        let lines = match child.stdout.take() {
            Some(out) => line_reader(out),
            None => panic!("no stdout"),
        };
        let mut me = Interactive { child, lines };
        assert_eq!(me.line(), watch_addr());
        me
    }

    fn line(&mut self) -> String {
        match self.lines.recv_timeout(Duration::from_secs(10)) {
            Ok(l) => l,
            Err(e) => panic!("the watch program said nothing: {e}"),
        }
    }

    fn write(&mut self, n: u32) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = writeln!(stdin, "{n}");
            let _ = stdin.flush();
        }
        assert_eq!(self.line(), "done");
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Interactive {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// ferrotrace in the background, its output read line by line as it comes.
struct Traced {
    child: Child,
    out: Receiver<String>,
}

impl Traced {
    /// Starts ferrotrace and waits for `Attached N probe(s)` on stderr.
    fn start(args: &[&str]) -> Traced {
        let mut child = spawn(args);
        let err = line_reader(child.stderr.take().unwrap_or_else(|| panic!("no stderr")));
        let out = line_reader(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
        match err.recv_timeout(Duration::from_secs(30)) {
            Ok(l) if l.starts_with("Attached ") => {}
            other => panic!("ferrotrace did not attach: {other:?}"),
        }
        Traced { child, out }
    }

    fn next_line(&self) -> String {
        match self.out.recv_timeout(Duration::from_secs(10)) {
            Ok(l) => l,
            Err(e) => panic!("ferrotrace printed nothing: {e}"),
        }
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Waits for the exit; returns the code and the rest of stdout.
    fn finish(mut self) -> (Option<i32>, Vec<String>) {
        let rest: Vec<String> = self.out.iter().collect();
        (self.child.wait().ok().and_then(|s| s.code()), rest)
    }
}

#[test]
fn watchpoint_with_pid_then_unwatch_stops_it() {
    if !kernel_available() {
        return;
    }
    let mut target = Interactive::start();
    let addr = watch_addr();
    let script = format!(
        r#"watchpoint:{addr}:8:w {{ printf("hit %d\n", @hits); @hits = @hits + 1; if (@hits == 2) {{ unwatch({addr}); }} }}"#
    );
    let traced = Traced::start(&["-p", &target.pid(), "-e", &script]);
    target.write(1);
    assert_eq!(traced.next_line(), "hit 0");
    target.write(1);
    assert_eq!(traced.next_line(), "hit 1");
    // unwatch() is asynchronous, as in bpftrace: the tracer detaches the
    // watchpoint right after the poll that read the event (at most 100 ms).
    std::thread::sleep(Duration::from_millis(500));
    target.write(3);
    traced.signal(libc::SIGINT);
    let (status, rest) = traced.finish();
    assert_eq!(status, Some(0));
    assert_eq!(rest, ["", "", "@hits: 2"]);
}

#[test]
fn self_signal_probe_runs_when_the_tracer_gets_sigusr1() {
    if !kernel_available() {
        return;
    }
    let traced = Traced::start(&[
        "-e",
        r#"self:signal:SIGUSR1 { @n = @n + 1; printf("usr1 %d %s\n", @n, probe); if (@n == 2) { exit(); } }"#,
    ]);
    traced.signal(libc::SIGUSR1);
    assert_eq!(traced.next_line(), "usr1 1 self:signal:SIGUSR1");
    traced.signal(libc::SIGUSR1);
    assert_eq!(traced.next_line(), "usr1 2 self:signal:SIGUSR1");
    let (status, rest) = traced.finish();
    assert_eq!(status, Some(0));
    assert_eq!(rest, ["", "", "@n: 2"]);
}

/// Replaces the `(N us)` durations of `--test` output, which vary.
fn without_durations(text: &str) -> String {
    text.lines()
        .map(|l| match l.rfind(" (") {
            Some(i) if l.ends_with(')') => format!("{} (T)", &l[..i]),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn test_mode_runs_only_test_probes_and_reports_like_bpftrace() {
    if !kernel_available() {
        return;
    }
    let script = r#"
        BEGIN { printf("begin must not run\n"); }
        tracepoint:syscalls:sys_enter_getpid { printf("nor this\n"); }
        test:arith { if (1 + 2 != 3) { exit(1); } printf("quiet when passing\n"); }
        test:fails { printf("shown when failing\n"); exit(3); }
        test:returns { printf("returned 1\n"); if (1) { return 1; } printf("never\n"); }
        test:returns_zero { return 0; }
        bench:skipped { @b = 1; }
    "#;
    let o = run(&["--test", "-e", script]);
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(&o));
    let (g, r, z) = ("\x1b[32m", "\x1b[31m", "\x1b[0m");
    assert_eq!(
        without_durations(&stdout(&o)),
        format!(
            "{g}[==========]{z} Running 4 tests.\n\
             {g}[ RUN      ]{z} arith\n\
             {g}[       OK ]{z} arith (T)\n\
             {g}[ RUN      ]{z} fails\n\
             shown when failing\n\
             {r}[  FAILED  ]{z} fails (T)\n\
             {g}[ RUN      ]{z} returns\n\
             returned 1\n\
             {r}[  FAILED  ]{z} returns (T)\n\
             {g}[ RUN      ]{z} returns_zero\n\
             {g}[       OK ]{z} returns_zero (T)\n\
             {g}[==========]{z} 4 tests ran.\n\
             {g}[  PASSED  ]{z} 2 tests.\n\
             {r}[  FAILED  ]{z} 2 tests, listed below:\n\
             {r}[  FAILED  ]{z} fails\n\
             {r}[  FAILED  ]{z} returns"
        )
    );
    assert_eq!(stderr(&o), "");

    let o = run(&[
        "--test",
        "-f",
        "json",
        "-e",
        "test:one { printf(\"hi\\n\"); }",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let text = stdout(&o);
    let duration = text
        .split("\"duration\": ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_default();
    assert!(duration.parse::<u64>().is_ok(), "{text}");
    assert_eq!(
        text.replace(duration, "T"),
        "{\"type\": \"test_result\", \"data\": {\"one\": {\"duration\": T, \"passed\": true, \"output\": \"hi\\n\"}}}\n"
    );
}

#[test]
fn bench_mode_prints_a_table_and_test_probes_are_ignored_without_flags() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "--bench",
        "-e",
        "bench:map_update { @x = 1; } test:t { exit(1); }",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0],
        format!("{:<41}{:<15}Iterations", "Benchmark", "Time(ns)")
    );
    assert_eq!(lines[1], "-".repeat(66));
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(row.first(), Some(&"map_update"), "{text}");
    let ns: u64 = row.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    let iters: u64 = row.get(2).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(ns > 0 && iters > 0, "{text}");

    let o = run(&["-f", "json", "--bench", "-e", "bench:b { @x = 1; }"]);
    assert!(
        stdout(&o).starts_with("{\"type\": \"benchmark_result\", \"data\": {\"b\": {\"average\": "),
        "{}",
        stdout(&o)
    );

    // Without a flag, test: and bench: probes neither run nor count.
    let o = run(&[
        "-e",
        "test:t { printf(\"no\\n\"); } bench:b { printf(\"no\\n\"); } BEGIN { printf(\"yes\\n\"); exit(); }",
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "yes\n\n\n");
    assert_eq!(stderr(&o), "Attached 1 probe\n");

    let o = run(&["--test", "-e", "BEGIN { exit(); }"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "ERROR: --test found no `test:` probes in the script; add one, such as `test:NAME { ... }`.\n"
    );
}

#[test]
fn profile_and_software_events_are_scoped_to_the_c_child() {
    if !kernel_available() {
        return;
    }
    let cmd = format!("{} spin 400", watch_exe());
    let o = run(&[
        "-c",
        &cmd,
        "-e",
        r#"profile:hz:499 { if (pid == cpid) { @profile_child = count(); } else { @profile_other = count(); } }
           software:page-faults:1 { if (pid == cpid) { @faults_child = count(); } else { @faults_other = count(); } }"#,
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("@profile_child: "), "{text}");
    assert!(text.contains("@faults_child: "), "{text}");
    assert!(!text.contains("_other"), "{text}");
}

#[test]
fn pid_filters_tracepoints_and_raw_tracepoints_but_not_interval() {
    if !kernel_available() {
        return;
    }
    let mut target = Interactive::start();
    let pid = target.pid();
    let s = Session::start(&[
        "-p",
        &pid,
        "-e",
        r#"tracepoint:syscalls:sys_enter_write { @tp[pid] = count(); }
           rawtracepoint:sys_enter { @rt[pid] = count(); }
           interval:ms:50 { @ticks = 1; }"#,
    ]);
    target.write(1);
    target.write(1);
    std::thread::sleep(Duration::from_millis(200));
    s.signal(libc::SIGINT);
    let (code, out, err) = s.finish();
    assert_eq!(code, 0, "stderr: {err}");
    // The target wrote "done\n" twice, one write(2) each.
    assert!(out.contains(&format!("\n@tp[{pid}]: 2\n")), "{out}");
    let rt: Vec<&str> = out.lines().filter(|l| l.starts_with("@rt[")).collect();
    assert_eq!(rt.len(), 1, "{out}");
    assert!(rt[0].starts_with(&format!("@rt[{pid}]: ")), "{out}");
    assert!(out.contains("@ticks: 1\n"), "{out}");
}

#[test]
fn missing_probes_warn_and_ignore_relax_user_probes() {
    if !kernel_available() {
        return;
    }
    let demo = ferrotrace_tests::user_programs::user_programs().demo_str();
    let script = |policy: &str| {
        format!(
            r#"config = {{ missing_probes = "{policy}" }}
uprobe:{demo}:no_such_function, usdt:{demo}:demo:no_such_probe, uprobe:{demo}:add_ints {{ @calls = count(); }}"#
        )
    };
    let cmd = format!("{demo} 2");
    let o = run(&["-c", &cmd, "-e", &script("warn")]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "\n\n@calls: 2\n");
    let err = stderr(&o);
    assert_eq!(err.matches("warning[W0006]").count(), 2, "{err}");
    assert!(
        err.contains(&format!(
            "warning[W0006]: function `no_such_function` does not exist in `{demo}`"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "warning[W0006]: no USDT probe `demo:no_such_probe` in `{demo}`"
        )),
        "{err}"
    );
    assert!(err.ends_with("Attached 1 probe\n"), "{err}");

    let o = run(&["-c", &cmd, "-e", &script("ignore")]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    assert_eq!(stdout(&o), "\n\n@calls: 2\n");
    assert_eq!(stderr(&o), "Attached 1 probe\n");

    let o = run(&["-c", &cmd, "-e", &script("error")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error[E0103]"), "{}", stderr(&o));
}

/// The kernel objects one ferrotrace process holds, read from its
/// `/proc/PID/fd` links and `fdinfo`: BPF program, link and map ids, and
/// how many perf events it has open.
#[derive(Debug, Default)]
struct Held {
    progs: Vec<u32>,
    links: Vec<u32>,
    maps: Vec<u32>,
    perf_events: usize,
}

impl Held {
    fn of_process(pid: i32) -> Held {
        let mut held = Held::default();
        let dir = format!("/proc/{pid}/fd");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            panic!("cannot read {dir}");
        };
        for entry in entries.flatten() {
            let target = std::fs::read_link(entry.path()).unwrap_or_default();
            let target = target.to_string_lossy();
            let fd = entry.file_name().to_string_lossy().into_owned();
            let info =
                std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap_or_default();
            let field = |name: &str| {
                info.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|v| v.trim().parse::<u32>().ok())
            };
            match &*target {
                "anon_inode:bpf-prog" => held.progs.extend(field("prog_id:")),
                "anon_inode:bpf_link" => held.links.extend(field("link_id:")),
                "anon_inode:bpf-map" => held.maps.extend(field("map_id:")),
                "anon_inode:[perf_event]" => held.perf_events += 1,
                _ => {}
            }
        }
        held
    }
}

/// Whether a BPF object of this kind and id still exists.
fn exists(get_fd_by_id: unsafe extern "C" fn(u32) -> libc::c_int, id: u32) -> bool {
    // SAFETY: a plain bpf() call; a returned fd is closed at once.
    let fd = unsafe { get_fd_by_id(id) };
    if fd >= 0 {
        // SAFETY: the fd was just returned and is owned here.
        unsafe { libc::close(fd) };
        return true;
    }
    false
}

/// Every BPF link in the system whose program is one of `progs`.
fn links_of(progs: &[u32]) -> Vec<u32> {
    let mut found = Vec::new();
    let mut id = 0u32;
    loop {
        let mut next = 0u32;
        // SAFETY: `next` is a valid out pointer for the call.
        if unsafe { libbpf_sys::bpf_link_get_next_id(id, &mut next) } != 0 {
            break;
        }
        id = next;
        // SAFETY: a plain bpf() call.
        let fd = unsafe { libbpf_sys::bpf_link_get_fd_by_id(id) };
        if fd < 0 {
            continue;
        }
        // SAFETY: all-zero is a valid bpf_link_info.
        let mut info: libbpf_sys::bpf_link_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libbpf_sys::bpf_link_info>() as u32;
        // SAFETY: `info` has `len` bytes and outlives the call; the fd is live.
        let ret = unsafe {
            libbpf_sys::bpf_obj_get_info_by_fd(
                fd,
                (&mut info as *mut libbpf_sys::bpf_link_info).cast(),
                &mut len,
            )
        };
        // SAFETY: the fd is owned here.
        unsafe { libc::close(fd) };
        if ret == 0 && progs.contains(&info.prog_id) {
            found.push(id);
        }
    }
    found
}

/// Starts ferrotrace with probes of every kind this kernel attaches, stops
/// it with `sig` once attached, and checks that none of its programs,
/// links or maps, and no tracefs uprobe entry of its binary, survive it.
fn nothing_survives(sig: libc::c_int) {
    let demo = ferrotrace_tests::user_programs::user_programs().demo_str();
    let script = format!(
        r#"tracepoint:syscalls:sys_enter_getppid {{ @a = count(); }}
           tracepoint:sched:sched_process_exec {{ @b = count(); }}
           rawtracepoint:sched_switch {{ @c = count(); }}
           uprobe:{demo}:add_ints {{ @d = count(); }}
           usdt:{demo}:demo:tick {{ @e = count(); }}
           profile:hz:99 {{ @f = count(); }}
           interval:s:10 {{ @g = count(); }}
           software:page-faults:1000 {{ @h = count(); }}
           watchpoint:0x10000000:8:w {{ @i = count(); }}"#
    );
    let s = Session::start(&["-e", &script]);
    let pid = s.pid();
    let held = Held::of_process(pid);
    eprintln!("ferrotrace {pid} holds {held:?}");
    // One program per probe (the syscall tracepoint's is its dispatcher).
    assert_eq!(held.progs.len(), 9, "{held:?}");
    // Perf events: the tracepoint, interval, and profile, software and
    // watchpoint on each CPU; links: those, plus the raw tracepoints and
    // uprobe_multi links, all held by this process.
    assert!(held.perf_events >= 5 && !held.maps.is_empty(), "{held:?}");
    let mut system = links_of(&held.progs);
    system.sort_unstable();
    let mut own = held.links.clone();
    own.sort_unstable();
    assert_eq!(system, own, "{held:?}");
    s.signal(sig);
    let (code, _, err) = s.finish();
    if sig == libc::SIGKILL {
        assert_eq!(code, -1);
    } else {
        assert_eq!(code, 0, "stderr: {err}");
    }
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    // The kernel frees programs and maps after an RCU grace period.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let left = loop {
        let progs: Vec<u32> = held
            .progs
            .iter()
            .copied()
            .filter(|id| exists(libbpf_sys::bpf_prog_get_fd_by_id, *id))
            .collect();
        let links: Vec<u32> = held
            .links
            .iter()
            .copied()
            .filter(|id| exists(libbpf_sys::bpf_link_get_fd_by_id, *id))
            .chain(links_of(&held.progs))
            .collect();
        let maps: Vec<u32> = held
            .maps
            .iter()
            .copied()
            .filter(|id| exists(libbpf_sys::bpf_map_get_fd_by_id, *id))
            .collect();
        if (progs.is_empty() && links.is_empty() && maps.is_empty())
            || std::time::Instant::now() > deadline
        {
            break (progs, links, maps);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        left,
        (vec![], vec![], vec![]),
        "left behind (progs, links, maps)"
    );
    for events in [
        "/sys/kernel/tracing/uprobe_events",
        "/sys/kernel/debug/tracing/uprobe_events",
    ] {
        let text = std::fs::read_to_string(events).unwrap_or_default();
        assert!(!text.contains(demo), "{events} still names {demo}: {text}");
    }
}

#[test]
fn nothing_survives_sigkill() {
    if kernel_available() {
        nothing_survives(libc::SIGKILL);
    }
}

#[test]
fn nothing_survives_sigterm() {
    if kernel_available() {
        nothing_survives(libc::SIGTERM);
    }
}

#[test]
fn nothing_survives_ctrl_c() {
    if kernel_available() {
        nothing_survives(libc::SIGINT);
    }
}

#[test]
fn kernel_functions_are_listed_for_kprobes_and_fentry() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-l", "kprobe:vfs_rea*"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let text = stdout(&o);
    assert!(text.lines().any(|l| l == "kprobe:vfs_read"), "{text}");
    assert!(
        text.lines().all(|l| l.starts_with("kprobe:vfs_rea")),
        "{text}"
    );
    let o = run(&["-l", "fentry:vfs_read"]);
    assert_eq!(stdout(&o), "fentry:vmlinux:vfs_read\n");
    let o = run(&["-l", "fexit:*:vfs_read"]);
    assert_eq!(stdout(&o), "fexit:vmlinux:vfs_read\n");
}

#[test]
fn execution_watchpoints_on_kernel_code_fail_with_a_sentence() {
    if !kernel_available() {
        return;
    }
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let Some(addr) = kallsyms
        .lines()
        .find(|l| l.ends_with(" T ksys_read"))
        .and_then(|l| l.split_whitespace().next())
    else {
        panic!("no ksys_read in /proc/kallsyms");
    };
    let probe = format!("watchpoint:0x{addr}:8:x");
    let o = run(&["-e", &format!("{probe} {{ @ = count(); }}")]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("ERROR: could not attach probe {probe}: ")),
        "{err}"
    );
    // This kernel has no kprobes, so it refuses every kernel code breakpoint.
    if !Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        assert!(err.contains("CONFIG_KPROBES"), "{err}");
    }
    assert!(!err.contains("os error"), "{err}");
}
