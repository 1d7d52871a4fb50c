//! Code-generation snapshots: every good fixture is compiled to a BPF ELF,
//! read back with aya-obj and summarized (programs, instruction counts, map
//! relocations, maps, license, manifest). No raw LLVM text is stored.

use ferrotrace_tests::elf_summary::summarize;
use ferrotrace_tests::stages::{compile, load};

#[test]
fn good_scripts_compile_to_elf() {
    insta::glob!("..", "fixtures/ok/*.bt", |path| {
        let source = load(path);
        let artifact = match compile(&source) {
            Ok(a) => a,
            Err(e) => panic!("{} failed to compile:\n{e}", source.name),
        };
        insta::assert_snapshot!(format!("{}\n---\n{}", source.text, summarize(&artifact)));
    });
}
