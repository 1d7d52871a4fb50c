//! Integer widths of scratch variables, as bpftrace 0.26 has them: a
//! variable takes the width of the first integer assigned to it (`$x = pid`
//! is a `uint32`, `$x = (uint16)v` a `uint16`) instead of widening to 64
//! bits; an integer literal makes a 64-bit variable. Assigning a value of
//! the same sign but a wider type later is an error (E0348, bpftrace's
//! "Integer size mismatch"), with two exceptions that convert instead:
//! literals (which must fit: `int_ops`, E0450), and results of arithmetic,
//! whose 64-bit value (0.26 types every operation's result 64-bit, see
//! `int_ops`) is truncated back to the variable's width.

use super::types::describe;
use super::Checker;
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, Type};
use crate::source::Span;
use crate::syntax::ast;

/// The type a scratch variable takes from its first value `value` (checked
/// as `ty`): integer literals give 64 bits, other integers keep theirs.
pub(super) fn first_type(value: &ast::Expr, ty: &Type) -> Type {
    match ty {
        Type::Int { signed, .. } if is_literal(value) => Type::Int {
            bits: 64,
            signed: *signed,
        },
        other => other.clone(),
    }
}

/// A variable's storage for a value of type `t`: integers keep their
/// width; everything else as it is.
pub(super) fn local_storage(t: &Type) -> Type {
    t.clone()
}

/// `5`, `-5`, `(5)`.
fn is_literal(e: &ast::Expr) -> bool {
    match &e.kind {
        ast::ExprKind::Int(_) => true,
        ast::ExprKind::Unary { operand, .. } => is_literal(operand),
        _ => false,
    }
}

/// Whether `e` is computed by an operator (its checked type is the 64-bit
/// arithmetic type, not a width the script chose).
fn is_arithmetic(e: &ast::Expr) -> bool {
    matches!(
        e.kind,
        ast::ExprKind::Binary { .. }
            | ast::ExprKind::Unary { .. }
            | ast::ExprKind::Ternary { .. }
            | ast::ExprKind::IncDec { .. }
    )
}

impl Checker<'_> {
    /// Reports E0348 when `value` (from `source`, or from a compound
    /// assignment when `compound`) is an integer of the variable's sign but
    /// wider than the variable's type `to`; returns whether it may be
    /// stored.
    pub(super) fn width_fits(
        &mut self,
        name: &str,
        source: &ast::Expr,
        compound: bool,
        value: &Expr,
        to: &Type,
        span: Span,
    ) -> bool {
        let (
            Type::Int {
                bits: have,
                signed: s1,
            },
            Type::Int {
                bits: want,
                signed: s2,
            },
        ) = (&value.ty, to)
        else {
            return true;
        };
        if compound || have <= want || s1 != s2 || is_literal(source) || is_arithmetic(source) {
            return true;
        }
        self.error(
            Diagnostic::error(
                "E0348",
                format!(
                    "integer size mismatch: `${name}` is {}, the value is {}",
                    describe(to),
                    describe(&value.ty)
                ),
                span,
            )
            .secondary(value.span, describe(&value.ty))
            .help(format!(
                "a scratch variable keeps the width of its first value: give `${name}` a wider first value, e.g. `${name} = ({})...`, or cast this value to {}",
                value.ty, to
            )),
        );
        false
    }
}
