//! Type rules shared by the checker: how catalogue and tracepoint types map
//! to IR types, how integers promote, and how conversions become explicit
//! `Cast` nodes so code generation never applies a language rule itself.

use crate::ir::{AddrSpace, Expr, ExprKind, Type};
use crate::kernel::TracepointField;
use crate::manifest::{NameTable, StackKind};
use ferrotrace_stdlib::ValueType;

/// Default capacity of strings read with `str()`, NUL included (bpftrace's
/// `max_strlen`).
pub const MAX_STRLEN: u32 = 1024;

pub fn from_catalogue(t: ValueType) -> Type {
    match t {
        ValueType::U32 => Type::U32,
        ValueType::U64 => Type::U64,
        ValueType::I64 => Type::I64,
        ValueType::Str(n) => Type::Str(n),
        ValueType::KStack => super::stacks::default_stack(StackKind::Kernel),
        ValueType::UStack => super::stacks::default_stack(StackKind::User),
        ValueType::Username => Type::Named(NameTable::User),
        ValueType::U8 => Type::Int {
            bits: 8,
            signed: false,
        },
        ValueType::Bool => Type::Bool,
    }
}

/// The IR type of a tracepoint field, or why it cannot be used yet.
/// Pointer fields of `syscalls` tracepoints point into user memory.
pub fn tracepoint_field_type(category: &str, field: &TracepointField) -> Result<Type, String> {
    let c = field.c_type.as_str();
    if is_data_loc(field) {
        if c.contains("char") {
            return Ok(Type::Str(MAX_STRLEN));
        }
        return Err(format!(
            "field `{}` is a variable-length `{c}` field; only `__data_loc char[]` (a string) can be read",
            field.name
        ));
    }
    if let Some(n) = field.array_len {
        if c.starts_with("char") || c.starts_with("unsigned char") || c.starts_with("u8") {
            return Ok(Type::Str(n.max(1)));
        }
        return Err(format!(
            "field `{}` is an array (`{c}`), which ferrotrace cannot read yet",
            field.name
        ));
    }
    if c.contains('*') {
        let space = if category == "syscalls" {
            AddrSpace::User
        } else {
            AddrSpace::Kernel
        };
        let pointee = if c.contains("char") {
            Type::Int {
                bits: 8,
                signed: true,
            }
        } else {
            Type::Int {
                bits: 8,
                signed: false,
            }
        };
        return Ok(Type::Ptr {
            pointee: Box::new(pointee),
            space,
        });
    }
    match field.size {
        1 | 2 | 4 | 8 => Ok(Type::Int {
            bits: (field.size * 8) as u8,
            signed: field.signed,
        }),
        n => Err(format!(
            "field `{}` has an unsupported size of {n} bytes",
            field.name
        )),
    }
}

/// The type of a non-negative integer literal in the current dialect
/// (bpftrace 0.26): the smallest signed type that holds it, or `uint64`
/// above `int64`'s range. Operations and storage widen it to 64 bits.
pub fn literal_type(v: u64) -> Type {
    match i64::try_from(v) {
        Ok(n) => signed_literal_type(n),
        Err(_) => Type::U64,
    }
}

/// The smallest signed integer type that holds `v`.
pub fn signed_literal_type(v: i64) -> Type {
    let bits = if i8::try_from(v).is_ok() {
        8
    } else if i16::try_from(v).is_ok() {
        16
    } else if i32::try_from(v).is_ok() {
        32
    } else {
        64
    };
    Type::Int { bits, signed: true }
}

/// Whether a tracepoint field is variable-length data stored after the
/// record's fixed part (`__data_loc` in the format file); such fields are
/// read with `ExprKind::TracepointDataLoc`.
pub fn is_data_loc(field: &TracepointField) -> bool {
    field.c_type.starts_with("__data_loc")
}

/// The common type two integer operands are converted to: 64-bit, signed
/// when either side is signed or when `force_signed` (subtraction, as in the
/// current bpftrace dialect).
pub fn promote(a: &Type, b: &Type, force_signed: bool) -> Type {
    let signed = force_signed || a.is_signed() || b.is_signed();
    Type::Int { bits: 64, signed }
}

