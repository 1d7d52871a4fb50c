//! End-to-end tests of the kernel probe kinds against the real kernel:
//! tracepoint wildcards and the `probe` builtin, syscall tracepoints run from
//! the raw-tracepoint dispatcher (and, for comparison, from one perf event
//! each), raw tracepoints, profile and software events, and the exact errors
//! for the kinds this kernel lacks (kprobes, fentry, hardware counters).
//!
//! The triggers are system calls made by the test thread itself, and every
//! probe filters on that thread's id, so tests running in parallel (and
//! other tracers on the machine) cannot change the counts.

use std::process::{Command, Stdio};

use ferrotrace_tests::harness::{binary, kernel_available, run, temp_path, Session};

fn tid() -> i64 {
    // SAFETY: gettid has no preconditions.
    i64::from(unsafe { libc::gettid() })
}

/// Makes the system call `nr` with no arguments from this thread.
fn syscall0(nr: libc::c_long) -> i64 {
    // SAFETY: the calls used here (getpid, getuid, getppid, getgid) take no
    // arguments and have no side effects.
    i64::from(unsafe { libc::syscall(nr) } as i32)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every `syscalls:sys_enter_get*` tracepoint of this kernel.
fn sys_enter_get_count() -> usize {
    let dir = "/sys/kernel/tracing/events/syscalls";
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("sys_enter_get"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn syscall_wildcard_counts_each_probe() {
    if !kernel_available() {
        return;
    }
    let t = tid();
    let script = format!(
        "tracepoint:syscalls:sys_enter_get* /tid == {t}/ {{ @[probe] = count(); }}
         tracepoint:syscalls:sys_exit_getppid /tid == {t}/ {{ exit(); }}"
    );
    let s = Session::start(&["-e", &script]);
    for _ in 0..3 {
        syscall0(libc::SYS_getpid);
    }
    for _ in 0..2 {
        syscall0(libc::SYS_getuid);
    }
    syscall0(libc::SYS_getppid);
    let (code, out, err) = s.finish();
    assert_eq!(code, 0);
    assert_eq!(
        err,
        format!("Attached {} probes", sys_enter_get_count() + 1)
    );
    assert_eq!(
        out,
        "\n\n@[tracepoint:syscalls:sys_enter_getppid]: 1\n\
         @[tracepoint:syscalls:sys_enter_getuid]: 2\n\
         @[tracepoint:syscalls:sys_enter_getpid]: 3\n"
    );
}

#[test]
fn probes_on_one_syscall_run_in_order_with_their_own_predicates() {
    if !kernel_available() {
        return;
    }
    let t = tid();
    let script = format!(
        r#"tracepoint:syscalls:sys_enter_getppid /tid == {t}/ {{ printf("a %s\n", probe); }}
           tracepoint:syscalls:sys_enter_getppid /tid == 0/ {{ printf("never\n"); }}
           tracepoint:syscalls:sys_enter_getppid /tid == {t}/ {{ printf("b %d\n", args.__syscall_nr); }}
           tracepoint:syscalls:sys_exit_getppid /tid == {t}/ {{ printf("ret %d\n", args.ret); exit(); }}"#
    );
    let s = Session::start(&["-e", &script]);
    let ppid = syscall0(libc::SYS_getppid);
    let (code, out, err) = s.finish();
    assert_eq!(code, 0);
    assert_eq!(err, "Attached 4 probes");
    assert_eq!(
        out,
        format!(
            "a tracepoint:syscalls:sys_enter_getppid\nb {}\nret {ppid}\n\n\n",
            libc::SYS_getppid
        )
    );
}

/// Runs `script` to completion while a shell opens `path` every 50 ms,
/// with syscall dispatch on or off.
fn run_with_opener(script: &str, path: &str, dispatch: bool) -> (Option<i32>, String, String) {
    let mut opener = match Command::new("sh")
        .arg("-c")
        .arg(format!("while :; do : < {path}; sleep 0.05; done"))
        .stdout(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot start the trigger: {e}"),
    };
    let out = Command::new(binary())
        .args(["-e", script])
        .env(
            "FERROTRACE_SYSCALL_DISPATCH",
            if dispatch { "1" } else { "0" },
        )
        .stdin(Stdio::null())
        .output();
    let _ = opener.kill();
    let _ = opener.wait();
    match out {
        Ok(o) => (o.status.code(), text(&o.stdout), text(&o.stderr)),
        Err(e) => panic!("cannot run ferrotrace: {e}"),
    }
}

#[test]
fn openat_arguments_are_the_same_through_dispatch_and_perf_events() {
    if !kernel_available() {
        return;
    }
    let path = temp_path("dispatch-args");
    let script = format!(
        r#"tracepoint:syscalls:sys_enter_openat /str(args.filename) == "{path}"/ {{
               printf("%s %d %d %d\n", str(args.filename), args.dfd, args.flags, args.mode);
               exit(); }}"#
    );
    let dispatched = run_with_opener(&script, &path, true);
    let per_event = run_with_opener(&script, &path, false);
    // AT_FDCWD, O_RDONLY, mode 0: dash opens a `<` redirection this way.
    let expected = format!("{path} -100 0 0\n\n\n");
    assert_eq!(
        dispatched,
        (Some(0), expected.clone(), "Attached 1 probe\n".to_string())
    );
    assert_eq!(per_event, dispatched);
}

#[test]
fn raw_tracepoint_arguments() {
    if !kernel_available() {
        return;
    }
    let t = tid();
    // raw_syscalls:sys_enter passes (struct pt_regs *regs, long id).
    let script = format!(
        r#"rawtracepoint:sys_enter /tid == {t} && arg1 == {nr}/ {{ printf("%s %d %d\n", probe, arg1, args.id); exit(); }}"#,
        nr = libc::SYS_getppid
    );
    let s = Session::start(&["-e", &script]);
    syscall0(libc::SYS_getppid);
    let (code, out, err) = s.finish();
    assert_eq!(code, 0);
    assert_eq!(err, "Attached 1 probe");
    // `args.id` is named after the kernel's `__bpf_trace_sys_enter` parameters.
    assert_eq!(
        out,
        format!(
            "rawtracepoint:sys_enter {nr} {nr}\n\n\n",
            nr = libc::SYS_getppid
        )
    );
}

#[test]
fn raw_tracepoint_category_form_and_wildcard() {
    if !kernel_available() {
        return;
    }
    let t = tid();
    let script = format!(
        r#"rt:raw_syscalls:sys_e* /tid == {t} && arg1 == {nr}/ {{ printf("%s\n", probe); exit(); }}"#,
        nr = libc::SYS_getppid
    );
    let s = Session::start(&["-e", &script]);
    syscall0(libc::SYS_getppid);
    let (code, out, err) = s.finish();
    assert_eq!(code, 0);
    assert_eq!(err, "Attached 2 probes");
    assert_eq!(out, "rawtracepoint:raw_syscalls:sys_enter\n\n\n");
}

#[test]
fn raw_tracepoint_without_a_tracefs_event() {
    if !kernel_available() {
        return;
    }
    // A bare tracepoint (DECLARE_TRACE): in BTF as btf_trace_*, absent from
    // tracefs, fired whenever a run queue's length changes.
    let name = "sched_update_nr_running_tp";
    if !std::fs::read("/sys/kernel/btf/vmlinux")
        .is_ok_and(|b| b.windows(name.len()).any(|w| w == name.as_bytes()))
    {
        eprintln!("skipping: this kernel has no {name}");
        return;
    }
    let o = run(&[
        "-e",
        &format!("rawtracepoint:{name} {{ @[probe] = 1; exit(); }}"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), format!("\n\n@[rawtracepoint:{name}]: 1\n"));
}

#[test]
fn software_event_fires_for_this_thread() {
    if !kernel_available() {
        return;
    }
    let t = tid();
    let script = format!(r#"software:page-faults:1 /tid == {t}/ {{ @[probe] = 1; exit(); }}"#);
    let s = Session::start(&["-e", &script]);
    // Touch fresh pages until the probe reports a fault and exits.
    let mut pages: Vec<Vec<u8>> = Vec::new();
    for _ in 0..64 {
        let mut v = vec![0u8; 1 << 20];
        for i in (0..v.len()).step_by(4096) {
            v[i] = 1;
        }
        pages.push(v);
    }
    let (code, out, err) = s.finish();
    assert!(!pages.is_empty());
    assert_eq!(code, 0);
    assert_eq!(err, "Attached 1 probe");
    assert_eq!(out, "\n\n@[software:page-faults:1]: 1\n");
}

#[test]
fn profile_fires_on_every_cpu() {
    if !kernel_available() {
        return;
    }
    let cpus = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    let cpus = parse_cpus(&cpus);
    // The cpu-clock timer does not fire on an idle CPU here (bpftrace 0.17
    // behaves the same), so every CPU gets a busy loop for the run.
    let mut spinners: Vec<_> = cpus
        .iter()
        .map(|c| {
            Command::new("taskset")
                .args(["-c", &c.to_string(), "sh", "-c", "while :; do :; done"])
                .stdout(Stdio::null())
                .spawn()
                .expect("taskset (util-linux) must be installed")
        })
        .collect();
    let o = run(&[
        "-e",
        "profile:hz:99 { @[cpu] = 1; } interval:ms:500 { exit(); }",
    ]);
    for s in &mut spinners {
        let _ = s.kill();
        let _ = s.wait();
    }
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text(&o.stderr), "Attached 2 probes\n");
    let expected: String = cpus.iter().map(|c| format!("@[{c}]: 1\n")).collect();
    assert_eq!(text(&o.stdout), format!("\n\n{expected}"));
}

fn parse_cpus(list: &str) -> Vec<u32> {
    let mut cpus = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    cpus.extend(a..=b);
                }
            }
            None => cpus.extend(part.parse::<u32>().ok()),
        }
    }
    cpus
}

