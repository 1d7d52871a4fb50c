//! The `printf()` formatter. bpftrace formats printf output in user space
//! from an event record, following C `printf` rules; this module does the
//! same for decoded `Value` arguments, from format strings parsed by the
//! one format parser in `ferrotrace_stdlib::printf`. It supports the conversions
//! `%d %i %u %x %X %o %s %c %p` and `%%`, the flags `- + space # 0`, a
//! width and a precision given as digits or `*`, and the length modifiers
//! `hh h l ll j z t`. As in C, an integer conversion without `l`, `ll`, `j`,
//! `z` or `t` works on the low 32 bits, `hh` on 8 bits and `h` on 16 bits.
//! Unknown sequences are copied literally and a specifier without an
//! argument prints nothing, so no input makes the formatter panic.

use super::value::Value;
use ferrotrace_stdlib::printf::{parse, Conversion, ConversionKind, Count, Piece};

/// The flags of one conversion once `*` widths and precisions have taken
/// their values from the arguments.
#[derive(Debug, Clone, Copy)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
    /// The operand width in bits selected by the length modifier.
    bits: u32,
}

/// Formats `format` with `args` the way bpftrace's `printf()` does.
pub fn format_printf(format: &str, args: &[Value]) -> String {
    format_pieces(&parse(format), args)
}

/// Formats an already parsed format string (see `ferrotrace_stdlib::printf`),
/// so a format used by many events is parsed once.
pub fn format_pieces(pieces: &[Piece<'_>], args: &[Value]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    for piece in pieces {
        match piece {
            Piece::Text(text) | Piece::Invalid { text, .. } => out.push_str(text),
            Piece::Percent => out.push('%'),
            Piece::Conversion(c) => {
                let spec = resolve(c, &mut args);
                if let Some(arg) = args.next() {
                    out.push_str(&format_one(c.kind, &spec, arg));
                }
            }
        }
    }
    out
}

/// Takes `*` widths and precisions from the arguments; a negative `*`
/// width means left-justified, a negative `*` precision means none.
fn resolve<'v>(c: &Conversion, args: &mut impl Iterator<Item = &'v Value>) -> Spec {
    let mut next_int = || args.next().map_or(0, |v| v.as_bits() as i64 as i32);
    let mut left = c.left;
    let width = match c.width {
        Count::Fixed(w) => w,
        Count::FromArg => {
            let w = next_int();
            left |= w < 0;
            (w.unsigned_abs() as usize).min(1 << 16)
        }
    };
    let precision = match c.precision {
        None => None,
        Some(Count::Fixed(p)) => Some(p),
        Some(Count::FromArg) => usize::try_from(next_int()).ok(),
    };
    Spec {
        left,
        plus: c.plus,
        space: c.space,
        alt: c.alt,
        zero: c.zero,
        width,
        precision,
        bits: c.bits,
    }
}

