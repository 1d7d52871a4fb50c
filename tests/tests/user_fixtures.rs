//! Snapshots of the user-space probe corpus (`tests/fixtures/user/ok/*.bt`):
//! typed IR and ELF summary through the fixture kernel, which serves the
//! gcc-built test programs under stable `/fixtures/user/...` names. The
//! same scripts, pointed at the real built files, must pass the verifier
//! and attach on the real kernel.

use ferrotrace_tests::elf_summary::summarize;
use ferrotrace_tests::harness::{kernel_available, run};
use ferrotrace_tests::stages::{check_ok, compile, load};
use ferrotrace_tests::user_programs::user_programs;

#[test]
fn user_scripts_produce_typed_ir() {
    insta::glob!("..", "fixtures/user/ok/*.bt", |path| {
        let source = load(path);
        let (program, _) = check_ok(&source);
        insta::assert_snapshot!(format!("{}\n---\n{program}", source.text));
    });
}

#[test]
fn user_scripts_compile_to_elf() {
    insta::glob!("..", "fixtures/user/ok/*.bt", |path| {
        let source = load(path);
        let artifact = match compile(&source) {
            Ok(a) => a,
            Err(e) => panic!("{} failed to compile:\n{e}", source.name),
        };
        insta::assert_snapshot!(format!("{}\n---\n{}", source.text, summarize(&artifact)));
    });
}

#[test]
fn user_scripts_pass_the_verifier_and_attach() {
    if !kernel_available() {
        return;
    }
    let p = user_programs();
    let paths = ferrotrace_tests::stages::fixture_files("user/ok");
    assert!(
        paths.len() >= 8,
        "the user corpus is too small: {}",
        paths.len()
    );
    let cmd = format!("{} 1", p.demo_str());
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let text = text
            .replace("/fixtures/user/demo", p.demo_str())
            .replace("/fixtures/user/libdemolib.so", p.lib_str())
            .replace("/fixtures/user/cppdemo", p.cpp_str());
        // `-c demo` lets `libdemolib` resolve through demo's linked libraries.
        let o = run(&["--dry-run", "-q", "-c", &cmd, "-e", &text]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
