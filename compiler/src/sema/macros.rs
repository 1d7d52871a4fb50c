//! User macros: `macro name($var, @map, expr) { ... }`, called as
//! `name(...)` or, without parameters, bare `name`. A call is expanded by
//! substituting the arguments into a copy of the body — a `$var` parameter
//! takes the caller's scratch variable, a `@map` parameter the caller's map,
//! a bare parameter any expression — and then checked like a block (a
//! block expression when the call is used as a value). Expansion is
//! hygienic: the body's own scratch variables get a name no script can
//! write (`$x'1`), fresh for each call. Macros of imported files are
//! in the script already (`syntax::imports`).

use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, StmtKind};
use crate::source::Span;
use crate::syntax::ast::{self, ExprKind, Item, MacroDef, MacroParam, Stmt};
use std::collections::HashMap;

/// How deeply macros may call macros before expansion gives up.
const MAX_DEPTH: u32 = 16;

/// The script's macros by name; duplicate names are reported.
pub(super) fn collect(script: &ast::Script) -> (HashMap<String, MacroDef>, Vec<Diagnostic>) {
    let mut out: HashMap<String, MacroDef> = HashMap::new();
    let mut diags = Vec::new();
    for item in &script.items {
        let Item::Macro(m) = item else {
            continue;
        };
        if let Some(prev) = out.get(&m.name) {
            diags.push(
                Diagnostic::error(
                    "E0224",
                    format!("macro `{}` is defined twice", m.name),
                    m.span,
                )
                .label("second definition")
                .secondary(prev.span, "first definition"),
            );
            continue;
        }
        out.insert(m.name.clone(), m.clone());
    }
    (out, diags)
}

/// What a parameter stands for in one expansion.
enum Arg<'a> {
    Var(&'a str),
    Map(&'a str),
    Expr(&'a ast::Expr),
}

struct Expansion<'a> {
    args: HashMap<&'a str, Arg<'a>>,
    suffix: String,
}

impl Checker<'_> {
    /// Whether `name` is a user macro.
    pub(super) fn is_macro(&self, name: &str) -> bool {
        self.macros.contains_key(name)
    }

    /// Expands a macro call used as a value.
    pub(super) fn macro_expr(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let (stmts, value) = self.expand(name, args, span)?;
        self.macro_depth += 1;
        let out = self.block_value(&stmts, value.as_ref(), span, scope);
        self.macro_depth -= 1;
        out
    }

    /// Expands a macro call used as a statement.
    pub(super) fn macro_stmt(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let (mut stmts, value) = self.expand(name, args, span)?;
        if let Some(v) = value {
            stmts.push(Stmt {
                span: v.span,
                kind: ast::StmtKind::Expr(v),
            });
        }
        self.macro_depth += 1;
        let body = self.scoped_block(&stmts, scope);
        self.macro_depth -= 1;
        Some(StmtKind::Block(body))
    }

    /// The substituted body of a call: its statements and final value.
    fn expand(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        span: Span,
    ) -> Option<(Vec<Stmt>, Option<ast::Expr>)> {
        let def = self.macros.get(name)?;
        if self.macro_depth >= MAX_DEPTH {
            self.error(
                Diagnostic::error("E0224", format!("macro `{name}` expands too deeply"), span)
                    .label(format!("more than {MAX_DEPTH} nested expansions"))
                    .help("a macro that calls itself never stops expanding"),
            );
            return None;
        }
        if def.params.len() != args.len() {
            self.error(
                Diagnostic::error(
                    "E0224",
                    format!(
                        "macro `{name}` takes {} argument{}, but {} {} given",
                        def.params.len(),
                        if def.params.len() == 1 { "" } else { "s" },
                        args.len(),
                        if args.len() == 1 { "was" } else { "were" }
                    ),
                    span,
                )
                .secondary(def.span, "defined here"),
            );
            return None;
        }
        let mut bound = HashMap::new();
        let mut bad = Vec::new();
        for (p, a) in def.params.iter().zip(args) {
            let (key, arg) = match (p, &a.kind) {
                (MacroParam::Var(n), ExprKind::Var(v)) => (n.as_str(), Arg::Var(v.as_str())),
                (MacroParam::Map(n), ExprKind::Map { name, keys }) if keys.is_empty() => {
                    (n.as_str(), Arg::Map(name.as_str()))
                }
                (MacroParam::Expr(n), _) => (n.as_str(), Arg::Expr(a)),
                (MacroParam::Var(n), _) => {
                    bad.push((
                        a.span,
                        format!("`${n}` takes a scratch variable such as `$x`"),
                    ));
                    continue;
                }
                (MacroParam::Map(n), _) => {
                    bad.push((a.span, format!("`@{n}` takes a map such as `@m`")));
                    continue;
                }
            };
            bound.insert(key, arg);
        }
        if !bad.is_empty() {
            for (at, why) in bad {
                self.error(
                    Diagnostic::error(
                        "E0224",
                        format!("wrong kind of argument to macro `{name}`"),
                        at,
                    )
                    .label(why)
                    .secondary(def.span, "defined here"),
                );
            }
            return None;
        }
        self.macro_calls += 1;
        let ex = Expansion {
            args: bound,
            suffix: format!("'{}", self.macro_calls),
        };
        let stmts: Vec<Stmt> = def.body.stmts.iter().map(|s| ex.stmt(s)).collect();
        let value = def.value.as_ref().map(|v| ex.expr(v));
        Some((stmts, value))
    }
}

