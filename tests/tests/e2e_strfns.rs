//! The issue 5 data functions whose values are bytes printed in user space
//! (`buf` with `%r`/`%rx`/`%rh`, `ntop`, `pton`, `macaddr`, `memcmp`,
//! `strftime`) and the message functions (`errorf`, `warnf`, `debugf`),
//! against the real kernel, with the printed result asserted exactly.

use ferrotrace_tests::harness::{kernel_available, run, run_ok};

#[test]
fn buf_prints_with_r_rx_and_rh_and_as_map_keys_and_values() {
    if !kernel_available() {
        return;
    }
    // Only our own child writes (`-c`); dash's builtin echo writes "hi\n"
    // from the shell's own pid.
    let out = run_ok(&[
        "-q",
        "-c",
        "/bin/sh -c 'echo hi >/dev/null'",
        "-e",
        r#"tracepoint:syscalls:sys_enter_write /pid == cpid/ { printf("[%r|%rx|%rh|%r|%-6r|]\n", buf(args.buf, args.count), buf(args.buf, 2), buf(args.buf, args.count), buf(args.buf, 1), buf(args.buf, 2)); @[buf(args.buf, 3)] = count(); @last = buf(args.buf, args.count); }"#,
    ]);
    assert_eq!(
        out,
        "[hi\\x0a|\\x68\\x69|68 69 0a|h|hi    |]\n\n\n@[hi\\x0a]: 1\n@last: hi\\x0a\n"
    );
}

#[test]
fn addresses_from_literals_integers_and_memcmp() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&[
        "-q",
        "-e",
        r#"BEGIN { printf("%s|%s|%s|%s|%s\n", ntop(pton("10.1.2.3")), ntop(pton("fe80::1")), ntop(0x0100007f), ntop(2, 0x04030201), ntop(pton("::ffff:1.2.3.4"))); printf("%d %d %d %d\n", memcmp(pton("1.2.3.4"), pton("1.2.3.5"), 4), memcmp(pton("1.2.3.4"), pton("1.2.3.5"), 3), memcmp("abc", "abd", 3), memcmp(pton("1.2.3.9"), pton("1.2.3.5"), 4)); printf("%rh\n", pton("::1")); @m[ntop(pton("192.168.0.1"))] = count(); @v = ntop(pton("::1")); print(pton("65.66.0.10")); exit(); }"#,
    ]);
    assert_eq!(
        out,
        "10.1.2.3|fe80::1|127.0.0.1|1.2.3.4|::ffff:1.2.3.4\n-1 0 -1 4\n00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01\nAB\\x00\\x0a\n\n\n@m[192.168.0.1]: 1\n@v: ::1\n"
    );
}

#[test]
fn data_values_are_strings_in_json() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&[
        "-q",
        "-f",
        "json",
        "-e",
        r#"BEGIN { print(pton("65.66.0.10")); print(ntop(pton("::1"))); @a[ntop(0x0100007f)] = 1; exit(); }"#,
    ]);
    assert_eq!(
        out,
        "{\"type\": \"value\", \"data\": \"AB\\\\x00\\\\x0a\"}\n{\"type\": \"value\", \"data\": \"::1\"}\n{\"type\": \"map\", \"data\": {\"@a\": {\"127.0.0.1\": 1}}}\n"
    );
}

#[test]
fn macaddr_of_a_buffer_and_through_a_pointer() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&[
        "-q",
        "-c",
        "/bin/sh -c 'printf abcdefgh >/dev/null'",
        "-e",
        r#"tracepoint:syscalls:sys_enter_write /pid == cpid/ { printf("%s %s\n", macaddr(args.buf), macaddr(buf(args.buf, 7))); @[macaddr(args.buf)] = count(); }"#,
    ]);
    assert_eq!(
        out,
        "61:62:63:64:65:66 61:62:63:64:65:66\n\n\n@[61:62:63:64:65:66]: 1\n"
    );
}

#[test]
fn ntop_of_tracepoint_address_arrays() {
    if !kernel_available() {
        return;
    }
    // bash connects (and is refused) to port 1 over IPv4, then IPv6; each
    // socket enters SYN_SENT (2) in bash's own context.
    let out = run(&[
        "-q",
        "-c",
        "/bin/bash -c 'echo > /dev/tcp/127.0.0.1/1; echo > /dev/tcp/::1/1'",
        "-e",
        r#"tracepoint:sock:inet_sock_set_state /pid == cpid && args.newstate == 2/ { printf("%s %s %s %d %rh\n", ntop(args.saddr), ntop(args.daddr), ntop(args.daddr_v6), args.dport, buf(args.daddr, 2)); }"#,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "127.0.0.1 127.0.0.1 ::ffff:127.0.0.1 1 7f 00\n0.0.0.0 0.0.0.0 ::1 1 00 00\n\n\n",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn strftime_formats_boot_time_as_wall_clock() {
    if !kernel_available() {
        return;
    }
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let out = run_ok(&[
        "-q",
        "-e",
        r#"BEGIN { printf("%s|%s\n", strftime("%s", nsecs), strftime("%S.%f", nsecs)); @t[strftime("%s", 0)] = 1; exit(); }"#,
    ]);
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let first = out.lines().next().unwrap_or_default();
    let (secs, frac) = first.split_once('|').unwrap_or_default();
    let secs: u64 = secs.parse().unwrap_or(0);
    assert!(
        (before.saturating_sub(1)..=after + 1).contains(&secs),
        "{secs} not within [{before}, {after}]: {out}"
    );
    // `%S.%f`: two digits of seconds, a dot, six of microseconds.
    let (s, us) = frac.split_once('.').unwrap_or_default();
    assert!(
        s.len() == 2 && us.len() == 6 && (s.to_string() + us).bytes().all(|b| b.is_ascii_digit()),
        "{frac}"
    );
    // `strftime("%s", 0)` is the boot time, in the past.
    let boot: u64 = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("@t[")?
                .split_once(']')
                .map(|(k, _)| k.to_string())
        })
        .and_then(|k| k.parse().ok())
        .unwrap_or(u64::MAX);
    assert!(
        boot < before,
        "boot time {boot} is not before {before}: {out}"
    );
}

