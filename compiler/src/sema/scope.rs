//! Scratch variables and their scopes: every `{ }` block opens a scope,
//! a variable is visible from its declaration (`let $x`, or its first
//! assignment) to the end of its block, and a declaration may not shadow a
//! visible variable (E0215, with both spans). The old probe-wide reading —
//! a variable assigned inside an `if` block and read after it — still
//! works, with a warning (W0002) that shows the modern spelling.

use super::stmt::{compatible, widen};
use super::types::{convert, describe, storage_type};
use super::{Checker, Pass, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprKind, LValue, Stmt, StmtKind, Type, VarId};
use crate::source::Span;
use crate::syntax::ast;
use std::collections::HashMap;

/// One declared name in a scope.
#[derive(Debug, Clone, Copy)]
struct Binding {
    id: VarId,
    span: Span,
}

/// The scopes of one probe, innermost last.
#[derive(Debug, Default)]
pub(super) struct Scopes {
    frames: Vec<HashMap<String, Binding>>,
    /// Variables whose block has ended, by name (the latest wins).
    closed: HashMap<String, Binding>,
    /// Variables declared with `let $x;` whose type the first assignment fixes.
    untyped: Vec<VarId>,
    /// Variables declared with an explicit type, which never grows.
    typed: Vec<VarId>,
    /// How many loops enclose the current statement.
    pub loop_depth: u32,
    /// How many `for` loops enclose it (their bodies run in a callback,
    /// where `exit()` is not allowed, as in bpftrace 0.25).
    pub in_for_loop: u32,
}

impl Scopes {
    pub fn new() -> Scopes {
        Scopes {
            frames: vec![HashMap::new()],
            ..Scopes::default()
        }
    }

    fn visible(&self, name: &str) -> Option<Binding> {
        self.frames.iter().rev().find_map(|f| f.get(name).copied())
    }

    pub fn lookup(&self, name: &str) -> Option<VarId> {
        self.visible(name).map(|b| b.id)
    }

    pub fn push(&mut self) {
        self.frames.push(HashMap::new());
    }

    pub fn pop(&mut self) {
        if let Some(frame) = self.frames.pop() {
            self.closed.extend(frame);
        }
    }

    /// Pops a loop's scope: its loop variable is not readable after the
    /// loop, not even in the old probe-wide reading.
    pub fn pop_loop(&mut self, var: &str) {
        self.pop();
        self.closed.remove(var);
    }

    /// Makes `name` refer to variable `id` in the innermost scope.
    pub fn bind_name(&mut self, name: &str, id: VarId, span: Span) {
        self.bind(name, id, span);
    }

    fn bind(&mut self, name: &str, id: VarId, span: Span) {
        if let Some(f) = self.frames.last_mut() {
            f.insert(name.to_string(), Binding { id, span });
        }
    }
}

impl ProbeScope {
    /// Adds a local of type `ty` (grown to what the inference pass saw
    /// assigned to it, so `$s = "ab"; $s = "abcdef";` keeps all of it).
    pub(super) fn new_local(&mut self, mut ty: Type) -> VarId {
        let id = self.locals.len();
        if let Some(seen) = self.inferred.get(id) {
            widen(&mut ty, seen);
        }
        self.locals.push(ty);
        id
    }
}

