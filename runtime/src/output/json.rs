//! bpftrace's JSON output (`-f json`): one object per line, each
//! `{"type": T, "data": D}` with objects spaced as `{"a": 1, "b": 2}` and
//! arrays unspaced as `[1,2]`, exactly as bpftrace 0.26 writes them. A small
//! ordered `Json` tree is serialized by serde_json through a formatter that
//! reproduces that spacing and bpftrace's string escapes. Integers that a
//! double cannot hold exactly are written as strings, as bpftrace does.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::ser::{CharEscape, Formatter};
use std::io;

use super::decode::{MapDatum, MapSnapshot};
use super::hist::Histogram;
use super::text::{display_name, json_key, top_entries};
use super::value::Value;

/// A JSON value whose objects keep their insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            // Integers a double cannot represent exactly become strings.
            Json::Int(v) if (*v as f64) as i64 != *v || *v == i64::MAX => {
                s.serialize_str(&v.to_string())
            }
            Json::Int(v) => s.serialize_i64(*v),
            Json::UInt(v)
                if *v as f64 >= 18_446_744_073_709_551_615.0 || (*v as f64) as u64 != *v =>
            {
                s.serialize_str(&v.to_string())
            }
            Json::UInt(v) => s.serialize_u64(*v),
            Json::Str(v) => s.serialize_str(v),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Json::Object(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// serde_json's compact layout with bpftrace's spacing: `": "` after keys
/// and `", "` between object members; control characters other than
/// `\n`, `\r` and `\t` as `\u00XX`.
struct BpftraceFormatter;

impl Formatter for BpftraceFormatter {
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let s: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::Backspace => b"\\u0008",
            CharEscape::FormFeed => b"\\u000c",
            CharEscape::AsciiControl(c) => {
                return write!(w, "\\u{:04x}", c);
            }
        };
        w.write_all(s)
    }
}

/// The text of one JSON value in bpftrace's layout.
pub fn to_text(j: &Json) -> String {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, BpftraceFormatter);
    // Serializing into memory cannot fail for this tree.
    let _ = j.serialize(&mut ser);
    String::from_utf8_lossy(&buf).into_owned()
}

/// One output line: `{"type": T, "data": D}` and a newline.
pub fn record(kind: &str, data: Json) -> String {
    let mut line = to_text(&Json::Object(vec![
        ("type".into(), Json::Str(kind.into())),
        ("data".into(), data),
    ]));
    line.push('\n');
    line
}

/// `{"type": "attached_probes", "count": N, "data": {"probes": N}}`.
pub fn attached_probes(n: u64) -> String {
    counted("attached_probes", "probes", n)
}

/// `{"type": "lost_events", "count": N, "data": {"events": N}}`.
pub fn lost_events(n: u64) -> String {
    counted("lost_events", "events", n)
}

fn counted(kind: &str, what: &str, n: u64) -> String {
    let mut line = to_text(&Json::Object(vec![
        ("type".into(), Json::Str(kind.into())),
        ("count".into(), Json::UInt(n)),
        (
            "data".into(),
            Json::Object(vec![(what.into(), Json::UInt(n))]),
        ),
    ]));
    line.push('\n');
    line
}

/// A decoded value as JSON: tuples are arrays.
pub fn value(v: &Value) -> Json {
    match v {
        Value::Int(i) => Json::Int(*i),
        Value::UInt(u) | Value::Pointer(u) => Json::UInt(*u),
        Value::Bool(b) => Json::Bool(*b),
        Value::Str(s) => Json::Str(s.clone()),
        Value::Tuple(items) => Json::Array(items.iter().map(value).collect()),
        Value::Record(fields) => Json::Object(
            fields
                .iter()
                .map(|(name, v)| (name.clone(), value(v)))
                .collect(),
        ),
        Value::Stack(s) => Json::Array(s.frame_texts().into_iter().map(Json::Str).collect()),
        Value::Symbol(s) => Json::Str(s.to_string()),
        Value::Buffer(_) => Json::Str(v.to_string()),
        Value::Struct(fields) => Json::Object(
            fields
                .iter()
                .map(|(name, v)| (name.clone(), value(v)))
                .collect(),
        ),
    }
}