/// Formats one argument for a conversion.
fn format_one(kind: ConversionKind, spec: &Spec, arg: &Value) -> String {
    let bits = arg.as_bits();
    match kind {
        ConversionKind::Signed => {
            let v: i64 = match spec.bits {
                8 => i64::from(bits as u8 as i8),
                16 => i64::from(bits as u16 as i16),
                32 => i64::from(bits as u32 as i32),
                _ => bits as i64,
            };
            let sign = if v < 0 {
                "-"
            } else if spec.plus {
                "+"
            } else if spec.space {
                " "
            } else {
                ""
            };
            let digits = with_precision(v.unsigned_abs().to_string(), v == 0, spec);
            pad_number(sign, &digits, spec)
        }
        ConversionKind::Unsigned
        | ConversionKind::LowerHex
        | ConversionKind::UpperHex
        | ConversionKind::Octal => {
            let v: u64 = match spec.bits {
                8 => u64::from(bits as u8),
                16 => u64::from(bits as u16),
                32 => u64::from(bits as u32),
                _ => bits,
            };
            let raw = match kind {
                ConversionKind::LowerHex => format!("{v:x}"),
                ConversionKind::UpperHex => format!("{v:X}"),
                ConversionKind::Octal => format!("{v:o}"),
                _ => v.to_string(),
            };
            let mut digits = with_precision(raw, v == 0, spec);
            let prefix = match kind {
                ConversionKind::LowerHex if spec.alt && v != 0 => "0x",
                ConversionKind::UpperHex if spec.alt && v != 0 => "0X",
                ConversionKind::Octal if spec.alt && !digits.starts_with('0') => {
                    digits.insert(0, '0');
                    ""
                }
                _ => "",
            };
            pad_number(prefix, &digits, spec)
        }
        ConversionKind::Char => pad_text(
            super::rawbytes::byte_char(bits as u8).to_string(),
            spec.width,
            spec.left,
        ),
        ConversionKind::Pointer => pad_text(format!("0x{bits:x}"), spec.width, spec.left),
        ConversionKind::BufferText | ConversionKind::BufferEscaped | ConversionKind::BufferHex => {
            use super::data::{format_buffer, BufferStyle};
            let style = match kind {
                ConversionKind::BufferText => BufferStyle::Text,
                ConversionKind::BufferEscaped => BufferStyle::Escaped,
                _ => BufferStyle::Hex,
            };
            let text = match arg {
                Value::Buffer(b) => format_buffer(b, style),
                Value::Str(s) => format_buffer(&super::rawbytes::unescape(s), style),
                other => other.to_string(),
            };
            pad_text(text, spec.width, spec.left)
        }
        ConversionKind::Str => {
            let mut text = match arg {
                Value::Str(s) => s.clone(),
                other => other.to_string(),
            };
            if let Some(p) = spec.precision {
                // Like C, the precision counts output bytes (a raw byte's
                // stand-in is one); cut at a character boundary so the
                // result stays valid UTF-8.
                let mut bytes = 0;
                let cut = text
                    .char_indices()
                    .find(|&(_, c)| {
                        bytes += super::rawbytes::out_len(c);
                        bytes > p
                    })
                    .map_or(text.len(), |(i, _)| i);
                text.truncate(cut);
            }
            pad_text(text, spec.width, spec.left)
        }
    }
}

/// Applies an integer precision: at least that many digits, and no digits
/// at all for a zero value with precision 0.
fn with_precision(digits: String, is_zero: bool, spec: &Spec) -> String {
    match spec.precision {
        Some(0) if is_zero => String::new(),
        Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
        _ => digits,
    }
}

/// Pads a number (its sign or `0x` prefix and digits) to the width: on the
/// right with `-`, with zeros after the prefix with `0` and no precision,
/// otherwise with spaces on the left.
fn pad_number(prefix: &str, digits: &str, spec: &Spec) -> String {
    let len = prefix.len() + digits.len();
    let fill = spec.width.saturating_sub(len);
    if spec.left {
        format!("{prefix}{digits}{}", " ".repeat(fill))
    } else if spec.zero && spec.precision.is_none() {
        format!("{prefix}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{prefix}{digits}", " ".repeat(fill))
    }
}

