//! The C preprocessor lines of the preamble, handled by ferrotrace itself
//! (no clang): `#include` lines and `#pragma`s are accepted and skipped (kernel
//! types come from BTF), `#define NAME value` and `#define F(a, b) ((a) + (b))` macros
//! are expanded token by token in the program text after their definition
//! (`#undef` ends one), and `#ifdef`/`#ifndef`/`#if`/`#elif`/`#else`/
//! `#endif` keep or drop lines (conditions of integers, macro names,
//! `defined`, `!`, `&&`, `||`, comparisons, `+` and `-`). `BPFTRACE_HAVE_BTF` is predefined, as in bpftrace.
//!
//! Directive lines and dropped lines become blanks of the same length, and
//! an expansion is padded with the newlines its use spanned, so every line
//! keeps its number; each expansion is recorded as a `source::Edit`, which
//! lets diagnostics point at the macro's use in the text as written.

use crate::diagnostics::Diagnostic;
use crate::source::{Edit, SourceFile, Span};
use std::collections::HashMap;

/// The codes of the problems found here, which are about a macro's use
/// itself (the renderer adds no "in the expansion of" note to them).
pub const CODES: &[&str] = &["E0344", "E0345", "E0346", "E0347", "W0050", "W0051"];

/// How deeply a macro's expansion may use further macros.
const MAX_DEPTH: usize = 32;

/// How much text all expansions of one file may produce together (macros
/// that use others twice grow exponentially).
const MAX_EXPANSION: usize = 1 << 20;

/// How many macro values one `#if` condition may evaluate.
const MAX_COND_MACROS: usize = 10_000;

/// How deeply operators and parentheses may nest in an `#if` condition.
const MAX_NEST: usize = 256;

/// Expands the preprocessor lines of `source`'s last segment (the script,
/// or the file just imported). Returns the problems found.
pub fn preprocess_last(source: &mut SourceFile) -> Vec<Diagnostic> {
    let Some(seg) = source.segments().last() else {
        return Vec::new();
    };
    let base = seg.start;
    let Some(text) = source.text.get(seg.start..seg.end) else {
        return Vec::new();
    };
    if !text.contains('#') {
        return Vec::new();
    }
    let mut pre = Pre::new(base);
    let masked = pre.directives(text);
    if pre.events.is_empty() {
        if masked != text {
            source.rewrite_last(&masked, Vec::new());
        }
        return pre.diags;
    }
    let (expanded, edits) = pre.expand_top(&masked);
    // Diagnostics were placed in the unexpanded text: move them to where
    // the same bytes are now (the renderer maps them back).
    let to_expanded = |o: usize, end: bool| {
        let rel = o.saturating_sub(base);
        if let Some(e) = edits
            .iter()
            .find(|e| e.orig.start < rel && rel < e.orig.end)
        {
            return base + if end { e.exp.end } else { e.exp.start };
        }
        let shift: isize = edits
            .iter()
            .filter(|e| e.orig.end <= rel)
            .map(|e| e.exp.len() as isize - e.orig.len() as isize)
            .sum();
        base + rel.saturating_add_signed(shift)
    };
    for d in &mut pre.diags {
        d.primary.span = Span::new(
            to_expanded(d.primary.span.start, false),
            to_expanded(d.primary.span.end, true),
        );
    }
    source.rewrite_last(&expanded, edits);
    pre.diags
}

#[derive(Debug, Clone)]
struct Macro {
    /// `None` for an object-like macro.
    params: Option<Vec<String>>,
    body: String,
}

enum Event {
    Define(String, Macro),
    Undef(String),
}

struct Pre {
    /// Where the segment starts in the whole text, for diagnostics.
    base: usize,
    macros: HashMap<String, Macro>,
    /// Definitions and `#undef`s by the offset from which they apply.
    events: Vec<(usize, Event)>,
    diags: Vec<Diagnostic>,
    /// The macro use being expanded at the top level: problems found
    /// inside macro bodies are reported there.
    top_use: (usize, usize),
    /// Bytes produced by expansions so far, against `MAX_EXPANSION`.
    expanded: usize,
    /// Set once an expansion ran too deep or too long: nothing more is
    /// expanded, so the work stays bounded.
    gave_up: bool,
}

