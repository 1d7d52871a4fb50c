//! The parser entry point. The pest grammar (`grammar.pest`) is run one
//! action block at a time: each probe is parsed from where the previous one
//! ended, so that after a syntax error the parser can skip to the `}` that
//! closes the broken probe and keep reporting errors in the following ones.
//! Every pest error becomes a `Diagnostic` in exactly one function,
//! `syntax_error`; lexical problems found by `lexscan` (unterminated strings
//! and comments) take precedence over the confusing grammar error they cause.

use super::ast::Script;
use super::lexscan::{self, LexProblem};
use super::lower::Lower;
use crate::diagnostics::Diagnostic;
use crate::source::{SourceFile, Span};
use pest::error::{Error, ErrorVariant, InputLocation};
use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "syntax/grammar.pest"]
pub(super) struct Grammar;

/// Parses a whole script (and the files it imports, appended to it as
/// segments: each is parsed on its own, so an error in one cannot run into
/// the next). Returns the AST (possibly partial) and every syntax error
/// found.
pub fn parse(source: &SourceFile) -> (Script, Vec<Diagnostic>) {
    pest::set_error_detail(true);
    let mut items = Vec::new();
    let mut diags = Vec::new();
    for seg in source.segments() {
        let text = source.text.get(..seg.end).unwrap_or(&source.text);
        if !parse_segment(text, seg.start, &mut items, &mut diags) {
            break;
        }
    }
    (
        Script {
            items,
            span: Span::new(0, source.text.len()),
        },
        diags,
    )
}

/// The items of one segment of `source` (its syntax errors are left for
/// `parse` to report).
pub(super) fn segment_items(source: &SourceFile, index: usize) -> Vec<super::ast::Item> {
    let mut items = Vec::new();
    if let Some(seg) = source.segments().get(index) {
        let text = source.text.get(..seg.end).unwrap_or(&source.text);
        parse_segment(text, seg.start, &mut items, &mut Vec::new());
    }
    items
}

/// Parses `text[start..]` into `items`; returns false when nesting is too
/// deep to go on.
fn parse_segment(
    text: &str,
    start: usize,
    items: &mut Vec<super::ast::Item>,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let start = start + lexscan::skip_shebang(&text[start..]);
    let mut problems = lexscan::problems(text, start);
    if let Some(span) = lexscan::too_deep(text, start) {
        let d = Diagnostic::error("E0001", "syntax error: nesting too deep", span)
            .label("the parser gives up here")
            .help("split the expression or block into smaller pieces using variables");
        diags.push(d);
        return false;
    }
    let mut pos = start;
    while pos < text.len() {
        let rest = &text[pos..];
        if Grammar::parse(Rule::top_end, rest).is_ok() {
            break;
        }
        match parse_probe(rest, pos, diags) {
            Ok(Some((item, end))) => {
                items.push(item);
                pos = end;
            }
            Ok(None) => {
                diags.push(Diagnostic::error(
                    "E0001",
                    "syntax error: malformed action block",
                    Span::new(pos, pos),
                ));
                break;
            }
            Err(e) => {
                diags.push(syntax_error(&e, text, pos, &mut problems));
                match lexscan::recover(text, pos) {
                    Some(next) if next > pos => pos = next,
                    _ => break,
                }
            }
        }
    }
    true
}

type ProbeResult = Result<Option<(super::ast::Item, usize)>, Box<Error<Rule>>>;

/// Parses one top-level item (a probe, a `config` block or a map
/// declaration) at the start of `rest` (which begins at byte `offset`);
/// returns it and the offset just past it.
fn parse_probe(rest: &str, offset: usize, diags: &mut Vec<Diagnostic>) -> ProbeResult {
    let mut pairs = Grammar::parse(Rule::probe_entry, rest).map_err(Box::new)?;
    let Some(probe) = pairs.next().and_then(|entry| entry.into_inner().next()) else {
        return Ok(None);
    };
    let end = offset + probe.as_span().end();
    let mut lower = Lower {
        offset,
        diags,
        source: rest,
    };
    Ok(lower.item(probe).map(|p| (p, end)))
}

