//! Diagnostics of the preamble: preprocessor lines and imports
//! (`tests/fixtures/err/pre_*.bt`), rendered with the checker's after them.

use ferrotrace_compiler::diagnostics::has_errors;
use ferrotrace_tests::stages::{check, load_reporting, rendered};

#[test]
fn bad_preambles_produce_diagnostics() {
    insta::glob!("..", "fixtures/err/pre_*.bt", |path| {
        let (source, mut diags) = load_reporting(path);
        let (program, more) = check(&source);
        diags.extend(more);
        assert!(
            has_errors(&diags) || program.is_none(),
            "{} should not check",
            source.name
        );
        insta::assert_snapshot!(format!(
            "{}\n---\n{}",
            source.original(),
            rendered(&source, &diags)
        ));
    });
}
