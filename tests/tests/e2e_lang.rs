//! In-kernel assertions of the language's semantics: every script runs in a
//! BEGIN probe (BPF_PROG_TEST_RUN) in the real kernel and its exact output
//! is compared with the value the current bpftrace dialect defines —
//! integer widths, signs, wraparound, division by zero, shifts, signed and
//! unsigned comparisons, every loop form, scopes, parameters, casts,
//! `config` and map declarations. Needs root and BPF (see `harness`).

use ferrotrace_tests::harness::{kernel_available, run};

/// Runs `script` quietly with `args` after it and returns (stdout, stderr).
fn begin(script: &str, args: &[&str]) -> (String, String) {
    let mut all = vec!["-q", "-e", script];
    all.extend_from_slice(args);
    let o = run(&all);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{script} failed:\n{err}");
    (out, err)
}

/// The first line a script prints (maps, if any, follow after a blank line).
fn line(script: &str) -> String {
    line_with(script, &[])
}

fn line_with(script: &str, args: &[&str]) -> String {
    let (out, _) = begin(script, args);
    out.lines().next().unwrap_or_default().to_string()
}

#[test]
fn literals_in_every_base_and_unit() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line(
            r#"BEGIN { printf("%d %d %d %d %d %d %d\n", 1_000_000, 0x1F, 0b101, 0755, 2e3, 10UL, 7LL); exit(); }"#
        ),
        "1000000 31 5 493 2000 10 7"
    );
    assert_eq!(
        line(
            r#"BEGIN { printf("%ld %ld %ld %ld %ld %ld %ld\n", 5ns, 3us, 2ms, 1s, 1m, 1h, 1d); exit(); }"#
        ),
        "5 3000 2000000 1000000000 60000000000 3600000000000 86400000000000"
    );
    assert_eq!(
        line(r#"BEGIN { printf("%d %d %d\n", true, false, true == (1 == 1)); exit(); }"#),
        "1 0 1"
    );
}

#[test]
fn literal_types_are_the_smallest_signed_type() {
    if !kernel_available() {
        return;
    }
    // 0.26: 1 is int8, 200 int16, 70000 int32, 2^32 int64, above int64 uint64.
    assert_eq!(
        line(
            r#"BEGIN { printf("%d %d %d %d %d %d\n", sizeof(1), sizeof(-128), sizeof(200), sizeof(70000), sizeof(4294967296), sizeof(18446744073709551615)); exit(); }"#
        ),
        "1 1 2 4 8 8"
    );
}

#[test]
fn string_escapes_are_bytes() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "-q",
        "-e",
        r#"BEGIN { printf("%s|\t|\101\x42|\"\\\n", "a\x41"); exit(); }"#,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(&o.stdout[..], b"aA|\t|AB|\"\\\n\n\n" as &[u8]);
    // `\xff` is one byte (not a two-byte UTF-8 character), equal to `\377`.
    assert_eq!(
        line(
            r#"BEGIN { printf("%d %d %d\n", sizeof("\xff\x41"), "\xff" == "\377", "\xff" == "\xfe"); exit(); }"#
        ),
        "3 1 0"
    );
}

#[test]
fn overflow_wraps_around() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line(
            r#"BEGIN { $m = 9223372036854775807; $m = $m + 1; $u = 18446744073709551615; $u = $u + 1; printf("%ld %lu %lu\n", $m, $u, (uint64)-1); exit(); }"#
        ),
        "-9223372036854775808 0 18446744073709551615"
    );
}

#[test]
fn declared_widths_truncate_and_sign_extend() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line(
            r#"BEGIN { let $a: uint8 = 255; $a = $a + 1; let $b: int16 = (int16)40000; let $c: uint16 = (uint16)-1; let $d: int8 = 127; $d++; printf("%d %d %d %d %d\n", $a, $b, $c, $d, sizeof($b)); exit(); }"#
        ),
        "0 -25536 65535 -128 2"
    );
}

#[test]
fn casts_truncate_and_convert() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line(
            r#"BEGIN { $x = 511; printf("%d %d %d %d %d %lu\n", (uint8)$x, (int8)$x, (int8)128, (bool)$x, (bool)0, (uint32)-1); exit(); }"#
        ),
        "255 -1 -128 1 0 4294967295"
    );
}

