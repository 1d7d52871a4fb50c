//! Decoding of raw bytes into `Value`s, following the layouts the compiler
//! records in the `Manifest`. Every read is bounds-checked: bytes that lie
//! outside the given slice read as zero, so a short or malformed record
//! decodes to zeros and empty strings instead of panicking. Map decoding
//! also combines per-CPU values for `count()` and `sum()` maps.

use ferrotrace_compiler::manifest::{Field, MapValueSpec, StackKind, ValueKind};

use super::stack::{Stack, SymbolValue};

use super::hist::{Histogram, Scale};
use super::value::Value;

/// A map's decoded contents, ready for printing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapSnapshot {
    /// The map's script name, `@x` or `@` for the anonymous map.
    pub name: String,
    /// Each entry's key values (an empty vector for a scalar map) and its
    /// datum, in the order the kernel returned them (unsorted).
    pub entries: Vec<(Vec<Value>, MapDatum)>,
}

impl MapSnapshot {
    /// Returns true when the map has no entries and so is not printed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One map entry's value after combining per-CPU copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapDatum {
    /// A plain value assigned by the script (`@x = v`).
    Value(Value),
    /// A `count()` total summed over CPUs.
    Count(u64),
    /// A `sum()` total summed over CPUs: `Value::Int` for signed sums and
    /// `Value::UInt` for unsigned ones.
    Sum(Value),
    /// An `avg()` average (total / count, integer division).
    Avg(Value),
    /// A `min()` or `max()` result over the CPUs that saw a value.
    MinMax(Value),
    /// A `stats()` result.
    Stats {
        count: u64,
        average: Value,
        total: Value,
    },
    /// A `hist()` or `lhist()` histogram, counters summed over CPUs.
    Hist(Histogram),
    /// A `tseries()` entry: one value per interval.
    Tseries(Box<super::tseries::Tseries>),
}

impl MapDatum {
    /// Returns the datum as the value that is printed.
    pub fn value(&self) -> Value {
        match self {
            MapDatum::Value(v) | MapDatum::Sum(v) | MapDatum::Avg(v) | MapDatum::MinMax(v) => {
                v.clone()
            }
            MapDatum::Count(c) => Value::UInt(*c),
            MapDatum::Stats { average, .. } => average.clone(),
            MapDatum::Hist(h) => Value::UInt(h.total()),
            MapDatum::Tseries(t) => t.latest_value(),
        }
    }

    /// Returns true when bpftrace sorts the map by this datum rather than
    /// by key: every aggregation and integer-valued plain maps.
    pub fn sorts_by_value(&self) -> bool {
        match self {
            MapDatum::Value(v) => v.is_integer(),
            _ => true,
        }
    }

    /// The number the map is sorted by: the value itself, the average for
    /// `avg`/`stats`, the total count for histograms, and for `min`/`max`
    /// the value's bits read as unsigned (as bpftrace compares them).
    pub fn sort_value(&self) -> Value {
        match self {
            MapDatum::MinMax(v) => Value::UInt(v.as_bits()),
            MapDatum::Tseries(t) => Value::UInt(t.latest()),
            other => other.value(),
        }
    }

    /// The datum with its values divided by `div` (`print(@m, top, div)`);
    /// counts of `stats` and linear histograms are left as they are.
    pub fn divided(&self, div: u64) -> MapDatum {
        if div <= 1 {
            return self.clone();
        }
        let d = |v: &Value| match v {
            Value::Int(x) => Value::Int(x / i64::try_from(div).unwrap_or(i64::MAX)),
            Value::UInt(x) => Value::UInt(x / div),
            other => other.clone(),
        };
        match self {
            MapDatum::Value(v) => MapDatum::Value(d(v)),
            MapDatum::Count(c) => MapDatum::Count(c / div),
            MapDatum::Sum(v) => MapDatum::Sum(d(v)),
            MapDatum::Avg(v) => MapDatum::Avg(d(v)),
            MapDatum::MinMax(v) => MapDatum::MinMax(d(v)),
            MapDatum::Stats {
                count,
                average,
                total,
            } => MapDatum::Stats {
                count: *count,
                average: d(average),
                total: total.clone(),
            },
            MapDatum::Hist(h) => MapDatum::Hist(h.clone()),
            MapDatum::Tseries(t) => MapDatum::Tseries(t.clone()),
        }
    }
}

