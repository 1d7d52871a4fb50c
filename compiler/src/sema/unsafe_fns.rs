//! The functions that change the system rather than observe it, which the
//! catalogue marks `unsafe_`: using one without `--unsafe` is an error that
//! says how to allow it, as in bpftrace. `system(fmt, ...)` (and the safe
//! `cat(fmt, ...)`, which shares its shape) is checked like printf and
//! becomes an action the runtime performs: a `sh -c` command, a file read.

use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Action, StmtKind};
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::{Function, FunctionInfo};

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

    /// `system(fmt, ...)` and `cat(fmt, ...)`: the arguments are checked
    /// as printf's, and the runtime formats the text.
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
        let action = if f == Function::Cat {
            Action::Cat { format }
        } else {
            Action::System { format }
        };
        Some(self.action(action, args))
    }
}
