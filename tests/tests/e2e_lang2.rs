//! The rest of the language, run by the real binary against the real
//! kernel with exact output: records (text and JSON, as map values and
//! keys), `import`, the C preprocessor lines, integer widths of typed
//! scratch variables, and strings that are not UTF-8 printed byte for
//! byte. Needs root and BPF (see `harness`).

use ferrotrace_tests::harness::{kernel_available, run, spawn, Session};
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

/// Runs ferrotrace quietly with `args` and returns its standard output as
/// bytes; it must succeed.
fn stdout(args: &[&str]) -> Vec<u8> {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

fn text(args: &[&str]) -> String {
    String::from_utf8_lossy(&stdout(args)).into_owned()
}

/// A fresh directory for test `tag` and the bytes of the path of `file`
/// inside it (a file name that need not be UTF-8).
fn raw_path(tag: &str, file: &[u8]) -> (String, Vec<u8>) {
    let dir = format!("/tmp/ferrotrace-e2e-lang2-{tag}-{}", std::process::id());
    let _ = std::fs::create_dir_all(&dir);
    let mut name = dir.clone().into_bytes();
    name.push(b'/');
    name.extend_from_slice(file);
    (dir, name)
}

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
        .display()
        .to_string()
}

const RECORDS: &str = r#"BEGIN {
  $r = (name = "x", size = 2);
  printf("%s %d|%s|%d\n", $r.name, $r.size, $r, $r.1);
  print($r);
  if ($r == (name = "x", size = 2)) { printf("equal\n"); }
  @m[1] = (name = "abc", size = 7);
  @k[(name = "k", size = 3)] = 5;
  @n = (a = 1, b = (c = "z", d = -1));
  exit();
}"#;

#[test]
fn records_print_like_bpftrace() {
    if !kernel_available() {
        return;
    }
    assert_eq!(
        text(&["-q", "-e", RECORDS]),
        "x 2|(name = x, size = 2)|2\n(name = x, size = 2)\nequal\n\n\n\
         @k[name = k, size = 3]: 5\n\
         @m[1]: (name = abc, size = 7)\n\
         @n: (a = 1, b = (c = z, d = -1))\n"
    );
}

#[test]
fn records_are_json_objects() {
    if !kernel_available() {
        return;
    }
    let out = text(&["-q", "-f", "json", "-e", RECORDS]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"type": "printf", "data": "x 2|(name = x, size = 2)|2\n"}"#,
            r#"{"type": "value", "data": {"name": "x", "size": 2}}"#,
            r#"{"type": "printf", "data": "equal\n"}"#,
            r#"{"type": "map", "data": {"@k": {"name=k,size=3": 5}}}"#,
            r#"{"type": "map", "data": {"@m": {"1": {"name": "abc", "size": 7}}}}"#,
            r#"{"type": "map", "data": {"@n": {"a": 1, "b": {"c": "z", "d": -1}}}}"#,
        ]
    );
}

#[test]
fn record_keys_work_in_loops_and_map_functions() {
    if !kernel_available() {
        return;
    }
    let script = r#"BEGIN {
  @k[(name = "a", n = 1)] = 5;
  @k[(name = "b", n = 2)] = 6;
  for ($kv : @k) { printf("%s %d %d\n", $kv.0.name, $kv.0.n, $kv.1); }
  if (has_key(@k, (name = "a", n = 1))) { printf("has\n"); }
  delete(@k, (name = "b", n = 2));
  exit();
}"#;
    let out = text(&["-q", "-e", script]);
    // Hash order decides the loop's order.
    let mut lines: Vec<&str> = out.lines().take(2).collect();
    lines.sort_unstable();
    assert_eq!(lines, ["a 1 5", "b 2 6"]);
    assert!(out.ends_with("has\n\n\n@k[name = a, n = 1]: 5\n"), "{out}");
}

#[test]
fn imported_macros_maps_and_probes_run() {
    if !kernel_available() {
        return;
    }
    // import_macros.bt imports ../imports/common.bt (a macro, a map
    // declaration, an END probe), which imports more.bt.
    let script = fixture("ok/import_macros.bt");
    let s = Session::start(&[&script]);
    s.signal(libc::SIGINT);
    let (code, out, err) = s.finish();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "end of common\n\n\n@seen[1]: 25\n");
}