/// The one conversion of a pest error into a diagnostic (`E0001`, or `E0004`
/// when an unterminated string or comment is the real cause).
fn syntax_error(
    e: &Error<Rule>,
    text: &str,
    offset: usize,
    problems: &mut Vec<LexProblem>,
) -> Diagnostic {
    let at = offset
        + match e.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
    let at = floor_boundary(text, at.min(text.len()));
    if let Some(i) = problems
        .iter()
        .position(|p| (offset..=at).contains(&p.start()))
    {
        return lexical_error(problems.remove(i));
    }
    let expected = expected_tokens(e);
    let span = token_span(text, at);
    let found = if at >= text.len() {
        "end of input".to_string()
    } else {
        format!("`{}`", &text[span.start..span.end])
    };
    let wants_expr = expects_expression(e);
    let message = if wants_expr {
        "syntax error: expected expression".to_string()
    } else if at >= text.len() {
        "syntax error: unexpected end of input".to_string()
    } else {
        format!("syntax error: unexpected token {found}")
    };
    let label = match (wants_expr, expected.is_empty()) {
        (true, _) => format!("expected an expression here, found {found}"),
        (false, true) => "unexpected here".to_string(),
        (false, false) => format!("expected {}", one_of(&expected)),
    };
    let mut d = Diagnostic::error("E0001", message, span).label(label);
    if let Some(h) = help_for(&expected, at >= text.len(), &found, wants_expr) {
        d = d.help(h);
    }
    d
}

fn lexical_error(p: LexProblem) -> Diagnostic {
    match p {
        LexProblem::UnterminatedString(s) => {
            Diagnostic::error("E0004", "unterminated string literal", s)
                .label("this string is never closed")
                .help("add a closing `\"` on the same line")
        }
        LexProblem::UnterminatedComment(s) => {
            Diagnostic::error("E0004", "unterminated block comment", s)
                .label("this comment is never closed")
                .help("add a closing `*/`")
        }
    }
}

/// The literal tokens pest wanted at the error position, quoted and sorted.
fn expected_tokens(e: &Error<Rule>) -> Vec<String> {
    let mut out: Vec<String> = match e.parse_attempts() {
        Some(a) => a
            .expected_tokens()
            .into_iter()
            .map(|t| t.to_string())
            .filter(|t| is_literal_token(t))
            .map(|t| format!("`{t}`"))
            .collect(),
        None => Vec::new(),
    };
    if let ErrorVariant::ParsingError { positives, .. } = &e.variant {
        out.extend(
            positives
                .iter()
                .filter_map(|r| rule_name(*r))
                .map(str::to_string),
        );
    }
    out.sort();
    out.dedup();
    summarize(out)
}

/// Operators that may follow an expression; listed as "an operator".
const OPERATORS: &[&str] = &[
    "!=", "%=", "%", "&&", "&=", "&", "*=", "*", "++", "+=", "+", "--", "-=", "->", "-", ".", "/=",
    "/", "<<=", "<<", "<=", "<", "==", "=", ">=", ">>=", ">>", ">", "?", "^=", "^", "|=", "|",
    "||",
];
/// Tokens that may start an expression or statement.
const STARTS: &[&str] = &["!", "\"", "$", "(", "++", "--", "-", "@", "~", "if", "_"];

/// Shortens pest's token list: comment openers and identifier characters
/// are dropped, operators become "an operator" and expression starters
/// "an expression" (or "a statement" where `if` was possible).
fn summarize(tokens: Vec<String>) -> Vec<String> {
    let has = |t: &str| tokens.iter().any(|x| x.trim_matches('`') == t);
    let after_expr = ["==", "||", "&&", "?", "->"].iter().any(|t| has(t));
    let before_expr = ["$", "@", "\""].iter().any(|t| has(t));
    let closers = [";", ")", ",", "]", ":"].iter().any(|t| has(t));
    let stmt_start = has("if");
    let mut out: Vec<String> = tokens
        .into_iter()
        .filter(|t| {
            let bare = t.trim_matches('`');
            let noise = bare == "/*" || bare == "//" || bare == "_";
            let op = after_expr && OPERATORS.contains(&bare) && (bare != "/" || closers);
            let start = before_expr && STARTS.contains(&bare);
            !(noise || op || start)
        })
        .collect();
    if before_expr {
        out.push(
            if stmt_start {
                "a statement"
            } else {
                "an expression"
            }
            .to_string(),
        );
    }
    if after_expr {
        out.push("an operator".to_string());
    }
    out
}