/// Copies `len` bytes starting at `offset` into a little-endian `u64`,
/// reading missing bytes as zero. `len` is at most 8.
fn read_le(bytes: &[u8], offset: usize, len: usize) -> u64 {
    // The common case, a whole 8-byte word inside the slice.
    if len == 8 {
        if let Some(word) = offset
            .checked_add(8)
            .and_then(|end| bytes.get(offset..end))
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
        {
            return u64::from_le_bytes(word);
        }
    }
    let mut v: u64 = 0;
    for i in 0..len.min(8) {
        let b = offset
            .checked_add(i)
            .and_then(|idx| bytes.get(idx))
            .copied()
            .unwrap_or(0);
        v |= u64::from(b) << (8 * i);
    }
    v
}

/// Decodes a member at `offset` inside a value that starts at `base`.
fn decode_member(bytes: &[u8], base: u32, offset: u32, kind: &ValueKind) -> Value {
    let inner = Field {
        offset: base.saturating_add(offset),
        kind: kind.clone(),
    };
    decode_field(bytes, &inner)
}

/// Decodes one field of `bytes`. Bytes beyond the slice read as zero, so
/// the result for an out-of-range field is zero, `false` or `""`.
pub fn decode_field(bytes: &[u8], field: &Field) -> Value {
    let offset = usize::try_from(field.offset).unwrap_or(usize::MAX);
    match &field.kind {
        ValueKind::Int { size, signed } => {
            // Sizes other than 1, 2, 4 and 8 are clamped to 8 bytes; a size
            // of 0 decodes as zero.
            let size = usize::from(*size).min(8);
            let raw = read_le(bytes, offset, size);
            if *signed {
                let v = if size == 0 || size == 8 {
                    raw as i64
                } else {
                    let shift = 64 - 8 * size as u32;
                    ((raw << shift) as i64) >> shift
                };
                Value::Int(v)
            } else {
                Value::UInt(raw)
            }
        }
        ValueKind::Bool => Value::Bool(read_le(bytes, offset, 1) != 0),
        ValueKind::Tuple { fields } => Value::Tuple(
            fields
                .iter()
                .map(|f| decode_member(bytes, field.offset, f.offset, &f.kind))
                .collect(),
        ),
        ValueKind::Struct { fields, .. } => Value::Struct(
            fields
                .iter()
                .map(|f| {
                    let v = decode_member(bytes, field.offset, f.offset, &f.kind);
                    (f.name.clone(), v)
                })
                .collect(),
        ),
        ValueKind::Record { fields, names } => Value::Record(
            names
                .iter()
                .zip(fields)
                .map(|(name, f)| {
                    let inner = Field {
                        offset: field.offset.saturating_add(f.offset),
                        kind: f.kind.clone(),
                    };
                    (name.clone(), decode_field(bytes, &inner))
                })
                .collect(),
        ),
        ValueKind::Pointer => Value::Pointer(read_le(bytes, offset, 8)),
        ValueKind::Stack { kind, mode, limit } => {
            let id = read_le(bytes, offset, 8) as i64;
            let pid = read_le(bytes, offset.saturating_add(8), 4) as u32;
            let pid = if *kind == StackKind::User { pid } else { 0 };
            Value::Stack(Box::new(Stack::unresolved(*kind, *mode, *limit, id, pid)))
        }
        ValueKind::Symbol { kind } => {
            let addr = read_le(bytes, offset, 8);
            let pid = read_le(bytes, offset.saturating_add(8), 4) as u32;
            let pid = if *kind == StackKind::User { pid } else { 0 };
            Value::Symbol(Box::new(SymbolValue {
                kind: *kind,
                addr,
                pid,
                name: None,
            }))
        }
        ValueKind::Data { kind } => super::data::decode_data(bytes, offset, kind),
        ValueKind::Named { table } => {
            Value::Str(super::names::name_of(*table, read_le(bytes, offset, 8)))
        }
        ValueKind::Str { len } => {
            let len = usize::try_from(*len).unwrap_or(usize::MAX);
            let start = offset.min(bytes.len());
            let end = offset.saturating_add(len).min(bytes.len());
            let region = bytes.get(start..end).unwrap_or(&[]);
            let text = match region.iter().position(|&b| b == 0) {
                Some(nul) => region.get(..nul).unwrap_or(&[]),
                None => region,
            };
            Value::Str(super::rawbytes::escape(text))
        }
    }
}

