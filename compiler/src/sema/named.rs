//! Checking `syscall_name(n)`, `signal_name(n)`, `strerror(n)` and the
//! `username` builtin: like
//! `ksym(addr)`, each keeps its integer argument as a `u64` in BPF
//! (`ExprKind::SymbolOf`) and types it `Type::Named`, so the runtime prints
//! the name from the manifest's `NameTable` instead of the number.

use super::types::convert;
use super::{Checker, ProbeScope};
use crate::ir::{Expr, ExprKind, Type};
use crate::manifest::NameTable;
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::Builtin;

impl Checker<'_> {
    /// A call whose integer argument is printed as its name in `table`.
    pub(super) fn named_call(
        &mut self,
        table: NameTable,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let n = self.int_expr(args.first()?, scope)?;
        Some(Expr {
            kind: ExprKind::SymbolOf(Box::new(convert(n, &Type::U64))),
            ty: Type::Named(table),
            span,
        })
    }

    /// `username`: `uid`, printed as the user's name.
    pub(super) fn username(&mut self, span: Span) -> Expr {
        let uid = Expr {
            kind: ExprKind::Builtin(Builtin::Uid),
            ty: Type::U64,
            span,
        };
        Expr {
            kind: ExprKind::SymbolOf(Box::new(uid)),
            ty: Type::Named(NameTable::User),
            span,
        }
    }
}
