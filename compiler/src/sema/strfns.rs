//! Checking the data functions that compute a value from strings or
//! integers in the kernel: `strlen(s)`, `strncmp(a, b, n)` (whose `n` must
//! be an integer literal, so the comparison loop has a constant bound) and
//! `bswap(n)` (which keeps its argument's integer type); `strstr(h, n)`
//! and `strcontains(h, n)` (`strstr(h, n) >= 0`).

use super::types::describe;
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprKind, Type};
use crate::source::Span;
use crate::syntax::ast;
use crate::syntax::ast::BinaryOp;
use ferrotrace_stdlib::Function;

/// The most byte comparisons (buffer sizes multiplied, summed over the
/// probe's `strstr`/`strcontains` calls): the verifier walks every step of
/// the nested loops and leaves at most 8192 branches pending (measured on
/// 6.18: one search of 1024 × 8 bytes loads, 1024 × 9 does not; nor do
/// three searches of 1024 × 6, 1024 × 6 and 1024 × 5 in one probe).
const STRSTR_BUDGET: u64 = 8192;

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

    /// `strstr(hay, needle)`, and `strcontains` as `strstr(..) >= 0`.
    pub(super) fn strstr_call(
        &mut self,
        f: Function,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let hay = self.str_arg(f, args.first()?, scope);
        let needle = self.str_arg(f, args.get(1)?, scope);
        let (hay, needle) = (hay?, needle?);
        let (Type::Str(h), Type::Str(n)) = (&hay.ty, &needle.ty) else {
            return None;
        };
        scope.strstr_cost = scope
            .strstr_cost
            .saturating_add(u64::from(*h) * u64::from(*n));
        if scope.strstr_cost > STRSTR_BUDGET {
            self.error(
                Diagnostic::error(
                    "E0263",
                    format!(
                        "`{}()` of a {h}-byte string and a {n}-byte string is too much for the verifier",
                        f.info().name
                    ),
                    span,
                )
                .label(format!(
                    "{h} × {n} byte comparisons, {} in this probe's searches so far",
                    scope.strstr_cost
                ))
                .help(format!(
                    "a probe's searches may compare at most {STRSTR_BUDGET} bytes (the sizes multiplied, summed): search for a shorter literal, or shorten strings with `config = {{ max_strlen = 256 }}`"
                )),
            );
            return None;
        }
        let found = Expr {
            kind: ExprKind::StrStr {
                hay: Box::new(hay),
                needle: Box::new(needle),
            },
            ty: Type::I64,
            span,
        };
        if f == Function::Strstr {
            return Some(found);
        }
        let zero = Expr {
            kind: ExprKind::Int(0),
            ty: Type::I64,
            span,
        };
        Some(Expr {
            kind: ExprKind::Binary {
                op: BinaryOp::Ge,
                lhs: Box::new(found),
                rhs: Box::new(zero),
            },
            ty: Type::Bool,
            span,
        })
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
