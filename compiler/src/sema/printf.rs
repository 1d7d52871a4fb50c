//! Compile-time checks of printf format strings: the number of arguments
//! and which value families each conversion accepts. Formatting itself
//! happens in user space from the event record.

/// What a conversion accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    /// `%d %u %x %c %p ...`: integers, booleans and pointers.
    Integer,
    /// `%s`: anything printable.
    Any,
}

/// One conversion of a format string and its byte offset in the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    pub offset: usize,
    pub accepts: Accepts,
    /// `*` width: consumes an extra integer argument first.
    pub star_width: bool,
}

/// Scans a format string. Returns its conversions, or the byte offset and
/// text of the first invalid one.
pub fn conversions(format: &str) -> Result<Vec<Conversion>, (usize, String)> {
    let bytes = format.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        if bytes.get(i) == Some(&b'%') {
            i += 1;
            continue;
        }
        while matches!(bytes.get(i), Some(b'-' | b'+' | b' ' | b'#' | b'0')) {
            i += 1;
        }
        let star_width = bytes.get(i) == Some(&b'*');
        if star_width {
            i += 1;
        }
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        while matches!(bytes.get(i), Some(b'h' | b'l' | b'j' | b'z' | b't')) {
            i += 1;
        }
        let accepts = match bytes.get(i) {
            Some(b'd' | b'i' | b'u' | b'x' | b'X' | b'o' | b'c' | b'p') => Accepts::Integer,
            Some(b's') => Accepts::Any,
            _ => {
                let end = (i + 1).min(bytes.len());
                let text = String::from_utf8_lossy(&bytes[start..end]).into_owned();
                return Err((start, text));
            }
        };
        i += 1;
        out.push(Conversion {
            offset: start,
            accepts,
            star_width,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_conversions() {
        let c = conversions("%-10s|%5d|%lx %% %c").unwrap_or_default();
        let kinds: Vec<_> = c.iter().map(|c| c.accepts).collect();
        assert_eq!(
            kinds,
            [
                Accepts::Any,
                Accepts::Integer,
                Accepts::Integer,
                Accepts::Integer
            ]
        );
        assert_eq!(conversions("bad %q"), Err((4, "%q".to_string())));
        assert_eq!(conversions("%*d").map(|c| c[0].star_width), Ok(true));
    }
}
