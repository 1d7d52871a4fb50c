//! Casts and block expressions. `(uint8)x`, `(int64)@s`, `(bool)n` convert
//! integers and booleans to any integer width and sign, truncating or
//! extending as C does; strings cannot be cast. A block expression
//! `{ stmts; value }` checks its statements in a scope of their own and
//! yields its final expression.

use super::types::{convert, describe, to_bool};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprKind, Type};
use crate::source::Span;
use crate::syntax::ast;

impl Checker<'_> {
    pub(super) fn cast(
        &mut self,
        ty: &ast::TypeName,
        operand: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let to = self.type_name(ty, scope);
        let e = self.expr(operand, scope)?;
        let to = to?;
        let ok = matches!(
            (&e.ty, &to),
            (
                Type::Int { .. } | Type::Bool | Type::Ptr { .. },
                Type::Int { .. } | Type::Bool
            ) | (Type::Int { .. } | Type::Ptr { .. }, Type::Ptr { .. })
        );
        if !ok {
            self.error(
                Diagnostic::error(
                    "E0216",
                    format!("cannot cast {} to {}", describe(&e.ty), describe(&to)),
                    span,
                )
                .secondary(e.span, describe(&e.ty))
                .help("casts convert between integer types and bool"),
            );
            return None;
        }
        let mut out = match to {
            Type::Bool => to_bool(e),
            // A pointer already of the type (e.g. `(struct task_struct *)curtask`).
            Type::Ptr { .. } if e.ty == to => e,
            Type::Ptr { .. } => {
                let addr = convert(e, &Type::U64);
                Expr {
                    kind: ExprKind::Cast(Box::new(addr)),
                    ty: to,
                    span,
                }
            }
            _ => convert(e, &to),
        };
        out.span = span;
        Some(out)
    }

    pub(super) fn block_value(
        &mut self,
        stmts: &[ast::Stmt],
        value: Option<&ast::Expr>,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        scope.vars.push();
        let body = self.block(stmts, scope);
        let value = match value {
            Some(v) => self.expr(v, scope),
            None => {
                self.error(
                    Diagnostic::error("E0212", "this block has no value", span)
                        .label("used as a value here")
                        .help("end the block with an expression and no `;`, e.g. `{ $a = 1; $a + 1 }`"),
                );
                None
            }
        };
        scope.vars.pop();
        let value = value?;
        let ty = value.ty.clone();
        Some(Expr {
            kind: ExprKind::Block {
                stmts: body,
                value: Box::new(value),
            },
            ty,
            span,
        })
    }
}
