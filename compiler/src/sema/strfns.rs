//! Checking the data functions that compute a value from strings or
//! integers in the kernel: `strlen(s)`, `strncmp(a, b, n)` (whose `n` must
//! be an integer literal, so the comparison loop has a constant bound) and
//! `bswap(n)` (which keeps its argument's integer type).

use super::types::describe;
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprKind, Type};
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::Function;

impl Checker<'_> {
    /// `strlen`, `strncmp` and `bswap`; the argument count is already checked.
    pub(super) fn data_call(
        &mut self,
        f: Function,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let (kind, ty) = match f {
            Function::Strlen => {
                let s = self.str_arg(f, args.first()?, scope)?;
                (ExprKind::Strlen(Box::new(s)), Type::U64)
            }
            Function::Strncmp => {
                let lhs = self.str_arg(f, args.first()?, scope);
                let rhs = self.str_arg(f, args.get(1)?, scope);
                let n = self.literal_len(args.get(2)?)?;
                (
                    ExprKind::StrNcmp {
                        lhs: Box::new(lhs?),
                        rhs: Box::new(rhs?),
                        n,
                    },
                    Type::I64,
                )
            }
            _ => {
                let v = self.int_expr(args.first()?, scope)?;
                let ty = v.ty.clone();
                (ExprKind::Bswap(Box::new(v)), ty)
            }
        };
        Some(Expr { kind, ty, span })
    }

    /// An argument that must be a string.
    fn str_arg(&mut self, f: Function, e: &ast::Expr, scope: &mut ProbeScope) -> Option<Expr> {
        let checked = self.expr(e, scope)?;
        if matches!(checked.ty, Type::Str(_)) {
            return Some(checked);
        }
        self.error(
            Diagnostic::error(
                "E0201",
                format!(
                    "`{}()` needs a string, not {}",
                    f.info().name,
                    describe(&checked.ty)
                ),
                e.span,
            )
            .label("not a string")
            .help("read a pointer as a string with `str(p)`"),
        );
        None
    }

    /// `strncmp`'s length: a non-negative integer literal.
    fn literal_len(&mut self, e: &ast::Expr) -> Option<u32> {
        if let ast::ExprKind::Int(n) = e.kind {
            if let Ok(n) = u32::try_from(n) {
                return Some(n);
            }
        }
        self.error(
            Diagnostic::error(
                "E0260",
                "`strncmp()`'s length must be an integer literal",
                e.span,
            )
            .label("not a literal")
            .help("write the number of bytes to compare, e.g. `strncmp(comm, \"bash\", 4)`"),
        );
        None
    }
}
