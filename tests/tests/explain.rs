//! Teaching mode: `--explain` output for a few scripts, compiled against the
//! fixture kernel so the snapshots are stable, and `--explain-hook` run
//! through the real binary (its entries, aliases and "did you mean").

use ferrotrace_runtime::explain::{explain, explain_hook};
use ferrotrace_tests::fixture_kernel::FixtureKernel;
use ferrotrace_tests::harness;
use ferrotrace_tests::stages::{compile, load};

#[test]
fn explain_describes_probes_maps_and_instructions() {
    insta::glob!("..", "fixtures/explain/*.bt", |path| {
        let source = load(path);
        let artifact = match compile(&source) {
            Ok(a) => a,
            Err(e) => panic!("{} failed to compile:\n{e}", source.name),
        };
        let text = match explain(&artifact, &source, &FixtureKernel::new()) {
            Ok(t) => t,
            Err(e) => panic!("{}: {e}", source.name),
        };
        insta::assert_snapshot!(format!("{}\n---\n{text}", source.text));
    });
}

#[test]
fn every_instruction_is_listed_under_a_script_line() {
    let source =
        load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/explain/latency.bt"));
    let artifact = compile(&source).unwrap_or_else(|e| panic!("{e}"));
    let text = explain(&artifact, &source, &FixtureKernel::new()).unwrap_or_else(|e| panic!("{e}"));
    // Each probe's listing starts with the line of its attach point, and the
    // statements of the exit probe appear as lines of their own.
    for line in [
        "    1 | tracepoint:syscalls:sys_enter_openat { @start[tid] = nsecs; }",
        "    4 | $dur = nsecs - @start[tid];",
        "    5 | @total_ns += $dur;",
        "    9 | END { printf(\"avg %d ns\\n\", @calls ? @total_ns / @calls : 0); }",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("unknown instruction"), "{text}");
}

#[test]
fn explain_hook_accepts_aliases_in_any_case() {
    for spelling in ["tracepoint", "T", "TRACEPOINT"] {
        let text = explain_hook(spelling).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.starts_with("tracepoint (also t)\n"), "{text}");
        assert!(text.contains("CONFIG_TRACEPOINTS"), "{text}");
    }
}

#[test]
fn binary_explains_a_hook_and_suggests_a_spelling() {
    let out = harness::run(&["--explain-hook", "uprobe"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    // Whether uprobes are supported yet depends on the catalogue.
    assert!(stdout.starts_with("uprobe (also u)"), "{stdout}");
    assert!(stdout.contains("\n  uprobe:BINARY:FUNCTION\n"), "{stdout}");
    assert!(stdout.contains("\nCost per event:\n"), "{stdout}");

    let out = harness::run(&["--explain-hook", "tracepiont"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ERROR: there is no hook kind `tracepiont`.\nhelp: did you mean `tracepoint`?\n"
    );
}

#[test]
fn binary_explains_a_program_without_running_it() {
    let stdout = explain_with_binary("BEGIN { @n = 1; printf(\"hi\\n\"); exit(); }");
    assert!(
        stdout.starts_with("This script compiles to 1 eBPF program and 4 maps"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nProbe 1: BEGIN (line 1)\n  hook kind: begin\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n  @n: hash, key none (a single value), value int64"),
        "{stdout}"
    );
    assert!(stdout.contains("call bpf_ringbuf_output#130"), "{stdout}");
    // Explaining runs nothing: no "hi" (and, checked by the helper, no
    // "Attached" line on stderr).
    assert!(!stdout.contains("hi\n"), "{stdout}");
}

/// Runs `ferrotrace --explain -e PROGRAM`, checks it succeeded silently on
/// stderr, and returns its stdout.
fn explain_with_binary(program: &str) -> String {
    let out = harness::run(&["--explain", "-e", program]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn binary_explains_tracepoint_fields_from_the_running_kernel() {
    // Reading a tracepoint's format needs tracefs, hence root.
    if !harness::kernel_available() {
        return;
    }
    let stdout =
        explain_with_binary("tracepoint:sched:sched_process_exec { @[args.pid] = count(); }");
    assert!(
        stdout
            .contains("  attaches to: tracepoint sched:sched_process_exec, through a perf event\n"),
        "{stdout}"
    );
    // The fields come from this kernel's tracefs format file.
    for field in ["args.pid ", "args.old_pid "] {
        assert!(stdout.contains(field), "missing {field} in:\n{stdout}");
    }
    assert!(
        stdout.contains("\n  @: per-CPU hash, key (int64), value count"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    1 | tracepoint:sched:sched_process_exec"),
        "{stdout}"
    );
}