/// A histogram as bpftrace's bucket list: closed intervals, the first
/// bucket without `min` when it is the underflow, the last without `max`
/// when it is the overflow.
pub fn histogram(h: &Histogram, div: u64) -> Json {
    Json::Array(
        h.rows(div)
            .iter()
            .map(|r| {
                let mut fields = Vec::new();
                if let Some(l) = &r.lower {
                    fields.push(("min".to_string(), Json::Int(l.value())));
                }
                if let Some(u) = &r.upper {
                    fields.push(("max".to_string(), Json::Int(u.value().wrapping_sub(1))));
                }
                fields.push(("count".to_string(), Json::UInt(r.count)));
                Json::Object(fields)
            })
            .collect(),
    )
}

fn datum(d: &MapDatum, div: u64) -> Json {
    match d {
        MapDatum::Hist(h) => histogram(h, div),
        MapDatum::Tseries(t) => t.json(),
        MapDatum::Stats {
            count,
            average,
            total,
        } => Json::Object(vec![
            ("count".into(), Json::UInt(*count)),
            ("average".into(), value(average)),
            ("total".into(), value(total)),
        ]),
        other => value(&other.value()),
    }
}

/// The record `print(@map, top, div)` or exit writes for one map: type
/// `hist` for histograms, `stats` for `avg`/`stats`, `map` otherwise; a
/// scalar map's data is its value, a keyed map's an object whose keys are
/// the key parts joined by bare commas.
pub fn map(m: &MapSnapshot, top: u64, div: u64) -> String {
    let entries = top_entries(m, top);
    let kind = match entries.first().map(|(_, d)| *d) {
        Some(MapDatum::Hist(_)) => "hist",
        Some(MapDatum::Tseries(_)) => "tseries",
        Some(MapDatum::Avg(_) | MapDatum::Stats { .. }) => "stats",
        _ => "map",
    };
    let scalar = entries.len() == 1 && entries.first().is_some_and(|(k, _)| k.is_empty());
    let data = if scalar {
        entries
            .first()
            .map_or(Json::Null, |(_, d)| datum(&d.divided(div), div))
    } else {
        Json::Object(
            entries
                .iter()
                .map(|(k, d)| (json_key(k), datum(&d.divided(div), div)))
                .collect(),
        )
    };
    record(kind, Json::Object(vec![(display_name(&m.name), data)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::hist::Scale;

    fn snap(name: &str, entries: Vec<(Vec<Value>, MapDatum)>) -> MapSnapshot {
        MapSnapshot {
            name: name.into(),
            entries,
        }
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    #[test]
    fn lifecycle_records() {
        assert_eq!(
            attached_probes(1),
            "{\"type\": \"attached_probes\", \"count\": 1, \"data\": {\"probes\": 1}}\n"
        );
        assert_eq!(
            lost_events(7),
            "{\"type\": \"lost_events\", \"count\": 7, \"data\": {\"events\": 7}}\n"
        );
        assert_eq!(
            record("printf", Json::Str("hi \"x\"\t5\n\u{1}".into())),
            "{\"type\": \"printf\", \"data\": \"hi \\\"x\\\"\\t5\\n\\u0001\"}\n"
        );
        assert_eq!(
            record("value", value(&Value::Tuple(vec![Value::Int(1), s("x")]))),
            "{\"type\": \"value\", \"data\": [1,\"x\"]}\n"
        );
    }

    #[test]
    fn big_integers_are_strings() {
        assert_eq!(to_text(&Json::UInt(u64::MAX)), "\"18446744073709551615\"");
        assert_eq!(to_text(&Json::Int(-5)), "-5");
        assert_eq!(to_text(&Json::UInt(1 << 53)), "9007199254740992");
        assert_eq!(to_text(&Json::UInt((1 << 53) + 1)), "\"9007199254740993\"");
    }

    #[test]
    fn maps() {
        let m = snap("@x", vec![(vec![], MapDatum::Value(Value::Int(1)))]);
        assert_eq!(
            map(&m, 0, 1),
            "{\"type\": \"map\", \"data\": {\"@x\": 1}}\n"
        );
        let m = snap(
            "@cnt",
            vec![
                (vec![s("c")], MapDatum::Count(3)),
                (vec![s("a")], MapDatum::Count(2)),
                (vec![s("b")], MapDatum::Count(1)),
            ],
        );
        assert_eq!(
            map(&m, 0, 1),
            "{\"type\": \"map\", \"data\": {\"@cnt\": {\"b\": 1, \"a\": 2, \"c\": 3}}}\n"
        );
        assert_eq!(
            map(&m, 2, 1),
            "{\"type\": \"map\", \"data\": {\"@cnt\": {\"a\": 2, \"c\": 3}}}\n"
        );
        let m = snap(
            "@multi",
            vec![(
                vec![Value::Int(1), s("a"), Value::Int(3)],
                MapDatum::Count(1),
            )],
        );
        assert_eq!(
            map(&m, 0, 1),
            "{\"type\": \"map\", \"data\": {\"@multi\": {\"1,a,3\": 1}}}\n"
        );
        let m = snap("@s", vec![(vec![s("a b")], MapDatum::Count(1))]);
        assert_eq!(
            map(&m, 0, 1),
            "{\"type\": \"map\", \"data\": {\"@s\": {\"a b\": 1}}}\n"
        );
        let m = snap(
            "@tup",
            vec![(
                vec![],
                MapDatum::Value(Value::Tuple(vec![Value::Int(1), s("two"), Value::Int(3)])),
            )],
        );
        assert_eq!(
            map(&m, 0, 1),
            "{\"type\": \"map\", \"data\": {\"@tup\": [1,\"two\",3]}}\n"
        );
    }

    #[test]
    fn stats_and_avg() {
        let m = snap("@avg", vec![(vec![], MapDatum::Avg(Value::Int(6)))]);
        assert_eq!(
            map(&m, 0, 1),
            "{\"type\": \"stats\", \"data\": {\"@avg\": 6}}\n"
        );
        let m = snap(
            "@st",
            vec![
                (
                    vec![Value::Int(1)],
                    MapDatum::Stats {
                        count: 2,
                        average: Value::Int(15),
                        total: Value::Int(30),
                    },
                ),
                (
                    vec![Value::Int(2)],
                    MapDatum::Stats {
                        count: 1,
                        average: Value::Int(7),
                        total: Value::Int(7),
                    },
                ),
            ],
        );
        assert_eq!(
            map(&m, 0, 1),
            "{\"type\": \"stats\", \"data\": {\"@st\": {\"2\": {\"count\": 1, \"average\": 7, \"total\": 7}, \"1\": {\"count\": 2, \"average\": 15, \"total\": 30}}}}\n"
        );
    }

    #[test]
    fn histograms() {
        let mut counts = vec![0; 66];
        counts[0] = 1;
        counts[1] = 1;
        counts[3] = 2;
        let m = snap(
            "@h",
            vec![(
                vec![],
                MapDatum::Hist(Histogram {
                    scale: Scale::Log2 { bits: 0 },
                    counts,
                }),
            )],
        );
        assert_eq!(
            map(&m, 0, 1),
            "{\"type\": \"hist\", \"data\": {\"@h\": [{\"max\": -1, \"count\": 1},{\"min\": 0, \"max\": 0, \"count\": 1},{\"min\": 1, \"max\": 1, \"count\": 0},{\"min\": 2, \"max\": 3, \"count\": 2}]}}\n"
        );
        let m = snap(
            "@l",
            vec![(
                vec![s("x")],
                MapDatum::Hist(Histogram {
                    scale: Scale::Linear {
                        min: 0,
                        max: 100,
                        step: 10,
                    },
                    counts: vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                }),
            )],
        );
        let text = map(&m, 0, 1);
        assert!(text.starts_with(
            "{\"type\": \"hist\", \"data\": {\"@l\": {\"x\": [{\"min\": 0, \"max\": 9, \"count\": 1},"
        ));
        assert!(text.ends_with("{\"min\": 100, \"count\": 1}]}}}\n"));
    }
}
