//! Folded stacks (`-f folded`): every map keyed by a `kstack` or `ustack`
//! written as the lines Brendan Gregg's stackcollapse scripts produce,
//! `root;caller;callee COUNT`, root first, one line per distinct stack,
//! sorted, ready for `flamegraph.pl`, inferno or speedscope. Other key
//! elements (e.g. `comm`) become frames below the stack's root; a key with
//! both stacks puts the kernel frames on top of the user frames, as perf
//! does. Frames are function names without offsets, so samples anywhere
//! in one function merge.

use std::collections::BTreeMap;
use std::io::Write;

use ferrotrace_compiler::manifest::StackKind;

use super::decode::MapSnapshot;
use super::value::Value;

/// Whether a map's keys contain a stack.
pub fn has_stack_key(map: &MapSnapshot) -> bool {
    map.entries
        .first()
        .is_some_and(|(key, _)| key.iter().any(|v| matches!(v, Value::Stack(_))))
}

/// The folded lines of every stack-keyed map, merged and sorted.
pub fn folded_lines(maps: &[MapSnapshot]) -> Vec<String> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for map in maps.iter().filter(|m| has_stack_key(m)) {
        for (key, datum) in &map.entries {
            let count = match datum.value() {
                Value::UInt(n) => n,
                Value::Int(n) => u64::try_from(n).unwrap_or(0),
                _ => continue,
            };
            if count == 0 {
                continue;
            }
            let frames = fold_key(key);
            if frames.is_empty() {
                continue;
            }
            *counts.entry(frames.join(";")).or_insert(0) += count;
        }
    }
    counts
        .into_iter()
        .map(|(stack, n)| format!("{stack} {n}"))
        .collect()
}

/// Writes the folded lines, one per line.
pub fn write_folded(out: &mut dyn Write, maps: &[MapSnapshot]) -> std::io::Result<()> {
    for line in folded_lines(maps) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A key's frames, root first.
fn fold_key(key: &[Value]) -> Vec<String> {
    let mut prefix = Vec::new();
    let mut user = Vec::new();
    let mut kernel = Vec::new();
    for v in key {
        match v {
            Value::Stack(s) => {
                let frames = s.frames.iter().rev().map(|f| clean(&f.function()));
                match s.kind {
                    StackKind::User => user.extend(frames),
                    StackKind::Kernel => kernel.extend(frames),
                }
            }
            other => prefix.push(clean(&other.to_string())),
        }
    }
    prefix.extend(user);
    prefix.extend(kernel);
    prefix
}

/// Frame names may not contain the separators of the folded format.
fn clean(name: &str) -> String {
    name.replace(';', ":").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::decode::MapDatum;
    use crate::output::stack::{Frame, Stack, Symbol};
    use ferrotrace_compiler::manifest::StackMode;

    fn stack(kind: StackKind, names: &[&str]) -> Value {
        let frames = names
            .iter()
            .enumerate()
            .map(|(i, n)| Frame {
                addr: 0x1000 + i as u64,
                symbol: Some(Symbol {
                    name: (*n).into(),
                    offset: i as u64,
                    module: None,
                }),
            })
            .collect();
        Value::Stack(Box::new(Stack {
            kind,
            mode: StackMode::Bpftrace,
            limit: 127,
            id: 1,
            pid: 0,
            frames,
        }))
    }

    #[test]
    fn root_first_merged_and_sorted() {
        let m = MapSnapshot {
            name: "@".into(),
            entries: vec![
                (
                    vec![stack(StackKind::Kernel, &["leaf", "mid", "root"])],
                    MapDatum::Count(3),
                ),
                (
                    vec![stack(StackKind::Kernel, &["other", "root"])],
                    MapDatum::Count(1),
                ),
                // Same functions at other offsets merge.
                (
                    vec![stack(StackKind::Kernel, &["leaf", "mid", "root"])],
                    MapDatum::Count(2),
                ),
            ],
        };
        assert_eq!(folded_lines(&[m]), ["root;mid;leaf 5", "root;other 1"]);
    }

    #[test]
    fn other_keys_and_user_below_kernel() {
        let m = MapSnapshot {
            name: "@x".into(),
            entries: vec![(
                vec![
                    stack(StackKind::Kernel, &["k1", "k0"]),
                    Value::Str("bash".into()),
                    stack(StackKind::User, &["u1", "main"]),
                ],
                MapDatum::Count(4),
            )],
        };
        assert_eq!(folded_lines(&[m]), ["bash;main;u1;k0;k1 4"]);
    }

    #[test]
    fn maps_without_stacks_are_skipped() {
        let m = MapSnapshot {
            name: "@n".into(),
            entries: vec![(vec![Value::Str("a;b".into())], MapDatum::Count(1))],
        };
        assert!(folded_lines(&[m]).is_empty());
    }
}