/// The type a value takes when stored in a map or a scratch variable:
/// integers widen to 64 bits keeping their sign.
pub fn storage_type(t: &Type) -> Type {
    match t {
        Type::Int { signed, .. } => Type::Int {
            bits: 64,
            signed: *signed,
        },
        other => other.clone(),
    }
}

/// Converts `e` to `to`, inserting a `Cast` when the types differ. The
/// caller has already checked the conversion is allowed.
pub fn convert(e: Expr, to: &Type) -> Expr {
    if &e.ty == to {
        return e;
    }
    if let (Type::Tuple(to_elems), Type::Tuple(_)) = (to, &e.ty) {
        return convert_tuple(e, to_elems);
    }
    if let (Type::Record { elems, .. }, Type::Record { .. }) = (to, &e.ty) {
        let mut converted = convert_tuple(e, elems);
        converted.ty = to.clone();
        return converted;
    }
    // Integer constants are folded instead of cast.
    if let (ExprKind::Int(v), Type::Int { bits, signed }) = (&e.kind, to) {
        let v = truncate(*v, *bits, *signed);
        return Expr {
            kind: ExprKind::Int(v),
            ty: to.clone(),
            span: e.span,
        };
    }
    let span = e.span;
    Expr {
        kind: ExprKind::Cast(Box::new(e)),
        ty: to.clone(),
        span,
    }
}

/// Converts a tuple element by element (a tuple literal in place, any other
/// tuple through element reads), so strings inside it get the target's
/// capacities.
fn convert_tuple(e: Expr, to: &[Type]) -> Expr {
    let span = e.span;
    let elems = tuple_elements(e);
    let elems: Vec<Expr> = elems
        .into_iter()
        .zip(to)
        .map(|(x, t)| convert(x, t))
        .collect();
    Expr {
        kind: ExprKind::Tuple(elems),
        ty: Type::Tuple(to.to_vec()),
        span,
    }
}

/// The elements of a tuple expression: a literal's own, or reads of each
/// element of any other tuple-typed expression.
pub fn tuple_elements(e: Expr) -> Vec<Expr> {
    match e.kind {
        ExprKind::Tuple(elems) => elems,
        _ => {
            let types = e.ty.tuple_elems().map(<[Type]>::to_vec).unwrap_or_default();
            types
                .into_iter()
                .enumerate()
                .map(|(index, ty)| Expr {
                    kind: ExprKind::TupleGet {
                        base: Box::new(e.clone()),
                        index,
                    },
                    ty,
                    span: e.span,
                })
                .collect()
        }
    }
}

/// Makes `v` a valid constant of the given width and sign (two's complement,
/// sign-extended back to 64 bits for signed types).
fn truncate(v: u64, bits: u8, signed: bool) -> u64 {
    if bits >= 64 {
        return v;
    }
    let masked = v & ((1u64 << bits) - 1);
    if signed && masked >> (bits - 1) == 1 {
        masked | !((1u64 << bits) - 1)
    } else {
        masked
    }
}

/// Whether a value of type `t` can be used as a condition (non-zero is true).
pub fn is_truthy(t: &Type) -> bool {
    matches!(t, Type::Bool | Type::Int { .. } | Type::Ptr { .. })
}

/// Converts a condition to `Bool`.
pub fn to_bool(e: Expr) -> Expr {
    convert(e, &Type::Bool)
}

/// A short, user-facing name of a type with its article, for messages:
/// "a string", "an int64", "a uint32".
pub fn describe(t: &Type) -> String {
    let name = match t {
        Type::Str(_) => "string".to_string(),
        Type::Record { .. } => format!("record {t}"),
        other => other.to_string(),
    };
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_sign_extends() {
        assert_eq!(truncate(0xff, 8, true), u64::MAX);
        assert_eq!(truncate(0x1ff, 8, false), 0xff);
        assert_eq!(truncate(5, 64, true), 5);
    }
}