#[test]
fn errorf_and_warnf_print_located_messages() {
    if !kernel_available() {
        return;
    }
    let script =
        r#"BEGIN { printf("a\n"); errorf("bad %d", 5); warnf("careful %s\n", comm); exit(); }"#;
    let o = run(&["-q", "-e", script]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "a\n\n\n");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "stdin:1:24-43: ERROR: bad 5\nstdin:1:45-72: WARNING: careful ferrotrace\n"
    );
    // The example of bpftrace's own documentation, byte for byte.
    let doc = run(&[
        "-q",
        "-e",
        r#"BEGIN { errorf("Something bad with args: %d, %s", 10, "arg2"); exit(); }"#,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&doc.stderr),
        "stdin:1:9-62: ERROR: Something bad with args: 10, arg2\n"
    );
    let quiet = run(&["-q", "--no-warnings", "-e", script]);
    assert_eq!(
        String::from_utf8_lossy(&quiet.stderr),
        "stdin:1:24-43: ERROR: bad 5\n"
    );
    let json = run_ok(&["-q", "-f", "json", "-e", script]);
    assert_eq!(
        json,
        "{\"type\": \"printf\", \"data\": \"a\\n\"}\n{\"type\": \"errorf\", \"msg\": \"bad 5\", \"filename\": \"stdin\", \"line\": 1, \"col\": 24}\n{\"type\": \"warnf\", \"msg\": \"careful ferrotrace\\n\", \"filename\": \"stdin\", \"line\": 1, \"col\": 45}\n"
    );
}

#[test]
fn debugf_writes_to_the_trace_buffer() {
    if !kernel_available() {
        return;
    }
    // The runtime mounts tracefs when a script needs it; this one does
    // not, so make sure it is there to read from.
    let trace = "/sys/kernel/tracing/trace";
    if !std::path::Path::new(trace).exists() {
        let _ = std::process::Command::new("mount")
            .args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
            .status();
    }
    let token = format!("ferrotrace-debugf-{}", std::process::id());
    let script = format!(r#"BEGIN {{ debugf("{token} %d %lx %u\n", 42, 255, -1); exit(); }}"#);
    // Another tool may clear the shared trace buffer between our write and
    // our read: try a few times.
    let mut found = String::new();
    for _ in 0..3 {
        run_ok(&["-q", "-e", &script]);
        let text = std::fs::read_to_string(trace).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains(&token)) {
            found = line.to_string();
            break;
        }
    }
    assert!(
        found.ends_with(&format!("bpf_trace_printk: {token} 42 ff 4294967295")),
        "no debugf line in {trace}: {found:?}"
    );
}

#[test]
fn len_counts_map_entries_and_find_copies_values() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&[
        "-q",
        "-e",
        r#"BEGIN { @a[1] = 1; @a[2] = 2; @a[7] = 3; @c["x"] = count(); @e[1] = 1; delete(@e, 1); printf("%d %d %d\n", len(@a), len(@c), len(@e)); delete(@a, 2); $n = len(@a); printf("%d\n", $n); if (find(@a, 7, $v)) { printf("found %d\n", $v); } if (!find(@a, 2, $v)) { printf("no 2, $v still %d\n", $v); } @s["k"] = "text"; if (find(@s, "k", $t)) { printf("%s\n", $t); } clear(@a); clear(@c); clear(@s); exit(); }"#,
    ]);
    assert_eq!(out, "3 1 0\n2\nfound 3\nno 2, $v still 3\ntext\n\n\n");
}

#[test]
fn len_of_the_current_stacks() {
    if !kernel_available() {
        return;
    }
    // sched_switch always runs deep in the scheduler; the limit caps the
    // count.
    let out = run_ok(&[
        "-q",
        "-e",
        r#"tracepoint:sched:sched_switch { @deep = len(kstack) > 3; @capped = len(kstack(2)); exit(); }"#,
    ]);
    assert_eq!(out, "\n\n@capped: 2\n@deep: true\n");
}

#[test]
fn path_needs_fentry_which_this_kernel_refuses_clearly() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "-e",
        r#"tracepoint:syscalls:sys_enter_openat { print(path(args.filename)); }"#,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error[E0389]: `path()` works only in fentry/fexit and iter probes"),
        "{err}"
    );
    // The fentry form compiles; whether it loads is the kernel's answer.
    let o = run(&[
        "-e",
        r#"fentry:security_inode_getattr { @[path(args.path)] = count(); } interval:ms:100 { exit(); }"#,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    if o.status.code() != Some(0) {
        assert!(
            err.contains("ERROR: the kernel refused to load probe fentry:security_inode_getattr"),
            "{err}"
        );
        assert!(!err.contains("error["), "a compile error: {err}");
    }
}

#[test]
fn type_questions_are_compile_time_booleans() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&[
        "-q",
        "-e",
        r#"BEGIN { $s = "a"; $n = 5; printf("%s %s %s %s %s %s %s %s\n", is_str($s), is_str($n), is_integer($n), is_unsigned_integer(pid), is_unsigned_integer($n), is_literal(5), is_literal($n), is_array(pton("::1"))); printf("%d %d %d\n", strcap($s), strcap(comm), strcap(pton("::1"))); exit(); }"#,
    ]);
    assert_eq!(
        out,
        "true false true true false true false true\n2 16 16\n\n\n"
    );
}
