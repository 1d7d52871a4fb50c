//! Check-stage snapshots: the typed IR of every good fixture, and the
//! rendered diagnostics of every script with a semantic error (`tests/fixtures/err/check_*.bt`; syntax errors are snapshotted by `parse.rs`).

use ferrotrace_tests::stages::{check, check_ok, load, rendered};

#[test]
fn good_scripts_produce_typed_ir() {
    insta::glob!("..", "fixtures/ok/*.bt", |path| {
        let source = load(path);
        let (program, diags) = check_ok(&source);
        let warnings = rendered(&source, &diags);
        insta::assert_snapshot!(format!("{}\n---\n{warnings}{program}", source.text));
    });
}

#[test]
fn bad_scripts_produce_diagnostics() {
    insta::glob!("..", "fixtures/err/check_*.bt", |path| {
        let source = load(path);
        let (program, diags) = check(&source);
        assert!(program.is_none(), "{} should not check", source.name);
        insta::assert_snapshot!(format!(
            "{}\n---\n{}",
            source.text,
            rendered(&source, &diags)
        ));
    });
}
