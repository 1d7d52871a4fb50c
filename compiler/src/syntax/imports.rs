//! Brings a script's other files in before parsing: its preprocessor lines
//! first (`preprocess`), then `import "file.bt";` (stable in bpftrace 0.26): every
//! imported script is appended to the `SourceFile` as a segment of its own,
//! found relative to the file that imports it and brought in once however
//! often it is named; imports inside imported files are followed too. The
//! compiler reads no files itself: the caller hands in the reader. Only
//! bpftrace scripts (`.bt`) can be imported; C headers, `.bpf.c` files and
//! directories, which bpftrace compiles with clang, are refused (E0343).

use super::ast::Item;
use super::parser::segment_items;
use super::preprocess::preprocess_last;
use crate::diagnostics::Diagnostic;
use crate::source::{SourceFile, Span};
use std::collections::HashSet;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Reads an imported file's text.
pub type Reader<'a> = &'a dyn Fn(&Path) -> io::Result<String>;

/// Appends every file `source` imports (transitively) to it. Returns the
/// diagnostics of imports that cannot be brought in.
pub fn resolve(source: &mut SourceFile, read: Reader<'_>) -> Vec<Diagnostic> {
    // Each file's preprocessor lines are handled as it comes in, while it
    // is the last segment, before its imports are looked for.
    let mut diags = preprocess_last(source);
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut next = 0;
    while next < source.segments().len() {
        let importer = source
            .segments()
            .get(next)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        seen.insert(normalize(Path::new(&importer)));
        for item in segment_items(source, next) {
            let Item::Import { path, span } = item else {
                continue;
            };
            let target = normalize(&directory_of(&importer).join(&path));
            if !seen.insert(target.clone()) {
                continue;
            }
            if target.extension().and_then(|e| e.to_str()) != Some("bt") {
                diags.push(
                    Diagnostic::error(
                        "E0343",
                        format!("cannot import `{path}`: only bpftrace scripts (`.bt`) can be imported"),
                        span,
                    )
                    .label("not a `.bt` file")
                    .help("C headers and BPF C need clang, which ferrotrace does not use; kernel types come from BTF, so `#include` lines are not needed either"),
                );
                continue;
            }
            match read(&target) {
                Ok(text) => {
                    source.append(target.display().to_string(), &text);
                    diags.extend(preprocess_last(source));
                }
                Err(e) => diags.push(unreadable(&path, &target, &e, span)),
            }
        }
        next += 1;
    }
    diags
}

fn unreadable(path: &str, target: &Path, e: &io::Error, span: Span) -> Diagnostic {
    let why = match e.kind() {
        io::ErrorKind::NotFound => "there is no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission to read it is denied".to_string(),
        _ => format!("it cannot be read ({})", e.kind()),
    };
    Diagnostic::error("E0342", format!("cannot import `{path}`: {why}"), span)
        .label(format!("looked for {}", target.display()))
        .help("an import is found relative to the directory of the file that imports it")
}

/// The directory imports of the file `name` are relative to: its own, or
/// the current directory for `-e` programs and standard input.
fn directory_of(name: &str) -> PathBuf {
    match Path::new(name).parent() {
        Some(dir) if name != "stdin" => dir.to_path_buf(),
        _ => PathBuf::new(),
    }
}

/// `a/./b/../c` as `a/c`, so one file named two ways is imported once.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_appended_once_relative_to_the_importer() {
        let mut src = SourceFile::new(
            "dir/main.bt",
            "import \"lib/a.bt\";\nimport \"./lib/a.bt\";\nBEGIN { m() }",
        );
        let read = |p: &Path| -> io::Result<String> {
            match p.to_str() {
                Some("dir/lib/a.bt") => Ok("import \"../b.bt\";\nmacro m() { 1 }".into()),
                Some("dir/b.bt") => Ok("END {}".into()),
                _ => Err(io::Error::from(io::ErrorKind::NotFound)),
            }
        };
        let diags = resolve(&mut src, &read);
        assert!(diags.is_empty(), "{diags:?}");
        let names: Vec<&str> = src.segments().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["dir/main.bt", "dir/lib/a.bt", "dir/b.bt"]);
    }

    #[test]
    fn missing_and_non_script_imports_are_errors() {
        let mut src = SourceFile::new("m.bt", "import \"nope.bt\";\nimport \"x.h\";");
        let read = |_: &Path| -> io::Result<String> { Err(io::ErrorKind::NotFound.into()) };
        let codes: Vec<&str> = resolve(&mut src, &read).iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0342", "E0343"]);
    }
}