/// Pads text with spaces to the width (counted in bytes, as C does).
fn pad_text(text: String, width: usize, left: bool) -> String {
    let fill = width.saturating_sub(super::rawbytes::raw_len(&text));
    if fill == 0 {
        text
    } else if left {
        format!("{text}{}", " ".repeat(fill))
    } else {
        format!("{}{text}", " ".repeat(fill))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.to_string())
    }

    #[test]
    fn reference_example() {
        assert_eq!(
            format_printf(
                "%-10s|%5d|%x\n",
                &[s("ab"), Value::Int(42), Value::Int(255)]
            ),
            "ab        |   42|ff\n"
        );
    }

    #[test]
    fn thirty_two_bit_truncation() {
        let big = || Value::Int(123456789012);
        assert_eq!(format_printf("%d", &[big()]), "-1097262572");
        assert_eq!(format_printf("%i", &[big()]), "-1097262572");
        assert_eq!(format_printf("%ld", &[big()]), "123456789012");
        assert_eq!(format_printf("%lld", &[big()]), "123456789012");
        assert_eq!(format_printf("%lu", &[big()]), "123456789012");
        assert_eq!(format_printf("%u", &[big()]), "3197704724");
        assert_eq!(format_printf("%x", &[big()]), "be991a14");
        assert_eq!(format_printf("%lx", &[big()]), "1cbe991a14");
        assert_eq!(format_printf("%d", &[Value::Int(-1)]), "-1");
        assert_eq!(format_printf("%u", &[Value::Int(-1)]), "4294967295");
        assert_eq!(
            format_printf("%lu", &[Value::Int(-1)]),
            "18446744073709551615"
        );
        assert_eq!(format_printf("%ld", &[Value::UInt(u64::MAX)]), "-1");
        assert_eq!(
            format_printf("%zu %jd %td", &[Value::Int(-1), big(), big()]),
            "18446744073709551615 123456789012 123456789012"
        );
    }

    #[test]
    fn short_modifiers() {
        assert_eq!(format_printf("%hhd", &[Value::Int(255)]), "-1");
        assert_eq!(format_printf("%hhu", &[Value::Int(257)]), "1");
        assert_eq!(format_printf("%hd", &[Value::Int(65535)]), "-1");
        assert_eq!(format_printf("%hx", &[Value::Int(0x12345)]), "2345");
    }

    #[test]
    fn widths_and_flags() {
        assert_eq!(format_printf("%05d", &[Value::Int(42)]), "00042");
        assert_eq!(format_printf("%05d", &[Value::Int(-42)]), "-0042");
        assert_eq!(format_printf("%-5d|", &[Value::Int(42)]), "42   |");
        assert_eq!(
            format_printf("%+d % d", &[Value::Int(5), Value::Int(5)]),
            "+5  5"
        );
        assert_eq!(
            format_printf(
                "%#x %#X %#o %#x",
                &[
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(0)
                ]
            ),
            "0xff 0XFF 010 0"
        );
        assert_eq!(format_printf("%08.3d|", &[Value::Int(7)]), "     007|");
        assert_eq!(format_printf("%.0d|", &[Value::Int(0)]), "|");
        assert_eq!(format_printf("%#010x", &[Value::Int(255)]), "0x000000ff");
        assert_eq!(
            format_printf("%X %o", &[Value::Int(255), Value::Int(8)]),
            "FF 10"
        );
        assert_eq!(
            format_printf(
                "%*d|%-*d|",
                &[Value::Int(4), Value::Int(1), Value::Int(3), Value::Int(2)]
            ),
            "   1|2  |"
        );
        assert_eq!(
            format_printf("%*d|", &[Value::Int(-4), Value::Int(1)]),
            "1   |"
        );
        assert_eq!(format_printf("%.*s|", &[Value::Int(2), s("hello")]), "he|");
    }

    #[test]
    fn strings_chars_pointers() {
        assert_eq!(format_printf("%s", &[s("hello")]), "hello");
        assert_eq!(
            format_printf("%.3s|%5s|%-5s|", &[s("hello"), s("ab"), s("ab")]),
            "hel|   ab|ab   |"
        );
        assert_eq!(
            format_printf("%s %s", &[Value::Int(-3), Value::UInt(7)]),
            "-3 7"
        );
        assert_eq!(
            format_printf("%c%c", &[Value::Int(65), Value::UInt(0x162)]),
            "Ab"
        );
        assert_eq!(format_printf("%3c|", &[Value::Int(b'x'.into())]), "  x|");
        assert_eq!(
            format_printf("%p", &[Value::Pointer(0xffff_8880_dead_beef)]),
            "0xffff8880deadbeef"
        );
        assert_eq!(format_printf("%p", &[Value::UInt(0x1234)]), "0x1234");
        assert_eq!(
            format_printf("%s", &[Value::Tuple(vec![Value::Int(1), s("a")])]),
            "(1, a)"
        );
    }

    #[test]
    fn bools() {
        assert_eq!(
            format_printf("%s %s", &[Value::Bool(true), Value::Bool(false)]),
            "true false"
        );
        assert_eq!(
            format_printf("%d %d", &[Value::Bool(true), Value::Bool(false)]),
            "1 0"
        );
    }

    #[test]
    fn percent_literals_and_missing_args() {
        assert_eq!(format_printf("100%%\n", &[]), "100%\n");
        assert_eq!(format_printf("%d%%", &[Value::Int(5)]), "5%");
        assert_eq!(format_printf("a %d b %s c", &[Value::Int(1)]), "a 1 b  c");
        assert_eq!(format_printf("%*d", &[]), "");
        assert_eq!(format_printf("%y %5q %", &[Value::Int(1)]), "%y %5q %");
        assert_eq!(format_printf("%l", &[]), "%l");
        assert_eq!(format_printf("héllo %s ü", &[s("wörld")]), "héllo wörld ü");
        assert_eq!(format_printf("", &[Value::Int(1)]), "");
        assert_eq!(
            format_printf("%99999999999999999999d|", &[Value::Int(1)]).len(),
            65537
        );
    }
}
