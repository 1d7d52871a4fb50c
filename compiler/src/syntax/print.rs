//! A compact, deterministic S-expression printer of the AST, used by the
//! parser snapshots and `--emit ast`. Probes, statements and expressions show
//! their spans as `@start..end`; each statement is on its own indented line,
//! expressions are printed inline, e.g.
//! `(probe [tracepoint:syscalls:sys_enter_openat@0..35] @0..70` followed by
//! `(pred ...)` and `(block ...)` lines.

use super::ast::*;
use crate::source::Span;
use std::fmt::Write;

/// Prints a whole script, one probe after another.
pub fn print(script: &Script) -> String {
    let mut out = String::new();
    let _ = write!(out, "(script {}", at(script.span));
    for item in &script.items {
        match item {
            Item::Probe(p) => probe(&mut out, p, 1),
            Item::Config(c) => {
                indent(&mut out, 1);
                let _ = write!(out, "(config {}", at(c.span));
                for e in &c.entries {
                    let v = match &e.value {
                        ConfigValue::Int(v) => v.to_string(),
                        ConfigValue::Str(s) => format!("{s:?}"),
                        ConfigValue::Word(w) => w.clone(),
                    };
                    let _ = write!(out, " ({} {v})", e.key);
                }
                out.push(')');
            }
            Item::Macro(m) => {
                indent(&mut out, 1);
                let params: Vec<String> = m
                    .params
                    .iter()
                    .map(|p| match p {
                        MacroParam::Var(n) => format!("${n}"),
                        MacroParam::Map(n) => format!("@{n}"),
                        MacroParam::Expr(n) => n.clone(),
                    })
                    .collect();
                let _ = write!(
                    out,
                    "(macro {}({}) {}",
                    m.name,
                    params.join(", "),
                    at(m.span)
                );
                block(&mut out, &m.body, 2);
                if let Some(v) = &m.value {
                    out.push_str(" => ");
                    expr(&mut out, v);
                }
                out.push(')');
            }
            Item::CDefinition { text, span } => {
                indent(&mut out, 1);
                let _ = write!(out, "(c-definition {text:?} {})", at(*span));
            }
            Item::Import { path, span } => {
                indent(&mut out, 1);
                let _ = write!(out, "(import {path:?} {})", at(*span));
            }
            Item::MapDecl(d) => {
                indent(&mut out, 1);
                let _ = write!(
                    out,
                    "(let-map @{} {}({}) {})",
                    d.name,
                    d.kind,
                    d.size,
                    at(d.span)
                );
            }
        }
    }
    out.push_str(")\n");
    out
}

/// Prints one expression inline (also handy in other stages' debug output).
pub fn print_expr(e: &Expr) -> String {
    let mut out = String::new();
    expr(&mut out, e);
    out
}

fn at(s: Span) -> String {
    format!("@{}..{}", s.start, s.end)
}

