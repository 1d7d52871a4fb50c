//! The value model shared by decoding, printf formatting and map printing.
//! A `Value` is one decoded scalar or tuple from a map key, a map value or
//! an event record. Its `Display` implementation is the bpftrace text form
//! used when printing maps, and `cmp_values` is the key order bpftrace uses
//! when a map is sorted by key.

use std::cmp::Ordering;
use std::fmt;

/// One decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A signed integer of any size, sign-extended to 64 bits.
    Int(i64),
    /// An unsigned integer of any size, zero-extended to 64 bits.
    UInt(u64),
    /// A boolean, printed as `true` or `false`.
    Bool(bool),
    /// A string, already cut at its terminating NUL.
    Str(String),
    /// A pointer, printed as `0x` followed by lowercase hex (bpftrace 0.26).
    Pointer(u64),
    /// A tuple, printed as `(a, b, c)`.
    Tuple(Vec<Value>),
    /// A record (named tuple), printed as `(name = a, size = b)`.
    Record(Vec<(String, Value)>),
    /// A `kstack`/`ustack`, printed in its stack mode (see `stack`).
    Stack(Box<super::stack::Stack>),
    /// A `ksym`/`usym` address, printed as its function's name.
    Symbol(Box<super::stack::SymbolValue>),
    /// The bytes of a `buf()`, printed like `%r` (printable ASCII kept,
    /// other bytes `\xNN`).
    Buffer(Vec<u8>),
    /// A C struct, printed `{ .a = 1, .b = x }`.
    Struct(Vec<(String, Value)>),
}

impl Value {
    /// Returns the value's raw 64-bit pattern, as C varargs would pass it.
    /// Booleans are 0 or 1; strings and tuples have no integer meaning and
    /// give 0.
    pub fn as_bits(&self) -> u64 {
        match self {
            Value::Int(v) => *v as u64,
            Value::UInt(v) | Value::Pointer(v) => *v,
            Value::Bool(b) => u64::from(*b),
            Value::Str(_)
            | Value::Tuple(_)
            | Value::Record(_)
            | Value::Struct(_)
            | Value::Buffer(_) => 0,
            Value::Stack(s) => s.id as u64,
            Value::Symbol(s) => s.addr,
        }
    }

    /// Returns true for the integer variants, whose maps bpftrace sorts by
    /// value rather than by key.
    pub fn is_integer(&self) -> bool {
        matches!(self, Value::Int(_) | Value::UInt(_))
    }

    /// Returns the value as a 128-bit integer for numeric comparison, or
    /// `None` for values without a numeric meaning.
    pub(crate) fn as_i128(&self) -> Option<i128> {
        match self {
            Value::Int(v) => Some(i128::from(*v)),
            Value::UInt(v) | Value::Pointer(v) => Some(i128::from(*v)),
            Value::Bool(b) => Some(i128::from(*b)),
            Value::Str(_)
            | Value::Tuple(_)
            | Value::Record(_)
            | Value::Stack(_)
            | Value::Symbol(_)
            | Value::Struct(_)
            | Value::Buffer(_) => None,
        }
    }

    /// Ranks the variants so that values of different kinds still compare
    /// in a total, deterministic order.
    fn rank(&self) -> u8 {
        match self {
            Value::Int(_) | Value::UInt(_) | Value::Pointer(_) | Value::Bool(_) => 0,
            Value::Str(_) | Value::Buffer(_) => 1,
            Value::Tuple(_) | Value::Record(_) | Value::Struct(_) => 2,
            Value::Stack(_) | Value::Symbol(_) => 3,
        }
    }
}

/// Compares two values the way bpftrace orders map keys: numbers
/// numerically, strings by bytes (like `strcmp`), tuples lexicographically
/// with the first element primary.
pub fn cmp_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => super::rawbytes::cmp_bytes(x, y),
        (Value::Buffer(x), Value::Buffer(y)) => x.cmp(y),
        (Value::Tuple(x), Value::Tuple(y)) => cmp_value_lists(x, y),
        (Value::Record(x), Value::Record(y)) => x
            .iter()
            .zip(y)
            .map(|((_, a), (_, b))| cmp_values(a, b))
            .find(|o| o.is_ne())
            .unwrap_or(x.len().cmp(&y.len())),
        (Value::Stack(x), Value::Stack(y)) => x.cmp_key(y),
        (Value::Symbol(x), Value::Symbol(y)) => x.to_string().cmp(&y.to_string()),
        _ => match (a.as_i128(), b.as_i128()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.rank().cmp(&b.rank()),
        },
    }
}

/// Compares two lists of values lexicographically, the first element
/// primary; a shorter list that is a prefix of a longer one sorts first.
pub fn cmp_value_lists(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        let ord = cmp_values(x, y);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::UInt(v) => write!(f, "{v}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => f.write_str(s),
            Value::Pointer(p) => write!(f, "{p:#x}"),
            Value::Stack(s) => write!(f, "{s}"),
            Value::Symbol(s) => write!(f, "{s}"),
            Value::Buffer(b) => f.write_str(&super::data::format_buffer(
                b,
                super::data::BufferStyle::Text,
            )),
            Value::Tuple(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
            Value::Record(fields) => {
                f.write_str("(")?;
                for (i, (name, item)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name} = {item}")?;
                }
                f.write_str(")")
            }
            Value::Struct(fields) if fields.is_empty() => f.write_str("{}"),
            Value::Struct(fields) => {
                f.write_str("{ ")?;
                for (i, (name, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, ".{name} = {v}")?;
                }
                f.write_str(" }")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms() {
        assert_eq!(Value::Int(-5).to_string(), "-5");
        assert_eq!(Value::UInt(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(Value::Bool(true).to_string(), "true");
        assert_eq!(Value::Bool(false).to_string(), "false");
        assert_eq!(Value::Str("hello".into()).to_string(), "hello");
        assert_eq!(Value::Pointer(0x1234).to_string(), "0x1234");
        assert_eq!(Value::Pointer(0).to_string(), "0x0");
        let t = Value::Tuple(vec![
            Value::Int(1),
            Value::Str("two".into()),
            Value::UInt(3),
        ]);
        assert_eq!(t.to_string(), "(1, two, 3)");
    }

    #[test]
    fn ordering() {
        assert_eq!(cmp_values(&Value::Int(-1), &Value::UInt(0)), Ordering::Less);
        assert_eq!(
            cmp_values(&Value::UInt(10), &Value::UInt(9)),
            Ordering::Greater
        );
        assert_eq!(
            cmp_values(&Value::Str("B".into()), &Value::Str("a".into())),
            Ordering::Less
        );
        assert_eq!(
            cmp_value_lists(
                &[Value::Int(1), Value::Str("b".into())],
                &[Value::Int(1), Value::Str("a".into())]
            ),
            Ordering::Greater
        );
        assert_eq!(
            cmp_values(&Value::Int(5), &Value::Str("a".into())),
            Ordering::Less
        );
    }

    #[test]
    fn bits() {
        assert_eq!(Value::Int(-1).as_bits(), u64::MAX);
        assert_eq!(Value::Bool(true).as_bits(), 1);
        assert_eq!(Value::Str("x".into()).as_bits(), 0);
    }
}
