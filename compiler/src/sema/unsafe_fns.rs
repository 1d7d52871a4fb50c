//! The functions that change the system rather than observe it, which the
//! catalogue marks `unsafe_`: using one without `--unsafe` is an error that
//! says how to allow it, as in bpftrace. `system(fmt, ...)` is checked like
//! printf and becomes an action the runtime performs with `sh -c`.

use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Action, StmtKind};
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::FunctionInfo;

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

    /// `system(fmt, ...)`: the arguments are checked as printf's.
    pub(super) fn system(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let StmtKind::Printf { format, args } = self.printf(args, span, scope)? else {
            return None;
        };
        Some(self.action(Action::System { format }, args))
    }
}