fn indent(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn probe(out: &mut String, p: &Probe, depth: usize) {
    indent(out, depth);
    let points: Vec<String> = p.attach_points.iter().map(attach_point).collect();
    let _ = write!(out, "(probe [{}] {}", points.join(", "), at(p.span));
    if let Some(pred) = &p.predicate {
        indent(out, depth + 1);
        out.push_str("(pred ");
        expr(out, pred);
        out.push(')');
    }
    block(out, &p.body, depth + 1);
    out.push(')');
}

/// `raw@span`, plus the parts when they differ from the raw text (quotes).
fn attach_point(a: &AttachPoint) -> String {
    let joined: Vec<&str> = a.parts.iter().map(|p| p.text.as_str()).collect();
    let mut s = format!("{}{}", a.raw, at(a.span));
    if joined.join(":") != a.raw {
        let parts: Vec<String> = a
            .parts
            .iter()
            .map(|p| {
                if p.quoted {
                    format!("{:?}", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect();
        let _ = write!(s, " parts=({})", parts.join(" "));
    }
    s
}

fn block(out: &mut String, b: &Block, depth: usize) {
    indent(out, depth);
    let _ = write!(out, "(block {}", at(b.span));
    for s in &b.stmts {
        stmt(out, s, depth + 1);
    }
    out.push(')');
}

fn stmt(out: &mut String, s: &Stmt, depth: usize) {
    indent(out, depth);
    match &s.kind {
        StmtKind::Expr(e) => {
            let _ = write!(out, "(expr {} ", at(s.span));
            expr(out, e);
        }
        StmtKind::Assign { target, op, value } => {
            let sym = op.map_or("", BinaryOp::symbol);
            let _ = write!(out, "(assign {} {sym}= ", at(s.span));
            expr(out, target);
            out.push(' ');
            expr(out, value);
        }
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => {
            let _ = write!(out, "(if {} ", at(s.span));
            expr(out, cond);
            block(out, then, depth + 1);
            if let Some(o) = otherwise {
                indent(out, depth + 1);
                out.push_str("(else");
                block(out, o, depth + 2);
                out.push(')');
            }
        }
        StmtKind::Let {
            name, ty, value, ..
        } => {
            let _ = write!(out, "(let {} ${name}", at(s.span));
            if let Some(t) = ty {
                let _ = write!(out, " : {}", type_name(t));
            }
            if let Some(v) = value {
                out.push(' ');
                expr(out, v);
            }
        }
        StmtKind::Block(b) => {
            let _ = write!(out, "(scope {}", at(s.span));
            block(out, b, depth + 1);
        }
        StmtKind::While { cond, body } => {
            let _ = write!(out, "(while {} ", at(s.span));
            expr(out, cond);
            block(out, body, depth + 1);
        }
        StmtKind::Unroll { count, body } => {
            let _ = write!(out, "(unroll {} ", at(s.span));
            expr(out, count);
            block(out, body, depth + 1);
        }
        StmtKind::ForRange {
            var,
            start,
            end,
            body,
            ..
        } => {
            let _ = write!(out, "(for {} ${var} ", at(s.span));
            expr(out, start);
            out.push_str(" .. ");
            expr(out, end);
            block(out, body, depth + 1);
        }
        StmtKind::ForMap { var, map, body, .. } => {
            let _ = write!(out, "(for {} ${var} ", at(s.span));
            expr(out, map);
            block(out, body, depth + 1);
        }
        StmtKind::Break => {
            let _ = write!(out, "(break {}", at(s.span));
        }
        StmtKind::Continue => {
            let _ = write!(out, "(continue {}", at(s.span));
        }
        StmtKind::Return => {
            let _ = write!(out, "(return {}", at(s.span));
        }
        StmtKind::ReturnValue(value) => {
            let _ = write!(out, "(return {} ", at(s.span));
            expr(out, value);
        }
    }
    out.push(')');
}

fn type_name(t: &TypeName) -> String {
    if let Some(e) = &t.of {
        return format!("typeof({})", print_expr(e));
    }
    format!("{}{}", t.name, "*".repeat(usize::from(t.pointer_depth)))
}

fn expr(out: &mut String, e: &Expr) {
    let sp = at(e.span);
    match &e.kind {
        ExprKind::Int(v) => {
            let _ = write!(out, "(int {v} {sp}");
        }
        ExprKind::Str(s) => {
            let _ = write!(out, "(str {s:?} {sp}");
        }
        ExprKind::Ident(n) => {
            let _ = write!(out, "(ident {n} {sp}");
        }
        ExprKind::Bytes(b) => {
            let _ = write!(out, "(bytes \"{}\" {sp}", b.escape_ascii());
        }
        ExprKind::Bool(b) => {
            let _ = write!(out, "(bool {b} {sp}");
        }
        ExprKind::Positional(n) => {
            let _ = write!(out, "(param ${n} {sp}");
        }
        ExprKind::ParamCount => {
            let _ = write!(out, "(param $# {sp}");
        }
        ExprKind::Tuple(elems) => {
            let _ = write!(out, "(tuple {sp}");
            children(out, elems.iter());
        }
        ExprKind::Record(fields) => {
            let _ = write!(out, "(record {sp}");
            for f in fields {
                let _ = write!(out, " {}=", f.name);
                expr(out, &f.value);
            }
        }
        ExprKind::TupleIndex { base, index } => {
            let _ = write!(out, "(.{index} {sp} ");
            expr(out, base);
        }
        ExprKind::Cast { ty, operand } => {
            let _ = write!(out, "(cast {} {sp} ", type_name(ty));
            expr(out, operand);
        }
        ExprKind::SizeofType(t) => {
            let _ = write!(out, "(sizeof {} {sp}", type_name(t));
        }
        ExprKind::SizeofExpr(e) => {
            let _ = write!(out, "(sizeof {sp} ");
            expr(out, e);
        }
        ExprKind::Block { stmts, value } => {
            let _ = write!(out, "(block-expr {sp}");
            for s in stmts {
                stmt(out, s, 3);
            }
            if let Some(v) = value {
                out.push_str(" => ");
                expr(out, v);
            }
        }
        ExprKind::Var(n) => {
            let _ = write!(out, "(var ${n} {sp}");
        }
        ExprKind::Map { name, keys } => {
            let _ = write!(out, "(map @{name} {sp}");
            children(out, keys.iter());
        }
        ExprKind::Call { name, args, .. } => {
            let _ = write!(out, "(call {name} {sp}");
            children(out, args.iter());
        }
        ExprKind::Field {
            base, field, arrow, ..
        } => {
            let _ = write!(out, "({}{field} {sp} ", if *arrow { "->" } else { "." });
            expr(out, base);
        }
        ExprKind::Deref(operand) => {
            let _ = write!(out, "(deref {sp}");
            children(out, std::iter::once(operand.as_ref()));
        }
        ExprKind::AddrOf(operand) => {
            let _ = write!(out, "(addr-of {sp}");
            children(out, std::iter::once(operand.as_ref()));
        }
        ExprKind::Index { base, index } => {
            let _ = write!(out, "(index {sp}");
            children(out, [base.as_ref(), index.as_ref()].into_iter());
        }
        ExprKind::Offsetof { ty, path } => {
            let _ = write!(out, "(offsetof {} {} {sp}", ty.name, path.join("."));
        }
        ExprKind::Unary { op, operand } => {
            let _ = write!(out, "({} {sp}", op.symbol());
            children(out, std::iter::once(operand.as_ref()));
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let _ = write!(out, "({} {sp}", op.symbol());
            children(out, [lhs.as_ref(), rhs.as_ref()].into_iter());
        }
        ExprKind::Ternary {
            cond,
            then,
            otherwise,
        } => {
            let _ = write!(out, "(?: {sp}");
            children(
                out,
                [cond.as_ref(), then.as_ref(), otherwise.as_ref()].into_iter(),
            );
        }
        ExprKind::IncDec {
            target,
            increment,
            prefix,
        } => {
            let op = if *increment { "++" } else { "--" };
            let pos = if *prefix { "pre" } else { "post" };
            let _ = write!(out, "({op}{pos} {sp}");
            children(out, std::iter::once(target.as_ref()));
        }
    }
    out.push(')');
}

fn children<'a>(out: &mut String, es: impl Iterator<Item = &'a Expr>) {
    for e in es {
        out.push(' ');
        expr(out, e);
    }
}