#[test]
fn import_errors_name_the_imported_file() {
    let script = fixture("err/pre_import_errors.bt");
    let o = run(&["--dry-run", &script]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error[E0342]: cannot import `../imports/missing.bt`: there is no such file"),
        "{err}"
    );
    assert!(err.contains("error[E0343]"), "{err}");
    // A type error inside an imported macro is shown in its own file.
    let broken = fixture("imports/broken.bt");
    let o = run(&[
        "--dry-run",
        "-e",
        &format!("import \"{broken}\";\nBEGIN {{ $v = 1; @x = bad($v); }}"),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{broken}:3:3")), "{err}");
    assert!(err.contains("3 │   $x + \"text\""), "{err}");
}

#[test]
fn preprocessor_macros_expand() {
    if !kernel_available() {
        return;
    }
    let script = r#"#include <linux/sched.h>
#define LIMIT 3
#define ADD(a, b) ((a) + (b))
#ifdef BPFTRACE_HAVE_BTF
#define HAVE 1
#else
#define HAVE 0
#endif
#ifndef LIMIT
this line is dropped
#elif LIMIT > 2 && defined(ADD)
#define BIG 1
#endif
BEGIN { printf("%d %d %d %d %s\n", LIMIT, ADD(LIMIT, 10), HAVE, BIG, "LIMIT"); exit(); }
"#;
    assert_eq!(text(&["-q", "-e", script]), "3 13 1 1 LIMIT\n\n\n");
}

#[test]
fn preprocessor_errors_point_at_the_macro_use() {
    let o = run(&[
        "--dry-run",
        "-e",
        "#define ADD(a, b) ((a) + (b))\nBEGIN {\n  @x = ADD(\"a\", 1);\n}\n",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("stdin:3:8"), "{err}");
    assert!(err.contains("3 │   @x = ADD(\"a\", 1);"), "{err}");
}

#[test]
fn typed_integers_wrap_at_their_width() {
    if !kernel_available() {
        return;
    }
    let script = r#"BEGIN {
  let $x: uint8 = 255; $x += 1;
  let $y: int8 = -128; $y--;
  let $z: uint16 = (uint16)70000;
  let $s: int16 = 32767; $s = $s + 1;
  $d = 10; $zero = 0;
  printf("%d %d %d %d %d %d\n", $x, $y, $z, $s, $d / $zero, $d % $zero);
  exit();
}"#;
    // As bpftrace 0.26 has them: division and modulo by zero give 1.
    assert_eq!(text(&["-q", "-e", script]), "0 127 4464 -32768 1 1\n\n\n");
}

#[test]
fn scratch_variables_keep_their_first_width() {
    if !kernel_available() {
        return;
    }
    // 0.26: `$h` is a uint16 and wraps there; `$p` is a uint32 (pid); a
    // literal makes a 64-bit variable, so `$n` holds 2^32.
    let script = r#"BEGIN {
  $h = (uint16)65535; $h += 1;
  $p = pid; $p = $p - $p - 1;
  $s = (int8)100; $s = $s * 2;
  $n = 1; $n = $n << 32;
  printf("%d %u %d %ld %d %d\n", $h, $p, $s, $n, sizeof($h), sizeof($p));
  exit();
}"#;
    assert_eq!(
        text(&["-q", "-e", script]),
        "0 4294967295 -56 4294967296 2 4\n\n\n"
    );
    let o = run(&["--dry-run", "-e", "BEGIN { $x = pid; $x = cgroup; }"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "error[E0348]: integer size mismatch: `$x` is an uint32, the value is an uint64"
        ),
        "{err}"
    );
}

#[test]
fn file_names_that_are_not_utf8_print_byte_for_byte() {
    if !kernel_available() {
        return;
    }
    let (dir, name) = raw_path("open", b"n\xffx");
    let literal = format!("{dir}/n\\xffx");
    let script = format!(
        "tracepoint:syscalls:sys_enter_openat /str(args.filename) == \"{literal}\"/ {{ printf(\"<%s>\\n\", str(args.filename)); @[str(args.filename)] = count(); exit(); }}"
    );
    for (format, expected) in [
        ("text", {
            let mut e = b"<".to_vec();
            e.extend_from_slice(&name);
            e.extend_from_slice(b">\n\n\n@[");
            e.extend_from_slice(&name);
            e.extend_from_slice(b"]: 1\n");
            e
        }),
        ("json", {
            let mut e = br#"{"type": "printf", "data": "<"#.to_vec();
            e.extend_from_slice(&name);
            e.extend_from_slice(br#">\n"}"#);
            e.extend_from_slice(b"\n{\"type\": \"map\", \"data\": {\"@\": {\"");
            e.extend_from_slice(&name);
            e.extend_from_slice(b"\": 1}}}\n");
            e
        }),
    ] {
        let mut child = spawn(&["-q", "-f", format, "-e", &script]);
        let path = std::path::PathBuf::from(std::ffi::OsString::from_vec(name.clone()));
        let _ = std::fs::File::create(&path);
        // Open the file until the probe has seen it and exited.
        let mut status = None;
        for _ in 0..150 {
            let _ = std::fs::File::open(&path);
            if let Ok(Some(s)) = child.try_wait() {
                status = Some(s);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        if status.is_none() {
            let _ = child.kill();
        }
        let mut out = Vec::new();
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_end(&mut out);
        }
        let _ = child.wait();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        assert!(status.is_some_and(|s| s.success()), "{format}: {err}");
        if format == "json" {
            // Keep the printf and map records.
            out = out
                .split_inclusive(|&b| b == b'\n')
                .filter(|l| !l.starts_with(b"{\"type\": \"attached"))
                .flatten()
                .copied()
                .collect();
        }
        assert_eq!(
            out,
            expected,
            "{format}: got {:?}",
            String::from_utf8_lossy(&out)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cat_reads_a_non_utf8_path_and_prints_its_bytes() {
    if !kernel_available() {
        return;
    }
    let (dir, name) = raw_path("cat", b"c\xfe");
    let path = std::path::PathBuf::from(std::ffi::OsString::from_vec(name));
    let _ = std::fs::write(&path, b"a\xffb\n");
    let script = format!("BEGIN {{ cat(\"%s\", \"{dir}/c\\xfe\"); exit(); }}");
    let out = stdout(&["-q", "-e", &script]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out, b"a\xffb\n\n\n");
}
