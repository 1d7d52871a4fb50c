//! One helper per compiler stage, so hundreds of fixture tests call the
//! same code and only these change when an API changes.

use crate::fixture_kernel::FixtureKernel;
use ferrotrace_compiler::diagnostics::{has_errors, render, Diagnostic};
use ferrotrace_compiler::{ir, sema, syntax, SourceFile};

/// Reads a fixture script as a `SourceFile` named by its file name, with
/// its preprocessor lines expanded and the files it imports (from its
/// directory) appended; problems there are for `load_reporting`.
pub fn load(path: &std::path::Path) -> SourceFile {
    load_reporting(path).0
}

/// `load`, with the diagnostics of the preprocessor lines and imports.
pub fn load_reporting(path: &std::path::Path) -> (SourceFile, Vec<Diagnostic>) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut source = SourceFile::new(name, text);
    let dir = path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let read = |p: &std::path::Path| std::fs::read_to_string(dir.join(p));
    let diags = syntax::imports::resolve(&mut source, &read);
    (source, diags)
}

/// A fixture whose first line is this comment is checked as if run with
/// `--unsafe`.
pub const UNSAFE_MARKER: &str = "// ferrotrace --unsafe";

/// Parses and checks against the fixture kernel.
pub fn check(source: &SourceFile) -> (Option<ir::Program>, Vec<Diagnostic>) {
    let (ast, mut diags) = syntax::parse(source);
    if has_errors(&diags) {
        return (None, diags);
    }
    let options = sema::Options {
        allow_unsafe: source.text.starts_with(UNSAFE_MARKER),
        ..sema::Options::default()
    };
    let (program, more) = sema::analyze_with(&ast, &FixtureKernel::new(), &options);
    diags.extend(more);
    let program = (!has_errors(&diags)).then_some(program);
    (program, diags)
}

/// Renders diagnostics without colour, as snapshots store them.
pub fn rendered(source: &SourceFile, diags: &[Diagnostic]) -> String {
    render(diags, source, false)
}

/// Parses, checks and generates code; `Err` holds the rendered reason.
pub fn compile(source: &SourceFile) -> Result<ferrotrace_compiler::Artifact, String> {
    let (program, diags) = check(source);
    let program = program.ok_or_else(|| rendered(source, &diags))?;
    ferrotrace_compiler::codegen::generate(&program, source).map_err(|e| e.to_string())
}

/// Checks a script that must have no errors; panics with the rendered
/// diagnostics otherwise. Returns the program and any warnings.
pub fn check_ok(source: &SourceFile) -> (ir::Program, Vec<Diagnostic>) {
    match check(source) {
        (Some(program), diags) => (program, diags),
        (None, diags) => panic!(
            "{} failed to check:\n{}",
            source.name,
            rendered(source, &diags)
        ),
    }
}

/// The files of fixture directory `fixtures/{dir}`, sorted by path.
pub fn fixture_files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(dir);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    paths
}