/// Runs a script that must fail before anything is attached.
fn fails_cleanly(script: &str) -> String {
    let o = run(&["-e", script]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "");
    let err = text(&o.stderr);
    assert!(!err.contains("Attached"), "{err}");
    err
}

#[test]
fn kprobe_names_the_missing_kernel_feature() {
    if !kernel_available() {
        return;
    }
    if std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        eprintln!("skipping: this kernel has kprobes");
        return;
    }
    let err = fails_cleanly(
        "tracepoint:sched:sched_switch { @s = count(); } kprobe:do_nanosleep { @ = count(); }",
    );
    assert_eq!(
        err,
        "ERROR: could not attach probe kprobe:do_nanosleep: this kernel was built without kprobes \
         (CONFIG_KPROBES), so kprobe and kretprobe probes cannot be attached; use a tracepoint \
         (`ferrotrace -l 'tracepoint:*'`) or a raw tracepoint near the function instead, or run on \
         a kernel built with CONFIG_KPROBES and CONFIG_KPROBE_EVENTS.\n"
    );
    let err = fails_cleanly("kretprobe:do_nanosleep { @ = retval; }");
    assert!(err.starts_with("ERROR: could not attach probe kretprobe:do_nanosleep: this kernel was built without kprobes (CONFIG_KPROBES)"), "{err}");
}

