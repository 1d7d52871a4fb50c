//! The functions that change the system rather than observe it, which the
//! catalogue marks `unsafe_`: using one without `--unsafe` is an error that
//! says how to allow it, as in bpftrace. `system(fmt, ...)` (and the safe
//! `cat(fmt, ...)`, which shares its shape) is checked like printf and
//! becomes an action the runtime performs: a `sh -c` command, a file read.

use super::types::convert;
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Action, StmtKind};
use crate::ir::{Expr, ExprKind, Type};
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::signals::SIGNALS;
use ferrotrace_stdlib::{nearest, Function, FunctionInfo};

impl Checker<'_> {
    /// `Some(())` when unsafe functions are allowed; otherwise reports why not.
    pub(super) fn check_unsafe(&mut self, info: &FunctionInfo, span: Span) -> Option<()> {
        if self.options.allow_unsafe {
            return Some(());
        }
        self.error(
            Diagnostic::error(
                "E0261",
                format!("`{}()` is an unsafe function", info.name),
                span,
            )
            .label("needs --unsafe")
            .help("run ferrotrace with `--unsafe` to allow functions that change the system")
            .note("unsafe functions act on the system (run commands, send signals) rather than only observe it"),
        );
        None
    }

    /// `signal(sig)`: a signal name (with or without `SIG`) becomes its
    /// number at compile time; a number must be a valid signal.
    pub(super) fn signal(
        &mut self,
        arg: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let sig = match &arg.kind {
            ast::ExprKind::Str(name) => {
                let bare = name.strip_prefix("SIG").unwrap_or(name);
                let Some(n) = SIGNALS.iter().position(|s| *s == bare) else {
                    let mut d =
                        Diagnostic::error("E0262", format!("unknown signal `{name}`"), arg.span)
                            .label("not a signal name");
                    if let Some(n) = nearest(bare, SIGNALS.iter().copied()) {
                        d = d.help(format!("did you mean `SIG{n}`?"));
                    }
                    self.error(d);
                    return None;
                };
                Expr {
                    kind: ExprKind::Int(n as u64 + 1),
                    ty: Type::U32,
                    span: arg.span,
                }
            }
            ast::ExprKind::Int(n) if *n == 0 || *n > SIGNALS.len() as u64 => {
                self.error(
                    Diagnostic::error("E0262", format!("{n} is not a signal number"), arg.span)
                        .label("out of range")
                        .help(format!(
                            "signals are 1 to {}, or names such as \"SIGKILL\"",
                            SIGNALS.len()
                        )),
                );
                return None;
            }
            _ => convert(self.int_expr(arg, scope)?, &Type::U32),
        };
        Some(Expr {
            kind: ExprKind::Signal(Box::new(sig)),
            ty: Type::I64,
            span,
        })
    }

    /// `system(fmt, ...)` and `cat(fmt, ...)` (and `errorf`/`warnf`): the
    /// arguments are checked as printf's, and the runtime formats the text.
    pub(super) fn formatted_action(
        &mut self,
        f: Function,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let StmtKind::Printf { format, args } = self.printf(args, span, scope)? else {
            return None;
        };
        let action = match f {
            Function::Cat => Action::Cat { format },
            // `errorf`/`warnf`: the text is printed as a located message.
            Function::Errorf | Function::Warnf => Action::Message {
                format,
                error: f == Function::Errorf,
                span,
            },
            _ => Action::System { format },
        };
        Some(self.action(action, args))
    }
}
