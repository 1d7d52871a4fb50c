//! Typing of the map functions: `print`, `clear` and `zero` (and `time`)
//! become actions (event records user space performs in event order, as
//! in bpftrace);
//! `delete` and `has_key` become expressions on one entry. `print` of
//! anything that is not a whole map prints that value.

use super::aggregate::const_int;
use super::expr::map_name;
use super::types::{convert, describe, storage_type};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Action, AddrSpace, Expr, ExprKind, MapId, StmtKind, Type};
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::Function;

impl Checker<'_> {
    /// `print(...)`, `clear(@m)` and `zero(@m)` as statements.
    pub(super) fn map_action(
        &mut self,
        f: Function,
        args: &[ast::Expr],
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        if f == Function::Time {
            return self.time(args.first());
        }
        if f == Function::Join {
            return self.join(args, scope);
        }
        let first = args.first()?;
        let whole_map = matches!(&first.kind, ast::ExprKind::Map { keys, .. } if keys.is_empty());
        if f == Function::Print && !whole_map {
            if args.len() > 1 {
                self.error(
                    Diagnostic::error(
                        "E0231",
                        "print() takes `top` and `div` only for a whole map",
                        args[1].span,
                    )
                    .label("extra argument")
                    .help("write `print(@map, top, div)` or `print(value)`"),
                );
                return None;
            }
            let v = self.expr(first, scope)?;
            let ty = storage_type(&v.ty);
            let v = convert(v, &ty);
            return Some(self.action(Action::PrintValue(ty), vec![v]));
        }
        let map = self.whole_map(first, f)?;
        let action = match f {
            Function::Print => {
                let top = self.count_arg(args.get(1), "top")?;
                let div = self.count_arg(args.get(2), "div")?;
                Action::PrintMap {
                    map,
                    top,
                    div: div.max(1),
                }
            }
            Function::Clear => Action::ClearMap { map },
            _ => Action::ZeroMap { map },
        };
        if f != Function::Print && args.len() > 1 {
            return None;
        }
        Some(self.action(action, Vec::new()))
    }

    /// `time([fmt])`: the format must be a string literal.
    fn time(&mut self, fmt: Option<&ast::Expr>) -> Option<StmtKind> {
        let format = self.literal_or(fmt, "%H:%M:%S\n", "the format of time()")?;
        Some(self.action(Action::Time(format), Vec::new()))
    }

    /// An optional string-literal argument, `default` when absent.
    fn literal_or(&mut self, e: Option<&ast::Expr>, default: &str, what: &str) -> Option<String> {
        match e.map(|e| (&e.kind, e.span)) {
            None => Some(default.to_string()),
            Some((ast::ExprKind::Str(s), _)) => Some(s.clone()),
            Some((_, span)) => {
                self.error(
                    Diagnostic::error("E0231", format!("{what} must be a string literal"), span)
                        .label("not a string literal"),
                );
                None
            }
        }
    }

    /// `join(arr[, sep])`: `arr` is a pointer (or an address), `sep` a
    /// string literal.
    fn join(&mut self, args: &[ast::Expr], scope: &mut ProbeScope) -> Option<StmtKind> {
        let sep = self.literal_or(args.get(1), " ", "the separator of join()")?;
        let arr = self.expr(args.first()?, scope)?;
        let space = match &arr.ty {
            Type::Ptr { space, .. } => *space,
            Type::Int { .. } => AddrSpace::Kernel,
            other => {
                self.error(
                    Diagnostic::error(
                        "E0231",
                        format!(
                            "join() needs an array of string pointers, not {}",
                            describe(other)
                        ),
                        arr.span,
                    )
                    .label("not a pointer")
                    .help("join the argument vector of execve, e.g. `join(args.argv)`"),
                );
                return None;
            }
        };
        let arr = convert(arr, &Type::U64);
        Some(self.action(Action::Join { sep, space }, vec![arr]))
    }

    pub(super) fn action(&mut self, action: Action, args: Vec<Expr>) -> StmtKind {
        self.actions.push(action);
        StmtKind::Action {
            action: self.actions.len() - 1,
            args,
        }
    }

    /// A map named without keys (`@m`), as the map functions take it.
    fn whole_map(&mut self, e: &ast::Expr, f: Function) -> Option<MapId> {
        match &e.kind {
            ast::ExprKind::Map { name, keys } if keys.is_empty() => {
                self.map_id(&map_name(name), e.span)
            }
            _ => {
                let name = f.info().name;
                self.error(
                    Diagnostic::error("E0231", format!("{name}() needs a map"), e.span)
                        .label("not a map")
                        .help(format!("write `{name}(@name)`")),
                );
                None
            }
        }
    }

    /// `print`'s `top`/`div`: a non-negative integer literal (0 when absent).
    fn count_arg(&mut self, e: Option<&ast::Expr>, what: &str) -> Option<u64> {
        let Some(e) = e else { return Some(0) };
        match const_int(e).and_then(|v| u64::try_from(v).ok()) {
            Some(v) => Some(v),
            None => {
                self.error(
                    Diagnostic::error(
                        "E0231",
                        format!("print()'s `{what}` must be a non-negative integer literal"),
                        e.span,
                    )
                    .label("not a literal"),
                );
                None
            }
        }
    }

    /// `delete` and `has_key` used as values.
    pub(super) fn map_query(
        &mut self,
        f: Function,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let first = args.first()?;
        let (map, keys) = match (&first.kind, args.get(1)) {
            // The old spelling `delete(@m[key])`.
            (ast::ExprKind::Map { name, keys }, None)
                if f == Function::Delete && !keys.is_empty() =>
            {
                let keys_text = source_text(keys);
                self.error(
                    Diagnostic::warning("W0030", "`delete(@map[key])` is the old spelling", span)
                        .label("old form")
                        .help(format!("write `delete(@{name}, {keys_text})`")),
                );
                let map = self.map_id(&map_name(name), first.span)?;
                (map, self.exprs(keys, scope)?)
            }
            (ast::ExprKind::Map { keys, .. }, key) if keys.is_empty() => {
                let map = self.whole_map(first, f)?;
                let keys = match key {
                    Some(k) => vec![self.expr(k, scope)?],
                    None => Vec::new(),
                };
                (map, keys)
            }
            _ => {
                self.whole_map(first, f)?;
                return None;
            }
        };
        let key = self.map_keys(map, keys, span)?;
        let kind = if f == Function::Delete {
            ExprKind::MapDelete { map, key }
        } else {
            ExprKind::MapHasKey { map, key }
        };
        Some(Expr {
            kind,
            ty: Type::Bool,
            span,
        })
    }
}

/// The key expressions as a help line can show them: simple keys are
/// spelled out, anything else is `KEY`; several keys form a tuple.
fn source_text(keys: &[ast::Expr]) -> String {
    let parts: Vec<String> = keys
        .iter()
        .map(|k| match &k.kind {
            ast::ExprKind::Int(v) => v.to_string(),
            ast::ExprKind::Str(s) => format!("{s:?}"),
            ast::ExprKind::Ident(n) => n.clone(),
            ast::ExprKind::Var(n) => format!("${n}"),
            _ => "KEY".to_string(),
        })
        .collect();
    match parts.as_slice() {
        [one] => one.clone(),
        _ => format!("({})", parts.join(", ")),
    }
}
