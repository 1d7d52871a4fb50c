//! The one diagnostic type of the compiler and its one renderer.
//!
//! Every pass reports problems as `Diagnostic` values: a stable code, a
//! severity, a message, a primary labelled span, optional secondary labels, a
//! help line where a fix is known, and notes. Passes collect all of them and
//! return them together. Rendering (text with `file:line:col`, the source line
//! and carets) happens only here, through codespan-reporting.

use crate::source::{SourceFile, Span};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code, e.g. `E0101`; listed in `docs/diagnostics.md`.
    pub code: &'static str,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span)
        }
    }

    /// Sets the text written under the primary caret.
    pub fn label(mut self, message: impl Into<String>) -> Diagnostic {
        self.primary.message = message.into();
        self
    }

    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

/// Renders diagnostics as text: `error[CODE]: message`, then
/// `file:line:col`, the source line and a caret line under the span, then
/// help and notes. `color` adds ANSI colours (for terminals only).
pub fn render(diags: &[Diagnostic], source: &SourceFile, color: bool) -> String {
    // One codespan file per segment: the script, then each imported file.
    let mut files = SimpleFiles::new();
    for seg in source.segments() {
        let (start, end) = (
            source.to_original(seg.start, false),
            source.to_original(seg.end, true),
        );
        let text = source.original().get(start..end).unwrap_or("");
        files.add(seg.name.as_str(), text);
    }
    let config = term::Config::default();
    let mut out = Vec::new();
    for d in diags {
        let cs_diag = to_codespan(d, source);
        let result = if color {
            let mut w = term::termcolor::Ansi::new(&mut out);
            term::emit(&mut w, &config, &files, &cs_diag)
        } else {
            let mut w = term::termcolor::NoColor::new(&mut out);
            term::emit(&mut w, &config, &files, &cs_diag)
        };
        if result.is_err() {
            // A span the renderer cannot place still gets its message out.
            out.extend_from_slice(format!("{}: {}\n", d.code, d.message).as_bytes());
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The segment (file id) holding a span and the span relative to it, in
/// the text as the user wrote it.
fn place(source: &SourceFile, s: Span) -> (usize, std::ops::Range<usize>) {
    let len = source.text.len();
    let id = source.segment_of(s.start.min(len));
    let (base, end) = source
        .segments()
        .get(id)
        .map_or((0, len), |seg| (seg.start, seg.end));
    let start = s.start.clamp(base, end);
    let stop = s.end.clamp(start, end);
    let orig = |o: usize, end: bool| source.to_original(o, end);
    let base = orig(base, false);
    (
        id,
        orig(start, false) - base..orig(stop, true).max(orig(start, false)) - base,
    )
}

fn to_codespan(d: &Diagnostic, source: &SourceFile) -> cs::Diagnostic<usize> {
    let (id, range) = place(source, d.primary.span);
    let mut labels = vec![cs::Label::primary(id, range).with_message(&d.primary.message)];
    labels.extend(d.secondary.iter().map(|l| {
        let (id, range) = place(source, l.span);
        cs::Label::secondary(id, range).with_message(&l.message)
    }));
    let mut notes: Vec<String> = d.help.iter().map(|h| format!("help: {h}")).collect();
    notes.extend(d.notes.iter().map(|n| format!("note: {n}")));
    let own = crate::syntax::preprocess::CODES.contains(&d.code);
    if let Some(text) = source.expansion_at(d.primary.span.start).filter(|_| !own) {
        notes.push(format!(
            "note: in the expansion of a `#define` macro: `{text}`"
        ));
    }
    let base = match d.severity {
        Severity::Error => cs::Diagnostic::error(),
        Severity::Warning => cs::Diagnostic::warning(),
    };
    base.with_code(d.code)
        .with_message(&d.message)
        .with_labels(labels)
        .with_notes(notes)
}
