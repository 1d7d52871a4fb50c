//! The grammar of printf format strings, parsed in exactly one place.
//!
//! The compiler uses it to count and type a `printf()` call's arguments;
//! the runtime parses each format once per session and formats event
//! records from the pieces. A conversion is `%`, flags (`- + space # 0`),
//! a width (digits or `*`), a precision (`.` then digits or `*`), a length
//! modifier (`hh h l ll j z t`) and one of `d i u x X o c p s`, or
//! bpftrace's buffer conversions `r rx rh`. As in C,
//! integer conversions without `l`/`ll`/`j`/`z`/`t` work on 32 bits, `hh`
//! on 8 and `h` on 16. Anything else after a `%` is an `Invalid` piece:
//! the compiler rejects it, the runtime copies it literally.

/// One piece of a parsed format string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Literal text.
    Text(&'a str),
    /// `%%`.
    Percent,
    Conversion(Conversion),
    /// A `%` sequence that is not a conversion, up to (not including) the
    /// character that made it invalid; `offset` is where its `%` is.
    Invalid {
        offset: usize,
        text: &'a str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversion {
    /// Byte offset of the `%` in the format string.
    pub offset: usize,
    pub left: bool,
    pub plus: bool,
    pub space: bool,
    pub alt: bool,
    pub zero: bool,
    pub width: Count,
    pub precision: Option<Count>,
    /// Operand width in bits selected by the length modifier: 8, 16, 32 or 64.
    pub bits: u32,
    pub kind: ConversionKind,
}

/// A width or precision: written digits, or `*` (taken from an argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Fixed(usize),
    FromArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversionKind {
    /// `%d`, `%i`.
    Signed,
    /// `%u`.
    Unsigned,
    /// `%x`.
    LowerHex,
    /// `%X`.
    UpperHex,
    /// `%o`.
    Octal,
    /// `%c`.
    Char,
    /// `%p`.
    Pointer,
    /// `%s`: any printable value.
    Str,
    /// `%r`: a buffer, printable ASCII bytes as they are, others `\xNN`.
    BufferText,
    /// `%rx`: a buffer, every byte as `\xNN`.
    BufferEscaped,
    /// `%rh`: a buffer, every byte as two hex digits, separated by spaces.
    BufferHex,
}

impl ConversionKind {
    /// Whether the value must be an integer (or boolean, or pointer).
    pub fn takes_integer(self) -> bool {
        !matches!(self, ConversionKind::Str) && !self.takes_buffer()
    }

    /// Whether the value must be a buffer (or a string): `%r`, `%rx`, `%rh`.
    pub fn takes_buffer(self) -> bool {
        matches!(
            self,
            ConversionKind::BufferText | ConversionKind::BufferEscaped | ConversionKind::BufferHex
        )
    }
}

impl Conversion {
    /// How many arguments it consumes: one per `*` and one for the value.
    pub fn arg_count(&self) -> usize {
        1 + usize::from(self.width == Count::FromArg)
            + usize::from(self.precision == Some(Count::FromArg))
    }
}

/// Widths and precisions this large are nonsense; capping them keeps
/// padding bounded whatever the script says.
const MAX_COUNT: usize = 1 << 16;

/// Splits a format string into pieces. Never fails: invalid sequences are
/// pieces of their own.
pub fn parse(format: &str) -> Vec<Piece<'_>> {
    let bytes = format.as_bytes();
    let at = |k: usize| bytes.get(k).copied().unwrap_or(0);
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = match bytes[i..].iter().position(|&b| b == b'%') {
            Some(rel) => i + rel,
            None => bytes.len(),
        };
        if start > i {
            pieces.push(Piece::Text(&format[i..start]));
        }
        if start == bytes.len() {
            break;
        }
        if at(start + 1) == b'%' {
            pieces.push(Piece::Percent);
            i = start + 2;
            continue;
        }
        let (piece, next) = conversion(format, start);
        pieces.push(piece);
        i = next;
    }
    pieces
}

