//! Loops and jumps: `while` (deprecated, with a warning), `unroll(N)`,
//! `for ($i : a..b)` (bounds evaluated once, `b` exclusive), nested
//! blocks, `for ($kv : @map)`, `break`/`continue` (only inside a loop) and
//! `return` (with a value, the probe's return code, outside `for` loops).

use super::types::{convert, describe, promote, storage_type};
use super::{Checker, Pass, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{ExprKind, MapValue, Stmt, StmtKind, Type};
use crate::source::Span;
use crate::syntax::ast;

/// The largest `unroll` count bpftrace accepts.
const MAX_UNROLL: u64 = 100;

impl Checker<'_> {
    /// Checks a loop or jump statement; `None` for every other kind.
    pub(super) fn loop_stmt(
        &mut self,
        s: &ast::Stmt,
        scope: &mut ProbeScope,
    ) -> Option<Option<StmtKind>> {
        let span = s.span;
        Some(match &s.kind {
            ast::StmtKind::Block(b) => Some(StmtKind::Block(self.scoped_block(&b.stmts, scope))),
            ast::StmtKind::While { cond, body } => {
                self.error(
                    Diagnostic::warning("W0003", "`while` loops are deprecated", span)
                        .label("deprecated since bpftrace 0.25")
                        .help("use a range loop, e.g. `for ($i : 0..100) { ... }`"),
                );
                let cond = self.condition(cond, scope);
                let body = self.loop_body(&body.stmts, scope);
                Some(StmtKind::Loop { cond: cond?, body })
            }
            ast::StmtKind::Unroll { count, body } => {
                let n = self.unroll_count(count, scope);
                let body = self.scoped_block(&body.stmts, scope);
                Some(StmtKind::Unroll { count: n?, body })
            }
            ast::StmtKind::ForRange {
                var,
                var_span,
                start,
                end,
                body,
            } => self.for_range(var, *var_span, start, end, &body.stmts, scope),
            ast::StmtKind::ForMap {
                var,
                var_span,
                map,
                body,
            } => self.for_map(var, *var_span, map, &body.stmts, scope),
            ast::StmtKind::Break | ast::StmtKind::Continue => {
                let word = if s.kind == ast::StmtKind::Break {
                    "break"
                } else {
                    "continue"
                };
                if scope.vars.loop_depth == 0 {
                    self.error(
                        Diagnostic::error("E0220", format!("`{word}` outside a loop"), span)
                            .label("not inside `while` or `for`")
                            .help("use `return` to leave the probe"),
                    );
                    return Some(None);
                }
                Some(if word == "break" {
                    StmtKind::Break
                } else {
                    StmtKind::Continue
                })
            }
            ast::StmtKind::Return => Some(StmtKind::Return),
            ast::StmtKind::ReturnValue(value) => {
                if scope.vars.in_for_loop > 0 {
                    self.error(
                        Diagnostic::error(
                            "E0418",
                            "`return` with a value is not allowed inside a `for` loop",
                            span,
                        )
                        .label("inside the loop body")
                        .help("set a variable in the loop and `return` it after the loop"),
                    );
                    return Some(None);
                }
                let value = self.int_expr(value, scope);
                value.map(|v| StmtKind::ReturnValue(convert(v, &Type::I64)))
            }
            _ => return None,
        })
    }

    /// A loop body: its own scope, with `break`/`continue` allowed.
    fn loop_body(&mut self, stmts: &[ast::Stmt], scope: &mut ProbeScope) -> Vec<Stmt> {
        scope.vars.loop_depth += 1;
        let body = self.scoped_block(stmts, scope);
        scope.vars.loop_depth -= 1;
        body
    }

    fn unroll_count(&mut self, count: &ast::Expr, scope: &mut ProbeScope) -> Option<u32> {
        let e = self.expr(count, scope)?;
        match e.kind {
            ExprKind::Int(n) if e.ty.is_int() && (1..=MAX_UNROLL).contains(&n) => {
                u32::try_from(n).ok()
            }
            _ => {
                self.error(
                    Diagnostic::error(
                        "E0220",
                        format!("`unroll` needs a constant between 1 and {MAX_UNROLL}"),
                        count.span,
                    )
                    .label("not a constant in range")
                    .help("write an integer literal or a positional parameter, e.g. `unroll(5)`"),
                );
                None
            }
        }
    }

    /// `for ($i : start..end) { body }`: both bounds converted to the loop
    /// variable's type (the wider of the two, 64-bit).
    fn for_range(
        &mut self,
        var: &str,
        var_span: Span,
        start: &ast::Expr,
        end: &ast::Expr,
        body: &[ast::Stmt],
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let start = self.int_expr(start, scope);
        let end = self.int_expr(end, scope);
        let (start, end) = (start?, end?);
        self.loop_var_is_free(var, var_span, scope)?;
        let ty = storage_type(&promote(&start.ty, &end.ty, false));
        scope.vars.push();
        let i = self.declare_hidden(scope, ty.clone());
        scope.vars.bind_name(var, i, var_span);
        scope.vars.in_for_loop += 1;
        let body = self.loop_body(body, scope);
        scope.vars.in_for_loop -= 1;
        scope.vars.pop_loop(var);
        Some(StmtKind::ForRange {
            var: i,
            start: convert(start, &ty),
            end: convert(end, &ty),
            body,
        })
    }

    /// `for ($kv : @map) { body }`.
    fn for_map(
        &mut self,
        var: &str,
        var_span: Span,
        map: &ast::Expr,
        body: &[ast::Stmt],
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let ast::ExprKind::Map { name, keys } = &map.kind else {
            return None;
        };
        if !keys.is_empty() {
            self.error(
                Diagnostic::error("E0221", "a `for` loop iterates over a whole map", map.span)
                    .label("keyed map access")
                    .help(format!("write `for (${var} : @{name})`")),
            );
            return None;
        }
        let full = format!("@{name}");
        if self.pass == Pass::Infer && !self.maps.by_name.contains_key(&full) {
            return None;
        }
        let id = self.map_id(&full, map.span)?;
        let def = &self.maps.defs[id];
        // An aggregation's value is its total over all CPUs.
        let value = match &def.value {
            MapValue::Plain(t) => t.clone(),
            MapValue::Count | MapValue::Sum { signed: false } => Type::U64,
            MapValue::Sum { signed: true } => Type::I64,
            _ => {
                self.error(
                    Diagnostic::error(
                        "E0221",
                        format!("`for` loops over maps such as `{full}` that hold this kind of aggregation are not supported yet"),
                        map.span,
                    )
                    .label("aggregation map")
                    .help("loops work over plain, `count()` and `sum()` maps; read this one with its key, e.g. `@m[k]`"),
                );
                return None;
            }
        };
        let key = match def.key.as_slice() {
            [] => Type::I64,
            [one] => one.clone(),
            many => Type::Tuple(many.to_vec()),
        };
        self.loop_var_is_free(var, var_span, scope)?;
        scope.vars.push();
        let kv = self.declare_hidden(scope, Type::Tuple(vec![key, value]));
        scope.vars.bind_name(var, kv, var_span);
        scope.vars.in_for_loop += 1;
        let body = self.loop_body(body, scope);
        scope.vars.in_for_loop -= 1;
        scope.vars.pop_loop(var);
        Some(StmtKind::ForEach {
            map: id,
            var: kv,
            body,
        })
    }

    /// Reports (E0215) a loop variable that would shadow a visible one.
    fn loop_var_is_free(&mut self, var: &str, var_span: Span, scope: &ProbeScope) -> Option<()> {
        let Some(prev) = scope.vars.lookup(var) else {
            return Some(());
        };
        let ty = scope.locals.get(prev).map(describe).unwrap_or_default();
        self.error(
            Diagnostic::error(
                "E0215",
                format!("variable `${var}` is already declared"),
                var_span,
            )
            .label(format!("the loop variable would shadow {ty} `${var}`"))
            .help("scratch variables cannot be shadowed: pick another name"),
        );
        None
    }

    /// A scratch variable with no name (a loop bound).
    fn declare_hidden(&mut self, scope: &mut ProbeScope, ty: Type) -> usize {
        scope.new_local(ty)
    }
}
