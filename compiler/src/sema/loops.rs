//! Loops and jumps: `while` (deprecated, with a warning), `unroll(N)`,
//! `for ($i : a..b)` (bounds evaluated once, `b` exclusive), nested
//! blocks, `break`/`continue` (only inside a loop) and `return`. Range
//! loops become the IR's general `Loop` with an init and a step, so code
//! generation has one loop shape.

use super::types::{convert, describe, promote, storage_type};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{BinaryOp, Expr, ExprKind, LValue, Stmt, StmtKind, Type};
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
                Some(StmtKind::Loop {
                    init: Vec::new(),
                    cond: cond?,
                    body,
                    step: Vec::new(),
                })
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
            ast::StmtKind::ForMap { map, .. } => {
                self.error(
                    Diagnostic::error(
                        "E0221",
                        "`for` loops over maps are not supported yet",
                        map.span,
                    )
                    .label("map iteration")
                    .help("use a range loop `for ($i : 0..N)`, or print the map with its key"),
                );
                None
            }
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

    /// `for ($i : start..end) { body }` becomes
    /// `$i = start; $end = end; loop while $i < $end { body } step { $i++ }`.
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
        if let Some(prev) = scope.vars.lookup(var) {
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
            return None;
        }
        let ty = storage_type(&promote(&start.ty, &end.ty, false));
        scope.vars.push();
        let i = self.declare_hidden(scope, ty.clone());
        scope.vars.bind_name(var, i, var_span);
        let limit = self.declare_hidden(scope, ty.clone());
        let body = self.loop_body(body, scope);
        scope.vars.pop();
        let local = |id| Expr {
            kind: ExprKind::Local(id),
            ty: ty.clone(),
            span: var_span,
        };
        let store = |id, value: Expr| Stmt {
            kind: StmtKind::Store {
                target: LValue::Local(id),
                value,
            },
            span: var_span,
        };
        let bin = |op, l, r, ty: Type| Expr {
            kind: ExprKind::Binary {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r),
            },
            ty,
            span: var_span,
        };
        let one = convert(
            Expr {
                kind: ExprKind::Int(1),
                ty: Type::I64,
                span: var_span,
            },
            &ty,
        );
        Some(StmtKind::Loop {
            init: vec![
                store(i, convert(start, &ty)),
                store(limit, convert(end, &ty)),
            ],
            cond: bin(BinaryOp::Lt, local(i), local(limit), Type::Bool),
            body,
            step: vec![store(i, bin(BinaryOp::Add, local(i), one, ty.clone()))],
        })
    }

    /// A scratch variable with no name (a loop bound).
    fn declare_hidden(&mut self, scope: &mut ProbeScope, ty: Type) -> usize {
        scope.locals.push(ty);
        scope.locals.len() - 1
    }
}
