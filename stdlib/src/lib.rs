//! The catalogue of the ferrotrace language: every probe kind, builtin
//! variable and function is defined here exactly once, as plain data.
//!
//! The compiler resolves a name to one of these enums and matches on the enum
//! from then on; nothing else in the workspace compares builtin names as
//! strings. The documentation generator and `--explain` read the same entries.
//! This crate depends on nothing else in the workspace and touches no kernel.

pub mod builtins;
pub mod docgen;
pub mod functions;
pub mod hooks;
pub mod perf_events;
pub mod printf;
pub mod probes;
pub mod signals;
pub mod syscalls;

pub use builtins::{Builtin, BuiltinInfo, ValueType};
pub use functions::{Function, FunctionInfo};
pub use hooks::HookGuide;
pub use probes::{ProbeKind, ProbeKindInfo};

/// Returns the candidate closest to `name` by edit distance, if it is close
/// enough to be a plausible typo (used for "did you mean" help lines).
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = name.len().div_ceil(3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        // Ties go to the name with the same first letter, then to the
        // closest length, then to the first listed.
        .min_by_key(|(d, c)| {
            (
                *d,
                name.bytes().next() != c.bytes().next(),
                name.len().abs_diff(c.len()),
            )
        })
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbouring letters as one edit
/// (`tigd` is one edit from `tgid`), as typos usually are.
fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos() {
        assert_eq!(nearest("conut", ["count", "sum", "printf"]), Some("count"));
        assert_eq!(nearest("zzzzzz", ["count", "sum"]), None);
        assert_eq!(nearest("tigd", ["pid", "tgid"]), Some("tgid"));
        assert_eq!(nearest("cmm", ["pid", "cpu", "comm"]), Some("comm"));
    }
}