/// Decodes every field of `bytes`, in order.
pub fn decode_fields(bytes: &[u8], fields: &[Field]) -> Vec<Value> {
    fields.iter().map(|f| decode_field(bytes, f)).collect()
}

/// Decodes raw map entries (key bytes, one value-bytes per CPU for per-CPU
/// maps) per the map's `MapRole::User` spec; per-CPU Count/Sum values are
/// summed across CPUs.
///
/// Plain values are taken from the first value buffer (plain maps are not
/// per-CPU). Count and Sum totals wrap on overflow, like the kernel's
/// 64-bit counters. An entry with no value buffers decodes as zero.
pub fn decode_map(
    name: &str,
    key: &[Field],
    value: &MapValueSpec,
    raw: &[(Vec<u8>, Vec<Vec<u8>>)],
) -> MapSnapshot {
    let entries = raw
        .iter()
        .map(|(key_bytes, values)| {
            let key_values = decode_fields(key_bytes, key);
            let datum = match value {
                MapValueSpec::Plain(kind) => {
                    let first = values.first().map(Vec::as_slice).unwrap_or(&[]);
                    MapDatum::Value(decode_field(
                        first,
                        &Field {
                            offset: 0,
                            kind: kind.clone(),
                        },
                    ))
                }
                MapValueSpec::Count => MapDatum::Count(sum_at(values, 0)),
                MapValueSpec::Avg { signed } => {
                    let (count, total) = (sum_at(values, 0), sum_at(values, 8));
                    MapDatum::Avg(average(count, total, *signed))
                }
                MapValueSpec::Stats { signed } => {
                    let (count, total) = (sum_at(values, 0), sum_at(values, 8));
                    MapDatum::Stats {
                        count,
                        average: average(count, total, *signed),
                        total: int(total, *signed),
                    }
                }
                MapValueSpec::Min { signed } | MapValueSpec::Max { signed } => {
                    let max = matches!(value, MapValueSpec::Max { .. });
                    MapDatum::MinMax(min_max(values, *signed, max))
                }
                MapValueSpec::Hist { bits } => hist(values, Scale::Log2 { bits: *bits }),
                MapValueSpec::Lhist { min, max, step } => hist(
                    values,
                    Scale::Linear {
                        min: *min,
                        max: *max,
                        step: *step,
                    },
                ),
                MapValueSpec::Tseries {
                    interval_ns,
                    num_intervals,
                    agg,
                    signed,
                } => MapDatum::Tseries(Box::new(super::tseries::combine(
                    values,
                    *interval_ns,
                    *num_intervals,
                    *agg,
                    *signed,
                ))),
                MapValueSpec::Sum { signed } => {
                    let total = values
                        .iter()
                        .fold(0u64, |acc, v| acc.wrapping_add(read_le(v, 0, 8)));
                    if *signed {
                        MapDatum::Sum(Value::Int(total as i64))
                    } else {
                        MapDatum::Sum(Value::UInt(total))
                    }
                }
            };
            (key_values, datum)
        })
        .collect();
    let mut entries: Vec<(Vec<Value>, MapDatum)> = entries;
    // Every key of a tseries map prints the window ending at the map's
    // latest interval.
    let last = entries
        .iter()
        .filter_map(|(_, d)| match d {
            MapDatum::Tseries(t) => Some(t.latest()),
            _ => None,
        })
        .max();
    if let Some(last) = last {
        for (_, d) in &mut entries {
            if let MapDatum::Tseries(t) = d {
                t.last_epoch = last;
            }
        }
    }
    MapSnapshot {
        name: name.to_string(),
        entries,
    }
}

