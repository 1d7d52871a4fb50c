//! Map printing in bpftrace's text format (bpftrace 0.26). A scalar map
//! prints as `@name: VALUE` and a keyed map as one `@name[KEY]: VALUE`
//! line per entry, with multiple keys joined by `, `. Maps whose values are
//! counts, sums or integers are sorted by value (ties by key); all other
//! maps are sorted by key. At exit bpftrace prints two newlines and then
//! every non-empty map, ordered by name.

use std::fmt::Write as _;
use std::io::Write;

use super::decode::{MapDatum, MapSnapshot};
use super::hist::write_rows;
use super::value::Value;

/// Writes the maps as bpftrace prints them at exit, including the leading
/// blank lines.
///
/// The two newlines are written unconditionally, even when no map is
/// printed: bpftrace 0.26's `TextOutput::end()` writes them whenever the
/// main loop ends, before and independently of map printing (0.17 wrote
/// `"\n\n"` unconditionally in `main.cpp` too). A session that prints the
/// maps some other way (for example with `print_maps_on_exit = false`)
/// can call `print_maps`, which writes no separator. Empty maps are
/// skipped, and the rest are ordered by name (byte order, so the
/// anonymous map `@` comes first).
pub fn print_maps_at_exit(out: &mut dyn Write, maps: &[MapSnapshot]) -> std::io::Result<()> {
    out.write_all(b"\n\n")?;
    print_maps(out, maps)
}

/// Writes every non-empty map, ordered by name, without any separator.
pub fn print_maps(out: &mut dyn Write, maps: &[MapSnapshot]) -> std::io::Result<()> {
    let mut ordered: Vec<&MapSnapshot> = maps.iter().filter(|m| !m.is_empty()).collect();
    ordered.sort_by_cached_key(|m| display_name(&m.name));
    for map in ordered {
        print_map(out, map)?;
    }
    Ok(())
}

/// Writes one map, sorted as bpftrace sorts it. An empty map writes
/// nothing.
pub fn print_map(out: &mut dyn Write, map: &MapSnapshot) -> std::io::Result<()> {
    print_map_top(out, map, 0, 1)
}

/// Writes one map as `print(@map, top, div)` does: only the `top` entries
/// that sort last when `top` is not 0, values divided by `div`. Scalar
/// values follow `@name: `; histograms follow `@name:` on lines of their
/// own and end with a blank line.
pub fn print_map_top(
    out: &mut dyn Write,
    map: &MapSnapshot,
    top: u64,
    div: u64,
) -> std::io::Result<()> {
    let name = display_name(&map.name);
    let entries = top_entries(map, top);
    // Every line goes into one buffer, written once.
    let mut text = String::with_capacity(entries.len() * 32);
    for (key, datum) in entries {
        text.push_str(&name);
        if !key.is_empty() {
            text.push('[');
            write_key(&mut text, key, ", ");
            text.push(']');
        }
        let divided;
        let datum = if div > 1 {
            divided = datum.divided(div);
            &divided
        } else {
            datum
        };
        match datum {
            MapDatum::Hist(h) => {
                text.push_str(":\n");
                write_rows(&mut text, &h.rows(div.max(1)));
                text.push('\n');
            }
            MapDatum::Tseries(t) => {
                text.push_str(":\n");
                text.push_str(&t.chart());
                text.push('\n');
            }
            MapDatum::Stats {
                count,
                average,
                total,
            } => {
                let _ = writeln!(
                    text,
                    ": {{ .count = {count}, .average = {average}, .total = {total} }}"
                );
            }
            MapDatum::Count(c) => {
                text.push_str(": ");
                text.push_str(itoa::Buffer::new().format(*c));
                text.push('\n');
            }
            MapDatum::Value(v) | MapDatum::Sum(v) | MapDatum::Avg(v) | MapDatum::MinMax(v) => {
                text.push_str(": ");
                write_value(&mut text, v);
                text.push('\n');
            }
        }
    }
    out.write_all(text.as_bytes())
}

/// Returns the map's name as printed: names are expected to carry their
/// `@`, and one is added when missing.
pub(crate) fn display_name(name: &str) -> String {
    if name.starts_with('@') {
        name.to_string()
    } else {
        format!("@{name}")
    }
}

/// Formats a map key: the key values joined by `, `. A key that is a single
/// tuple prints its elements the same way, without parentheses.
pub fn format_key(key: &[Value]) -> String {
    let mut s = String::new();
    write_key(&mut s, key, ", ");
    s
}

/// A map key as `-f json` names it: the parts joined by bare commas.
pub fn json_key(key: &[Value]) -> String {
    let mut s = String::new();
    write_key(&mut s, key, ",");
    s
}