/// One open `#if`-family block.
struct Cond {
    /// Whether lines in the current branch are kept.
    active: bool,
    /// Whether an earlier branch of this block was kept.
    taken: bool,
    /// Whether the enclosing lines are kept.
    outer: bool,
    span: Span,
}

impl Pre {
    fn new(base: usize) -> Pre {
        let mut macros = HashMap::new();
        macros.insert(
            "BPFTRACE_HAVE_BTF".to_string(),
            Macro {
                params: None,
                body: "1".to_string(),
            },
        );
        Pre {
            base,
            macros,
            events: Vec::new(),
            diags: Vec::new(),
            top_use: (0, 0),
            expanded: 0,
            gave_up: false,
        }
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.base + start, self.base + end)
    }

    /// Handles every directive line, returning the text with directive and
    /// dropped lines blanked (newlines kept).
    fn directives(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut conds: Vec<Cond> = Vec::new();
        let mut in_comment = false;
        let mut pos = 0;
        while pos < text.len() {
            // A directive line continues past a trailing backslash.
            let mut end = line_end(text, pos);
            let line = &text[pos..end];
            let trimmed = line.trim_start();
            let shebang = pos == 0 && line.starts_with("#!");
            let is_directive = !in_comment && !shebang && trimmed.starts_with('#');
            if is_directive {
                while text[pos..end]
                    .trim_end_matches(['\r', '\n'])
                    .ends_with('\\')
                    && end < text.len()
                {
                    end = line_end(text, end);
                }
                let full = &text[pos..end];
                let lead = full.len() - full.trim_start().len();
                self.directive(full.trim_start(), pos + lead, &mut conds);
                out.push_str(&blank(full));
            } else if conds.last().is_some_and(|c| !c.active) {
                out.push_str(&blank(line));
            } else {
                in_comment = comment_state(line, in_comment);
                out.push_str(line);
            }
            pos = end;
        }
        for c in conds {
            self.diags.push(
                Diagnostic::error("E0346", "this `#if` block is never closed", c.span)
                    .label("opened here")
                    .help("add `#endif` after the lines it guards"),
            );
        }
        out
    }

    /// One directive (`line` starts at `#`, at offset `at` in the segment).
    fn directive(&mut self, line: &str, at: usize, conds: &mut Vec<Cond>) {
        let body = line[1..].trim_start();
        let word_len = body
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(body.len());
        let (word, rest) = body.split_at(word_len);
        let rest = rest.trim();
        let span = self.span(at, at + line.trim_end().len());
        let active = conds.last().is_none_or(|c| c.active);
        match word {
            "ifdef" | "ifndef" => {
                let defined = self.macros.contains_key(first_word(rest));
                let keep = defined == (word == "ifdef");
                conds.push(Cond {
                    active: active && keep,
                    taken: keep,
                    outer: active,
                    span,
                });
            }
            "if" => {
                let keep = active && self.condition(rest, span);
                conds.push(Cond {
                    active: active && keep,
                    taken: keep,
                    outer: active,
                    span,
                });
            }
            "elif" => {
                let Some(outer) = conds.last().map(|c| c.outer && !c.taken) else {
                    self.unmatched(span, "#elif");
                    return;
                };
                let keep = outer && self.condition(rest, span);
                if let Some(c) = conds.last_mut() {
                    c.active = keep;
                    c.taken |= keep;
                }
            }
            "else" => match conds.last_mut() {
                Some(c) => {
                    c.active = c.outer && !c.taken;
                    c.taken = true;
                }
                None => self.unmatched(span, "#else"),
            },
            "endif" => {
                if conds.pop().is_none() {
                    self.unmatched(span, "#endif");
                }
            }
            _ if !active => {}
            "include" => {
                let system = rest.starts_with('<') && rest.ends_with('>');
                let local = rest.len() >= 2 && rest.starts_with('"') && rest.ends_with('"');
                if !system && !local {
                    self.diags.push(
                        Diagnostic::error("E0344", "malformed `#include`", span)
                            .label("expected `<file.h>` or `\"file.h\"`"),
                    );
                } else if local {
                    // A system header only brings kernel types, which BTF
                    // has; a local one may hold the script's own macros.
                    self.diags.push(
                        Diagnostic::warning(
                            "W0051",
                            format!("{rest} is not read"),
                            span,
                        )
                        .label("skipped")
                        .help("ferrotrace takes types from the kernel's BTF and does not read headers: put the macros this script needs in `#define` lines of its own"),
                    );
                }
            }
            // Pragmas only steer clang; nothing here needs them.
            "pragma" => {}
            "define" => self.define(rest, at + (line.len() - rest.len()), span),
            "undef" => {
                let name = first_word(rest).to_string();
                self.macros.remove(&name);
                self.events.push((at, Event::Undef(name)));
            }
            _ => self.diags.push(
                Diagnostic::warning(
                    "W0050",
                    format!("preprocessor directive `#{word}` is ignored"),
                    span,
                )
                .label("ignored")
                .help("ferrotrace handles `#include`, `#define`, `#undef`, `#ifdef`, `#ifndef`, `#if`, `#elif`, `#else` and `#endif`"),
            ),
        }
    }

    /// Evaluates an `#if`/`#elif` condition; one it cannot evaluate is
    /// reported and counts as false.
    fn condition(&mut self, text: &str, span: Span) -> bool {
        let tokens = cond_tokens(text);
        let evaluated = std::cell::Cell::new(0);
        let mut eval = CondEval {
            macros: &self.macros,
            tokens: &tokens,
            pos: 0,
            depth: 0,
            nest: 0,
            evaluated: &evaluated,
        };
        match eval.or().filter(|_| eval.pos == tokens.len()) {
            Some(v) => v != 0,
            None => {
                self.diags.push(
                    Diagnostic::error("E0344", "cannot evaluate this `#if` condition", span)
                        .label("condition not understood")
                        .help("conditions may use integers, macro names, `defined(NAME)`, `!`, `&&`, `||`, comparisons, `+`, `-` and parentheses"),
                );
                false
            }
        }
    }

    fn unmatched(&mut self, span: Span, what: &str) {
        self.diags.push(
            Diagnostic::error("E0346", format!("`{what}` without an open `#if`"), span)
                .label("nothing to close here"),
        );
    }

    /// `#define NAME body` or `#define NAME(a, b) body`.
    fn define(&mut self, rest: &str, at: usize, span: Span) {
        let rest = rest.replace("\\\r\n", " ").replace("\\\n", " ");
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            self.diags.push(
                Diagnostic::error("E0344", "`#define` needs a macro name", span)
                    .label("no name here")
                    .help("write `#define NAME value` or `#define NAME(a, b) expression`"),
            );
            return;
        }
        let after = &rest[name_len..];
        let (params, body) = if let Some(list) = after.strip_prefix('(') {
            let Some(close) = list.find(')') else {
                self.diags.push(
                    Diagnostic::error("E0344", "unclosed parameter list in `#define`", span)
                        .label("missing `)`"),
                );
                return;
            };
            let params: Vec<String> = list[..close]
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            (Some(params), list[close + 1..].trim())
        } else {
            (None, after.trim())
        };
        let m = Macro {
            params,
            body: body.to_string(),
        };
        self.macros.insert(name.to_string(), m.clone());
        self.events.push((at, Event::Define(name.to_string(), m)));
    }

    /// Expands macro uses in the whole segment, applying definitions from
    /// the point they appear; returns the text and the expansions.
    fn expand_top(&mut self, text: &str) -> (String, Vec<Edit>) {
        self.macros.retain(|k, _| k == "BPFTRACE_HAVE_BTF");
        let events = std::mem::take(&mut self.events);
        let mut events = events.into_iter().peekable();
        let mut out = String::with_capacity(text.len());
        let mut edits = Vec::new();
        let mut pos = 0;
        for tok in Tokens::new(text) {
            while let Some((_, ev)) = events.next_if(|(at, _)| *at <= tok.start) {
                match ev {
                    Event::Define(n, m) => {
                        self.macros.insert(n, m);
                    }
                    Event::Undef(n) => {
                        self.macros.remove(&n);
                    }
                }
            }
            if tok.start < pos {
                continue;
            }
            self.top_use = (tok.start, tok.end);
            let Some((expansion, end)) = self.use_at(text, tok.start, tok.end, &mut Vec::new(), 0)
            else {
                continue;
            };
            out.push_str(&text[pos..tok.start]);
            let exp_start = out.len();
            out.push_str(&expansion);
            // Keep line numbers: the newlines the use spanned follow it.
            out.extend(std::iter::repeat_n(
                '\n',
                text[tok.start..end].matches('\n').count(),
            ));
            edits.push(Edit {
                exp: exp_start..out.len(),
                orig: tok.start..end,
            });
            pos = end;
        }
        out.push_str(&text[pos..]);
        (out, edits)
    }

    /// If the identifier `text[start..end]` uses a macro, its expansion and
    /// the offset just past the use (past the argument list).
    fn use_at(
        &mut self,
        text: &str,
        start: usize,
        end: usize,
        disabled: &mut Vec<String>,
        depth: usize,
    ) -> Option<(String, usize)> {
        let name = &text[start..end];
        if self.gave_up || disabled.iter().any(|d| d == name) {
            return None;
        }
        // Offsets inside a macro body mean nothing to the user: report at
        // the use in the script.
        let top_use = self.top_use;
        let at = move |close: usize| {
            if depth == 0 {
                (start, close)
            } else {
                top_use
            }
        };
        let m = self.macros.get(name)?.clone();
        if depth >= MAX_DEPTH {
            self.gave_up = true;
            self.diags.push(
                Diagnostic::error("E0347", format!("macro `{name}` expands too deeply"), {
                    let (a, b) = at(end);
                    self.span(a, b)
                })
                .label("expansion stopped here")
                .help("a macro that uses itself, directly or through others, never ends"),
            );
            return None;
        }
        let (body, end) = match &m.params {
            None => (m.body.clone(), end),
            Some(params) => {
                let open = end + (text[end..].len() - text[end..].trim_start().len());
                if !text[open..].starts_with('(') {
                    return None;
                }
                let Some((args, close)) = split_args(text, open) else {
                    self.diags.push(
                        Diagnostic::error(
                            "E0345",
                            format!("the arguments of macro `{name}` are never closed"),
                            {
                                let (a, b) = at(end);
                                self.span(a, b)
                            },
                        )
                        .label("missing `)`"),
                    );
                    return None;
                };
                // After an error the use becomes `0`, so the checker does
                // not report it again as an unknown function.
                let args_given =
                    if params.is_empty() && args.len() == 1 && args[0].trim().is_empty() {
                        0
                    } else {
                        args.len()
                    };
                if args_given != params.len() {
                    self.diags.push(
                        Diagnostic::error(
                            "E0345",
                            format!(
                                "macro `{name}` takes {} argument{}, {args_given} given",
                                params.len(),
                                if params.len() == 1 { "" } else { "s" }
                            ),
                            {
                                let (a, b) = at(close);
                                self.span(a, b)
                            },
                        )
                        .label("this use")
                        .help(format!("it is defined as `{name}({})`", params.join(", "))),
                    );
                    return Some(("0".to_string(), close));
                }
                let args: Vec<String> = args
                    .iter()
                    .map(|a| self.expand_nested(a.trim(), disabled, depth + 1))
                    .collect();
                (substitute(&m.body, params, &args), close)
            }
        };
        disabled.push(name.to_string());
        let expanded = self.expand_nested(&body, disabled, depth + 1);
        disabled.pop();
        self.expanded = self.expanded.saturating_add(expanded.len());
        if self.gave_up {
            return Some(("0".to_string(), end));
        }
        if self.expanded > MAX_EXPANSION {
            self.gave_up = true;
            let (a, b) = at(end);
            self.diags.push(
                Diagnostic::error(
                    "E0347",
                    format!("macro `{name}` expands to more than 1 MiB of text"),
                    self.span(a, b),
                )
                .label("expansion stopped here")
                .help("a macro that uses another several times doubles its text at every level"),
            );
            return Some(("0".to_string(), end));
        }
        Some((expanded, end))
    }

    /// Expands macro uses inside a macro body or argument.
    fn expand_nested(&mut self, text: &str, disabled: &mut Vec<String>, depth: usize) -> String {
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        for tok in Tokens::new(text) {
            if tok.start < pos {
                continue;
            }
            if let Some((exp, end)) = self.use_at(text, tok.start, tok.end, disabled, depth) {
                out.push_str(&text[pos..tok.start]);
                out.push_str(&exp);
                pos = end;
            }
        }
        out.push_str(&text[pos..]);
        out
    }
}

