//! Checking statements: assignments (to maps and scratch variables, with
//! compound operators desugared into a read, an operation and a store),
//! aggregations, `if`, `printf` and `exit`. Map and variable types are
//! defined by their first assignment; later uses must agree.

use super::expr::map_name;
use super::types::{convert, describe, storage_type};
use super::{Checker, Pass, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, Format, LValue, MapDef, MapId, MapValue, Stmt, StmtKind, Type};
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::printf::{self, Conversion, Piece};
use ferrotrace_stdlib::Function;

impl Checker<'_> {
    pub(super) fn block(&mut self, stmts: &[ast::Stmt], scope: &mut ProbeScope) -> Vec<Stmt> {
        stmts.iter().filter_map(|s| self.stmt(s, scope)).collect()
    }

    fn stmt(&mut self, s: &ast::Stmt, scope: &mut ProbeScope) -> Option<Stmt> {
        let span = s.span;
        let kind = match &s.kind {
            ast::StmtKind::Expr(e) => self.expr_stmt(e, scope)?,
            ast::StmtKind::Assign { target, op, value } => {
                self.assign(target, *op, value, span, scope)?
            }
            ast::StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                let cond = self.condition(cond, scope);
                let then = self.scoped_block(&then.stmts, scope);
                let otherwise = otherwise
                    .as_ref()
                    .map(|b| self.scoped_block(&b.stmts, scope))
                    .unwrap_or_default();
                StmtKind::If {
                    cond: cond?,
                    then,
                    otherwise,
                }
            }
            ast::StmtKind::Let {
                name,
                name_span,
                ty,
                value,
            } => self.let_stmt(name, *name_span, ty.as_ref(), value.as_ref(), scope)?,
            _ => self.loop_stmt(s, scope)??,
        };
        Some(Stmt { kind, span })
    }

    fn expr_stmt(&mut self, e: &ast::Expr, scope: &mut ProbeScope) -> Option<StmtKind> {
        match &e.kind {
            ast::ExprKind::Call { name, args, .. } if self.is_macro(name) => {
                return self.macro_stmt(name, args, e.span, scope)
            }
            ast::ExprKind::Ident(name) if self.is_macro(name) => {
                return self.macro_stmt(name, &[], e.span, scope)
            }
            _ => {}
        }
        let (name, name_span, args): (&str, Span, &[ast::Expr]) = match &e.kind {
            ast::ExprKind::Call {
                name,
                name_span,
                args,
            } => (name, *name_span, args),
            ast::ExprKind::Ident(name) if Function::lookup(name) == Some(Function::Exit) => {
                (name, e.span, &[])
            }
            _ => return Some(StmtKind::Expr(self.expr(e, scope)?)),
        };
        match Function::lookup(name) {
            Some(Function::Printf) => {
                self.function(name, name_span, args.len())?;
                self.printf(args, e.span, scope)
            }
            Some(Function::Unwatch) => {
                self.function(name, name_span, args.len())?;
                self.unwatch(args.first()?, scope)
            }
            Some(Function::Signal) => {
                self.function(name, name_span, args.len())?;
                Some(StmtKind::Expr(self.signal(args.first()?, e.span, scope)?))
            }
            Some(
                f @ (Function::Assert
                | Function::StaticAssert
                | Function::SignalThread
                | Function::Override),
            ) => {
                self.function(name, name_span, args.len())?;
                self.sys_stmt(f, args, e.span, scope)
            }
            Some(f @ (Function::System | Function::Cat | Function::Errorf | Function::Warnf)) => {
                self.function(name, name_span, args.len())?;
                self.formatted_action(f, args, e.span, scope)
            }
            Some(Function::Debugf) => {
                self.function(name, name_span, args.len())?;
                Some(StmtKind::Expr(self.debugf(args, e.span, scope)?))
            }
            Some(Function::Exit) => {
                self.function(name, name_span, args.len())?;
                if scope.vars.in_for_loop > 0 {
                    self.error(
                        Diagnostic::error("E0220", "`exit()` is not allowed inside a `for` loop", e.span)
                            .label("inside the loop body")
                            .help("set a flag in the loop and call `exit()` after it, as bpftrace 0.25 requires"),
                    );
                    return None;
                }
                let code = match args.first() {
                    Some(c) => Some(convert(self.int_expr(c, scope)?, &Type::I64)),
                    None => None,
                };
                Some(StmtKind::Exit { code })
            }
            Some(
                f @ (Function::Print
                | Function::Clear
                | Function::Zero
                | Function::Time
                | Function::Join),
            ) => {
                self.function(name, name_span, args.len())?;
                self.map_action(f, args, scope)
            }
            _ => Some(StmtKind::Expr(self.expr(e, scope)?)),
        }
    }

    pub(super) fn printf(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let (fmt_arg, rest) = args.split_first()?;
        let ast::ExprKind::Str(text) = &fmt_arg.kind else {
            self.error(
                Diagnostic::error(
                    "E0211",
                    "the format of printf() must be a string literal",
                    fmt_arg.span,
                )
                .label("not a string literal"),
            );
            return None;
        };
        let values = self.exprs(rest, scope)?;
        let pieces = printf::parse(text);
        let mut convs = Vec::new();
        for piece in &pieces {
            match piece {
                Piece::Conversion(c) => convs.push(*c),
                Piece::Invalid {
                    offset,
                    text: scanned,
                } => {
                    // Show the sequence with the character that made it invalid.
                    let rest = &text[offset + scanned.len()..];
                    let bad: String = scanned.chars().chain(rest.chars().next()).collect();
                    self.error(
                        Diagnostic::error("E0211", format!("invalid conversion `{bad}` in printf format"), fmt_arg.span)
                            .label("in this format")
                            .help("supported: %d %i %u %x %X %o %c %p %s %% with flags, width, precision and hh/h/l/ll/j/z/t"),
                    );
                    return None;
                }
                Piece::Text(_) | Piece::Percent => {}
            }
        }
        let wanted: usize = convs.iter().map(Conversion::arg_count).sum();
        if wanted != values.len() {
            self.error(
                Diagnostic::error(
                    "E0211",
                    format!(
                        "printf format expects {wanted} argument{}, but {} {} given",
                        if wanted == 1 { "" } else { "s" },
                        values.len(),
                        if values.len() == 1 { "was" } else { "were" }
                    ),
                    span,
                )
                .secondary(fmt_arg.span, "this format"),
            );
            return None;
        }
        let mut args = Vec::with_capacity(values.len());
        let mut values = values.into_iter();
        for c in &convs {
            // `*` widths and precisions come first, as integers.
            for _ in 1..c.arg_count() {
                let n = values.next()?;
                if matches!(n.ty, Type::Str(_)) {
                    self.error(
                        Diagnostic::error(
                            "E0211",
                            "a `*` width or precision must be an integer",
                            n.span,
                        )
                        .label("string argument"),
                    );
                    return None;
                }
                args.push(convert(n, &Type::I64));
            }
            let v = values.next()?;
            if !self.check_buffer_conversion(c.kind, &v) {
                return None;
            }
            if c.kind.takes_integer()
                && matches!(
                    v.ty,
                    Type::Str(_) | Type::Tuple(_) | Type::Record { .. } | Type::Struct(_)
                )
            {
                self.error(
                    Diagnostic::error(
                        "E0211",
                        "a string cannot be printed with an integer conversion",
                        v.span,
                    )
                    .label("string argument")
                    .help("use `%s` for strings"),
                );
                return None;
            }
            let ty = storage_type(&v.ty);
            args.push(convert(v, &ty));
        }
        let format = self.formats.len();
        self.formats.push(Format {
            text: text.clone(),
            args: args.iter().map(|a| a.ty.clone()).collect(),
        });
        Some(StmtKind::Printf { format, args })
    }

    fn assign(
        &mut self,
        target: &ast::Expr,
        op: Option<ast::BinaryOp>,
        value: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        if let (
            ast::ExprKind::Map { name, keys },
            ast::ExprKind::Call {
                name: f,
                name_span,
                args,
            },
        ) = (&target.kind, &value.kind)
        {
            if let Some(func) = Function::lookup(f).filter(|f| f.info().aggregation) {
                if op.is_some() {
                    self.error(
                        Diagnostic::error(
                            "E0210",
                            format!("`{f}()` cannot be combined with a compound assignment"),
                            span,
                        )
                        .help(format!("write `@{name} = {f}(...)`")),
                    );
                    return None;
                }
                self.function(f, *name_span, args.len())?;
                return self.aggregate(name, keys, func, args, target.span, scope);
            }
        }
        let source = value;
        let value = match op {
            Some(op) => {
                let current = self.expr(target, scope);
                let rhs = self.expr(value, scope);
                self.binary(op, current?, rhs?, span)?
            }
            None => self.expr(value, scope)?,
        };
        // A new variable takes its first value's width (`widths`).
        let mut first = value.clone();
        first.ty = super::widths::first_type(source, &value.ty);
        let lvalue = self.lvalue(target, first, scope)?;
        let ty = self.lvalue_type(&lvalue, scope);
        if let (LValue::Local(_), ast::ExprKind::Var(name)) = (&lvalue, &target.kind) {
            if !self.width_fits(name, source, op.is_some(), &value, &ty, span) {
                return None;
            }
        }
        let value = self.coerce(value, &ty, span)?;
        Some(StmtKind::Store {
            target: lvalue,
            value,
        })
    }

    fn aggregate(
        &mut self,
        name: &str,
        keys: &[ast::Expr],
        func: Function,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let keys = self.key_exprs(keys, scope)?;
        let (op, value) = self.aggregate_op(func, args, scope)?;
        let (map, key) = self.map_for_write(&map_name(name), keys, value, span)?;
        Some(StmtKind::Aggregate { map, key, op })
    }

    /// Resolves an assignment target, defining it on first assignment with
    /// the storage type of `value`.
    pub(super) fn lvalue(
        &mut self,
        target: &ast::Expr,
        value: Expr,
        scope: &mut ProbeScope,
    ) -> Option<LValue> {
        match &target.kind {
            ast::ExprKind::Map { name, keys } => {
                let keys = self.key_exprs(keys, scope)?;
                let (map, key) = self.map_for_write(
                    &map_name(name),
                    keys,
                    MapValue::Plain(storage_type(&value.ty)),
                    target.span,
                )?;
                Some(LValue::Map { map, key })
            }
            ast::ExprKind::Var(name) => Some(LValue::Local(self.assign_var(
                name,
                target.span,
                &value.ty,
                scope,
            ))),
            _ => {
                self.error(
                    Diagnostic::error("E0209", "cannot assign to this expression", target.span)
                        .label("not assignable")
                        .help(
                            "assign to a map (`@name = ...`) or a scratch variable (`$name = ...`)",
                        ),
                );
                None
            }
        }
    }

    pub(super) fn lvalue_type(&self, lv: &LValue, scope: &ProbeScope) -> Type {
        match lv {
            LValue::Local(id) => scope.locals.get(*id).cloned().unwrap_or(Type::I64),
            LValue::Map { map, .. } => {
                super::aggregate::read_type(&self.maps.defs[*map].value).unwrap_or(Type::U64)
            }
        }
    }

    /// Converts an assigned value to the target's type, or reports why not.
    fn coerce(&mut self, value: Expr, to: &Type, span: Span) -> Option<Expr> {
        if compatible(&value.ty, to) {
            return Some(convert(value, to));
        }
        self.error(
            Diagnostic::error(
                "E0208",
                format!(
                    "cannot assign {} to something that holds {}",
                    describe(&value.ty),
                    describe(to)
                ),
                span,
            )
            .secondary(value.span, describe(&value.ty))
            .help("a map or variable keeps the type of its first assignment"),
        );
        None
    }

    /// Finds or (in the inference pass) defines a map for writing, checks
    /// its value kind and converts the keys.
    fn map_for_write(
        &mut self,
        name: &str,
        keys: Vec<Expr>,
        value: MapValue,
        span: Span,
    ) -> Option<(MapId, Vec<Expr>)> {
        if self.pass == Pass::Infer {
            self.infer_map(name, &keys, value.clone());
        }
        let id = self.map_id(name, span)?;
        let def = &self.maps.defs[id];
        let same_kind = match (&def.value, &value) {
            (MapValue::Plain(a), MapValue::Plain(b)) => compatible(a, b),
            (a, b) => super::aggregate::same_kind(a, b),
        };
        if !same_kind {
            let d = Diagnostic::error(
                "E0208",
                format!(
                    "map `{name}` holds {}, but here it gets {}",
                    describe_value(&def.value),
                    describe_value(&value)
                ),
                span,
            )
            .help("use a different map for each kind of value");
            self.error(d);
            return None;
        }
        let key = self.map_keys(id, keys, span)?;
        Some((id, key))
    }

    fn infer_map(&mut self, name: &str, keys: &[Expr], value: MapValue) {
        let key_types: Vec<Type> = keys.iter().map(|k| storage_type(&k.ty)).collect();
        match self.maps.by_name.get(name) {
            None => {
                self.maps
                    .by_name
                    .insert(name.to_string(), self.maps.defs.len());
                self.maps.defs.push(MapDef {
                    name: name.to_string(),
                    key: key_types,
                    value,
                });
            }
            Some(&id) => {
                let def = &mut self.maps.defs[id];
                if def.key.len() == key_types.len() {
                    for (have, new) in def.key.iter_mut().zip(&key_types) {
                        widen(have, new);
                    }
                }
                if let (MapValue::Plain(have), MapValue::Plain(new)) = (&mut def.value, &value) {
                    widen(have, new);
                }
            }
        }
    }

    /// Converts key expressions to a map's key types.
    pub(super) fn map_keys(&mut self, id: MapId, keys: Vec<Expr>, span: Span) -> Option<Vec<Expr>> {
        let def = &self.maps.defs[id];
        if def.key.len() != keys.len() {
            let d = Diagnostic::error(
                "E0208",
                format!(
                    "map `{}` is used with {} key{} here but {} elsewhere",
                    def.name,
                    keys.len(),
                    if keys.len() == 1 { "" } else { "s" },
                    def.key.len()
                ),
                span,
            );
            self.error(d);
            return None;
        }
        let key_types = def.key.clone();
        let mut out = Vec::with_capacity(keys.len());
        for (k, ty) in keys.into_iter().zip(&key_types) {
            if !compatible(&k.ty, ty) {
                self.error(
                    Diagnostic::error(
                        "E0208",
                        format!(
                            "this key is {}, but the map's key is {}",
                            describe(&k.ty),
                            describe(ty)
                        ),
                        k.span,
                    )
                    .label("wrong key type"),
                );
                return None;
            }
            out.push(convert(k, ty));
        }
        Some(out)
    }
}

