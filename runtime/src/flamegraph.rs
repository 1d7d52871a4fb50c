//! `--flamegraph FILE.svg`: an interactive SVG flame graph of the maps keyed
//! by stacks, drawn by inferno (the Rust port of Brendan Gregg's
//! flamegraph.pl) from the same folded lines `-f folded` prints.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use crate::output::folded::folded_lines;
use crate::output::MapSnapshot;

/// Writes the flame graph of `maps` to `path`. Returns how many distinct
/// stacks it drew, or a sentence saying what went wrong.
pub fn write_flamegraph(path: &Path, title: &str, maps: &[MapSnapshot]) -> Result<usize, String> {
    let lines = folded_lines(maps);
    if lines.is_empty() {
        return Err(format!(
            "no flame graph was written to {}: no map keyed by kstack or ustack has entries; \
             count stacks with e.g. `@[kstack] = count();`",
            path.display()
        ));
    }
    let file = File::create(path).map_err(|e| {
        format!(
            "could not create the flame graph file {}: {e}; check the directory exists and is writable",
            path.display()
        )
    })?;
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = "samples".to_string();
    inferno::flamegraph::from_lines(
        &mut options,
        lines.iter().map(String::as_str),
        BufWriter::new(file),
    )
    .map_err(|e| format!("could not write the flame graph {}: {e}", path.display()))?;
    Ok(lines.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::output::decode::MapDatum;
    use crate::output::stack::{Frame, Stack, Symbol};
    use crate::output::Value;
    use ferrotrace_compiler::manifest::{StackKind, StackMode};

    #[test]
    fn svg_names_every_frame() {
        let frames = ["inner_fn", "outer_fn"]
            .iter()
            .map(|n| Frame {
                addr: 1,
                symbol: Some(Symbol {
                    name: (*n).into(),
                    offset: 0,
                    module: None,
                }),
            })
            .collect();
        let key = vec![Value::Stack(Box::new(Stack {
            kind: StackKind::Kernel,
            mode: StackMode::Bpftrace,
            limit: 127,
            id: 0,
            pid: 0,
            frames,
        }))];
        let maps = [MapSnapshot {
            name: "@".into(),
            entries: vec![(key, MapDatum::Count(9))],
        }];
        let dir = std::env::temp_dir().join(format!("ft-flame-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.svg");
        assert_eq!(write_flamegraph(&path, "t", &maps).unwrap(), 1);
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<?xml"));
        assert!(
            svg.contains("<title>inner_fn (9 samples, 100.00%)</title>"),
            "{svg}"
        );
        assert!(svg.contains("<title>outer_fn (9 samples, 100.00%)</title>"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
