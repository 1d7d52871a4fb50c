//! Builtins whose value depends on the probe they appear in: `probe` (the
//! concrete probe's name, a string constant) and `argN`/`retval` (64-bit
//! reads at offsets of the probe's BPF context that `probes` resolved for
//! its kind). They are lowered here into plain IR, so code generation sees
//! a string literal or a context field read.

use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprKind, Type};
use crate::source::Span;
use ferrotrace_stdlib::Builtin;

impl Checker<'_> {
    /// The IR of a context-dependent builtin, `Some(None)` after reporting
    /// an error, or `None` for every other builtin.
    pub(super) fn context_builtin(
        &mut self,
        b: Builtin,
        span: Span,
        scope: &ProbeScope,
    ) -> Option<Option<Expr>> {
        let offset = match b {
            Builtin::Probe => {
                let name = scope.probe_name.clone();
                let ty = Type::Str(u32::try_from(name.len() + 1).unwrap_or(u32::MAX));
                return Some(Some(Expr {
                    kind: ExprKind::Str(name),
                    ty,
                    span,
                }));
            }
            Builtin::Arg(n) => scope.args.args.get(usize::from(n)).copied(),
            Builtin::Retval => scope.args.retval,
            _ => return None,
        };
        let Some(offset) = offset else {
            let what = match b {
                Builtin::Arg(n) => format!("arg{n}"),
                _ => "retval".to_string(),
            };
            let kinds = if matches!(b, Builtin::Retval) {
                "kretprobe, uretprobe and fexit probes"
            } else {
                "kprobe, uprobe, rawtracepoint, fentry and fexit probes, up to the probe's last argument"
            };
            self.error(
                Diagnostic::error(
                    "E0215",
                    format!("`{what}` is not available in `{}`", scope.probe_name),
                    span,
                )
                .label("this probe has no such value")
                .help(format!("`{what}` exists in {kinds}")),
            );
            return Some(None);
        };
        Some(Some(Expr {
            kind: ExprKind::TracepointField { offset },
            ty: Type::U64,
            span,
        }))
    }
}
