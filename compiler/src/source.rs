//! Source text and byte spans. Every AST node and every diagnostic carries a
//! `Span` into one `SourceFile`; line and column are computed only when a
//! diagnostic is rendered. Files brought in by `import` are appended to the
//! script's text as further segments, each with its own name, so one span
//! still names one place and the renderer shows the imported file's own
//! name, line and column.

/// A half-open byte range `start..end` in the script text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A script as the user gave it: its display name (`stdin`, a path, or
/// `-e` text shown as `stdin` like bpftrace) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Byte offset where each line starts (the first is 0), so that
    /// `line_col` costs a binary search, not a scan from the start: code
    /// generation asks it once per statement for debug locations.
    line_starts: Vec<usize>,
    /// The files making up `text`: the script itself first, then each
    /// imported file, every one starting on a line of its own.
    segments: Vec<Segment>,
    /// The text as the user wrote it, before `#define` macros were
    /// expanded (`syntax::preprocess`); diagnostics show this text.
    original: String,
    /// The macro expansions, in text order: how offsets in `text` map
    /// back to offsets in `original`.
    edits: Vec<Edit>,
}

/// One macro expansion: `original[orig]` became `text[exp]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub exp: std::ops::Range<usize>,
    pub orig: std::ops::Range<usize>,
}

/// One file's part of a `SourceFile`'s text.
#[derive(Debug, Clone)]
pub struct Segment {
    pub name: String,
    pub start: usize,
    pub end: usize,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text: String = text.into();
        let name: String = name.into();
        let line_starts = line_starts(&text);
        let segments = vec![Segment {
            name: name.clone(),
            start: 0,
            end: text.len(),
        }];
        SourceFile {
            name,
            original: text.clone(),
            text,
            line_starts,
            segments,
            edits: Vec::new(),
        }
    }

    /// The text as the user wrote it (before macro expansion).
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Maps an offset in `text` to the offset in `original` it came from:
    /// an offset inside a macro expansion maps to the start of the macro's
    /// use (or its end, for the `end` of a span).
    pub fn to_original(&self, offset: usize, end: bool) -> usize {
        let i = self.edits.partition_point(|e| e.exp.start <= offset);
        let Some(e) = i.checked_sub(1).and_then(|i| self.edits.get(i)) else {
            return offset;
        };
        if offset < e.exp.end {
            return if end { e.orig.end } else { e.orig.start };
        }
        e.orig.end + (offset - e.exp.end)
    }

    /// The text a macro use expanded to, when `offset` lies inside one.
    pub fn expansion_at(&self, offset: usize) -> Option<&str> {
        let i = self.edits.partition_point(|e| e.exp.start <= offset);
        let e = self.edits.get(i.checked_sub(1)?)?;
        (offset < e.exp.end)
            .then(|| self.text.get(e.exp.clone()))
            .flatten()
            .map(str::trim_end)
    }

    /// Replaces the text of the last segment, which starts at `from`,
    /// with its macro-expanded form; `edits` are relative to the segment.
    pub fn rewrite_last(&mut self, text: &str, edits: Vec<Edit>) {
        let Some(from) = self.segments.last().map(|s| s.start) else {
            return;
        };
        // Earlier segments' edits end before `from`.
        let orig_from = self.to_original(from, false);
        let Some(seg) = self.segments.last_mut() else {
            return;
        };
        self.text.truncate(from);
        self.text.push_str(text);
        seg.end = self.text.len();
        self.edits.extend(edits.into_iter().map(|e| Edit {
            exp: from + e.exp.start..from + e.exp.end,
            orig: orig_from + e.orig.start..orig_from + e.orig.end,
        }));
        self.line_starts = line_starts(&self.text);
    }

    /// Appends an imported file's text as a new segment named `name`,
    /// starting on a new line; returns the segment's index.
    pub fn append(&mut self, name: impl Into<String>, text: &str) -> usize {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
            self.original.push('\n');
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.original.push_str(text);
        self.segments.push(Segment {
            name: name.into(),
            start,
            end: self.text.len(),
        });
        self.line_starts = line_starts(&self.text);
        self.segments.len() - 1
    }

    /// The files making up the text, the script first.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The index of the segment holding byte `offset`.
    pub fn segment_of(&self, offset: usize) -> usize {
        self.segments
            .iter()
            .rposition(|s| s.start <= offset)
            .unwrap_or(0)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let end = floor_char_boundary(&self.text, offset);
        // The number of lines starting at or before `end`; at least 1,
        // because the first line starts at 0.
        let line = self.line_starts.partition_point(|&start| start <= end);
        let line_start = self
            .line_starts
            .get(line.wrapping_sub(1))
            .copied()
            .unwrap_or(0);
        let column = self
            .text
            .get(line_start..end)
            .map_or(0, |s| s.chars().count());
        (line.max(1), column + 1)
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based() {
        let f = SourceFile::new("stdin", "ab\ncd");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(4), (2, 2));
        assert_eq!(f.line_col(99), (2, 3));
    }

    #[test]
    fn line_col_at_line_ends_and_in_multibyte_text() {
        let f = SourceFile::new("stdin", "a\n\néb\n");
        assert_eq!(f.line_col(1), (1, 2));
        assert_eq!(f.line_col(2), (2, 1));
        assert_eq!(f.line_col(3), (3, 1));
        // Inside `é` (bytes 3..5): counted from its start.
        assert_eq!(f.line_col(4), (3, 1));
        assert_eq!(f.line_col(5), (3, 2));
        assert_eq!(f.line_col(7), (4, 1));
        assert_eq!(SourceFile::new("stdin", "").line_col(0), (1, 1));
    }

    #[test]
    fn appended_files_count_their_own_lines() {
        let mut f = SourceFile::new("main.bt", "a\nb");
        f.append("lib.bt", "x\ny");
        assert_eq!(f.segments().len(), 2);
        let y = f.text.rfind('y').unwrap_or(0);
        assert_eq!(f.segment_of(y), 1);
        assert_eq!(f.segment_of(2), 0);
        assert_eq!(&f.text[f.segments()[1].start..], "x\ny");
    }
}
