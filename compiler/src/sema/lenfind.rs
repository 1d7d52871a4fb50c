//! Checking `len(@map)` (the number of entries, counted by
//! `bpf_for_each_map_elem`), `len(kstack)`/`len(ustack)` (the depth of the
//! current stack) and `find(@map, key, $out)`, which is true when the key
//! is present and then stores its value in the scratch variable `$out`
//! (declared here when it is new): `has_key(@m, k) ? { $out = @m[k]; true }
//! : false` in the IR.

use super::stmt::compatible;
use super::types::{convert, describe};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprKind, LValue, Stmt, StmtKind, Type};
use crate::source::Span;
use crate::syntax::ast;

impl Checker<'_> {
    /// `len(@map)` or `len(kstack)`/`len(ustack)`.
    pub(super) fn len_call(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let arg = args.first()?;
        if let ast::ExprKind::Map { name, keys } = &arg.kind {
            if keys.is_empty() {
                let map = self.map_id(&super::expr::map_name(name), arg.span)?;
                let keyed = self.maps.defs.get(map).is_some_and(|d| !d.key.is_empty());
                if !keyed {
                    self.error(
                        Diagnostic::error("E0384", "`len()` of a map without keys", arg.span)
                            .label("a scalar map has one value")
                            .help("count the entries of a map with keys, e.g. `len(@bytes)` of `@bytes[pid] = ...`"),
                    );
                    return None;
                }
                return Some(Expr {
                    kind: ExprKind::MapLen { map },
                    ty: Type::I64,
                    span,
                });
            }
        }
        let stack_here = matches!(&arg.kind, ast::ExprKind::Ident(n) if n == "kstack" || n == "ustack")
            || matches!(&arg.kind, ast::ExprKind::Call { name, .. } if name == "kstack" || name == "ustack");
        let v = self.expr(arg, scope)?;
        match &v.ty {
            Type::Stack(st) if stack_here => Some(Expr {
                kind: ExprKind::StackLen {
                    kind: st.kind,
                    limit: st.limit,
                },
                ty: Type::I64,
                span,
            }),
            other => {
                self.error(
                    Diagnostic::error(
                        "E0385",
                        format!("`len()` counts a map's entries or a stack's frames, not {}", describe(other)),
                        arg.span,
                    )
                    .label("not a map or the current stack")
                    .help("write `len(@map)`, `len(kstack)` or `len(ustack)`; for a string use `strlen()`"),
                );
                None
            }
        }
    }

    /// `find(@map, key, $out)`.
    pub(super) fn find_call(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let [map_arg, key, out] = args else {
            return None;
        };
        let ast::ExprKind::Map { name, keys } = &map_arg.kind else {
            self.error(
                Diagnostic::error(
                    "E0386",
                    "`find()` needs a map as its first argument",
                    map_arg.span,
                )
                .label("not a map")
                .help("write `find(@map, key, $value)`"),
            );
            return None;
        };
        let ast::ExprKind::Var(out_name) = &out.kind else {
            self.error(
                Diagnostic::error(
                    "E0387",
                    "`find()` stores the value in a scratch variable",
                    out.span,
                )
                .label("not a `$variable`")
                .help("write `find(@map, key, $value)`"),
            );
            return None;
        };
        if !keys.is_empty() {
            self.error(
                Diagnostic::error(
                    "E0386",
                    "`find()` takes the map and the key separately",
                    map_arg.span,
                )
                .label("a map entry")
                .help("write `find(@map, key, $value)`"),
            );
            return None;
        }
        let entry = ast::Expr {
            kind: ast::ExprKind::Map {
                name: name.clone(),
                keys: vec![key.clone()],
            },
            span: map_arg.span.to(key.span),
        };
        let has = ast::Expr {
            kind: ast::ExprKind::Call {
                name: "has_key".into(),
                name_span: span,
                args: vec![map_arg.clone(), key.clone()],
            },
            span,
        };
        let cond = self.expr(&has, scope)?;
        let value = self.expr(&entry, scope)?;
        let id = self.assign_var(out_name, out.span, &value.ty, scope);
        let local = scope.locals.get(id).cloned().unwrap_or(Type::I64);
        if !compatible(&value.ty, &local) {
            self.error(
                Diagnostic::error(
                    "E0388",
                    format!(
                        "`find()` would store {} in `${out_name}`, which holds {}",
                        describe(&value.ty),
                        describe(&local)
                    ),
                    out.span,
                )
                .label("wrong type for this map's values"),
            );
            return None;
        }
        let store = Stmt {
            kind: StmtKind::Store {
                target: LValue::Local(id),
                value: convert(value, &local),
            },
            span,
        };
        let constant = |b| Expr {
            kind: ExprKind::Bool(b),
            ty: Type::Bool,
            span,
        };
        Some(Expr {
            kind: ExprKind::Ternary {
                cond: Box::new(cond),
                then: Box::new(Expr {
                    kind: ExprKind::Block {
                        stmts: vec![store],
                        value: Box::new(constant(true)),
                    },
                    ty: Type::Bool,
                    span,
                }),
                otherwise: Box::new(constant(false)),
            },
            ty: Type::Bool,
            span,
        })
    }
}