impl Expansion<'_> {
    fn var(&self, n: &str) -> String {
        match self.args.get(n) {
            Some(Arg::Var(v)) => (*v).to_string(),
            _ => format!("{n}{}", self.suffix),
        }
    }

    fn map(&self, n: &str) -> String {
        match self.args.get(n) {
            Some(Arg::Map(m)) => (*m).to_string(),
            _ => n.to_string(),
        }
    }

    fn block(&self, b: &ast::Block) -> ast::Block {
        ast::Block {
            stmts: b.stmts.iter().map(|s| self.stmt(s)).collect(),
            span: b.span,
        }
    }

    fn stmt(&self, s: &Stmt) -> Stmt {
        use ast::StmtKind as K;
        let kind = match &s.kind {
            K::Expr(e) => K::Expr(self.expr(e)),
            K::Assign { target, op, value } => K::Assign {
                target: self.expr(target),
                op: *op,
                value: self.expr(value),
            },
            K::If {
                cond,
                then,
                otherwise,
            } => K::If {
                cond: self.expr(cond),
                then: self.block(then),
                otherwise: otherwise.as_ref().map(|b| self.block(b)),
            },
            K::Let {
                name,
                name_span,
                ty,
                value,
            } => K::Let {
                name: self.var(name),
                name_span: *name_span,
                ty: ty.as_ref().map(|t| self.type_name(t)),
                value: value.as_ref().map(|v| self.expr(v)),
            },
            K::Block(b) => K::Block(self.block(b)),
            K::While { cond, body } => K::While {
                cond: self.expr(cond),
                body: self.block(body),
            },
            K::Unroll { count, body } => K::Unroll {
                count: self.expr(count),
                body: self.block(body),
            },
            K::ForRange {
                var,
                var_span,
                start,
                end,
                body,
            } => K::ForRange {
                var: self.var(var),
                var_span: *var_span,
                start: self.expr(start),
                end: self.expr(end),
                body: self.block(body),
            },
            K::ForMap {
                var,
                var_span,
                map,
                body,
            } => K::ForMap {
                var: self.var(var),
                var_span: *var_span,
                map: self.expr(map),
                body: self.block(body),
            },
            K::Break => K::Break,
            K::Continue => K::Continue,
            K::Return => K::Return,
            K::ReturnValue(v) => K::ReturnValue(self.expr(v)),
        };
        Stmt { kind, span: s.span }
    }

    fn type_name(&self, t: &ast::TypeName) -> ast::TypeName {
        ast::TypeName {
            of: t.of.as_ref().map(|e| self.boxed(e)),
            ..t.clone()
        }
    }

    fn boxed(&self, e: &ast::Expr) -> Box<ast::Expr> {
        Box::new(self.expr(e))
    }

    fn exprs(&self, es: &[ast::Expr]) -> Vec<ast::Expr> {
        es.iter().map(|e| self.expr(e)).collect()
    }

    fn expr(&self, e: &ast::Expr) -> ast::Expr {
        let kind = match &e.kind {
            ExprKind::Var(n) => ExprKind::Var(self.var(n)),
            ExprKind::Ident(n) => match self.args.get(n.as_str()) {
                Some(Arg::Expr(a)) => return (*a).clone(),
                _ => ExprKind::Ident(n.clone()),
            },
            ExprKind::Map { name, keys } => ExprKind::Map {
                name: self.map(name),
                keys: self.exprs(keys),
            },
            ExprKind::Call {
                name,
                name_span,
                args,
            } => ExprKind::Call {
                name: name.clone(),
                name_span: *name_span,
                args: self.exprs(args),
            },
            ExprKind::Field {
                base,
                field,
                field_span,
                arrow,
            } => ExprKind::Field {
                base: self.boxed(base),
                field: field.clone(),
                field_span: *field_span,
                arrow: *arrow,
            },
            ExprKind::Unary { op, operand } => ExprKind::Unary {
                op: *op,
                operand: self.boxed(operand),
            },
            ExprKind::Binary { op, lhs, rhs } => ExprKind::Binary {
                op: *op,
                lhs: self.boxed(lhs),
                rhs: self.boxed(rhs),
            },
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => ExprKind::Ternary {
                cond: self.boxed(cond),
                then: self.boxed(then),
                otherwise: self.boxed(otherwise),
            },
            ExprKind::IncDec {
                target,
                increment,
                prefix,
            } => ExprKind::IncDec {
                target: self.boxed(target),
                increment: *increment,
                prefix: *prefix,
            },
            ExprKind::Deref(inner) => ExprKind::Deref(self.boxed(inner)),
            ExprKind::AddrOf(inner) => ExprKind::AddrOf(self.boxed(inner)),
            ExprKind::Index { base, index } => ExprKind::Index {
                base: self.boxed(base),
                index: self.boxed(index),
            },
            ExprKind::Tuple(elems) => ExprKind::Tuple(self.exprs(elems)),
            ExprKind::Record(fields) => ExprKind::Record(
                fields
                    .iter()
                    .map(|f| ast::RecordField {
                        value: self.expr(&f.value),
                        ..f.clone()
                    })
                    .collect(),
            ),
            ExprKind::TupleIndex { base, index } => ExprKind::TupleIndex {
                base: self.boxed(base),
                index: *index,
            },
            ExprKind::Cast { ty, operand } => ExprKind::Cast {
                ty: self.type_name(ty),
                operand: self.boxed(operand),
            },
            ExprKind::SizeofExpr(inner) => ExprKind::SizeofExpr(self.boxed(inner)),
            ExprKind::Block { stmts, value } => ExprKind::Block {
                stmts: stmts.iter().map(|s| self.stmt(s)).collect(),
                value: value.as_ref().map(|v| self.boxed(v)),
            },
            other => other.clone(),
        };
        ast::Expr { kind, span: e.span }
    }
}
