//! Checking `kstack`/`ustack` calls: the optional print mode (a bare
//! `bpftrace`, `perf` or `raw`) and frame limit (an integer literal) fix the
//! stack value's type, so two stacks of different modes or limits are
//! different types, and the code generator and the runtime read them from
//! the type alone.

use super::Checker;
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprKind, StackType, Type};
use crate::manifest::{StackKind, StackMode};
use crate::source::Span;
use crate::syntax::ast;

/// The largest frame limit: the kernel's default `perf_event_max_stack`.
const MAX_LIMIT: u64 = 127;

/// The type of a bare `kstack`/`ustack`.
pub fn default_stack(kind: StackKind) -> Type {
    Type::Stack(StackType {
        kind,
        mode: StackMode::Bpftrace,
        limit: StackType::DEFAULT_LIMIT,
    })
}

impl Checker<'_> {
    /// `kstack([mode][, limit])` / `ustack([mode][, limit])`.
    pub(super) fn stack_call(
        &mut self,
        kind: StackKind,
        args: &[ast::Expr],
        span: Span,
    ) -> Option<Expr> {
        let mut mode = StackMode::Bpftrace;
        let mut limit = StackType::DEFAULT_LIMIT;
        for (i, arg) in args.iter().enumerate() {
            match &arg.kind {
                ast::ExprKind::Ident(name) if i == 0 => match StackMode::lookup(name) {
                    Some(m) => mode = m,
                    None => {
                        self.error(
                            Diagnostic::error(
                                "E0250",
                                format!("unknown stack mode `{name}`"),
                                arg.span,
                            )
                            .label("not a stack mode")
                            .help("the modes are `bpftrace`, `perf` and `raw`"),
                        );
                        return None;
                    }
                },
                ast::ExprKind::Int(n) if (1..=MAX_LIMIT).contains(n) && i + 1 == args.len() => {
                    limit = u8::try_from(*n).unwrap_or(StackType::DEFAULT_LIMIT);
                }
                ast::ExprKind::Int(_) => {
                    self.error(
                        Diagnostic::error(
                            "E0251",
                            format!("a stack's frame limit must be between 1 and {MAX_LIMIT}"),
                            arg.span,
                        )
                        .label("out of range")
                        .help("the kernel records at most `perf_event_max_stack` (127) frames"),
                    );
                    return None;
                }
                _ => {
                    self.error(
                        Diagnostic::error(
                            "E0251",
                            "expected a stack mode or a frame limit",
                            arg.span,
                        )
                        .label("neither a mode nor an integer literal")
                        .help("write e.g. `kstack(perf, 10)`, `kstack(raw)` or `kstack(5)`"),
                    );
                    return None;
                }
            }
        }
        let builtin = match kind {
            StackKind::Kernel => ferrotrace_stdlib::Builtin::Kstack,
            StackKind::User => ferrotrace_stdlib::Builtin::Ustack,
        };
        Some(Expr {
            kind: ExprKind::Builtin(builtin),
            ty: Type::Stack(StackType { kind, mode, limit }),
            span,
        })
    }
}