/// The wrapping sum over CPUs of the u64 at `offset`.
fn sum_at(values: &[Vec<u8>], offset: usize) -> u64 {
    values
        .iter()
        .fold(0u64, |acc, v| acc.wrapping_add(read_le(v, offset, 8)))
}

fn int(bits: u64, signed: bool) -> Value {
    if signed {
        Value::Int(bits as i64)
    } else {
        Value::UInt(bits)
    }
}

/// `total / count` with C's integer division (0 when nothing was counted).
fn average(count: u64, total: u64, signed: bool) -> Value {
    if count == 0 {
        return int(0, signed);
    }
    if signed {
        let c = i64::try_from(count).unwrap_or(i64::MAX);
        Value::Int((total as i64).wrapping_div(c))
    } else {
        Value::UInt(total / count)
    }
}

/// The smallest (or largest) value over the CPUs whose "set" flag at
/// offset 8 is non-zero; 0 when no CPU saw a value.
fn min_max(values: &[Vec<u8>], signed: bool, max: bool) -> Value {
    let seen = values
        .iter()
        .filter(|v| read_le(v, 8, 8) != 0)
        .map(|v| read_le(v, 0, 8));
    let best = if signed {
        let it = seen.map(|b| b as i64);
        (if max { it.max() } else { it.min() }).map(|v| v as u64)
    } else if max {
        seen.max()
    } else {
        seen.min()
    };
    int(best.unwrap_or(0), signed)
}

