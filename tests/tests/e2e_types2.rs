//! C types, second round, against the real kernel's BTF: `curtask` typed
//! as the `struct task_struct *` it is (fields through a variable, pointer
//! values printed in hex, integer uses kept), `&p->field`, pointer
//! differences, `print(args)` of tracepoints and raw tracepoints, kernel
//! enum constants, and listing a struct's definition or a function's
//! typed parameters.

use ferrotrace_tests::harness::{kernel_available, run_ok};

/// Runs a BEGIN-only script with `-q` and returns its stdout. BEGIN runs
/// in the ferrotrace process itself, a child of this test process.
fn begin_output(body: &str) -> String {
    let script = format!("BEGIN {{ {body} exit(); }}");
    run_ok(&["-q", "-e", &script])
}

/// Runs `script` with `-q` around a child that execs `/bin/true`, and
/// returns its stdout.
/// Runs `script` with a `-c` command whose shell execs `/bin/true`: the
/// command itself is held after its own exec, so the exec probes see the
/// shell's.
fn exec_output(script: &str) -> String {
    run_ok(&["-q", "-e", script, "-c", "/bin/sh -c 'exec /bin/true'"])
}

#[test]
fn curtask_in_a_variable_is_a_task_struct_pointer() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"$t = curtask; printf("%d %d %s\n", $t->pid == tid, $t->real_parent->tgid, $t->comm);"#,
    );
    assert_eq!(out, format!("1 {} ferrotrace\n\n\n", std::process::id()));
}

#[test]
fn curtask_prints_as_a_pointer_and_stays_usable_as_an_integer() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"$a = (uint64)curtask; printf("%lx %p\n", $a, curtask); printf("%d %d %d\n", curtask == 0, curtask == $a, (uint64)(curtask + 1) - $a == sizeof(struct task_struct)); @m = curtask;"#,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    let hex = lines[0].split(' ').next().unwrap_or_default();
    assert!(hex.starts_with("ffff"), "{out}");
    assert_eq!(lines[0], format!("{hex} 0x{hex}"));
    assert_eq!(lines[1], "0 1 1");
    assert_eq!(lines[2..], ["", "", &format!("@m: 0x{hex}")]);
}

#[test]
fn pointer_minus_pointer_counts_elements() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"$t = curtask; $w = (uint16 *)$t; printf("%d %d %d\n", ($t + 3) - $t, $w - ($w + 2), (uint64)($t + 1) - (uint64)$t == sizeof(struct task_struct));"#,
    );
    assert_eq!(out, "3 -2 1\n\n\n");
}

#[test]
fn address_of_a_field_is_computed_without_reading() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"$t = curtask; $se = &$t->se; printf("%d %d %d %d\n", (uint64)$se - (uint64)$t == offsetof(struct task_struct, se), $se->load.weight == $t->se.load.weight, *&$t->pid == tid, (uint64)&$t->comm[2] - (uint64)$t - offsetof(struct task_struct, comm));"#,
    );
    assert_eq!(out, "1 1 1 2\n\n\n");
}

#[test]
fn print_args_prints_the_tracepoint_fields() {
    if !kernel_available() {
        return;
    }
    // The shell execs `/bin/true` in place: its pid is the old pid.
    let out = exec_output(
        r#"tracepoint:sched:sched_process_exec /pid == cpid/ { print(args); @a = args; printf("%d %d\n", @a.pid == pid, @a.old_pid == args.old_pid); }"#,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    let child = lines[0]
        .strip_prefix("{ .pid = ")
        .and_then(|r| r.split(',').next())
        .unwrap_or_default();
    assert!(child.parse::<u32>().is_ok(), "{out}");
    assert_eq!(
        lines[0],
        format!("{{ .pid = {child}, .old_pid = {child} }}")
    );
    assert_eq!(lines[1], "1 1");
    assert_eq!(
        lines[2..],
        [
            "",
            "",
            &format!("@a: {{ .pid = {child}, .old_pid = {child} }}")
        ]
    );
}

#[test]
fn print_args_of_a_raw_tracepoint_prints_its_typed_arguments() {
    if !kernel_available() {
        return;
    }
    let out = exec_output(
        r#"rawtracepoint:sched_process_exec /pid == cpid/ { print(args); printf("%d %d\n", args.old_pid, (uint64)args.p == (uint64)curtask); }"#,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    let (old_pid, same) = lines[1].split_once(' ').unwrap_or_default();
    assert_eq!(same, "1", "{out}");
    let fields: Vec<&str> = lines[0]
        .trim_start_matches("{ ")
        .trim_end_matches(" }")
        .split(", ")
        .collect();
    assert_eq!(fields.len(), 3, "{out}");
    assert!(fields[0].starts_with(".p = 0xffff"), "{out}");
    assert_eq!(fields[1], format!(".old_pid = {old_pid}"));
    assert!(fields[2].starts_with(".bprm = 0xffff"), "{out}");
    assert_eq!(lines[2..], ["", ""]);
}

#[test]
fn listing_a_struct_prints_its_definition() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&["-lv", "struct task_struct"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"struct task_struct {"), "{out}");
    assert_eq!(lines.last(), Some(&"};"), "{out}");
    for member in [
        "\tint32 pid;",
        "\tint32 tgid;",
        "\tstruct task_struct *real_parent;",
        "\tuint8 comm[16];",
        "\tuint32 sched_reset_on_fork : 1;",
        "\tstruct sched_entity se;",
    ] {
        assert!(lines.contains(&member), "{member:?} missing from:\n{out}");
    }
    let missing = ferrotrace_tests::harness::run(&["-l", "struct no_such_type"]);
    assert!(!missing.status.success());
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "ERROR: the kernel's BTF has no `struct no_such_type`; check the spelling (types are listed by their C names, e.g. `struct task_struct`).\n"
    );
}

#[test]
fn listing_fentry_verbosely_prints_typed_parameters() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&["-lv", "fentry:vfs_read"]);
    assert_eq!(
        out,
        "fentry:vmlinux:vfs_read\n    struct file *file\n    uint8 *buf\n    uint64 count\n    int64 *pos\n"
    );
    // kprobes list the same BTF parameters (bpftrace 0.24+).
    let out = run_ok(&["-lv", "kprobe:vfs_read"]);
    assert_eq!(
        out,
        "kprobe:vfs_read\n    struct file *file\n    uint8 *buf\n    uint64 count\n    int64 *pos\n"
    );
}

#[test]
fn kernel_enum_constants_are_integers() {
    if !kernel_available() {
        return;
    }
    // Values fixed by the kernel's ABI (include/uapi/linux/bpf.h) and
    // TASK_COMM_LEN, an enum constant since Linux 5.17.
    let out = begin_output(
        r#"printf("%d %d %d\n", BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_RINGBUF, TASK_COMM_LEN);"#,
    );
    assert_eq!(out, "1 27 16\n\n\n");
}

#[test]
fn listing_an_enum_prints_its_constants() {
    if !kernel_available() {
        return;
    }
    // The values are the kernel's ABI (include/uapi/linux/bpf.h).
    let out = run_ok(&["-lv", "enum bpf_map_type"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "enum bpf_map_type {",
            "\tBPF_MAP_TYPE_UNSPEC = 0,",
            "\tBPF_MAP_TYPE_HASH = 1,",
            "\tBPF_MAP_TYPE_ARRAY = 2,"
        ],
        "{out}"
    );
    assert!(lines.contains(&"\tBPF_MAP_TYPE_RINGBUF = 27,"), "{out}");
    assert_eq!(lines.last(), Some(&"};"), "{out}");
}