/// Drops pest's built-in rule and character-range tokens (`BUILTIN_RULE`,
/// `a..z`) and whitespace, keeping literal punctuation and keywords.
fn is_literal_token(t: &str) -> bool {
    let range =
        t.chars().count() == 4 && t.chars().nth(1) == Some('.') && t.chars().nth(2) == Some('.');
    t != "BUILTIN_RULE" && !range && !t.trim().is_empty()
}

/// Whether the parser was looking for the start of an expression.
fn expects_expression(e: &Error<Rule>) -> bool {
    let starts = [
        Rule::int_lit,
        Rule::str_lit,
        Rule::ident,
        Rule::var,
        Rule::map_name,
        Rule::unary,
        Rule::expr,
    ];
    match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().any(|r| starts.contains(r))
        }
        ErrorVariant::CustomError { .. } => false,
    }
}

/// Friendly names of the rules worth listing in an "expected" label.
fn rule_name(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::attach_point => "an attach point",
        Rule::block => "`{`",
        Rule::assign_op => "`=`",
        Rule::field_name => "a field name",
        Rule::kw_else => "`else`",
        _ => return None,
    })
}

/// `x`, `x or y`, `one of x, y or z`.
fn one_of(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] if init.len() == 1 => format!("{} or {last}", init[0]),
        [init @ .., last] => format!("one of {} or {last}", init.join(", ")),
    }
}

fn help_for(expected: &[String], at_end: bool, found: &str, wants_expr: bool) -> Option<String> {
    let has = |t: &str| expected.iter().any(|x| x == t);
    // Keywords that start statements are where a broken statement of that
    // kind is reported, not names used by mistake.
    const STATEMENT_WORDS: &[&str] = &[
        "if", "else", "while", "for", "unroll", "let", "return", "break", "continue",
    ];
    let keyword = found
        .strip_prefix('`')
        .and_then(|f| f.strip_suffix('`'))
        .filter(|w| is_keyword(w));
    let form = match keyword {
        Some("for") => {
            Some("a `for` loop is `for ($i : 0..10) { ... }` or `for ($kv : @map) { ... }`")
        }
        Some("while") => Some("a `while` loop is `while (cond) { ... }`"),
        Some("unroll") => Some("`unroll(N) { ... }` repeats the block N times (1 to 100)"),
        Some("let") => Some("declare with `let $x;`, `let $x = e;` or `let $x: uint32 = e;`"),
        Some("import") => Some("an import is `import \"file.bt\";`"),
        Some("macro") => Some("a macro is `macro name($var, @map, expr) { ... }`"),
        Some("config") => Some("the config block is `config = { key = value; ... }`"),
        _ => None,
    };
    if let Some(form) = form {
        return Some(form.to_string());
    }
    if let Some(word) = keyword.filter(|w| !STATEMENT_WORDS.contains(w)) {
        return Some(format!(
            "`{word}` is a reserved keyword and cannot be used as a name"
        ));
    }
    let help = if found == "`else`" {
        "`else` must directly follow the block of an `if`"
    } else if at_end && has("`}`") {
        "the action block is missing its closing `}`"
    } else if has("`;`") && has("`}`") {
        "statements are separated by `;`; is a `;` or a closing `}` missing?"
    } else if has("`)`") {
        "is a closing `)` missing?"
    } else if has("`]`") {
        "is a closing `]` missing?"
    } else if has("`{`") && !wants_expr {
        "an action block `{ ... }` must follow the attach points and predicate"
    } else if has("`/`") {
        "is the closing `/` of the predicate missing?"
    } else {
        return None;
    };
    Some(help.to_string())
}

