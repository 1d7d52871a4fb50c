//! Property tests: the parser never panics and never reports a diagnostic
//! span outside the text or off a char boundary, for random bytes, random
//! token soups and random mutations of the fixture scripts.

use ferrotrace_compiler::syntax::parse;
use ferrotrace_compiler::{Diagnostic, SourceFile};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "BEGIN",
    "END",
    "tracepoint:syscalls:sys_enter_openat",
    "interval:s:1",
    "uprobe:/bin/bash:readline",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ",",
    ":",
    "?",
    "/",
    "//",
    "/*",
    "*/",
    "\"",
    "\"str\\n\"",
    "\\",
    "=",
    "==",
    "!=",
    "+=",
    "-=",
    "<<=",
    ">>=",
    "+",
    "-",
    "*",
    "%",
    "&",
    "&&",
    "|",
    "||",
    "^",
    "~",
    "!",
    "<",
    "<=",
    ">",
    ">=",
    "<<",
    ">>",
    "++",
    "--",
    ".",
    "->",
    "if",
    "else",
    "while",
    "$x",
    "@",
    "@map",
    "pid",
    "comm",
    "args",
    "filename",
    "count",
    "printf",
    "str",
    "0",
    "0x1f",
    "0777",
    "1_000",
    "2e3",
    "99999999999999999999",
    "\n",
    " ",
    "\t",
    "#!",
    "é",
    "\u{1F600}",
];

fn fixtures() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ok");
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let source = SourceFile::new("prop", text);
    let (_, diags) = parse(&source);
    for d in &diags {
        check_span(text, d)?;
    }
    Ok(())
}

fn check_span(text: &str, d: &Diagnostic) -> Result<(), TestCaseError> {
    for label in std::iter::once(&d.primary).chain(&d.secondary) {
        let s = label.span;
        prop_assert!(
            s.start <= s.end && s.end <= text.len(),
            "span {s:?} out of {} bytes",
            text.len()
        );
        prop_assert!(
            text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
            "span {s:?} splits a char"
        );
    }
    Ok(())
}

/// Snaps a byte offset down to a char boundary.
fn floor(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete,
    Insert(String),
    Duplicate,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Delete),
        proptest::sample::select(TOKENS).prop_map(|t| Mutation::Insert(t.to_string())),
        Just(Mutation::Duplicate),
    ]
}

fn mutate(text: &str, a: usize, b: usize, m: &Mutation) -> String {
    let (a, b) = (floor(text, a.min(b)), floor(text, a.max(b)));
    match m {
        Mutation::Delete => format!("{}{}", &text[..a], &text[b..]),
        Mutation::Insert(t) => format!("{}{t}{}", &text[..a], &text[a..]),
        Mutation::Duplicate => format!("{}{}", &text[..b], &text[a..]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn token_soup_never_panics(toks in proptest::collection::vec(proptest::sample::select(TOKENS), 0..60)) {
        check(&toks.join(" "))?;
        check(&toks.concat())?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fixture_mutations_never_panic(
        idx in any::<prop::sample::Index>(),
        muts in proptest::collection::vec((any::<usize>(), 0usize..12, mutation()), 1..4),
    ) {
        let files = fixtures();
        prop_assume!(!files.is_empty());
        let mut text = files[idx.index(files.len())].clone();
        for (pos, len, m) in &muts {
            let a = pos % (text.len() + 1);
            text = mutate(&text, a, a + len, m);
        }
        check(&text)?;
    }
}

#[test]
fn deep_nesting_does_not_crash() {
    for depth in [10usize, 100, 1000, 20_000] {
        let parens = format!(
            "BEGIN {{ $x = {}1{}; }}",
            "(".repeat(depth),
            ")".repeat(depth)
        );
        let _ = parse(&SourceFile::new("deep", parens));
        let ternary = format!("BEGIN {{ $x = {}1; }}", "1 ? 1 : ".repeat(depth));
        let _ = parse(&SourceFile::new("deep", ternary));
        let blocks = format!("BEGIN {}{}", "{ if (1) ".repeat(depth), "}".repeat(depth));
        let _ = parse(&SourceFile::new("deep", blocks));
        let unary = format!("BEGIN {{ $x = {}1; }}", "-!~".repeat(depth));
        let _ = parse(&SourceFile::new("deep", unary));
    }
}
