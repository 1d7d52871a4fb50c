//! Command-line parameters: positional `$1`..`$N` (an integer when the
//! argument is a number, a string otherwise, and always a string inside
//! `str()`), `$#` (their count), their substitution into attach points, and
//! `getopt(name, default)` over the `--name=value` arguments given after
//! `--`. All of them are compile-time constants, as in bpftrace.

use super::types::{literal_type, signed_literal_type};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprKind, Type};
use crate::source::Span;
use crate::syntax::ast;
use crate::syntax::literal::parse_int;

impl Checker<'_> {
    /// The attach point with `$N` and `$#` replaced by their values.
    pub(super) fn substitute_params(&mut self, ap: &ast::AttachPoint) -> ast::AttachPoint {
        if !ap.raw.contains('$') {
            return ap.clone();
        }
        for part in &ap.parts {
            let mut rest = part.text.as_str();
            while let Some(i) = rest.find('$') {
                let after = &rest[i + 1..];
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                if let Ok(n) = after[..digits].parse::<u32>() {
                    // Reports $0 and unset parameters.
                    let _ = self.param(n, part.span);
                }
                rest = &after[digits..];
            }
        }
        let mut out = ap.clone();
        out.raw = self.substitute(&ap.raw);
        for part in &mut out.parts {
            part.text = self.substitute(&part.text);
        }
        out
    }

    fn substitute(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(tail) = after.strip_prefix('#') {
                out.push_str(&self.options.positional.len().to_string());
                rest = tail;
                continue;
            }
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            match after[..digits].parse::<usize>() {
                Ok(n) if n > 0 => {
                    out.push_str(
                        self.options
                            .positional
                            .get(n - 1)
                            .map_or("", String::as_str),
                    );
                }
                _ => out.push('$'),
            }
            rest = &after[digits..];
        }
        out.push_str(rest);
        out
    }

    /// `$N` as a value: an integer constant when the argument is a number,
    /// else a string constant; unset parameters read as 0 with a warning.
    pub(super) fn positional(&mut self, n: u32, span: Span) -> Option<Expr> {
        let Some(raw) = self.param(n, span)? else {
            return Some(int_const(0, span));
        };
        Some(match parse_number(&raw) {
            Some(v) => int_const(v, span),
            None => str_const(raw, span),
        })
    }

    /// `$N` in a string context (`str($1)`): always its text.
    pub(super) fn positional_str(&mut self, n: u32, span: Span) -> Option<Expr> {
        let raw = self.param(n, span)?.unwrap_or_default();
        Some(str_const(raw, span))
    }

    /// `$#`.
    pub(super) fn param_count(&self, span: Span) -> Expr {
        int_const(self.options.positional.len() as i128, span)
    }

    /// The text of `$n`, `Ok(None)` (with a warning) when it was not given.
    fn param(&mut self, n: u32, span: Span) -> Option<Option<String>> {
        if n == 0 {
            self.error(
                Diagnostic::error("E0219", "`$0` is not a positional parameter", span)
                    .label("parameters start at $1"),
            );
            return None;
        }
        let value = self.options.positional.get(n as usize - 1).cloned();
        if value.is_none() {
            self.error(
                Diagnostic::warning(
                    "W0004",
                    format!("positional parameter ${n} is not set"),
                    span,
                )
                .label("reads as 0, or as \"\" in a string context")
                .help(format!(
                    "pass it after the script: `ferrotrace script.bt{}`",
                    " ARG".repeat(n as usize)
                )),
            );
        }
        Some(value)
    }

    /// `getopt("name"[, default])`.
    pub(super) fn getopt(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let name_arg = args.first()?;
        let ast::ExprKind::Str(name) = &name_arg.kind else {
            self.error(
                Diagnostic::error(
                    "E0219",
                    "the name given to getopt() must be a string literal",
                    name_arg.span,
                )
                .label("not a string literal")
                .help("write `getopt(\"name\", default)`"),
            );
            return None;
        };
        let default = match args.get(1) {
            Some(d) => Some(self.expr(d, scope)?),
            None => None,
        };
        let given = self
            .options
            .named
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone());
        if let Some(d) = &default {
            if !matches!(d.ty, Type::Bool | Type::Int { .. } | Type::Str(_)) {
                self.error(
                    Diagnostic::error(
                        "E0219",
                        "the default of getopt() must be an integer, a string or a boolean",
                        d.span,
                    )
                    .label(format!("{} default", super::types::describe(&d.ty))),
                );
                return None;
            }
        }
        let Some(default) = default else {
            let on = given.is_some_and(|v| !matches!(v.as_str(), "false" | "0"));
            return Some(Expr {
                kind: ExprKind::Bool(on),
                ty: Type::Bool,
                span,
            });
        };
        let Some(text) = given else {
            return Some(default);
        };
        let bad = |this: &mut Self, what: &str| {
            this.error(
                Diagnostic::error(
                    "E0219",
                    format!("named parameter --{name}={text:?} is not {what}"),
                    span,
                )
                .label(format!("the default makes it {what}")),
            );
        };
        match &default.ty {
            Type::Bool => match text.as_str() {
                "" | "true" | "1" => Some(bool_const(true, span)),
                "false" | "0" => Some(bool_const(false, span)),
                _ => {
                    bad(self, "a boolean");
                    None
                }
            },
            Type::Int { .. } => match parse_number(&text) {
                Some(v) => Some(int_const(v, span)),
                None => {
                    bad(self, "an integer");
                    None
                }
            },
            _ => Some(str_const(text, span)),
        }
    }
}

/// A parameter's text as an integer: decimal, hex, octal or binary, with
/// an optional leading `-`.
fn parse_number(text: &str) -> Option<i128> {
    let t = text.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t),
    };
    if !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let v = i128::from(parse_int(digits, Span::default()).ok()?);
    if neg {
        (v <= 1 << 63).then_some(-v)
    } else {
        Some(v)
    }
}

/// An integer constant typed like a literal of that value.
fn int_const(v: i128, span: Span) -> Expr {
    let (bits, ty) = match i64::try_from(v) {
        Ok(n) if n < 0 => (n as u64, signed_literal_type(n)),
        _ => {
            let u = u64::try_from(v).unwrap_or(u64::MAX);
            (u, literal_type(u))
        }
    };
    Expr {
        kind: ExprKind::Int(bits),
        ty,
        span,
    }
}

fn bool_const(b: bool, span: Span) -> Expr {
    Expr {
        kind: ExprKind::Bool(b),
        ty: Type::Bool,
        span,
    }
}

fn str_const(s: String, span: Span) -> Expr {
    let len = u32::try_from(s.len() + 1).unwrap_or(u32::MAX);
    Expr {
        kind: ExprKind::Str(s),
        ty: Type::Str(len),
        span,
    }
}
