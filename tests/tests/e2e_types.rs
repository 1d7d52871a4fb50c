//! C types against the real kernel's BTF (issues 3, 4, 6): `curtask`
//! fields compared with the builtins they must equal, a pointer chain to
//! the parent process, signed fields, array indexing and pointer
//! arithmetic, struct values printed and stored in maps, and raw
//! tracepoint `args` typed from BTF.

use ferrotrace_tests::harness::{kernel_available, run_ok};

/// Runs a BEGIN-only script with `-q` and returns its stdout. BEGIN runs
/// in the ferrotrace process itself, a child of this test process.
fn begin_output(body: &str) -> String {
    let script = format!("BEGIN {{ {body} exit(); }}");
    run_ok(&["-q", "-e", &script])
}

#[test]
fn curtask_fields_equal_the_builtins() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"$t = (struct task_struct *)curtask; printf("%d %d %d %d\n", $t->pid == tid, curtask->tgid == pid, curtask->comm == comm, $t.pid == tid); printf("%s\n", curtask->comm);"#,
    );
    assert_eq!(out, "1 1 1 1\nferrotrace\n\n\n");
}

#[test]
fn real_parent_is_the_process_that_started_ferrotrace() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(r#"printf("%d\n", curtask->real_parent->tgid);"#);
    assert_eq!(out, format!("{}\n\n\n", std::process::id()));
}

#[test]
fn signed_fields_keep_their_sign_and_width() {
    if !kernel_available() {
        return;
    }
    // exit_signal is SIGCHLD for a forked process; numa_preferred_nid is
    // NUMA_NO_NODE (-1) on this one-node machine: an `int` read as -1,
    // not 4294967295.
    let out = begin_output(
        r#"printf("%d %d %d\n", curtask->exit_signal, curtask->numa_preferred_nid, curtask->numa_preferred_nid < 0);"#,
    );
    assert_eq!(out, "17 -1 1\n\n\n");
}

#[test]
fn arrays_index_and_pointers_scale_by_their_pointee() {
    if !kernel_available() {
        return;
    }
    // "ferrotrace": 'f' = 102, 'e' = 101, 'r' = 114.
    let out = begin_output(
        r#"$t = (struct task_struct *)curtask; $i = 2; $c = (uint8 *)$t; $c = $c + offsetof(struct task_struct, comm); $w = (uint16 *)$c; printf("%d %d %d %d %d\n", $t->comm[0], $t->comm[$i], *($c + 1), *$w, (uint64)($w + 1) - (uint64)$w);"#,
    );
    assert_eq!(out, format!("102 114 101 {} 2\n\n\n", 101 * 256 + 102));
}

#[test]
fn struct_values_print_and_store_as_bpftrace_does() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"printf("%d %d\n", curtask->se.load.weight, curtask->se.load.inv_weight); print(curtask->se.load); @l = curtask->se.load;"#,
    );
    let mut lines = out.lines();
    let first = lines.next().unwrap_or_default().to_string();
    let (weight, inv) = first.split_once(' ').unwrap_or_default();
    let printed = format!("{{ .weight = {weight}, .inv_weight = {inv} }}");
    assert_eq!(
        out,
        format!("{first}\n{printed}\n\n\n@l: {printed}\n"),
        "the struct prints its fields in order, equal to the fields read one by one"
    );
}

#[test]
fn sizeof_and_offsetof_agree_with_field_addresses() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"$t = (struct task_struct *)curtask; $a = (uint64)$t; printf("%d %d\n", sizeof(struct task_struct) > 1000, (uint64)($t + 1) - $a == sizeof(struct task_struct));"#,
    );
    assert_eq!(out, "1 1\n\n\n");
}

#[test]
fn raw_tracepoint_args_are_typed_from_btf() {
    if !kernel_available() {
        return;
    }
    // sched_process_exec(struct task_struct *p, pid_t old_pid, struct
    // linux_binprm *bprm): the `-c` child is held after its own exec, so
    // the exec traced is the one its shell does next.
    let out = run_ok(&[
        "-q",
        "-c",
        "/bin/sh -c 'exec /bin/true'",
        "-e",
        r#"rawtracepoint:sched_process_exec /args.p->tgid == cpid/ { printf("%s %d %d\n", args.p->comm, args.old_pid == cpid, ((struct task_struct *)arg0)->pid == cpid); exit(); }"#,
    ]);
    assert_eq!(out, "true 1 1\n\n\n");
}

#[test]
fn preamble_structs_overlay_kernel_memory() {
    if !kernel_available() {
        return;
    }
    // A script-defined struct laid over task_struct's comm: its fields
    // are at C offsets (b at 1, rest at 2), printed and read back.
    let script = r#"struct name { char first; unsigned char b; char rest[6]; };
BEGIN {
  $n = (struct name *)((uint64)curtask + offsetof(struct task_struct, comm));
  printf("%d %d %s %d\n", $n->first, $n->b, $n->rest, sizeof(struct name));
  print(*$n);
  $v = *$n;
  printf("%s\n", $v.rest);
  exit();
}"#;
    let out = run_ok(&["-q", "-e", script]);
    assert_eq!(
        out,
        "102 101 rrotra 8\n{ .first = 102, .b = 101, .rest = rrotra }\nrrotra\n\n\n"
    );
}

#[test]
fn listing_shows_raw_tracepoint_arguments_typed_from_btf() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&["-lv", "rawtracepoint:sched_process_exec"]);
    assert_eq!(
        out,
        "rawtracepoint:sched_process_exec\n    struct task_struct * p\n    int32 old_pid\n    struct linux_binprm * bprm\n"
    );
}

#[test]
fn fields_of_struct_values_read_from_the_copy() {
    if !kernel_available() {
        return;
    }
    let out = begin_output(
        r#"$s = curtask->se; $l = $s.load; printf("%d %d\n", $s.load.weight == curtask->se.load.weight, $l.inv_weight == curtask->se.load.inv_weight);"#,
    );
    assert_eq!(out, "1 1\n\n\n");
}