/// Whether a value of type `from` can be stored where `to` is expected.
pub(super) fn compatible(from: &Type, to: &Type) -> bool {
    matches!(
        (from, to),
        (Type::Int { .. } | Type::Bool, Type::Int { .. })
            | (Type::Bool, Type::Bool)
            | (Type::Str(_), Type::Str(_))
            | (Type::Ptr { .. }, Type::Ptr { .. })
    ) || matches!((from, to), (Type::Tuple(a), Type::Tuple(b))
        if a.len() == b.len() && a.iter().zip(b).all(|(x, y)| compatible(x, y)))
        || super::records::compatible_records(from, to)
        || matches!((from, to), (Type::Stack(a), Type::Stack(b)) if a == b)
        || matches!((from, to), (Type::Symbol(a), Type::Symbol(b)) if a == b)
        || matches!((from, to), (Type::Named(a), Type::Named(b)) if a == b)
        || matches!((from, to), (Type::Data(a), Type::Data(b)) if a == b)
        || matches!((from, to), (Type::Struct(a), Type::Struct(b)) if a == b)
}

/// Grows a string type to hold a longer string; other types keep their first definition.
pub(super) fn widen(have: &mut Type, new: &Type) {
    match (&mut *have, new) {
        (Type::Str(a), Type::Str(b)) => *a = (*a).max(*b),
        (Type::Tuple(a), Type::Tuple(b))
        | (Type::Record { elems: a, .. }, Type::Record { elems: b, .. })
            if a.len() == b.len() =>
        {
            for (x, y) in a.iter_mut().zip(b) {
                widen(x, y);
            }
        }
        _ => {}
    }
}

fn describe_value(v: &MapValue) -> String {
    match v {
        MapValue::Plain(t) => describe(t),
        other => super::aggregate::describe_aggregation(other).unwrap_or_default(),
    }
}
