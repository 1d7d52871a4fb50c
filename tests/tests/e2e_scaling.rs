//! Large probes: a BEGIN block of thousands of statements compiles (the
//! code spans more than BPF's 16-bit jump range, so it needs CPU v4's long
//! jumps), loads and runs in the real kernel with the exact result. Speed is
//! measured by `scripts/bench -b compile`, never asserted here.

use ferrotrace_compiler::codegen::{generate_with, Options};
use ferrotrace_compiler::SourceFile;
use ferrotrace_tests::harness::{kernel_available, run};
use ferrotrace_tests::stages::check_ok;

/// Statements per script: enough that the probe's code is longer than the
/// 32,767 instructions a v3 jump can cross.
const STATEMENTS: usize = 6_000;

/// A BEGIN block storing `@m[i] = i * 3` for every `i` below `n`, then
/// reading back three of the values.
fn stores(n: usize) -> String {
    let mut s = String::from("config = { max_map_keys = 8192 }\nBEGIN {\n");
    for i in 0..n {
        s.push_str(&format!("  @m[{i}] = {};\n", i * 3));
    }
    let last = n - 1;
    s.push_str(&format!(
        "  printf(\"%d %d %d\\n\", @m[0], @m[{}], @m[{last}]);\n  clear(@m);\n  exit();\n}}\n",
        n / 2
    ));
    s
}

/// A BEGIN block adding 1 to `@n` `n` times, each add a lookup with its own
/// branch for the missing key.
fn increments(n: usize) -> String {
    let mut s = String::from("BEGIN {\n");
    for _ in 0..n {
        s.push_str("  @n = @n + 1;\n");
    }
    s.push_str("  exit();\n}\n");
    s
}

/// The BEGIN program's instruction count in the ELF from the v4 code path.
fn begin_instructions(text: &str) -> usize {
    let source = SourceFile::new("stdin", text);
    let (program, _) = check_ok(&source);
    let options = Options {
        cpu_v4: true,
        ..Options::default()
    };
    let artifact = match generate_with(&program, &source, &options) {
        Ok(a) => a,
        Err(e) => panic!("code generation failed: {e}"),
    };
    let obj = match aya_obj::Object::parse(&artifact.elf) {
        Ok(o) => o,
        Err(e) => panic!("the ELF does not parse: {e}"),
    };
    obj.functions
        .values()
        .map(|f| f.instructions.len())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_probe_beyond_the_v3_jump_range_compiles_for_v4() {
    for text in [stores(STATEMENTS), increments(STATEMENTS)] {
        let n = begin_instructions(&text);
        assert!(
            n > 32_767,
            "expected a program longer than a 16-bit jump reaches, got {n} instructions"
        );
    }
}

/// Runs `script` from a temporary file (thousands of lines are too long
/// for one argument) and returns stdout; the run must succeed.
fn run_script(tag: &str, script: &str) -> String {
    let path = ferrotrace_tests::harness::temp_path(tag);
    if let Err(e) = std::fs::write(&path, script) {
        panic!("cannot write {path}: {e}");
    }
    let o = run(&["-q", &path]);
    let _ = std::fs::remove_file(&path);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{tag} failed:\n{err}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn thousands_of_map_stores_run_in_the_kernel() {
    if !kernel_available() {
        return;
    }
    let out = run_script("scaling_stores.bt", &stores(STATEMENTS));
    // The printf line; the cleared map's exit print follows it.
    assert_eq!(
        out.lines().next(),
        Some(format!("0 {} {}", STATEMENTS / 2 * 3, (STATEMENTS - 1) * 3).as_str())
    );
}

#[test]
fn thousands_of_increments_run_in_the_kernel() {
    if !kernel_available() {
        return;
    }
    let out = run_script("scaling_increments.bt", &increments(STATEMENTS));
    // The exit print's leading blank lines belong to the output format.
    assert_eq!(out.trim_start_matches('\n'), format!("@n: {STATEMENTS}\n"));
}

#[test]
fn a_probe_beyond_the_v3_jump_range_is_an_error_sentence_under_v3() {
    if !kernel_available() {
        return;
    }
    let path = ferrotrace_tests::harness::temp_path("scaling_v3.bt");
    if let Err(e) = std::fs::write(&path, stores(STATEMENTS)) {
        panic!("cannot write {path}: {e}");
    }
    let o = std::process::Command::new(ferrotrace_tests::harness::binary())
        .args(["--dry-run", &path])
        .env("FERROTRACE_BPF_CPU", "v3")
        .output();
    let _ = std::fs::remove_file(&path);
    let o = match o {
        Ok(o) => o,
        Err(e) => panic!("cannot run ferrotrace: {e}"),
    };
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr:\n{err}");
    assert_eq!(
        err,
        "ERROR: LLVM could not generate the BPF program (Branch target out of insn range): \
         a jump spans more than 32,767 instructions, which BPF allows only from CPU v4 \
         (Linux 6.6) on. Split the largest probe's statements across several probes.\n"
    );
}
