//! Decoding of raw bytes into `Value`s, following the layouts the compiler
//! records in the `Manifest`. Every read is bounds-checked: bytes that lie
//! outside the given slice read as zero, so a short or malformed record
//! decodes to zeros and empty strings instead of panicking. Map decoding
//! also combines per-CPU values for `count()` and `sum()` maps.

use ferrotrace_compiler::manifest::{Field, MapValueSpec, ValueKind};

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
}

impl MapDatum {
    /// Returns the datum as the value that is printed.
    pub fn value(&self) -> Value {
        match self {
            MapDatum::Value(v) | MapDatum::Sum(v) => v.clone(),
            MapDatum::Count(c) => Value::UInt(*c),
        }
    }

    /// Returns true when bpftrace sorts the map by this datum rather than
    /// by key: counts, sums and integer-valued plain maps.
    pub fn sorts_by_value(&self) -> bool {
        match self {
            MapDatum::Count(_) | MapDatum::Sum(_) => true,
            MapDatum::Value(v) => v.is_integer(),
        }
    }
}

/// Copies `len` bytes starting at `offset` into a little-endian `u64`,
/// reading missing bytes as zero. `len` is at most 8.
fn read_le(bytes: &[u8], offset: usize, len: usize) -> u64 {
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
                .map(|f| {
                    let inner = Field {
                        offset: field.offset.saturating_add(f.offset),
                        kind: f.kind.clone(),
                    };
                    decode_field(bytes, &inner)
                })
                .collect(),
        ),
        ValueKind::Pointer => Value::Pointer(read_le(bytes, offset, 8)),
        ValueKind::Str { len } => {
            let len = usize::try_from(*len).unwrap_or(usize::MAX);
            let start = offset.min(bytes.len());
            let end = offset.saturating_add(len).min(bytes.len());
            let region = bytes.get(start..end).unwrap_or(&[]);
            let text = match region.iter().position(|&b| b == 0) {
                Some(nul) => region.get(..nul).unwrap_or(&[]),
                None => region,
            };
            Value::Str(String::from_utf8_lossy(text).into_owned())
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
                MapValueSpec::Count => MapDatum::Count(
                    values
                        .iter()
                        .fold(0u64, |acc, v| acc.wrapping_add(read_le(v, 0, 8))),
                ),
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
    MapSnapshot {
        name: name.to_string(),
        entries,
    }
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
            Value::Str("a\u{fffd}b".into())
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
