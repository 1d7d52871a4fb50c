//! Integer semantics of bpftrace 0.26, run in the real kernel through
//! BEGIN (BPF_PROG_TEST_RUN) with exact output: operations computed at
//! the common width of their operands (so they wrap there), mixed-sign
//! promotion and literal adaptation, division and modulo by zero, unary
//! minus and `~` on unsigned values, casts between widths and signs, the
//! mixed-sign comparison warning and the literal that does not fit a typed
//! variable. Needs root and BPF (see `harness`).

use ferrotrace_tests::harness::{kernel_available, run};

/// Runs `script` quietly; it must succeed. Returns (stdout, stderr).
fn run_script(script: &str) -> (String, String) {
    let o = run(&["-q", "-e", script]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{script} failed:\n{err}");
    (String::from_utf8_lossy(&o.stdout).into_owned(), err)
}

#[test]
fn operations_wrap_at_the_operands_width() {
    if !kernel_available() {
        return;
    }
    // uint8 + a literal that fits uint8 is a uint8 addition; int8 + 1 an
    // int8 one; a literal too wide for the other side widens the
    // operation (uint8 + 300 is uint16, int8 + 200 is int16).
    let script = r#"BEGIN {
  $u8 = (uint8)255; $i8 = (int8)127; $i32 = (int32)2147483647; $u32 = (uint32)4294967295;
  printf("%lu %ld %ld %lu\n", $u8 + 1, $i8 + 1, $i32 + 1, $u32 + 1);
  printf("%lu %lu %ld\n", $u8 * 2, $u8 + 300, $i8 + 200);
  $m8 = (int8)-128; $u16 = (uint16)0;
  printf("%ld %lu\n", $m8 - 1, $u16 - 1);
  @wrapped = $u32 + 1;
  @wide = $u32 + (uint64)1;
  exit();
}"#;
    let (out, _) = run_script(script);
    assert_eq!(
        out,
        "0 -128 -2147483648 0\n254 555 327\n127 65535\n\n\n@wide: 4294967296\n@wrapped: 0\n"
    );
}

#[test]
fn mixed_signs_promote_to_a_wider_signed_type() {
    if !kernel_available() {
        return;
    }
    // int8 vs uint8 compare as int16 and int16 vs uint32 as int64, so -1
    // is less than 1; int64 vs uint64 has no wider type: bpftrace compares
    // unsigned, where -1 is the largest value, and warns.
    let script = r#"BEGIN {
  $a = (int8)-1; $b = (uint8)1; $c = (int16)-1; $d = (uint32)1;
  $e = (int64)-1; $f = (uint64)1;
  printf("%d %d %d\n", $a < $b, $c < $d, $e < $f);
  exit();
}"#;
    let (out, err) = run_script(script);
    assert_eq!(out, "1 1 0\n\n\n");
    assert!(
        err.contains(
            "warning[W0100]: comparison of integers of different signs: an int64 and an uint64"
        ),
        "{err}"
    );
}

#[test]
fn division_and_modulo_by_zero_give_one() {
    if !kernel_available() {
        return;
    }
    let script = r#"BEGIN {
  $z = 0; $n = (uint8)7; $zn = (uint8)0;
  printf("%ld %ld %lu %lu %ld\n", 10 / $z, 10 % $z, $n / $zn, $n % $zn, 10 / 3);
  exit();
}"#;
    let (out, err) = run_script(script);
    assert_eq!(out, "1 1 1 1 3\n\n\n");
    // Each of the four divisions by zero is reported where it is, with
    // bpftrace 0.26's words; `10 / 3` is not.
    let warning = "WARNING: Divide or modulo by 0 detected. This can lead to unexpected results. 1 is being used as the result.";
    assert_eq!(err.matches(warning).count(), 4, "{err}");
    assert!(err.contains(&format!("stdin:3:35-42: {warning}")), "{err}");
    assert!(err.contains(&format!("stdin:3:44-51: {warning}")), "{err}");
}

#[test]
fn division_by_zero_is_a_json_warning_record() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "-q",
        "-f",
        "json",
        "-e",
        "BEGIN { $z = 0; printf(\"%d\\n\", 9 / $z); exit(); }",
    ]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(r#"{"type": "warning", "msg": "Divide or modulo by 0 detected. This can lead to unexpected results. 1 is being used as the result.", "filename": "stdin", "line": 1, "col": 32}"#),
        "{out}"
    );
    assert!(
        out.contains(r#"{"type": "printf", "data": "1\n"}"#),
        "{out}"
    );
}

#[test]
fn unary_operators_keep_the_operands_width_and_sign() {
    if !kernel_available() {
        return;
    }
    // `-$u` of a uint32 is computed in 32 bits and stays unsigned;
    // `~$b` of a uint8 flips 8 bits.
    let script = r#"BEGIN {
  $u = (uint32)5; $b = (uint8)0; $s = (int8)5;
  printf("%lu %lu %ld %ld\n", -$u, ~$b, -$s, ~$s);
  exit();
}"#;
    let (out, _) = run_script(script);
    assert_eq!(out, "4294967291 255 -5 -6\n\n\n");
}

#[test]
fn casts_truncate_and_extend_by_the_source_sign() {
    if !kernel_available() {
        return;
    }
    let script = r#"BEGIN {
  $v = 200; $m = -1; $w = (uint8)255;
  printf("%ld %lu %ld %lu %lu\n", (int8)$v, (uint8)$m, (int16)$w, (uint64)(int8)$m, (uint32)$m);
  exit();
}"#;
    let (out, _) = run_script(script);
    assert_eq!(out, "-56 255 255 18446744073709551615 4294967295\n\n\n");
}

#[test]
fn a_literal_that_does_not_fit_a_typed_variable_is_an_error() {
    if !kernel_available() {
        return;
    }
    for (script, expected) in [
        (
            "BEGIN { let $x: uint8 = 256; }",
            "error[E0450]: type mismatch for `$x`: the literal 256 does not fit an uint8",
        ),
        (
            "BEGIN { let $x: uint32 = -1; }",
            "error[E0450]: type mismatch for `$x`: the literal -1 does not fit an uint32",
        ),
        (
            "BEGIN { $x = (uint8)1; $x = 300; }",
            "error[E0450]: type mismatch for `$x`: the literal 300 does not fit an uint8",
        ),
    ] {
        let o = run(&["-e", script]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{script} should fail");
        assert!(err.contains(expected), "{script}: {err}");
    }
}
