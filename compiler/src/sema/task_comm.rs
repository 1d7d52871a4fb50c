//! The task functions that name another task: `comm(pid)` (bpftrace 0.25+,
//! checked into `ExprKind::TaskComm`: the pid is an integer, the offset of
//! `comm` in `struct task_struct` comes from BTF through `KernelInfo`; the
//! task is found in the kernel with the `bpf_task_from_pid` kfunc, as
//! bpftrace does) and `ppid(task)`/`pcomm(task)` (0.26: the parent of the
//! task a `struct task_struct *` or `curtask` points to).

use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{AddrSpace, Expr, ExprKind, Type};
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::Builtin;

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

    /// `ppid(task)` / `pcomm(task)`: the parent's tgid or name of `task`.
    pub(super) fn parent_of_task(
        &mut self,
        b: Builtin,
        arg: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let task = self.expr(arg, scope)?;
        let is_task = match &task.ty {
            Type::Ptr {
                pointee,
                space: AddrSpace::Kernel,
            } => matches!(&**pointee, Type::Struct(s) if s.name == "struct task_struct"),
            // `curtask` is the current task's address.
            Type::Int {
                bits: 64,
                signed: false,
            } => matches!(&arg.kind, ast::ExprKind::Ident(n) if n == "curtask"),
            _ => false,
        };
        if !is_task {
            let name = b.info().name;
            self.error(
                Diagnostic::error(
                    "E0435",
                    format!("`{name}(task)` needs a `struct task_struct *`, not {}", task.ty),
                    arg.span,
                )
                .label("not a task pointer")
                .help(format!(
                    "pass `curtask` or a `struct task_struct *`, e.g. `{name}((struct task_struct *)addr)`; `{name}` alone is the current task's"
                )),
            );
            return None;
        }
        let (field, ty) = if b == Builtin::Pcomm {
            ("comm", COMM)
        } else {
            ("tgid", Type::U32)
        };
        self.task_member_of(b, task, "real_parent", field, ty, span)
    }
}
