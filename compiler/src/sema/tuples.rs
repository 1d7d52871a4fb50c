//! Tuples: `(1, "a")`, `(1,)`, `()`, element access `.N`, and tuples as
//! map keys — `@m[(a, b)]` and `@m[$t]` mean the same as `@m[a, b]`, so a
//! single tuple key is spread into its elements. Elements are stored with
//! their storage types (integers 64-bit), so two tuples of the same shape
//! have the same layout.

use super::types::{convert, describe, storage_type, tuple_elements};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{BinaryOp, Expr, ExprKind, Type};
use crate::source::Span;
use crate::syntax::ast;

impl Checker<'_> {
    pub(super) fn tuple(
        &mut self,
        elems: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let elems = self.exprs(elems, scope)?;
        let elems: Vec<Expr> = elems
            .into_iter()
            .map(|e| {
                let ty = storage_type(&e.ty);
                convert(e, &ty)
            })
            .collect();
        let ty = Type::Tuple(elems.iter().map(|e| e.ty.clone()).collect());
        Some(Expr {
            kind: ExprKind::Tuple(elems),
            ty,
            span,
        })
    }

    pub(super) fn tuple_index(
        &mut self,
        base: &ast::Expr,
        index: u32,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let base = self.expr(base, scope)?;
        // A record is a named tuple: `.N` reads its fields by position too.
        let Some(elems) = base.ty.tuple_elems() else {
            self.error(
                Diagnostic::error(
                    "E0222",
                    format!("`.{index}` needs a tuple, not {}", describe(&base.ty)),
                    span,
                )
                .secondary(base.span, describe(&base.ty)),
            );
            return None;
        };
        let Some(ty) = elems.get(index as usize).cloned() else {
            self.error(
                Diagnostic::error(
                    "E0222",
                    format!("tuple index {index} is out of range"),
                    span,
                )
                .label(format!(
                    "this tuple has {} element{}",
                    elems.len(),
                    if elems.len() == 1 { "" } else { "s" }
                ))
                .help(format!(
                    "valid indices are 0 to {}",
                    elems.len().saturating_sub(1)
                )),
            );
            return None;
        };
        Some(Expr {
            kind: ExprKind::TupleGet {
                base: Box::new(base),
                index: index as usize,
            },
            ty,
            span,
        })
    }

    /// `a == b` (or `!=`) on tuples of the same length: element by element,
    /// all equal.
    pub(super) fn tuple_equality(
        &mut self,
        eq: bool,
        l: Expr,
        r: Expr,
        span: Span,
    ) -> Option<Expr> {
        let pairs: Vec<(Expr, Expr)> = tuple_elements(l)
            .into_iter()
            .zip(tuple_elements(r))
            .collect();
        let mut all: Option<Expr> = None;
        for (a, b) in pairs {
            let same = self.binary(BinaryOp::Eq, a, b, span)?;
            all = Some(match all {
                None => same,
                Some(prev) => self.binary(BinaryOp::And, prev, same, span)?,
            });
        }
        let all = all.unwrap_or(Expr {
            kind: ExprKind::Bool(true),
            ty: Type::Bool,
            span,
        });
        if eq {
            return Some(all);
        }
        Some(Expr {
            kind: ExprKind::Unary {
                op: crate::ir::UnaryOp::Not,
                operand: Box::new(all),
            },
            ty: Type::Bool,
            span,
        })
    }

    /// Checks map key expressions; a single tuple key becomes its elements.
    pub(super) fn key_exprs(
        &mut self,
        keys: &[ast::Expr],
        scope: &mut ProbeScope,
    ) -> Option<Vec<Expr>> {
        let mut keys = self.exprs(keys, scope)?;
        if keys.len() != 1 {
            return Some(keys);
        }
        let key = keys.pop()?;
        // A record key stays one value: its field names are printed.
        Some(if matches!(key.ty, Type::Tuple(_)) {
            tuple_elements(key)
        } else {
            vec![key]
        })
    }
}