/// The tokens of an `#if` condition: numbers, names and operators.
fn cond_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(text[start..i].to_string());
        } else if b[i..].starts_with(b"//") {
            break;
        } else {
            let two = text.get(i..i + 2).unwrap_or("");
            let len = if ["&&", "||", "==", "!=", "<=", ">="].contains(&two) {
                2
            } else {
                1
            };
            out.push(text.get(i..i + len).unwrap_or("").to_string());
            i += len;
        }
    }
    out
}

/// A recursive-descent evaluator of `#if` conditions; `None` when the
/// condition is not understood.
struct CondEval<'a> {
    macros: &'a HashMap<String, Macro>,
    tokens: &'a [String],
    pos: usize,
    /// How deeply macro values are being evaluated.
    depth: usize,
    /// How deeply unary operators and parentheses nest.
    nest: usize,
    /// Macro values evaluated so far for this condition (macros using
    /// others several times would otherwise take exponential time).
    evaluated: &'a std::cell::Cell<usize>,
}

impl CondEval<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn eat(&mut self, t: &str) -> bool {
        let hit = self.peek() == Some(t);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn or(&mut self) -> Option<i64> {
        let mut v = self.and()?;
        while self.eat("||") {
            let r = self.and()?;
            v = i64::from(v != 0 || r != 0);
        }
        Some(v)
    }

