//! The generated documentation is current, and the man page and shell
//! completions cover every flag.
//!
//! `docs/hooks.md` is generated whole from the stdlib catalogue;
//! `docs/language.md`, `docs/cli.md` and `docs/migrating-from-bpftrace.md`
//! have generated sections between
//! `<!-- generated:NAME -->` markers. When the catalogue or the CLI changes,
//! these tests fail and say how to regenerate:
//! `UPDATE_DOCS=1 cargo test -p ferrotrace-tests --test docs`.

use clap::CommandFactory;
use ferrotrace_runtime::cli::{Cli, Generate};
use ferrotrace_runtime::generate::{generate, options_markdown};
use ferrotrace_stdlib::docgen;
use std::path::PathBuf;

fn doc_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name)
}

/// Compares a committed document with what it should be; rewrites it
/// instead when `UPDATE_DOCS=1`.
fn check_current(name: &str, expected: impl FnOnce(&str) -> Result<String, String>) {
    let path = doc_path(name);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let expected = expected(&committed).unwrap_or_else(|e| panic!("docs/{name}: {e}"));
    if std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1") {
        if let Err(e) = std::fs::write(&path, &expected) {
            panic!("cannot write {}: {e}", path.display());
        }
        return;
    }
    assert!(
        committed == expected,
        "docs/{name} is out of date with the catalogue or the CLI; regenerate it with\n    {}\nand commit the result.",
        docgen::REGENERATE
    );
}

#[test]
fn hooks_guide_is_generated_from_the_catalogue() {
    check_current("hooks.md", |_| Ok(docgen::hooks_markdown()));
}

#[test]
fn language_reference_sections_are_generated_from_the_catalogue() {
    check_current("language.md", |doc| {
        docgen::splice(doc, &docgen::language_sections())
    });
}

#[test]
fn migration_guide_lists_what_the_catalogue_lacks() {
    check_current("migrating-from-bpftrace.md", |doc| {
        docgen::splice(doc, &docgen::migrating_sections())
    });
}

#[test]
fn cli_options_table_is_generated_from_the_cli() {
    check_current("cli.md", |doc| {
        docgen::splice(doc, &[("options", options_markdown())])
    });
}

fn generated(what: Generate) -> String {
    let mut out = Vec::new();
    if let Err(e) = generate(what, &mut out) {
        panic!("generating {what:?} failed: {e}");
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every visible flag, as `--long` or `-s`.
fn visible_flags() -> Vec<(Option<char>, Option<String>)> {
    Cli::command()
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
        .map(|a| (a.get_short(), a.get_long().map(str::to_string)))
        .collect()
}

#[test]
fn man_page_mentions_every_flag() {
    // roff escapes hyphens as `\-`.
    let man = generated(Generate::Man).replace("\\-", "-");
    assert!(man.contains(".TH FERROTRACE 8"), "{man}");
    assert!(man.contains(".SH EXAMPLES"), "{man}");
    let flags = visible_flags();
    assert!(flags.len() >= 6, "{flags:?}");
    for (short, long) in flags {
        if let Some(l) = long {
            assert!(man.contains(&format!("--{l}")), "man page lacks --{l}");
        }
        if let Some(s) = short {
            assert!(
                man.contains(&format!("\\fB-{s}\\fR")),
                "man page lacks -{s}"
            );
        }
    }
}

#[test]
fn completions_mention_every_flag() {
    for shell in [Generate::Bash, Generate::Zsh, Generate::Fish] {
        let text = generated(shell);
        assert!(text.contains("ferrotrace"), "{shell:?}: {text}");
        for (short, long) in visible_flags() {
            let (l, s) = match shell {
                Generate::Fish => (
                    long.map(|l| format!("-l {l}")),
                    short.map(|s| format!("-s {s}")),
                ),
                _ => (
                    long.map(|l| format!("--{l}")),
                    short.map(|s| format!("-{s}")),
                ),
            };
            for needle in l.into_iter().chain(s) {
                assert!(
                    text.contains(&needle),
                    "{shell:?} completion lacks {needle}"
                );
            }
        }
    }
}

#[test]
fn binary_generates_the_man_page() {
    let out = ferrotrace_tests::harness::run(&["--generate", "man"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        generated(Generate::Man)
    );
}

/// The program of a guide one-liner: the text after `-e` between its quotes.
fn one_liner_program(command: &str) -> Option<String> {
    let start = command.find("-e ")? + 3;
    let quote = command[start..].chars().next()?;
    let rest = &command[start + 1..];
    let end = rest.rfind(quote)?;
    Some(rest[..end].replace("\\\"", "\""))
}

#[test]
fn guide_one_liners_parse_and_those_of_implemented_kinds_compile() {
    use ferrotrace_compiler::diagnostics::has_errors;
    use ferrotrace_compiler::{syntax, SourceFile};
    use ferrotrace_tests::stages::{compile, rendered};
    let mut compiled = 0;
    for guide in ferrotrace_stdlib::hooks::HOOK_GUIDES {
        let Some(program) = one_liner_program(guide.try_it) else {
            panic!("{:?}: no `-e` program in {}", guide.kind, guide.try_it);
        };
        let source = SourceFile::new("stdin", program);
        let (_, diags) = syntax::parse(&source);
        assert!(
            !has_errors(&diags),
            "the {:?} one-liner does not parse:\n{}",
            guide.kind,
            rendered(&source, &diags)
        );
        if guide.kind.info().implemented {
            if let Err(e) = compile(&source) {
                panic!("the {:?} one-liner does not compile:\n{e}", guide.kind);
            }
            compiled += 1;
        }
    }
    assert!(compiled >= 4, "only {compiled} one-liners compiled");
}