/// The kernel functions whose fentry/fexit programs may call `bpf_d_path`
/// (`btf_allowlist_d_path` in the kernel's `kernel/trace/bpf_trace.c`).
const D_PATH_ALLOWED: &[&str] = &[
    "security_file_permission",
    "security_inode_getattr",
    "security_file_open",
    "security_path_truncate",
    "vfs_truncate",
    "vfs_fallocate",
    "dentry_open",
    "vfs_getattr",
    "filp_close",
];

impl Checker<'_> {
    /// `path(p[, size])`: only where the kernel lets `bpf_d_path` run.
    pub(super) fn path_call(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        match &scope.attach {
            crate::ir::Attach::Fentry { function, .. } => {
                if !D_PATH_ALLOWED.contains(&function.as_str()) {
                    self.error(
                        Diagnostic::warning(
                            "W0060",
                            format!("the kernel lets `path()` run only in some functions, and `{function}` is not one of them"),
                            span,
                        )
                        .label("the verifier will likely refuse this")
                        .note(format!("the kernel's list: {}", D_PATH_ALLOWED.join(", "))),
                    );
                }
            }
            crate::ir::Attach::Iter { .. } => {}
            _ => {
                self.error(
                    Diagnostic::error(
                        "E0389",
                        "`path()` works only in fentry/fexit and iter probes",
                        span,
                    )
                    .label("the kernel's `bpf_d_path` is not available here")
                    .help("trace a function that takes a `struct path *`, e.g. `fentry:vfs_getattr { print(path(args.path)); }`"),
                );
                return None;
            }
        }
        let ptr = self.expr(args.first()?, scope)?;
        if !matches!(ptr.ty, Type::Ptr { .. } | Type::Int { .. }) {
            self.error(
                Diagnostic::error(
                    "E0389",
                    format!(
                        "`path()` needs a `struct path *`, not {}",
                        describe(&ptr.ty)
                    ),
                    ptr.span,
                )
                .label("not a pointer"),
            );
            return None;
        }
        let size = match args.get(1) {
            None => self.settings.max_strlen,
            Some(ast::Expr {
                kind: ast::ExprKind::Int(n),
                ..
            }) => u32::try_from(*n).unwrap_or(u32::MAX).clamp(1, 4096),
            Some(other) => {
                self.error(
                    Diagnostic::error(
                        "E0389",
                        "`path()`'s size must be an integer literal",
                        other.span,
                    )
                    .label("not a literal"),
                );
                return None;
            }
        };
        Some(Expr {
            kind: ExprKind::DPath {
                ptr: Box::new(convert(ptr, &Type::U64)),
            },
            ty: Type::Str(size),
            span,
        })
    }
}

impl Checker<'_> {
    /// `is_str(e)` and the other type questions: a constant `bool`; `e` is
    /// checked for its type but never evaluated.
    pub(super) fn introspect(
        &mut self,
        f: ferrotrace_stdlib::Function,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        use ferrotrace_stdlib::Function as F;
        let arg = args.first()?;
        let answer = if f == F::IsLiteral {
            matches!(
                arg.kind,
                ast::ExprKind::Int(_)
                    | ast::ExprKind::Str(_)
                    | ast::ExprKind::Bytes(_)
                    | ast::ExprKind::Bool(_)
            )
        } else if f == F::IsArray && self.byte_field(arg, scope).is_some() {
            true
        } else {
            let ty = self.expr(arg, scope)?.ty;
            match f {
                F::IsStr => matches!(ty, Type::Str(_)),
                F::IsPtr => matches!(ty, Type::Ptr { .. }),
                F::IsInteger => ty.is_int(),
                F::IsUnsignedInteger => ty.is_int() && !ty.is_signed(),
                _ => matches!(ty, Type::Data(crate::manifest::DataKind::Buffer { .. })),
            }
        };
        Some(Expr {
            kind: ExprKind::Bool(answer),
            ty: Type::Bool,
            span,
        })
    }
}

impl Checker<'_> {
    /// `strcap(e)`: a string's capacity or an array's length as a constant;
    /// for a pointer, `strlen(str(p))`.
    pub(super) fn strcap(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let arg = args.first()?;
        let constant = |n: u32| {
            Some(Expr {
                kind: ExprKind::Int(u64::from(n)),
                ty: Type::I64,
                span,
            })
        };
        if let Some(bytes) = self.byte_field(arg, scope) {
            return constant(bytes.ty.size().saturating_sub(8));
        }
        let v = self.expr(arg, scope)?;
        match &v.ty {
            Type::Str(n) => constant(*n),
            Type::Data(crate::manifest::DataKind::Buffer { cap }) => constant(*cap),
            Type::Ptr { .. } | Type::Int { .. } => {
                let read = ast::Expr {
                    kind: ast::ExprKind::Call {
                        name: "str".into(),
                        name_span: span,
                        args: vec![arg.clone()],
                    },
                    span: arg.span,
                };
                let s = self.expr(&read, scope)?;
                Some(Expr {
                    kind: ExprKind::Cast(Box::new(Expr {
                        kind: ExprKind::Strlen(Box::new(s)),
                        ty: Type::U64,
                        span,
                    })),
                    ty: Type::I64,
                    span,
                })
            }
            other => {
                self.error(
                    Diagnostic::error(
                        "E0385",
                        format!(
                            "`strcap()` needs a string, an array or a pointer, not {}",
                            describe(other)
                        ),
                        arg.span,
                    )
                    .label("not string-like"),
                );
                None
            }
        }
    }
}