    fn and(&mut self) -> Option<i64> {
        let mut v = self.compare()?;
        while self.eat("&&") {
            let r = self.compare()?;
            v = i64::from(v != 0 && r != 0);
        }
        Some(v)
    }

    fn compare(&mut self) -> Option<i64> {
        let l = self.sum()?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.eat(op) {
                let r = self.sum()?;
                return Some(i64::from(match op {
                    "==" => l == r,
                    "!=" => l != r,
                    "<=" => l <= r,
                    ">=" => l >= r,
                    "<" => l < r,
                    _ => l > r,
                }));
            }
        }
        Some(l)
    }

    fn sum(&mut self) -> Option<i64> {
        let mut v = self.unary()?;
        loop {
            if self.eat("+") {
                v = v.wrapping_add(self.unary()?);
            } else if self.eat("-") {
                v = v.wrapping_sub(self.unary()?);
            } else {
                return Some(v);
            }
        }
    }

    fn unary(&mut self) -> Option<i64> {
        self.nest += 1;
        let v = if self.nest > MAX_NEST {
            None
        } else {
            self.operand()
        };
        self.nest -= 1;
        v
    }

    fn operand(&mut self) -> Option<i64> {
        if self.eat("!") {
            return Some(i64::from(self.unary()? == 0));
        }
        if self.eat("-") {
            return Some(self.unary()?.wrapping_neg());
        }
        if self.eat("(") {
            let v = self.or()?;
            return self.eat(")").then_some(v);
        }
        let tok = self.peek()?.to_string();
        self.pos += 1;
        if tok == "defined" {
            let paren = self.eat("(");
            let name = self.peek()?.to_string();
            self.pos += 1;
            if paren && !self.eat(")") {
                return None;
            }
            return Some(i64::from(self.macros.contains_key(&name)));
        }
        if tok.starts_with(|c: char| c.is_ascii_digit()) {
            let digits = tok.trim_end_matches(['u', 'U', 'l', 'L']);
            return match digits
                .strip_prefix("0x")
                .or_else(|| digits.strip_prefix("0X"))
            {
                Some(hex) => i64::from_str_radix(hex, 16).ok(),
                None => digits.parse().ok(),
            };
        }
        // A macro's value, evaluated in turn; an unknown name is 0, as in C.
        let Some(m) = self.macros.get(&tok).filter(|m| m.params.is_none()) else {
            return Some(0);
        };
        self.evaluated.set(self.evaluated.get() + 1);
        if self.depth >= MAX_DEPTH || self.evaluated.get() > MAX_COND_MACROS {
            return None;
        }
        let tokens = cond_tokens(&m.body);
        let mut inner = CondEval {
            macros: self.macros,
            tokens: &tokens,
            pos: 0,
            depth: self.depth + 1,
            nest: self.nest,
            evaluated: self.evaluated,
        };
        inner.or().filter(|_| inner.pos == tokens.len())
    }
}