#[test]
fn division_and_modulo_by_zero_are_defined() {
    if !kernel_available() {
        return;
    }
    // As bpftrace 0.26 has them: x / 0 and x % 0 give 1. Signed operands
    // divide as in C (0.26 divides them unsigned; see the migration guide).
    assert_eq!(
        line(
            r#"BEGIN { $z = 0; printf("%d %d %d %d %d %d\n", 9 / $z, 9 % $z, -7 / 2, -7 % 2, 7 / -2, -9 / $z); exit(); }"#
        ),
        "1 1 -3 -1 -3 1"
    );
}

#[test]
fn shifts_follow_the_sign_of_the_left_operand() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line(
            r#"BEGIN { $n = -8; $one = 1; printf("%ld %ld %lu %ld %ld\n", $n >> 1, $n << 2, (uint64)$n >> 60, $one << 63, $one << 64); exit(); }"#
        ),
        "-4 -32 15 -9223372036854775808 1"
    );
}

#[test]
fn signed_and_unsigned_comparisons() {
    if !kernel_available() {
        return;
    }
    // Mixed signs compare as signed 64-bit values; subtraction is signed (0.26).
    assert_eq!(
        line(
            r#"BEGIN { $u = (uint32)1; $big = 18446744073709551615; printf("%d %d %d %d %d\n", -1 < $u, (uint64)0 - 1 > 0, 5 - 7, $big > 0, -1 == 255); exit(); }"#
        ),
        "1 0 -2 1 0"
    );
}

#[test]
fn range_loops_with_break_and_continue() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line(
            r#"BEGIN { $s = 0; for ($i : 0..10) { if ($i == 3) { continue; } if ($i == 7) { break; } $s += $i; } $n = 0; for ($j : 5..2) { $n++; } printf("%d %d\n", $s, $n); exit(); }"#
        ),
        // 0+1+2+4+5+6 = 18; an empty range runs no iteration.
        "18 0"
    );
    // Bounds are evaluated once.
    assert_eq!(
        line(
            r#"BEGIN { $end = 3; $c = 0; for ($i : 0..$end) { $end = 100; $c++; } printf("%d\n", $c); exit(); }"#
        ),
        "3"
    );
}

#[test]
fn while_and_unroll_loops() {
    if !kernel_available() {
        return;
    }
    let (out, err) = begin(
        r#"BEGIN { $i = 0; $acc = 1; while ($i < 5) { $i++; if ($i == 2) { continue; } $acc = $acc * 2; } unroll(3) { $acc += 100; } printf("%d %d\n", $i, $acc); exit(); }"#,
        &[],
    );
    assert_eq!(out.lines().next(), Some("5 316"));
    assert!(
        err.contains("warning[W0003]: `while` loops are deprecated"),
        "{err}"
    );
}

#[test]
fn return_leaves_the_probe() {
    if !kernel_available() {
        return;
    }
    let (out, _) = begin(
        r#"BEGIN { printf("one\n"); if (1) { return; } printf("two\n"); } END { printf("end\n"); } BEGIN { exit(); }"#,
        &[],
    );
    assert_eq!(out, "one\nend\n\n\n");
}

#[test]
fn block_scopes_and_the_old_probe_wide_form() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line(
            r#"BEGIN { let $x; if (1) { $x = 4; } { let $y = 2; $x += $y; } if (0) { let $z = 1; } else { let $z = 9; $x += $z; } printf("%d\n", $x); exit(); }"#
        ),
        "15"
    );
    let (out, err) = begin(
        r#"BEGIN { if (1) { $a = 42; } printf("%d\n", $a); exit(); }"#,
        &[],
    );
    assert_eq!(out.lines().next(), Some("42"));
    assert!(err.contains("warning[W0002]"), "{err}");
    assert!(err.contains("let $a;"), "{err}");
}

#[test]
fn block_expressions_yield_their_last_value() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line(
            r#"BEGIN { $v = { let $t = 6; $t * 7 }; _ = 5; printf("%d %s\n", $v, { "s" }); exit(); }"#
        ),
        "42 s"
    );
}

#[test]
fn positional_parameters() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line_with(
            r#"BEGIN { printf("%d %s %d %s|%s\n", $1 * 2, $2, $#, str($1), str($3)); exit(); }"#,
            &["21", "word", ""]
        ),
        "42 word 3 21|"
    );
    let (out, err) = begin(r#"BEGIN { printf("%d\n", $4 + 1); exit(); }"#, &["1"]);
    assert_eq!(out.lines().next(), Some("1"));
    assert!(err.contains("positional parameter $4 is not set"), "{err}");
}

