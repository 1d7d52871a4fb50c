//! Runtime messages tied to a place in the script, in bpftrace's layout:
//! `errorf()`/`warnf()` (`stdin:1:9-30: ERROR: MSG`, one line), a
//! failed `assert()` (`stdin:1:9-30: ERROR: assert failed: MSG`) and a BPF
//! helper that failed while tracing (`stdin:1:27-33: WARNING: Map full;
//! ...` with `Additional Info - helper: map_update_elem, retcode: -7`),
//! each followed by the script line and `~` marks under the span; in JSON,
//! `errorf` and `helper_error` records with the file, line and column.

use ferrotrace_compiler::SourceFile;

use super::json::{to_text, Json};

/// `-E2BIG`: what a hash map update returns when the map is full.
const E2BIG: i64 = -7;

/// A byte span of the script, as the messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub filename: String,
    pub line: usize,
    pub col: usize,
    /// The line of the span's end.
    pub end_line: usize,
    /// The column after the span's last character on its first line.
    pub end_col: usize,
    /// The span's first line, and `~` marks under the span.
    pub context: [String; 2],
}

impl Location {
    /// Where bytes `start..end` of `source` are.
    pub fn of(source: &SourceFile, start: usize, end: usize) -> Location {
        let (line, col) = source.line_col(start);
        let text = source.text.lines().nth(line - 1).unwrap_or("").to_string();
        let (end_line, end) = source.line_col(end.max(start));
        let end_col = if end_line == line {
            end
        } else {
            text.chars().count() + 1
        };
        let marks = format!(
            "{}{}",
            " ".repeat(col - 1),
            "~".repeat(end_col.saturating_sub(col).max(1))
        );
        Location {
            filename: source.name.clone(),
            line,
            col,
            end_line: end_line.max(line),
            end_col,
            context: [text, marks],
        }
    }

    /// `stdin:LINE:COL-END`, or `stdin:LINE-END_LINE` for a span over
    /// several lines.
    fn prefix(&self) -> String {
        if self.end_line > self.line {
            return format!("{}:{}-{}", self.filename, self.line, self.end_line);
        }
        format!(
            "{}:{}:{}-{}",
            self.filename, self.line, self.col, self.end_col
        )
    }

    /// `PREFIX: LEVEL: MESSAGE`, then the context lines.
    fn text(&self, level: &str, message: &str) -> String {
        format!(
            "{}: {level}: {message}\n{}\n{}\n",
            self.prefix(),
            self.context[0],
            self.context[1]
        )
    }

    fn json_fields(&self) -> Vec<(String, Json)> {
        vec![
            ("filename".into(), Json::Str(self.filename.clone())),
            ("line".into(), Json::UInt(self.line as u64)),
            ("col".into(), Json::UInt(self.col as u64)),
        ]
    }
}

/// What bpftrace says about helper `helper` returning `retcode`.
pub fn helper_message(helper: &str, retcode: i64) -> String {
    if helper == "map_update_elem" && retcode == E2BIG {
        return "Map full; can't update element. Try increasing max_map_keys config or \
                manually setting the max entries in a map declaration e.g. `let @a = hash(5000)`"
            .to_string();
    }
    let code = i32::try_from(-retcode).unwrap_or(0);
    let text = std::io::Error::from_raw_os_error(code).to_string();
    text.strip_suffix(&format!(" (os error {code})"))
        .unwrap_or(&text)
        .to_string()
}

/// The text and JSON record of a helper failure at `at`.
pub fn helper_error(at: &Location, helper: &str, retcode: i64) -> (String, String) {
    let msg = helper_message(helper, retcode);
    let text = at.text(
        "WARNING",
        &format!("{msg}\nAdditional Info - helper: {helper}, retcode: {retcode}"),
    );
    let mut fields = vec![
        ("type".into(), Json::Str("helper_error".into())),
        ("msg".into(), Json::Str(msg)),
        ("helper".into(), Json::Str(helper.into())),
        ("retcode".into(), Json::Int(retcode)),
    ];
    fields.extend(at.json_fields());
    (text, format!("{}\n", to_text(&Json::Object(fields))))
}