/// Replaces each parameter identifier in `body` by its argument.
fn substitute(body: &str, params: &[String], args: &[String]) -> String {
    let mut out = String::with_capacity(body.len());
    let mut pos = 0;
    for tok in Tokens::new(body) {
        if let Some(i) = params.iter().position(|p| p == &body[tok.start..tok.end]) {
            out.push_str(&body[pos..tok.start]);
            out.push_str(args.get(i).map_or("", String::as_str));
            pos = tok.end;
        }
    }
    out.push_str(&body[pos..]);
    out
}

/// The arguments of a macro use whose `(` is at `open`, split on the
/// commas outside nested brackets and strings, and the offset past `)`.
fn split_args(text: &str, open: usize) -> Option<(Vec<String>, usize)> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut args = Vec::new();
    let mut start = open + 1;
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i),
            b'(' | b'[' | b'{' => depth += 1,
            b')' if depth == 0 => {
                args.push(text[start..i].to_string());
                return Some((args, i + 1));
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                args.push(text[start..i].to_string());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The offset of the closing quote of the string starting at `i`.
fn string_end(bytes: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
        if bytes[i] == b'\\' {
            i += 1;
        }
        i += 1;
    }
    i.min(bytes.len().saturating_sub(1))
}

/// An identifier that may name a macro.
struct Token {
    start: usize,
    end: usize,
}