#[test]
fn positional_parameters_in_attach_points() {
    if !kernel_available() {
        return;
    }
    let (out, _) = begin(
        r#"interval:ms:$1 { @n++; if (@n == 2) { printf("ticks %d\n", @n); exit(); } }"#,
        &["20"],
    );
    assert_eq!(out.lines().next(), Some("ticks 2"));
}

#[test]
fn getopt_reads_named_parameters() {
    if !kernel_available() {
        return;
    }
    let script = r#"BEGIN { printf("%d %s %d %d\n", getopt("n", 3), getopt("who", "nobody"), getopt("flag"), getopt("off", true)); exit(); }"#;
    assert_eq!(line(script), "3 nobody 0 1");
    assert_eq!(
        line_with(
            script,
            &["--", "--n=40", "--who=me", "--flag", "--off=false"]
        ),
        "40 me 1 0"
    );
}

#[test]
fn config_block_controls_map_printing_and_string_size() {
    if !kernel_available() {
        return;
    }
    let (out, _) = begin(
        r#"config = { print_maps_on_exit = false; max_strlen = 4 } BEGIN { @a = 1; printf("%s\n", str($1)); exit(); }"#,
        &["abcdefgh"],
    );
    // str($1) is a constant, not a read: max_strlen bounds str() reads only.
    assert_eq!(out, "abcdefgh\n");
    let (out, _) = begin(r#"BEGIN { @a = 1; exit(); }"#, &[]);
    assert_eq!(out, "\n\n@a: 1\n");
}

#[test]
fn declared_lru_map_holds_its_entries() {
    if !kernel_available() {
        return;
    }
    let (out, _) = begin(
        r#"let @m = lruhash(2); BEGIN { @m[1] = 10; @m[2] = 20; printf("%d %d\n", @m[1], @m[2]); exit(); }"#,
        &[],
    );
    assert_eq!(out.lines().next(), Some("10 20"));
}

#[test]
fn tuples_as_values_keys_and_map_values() {
    if !kernel_available() {
        return;
    }
    let (out, _) = begin(
        r#"BEGIN { $t = (1, "ab", -3); printf("%d %s %d %s\n", $t.0, $t.1, $t.2, $t); @m[(1, "x")] = (5, "five"); @m[2, "y"] = (6, "six"); $k = (2, "y"); printf("%d %s %d\n", @m[1, "x"].0, @m[$k].1, sizeof($t)); @n = ((1, 2), "n"); exit(); }"#,
        &[],
    );
    assert_eq!(
        out,
        "1 ab -3 (1, ab, -3)\n5 six 24\n\n\n@m[1, x]: (5, five)\n@m[2, y]: (6, six)\n@n: ((1, 2), n)\n"
    );
}

#[test]
fn for_loops_over_maps() {
    if !kernel_available() {
        return;
    }
    let (out, _) = begin(
        r#"BEGIN { @m[1] = 10; @m[2] = 20; @m[3] = 30; $sum = 0; for ($kv : @m) { $sum += $kv.1; } @t[7, "s"] = "v"; for ($kv : @t) { printf("%d %s %s\n", $kv.0.0, $kv.0.1, $kv.1); } $n = 0; for ($kv : @m) { $n++; if ($n == 2) { break; } } printf("%d %d\n", $sum, $n); exit(); }"#,
        &[],
    );
    assert_eq!(out.lines().take(2).collect::<Vec<_>>(), ["7 s v", "60 2"]);
    // `return` inside the loop leaves the probe.
    let (out, _) = begin(
        r#"BEGIN { @m[1] = 1; for ($kv : @m) { if ($kv.1 == 1) { return; } } printf("not reached\n"); } BEGIN { printf("next\n"); exit(); }"#,
        &[],
    );
    assert_eq!(out.lines().next(), Some("next"));
}

#[test]
fn range_loops_with_runtime_bounds() {
    if !kernel_available() {
        return;
    }
    // Bounds read from a map at run time: the loop runs through bpf_loop,
    // so the verifier does not need to know them.
    assert_eq!(
        line(
            r#"BEGIN { @n = 1000; $c = 0; for ($i : 0..@n) { $c += 2; } @m[1] = 4; $s = 0; for ($kv : @m) { for ($j : 0..$kv.1) { $s += $j; } } for ($k : -3..-1) { $s += $k; } printf("%d %d\n", $c, $s); exit(); }"#
        ),
        // 2 * 1000; 0+1+2+3 = 6, then -3 + -2 = -5.
        "2000 1"
    );
}

#[test]
fn macros_expand_hygienically() {
    if !kernel_available() {
        return;
    }
    let (out, _) = begin(
        r#"macro add_one(x) { x + 1 } macro bump($v, @m) { $v += 1; @m = @m + $v; } macro answer { 42 } macro twice(e) { $t = e; $t * 2 } BEGIN { $a = 5; bump($a, @hits); $t = 100; printf("%d %d %d %d %d\n", add_one(41), $a, answer, twice(add_one(1)), $t); exit(); }"#,
        &[],
    );
    assert_eq!(out, "42 6 42 4 100\n\n\n@hits: 6\n");
}

#[test]
fn environment_overrides_the_config_block() {
    if !kernel_available() {
        return;
    }
    // sizeof(str(..)) is the string capacity, max_strlen.
    let script =
        r#"config = { max_strlen = 16 } BEGIN { printf("%d\n", sizeof(str(0))); exit(); }"#;
    assert_eq!(line(script), "16");
    let o = std::process::Command::new(ferrotrace_tests::harness::binary())
        .args(["-q", "-e", script])
        .env("BPFTRACE_MAX_STRLEN", "32")
        .output();
    let o = match o {
        Ok(o) => o,
        Err(e) => panic!("cannot run ferrotrace: {e}"),
    };
    assert_eq!(String::from_utf8_lossy(&o.stdout), "32\n\n\n");
}

#[test]
fn tuple_equality_compares_every_element() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line(
            r#"BEGIN { $a = (1, "x"); printf("%d %d %d\n", $a == (1, "x"), $a != (1, "y"), (1, (2, 3)) == (1, (2, 4))); exit(); }"#
        ),
        "1 1 0"
    );
}

