//! Checking expressions: names resolve to builtins (through the stdlib
//! catalogue), scratch variables, maps or tracepoint fields; operators get
//! their operand conversions; function calls get their argument checks.

use super::types::{self, convert, describe, is_truthy, promote, to_bool};
use super::{more_config, Checker, Pass, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{AddrSpace, BinaryOp, Expr, ExprKind, LValue, Type, UnaryOp};
use crate::manifest::{NameTable, StackKind};
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::{nearest, Builtin, Function};

impl Checker<'_> {
    /// Checks an expression used as a condition and converts it to `Bool`.
    pub(super) fn condition(&mut self, e: &ast::Expr, scope: &mut ProbeScope) -> Option<Expr> {
        let checked = self.expr(e, scope)?;
        if !is_truthy(&checked.ty) {
            self.error(
                Diagnostic::error(
                    "E0213",
                    format!("{} cannot be used as a condition", describe(&checked.ty)),
                    e.span,
                )
                .label("expected an integer, a boolean or a pointer")
                .help("compare it explicitly, e.g. `comm == \"bash\"`"),
            );
            return None;
        }
        Some(to_bool(checked))
    }

    pub(super) fn expr(&mut self, e: &ast::Expr, scope: &mut ProbeScope) -> Option<Expr> {
        let span = e.span;
        let typed = |kind, ty| Some(Expr { kind, ty, span });
        match &e.kind {
            ast::ExprKind::Int(v) => typed(ExprKind::Int(*v), types::literal_type(*v)),
            ast::ExprKind::Str(s) => {
                let len = u32::try_from(s.len() + 1).unwrap_or(u32::MAX);
                typed(ExprKind::Str(s.clone()), Type::Str(len))
            }
            ast::ExprKind::Ident(name) => self.ident(name, span, scope),
            ast::ExprKind::Var(name) => self.read_var(name, span, scope),
            ast::ExprKind::Bytes(b) => {
                let len = u32::try_from(b.len() + 1).unwrap_or(u32::MAX);
                typed(ExprKind::Bytes(b.clone()), Type::Str(len))
            }
            ast::ExprKind::Bool(b) => typed(ExprKind::Bool(*b), Type::Bool),
            ast::ExprKind::Positional(n) => self.positional(*n, span),
            ast::ExprKind::ParamCount => Some(self.param_count(span)),
            ast::ExprKind::Cast { ty, operand } => self.cast(ty, operand, span, scope),
            ast::ExprKind::SizeofType(t) => {
                let ty = self.type_name(t, scope)?;
                typed(ExprKind::Int(u64::from(ty.size())), Type::U64)
            }
            ast::ExprKind::SizeofExpr(e) => {
                let ty = self.expr(e, scope)?.ty;
                typed(ExprKind::Int(u64::from(ty.size())), Type::U64)
            }
            ast::ExprKind::Block { stmts, value } => {
                self.block_value(stmts, value.as_deref(), span, scope)
            }
            ast::ExprKind::Tuple(elems) => self.tuple(elems, span, scope),
            ast::ExprKind::Record(fields) => self.record(fields, span, scope),
            ast::ExprKind::TupleIndex { base, index } => {
                self.tuple_index(base, *index, span, scope)
            }
            ast::ExprKind::Map { name, keys } => self.map_read(name, keys, span, scope),
            ast::ExprKind::Call {
                name,
                name_span,
                args,
            } => self.call_expr(name, *name_span, args, span, scope),
            ast::ExprKind::Field {
                base,
                field,
                field_span,
                arrow,
            } => self.field(base, field, *field_span, *arrow, span, scope),
            ast::ExprKind::Unary { op, operand } => self.unary(*op, operand, span, scope),
            ast::ExprKind::Deref(_) | ast::ExprKind::Index { .. } => self.c_place_value(e, scope),
            ast::ExprKind::AddrOf(inner) => self.address_of(inner, span, scope),
            ast::ExprKind::Offsetof { ty, path } => self.offsetof(ty, path, span),
            ast::ExprKind::Binary { op, lhs, rhs } => {
                let l = self.expr(lhs, scope);
                let r = self.expr(rhs, scope);
                self.binary(*op, l?, r?, span)
            }
            ast::ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                let c = self.condition(cond, scope);
                let t = self.expr(then, scope);
                let o = self.expr(otherwise, scope);
                self.ternary(c?, t?, o?, span)
            }
            ast::ExprKind::IncDec {
                target,
                increment,
                prefix,
            } => {
                let delta = if *increment { 1 } else { -1 };
                let target = self.int_lvalue(target, scope)?;
                let ty = self.lvalue_type(&target, scope);
                typed(
                    ExprKind::IncDec {
                        target: Box::new(target),
                        delta,
                        prefix: *prefix,
                    },
                    ty,
                )
            }
        }
    }

    pub(super) fn ident(&mut self, name: &str, span: Span, scope: &mut ProbeScope) -> Option<Expr> {
        if let Some(user) = self.user_ident(name, span, scope) {
            return user;
        }
        if self.is_macro(name) {
            return self.macro_expr(name, &[], span, scope);
        }
        if let Some(b) = Builtin::lookup(name) {
            if let Some(e) = self.context_builtin(b, span, scope) {
                return e;
            }
            if let Some(e) = self.sys_builtin(b, None, span, scope) {
                return e;
            }
            let ty = more_config::stack_mode(
                types::from_catalogue(b.info().ty),
                self.settings.more.stack_mode,
            );
            if b == Builtin::Username {
                return Some(self.username(span));
            }
            if b == Builtin::Curtask {
                return Some(self.curtask(span));
            }
            if b == Builtin::Ctx {
                return Some(self.ctx(span, scope));
            }
            if b == Builtin::Ncpus {
                // A kernel fact known when compiling, like bpftrace's.
                let n = u64::from(self.kernel.possible_cpus());
                return Some(Expr {
                    kind: ExprKind::Int(n),
                    ty,
                    span,
                });
            }
            return Some(Expr {
                kind: ExprKind::Builtin(b),
                ty,
                span,
            });
        }
        if name == "args" {
            if let Some(v) = self.args_value(scope, span) {
                return Some(v);
            }
            if scope.tracepoint.is_none() {
                self.error(
                    Diagnostic::error(
                        "E0206",
                        "`args` is only available in tracepoint probes",
                        span,
                    )
                    .label("this probe has no `args`"),
                );
                return None;
            }
            self.error(
                Diagnostic::error("E0205", "`args` must be used with a field", span)
                    .label("a field is needed here")
                    .help("write `args.FIELD`, e.g. `args.filename`"),
            );
            return None;
        }
        if Function::lookup(name).is_some() {
            return self.call_expr(name, span, &[], span, scope);
        }
        if let Some(c) = self.enum_constant(name, span) {
            return Some(c);
        }
        let mut d = Diagnostic::error("E0202", format!("unknown identifier `{name}`"), span)
            .label("not a builtin");
        if let Some(n) = nearest(name, Builtin::names().chain(Function::names())) {
            d = d.help(format!("did you mean `{n}`?"));
        }
        self.error(d);
        None
    }

    fn call_expr(
        &mut self,
        name: &str,
        name_span: Span,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        if self.is_macro(name) {
            return self.macro_expr(name, args, span, scope);
        }
        if let (None, Some(b)) = (Function::lookup(name), Builtin::lookup(name)) {
            return self.builtin_call(b, name, args, span, scope);
        }
        let f = self.function(name, name_span, args.len())?;
        let info = f.info();
        if info.aggregation {
            self.error(
                Diagnostic::error(
                    "E0210",
                    format!("`{}()` can only be assigned to a map", info.name),
                    span,
                )
                .label("used as a value here")
                .help(format!("write `@name = {};`", info.signature)),
            );
            return None;
        }
        match f {
            Function::Str => self.str_call(args, span, scope),
            Function::Getopt => self.getopt(args, span, scope),
            Function::Kstack => self.stack_call(StackKind::Kernel, args, span),
            Function::Ustack => self.stack_call(StackKind::User, args, span),
            Function::Ksym => self.symbol_call(StackKind::Kernel, args, span, scope),
            Function::Usym => self.symbol_call(StackKind::User, args, span, scope),
            Function::Kaddr => self.kaddr_call(args, span),
            Function::SyscallName => self.named_call(NameTable::Syscall, args, span, scope),
            Function::SignalName => self.named_call(NameTable::Signal, args, span, scope),
            Function::Strerror => self.named_call(NameTable::Errno, args, span, scope),
            Function::Delete | Function::HasKey => self.map_query(f, args, span, scope),
            Function::Strstr | Function::Strcontains => self.strstr_call(f, args, span, scope),
            Function::Strlen | Function::Strncmp | Function::Bswap => {
                self.data_call(f, args, span, scope)
            }
            Function::Buf => self.buf_call(args, span, scope),
            Function::Ntop => self.ntop_call(args, span, scope),
            Function::Pton => self.pton_call(args, span),
            Function::Macaddr => self.macaddr_call(args, span, scope),
            Function::Memcmp => self.memcmp_call(args, span, scope),
            Function::Strftime => self.strftime_call(args, span, scope),
            Function::Len => self.len_call(args, span, scope),
            Function::Find => self.find_call(args, span, scope),
            Function::Path => self.path_call(args, span, scope),
            Function::IsStr
            | Function::IsPtr
            | Function::IsInteger
            | Function::IsUnsignedInteger
            | Function::IsArray
            | Function::IsLiteral => self.introspect(f, args, span, scope),
            Function::Strcap => self.strcap(args, span, scope),
            Function::Uaddr
            | Function::Reg
            | Function::Kptr
            | Function::Uptr
            | Function::Cgroupid
            | Function::CgroupPath
            | Function::PercpuKaddr
            | Function::SocketCookie
            | Function::IsErr
            | Function::WriteUser => self.sys_call(f, args, span, scope),
            _ => {
                self.error(
                    Diagnostic::error("E0212", format!("`{}()` returns no value", info.name), span)
                        .label("used as a value here")
                        .help(format!("call it as a statement: `{};`", info.signature)),
                );
                None
            }
        }
    }

    /// Resolves a function name and checks its argument count.
    pub(super) fn function(&mut self, name: &str, span: Span, nargs: usize) -> Option<Function> {
        let Some(f) = Function::lookup(name) else {
            let mut d = Diagnostic::error("E0203", format!("unknown function `{name}`"), span)
                .label("not a function");
            if let Some(n) = nearest(name, Function::names()) {
                d = d.help(format!("did you mean `{n}()`?"));
            }
            self.error(d);
            return None;
        };
        let info = f.info();
        let ok = nargs >= info.min_args && info.max_args.is_none_or(|max| nargs <= max);
        if !ok {
            let expected = match info.max_args {
                Some(max) if max == info.min_args => format!("{max}"),
                Some(max) => format!("{} to {max}", info.min_args),
                None => format!("at least {}", info.min_args),
            };
            self.error(
                Diagnostic::error(
                    "E0204",
                    format!(
                        "`{}` takes {expected} argument{}, but {nargs} {} given",
                        info.name,
                        if expected == "1" { "" } else { "s" },
                        if nargs == 1 { "was" } else { "were" }
                    ),
                    span,
                )
                .label("wrong number of arguments")
                .help(format!("the signature is `{}`", info.signature)),
            );
            return None;
        }
        if info.unsafe_ {
            self.check_unsafe(info, span)?;
        }
        Some(f)
    }

    fn str_call(&mut self, args: &[ast::Expr], span: Span, scope: &mut ProbeScope) -> Option<Expr> {
        if let (Some(ast::ExprKind::Positional(n)), None) =
            (args.first().map(|a| &a.kind), args.get(1))
        {
            return self.positional_str(*n, span);
        }
        let ptr = self.expr(args.first()?, scope);
        let len = match args.get(1) {
            Some(l) => Some(self.int_expr(l, scope)?),
            None => None,
        };
        let ptr = ptr?;
        let space = match &ptr.ty {
            Type::Ptr { space, .. } => *space,
            // A plain integer address is the traced process's memory in
            // user-space probes, as in bpftrace.
            Type::Int { .. } if scope.user.is_some() => AddrSpace::User,
            Type::Int { .. } => AddrSpace::Kernel,
            Type::Str(_) if len.is_none() => return Some(ptr),
            other => {
                self.error(
                    Diagnostic::error(
                        "E0201",
                        format!("`str()` needs a pointer, not {}", describe(other)),
                        ptr.span,
                    )
                    .label("not a pointer"),
                );
                return None;
            }
        };
        let ptr = if ptr.ty.is_int() {
            convert(ptr, &Type::U64)
        } else {
            ptr
        };
        let len = len.map(|l| Box::new(convert(l, &Type::I64)));
        Some(Expr {
            kind: ExprKind::StrRead {
                ptr: Box::new(ptr),
                space,
                len,
            },
            ty: Type::Str(self.settings.max_strlen),
            span,
        })
    }

    /// Checks an expression that must be an integer.
    pub(super) fn int_expr(&mut self, e: &ast::Expr, scope: &mut ProbeScope) -> Option<Expr> {
        let checked = self.expr(e, scope)?;
        match checked.ty {
            Type::Int { .. } => Some(checked),
            Type::Bool => Some(convert(checked, &Type::I64)),
            ref other => {
                self.error(
                    Diagnostic::error(
                        "E0201",
                        format!("expected an integer, found {}", describe(other)),
                        e.span,
                    )
                    .label("not an integer"),
                );
                None
            }
        }
    }

    fn field(
        &mut self,
        base: &ast::Expr,
        field: &str,
        field_span: Span,
        arrow: bool,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        if let Some(read) = self.record_field(base, field, field_span, span, scope) {
            return read;
        }
        if !matches!(&base.kind, ast::ExprKind::Ident(n) if n == "args") {
            return self.c_field(base, field, arrow, span, scope);
        }
        let Some((category, format)) = &scope.tracepoint else {
            self.error(
                Diagnostic::error(
                    "E0206",
                    "`args` is only available in tracepoint probes",
                    base.span,
                )
                .label("this probe has no `args`"),
            );
            return None;
        };
        let Some(f) = format.fields.iter().find(|f| f.name == field) else {
            let mut d = Diagnostic::error(
                "E0205",
                format!("tracepoint has no field `{field}`"),
                field_span,
            )
            .label("unknown field");
            if let Some(n) = nearest(field, format.fields.iter().map(|f| f.name.as_str())) {
                d = d.help(format!("did you mean `{n}`?"));
            }
            let all: Vec<_> = format.fields.iter().map(|f| f.name.as_str()).collect();
            d = d.note(format!("its fields are: {}", all.join(", ")));
            self.error(d);
            return None;
        };
        if let Some(typed) = self.typed_arg(scope, field, f.offset, span) {
            return Some(typed);
        }
        let ty = match types::tracepoint_field_type(category, f) {
            Ok(t) => t,
            Err(why) => {
                self.error(Diagnostic::error("E0212", why, field_span).label("cannot be read"));
                return None;
            }
        };
        if arrow {
            self.error(
                Diagnostic::warning("W0001", "`args->field` is the old spelling", span)
                    .label("old form")
                    .help(format!("write `args.{field}`")),
            );
        }
        Some(Expr {
            kind: if types::is_data_loc(f) {
                ExprKind::TracepointDataLoc { offset: f.offset }
            } else {
                ExprKind::TracepointField { offset: f.offset }
            },
            ty,
            span,
        })
    }

    fn unary(
        &mut self,
        op: UnaryOp,
        operand: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let (operand, ty) = match op {
            UnaryOp::Not => (self.condition(operand, scope)?, Type::Bool),
            // Computed at the operand's width, giving 64 bits of its sign
            // (0.26: `-(uint32)5` is 4294967291).
            UnaryOp::Neg | UnaryOp::BitNot => {
                let e = self.int_expr(operand, scope)?;
                let ty = types::storage_type(&e.ty);
                (e, ty)
            }
        };
        if let (UnaryOp::Neg, ExprKind::Int(v)) = (op, &operand.kind) {
            // A negated literal is typed like one: `-1` is an int8.
            let n = v.wrapping_neg() as i64;
            return Some(Expr {
                kind: ExprKind::Int(n as u64),
                ty: types::signed_literal_type(n),
                span,
            });
        }
        Some(Expr {
            kind: ExprKind::Unary {
                op,
                operand: Box::new(operand),
            },
            ty,
            span,
        })
    }

    pub(super) fn binary(&mut self, op: BinaryOp, l: Expr, r: Expr, span: Span) -> Option<Expr> {
        use BinaryOp::*;
        let node = |l: Expr, r: Expr, ty: Type| {
            Some(Expr {
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                },
                ty,
                span,
            })
        };
        if matches!(op, And | Or) {
            if is_truthy(&l.ty) && is_truthy(&r.ty) {
                return node(to_bool(l), to_bool(r), Type::Bool);
            }
            return self.mismatch(op, &l, &r, span);
        }
        if let (Type::Tuple(a), Type::Tuple(b), Eq | Ne) = (&l.ty, &r.ty, op) {
            if a.len() == b.len() {
                return self.tuple_equality(op == Eq, l, r, span);
            }
        }
        if matches!(op, Eq | Ne) && super::records::compatible_records(&l.ty, &r.ty) {
            return self.tuple_equality(op == Eq, l, r, span);
        }
        if matches!(l.ty, Type::Ptr { .. }) || matches!(r.ty, Type::Ptr { .. }) {
            return self.pointer_binary(op, l, r, span);
        }
        let comparison = matches!(op, Eq | Ne | Lt | Le | Gt | Ge);
        match (&l.ty, &r.ty) {
            (Type::Str(_), Type::Str(_)) if matches!(op, Eq | Ne) => node(l, r, Type::Bool),
            (Type::Bool, Type::Bool) if matches!(op, Eq | Ne) => node(l, r, Type::Bool),
            (a, b) if numeric(a) && numeric(b) => {
                let (l, r) = (as_int(l), as_int(r));
                if matches!(op, Shl | Shr) {
                    let ty = types::storage_type(&l.ty);
                    return node(convert(l, &ty), convert(r, &Type::U64), ty);
                }
                // 0.26's common type and result (see `int_ops`).
                let ops = self.int_op(op, &l, &r, span);
                let ty = if comparison { Type::Bool } else { ops.result };
                node(convert(l, &ops.operand), convert(r, &ops.operand), ty)
            }
            _ => self.mismatch(op, &l, &r, span),
        }
    }

    fn mismatch(&mut self, op: BinaryOp, l: &Expr, r: &Expr, span: Span) -> Option<Expr> {
        let mut d = Diagnostic::error(
            "E0201",
            format!(
                "cannot apply `{}` to {} and {}",
                op.symbol(),
                describe(&l.ty),
                describe(&r.ty)
            ),
            span,
        )
        .secondary(l.span, describe(&l.ty))
        .secondary(r.span, describe(&r.ty));
        if matches!(l.ty, Type::Str(_)) || matches!(r.ty, Type::Str(_)) {
            d = d.help("strings support only `==` and `!=`; format them together with printf(\"%s%s\", a, b)");
        }
        self.error(d);
        None
    }

    fn ternary(&mut self, c: Expr, t: Expr, o: Expr, span: Span) -> Option<Expr> {
        let ty = match (&t.ty, &o.ty) {
            (a, b) if numeric(a) && numeric(b) && !(a == &Type::Bool && b == &Type::Bool) => {
                promote(a, b, false)
            }
            (Type::Bool, Type::Bool) => Type::Bool,
            (Type::Str(a), Type::Str(b)) => Type::Str((*a).max(*b)),
            (Type::Tuple(a), Type::Tuple(b)) if a == b => t.ty.clone(),
            (Type::Record { .. }, Type::Record { .. }) if t.ty == o.ty => t.ty.clone(),
            _ => {
                self.error(
                    Diagnostic::error(
                        "E0201",
                        format!(
                            "the branches of `?:` have different types: {} and {}",
                            describe(&t.ty),
                            describe(&o.ty)
                        ),
                        span,
                    )
                    .secondary(t.span, describe(&t.ty))
                    .secondary(o.span, describe(&o.ty)),
                );
                return None;
            }
        };
        let (t, o) = (
            convert(as_int_if(t, &ty), &ty),
            convert(as_int_if(o, &ty), &ty),
        );
        Some(Expr {
            kind: ExprKind::Ternary {
                cond: Box::new(c),
                then: Box::new(t),
                otherwise: Box::new(o),
            },
            ty,
            span,
        })
    }

    fn map_read(
        &mut self,
        name: &str,
        keys: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let full = map_name(name);
        let keys = self.key_exprs(keys, scope)?;
        if self.pass == Pass::Infer && !self.maps.by_name.contains_key(&full) {
            // Not assigned yet in source order; the inferred type is refined later.
            return Some(Expr {
                kind: ExprKind::Int(0),
                ty: Type::I64,
                span,
            });
        }
        let id = self.map_id(&full, span)?;
        let key = self.map_keys(id, keys, span)?;
        // Aggregations read as their combined per-CPU value.
        let value = &self.maps.defs[id].value;
        let Some(ty) = super::aggregate::read_type(value) else {
            let what = value.aggregation_name().unwrap_or("this");
            self.error(
                Diagnostic::error(
                    "E0230",
                    format!("a {what}() map has no single value to use in an expression"),
                    span,
                )
                .label("used as a value here")
                .help(format!("print it with `print({full})`")),
            );
            return None;
        };
        Some(Expr {
            kind: ExprKind::MapLoad { map: id, key },
            ty,
            span,
        })
    }

    pub(super) fn exprs(&mut self, es: &[ast::Expr], scope: &mut ProbeScope) -> Option<Vec<Expr>> {
        let checked: Vec<Option<Expr>> = es.iter().map(|e| self.expr(e, scope)).collect();
        checked.into_iter().collect()
    }

    /// Checks an increment/decrement target: an integer map or variable.
    fn int_lvalue(&mut self, target: &ast::Expr, scope: &mut ProbeScope) -> Option<LValue> {
        // Maps start at 0; a scratch variable must be assigned first, and
        // reading it reports E0207 when it is not.
        if let ast::ExprKind::Var(_) = &target.kind {
            self.expr(target, scope)?;
        }
        // A map first written by `++` holds int64 values.
        let zero = Expr {
            kind: ExprKind::Int(0),
            ty: Type::I64,
            span: target.span,
        };
        let lv = self.lvalue(target, zero, scope)?;
        let ty = self.lvalue_type(&lv, scope);
        if !ty.is_int() {
            self.error(
                Diagnostic::error(
                    "E0201",
                    format!(
                        "`++`/`--` need an integer, but this holds {}",
                        describe(&ty)
                    ),
                    target.span,
                )
                .label("not an integer"),
            );
            return None;
        }
        Some(lv)
    }
}

/// Integers, booleans and pointers take part in arithmetic and comparisons.
fn numeric(t: &Type) -> bool {
    matches!(t, Type::Int { .. } | Type::Bool | Type::Ptr { .. })
}

/// Booleans and pointers become 64-bit unsigned integers for arithmetic.
fn as_int(e: Expr) -> Expr {
    match e.ty {
        Type::Bool | Type::Ptr { .. } => convert(e, &Type::U64),
        _ => e,
    }
}

fn as_int_if(e: Expr, target: &Type) -> Expr {
    if target.is_int() {
        as_int(e)
    } else {
        e
    }
}

/// The full user-visible map name: `@name`, or `@` for the anonymous map.
pub(super) fn map_name(name: &str) -> String {
    format!("@{name}")
}
