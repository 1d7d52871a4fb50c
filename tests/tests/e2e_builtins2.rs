//! The issue 5 functions whose BPF value is an integer printed as text
//! (`syscall_name`, `signal_name`, `strerror`, `username`), against the
//! real kernel, with the printed result asserted exactly.

use ferrotrace_tests::harness::{kernel_available, run_ok};

#[test]
fn names_print_in_printf_print_and_map_keys() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&[
        "-q",
        "-e",
        r#"BEGIN { printf("%s %s %s|%s|%s %s\n", syscall_name(59), signal_name(9), strerror(2), username, signal_name(0), strerror(99999)); @[syscall_name(0), signal_name(15)] = count(); $e = strerror(13); print($e); exit(); }"#,
    ]);
    // The tests run as root (kernel_available needs it), uid 0.
    assert_eq!(
        out,
        "execve SIGKILL No such file or directory|root|0 99999\nPermission denied\n\n\n@[read, SIGTERM]: 1\n"
    );
}

#[test]
fn names_are_strings_in_json() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&[
        "-q",
        "-f",
        "json",
        "-e",
        r#"BEGIN { print(syscall_name(1)); @sig = signal_name(2); @who[username] = count(); exit(); }"#,
    ]);
    assert_eq!(
        out,
        "{\"type\": \"value\", \"data\": \"write\"}\n{\"type\": \"map\", \"data\": {\"@sig\": \"SIGINT\"}}\n{\"type\": \"map\", \"data\": {\"@who\": {\"root\": 1}}}\n"
    );
}

#[test]
fn syscall_names_of_a_traced_process() {
    if !kernel_available() {
        return;
    }
    // The traced command is our own child (`-c`), so only its syscalls
    // count, and it calls `exit_group` (231) exactly once.
    let out = run_ok(&[
        "-q",
        "-c",
        "/bin/true",
        "-e",
        r#"tracepoint:raw_syscalls:sys_enter /pid == cpid && args.id == 231/ { @[syscall_name(args.id)] = count(); }"#,
    ]);
    assert_eq!(out, "\n\n@[exit_group]: 1\n");
}

#[test]
fn strstr_and_strcontains_search_literals_and_comm() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&[
        "-q",
        "-e",
        r#"BEGIN { printf("%d %d %d %d %d %d\n", strstr("hello world", "world"), strstr("hello", "xyz"), strstr("abc", ""), strstr("", ""), strstr(comm, "trace"), strstr("aab", "ab")); printf("%d %d\n", strcontains(comm, "ferro"), strcontains("abc", "abd")); if (strcontains(comm, "ferro")) { printf("yes\n"); } exit(); }"#,
    ]);
    // BEGIN runs in ferrotrace itself, whose comm is `ferrotrace`.
    assert_eq!(out, "6 -1 0 0 5 1\n1 0\nyes\n\n\n");
}

#[test]
fn strstr_searches_a_traced_path() {
    if !kernel_available() {
        return;
    }
    // Only our own child (`-c`) counts; `cat` opens the file it prints
    // (and the dynamic loader's cache, also under /etc/).
    let out = run_ok(&[
        "-q",
        "-c",
        "/bin/cat /dev/null",
        "-e",
        r#"config = { max_strlen = 128 } tracepoint:syscalls:sys_enter_openat /pid == cpid/ { $f = str(args.filename); if (strcontains($f, "/dev/")) { printf("%s %d\n", $f, strstr($f, "null")); } }"#,
    ]);
    assert_eq!(out, "/dev/null 5\n\n\n");
}
