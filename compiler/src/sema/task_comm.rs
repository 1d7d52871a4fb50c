//! `comm(pid)` (bpftrace 0.25+: the name of another task, by pid), checked
//! into `ExprKind::TaskComm`: the pid is an integer, the offset of `comm`
//! in `struct task_struct` comes from BTF through `KernelInfo`. The task is
//! found in the kernel with the `bpf_task_from_pid` kfunc, as bpftrace does.

use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprKind, Type};
use crate::source::Span;
use crate::syntax::ast;

/// `comm`'s string type: `TASK_COMM_LEN` bytes.
const COMM: Type = Type::Str(16);

impl Checker<'_> {
    /// `comm(pid)`.
    pub(super) fn comm_of_pid(
        &mut self,
        arg: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let pid = self.int_expr(arg, scope)?;
        let offset = match self.kernel.field_offset("task_struct", "comm") {
            Ok(Some(off)) => off,
            Ok(None) => {
                self.comm_error(
                    span,
                    "the kernel's `struct task_struct` has no member `comm`".into(),
                );
                return None;
            }
            Err(why) => {
                self.comm_error(span, why);
                return None;
            }
        };
        Some(Expr {
            kind: ExprKind::TaskComm {
                pid: Box::new(pid),
                offset,
            },
            ty: COMM,
            span,
        })
    }

    fn comm_error(&mut self, span: Span, why: String) {
        self.error(
            Diagnostic::error("E0434", "`comm(pid)` cannot be read on this kernel", span)
                .label("needs `struct task_struct` from BTF")
                .note(why),
        );
    }
}
