//! Property tests of the preamble: preprocessor lines and imports, then
//! parsing and rendering, never panic and never place a diagnostic outside
//! the text, for random soups of preprocessor and program tokens.

use ferrotrace_compiler::diagnostics::render;
use ferrotrace_compiler::syntax::{imports, parse};
use ferrotrace_compiler::SourceFile;
use proptest::prelude::*;
use std::path::Path;

const TOKENS: &[&str] = &[
    "#include <linux/sched.h>\n",
    "#include \"x.h\"\n",
    "#define ",
    "#define F(a, b) ((a) + (b))\n",
    "#define N 4\n",
    "#define R R\n",
    "#undef ",
    "#ifdef ",
    "#ifndef ",
    "#if ",
    "#elif ",
    "#else\n",
    "#endif\n",
    "#pragma x\n",
    "#\n",
    "defined(",
    "F(",
    "N",
    "R",
    "x",
    "import \"a.bt\";\n",
    "BEGIN",
    "{",
    "}",
    "(",
    ")",
    ",",
    ";",
    "\"",
    "\"s\"",
    "/*",
    "*/",
    "//",
    "\\\n",
    "\n",
    " ",
    "1",
    "&&",
    "||",
    "!",
    "==",
    "+",
    "-",
    "$x",
    "@m",
    "é",
    "\u{10ff41}",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|t| t.concat())
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let mut source = SourceFile::new("p.bt", text);
    let read = |p: &Path| -> std::io::Result<String> {
        match p.to_str() {
            Some("a.bt") => Ok("#define N 5\nmacro m() { N }\n".into()),
            _ => Err(std::io::ErrorKind::NotFound.into()),
        }
    };
    let mut diags = imports::resolve(&mut source, &read);
    let (_, more) = parse(&source);
    diags.extend(more);
    let len = source.text.len();
    for d in &diags {
        prop_assert!(d.primary.span.start <= d.primary.span.end.max(d.primary.span.start));
        prop_assert!(d.primary.span.start <= len, "{d:?} outside {len}");
    }
    let _ = render(&diags, &source, false);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn preamble_soups_never_panic(text in soup()) {
        check(&text)?;
    }

    #[test]
    fn random_text_never_panics(text in "(#[a-z]{0,6} ?|[A-Za-z_(),!\"\\n #]){0,80}") {
        check(&text)?;
    }
}