/// Sums the per-CPU bucket counters of a histogram.
fn hist(values: &[Vec<u8>], scale: Scale) -> MapDatum {
    let buckets = values.iter().map(|v| v.len() / 8).max().unwrap_or(0);
    let counts = (0..buckets).map(|i| sum_at(values, i * 8)).collect();
    MapDatum::Hist(Histogram { scale, counts })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn int(offset: u32, size: u8, signed: bool) -> Field {
        Field {
            offset,
            kind: ValueKind::Int { size, signed },
        }
    }

    #[test]
    fn ints_of_each_size_and_sign() {
        let bytes = [0xff, 0xfe, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x01];
        assert_eq!(decode_field(&bytes, &int(0, 1, true)), Value::Int(-1));
        assert_eq!(decode_field(&bytes, &int(0, 1, false)), Value::UInt(255));
        assert_eq!(decode_field(&bytes, &int(0, 2, true)), Value::Int(-257));
        assert_eq!(decode_field(&bytes, &int(0, 2, false)), Value::UInt(0xfeff));
        assert_eq!(decode_field(&bytes, &int(0, 4, true)), Value::Int(-257));
        assert_eq!(
            decode_field(&bytes, &int(0, 4, false)),
            Value::UInt(0xffff_feff)
        );
        assert_eq!(decode_field(&bytes, &int(4, 4, true)), Value::Int(128));
        assert_eq!(
            decode_field(&bytes, &int(1, 8, false)),
            Value::UInt(0x0100_0000_80ff_fffe)
        );
        assert_eq!(
            decode_field(&bytes, &int(0, 8, true)),
            Value::Int(0x0000_0080_ffff_feffu64 as i64)
        );
        let neg = (-123456789012i64).to_le_bytes();
        assert_eq!(
            decode_field(&neg, &int(0, 8, true)),
            Value::Int(-123456789012)
        );
    }

    #[test]
    fn out_of_range_reads_zero() {
        let bytes = [1u8, 2];
        assert_eq!(decode_field(&bytes, &int(1, 4, false)), Value::UInt(2));
        assert_eq!(decode_field(&bytes, &int(100, 8, true)), Value::Int(0));
        assert_eq!(decode_field(&bytes, &int(u32::MAX, 8, true)), Value::Int(0));
        assert_eq!(
            decode_field(
                &[],
                &Field {
                    offset: 0,
                    kind: ValueKind::Bool
                }
            ),
            Value::Bool(false)
        );
        assert_eq!(
            decode_field(
                &bytes,
                &Field {
                    offset: 9,
                    kind: ValueKind::Str { len: 4 }
                }
            ),
            Value::Str(String::new())
        );
        assert_eq!(
            decode_field(
                &bytes,
                &Field {
                    offset: u32::MAX,
                    kind: ValueKind::Str { len: u32::MAX }
                }
            ),
            Value::Str(String::new())
        );
    }

    #[test]
    fn strings_with_and_without_nul() {
        let bytes = b"ab\0cdXYZW";
        assert_eq!(
            decode_field(
                bytes,
                &Field {
                    offset: 0,
                    kind: ValueKind::Str { len: 5 }
                }
            ),
            Value::Str("ab".into())
        );
        assert_eq!(
            decode_field(
                bytes,
                &Field {
                    offset: 3,
                    kind: ValueKind::Str { len: 4 }
                }
            ),
            Value::Str("cdXY".into())
        );
        // A length running past the slice stops at the slice's end.
        assert_eq!(
            decode_field(
                bytes,
                &Field {
                    offset: 5,
                    kind: ValueKind::Str { len: 16 }
                }
            ),
            Value::Str("XYZW".into())
        );
        assert_eq!(
            decode_field(
                b"a\xffb\0",
                &Field {
                    offset: 0,
                    kind: ValueKind::Str { len: 4 }
                }
            ),
            Value::Str("a\u{10ffff}b".into())
        );
    }

    #[test]
    fn bools_pointers_and_fields() {
        let mut bytes = vec![0u8, 2];
        bytes.extend_from_slice(&0x1234u64.to_le_bytes());
        let fields = [
            Field {
                offset: 0,
                kind: ValueKind::Bool,
            },
            Field {
                offset: 1,
                kind: ValueKind::Bool,
            },
            Field {
                offset: 2,
                kind: ValueKind::Pointer,
            },
        ];
        assert_eq!(
            decode_fields(&bytes, &fields),
            vec![
                Value::Bool(false),
                Value::Bool(true),
                Value::Pointer(0x1234)
            ]
        );
    }

    #[test]
    fn per_cpu_counts_and_sums_are_summed() {
        let key = [Field {
            offset: 0,
            kind: ValueKind::Str { len: 4 },
        }];
        let raw = vec![
            (
                b"a\0\0\0".to_vec(),
                vec![3u64.to_le_bytes().to_vec(), 4u64.to_le_bytes().to_vec()],
            ),
            (
                b"bc\0\0".to_vec(),
                vec![
                    1u64.to_le_bytes().to_vec(),
                    vec![],
                    0u64.to_le_bytes().to_vec(),
                ],
            ),
        ];
        let snap = decode_map("@c", &key, &MapValueSpec::Count, &raw);
        assert_eq!(snap.name, "@c");
        assert_eq!(
            snap.entries,
            vec![
                (vec![Value::Str("a".into())], MapDatum::Count(7)),
                (vec![Value::Str("bc".into())], MapDatum::Count(1)),
            ]
        );

        let raw = vec![(
            vec![],
            vec![(-5i64).to_le_bytes().to_vec(), 2i64.to_le_bytes().to_vec()],
        )];
        let snap = decode_map("@s", &[], &MapValueSpec::Sum { signed: true }, &raw);
        assert_eq!(snap.entries, vec![(vec![], MapDatum::Sum(Value::Int(-3)))]);
        let snap = decode_map("@s", &[], &MapValueSpec::Sum { signed: false }, &raw);
        assert_eq!(
            snap.entries,
            vec![(vec![], MapDatum::Sum(Value::UInt(u64::MAX - 2)))]
        );
    }

    #[test]
    fn plain_values_use_first_buffer() {
        let key = [int(0, 8, false)];
        let raw = vec![
            (5u64.to_le_bytes().to_vec(), vec![b"hi\0\0".to_vec()]),
            (6u64.to_le_bytes().to_vec(), vec![]),
        ];
        let snap = decode_map(
            "@",
            &key,
            &MapValueSpec::Plain(ValueKind::Str { len: 4 }),
            &raw,
        );
        assert_eq!(
            snap.entries,
            vec![
                (
                    vec![Value::UInt(5)],
                    MapDatum::Value(Value::Str("hi".into()))
                ),
                (
                    vec![Value::UInt(6)],
                    MapDatum::Value(Value::Str(String::new()))
                ),
            ]
        );
    }
}
