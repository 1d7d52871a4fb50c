//! Checking `errorf(fmt, ...)` and `warnf(fmt, ...)`: their arguments are
//! checked as printf's, and the call becomes a `Message` action whose span
//! the code generator turns into the script location the runtime prints.

use super::{Checker, ProbeScope};
use crate::ir::{Action, StmtKind};
use crate::source::Span;
use crate::syntax::ast;

impl Checker<'_> {
    /// `errorf` (`error` true) or `warnf`.
    pub(super) fn message_action(
        &mut self,
        error: bool,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let StmtKind::Printf { format, args } = self.printf(args, span, scope)? else {
            return None;
        };
        Some(self.action(
            Action::Message {
                format,
                error,
                span,
            },
            args,
        ))
    }
}
