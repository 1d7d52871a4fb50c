//! Parser snapshots: every `fixtures/ok/*.bt` script parses without
//! diagnostics and its AST print is snapshotted; every
//! `fixtures/err/syntax_*.bt` script yields at least one error and its
//! rendered diagnostics are snapshotted.

use ferrotrace_compiler::diagnostics::{has_errors, render};
use ferrotrace_compiler::syntax::{parse, print::print};
use ferrotrace_compiler::SourceFile;
use std::path::Path;

/// A fixture with its preprocessor lines expanded and its imports
/// appended, as the binary reads scripts.
fn load(path: &Path) -> SourceFile {
    assert!(path.exists(), "{}: no such fixture", path.display());
    ferrotrace_tests::stages::load(path)
}

#[test]
fn ok_fixtures_parse() {
    insta::glob!("..", "fixtures/ok/*.bt", |path| {
        let source = load(path);
        let (script, diags) = parse(&source);
        assert!(
            diags.is_empty(),
            "{} has diagnostics:\n{}",
            path.display(),
            render(&diags, &source, false)
        );
        insta::with_settings!({ description => source.text.clone(), omit_expression => true }, {
            insta::assert_snapshot!(print(&script));
        });
    });
}

#[test]
fn syntax_error_fixtures_fail() {
    insta::glob!("..", "fixtures/err/syntax_*.bt", |path| {
        let source = load(path);
        let (_, diags) = parse(&source);
        assert!(
            has_errors(&diags),
            "{} parsed without errors",
            path.display()
        );
        insta::with_settings!({ description => source.text.clone(), omit_expression => true }, {
            insta::assert_snapshot!(render(&diags, &source, false));
        });
    });
}
