//! End-to-end tests against the real kernel: each runs the ferrotrace
//! binary, triggers the traced event itself, and asserts the exact output.
//! They need root and a kernel that loads BPF: under `CI=true` a refusal
//! fails them, elsewhere they print why they skip.

use ferrotrace_tests::harness::{kernel_available, run, sh, temp_path, Session};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn begin_printf_and_exit() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-e", r#"BEGIN { printf("hello %d\n", 42); exit(); }"#]);
    assert_eq!(stdout(&o), "hello 42\n\n\n");
    assert_eq!(stderr(&o), "Attached 1 probe\n");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn quiet_hides_attached_line() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-q", "-e", r#"BEGIN { printf("x\n"); exit(); }"#]);
    assert_eq!(stderr(&o), "");
    assert_eq!(stdout(&o), "x\n\n\n");
}

#[test]
fn end_runs_after_exit_and_before_maps() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "-q",
        "-e",
        r#"BEGIN { @n = 1; exit(); } END { printf("end %d\n", @n); @n = 2; }"#,
    ]);
    assert_eq!(stdout(&o), "end 1\n\n\n@n: 2\n");
}

#[test]
fn exit_code_is_passed_on() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-q", "-e", "BEGIN { exit(3); }"]);
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn printf_formats_like_bpftrace() {
    if !kernel_available() {
        return;
    }
    let script = r#"BEGIN { printf("%-10s|%5d|%x|%05d|%c|%%|%d|%ld\n", "ab", 42, 255, 7, 65, 123456789012, 123456789012); exit(); }"#;
    let o = run(&["-q", "-e", script]);
    assert_eq!(
        stdout(&o),
        "ab        |   42|ff|00007|A|%|-1097262572|123456789012\n\n\n"
    );
}

#[test]
fn printf_star_width_and_precision() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "-q",
        "-e",
        r#"BEGIN { printf("%.*s|%-*d|%*d\n", 3, "abcdef", 4, 7, -3, 5); exit(); }"#,
    ]);
    assert_eq!(stdout(&o), "abc|7   |5  \n\n\n");
}

#[test]
fn integer_arithmetic_and_conditions() {
    if !kernel_available() {
        return;
    }
    let script = r#"BEGIN { $a = 7; $b = -3; printf("%d %d %d %d %d %d\n", $a + $b, $a * $b, $a / 2, $a % 4, $a << 2, -$a);
        if ($a > 5 && !($b > 0)) { printf("yes\n"); } else { printf("no\n"); }
        $a += 10; $a++; printf("%d %s\n", $a, $a > 17 ? "big" : "small"); exit(); }"#;
    let o = run(&["-q", "-e", script]);
    assert_eq!(stdout(&o), "4 -21 3 3 28 -7\nyes\n18 big\n\n\n");
}

#[test]
fn map_keyed_by_two_values_sorted_by_value() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "-q",
        "-e",
        r#"BEGIN { @m[1, "a"] = 10; @m[2, "b"] = 5; @s = 7; @ = 1; exit(); }"#,
    ]);
    assert_eq!(stdout(&o), "\n\n@: 1\n@m[2, b]: 5\n@m[1, a]: 10\n@s: 7\n");
}

#[test]
fn builtins_describe_the_current_task() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "-q",
        "-e",
        r#"BEGIN { printf("%d %s %d %d\n", uid, comm, pid > 0, nsecs > 0); exit(); }"#,
    ]);
    assert_eq!(stdout(&o), "0 ferrotrace 1 1\n\n\n");
}

#[test]
fn tracepoint_counted_by_comm_until_exit() {
    if !kernel_available() {
        return;
    }
    let path = temp_path("count");
    let stop = temp_path("count-stop");
    let script = format!(
        r#"tracepoint:syscalls:sys_enter_openat /str(args.filename) == "{path}"/ {{ @[comm] = count(); }}
           tracepoint:syscalls:sys_enter_openat /str(args.filename) == "{stop}"/ {{ exit(); }}"#
    );
    let s = Session::start(&["-e", &script]);
    sh(&format!(
        "for i in 1 2 3 4 5; do : < {path}; done; : < {stop}"
    ));
    let (code, out, err) = s.finish();
    assert_eq!(code, 0);
    assert_eq!(err, "Attached 2 probes");
    assert_eq!(out, "\n\n@[sh]: 5\n");
}

#[test]
fn aggregation_maps_read_as_their_sum_over_cpus() {
    if !kernel_available() {
        return;
    }
    let path = temp_path("aggread");
    let script = format!(
        r#"tracepoint:syscalls:sys_enter_openat /str(args.filename) == "{path}"/ {{
               @n = count(); @bytes = sum(10);
               if (@n == 3) {{ printf("%d %d\n", @n, @bytes); exit(); }} }}"#
    );
    let s = Session::start(&["-e", &script]);
    // Separate processes, so the opens may land on different CPUs.
    for _ in 0..3 {
        sh(&format!(": < {path}"));
    }
    let (code, out, _) = s.finish();
    assert_eq!(code, 0);
    assert_eq!(out, "3 30\n\n\n@bytes: 30\n@n: 3\n");
}

#[test]
fn predicate_filters_by_pid() {
    if !kernel_available() {
        return;
    }
    let path = temp_path("pid");
    let mut child = match std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("read line; for i in 1 2 3; do : < {path}; done"))
        .stdin(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot start the trigger: {e}"),
    };
    let script = format!(
        "tracepoint:syscalls:sys_enter_openat /pid == {}/ {{ @opens = count(); }}",
        child.id()
    );
    let s = Session::start(&["-e", &script]);
    sh(&format!(": < {path}")); // another process: must not count
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(b"go\n");
    }
    let _ = child.wait();
    s.signal(libc::SIGINT);
    let (code, out, _) = s.finish();
    assert_eq!(code, 0);
    assert_eq!(out, "\n\n@opens: 3\n");
}

