//! Source text and byte spans. Every AST node and every diagnostic carries a
//! `Span` into one `SourceFile`; line and column are computed only when a
//! diagnostic is rendered.

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
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
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
}