/// The identifiers of a text outside strings, comments, numbers and the
/// names of `$variables` and `@maps`.
struct Tokens<'a> {
    bytes: &'a [u8],
    i: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        Tokens {
            bytes: text.as_bytes(),
            i: 0,
        }
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let b = self.bytes;
        let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
        while self.i < b.len() {
            let c = b[self.i];
            match c {
                b'"' => self.i = string_end(b, self.i) + 1,
                b'/' if b.get(self.i + 1) == Some(&b'/') => {
                    while self.i < b.len() && b[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                b'/' if b.get(self.i + 1) == Some(&b'*') => {
                    self.i += 2;
                    while self.i < b.len() && !b[self.i..].starts_with(b"*/") {
                        self.i += 1;
                    }
                    self.i += 2;
                }
                b'$' | b'@' | b'0'..=b'9' => {
                    self.i += 1;
                    while self.i < b.len() && word(b[self.i]) {
                        self.i += 1;
                    }
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let start = self.i;
                    while self.i < b.len() && word(b[self.i]) {
                        self.i += 1;
                    }
                    return Some(Token { start, end: self.i });
                }
                _ => self.i += 1,
            }
        }
        None
    }
}

/// The offset just past the end of the line starting at `pos`.
fn line_end(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1)
}

/// Spaces for every character of `s` but its newlines.
fn blank(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '\n' | '\r' => std::iter::repeat_n(c, 1),
            _ => std::iter::repeat_n(' ', c.len_utf8()),
        })
        .collect()
}

fn first_word(s: &str) -> &str {
    s.split(|c: char| c.is_whitespace()).next().unwrap_or("")
}