/// Appends a map key's parts, joined by `sep`.
fn write_key(out: &mut String, key: &[Value], sep: &str) {
    // A record key prints its fields without parentheses; JSON keys have
    // no spaces (`name=x,size=2`), as in bpftrace.
    if let [Value::Record(fields)] = key {
        let eq = if sep == "," { "=" } else { " = " };
        for (i, (name, v)) in fields.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(name);
            out.push_str(eq);
            write_value(out, v);
        }
        return;
    }
    let items = match key {
        [Value::Tuple(items)] => items.as_slice(),
        _ => key,
    };
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        write_value(out, v);
    }
}

/// Appends a value in its `Display` form, integers without going through
/// `core::fmt`.
fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Int(x) => out.push_str(itoa::Buffer::new().format(*x)),
        Value::UInt(x) => out.push_str(itoa::Buffer::new().format(*x)),
        Value::Str(s) => out.push_str(s),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// Returns the map's entries in print order: by value ascending when every
/// datum sorts by value (ties broken by key), otherwise by key.
pub fn sorted_entries(map: &MapSnapshot) -> Vec<(&[Value], &MapDatum)> {
    super::order::sorted_entries(map)
}

/// The entries `print(@map, top)` shows: all of them sorted when `top` is
/// 0, else the `top` that sort last.
pub(crate) fn top_entries(map: &MapSnapshot, top: u64) -> Vec<(&[Value], &MapDatum)> {
    let mut entries = sorted_entries(map);
    let top = usize::try_from(top).unwrap_or(usize::MAX);
    if top > 0 {
        entries.drain(..entries.len().saturating_sub(top));
    }
    entries
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.to_string())
    }

    fn render(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
        let mut buf = Vec::new();
        f(&mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    fn snap(name: &str, entries: Vec<(Vec<Value>, MapDatum)>) -> MapSnapshot {
        MapSnapshot {
            name: name.to_string(),
            entries,
        }
    }

    #[test]
    fn scalar_maps() {
        let m = snap("@x", vec![(vec![], MapDatum::Value(Value::Int(-2)))]);
        assert_eq!(render(|o| print_map(o, &m)), "@x: -2\n");
        let m = snap("@", vec![(vec![], MapDatum::Count(3))]);
        assert_eq!(render(|o| print_map(o, &m)), "@: 3\n");
        let m = snap("@str", vec![(vec![], MapDatum::Value(s("hello")))]);
        assert_eq!(render(|o| print_map(o, &m)), "@str: hello\n");
        let m = snap(
            "@tup",
            vec![(
                vec![],
                MapDatum::Value(Value::Tuple(vec![Value::Int(1), s("two"), Value::Int(3)])),
            )],
        );
        assert_eq!(render(|o| print_map(o, &m)), "@tup: (1, two, 3)\n");
        let m = snap("@b", vec![(vec![], MapDatum::Value(Value::Bool(true)))]);
        assert_eq!(render(|o| print_map(o, &m)), "@b: true\n");
        let m = snap(
            "@p",
            vec![(vec![], MapDatum::Value(Value::Pointer(0x1234)))],
        );
        assert_eq!(render(|o| print_map(o, &m)), "@p: 0x1234\n");
        let m = snap("@s", vec![(vec![], MapDatum::Sum(Value::Int(-7)))]);
        assert_eq!(render(|o| print_map(o, &m)), "@s: -7\n");
    }

    #[test]
    fn keyed_by_string_sorted_by_value() {
        let m = snap(
            "@cnt",
            vec![
                (vec![s("c")], MapDatum::Count(3)),
                (vec![s("a")], MapDatum::Count(2)),
                (vec![s("b")], MapDatum::Count(1)),
                (vec![s("aa")], MapDatum::Count(2)),
            ],
        );
        assert_eq!(
            render(|o| print_map(o, &m)),
            "@cnt[b]: 1\n@cnt[a]: 2\n@cnt[aa]: 2\n@cnt[c]: 3\n"
        );
        let m = snap(
            "@",
            vec![
                (vec![Value::Int(1)], MapDatum::Value(Value::Int(10))),
                (vec![Value::Int(2)], MapDatum::Value(Value::Int(-10))),
            ],
        );
        assert_eq!(render(|o| print_map(o, &m)), "@[2]: -10\n@[1]: 10\n");
    }

    #[test]
    fn two_keys() {
        let m = snap(
            "@multi",
            vec![
                (vec![Value::Int(2), s("a")], MapDatum::Count(1)),
                (vec![Value::Int(1), s("b")], MapDatum::Count(1)),
                (vec![Value::Int(1), s("a")], MapDatum::Count(1)),
                (vec![Value::Int(10), s("a")], MapDatum::Count(1)),
            ],
        );
        assert_eq!(
            render(|o| print_map(o, &m)),
            "@multi[1, a]: 1\n@multi[1, b]: 1\n@multi[2, a]: 1\n@multi[10, a]: 1\n"
        );
        let m = snap(
            "@t",
            vec![(
                vec![Value::Tuple(vec![Value::Int(1), s("a"), Value::Int(3)])],
                MapDatum::Count(1),
            )],
        );
        assert_eq!(render(|o| print_map(o, &m)), "@t[1, a, 3]: 1\n");
    }

    #[test]
    fn strings_as_values_sorted_by_key() {
        let m = snap(
            "@names",
            vec![
                (vec![Value::UInt(30)], MapDatum::Value(s("a"))),
                (vec![Value::UInt(4)], MapDatum::Value(s("z"))),
                (vec![Value::UInt(100)], MapDatum::Value(s("m"))),
            ],
        );
        assert_eq!(
            render(|o| print_map(o, &m)),
            "@names[4]: z\n@names[30]: a\n@names[100]: m\n"
        );
        let m = snap(
            "@k",
            vec![
                (vec![s("b")], MapDatum::Value(Value::Bool(false))),
                (vec![s("B")], MapDatum::Value(Value::Bool(true))),
                (vec![s("a")], MapDatum::Value(Value::Bool(true))),
            ],
        );
        assert_eq!(
            render(|o| print_map(o, &m)),
            "@k[B]: true\n@k[a]: true\n@k[b]: false\n"
        );
    }

    #[test]
    fn exit_layout() {
        let maps = vec![
            snap(
                "@cnt",
                vec![
                    (vec![s("x")], MapDatum::Count(5)),
                    (vec![s("y")], MapDatum::Count(2)),
                ],
            ),
            snap("@empty", vec![]),
            snap("@", vec![(vec![], MapDatum::Value(Value::Int(1)))]),
            snap("@a", vec![(vec![], MapDatum::Sum(Value::UInt(9)))]),
        ];
        assert_eq!(
            render(|o| print_maps_at_exit(o, &maps)),
            "\n\n@: 1\n@a: 9\n@cnt[y]: 2\n@cnt[x]: 5\n"
        );
        assert_eq!(render(|o| print_maps_at_exit(o, &[])), "\n\n");
        assert_eq!(
            render(|o| print_maps_at_exit(o, &[snap("@e", vec![])])),
            "\n\n"
        );
        assert_eq!(
            render(|o| print_maps(o, &maps[..2])),
            "@cnt[y]: 2\n@cnt[x]: 5\n"
        );
    }

    /// Per-CPU raw values: each CPU's copy as little-endian u64 words.
    fn cpus(words: &[&[u64]]) -> Vec<Vec<u8>> {
        words
            .iter()
            .map(|w| w.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect()
    }

    fn int_key() -> Vec<ferrotrace_compiler::manifest::Field> {
        vec![ferrotrace_compiler::manifest::Field {
            offset: 0,
            kind: ferrotrace_compiler::manifest::ValueKind::Int {
                size: 8,
                signed: true,
            },
        }]
    }

    fn decoded(
        name: &str,
        value: ferrotrace_compiler::manifest::MapValueSpec,
        raw: Vec<(u64, Vec<Vec<u8>>)>,
    ) -> MapSnapshot {
        let raw: Vec<(Vec<u8>, Vec<Vec<u8>>)> = raw
            .into_iter()
            .map(|(k, v)| (k.to_le_bytes().to_vec(), v))
            .collect();
        crate::output::decode_map(name, &int_key(), &value, &raw)
    }

    fn top_div(m: &MapSnapshot, top: u64, div: u64) -> String {
        render(|o| print_map_top(o, m, top, div))
    }

    // The cases below are bpftrace 0.26's own map-printing tests
    // (tests/bpftrace.cpp: print_basic_map, print_max_map, print_avg_map,
    // print_hist_map, print_lhist_map), fed through our per-CPU layouts.

    #[test]
    fn top_and_div_of_plain_maps() {
        let m = snap(
            "@m",
            [(1, 5), (3, 10), (5, 4), (7, 11), (9, 7)]
                .into_iter()
                .map(|(k, v)| (vec![Value::Int(k)], MapDatum::Value(Value::Int(v))))
                .collect(),
        );
        assert_eq!(top_div(&m, 3, 0), "@m[9]: 7\n@m[3]: 10\n@m[7]: 11\n");
        assert_eq!(
            top_div(&m, 0, 2),
            "@m[5]: 2\n@m[1]: 2\n@m[9]: 3\n@m[3]: 5\n@m[7]: 5\n"
        );
        assert_eq!(top_div(&m, 3, 2), "@m[9]: 3\n@m[3]: 5\n@m[7]: 5\n");
    }

    #[test]
    fn max_ignores_cpus_without_a_value() {
        use ferrotrace_compiler::manifest::MapValueSpec;
        let m = decoded(
            "@max",
            MapValueSpec::Max { signed: false },
            vec![
                (1, cpus(&[&[5, 1], &[8, 1], &[3, 1]])),
                (2, cpus(&[&[15, 0], &[0, 0], &[12, 1]])),
                (3, cpus(&[&[100, 0], &[80, 0], &[20, 1]])),
            ],
        );
        assert_eq!(top_div(&m, 0, 1), "@max[1]: 8\n@max[2]: 12\n@max[3]: 20\n");
        assert_eq!(top_div(&m, 2, 1), "@max[2]: 12\n@max[3]: 20\n");
        assert_eq!(top_div(&m, 0, 2), "@max[1]: 4\n@max[2]: 6\n@max[3]: 10\n");
        assert_eq!(top_div(&m, 2, 2), "@max[2]: 6\n@max[3]: 10\n");
        let m = decoded(
            "@min",
            MapValueSpec::Min { signed: true },
            vec![(
                1,
                cpus(&[&[(-4i64) as u64, 1], &[(-9i64) as u64, 0], &[2, 1]]),
            )],
        );
        assert_eq!(top_div(&m, 0, 1), "@min[1]: -4\n");
    }

    #[test]
    fn avg_and_stats_combine_cpus() {
        use ferrotrace_compiler::manifest::MapValueSpec;
        // Our layout is (count, total) per CPU.
        let raw = || {
            vec![
                (1, cpus(&[&[1, 5], &[1, 8], &[1, 3]])),
                (2, cpus(&[&[1, 16], &[0, 0], &[1, 12]])),
                (3, cpus(&[&[0, 100], &[0, 80], &[1, 20]])),
            ]
        };
        let m = decoded("@avg", MapValueSpec::Avg { signed: false }, raw());
        assert_eq!(top_div(&m, 0, 1), "@avg[1]: 5\n@avg[2]: 14\n@avg[3]: 200\n");
        assert_eq!(top_div(&m, 2, 1), "@avg[2]: 14\n@avg[3]: 200\n");
        assert_eq!(top_div(&m, 0, 2), "@avg[1]: 2\n@avg[2]: 7\n@avg[3]: 100\n");
        let m = decoded("@st", MapValueSpec::Stats { signed: true }, raw());
        assert_eq!(
            top_div(&m, 1, 1),
            "@st[3]: { .count = 1, .average = 200, .total = 200 }\n"
        );
        let m = decoded(
            "@neg",
            MapValueSpec::Avg { signed: true },
            vec![(1, cpus(&[&[2, (-7i64) as u64]]))],
        );
        assert_eq!(top_div(&m, 0, 1), "@neg[1]: -3\n");
    }

    #[test]
    fn keyed_histograms_sorted_by_total_with_top_and_div() {
        use ferrotrace_compiler::manifest::MapValueSpec;
        let bar = |n: usize| format!("|{:<52}|", "@".repeat(n));
        let raw = || {
            vec![
                (0, cpus(&[&[0, 10, 20, 30, 40, 50, 0]])),
                (1, cpus(&[&[0, 2, 2, 2, 2, 2, 0]])),
            ]
        };
        let lhist = MapValueSpec::Lhist {
            min: 0,
            max: 5 * 1024,
            step: 1024,
        };
        let m = decoded("@l", lhist, raw());
        let rows = |labels: [&str; 5], counts: [u64; 5], widths: [usize; 5]| {
            labels
                .iter()
                .zip(counts.iter().zip(widths))
                .map(|(l, (c, w))| format!("{l:<16}{c:>8} {}\n", bar(w)))
                .collect::<String>()
        };
        let linear = ["[0, 1K)", "[1K, 2K)", "[2K, 3K)", "[3K, 4K)", "[4K, 5K)"];
        let small = rows(linear, [2; 5], [52; 5]);
        let big = rows(linear, [10, 20, 30, 40, 50], [10, 20, 31, 41, 52]);
        assert_eq!(
            top_div(&m, 0, 1),
            format!("@l[1]:\n{small}\n@l[0]:\n{big}\n")
        );
        assert_eq!(top_div(&m, 1, 1), format!("@l[0]:\n{big}\n"));
        // div has no effect on linear histograms.
        assert_eq!(
            top_div(&m, 0, 2),
            format!("@l[1]:\n{small}\n@l[0]:\n{big}\n")
        );
        let m = decoded("@h", MapValueSpec::Hist { bits: 0 }, raw());
        let log2 = ["[0]", "[1]", "[2, 4)", "[4, 8)", "[8, 16)"];
        assert_eq!(
            top_div(&m, 0, 2),
            format!(
                "@h[1]:\n{}\n@h[0]:\n{}\n",
                rows(log2, [1; 5], [52; 5]),
                rows(log2, [5, 10, 15, 20, 25], [10, 20, 31, 41, 52])
            )
        );
    }
}
