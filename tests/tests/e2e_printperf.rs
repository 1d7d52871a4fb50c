//! End-to-end checks of the two fast paths of the printperf work, against
//! the real kernel and the real binary: maps of many keys print in exactly
//! bpftrace's order (by value, ties by key; by key for non-numeric values)
//! through the integer sort keys of `output::order`, and an empty probe
//! compiles to `r0 = 0; exit` without the scratch lookup and still loads,
//! attaches and runs. Needs root and BPF (see `harness`).

use ferrotrace_tests::harness::{kernel_available, run};

/// Runs ferrotrace with `args` and returns its stdout, asserting success.
fn stdout_of(args: &[&str]) -> String {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "ferrotrace {args:?} failed:\n{err}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const KEYS: i64 = 20_000;

#[test]
fn many_keys_print_in_bpftrace_order() {
    if !kernel_available() {
        return;
    }
    let script = format!(
        r#"config = {{ max_map_keys = 30000 }}
BEGIN {{
  for ($i : 0..{KEYS}) {{
    @m[$i] = ({KEYS} - $i) % 7;
    @c[$i % 5] = count();
    @t[$i % 3, $i % 4] = $i;
    @s[$i % 4] = "x";
  }}
  exit();
}}"#
    );
    let out = stdout_of(&["-q", "-e", &script]);

    let mut expected = String::from("\n\n");
    // @c: count() maps sort by value; all counts tie, so by key.
    for k in 0..5 {
        expected.push_str(&format!("@c[{k}]: {}\n", KEYS / 5));
    }
    // @m: integer values sort by value, ties by key ascending.
    let mut m: Vec<(i64, i64)> = (0..KEYS).map(|i| ((KEYS - i) % 7, i)).collect();
    m.sort();
    for (v, k) in m {
        expected.push_str(&format!("@m[{k}]: {v}\n"));
    }
    // @s: string values sort by key.
    for k in 0..4 {
        expected.push_str(&format!("@s[{k}]: x\n"));
    }
    // @t: two-part keys; the last write of the ascending loop wins.
    let mut t: Vec<(i64, i64, i64)> = Vec::new();
    for a in 0..3 {
        for b in 0..4 {
            let last = (0..KEYS).rev().find(|i| i % 3 == a && i % 4 == b);
            if let Some(v) = last {
                t.push((v, a, b));
            }
        }
    }
    t.sort();
    for (v, a, b) in t {
        expected.push_str(&format!("@t[{a}, {b}]: {v}\n"));
    }
    if out != expected {
        let first = out.lines().zip(expected.lines()).position(|(a, b)| a != b);
        panic!(
            "output differs (first differing line {first:?}); {} lines printed, {} expected",
            out.lines().count(),
            expected.lines().count()
        );
    }
}

#[test]
fn empty_probe_is_two_instructions_and_runs() {
    if !kernel_available() {
        return;
    }
    let asm = stdout_of(&[
        "--emit",
        "asm",
        "-e",
        "tracepoint:raw_syscalls:sys_enter { }",
    ]);
    let body: Vec<&str> = asm
        .lines()
        .skip_while(|l| *l != "p0:")
        .map(str::trim)
        .filter(|l| !l.starts_with('.') && !l.is_empty() && *l != "p0:")
        .take_while(|l| !l.starts_with("events"))
        .collect();
    assert_eq!(body, ["w0 = 0", "exit"], "{asm}");

    // It still loads, attaches beside a probe that does use scratch memory,
    // fires, and the session ends normally.
    let out = stdout_of(&[
        "-e",
        r#"tracepoint:raw_syscalls:sys_enter { } interval:ms:100 { printf("done\n"); exit(); }"#,
    ]);
    assert_eq!(out.lines().next(), Some("done"), "{out}");
}