/// The text and JSON record of an `errorf()` (`error`) or `warnf()`
/// message at `at`: one line without the source context (the context
/// would only repeat the call), a trailing newline of `text` dropped.
pub fn message(at: &Location, error: bool, text: &str) -> (String, String) {
    let level = if error { "ERROR" } else { "WARNING" };
    let line = format!(
        "{}: {level}: {}\n",
        at.prefix(),
        text.strip_suffix('\n').unwrap_or(text)
    );
    let mut fields = vec![
        (
            "type".into(),
            Json::Str(if error { "errorf" } else { "warnf" }.into()),
        ),
        ("msg".into(), Json::Str(text.into())),
    ];
    fields.extend(at.json_fields());
    (line, format!("{}\n", to_text(&Json::Object(fields))))
}

/// The text and JSON record of a failed `assert(cond, msg)` at `at`.
pub fn assert_failed(at: &Location, message: &str) -> (String, String) {
    let msg = format!("assert failed: {message}");
    let text = at.text("ERROR", &msg);
    let mut fields = vec![
        ("type".into(), Json::Str("errorf".into())),
        ("msg".into(), Json::Str(msg)),
    ];
    fields.extend(at.json_fields());
    (text, format!("{}\n", to_text(&Json::Object(fields))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Location {
        let src = SourceFile::new("stdin", "BEGIN { @a[1] = 1; }");
        Location::of(&src, 8, 17)
    }

    #[test]
    fn locates_a_span() {
        let l = at();
        assert_eq!((l.line, l.col, l.end_col), (1, 9, 18));
        assert_eq!(l.context[1], "        ~~~~~~~~~");
    }

    #[test]
    fn map_full_reads_like_bpftrace() {
        let (text, json) = helper_error(&at(), "map_update_elem", -7);
        assert_eq!(
            text,
            "stdin:1:9-18: WARNING: Map full; can't update element. Try increasing max_map_keys \
             config or manually setting the max entries in a map declaration e.g. `let @a = \
             hash(5000)`\nAdditional Info - helper: map_update_elem, retcode: -7\n\
             BEGIN { @a[1] = 1; }\n        ~~~~~~~~~\n"
        );
        assert!(json.starts_with(
            "{\"type\": \"helper_error\", \"msg\": \"Map full; can't update element."
        ));
        assert!(json.ends_with(
            "\"helper\": \"map_update_elem\", \"retcode\": -7, \"filename\": \"stdin\", \"line\": 1, \"col\": 9}\n"
        ));
    }

    #[test]
    fn errorf_and_warnf_messages() {
        let (text, json) = message(&at(), true, "bad 10\n");
        assert_eq!(text, "stdin:1:9-18: ERROR: bad 10\n");
        assert_eq!(
            json,
            "{\"type\": \"errorf\", \"msg\": \"bad 10\\n\", \"filename\": \"stdin\", \"line\": 1, \"col\": 9}\n"
        );
        let src = SourceFile::new("x.bt", "BEGIN {\n  warnf(\"a\",\n    1);\n}\n");
        let (text, json) = message(&Location::of(&src, 10, 27), false, "careful");
        assert_eq!(text, "x.bt:2-3: WARNING: careful\n");
        assert!(json.starts_with("{\"type\": \"warnf\", \"msg\": \"careful\""));
    }

    #[test]
    fn other_failures_name_the_errno() {
        assert_eq!(helper_message("probe_read_kernel", -14), "Bad address");
    }

    #[test]
    fn assert_failure_is_an_error() {
        let (text, json) = assert_failed(&at(), "x is small");
        assert!(text.starts_with("stdin:1:9-18: ERROR: assert failed: x is small\n"));
        assert_eq!(
            json,
            "{\"type\": \"errorf\", \"msg\": \"assert failed: x is small\", \"filename\": \"stdin\", \"line\": 1, \"col\": 9}\n"
        );
    }
}