#[test]
fn str_of_args_shows_the_opened_path() {
    if !kernel_available() {
        return;
    }
    let path = temp_path("str");
    let script = format!(
        r#"tracepoint:syscalls:sys_enter_openat /str(args.filename) == "{path}"/ {{ printf("open %s\n", str(args.filename)); exit(); }}"#
    );
    let s = Session::start(&["-e", &script]);
    sh(&format!(": < {path}"));
    let (code, out, _) = s.finish();
    assert_eq!(code, 0);
    assert_eq!(out, format!("open {path}\n\n\n"));
}

#[test]
fn interval_fires_until_exit() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "-q",
        "-e",
        r#"interval:ms:50 { @ticks++; printf("tick\n"); if (@ticks == 3) { exit(); } }"#,
    ]);
    assert_eq!(stdout(&o), "tick\ntick\ntick\n\n\n@ticks: 3\n");
}

#[test]
fn ctrl_c_prints_maps() {
    if !kernel_available() {
        return;
    }
    stop_with_signal_prints_maps(libc::SIGINT);
}

#[test]
fn sigterm_prints_maps() {
    if !kernel_available() {
        return;
    }
    stop_with_signal_prints_maps(libc::SIGTERM);
}

fn stop_with_signal_prints_maps(sig: i32) {
    let path = temp_path(&format!("sig{sig}"));
    let script = format!(
        r#"tracepoint:syscalls:sys_enter_openat /str(args.filename) == "{path}"/ {{ @[comm] = count(); @total = sum(2); }}
           END {{ printf("end\n"); }}"#
    );
    let s = Session::start(&["-e", &script]);
    sh(&format!("for i in 1 2 3 4; do : < {path}; done"));
    s.signal(sig);
    let (code, out, err) = s.finish();
    assert_eq!(code, 0);
    assert_eq!(err, "Attached 2 probes");
    assert_eq!(out, "end\n\n\n@[sh]: 4\n@total: 8\n");
}

#[test]
fn dry_run_attaches_and_exits() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "--dry-run",
        "-e",
        r#"tracepoint:syscalls:sys_enter_openat { @ = count(); } BEGIN { printf("no\n"); }"#,
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
    assert_eq!(stderr(&o), "Attached 2 probes\n");
}

#[test]
fn script_from_file_and_stdin() {
    if !kernel_available() {
        return;
    }
    let path = temp_path("script");
    let _ = std::fs::write(&path, "BEGIN { printf(\"from file\\n\"); exit(); }\n");
    let o = run(&["-q", &path]);
    assert_eq!(stdout(&o), "from file\n\n\n");
    let child = std::process::Command::new(ferrotrace_tests::harness::binary())
        .args(["-q", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        panic!("cannot start ferrotrace")
    };
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(b"BEGIN { printf(\"from stdin\\n\"); exit(); }");
    }
    let out = child
        .wait_with_output()
        .map(|o| stdout(&o))
        .unwrap_or_default();
    assert_eq!(out, "from stdin\n\n\n");
}

#[test]
fn unknown_tracepoint_is_a_diagnostic() {
    let o = run(&["-e", "tracepoint:syscalls:sys_enter_nope { exit(); }"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("tracepoint `syscalls:sys_enter_nope` does not exist"),
        "{err}"
    );
    assert!(err.contains("stdin:1:12"), "{err}");
}

#[test]
fn syntax_error_is_a_diagnostic_not_a_panic() {
    let o = run(&["-e", "BEGIN { @x = ; }"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("stdin:1:"), "{err}");
    assert!(err.contains("BEGIN { @x = ; }"), "{err}");
    assert!(err.contains('^'), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn without_root_one_clear_sentence() {
    if !kernel_available() {
        return;
    }
    let o = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(ferrotrace_tests::harness::binary())
        .args(["-e", "BEGIN { exit(); }"])
        .output();
    let Ok(o) = o else {
        panic!("setpriv is missing (util-linux)")
    };
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "ERROR: ferrotrace needs root (or the CAP_BPF and CAP_PERFMON capabilities) to load BPF programs; run it with sudo.\n"
    );
}

#[test]
fn emit_stages_need_no_kernel_objects() {
    for stage in ["ast", "ir", "llvm", "asm"] {
        let o = run(&["--emit", stage, "-e", r#"BEGIN { printf("%d\n", pid); }"#]);
        assert_eq!(o.status.code(), Some(0), "--emit {stage}: {}", stderr(&o));
        assert!(!o.stdout.is_empty(), "--emit {stage} printed nothing");
    }
}

#[test]
fn every_good_fixture_passes_the_verifier_and_attaches() {
    if !kernel_available() {
        return;
    }
    let paths = ferrotrace_tests::stages::fixture_files("ok");
    assert!(
        paths.len() >= 30,
        "the good corpus is too small: {}",
        paths.len()
    );
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let path = path.to_string_lossy().into_owned();
        let o = if text.starts_with(ferrotrace_tests::stages::UNSAFE_MARKER) {
            run(&["--unsafe", "--dry-run", "-q", &path])
        } else {
            run(&["--dry-run", "-q", &path])
        };
        assert_eq!(o.status.code(), Some(0), "{path}: {}", stderr(&o));
    }
}
