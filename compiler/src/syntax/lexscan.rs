//! A tiny lexical pre-scan of the script text, independent of the grammar.
//! It finds unterminated string literals and block comments (which the
//! grammar can only report as a confusing error far away), skips a leading
//! `#!` shebang line, and finds the resynchronisation point after a probe
//! that failed to parse (the `}` that closes its top-level block).

use crate::source::Span;

/// What the pre-scan found wrong with the token structure of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexProblem {
    UnterminatedString(Span),
    UnterminatedComment(Span),
}

impl LexProblem {
    pub fn start(self) -> usize {
        match self {
            LexProblem::UnterminatedString(s) | LexProblem::UnterminatedComment(s) => s.start,
        }
    }
}

/// The byte offset where the script proper starts (after a `#!` line).
pub fn skip_shebang(text: &str) -> usize {
    if text.starts_with("#!") {
        text.find('\n').map_or(text.len(), |i| i + 1)
    } else {
        0
    }
}

/// What sits at a byte offset, for the scanner's purposes.
enum Token {
    /// Whitespace, a comment or a string: skip to the given offset.
    Skip(usize),
    Open,
    Close,
    Other,
}

/// Classifies the token starting at `i` (a char boundary), recording an
/// unterminated string or comment in `problems`.
fn token_at(text: &str, i: usize, problems: &mut Vec<LexProblem>) -> Token {
    let rest = &text[i..];
    if rest.starts_with("//") {
        return Token::Skip(rest.find('\n').map_or(text.len(), |n| i + n));
    }
    if let Some(body) = rest.strip_prefix("/*") {
        return match body.find("*/") {
            Some(n) => Token::Skip(i + 2 + n + 2),
            None => {
                problems.push(LexProblem::UnterminatedComment(Span::new(i, i + 2)));
                Token::Skip(text.len())
            }
        };
    }
    if rest.starts_with('"') {
        return Token::Skip(string_end(text, i, problems));
    }
    match rest.chars().next() {
        Some('{') => Token::Open,
        Some('}') => Token::Close,
        _ => Token::Other,
    }
}

/// The offset just past the string literal starting at `start`. A string
/// that reaches a newline or the end of the text is unterminated.
fn string_end(text: &str, start: usize, problems: &mut Vec<LexProblem>) -> usize {
    let mut chars = text[start + 1..].char_indices();
    while let Some((n, c)) = chars.next() {
        match c {
            '"' => return start + 1 + n + 1,
            '\\' => {
                if let Some((_, '\n')) | None = chars.next() {
                    break;
                }
            }
            '\n' => break,
            _ => {}
        }
    }
    problems.push(LexProblem::UnterminatedString(Span::new(start, start + 1)));
    text[start..].find('\n').map_or(text.len(), |n| start + n)
}

/// Scans the whole text from `from` and returns every lexical problem.
pub fn problems(text: &str, from: usize) -> Vec<LexProblem> {
    let mut problems = Vec::new();
    let mut i = from;
    while i < text.len() {
        i = next_offset(text, i, &mut problems);
    }
    problems
}

fn next_offset(text: &str, i: usize, problems: &mut Vec<LexProblem>) -> usize {
    match token_at(text, i, problems) {
        Token::Skip(end) => end.max(i + 1).min(text.len()),
        _ => i + text[i..].chars().next().map_or(1, char::len_utf8),
    }
}

/// After a probe starting at `from` failed to parse: the offset just past the
/// `}` that closes its block (or a stray top-level `}`), or `None` when the
/// text ends first. The result is always greater than `from`.
pub fn recover(text: &str, from: usize) -> Option<usize> {
    let mut ignored = Vec::new();
    let mut depth = 0usize;
    let mut i = from;
    while i < text.len() {
        let kind = token_at(text, i, &mut ignored);
        let next = next_offset(text, i, &mut ignored);
        match kind {
            Token::Open => depth += 1,
            Token::Close if depth <= 1 => return Some(next),
            Token::Close => depth -= 1,
            _ => {}
        }
        i = next;
    }
    None
}

/// The most nesting a probe may have, in units of roughly 2 KiB of parser
/// stack in a debug build (a bracket level costs 4, a `?` or a prefix
/// operator 1, an `else` 3). Deeper input is rejected up front so that the
/// recursive parser can never overflow a 2 MiB thread stack.
const NESTING_BUDGET: usize = 400;

/// Per-probe nesting cost counters for `too_deep`.
#[derive(Default)]
struct Nesting {
    depth: usize,
    ternaries: usize,
    elses: usize,
    prefix_run: usize,
}

impl Nesting {
    fn cost(&self) -> usize {
        self.depth * 4 + self.ternaries + self.elses * 3 + self.prefix_run
    }
}

/// The first token at which a probe's nesting exceeds what the parser can
/// handle, if any.
pub fn too_deep(text: &str, from: usize) -> Option<Span> {
    let mut ignored = Vec::new();
    let mut n = Nesting::default();
    let mut i = from;
    while i < text.len() {
        let next = next_offset(text, i, &mut ignored);
        let c = text[i..].chars().next().unwrap_or(' ');
        let mut end = next;
        match c {
            '(' | '[' | '{' => n.depth += 1,
            ')' | ']' | '}' => n.depth = n.depth.saturating_sub(1),
            '?' => n.ternaries += 1,
            _ => {}
        }
        if c.is_ascii_alphabetic() || c == '_' {
            end = text[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(text.len(), |n| i + n);
            n.elses += usize::from(&text[i..end] == "else");
        }
        if matches!(c, '-' | '!' | '~' | '+') {
            n.prefix_run += 1;
        } else if !c.is_whitespace() {
            n.prefix_run = 0;
        }
        if n.cost() > NESTING_BUDGET {
            return Some(Span::new(i, next));
        }
        if n.depth == 0 && c == '}' {
            n = Nesting::default();
        }
        i = end.max(next);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unterminated_string_and_comment() {
        let p = problems("a \"abc\n b /* x", 0);
        assert_eq!(
            p,
            vec![
                LexProblem::UnterminatedString(Span::new(2, 3)),
                LexProblem::UnterminatedComment(Span::new(10, 12))
            ]
        );
    }

    #[test]
    fn recovers_after_balanced_block() {
        let t = "BEGIN { if (x) { \"}\" } } END {}";
        assert_eq!(recover(t, 0), Some(24));
        assert_eq!(recover("a b c", 0), None);
    }

    #[test]
    fn rejects_deep_nesting_only() {
        let deep = format!("BEGIN {{ $x = {}1; }}", "(".repeat(200));
        assert_eq!(too_deep(&deep, 0), Some(Span::new(112, 113)));
        let ok = "BEGIN { $x = ((1)) ? -!2 : 3; } END { if (1) { } else { } }".repeat(50);
        assert_eq!(too_deep(&ok, 0), None);
    }
}
