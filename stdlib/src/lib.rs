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
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over bytes; names in the language are ASCII.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos() {
        assert_eq!(nearest("conut", ["count", "sum", "printf"]), Some("count"));
        assert_eq!(nearest("zzzzzz", ["count", "sum"]), None);
    }
}
