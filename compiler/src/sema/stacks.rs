//! Checking `kstack`/`ustack` calls: the optional print mode (a bare
//! `bpftrace`, `perf` or `raw`) and frame limit (an integer literal) fix the
//! stack value's type, so two stacks of different modes or limits are
//! different types, and the code generator and the runtime read them from
//! the type alone. `ksym`/`usym` keep an address to symbolize in user
//! space; `kaddr` asks `KernelInfo` for a symbol's address at compile time.

use super::types::{convert, describe};
use super::{Checker, ProbeScope};
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
    /// `ksym(addr)` / `usym(addr)`.
    pub(super) fn symbol_call(
        &mut self,
        kind: StackKind,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let addr = self.expr(args.first()?, scope)?;
        if !matches!(addr.ty, Type::Int { .. } | Type::Ptr { .. }) {
            self.error(
                Diagnostic::error(
                    "E0201",
                    format!("expected an address, found {}", describe(&addr.ty)),
                    addr.span,
                )
                .label("not an integer or pointer"),
            );
            return None;
        }
        Some(Expr {
            kind: ExprKind::SymbolOf(Box::new(convert(addr, &Type::U64))),
            ty: Type::Symbol(kind),
            span,
        })
    }

    /// `kaddr("name")`: the kernel symbol's address, as a constant.
    pub(super) fn kaddr_call(&mut self, args: &[ast::Expr], span: Span) -> Option<Expr> {
        let arg = args.first()?;
        let ast::ExprKind::Str(name) = &arg.kind else {
            self.error(
                Diagnostic::error("E0252", "kaddr() needs a string literal", arg.span)
                    .label("not a string literal")
                    .help("write the symbol's name in quotes, e.g. `kaddr(\"jiffies\")`"),
            );
            return None;
        };
        match self.kernel.kernel_symbol_address(name) {
            Ok(Some(addr)) => Some(Expr {
                kind: ExprKind::Int(addr),
                ty: Type::U64,
                span,
            }),
            Ok(None) => {
                self.error(
                    Diagnostic::error(
                        "E0252",
                        format!("the kernel has no symbol `{name}`"),
                        arg.span,
                    )
                    .label("not in /proc/kallsyms")
                    .help(
                        "check the spelling; `grep NAME /proc/kallsyms` lists the kernel's symbols",
                    ),
                );
                None
            }
            Err(why) => {
                self.error(
                    Diagnostic::error("E0252", format!("cannot look up `{name}`: {why}"), arg.span)
                        .label("kernel symbol"),
                );
                None
            }
        }
    }

    /// `kstack([mode][, limit])` / `ustack([mode][, limit])`.
    pub(super) fn stack_call(
        &mut self,
        kind: StackKind,
        args: &[ast::Expr],
        span: Span,
    ) -> Option<Expr> {
        let mut mode = self.settings.more.stack_mode;
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
