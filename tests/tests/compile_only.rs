//! Snapshots of good scripts for the probe kinds this machine's kernel
//! cannot attach (kprobe/kretprobe, fentry/fexit and their old names,
//! hardware, iter): each is checked (typed IR and warnings) and compiled
//! (normalized ELF summary), but, unlike `fixtures/ok`, never attached.
//! Their attach-time errors are tested end to end in `e2e_kernel_probes.rs`.

use ferrotrace_tests::elf_summary::summarize;
use ferrotrace_tests::stages::{check_ok, compile, load, rendered};

#[test]
fn compile_only_scripts_check_and_compile() {
    insta::glob!("..", "fixtures/ok_compile_only/*.bt", |path| {
        let source = load(path);
        let (program, diags) = check_ok(&source);
        let artifact = match compile(&source) {
            Ok(a) => a,
            Err(e) => panic!("{} failed to compile:\n{e}", source.name),
        };
        insta::assert_snapshot!(format!(
            "{}\n---\n{}{program}\n---\n{}",
            source.text,
            rendered(&source, &diags),
            summarize(&artifact)
        ));
    });
}