/// Whether a block comment is still open at the end of `line`.
fn comment_state(line: &str, mut open: bool) -> bool {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if open {
            if b[i..].starts_with(b"*/") {
                open = false;
                i += 1;
            }
        } else if b[i] == b'"' {
            i = string_end(b, i);
        } else if b[i..].starts_with(b"//") {
            break;
        } else if b[i..].starts_with(b"/*") {
            open = true;
            i += 1;
        }
        i += 1;
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (SourceFile, Vec<Diagnostic>) {
        let mut src = SourceFile::new("t.bt", text);
        let diags = preprocess_last(&mut src);
        (src, diags)
    }

    #[test]
    fn object_and_function_macros_expand_keeping_lines() {
        let (src, diags) = run(
            "#include <linux/sched.h>\n#define N 4\n#define ADD(a, b) ((a) + (b))\nBEGIN { @x = ADD(N, 1); @s = \"N\"; $N = 1 }\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let last = src.text.lines().nth(3).unwrap_or("");
        assert_eq!(last, "BEGIN { @x = ((4) + (1)); @s = \"N\"; $N = 1 }");
        assert_eq!(src.text.lines().count(), 4);
        // The expansion maps back to the use.
        let at = src.text.find("((4)").unwrap_or(0);
        let use_at = src.original().find("ADD(N").unwrap_or(0);
        assert_eq!(src.to_original(at, false), use_at);
    }

    #[test]
    fn conditionals_and_undef() {
        let (src, diags) = run(
            "#ifdef BPFTRACE_HAVE_BTF\n#define A 1\n#else\n#define A 2\n#endif\n#ifndef A\nnope\n#endif\nBEGIN { @a = A }\n#undef A\nEND { @b = A }\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert!(src.text.contains("@a = 1"));
        assert!(!src.text.contains("nope"));
        assert!(src.text.contains("@b = A"));
    }

    /// `M0` is `leaf`; each `Mi` uses `M(i-1)` twice, up to `M(levels-1)`,
    /// which the script uses.
    fn fan_out(leaf: &str, levels: usize) -> String {
        let mut text = format!("#define M0 {leaf}\n");
        for i in 1..levels {
            text.push_str(&format!("#define M{i} M{} M{}\n", i - 1, i - 1));
        }
        text.push_str(&format!("BEGIN {{ @ = M{} }}\n", levels - 1));
        text
    }

    #[test]
    fn exponential_expansion_stops() {
        let (src, diags) = run(&fan_out("x x", 30));
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0347"]);
        assert!(src.text.len() < 4 * MAX_EXPANSION);
    }

    #[test]
    fn deep_fan_out_stops_at_the_first_too_deep_use() {
        let (_, diags) = run(&fan_out("x", 60));
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0347"]);
    }

    #[test]
    fn if_and_elif_conditions_are_evaluated() {
        let (src, diags) = run(
            "#define V 3\n#if defined(V) && V >= 2 && !defined(W)\n#define A 1\n#elif 1\n#define A 2\n#endif\n#if V == 4\n#define B 1\n#elif (V - 1) == 2 || X\n#define B 2\n#else\n#define B 3\n#endif\nBEGIN { @ = A + B }\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert!(src.text.contains("@ = 1 + 2"), "{}", src.text);
        let mut fan = String::from("#define C0 1\n");
        for i in 1..40 {
            fan.push_str(&format!("#define C{i} C{} + C{}\n", i - 1, i - 1));
        }
        fan.push_str("#if C39\n#endif\n");
        let (_, diags) = run(&fan);
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0344"]);
        let (_, diags) = run("#if 1 +\n#endif\n");
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0344"]);
    }

    #[test]
    fn wrong_arity_and_unclosed_blocks_are_reported() {
        let (_, diags) = run("#define F(a) a\n#ifdef X\nBEGIN { @ = F(1, 2) }\n");
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0346"]);
        let (_, diags) = run("#define F(a) a\nBEGIN { @ = F(1, 2) }\n");
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0345"]);
        let (_, diags) = run("#define R R + 1\n#define S T\n#define T S\nBEGIN { @ = S }\n");
        assert!(diags.is_empty(), "{diags:?}");
    }
}