#[test]
fn fentry_names_bpf_trampolines() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-e", "fentry:vfs_read { @ = count(); }"]);
    if o.status.code() == Some(0) {
        eprintln!("skipping: this kernel runs fentry programs");
        return;
    }
    let err = fails_cleanly(
        "tracepoint:sched:sched_switch { @s = count(); } fentry:vfs_read { @ = count(); }",
    );
    assert!(
        err.starts_with("ERROR: the kernel refused to load probe fentry:vfs_read: this kernel refused to load it as a BPF tracing program ("),
        "{err}"
    );
    assert!(
        err.ends_with(
            "fentry and fexit probes need BPF trampolines, which need a kernel built with \
             CONFIG_FUNCTION_TRACER and CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS (and BTF); use a \
             tracepoint or raw tracepoint instead (`ferrotrace -l`).\n"
        ),
        "{err}"
    );
    let err = fails_cleanly("fexit:vfs_write { @ = retval; }");
    assert!(
        err.starts_with("ERROR: the kernel refused to load probe fexit:vfs_write:"),
        "{err}"
    );
}

#[test]
fn hardware_names_the_missing_pmu() {
    if !kernel_available() {
        return;
    }
    if std::path::Path::new("/sys/bus/event_source/devices/cpu").exists() {
        eprintln!("skipping: this machine may have a hardware PMU");
        return;
    }
    let err =
        fails_cleanly("profile:hz:99 { @p = count(); } hardware:cycles:100000 { @ = count(); }");
    assert_eq!(
        err,
        "ERROR: could not attach probe hardware:cycles:100000: this machine has no hardware \
         performance counters visible to the kernel (no hardware PMU, as is common in virtual \
         machines), so hardware probes cannot be attached; sample with a software event such as \
         `software:cpu-clock` or `profile:hz:99` instead.\n"
    );
}