/// Parses the conversion whose `%` is at `start`; returns it and the index
/// after it.
fn conversion(format: &str, start: usize) -> (Piece<'_>, usize) {
    let bytes = format.as_bytes();
    let at = |k: usize| bytes.get(k).copied().unwrap_or(0);
    let mut j = start + 1;
    let (mut left, mut plus, mut space, mut alt, mut zero) = (false, false, false, false, false);
    loop {
        match at(j) {
            b'-' => left = true,
            b'+' => plus = true,
            b' ' => space = true,
            b'#' => alt = true,
            b'0' => zero = true,
            _ => break,
        }
        j += 1;
    }
    let width = count(bytes, &mut j);
    let precision = if at(j) == b'.' {
        j += 1;
        Some(count(bytes, &mut j))
    } else {
        None
    };
    let bits = match (at(j), at(j + 1)) {
        (b'h', b'h') => {
            j += 2;
            8
        }
        (b'h', _) => {
            j += 1;
            16
        }
        (b'l', b'l') => {
            j += 2;
            64
        }
        (b'l' | b'j' | b'z' | b't', _) => {
            j += 1;
            64
        }
        _ => 32,
    };
    let kind = match at(j) {
        b'd' | b'i' => ConversionKind::Signed,
        b'u' => ConversionKind::Unsigned,
        b'x' => ConversionKind::LowerHex,
        b'X' => ConversionKind::UpperHex,
        b'o' => ConversionKind::Octal,
        b'c' => ConversionKind::Char,
        b'p' => ConversionKind::Pointer,
        b's' => ConversionKind::Str,
        b'r' => match at(j + 1) {
            b'x' => {
                j += 1;
                ConversionKind::BufferEscaped
            }
            b'h' => {
                j += 1;
                ConversionKind::BufferHex
            }
            _ => ConversionKind::BufferText,
        },
        _ => {
            let text = format.get(start..j).unwrap_or("");
            return (
                Piece::Invalid {
                    offset: start,
                    text,
                },
                j,
            );
        }
    };
    let c = Conversion {
        offset: start,
        left,
        plus,
        space,
        alt,
        zero,
        width,
        precision,
        bits,
        kind,
    };
    (Piece::Conversion(c), j + 1)
}

/// Reads `*` or a run of digits (none reads as 0) at `*j`, advancing it.
fn count(bytes: &[u8], j: &mut usize) -> Count {
    if bytes.get(*j) == Some(&b'*') {
        *j += 1;
        return Count::FromArg;
    }
    let mut n: usize = 0;
    while let Some(&b) = bytes.get(*j).filter(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(usize::from(b - b'0'));
        *j += 1;
    }
    Count::Fixed(n.min(MAX_COUNT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversions(format: &str) -> Vec<Conversion> {
        parse(format)
            .into_iter()
            .filter_map(|p| match p {
                Piece::Conversion(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn buffer_conversions() {
        let kinds: Vec<_> = conversions("%r|%rx|%rh|%-8r")
            .into_iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ConversionKind::BufferText,
                ConversionKind::BufferEscaped,
                ConversionKind::BufferHex,
                ConversionKind::BufferText
            ]
        );
        assert!(!ConversionKind::BufferHex.takes_integer());
        assert!(ConversionKind::BufferHex.takes_buffer());
        assert_eq!(parse("%rxy")[1], Piece::Text("y"));
    }

    #[test]
    fn splits_text_percent_and_conversions() {
        let p = parse("a %-10s|%5d %% %lx");
        assert_eq!(p[0], Piece::Text("a "));
        assert!(matches!(
            p[1],
            Piece::Conversion(Conversion {
                left: true,
                width: Count::Fixed(10),
                kind: ConversionKind::Str,
                ..
            })
        ));
        assert_eq!(p[2], Piece::Text("|"));
        assert!(matches!(
            p[3],
            Piece::Conversion(Conversion {
                bits: 32,
                kind: ConversionKind::Signed,
                ..
            })
        ));
        assert_eq!(p[5], Piece::Percent);
        assert!(matches!(
            p[7],
            Piece::Conversion(Conversion {
                bits: 64,
                kind: ConversionKind::LowerHex,
                ..
            })
        ));
    }

    #[test]
    fn stars_consume_arguments() {
        let c = conversions("%*d %.*s %*.*x");
        let counts: Vec<_> = c.iter().map(Conversion::arg_count).collect();
        assert_eq!(counts, [2, 2, 3]);
    }

    #[test]
    fn length_modifiers_select_widths() {
        let bits: Vec<_> = conversions("%hhd %hd %d %ld %lld %jd %zu %td")
            .iter()
            .map(|c| c.bits)
            .collect();
        assert_eq!(bits, [8, 16, 32, 64, 64, 64, 64, 64]);
    }

    #[test]
    fn invalid_sequences_are_pieces() {
        assert_eq!(
            parse("bad %q!"),
            [
                Piece::Text("bad "),
                Piece::Invalid {
                    offset: 4,
                    text: "%"
                },
                Piece::Text("q!")
            ]
        );
        assert_eq!(
            parse("%5"),
            [Piece::Invalid {
                offset: 0,
                text: "%5"
            }]
        );
        assert_eq!(
            conversions("%99999999999999999999d")[0].width,
            Count::Fixed(MAX_COUNT)
        );
    }
}