fn is_keyword(word: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "if", "else", "while", "for", "unroll", "return", "break", "continue", "let", "config",
        "import", "macro", "sizeof", "offsetof",
    ];
    KEYWORDS.contains(&word)
}

/// The span of the token starting at `at`: a word, or one character, or
/// empty at the end of the text.
fn token_span(text: &str, at: usize) -> Span {
    let rest = &text[at..];
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let len = match rest.chars().next() {
        None => 0,
        Some(c) if word(c) => rest.find(|c: char| !word(c)).unwrap_or(rest.len()),
        Some(c) => c.len_utf8(),
    };
    Span::new(at, at + len)
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::{ExprKind, Item, Probe};

    fn probes(text: &str) -> (Vec<Probe>, Vec<Diagnostic>) {
        let (script, diags) = parse(&SourceFile::new("t", text));
        (
            script
                .items
                .into_iter()
                .filter_map(|i| match i {
                    Item::Probe(p) => Some(p),
                    _ => None,
                })
                .collect(),
            diags,
        )
    }

    #[test]
    fn attach_point_paths_and_predicates() {
        let (ps, diags) = probes("uprobe:/bin/bash:readline /pid == 1/ { }");
        assert!(diags.is_empty(), "{diags:?}");
        let ap = &ps[0].attach_points[0];
        assert_eq!(ap.raw, "uprobe:/bin/bash:readline");
        let parts: Vec<&str> = ap.parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(parts, ["uprobe", "/bin/bash", "readline"]);
        assert_eq!(ap.parts[1].span, Span::new(7, 16));
        assert!(ps[0].predicate.is_some());
    }

    #[test]
    fn quoted_parts_and_liberal_words() {
        let text = r#"usdt:"/a b/lib.so":prov:"probe name",kprobe:fn+0x10,uprobe:$1:sys_*{}"#;
        let (ps, diags) = probes(text);
        assert!(diags.is_empty(), "{diags:?}");
        let aps = &ps[0].attach_points;
        assert_eq!(aps.len(), 3);
        assert!(aps[0].parts[1].quoted);
        assert_eq!(aps[0].parts[1].text, "/a b/lib.so");
        assert_eq!(aps[0].parts[1].span, Span::new(5, 18));
        assert_eq!(aps[1].raw, "kprobe:fn+0x10");
        assert_eq!(aps[2].parts[1].text, "$1");
    }

    #[test]
    fn keywords_are_fine_as_field_names_only() {
        let (_, diags) = probes("BEGIN { $x = args.return; }");
        assert!(diags.is_empty(), "{diags:?}");
        let (_, diags) = probes("BEGIN { $x = return; }");
        assert_eq!(diags.len(), 1);
    }

    #[test]
    fn recovers_at_probe_granularity() {
        let (ps, diags) = probes("BEGIN { a b } END { c d } interval:s:1 { exit() }");
        assert_eq!(diags.len(), 2);
        assert_eq!(ps.len(), 1);
        assert!(diags.iter().all(|d| d.code == "E0001"));
    }

    #[test]
    fn ternary_is_right_associative() {
        let (ps, diags) = probes("BEGIN { $x = 1 ? 2 : 3 ? 4 : 5; }");
        assert!(diags.is_empty());
        let crate::syntax::ast::StmtKind::Assign { value, .. } = &ps[0].body.stmts[0].kind else {
            panic!("not an assignment")
        };
        let ExprKind::Ternary { otherwise, .. } = &value.kind else {
            panic!("not a ternary")
        };
        assert!(matches!(otherwise.kind, ExprKind::Ternary { .. }));
    }

    #[test]
    fn empty_and_comment_only_scripts() {
        for text in [
            "",
            "   \n",
            "// nothing\n/* at all */",
            "#!/usr/bin/bpftrace\n",
        ] {
            let (ps, diags) = probes(text);
            assert!(ps.is_empty() && diags.is_empty(), "{text:?}");
        }
    }
}
