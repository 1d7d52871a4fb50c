//! The integer types of arithmetic and comparison operators, as bpftrace
//! 0.26 has them: both operands are converted to a common type (the wider
//! of two same-sign types; for mixed signs the signed one when it is wider,
//! else a signed type twice as wide), the operation is computed at that
//! width — so `(uint8)255 + 1` wraps to 0 — and its result is a 64-bit
//! integer of the common type's sign. A non-negative literal counts as the
//! smallest unsigned type that holds it, or as the signed side's type when
//! it fits there. When no common type exists (a 64-bit signed and a 64-bit
//! unsigned operand) the operation is done in 64 bits — comparisons
//! unsigned — with warning W0100 or W0101.

use super::types::{describe, signed_literal_type};
use super::Checker;
use crate::diagnostics::Diagnostic;
use crate::ir::{BinaryOp, Expr, ExprKind, Type};
use crate::source::Span;

/// The types an integer operation works with.
pub(super) struct IntOp {
    /// The type both operands are converted to.
    pub operand: Type,
    /// The type of the operation's value (before `Bool` for comparisons).
    pub result: Type,
}

/// How an operand takes part in choosing the common type: its width, its
/// sign, and for a non-negative literal its value.
struct View {
    bits: u8,
    signed: bool,
    literal: Option<u64>,
}

fn view(e: &Expr) -> View {
    let Type::Int { bits, signed } = e.ty else {
        return View {
            bits: 64,
            signed: false,
            literal: None,
        };
    };
    if let ExprKind::Int(v) = e.kind {
        let natural = (v as i64) >= 0 && e.ty == super::types::literal_type(v);
        if natural {
            return View {
                bits: unsigned_bits(v),
                signed: false,
                literal: Some(v),
            };
        }
    }
    View {
        bits,
        signed,
        literal: None,
    }
}

/// The width of the smallest unsigned type that holds `v`.
fn unsigned_bits(v: u64) -> u8 {
    match v {
        0..=0xff => 8,
        0x100..=0xffff => 16,
        0x1_0000..=0xffff_ffff => 32,
        _ => 64,
    }
}

/// bpftrace 0.26's common type of two integer operands, or `None` when
/// there is none (mixed signs at 64 bits).
fn common(l: &View, r: &View) -> Option<Type> {
    if l.signed == r.signed {
        return Some(Type::Int {
            bits: l.bits.max(r.bits),
            signed: l.signed,
        });
    }
    let (s, u) = if l.signed { (l, r) } else { (r, l) };
    if s.bits > u.bits {
        return Some(Type::Int {
            bits: s.bits,
            signed: true,
        });
    }
    if let Some(v) = u.literal {
        let fits = i64::try_from(v)
            .ok()
            .map(signed_literal_type)
            .is_some_and(|t| matches!(t, Type::Int { bits, .. } if bits <= s.bits));
        if fits {
            return Some(Type::Int {
                bits: s.bits,
                signed: true,
            });
        }
    }
    let bits = s.bits.max(u.bits).saturating_mul(2);
    (bits <= 64).then_some(Type::Int { bits, signed: true })
}

impl Checker<'_> {
    /// The types of the integer operation `l op r` (neither a shift nor a
    /// logical operator); warns when the operands' signs cannot be
    /// reconciled. Two literals are combined in 64 bits, as constants.
    pub(super) fn int_op(&mut self, op: BinaryOp, l: &Expr, r: &Expr, span: Span) -> IntOp {
        use BinaryOp::*;
        let (lv, rv) = (view(l), view(r));
        let comparison = matches!(op, Eq | Ne | Lt | Le | Gt | Ge);
        if lv.literal.is_some() && rv.literal.is_some() || !l.ty.is_int() || !r.ty.is_int() {
            let signed = l.ty.is_signed() || r.ty.is_signed() || op == Sub;
            let t = Type::Int { bits: 64, signed };
            return IntOp {
                operand: t.clone(),
                result: t,
            };
        }
        if let Some(t) = common(&lv, &rv) {
            let signed = t.is_signed() || op == Sub;
            return IntOp {
                operand: t,
                result: Type::Int { bits: 64, signed },
            };
        }
        let what = if comparison {
            Some(("W0100", "comparison"))
        } else if matches!(op, Add | Sub | Mul | Div | Mod) {
            Some(("W0101", "arithmetic"))
        } else {
            None
        };
        if let Some((code, what)) = what {
            self.error(
                Diagnostic::warning(
                    code,
                    format!(
                        "{what} {} integers of different signs: {} and {}",
                        if comparison { "of" } else { "on" },
                        describe(&l.ty),
                        describe(&r.ty)
                    ),
                    span,
                )
                .secondary(l.span, describe(&l.ty))
                .secondary(r.span, describe(&r.ty))
                .help(if comparison {
                    "the values are compared as unsigned 64-bit integers; cast one side, e.g. `(int64)x`, to choose".to_string()
                } else {
                    "cast one side, e.g. `(int64)x` or `(uint64)x`, so both have the same sign".to_string()
                }),
            );
        }
        // bpftrace compares such operands unsigned and computes the rest
        // in 64 signed bits.
        let t = Type::Int {
            bits: 64,
            signed: !comparison,
        };
        IntOp {
            operand: t.clone(),
            result: t,
        }
    }
}

/// The value of `e` when it is an integer literal as written (`300`,
/// `-1`), not a constant already converted to a chosen type.
fn literal_value(e: &Expr) -> Option<i128> {
    let ExprKind::Int(v) = e.kind else {
        return None;
    };
    if e.ty == super::types::literal_type(v) {
        return Some(if e.ty == Type::U64 {
            i128::from(v)
        } else {
            i128::from(v as i64)
        });
    }
    let n = v as i64;
    (n < 0 && e.ty == signed_literal_type(n)).then_some(i128::from(n))
}

/// Whether `v` is in the range of the integer type `t`.
fn in_range(v: i128, t: &Type) -> bool {
    let Type::Int { bits, signed } = *t else {
        return true;
    };
    let bits = u32::from(bits);
    if signed {
        let half = 1i128 << (bits - 1);
        (-half..half).contains(&v)
    } else {
        (0..(1i128 << bits)).contains(&v)
    }
}

impl Checker<'_> {
    /// Reports E0450 when the literal `value` does not fit the integer type
    /// `to` of variable `$name` (bpftrace 0.26 refuses `let $x: uint8 =
    /// 256;` and `let $x: uint32 = -1;` instead of wrapping); returns
    /// whether it fits.
    pub(super) fn literal_fits(&mut self, name: &str, value: &Expr, to: &Type) -> bool {
        let Some(v) = literal_value(value) else {
            return true;
        };
        if in_range(v, to) {
            return true;
        }
        let to_signed = to.is_signed();
        let needed = match (v < 0, to_signed) {
            (true, false) => "a signed type".to_string(),
            (false, false) => Type::Int {
                bits: unsigned_bits(v as u64),
                signed: false,
            }
            .to_string(),
            _ => match i64::try_from(v) {
                Ok(n) => signed_literal_type(n).to_string(),
                Err(_) => "uint64".to_string(),
            },
        };
        self.error(
            Diagnostic::error(
                "E0450",
                format!(
                    "type mismatch for `${name}`: the literal {v} does not fit {}",
                    describe(to)
                ),
                value.span,
            )
            .label(format!("needs {needed}"))
            .help(format!(
                "`${name}` is {}; cast the value, e.g. `({to}){v}`, to wrap it on purpose, or give `${name}` {}",
                describe(to),
                if v < 0 && !to_signed { "a signed type" } else { "a wider type" }
            )),
        );
        false
    }
}
