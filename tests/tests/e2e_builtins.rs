//! The data functions and builtins of issue 5 against the real kernel, each
//! with its printed result asserted exactly.

use ferrotrace_tests::harness::{kernel_available, run};

/// Runs a BEGIN-only script with `-q` and returns its stdout.
fn begin_output(body: &str) -> String {
    let script = format!("BEGIN {{ {body} exit(); }}");
    let o = run(&["-q", "-e", &script]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn strlen_counts_bytes_before_the_nul() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"printf("%d %d %d\n", strlen("hello"), strlen(""), strlen(comm)); $s = "abc"; printf("%d\n", strlen($s));"#,
    );
    // The BEGIN probe runs in the ferrotrace process itself, whose comm is
    // its executable's name.
    assert_eq!(out, "5 0 10\n3\n\n\n");
}

#[test]
fn strncmp_compares_at_most_n_bytes() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"printf("%d %d %d %d %d\n", strncmp("abc", "abd", 2), strncmp("abc", "abd", 3), strncmp("ab", "abc", 3), strncmp("same", "same", 100), strncmp(comm, "ferro", 5));"#,
    );
    assert_eq!(out, "0 1 1 0 0\n\n\n");
}

#[test]
fn bswap_reverses_bytes_at_the_value_width() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"printf("%lx %lx %lx %lx %lx\n", bswap(0x0102030405060708), bswap((uint32)1), bswap((uint16)0x1234), bswap(bswap(0x1234)), bswap(1));"#,
    );
    // A literal takes the smallest type that holds it, so `1` is 8-bit
    // and comes back unchanged.
    assert_eq!(out, "807060504030201 1000000 3412 1234 1\n\n\n");
}

#[test]
fn system_runs_the_formatted_command_in_event_order() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "--unsafe",
        "-q",
        "-e",
        r#"BEGIN { printf("before\n"); system("echo %d-%s; echo second", 42, "x"); printf("after\n"); exit(); }"#,
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "before\n42-x\nsecond\nafter\n\n\n"
    );
    let json = run(&[
        "--unsafe",
        "-q",
        "-f",
        "json",
        "-e",
        r#"BEGIN { system("echo hi"); exit(); }"#,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&json.stdout),
        "{\"type\": \"syscall\", \"data\": \"hi\\n\"}\n"
    );
}

#[test]
fn system_without_unsafe_is_a_compile_error_saying_how_to_allow_it() {
    let o = run(&["-e", r#"BEGIN { system("true"); }"#]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("error[E0261]: `system()` is an unsafe function")
            && stderr.contains("run ferrotrace with `--unsafe`"),
        "stderr: {stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "");
}

#[test]
fn cat_prints_the_named_file_in_event_order() {
    if !kernel_available() {
        return;
    }
    let path = ferrotrace_tests::harness::temp_path("cat");
    if let Err(e) = std::fs::write(&path, "line one\nline two\n") {
        panic!("cannot write {path}: {e}");
    }
    let script = format!(
        r#"BEGIN {{ printf("a\n"); cat("%s", "{path}"); printf("b\n"); cat("{path}.missing%d", 1); exit(); }}"#
    );
    let o = run(&["-q", "-e", &script]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "a\nline one\nline two\nb\n\n\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("ERROR: cat() could not read file '{path}.missing1': No such file or directory (os error 2); check the path and its permissions.\n")
    );
}

#[test]
fn curtask_is_the_same_kernel_address_within_a_probe() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"$t = curtask; printf("%d %d\n", $t == curtask, $t >= 0xffff000000000000);"#,
    );
    assert_eq!(out, "1 1\n\n\n");
}

#[test]
fn signal_is_sent_to_the_current_process_by_name() {
    use std::os::unix::process::ExitStatusExt;
    if !kernel_available() {
        return;
    }
    // The shell waits long enough for the probe to be attached, then
    // becomes `sleep` (same pid), whose clock_nanosleep fires the probe.
    let mut child = match std::process::Command::new("/bin/sh")
        .args(["-c", "sleep 2; exec sleep 20"])
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot run /bin/sh: {e}"),
    };
    let pid = child.id();
    let script = format!(
        r#"tracepoint:syscalls:sys_enter_clock_nanosleep /pid == {pid} && comm == "sleep"/ {{ signal("SIGUSR1"); printf("sent %d\n", pid); exit(); }} interval:s:10 {{ exit(); }}"#
    );
    let o = run(&["--unsafe", "-q", "-e", &script]);
    let status = child.wait();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("sent {pid}\n\n\n")
    );
    assert_eq!(status.ok().and_then(|s| s.signal()), Some(libc::SIGUSR1));
}

/// Runs a ticking script with `-B mode` for about a second and returns the
/// stdout lines that arrived while it was running, then all of stdout.
fn ticks_with_buffering(mode: &str) -> (usize, String) {
    use ferrotrace_tests::harness::{line_reader, spawn};
    let mut child = spawn(&[
        "-q",
        "-B",
        mode,
        "-e",
        r#"interval:ms:100 { printf("tick\n"); }"#,
    ]);
    let lines = match child.stdout.take() {
        Some(out) => line_reader(out),
        None => panic!("no stdout"),
    };
    let early = lines
        .recv_timeout(std::time::Duration::from_secs(3))
        .map_or(0, |_| 1);
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let _ = child.wait();
    let rest: Vec<String> = lines.iter().collect();
    (early, rest.join("\n"))
}

#[test]
fn buffering_line_shows_output_while_running_and_full_only_at_exit() {
    if !kernel_available() {
        return;
    }
    let (early, _) = ticks_with_buffering("line");
    assert_eq!(early, 1, "-B line: no line arrived while running");
    let (early, rest) = ticks_with_buffering("full");
    assert_eq!(early, 0, "-B full: a line arrived before exit");
    assert!(rest.starts_with("tick\ntick"), "-B full at exit: {rest:?}");
    let (early, _) = ticks_with_buffering("none");
    assert_eq!(early, 1, "-B none: no line arrived while running");
}