impl Checker<'_> {
    /// Checks the statements of a `{ }` block in a scope of their own.
    pub(super) fn scoped_block(
        &mut self,
        stmts: &[ast::Stmt],
        scope: &mut ProbeScope,
    ) -> Vec<Stmt> {
        scope.vars.push();
        let out = self.block(stmts, scope);
        scope.vars.pop();
        out
    }

    /// Reads `$name`: a visible variable, or (old dialect, with a warning)
    /// one whose block has already ended.
    pub(super) fn read_var(
        &mut self,
        name: &str,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let id = match scope.vars.lookup(name) {
            Some(id) => id,
            None => match scope.vars.closed.get(name).copied() {
                Some(b) => {
                    self.error(
                        Diagnostic::warning(
                            "W0002",
                            format!("`${name}` is used outside the block that assigned it"),
                            span,
                        )
                        .label("read here, after its block ended")
                        .secondary(b.span, "assigned in an inner block")
                        .help(format!(
                            "declare it before that block: `let ${name};` (scratch variables are block scoped since bpftrace 0.22)"
                        )),
                    );
                    scope.vars.bind(name, b.id, b.span);
                    b.id
                }
                None => {
                    self.error(
                        Diagnostic::error(
                            "E0207",
                            format!("variable `${name}` is used before it is assigned"),
                            span,
                        )
                        .label("never assigned before this point")
                        .help(format!("assign it first, e.g. `${name} = 0;`")),
                    );
                    return None;
                }
            },
        };
        let ty = self.local_type(id, scope);
        Some(Expr {
            kind: ExprKind::Local(id),
            ty,
            span,
        })
    }

    /// The type of a local; an untyped `let $x;` never assigned reads as int64.
    fn local_type(&self, id: VarId, scope: &ProbeScope) -> Type {
        scope.locals.get(id).cloned().unwrap_or(Type::I64)
    }

    /// The variable an assignment to `$name` writes, declaring it in the
    /// current scope when it is not visible. A name whose earlier block has
    /// ended reuses that variable's storage when the type agrees, so the
    /// old probe-wide reading sees the last value assigned.
    pub(super) fn assign_var(
        &mut self,
        name: &str,
        span: Span,
        value_ty: &Type,
        scope: &mut ProbeScope,
    ) -> VarId {
        if let Some(id) = scope.vars.lookup(name) {
            if let Some(pos) = scope.vars.untyped.iter().position(|&u| u == id) {
                scope.vars.untyped.remove(pos);
                if let Some(slot) = scope.locals.get_mut(id) {
                    *slot = super::widths::local_storage(value_ty);
                    if let Some(seen) = scope.inferred.get(id) {
                        widen(slot, seen);
                    }
                }
            } else if self.pass == Pass::Infer && !scope.vars.typed.contains(&id) {
                if let Some(slot) = scope.locals.get_mut(id) {
                    widen(slot, value_ty);
                }
            }
            return id;
        }
        let ty = super::widths::local_storage(value_ty);
        if let Some(b) = scope.vars.closed.get(name).copied() {
            if scope.locals.get(b.id) == Some(&ty) {
                scope.vars.bind(name, b.id, span);
                return b.id;
            }
        }
        let id = scope.new_local(ty);
        scope.vars.bind(name, id, span);
        id
    }

    /// `let $x;`, `let $x = e;`, `let $x: type = e;`
    pub(super) fn let_stmt(
        &mut self,
        name: &str,
        name_span: Span,
        ty: Option<&ast::TypeName>,
        value: Option<&ast::Expr>,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let declared = match ty {
            Some(t) => Some(self.type_name(t, scope)?),
            None => None,
        };
        let value_ast = value;
        let value = match value {
            Some(v) => Some(self.expr(v, scope)?),
            None => None,
        };
        if let Some(prev) = scope.vars.visible(name) {
            self.error(
                Diagnostic::error(
                    "E0215",
                    format!("variable `${name}` is already declared"),
                    name_span,
                )
                .label("declared again here")
                .secondary(prev.span, "first declared here")
                .help(format!(
                    "scratch variables cannot be shadowed: pick another name, or assign with `${name} = ...`"
                )),
            );
            return None;
        }
        let ty = match (&declared, &value) {
            (Some(t), _) => t.clone(),
            (None, Some(v)) => match value_ast {
                Some(source) => super::widths::first_type(source, &v.ty),
                None => storage_type(&v.ty),
            },
            (None, None) => Type::I64,
        };
        let id = if declared.is_some() {
            scope.locals.push(ty.clone());
            scope.vars.typed.push(scope.locals.len() - 1);
            scope.locals.len() - 1
        } else {
            scope.new_local(ty.clone())
        };
        let ty = scope.locals.get(id).cloned().unwrap_or(ty);
        scope.vars.bind(name, id, name_span);
        if declared.is_none() && value.is_none() {
            scope.vars.untyped.push(id);
        }
        let value = match value {
            // `let $x;`: storage is zeroed in the prologue and the type is
            // fixed by the first assignment, so nothing is stored here.
            None if declared.is_none() => {
                return Some(StmtKind::Expr(zero_of(&Type::I64, name_span)?))
            }
            Some(v) => {
                if !compatible(&v.ty, &ty) {
                    self.error(
                        Diagnostic::error(
                            "E0208",
                            format!(
                                "cannot initialize `${name}`, declared as {}, with {}",
                                describe(&ty),
                                describe(&v.ty)
                            ),
                            v.span,
                        )
                        .label(describe(&v.ty))
                        .secondary(name_span, describe(&ty)),
                    );
                    return None;
                }
                convert(v, &ty)
            }
            None => zero_of(&ty, name_span)?,
        };
        Some(StmtKind::Store {
            target: LValue::Local(id),
            value,
        })
    }

    /// Resolves a written type name (`uint16`, `bool`, `string`).
    pub(super) fn type_name(&mut self, t: &ast::TypeName, scope: &mut ProbeScope) -> Option<Type> {
        if let Some(e) = &t.of {
            // Only the type is used; the expression is not evaluated.
            return Some(self.expr(e, scope)?.ty);
        }
        let c_type = self.c_type_name(&t.name, t.span);
        let base = match t.name.as_str() {
            _ if c_type.is_some() => c_type??,
            "bool" => Type::Bool,
            "string" => Type::Str(self.settings.max_strlen),
            name => match int_type(name) {
                Some(t) => t,
                None => {
                    self.error(
                        Diagnostic::error("E0216", format!("unknown type `{name}`"), t.span)
                            .label("not a type"),
                    );
                    return None;
                }
            },
        };
        if t.pointer_depth > 0 && matches!(base, Type::Str(_)) {
            self.error(
                Diagnostic::error("E0216", "pointer types are not supported here yet", t.span)
                    .label("pointer type")
                    .help("cast to `uint64` to work with the address"),
            );
            return None;
        }
        let space = if scope.user.is_some() {
            crate::ir::AddrSpace::User
        } else {
            crate::ir::AddrSpace::Kernel
        };
        Some((0..t.pointer_depth).fold(base, |t, _| Type::Ptr {
            pointee: Box::new(t),
            space,
        }))
    }
}

/// `int8`..`int64`, `uint8`..`uint64`.
pub(super) fn int_type(name: &str) -> Option<Type> {
    let (signed, bits) = match name.strip_prefix('u') {
        Some(rest) => (false, rest.strip_prefix("int")?),
        None => (true, name.strip_prefix("int")?),
    };
    let bits: u8 = match bits {
        "8" => 8,
        "16" => 16,
        "32" => 32,
        "64" => 64,
        _ => return None,
    };
    Some(Type::Int { bits, signed })
}

/// The zero value a `let` without initializer stores.
fn zero_of(ty: &Type, span: Span) -> Option<Expr> {
    let kind = match ty {
        Type::Bool => ExprKind::Bool(false),
        Type::Str(_) => ExprKind::Str(String::new()),
        _ => ExprKind::Int(0),
    };
    Some(Expr {
        kind,
        ty: ty.clone(),
        span,
    })
}