#[test]
fn typeof_gives_an_expressions_type() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line(
            r#"BEGIN { let $a: uint8 = 200; let $b: typeof($a) = (typeof($a))300; $c = (typeof($a))1000; $s = "abc"; let $t: typeof($s) = "defgh"; printf("%d %d %d %s %d %d\n", $b, $c, sizeof($b), $t, sizeof(typeof(uint16)), sizeof(typeof($s))); exit(); }"#
        ),
        // 300 and 1000 wrap to uint8 when cast (a bare 300 does not fit: E0450); "abc" is a string[4], so "defgh" is cut.
        "44 232 1 def 2 4"
    );
}

#[test]
fn for_loops_over_aggregations_see_totals() {
    if !kernel_available() {
        return;
    }
    let (out, _) = begin(
        r#"BEGIN { @c[1] = count(); @c[1] = count(); @s["a"] = sum(-5); @s["a"] = sum(2); for ($kv : @c) { printf("%d:%d\n", $kv.0, $kv.1); } for ($kv : @s) { printf("%s:%d\n", $kv.0, $kv.1); } exit(); }"#,
        &[],
    );
    assert_eq!(out.lines().take(2).collect::<Vec<_>>(), ["1:2", "a:-3"]);
}

#[test]
fn string_variables_hold_their_longest_value() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        line(
            r#"BEGIN { $s = "ab"; $s = "abcdef"; let $t = "x"; if (1) { $t = "longer"; } let $u: typeof("abc") = "truncated"; printf("%s %s %s\n", $s, $t, $u); exit(); }"#
        ),
        // An explicitly typed variable keeps its size: string[4] holds "tru".
        "abcdef longer tru"
    );
}

#[test]
fn strings_index_to_signed_bytes() {
    if !kernel_available() {
        return;
    }
    // Constant and variable indices; a byte above 0x7f is a negative int8;
    // a variable index past the buffer reads 0.
    assert_eq!(
        line(
            r#"BEGIN { $s = "h\xffllo"; $i = 4; $far = 100; printf("%c %d %d %c %d %d\n", $s[0], $s[0], $s[1], $s[$i], $s[$far], comm[0] == 102); exit(); }"#
        ),
        "h 104 -1 o 0 1"
    );
}

#[test]
fn nsecs_reads_each_clock() {
    if !kernel_available() {
        return;
    }
    // Boot time counts suspended time, monotonic does not (so it is never
    // ahead by more than the instants between the reads); TAI is wall time
    // (past 2023 here) and sw_tai reads it too.
    assert_eq!(
        line(
            "BEGIN { $b = nsecs(boot); $m = nsecs(monotonic); $t = nsecs(tai); $s = nsecs(sw_tai); \
             printf(\"%d %d %d %d\\n\", $m > 0, $m < $b + 1000000000, $t / 1000000000 > 1700000000, $s >= $t); exit(); }"
        ),
        "1 1 1 1"
    );
}