/// An `iter:task` probe walks every task once and the session ends: the
/// test process itself is among the tasks, with its own name, and no call
/// sees the null task that ends the walk.
#[test]
fn iter_task_walks_every_task_once() {
    if !kernel_available() {
        return;
    }
    let me = std::process::id();
    let script = format!(
        "iter:task {{ @tasks = count(); if (ctx.task->pid == {me}) {{ printf(\"me %d\\n\", ctx.task->tgid == {me}); }} if (ctx.task == 0) {{ printf(\"null\\n\"); }} }}"
    );
    let o = run(&["-q", "-e", &script]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"me 1"), "{out}");
    assert!(!out.contains("null"), "{out}");
    let tasks: u64 = lines
        .last()
        .and_then(|l| l.strip_prefix("@tasks: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(tasks > 1, "{out}");
}

#[test]
fn wildcard_matching_nothing_is_an_error() {
    let o = run(&[
        "-e",
        "tracepoint:syscalls:sys_enter_no_such_* { @ = count(); }",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "error[E0106]: `tracepoint:syscalls:sys_enter_no_such_*` matches no probe in this kernel\n  \
         ┌─ stdin:1:1\n  │\n1 │ tracepoint:syscalls:sys_enter_no_such_* { @ = count(); }\n  \
         │ ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ matches nothing\n  │\n  = help: list what exists \
         with `ferrotrace -l 'PATTERN'`; `config = { missing_probes = \"warn\" }` makes this a warning\n\n"
    );
}

/// Every tracepoint directory of tracefs, as `tracepoint:CAT:NAME`, sorted.
fn tracefs_tracepoints() -> Vec<String> {
    let events = std::path::Path::new("/sys/kernel/tracing/events");
    let dirs = |p: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    let mut all: Vec<String> = dirs(events)
        .into_iter()
        .flat_map(|c| {
            dirs(&events.join(&c))
                .into_iter()
                .map(move |n| format!("tracepoint:{c}:{n}"))
        })
        .collect();
    all.sort();
    all
}

#[test]
fn list_tracepoints_by_pattern() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-l", "tracepoint:syscalls:sys_enter_open*"]);
    assert_eq!(o.status.code(), Some(0));
    let expected: String = tracefs_tracepoints()
        .into_iter()
        .filter(|n| n.starts_with("tracepoint:syscalls:sys_enter_open"))
        .map(|n| n + "\n")
        .collect();
    assert!(expected.contains("tracepoint:syscalls:sys_enter_openat\n"));
    assert_eq!(text(&o.stdout), expected);
    // A short alias selects the same kind.
    let short = run(&["-l", "t:syscalls:sys_enter_open*"]);
    assert_eq!(short.stdout, o.stdout);
}

#[test]
fn list_everything_includes_every_tracepoint() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-l"]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    let listed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("tracepoint:"))
        .collect();
    assert_eq!(listed, tracefs_tracepoints());
    assert!(
        out.contains("\nrawtracepoint:sched_switch\n"),
        "no raw tracepoints"
    );
    assert!(out.contains("\nsoftware:cpu-clock:\n"));
    assert!(out.contains("\nhardware:cpu-cycles:\n"));
}

#[test]
fn list_verbose_shows_tracepoint_fields() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-lv", "tracepoint:syscalls:sys_enter_openat"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        text(&o.stdout),
        "tracepoint:syscalls:sys_enter_openat\n    int __syscall_nr\n    int dfd\n    \
         const char * filename\n    int flags\n    umode_t mode\n"
    );
    let o = run(&["-lv", "tracepoint:sched:sched_switch"]);
    assert_eq!(
        text(&o.stdout),
        "tracepoint:sched:sched_switch\n    char prev_comm[16]\n    pid_t prev_pid\n    \
         int prev_prio\n    long prev_state\n    char next_comm[16]\n    pid_t next_pid\n    \
         int next_prio\n"
    );
}

#[test]
fn list_software_and_raw_tracepoints() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-l", "software:*"]);
    assert_eq!(
        text(&o.stdout),
        "software:alignment-faults:\nsoftware:bpf-output:\nsoftware:context-switches:\n\
         software:cpu-clock:\nsoftware:cpu-migrations:\nsoftware:dummy:\n\
         software:emulation-faults:\nsoftware:major-faults:\nsoftware:minor-faults:\n\
         software:page-faults:\nsoftware:task-clock:\n"
    );
    let o = run(&["-l", "rt:sched_switch"]);
    assert_eq!(text(&o.stdout), "rawtracepoint:sched_switch\n");
    let o = run(&["-l", "nosuchkind:*"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "ERROR: `nosuchkind` is not a probe kind; list everything with `ferrotrace -l`.\n"
    );
}

/// Every `syscalls:` tracepoint whose name starts with `prefix`.
fn syscall_tracepoints(prefix: &str) -> usize {
    tracefs_tracepoints()
        .iter()
        .filter(|n| n.starts_with(&format!("tracepoint:syscalls:{prefix}")))
        .count()
}

#[test]
fn every_syscall_tracepoint_with_a_large_body_loads_through_the_dispatchers() {
    if !kernel_available() {
        return;
    }
    // Hundreds of bodies with strings, maps and printf: too much for one
    // function's 16-bit branch offsets, and more syscalls than the kernel's
    // 256 subprograms per program, unless the dispatcher groups them.
    let o = run(&[
        "--dry-run",
        "-e",
        r#"tracepoint:syscalls:sys_enter_* /comm == "no-such-comm"/ {
               @[probe, comm] = count(); printf("%s %d %s\n", probe, args.__syscall_nr, comm); }
           tracepoint:syscalls:sys_exit_* /args.ret < 0 && pid > 1/ {
               @e[probe, args.ret] = count(); @s = sum(args.ret); }"#,
    ]);
    assert_eq!(
        text(&o.stderr),
        format!(
            "Attached {} probes\n",
            syscall_tracepoints("sys_enter_") + syscall_tracepoints("sys_exit_")
        )
    );
    assert_eq!(o.status.code(), Some(0));
}
