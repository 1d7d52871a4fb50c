//! Decoding of integer and string literal tokens. The grammar accepts a
//! liberal token shape (`[0-9][0-9A-Za-z_]*`, `"..."` with any escaped
//! character); the exact rules and their diagnostics live here: `E0002` for
//! an invalid or too large integer, `E0003` for an unknown escape. Integer
//! tokens may end in a duration unit (`ns us ms s m h d`), which scales them
//! to nanoseconds. Strings decode to bytes: `\xff` is one byte, not a
//! UTF-8 character.

use crate::diagnostics::Diagnostic;
use crate::source::Span;

/// Decodes an integer literal: decimal, `0x` hex, leading-0 octal, `0b`
/// binary, `_` separators, scientific `2e3`, and C suffixes `U L UL LL ULL`.
pub fn parse_int(raw: &str, span: Span) -> Result<u64, Box<Diagnostic>> {
    let cleaned: String = raw
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    if let Some((body, scale)) = duration(&cleaned) {
        let n = convert(body, 10, raw, span)?;
        return n.checked_mul(scale).ok_or_else(|| too_large(raw, span));
    }
    let body = strip_suffix(&cleaned);
    let (digits, radix) = if let Some(hex) = body.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(bin) = body.strip_prefix("0b") {
        (bin, 2)
    } else if let Some((mantissa, exp)) = body.split_once('e') {
        return scientific(mantissa, exp, raw, span);
    } else if body.len() > 1 && body.starts_with('0') {
        (&body[1..], 8)
    } else {
        (body, 10)
    };
    convert(digits, radix, raw, span)
}

/// Splits a decimal duration literal (`100ms`, `5s`, `2h`) into its digits
/// and the number of nanoseconds in its unit.
fn duration(s: &str) -> Option<(&str, u64)> {
    const UNITS: [(&str, u64); 7] = [
        ("ns", 1),
        ("us", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
        ("d", 86_400_000_000_000),
    ];
    if s.starts_with("0x") || s.starts_with("0b") {
        return None;
    }
    UNITS.iter().find_map(|&(unit, scale)| {
        let digits = s.strip_suffix(unit)?;
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some((digits, scale))
    })
}

/// Strips a C integer suffix (`u`, `l`, `ul`, `ll`, `ull`) when what remains
/// is still a number (so `0xfull` keeps its hex digits intact... as `0xf` + `ull`).
fn strip_suffix(s: &str) -> &str {
    for suffix in ["ull", "llu", "ul", "lu", "ll", "u", "l"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            if !rest.is_empty() {
                return rest;
            }
        }
    }
    s
}

fn convert(digits: &str, radix: u32, raw: &str, span: Span) -> Result<u64, Box<Diagnostic>> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(invalid(raw, span));
    }
    u64::from_str_radix(digits, radix).map_err(|_| too_large(raw, span))
}

fn scientific(mantissa: &str, exp: &str, raw: &str, span: Span) -> Result<u64, Box<Diagnostic>> {
    let m = convert(mantissa, 10, raw, span)?;
    let e = convert(exp, 10, raw, span)?;
    let e = u32::try_from(e).map_err(|_| too_large(raw, span))?;
    10u64
        .checked_pow(e)
        .and_then(|p| m.checked_mul(p))
        .ok_or_else(|| too_large(raw, span))
}

fn invalid(raw: &str, span: Span) -> Box<Diagnostic> {
    Box::new(Diagnostic::error("E0002", format!("invalid integer literal `{raw}`"), span)
        .label("not a valid integer")
        .help("integers are decimal, 0x hex, 0b binary or leading-0 octal, optionally with `_` separators"),
    )
}

fn too_large(raw: &str, span: Span) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::error(
            "E0002",
            format!("integer literal `{raw}` is too large"),
            span,
        )
        .label("does not fit in 64 bits"),
    )
}

/// Decodes a string literal token (with its quotes) starting at byte `start`.
/// Unknown escapes are reported (E0003) and kept literally. The result is
/// bytes: an escape such as `\xff` yields the single byte 0xff.
pub fn parse_str(raw: &str, start: usize, diags: &mut Vec<Diagnostic>) -> Vec<u8> {
    let inner = raw
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(raw);
    let base = start + 1;
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            let mut utf8 = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        let Some((j, e)) = chars.next() else {
            out.push(b'\\');
            break;
        };
        let esc_end = base + j + e.len_utf8();
        match e {
            'n' => out.push(b'\n'),
            't' => out.push(b'\t'),
            'r' => out.push(b'\r'),
            '"' => out.push(b'"'),
            '\\' => out.push(b'\\'),
            '0'..='7' => {
                let value = take_digits(&mut chars, e, 8, 3);
                let end = base + chars.peek().map_or(inner.len(), |&(k, _)| k);
                push_byte(&mut out, value, Span::new(base + i, end), diags);
            }
            'x' => match chars.peek() {
                Some(&(_, h)) if h.is_ascii_hexdigit() => {
                    chars.next();
                    let value = take_digits(&mut chars, h, 16, 2);
                    let end = base + chars.peek().map_or(inner.len(), |&(k, _)| k);
                    push_byte(&mut out, value, Span::new(base + i, end), diags);
                }
                _ => diags.push(bad_escape(Span::new(base + i, esc_end), "\\x")),
            },
            other => {
                diags.push(bad_escape(
                    Span::new(base + i, esc_end),
                    &format!("\\{other}"),
                ));
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    out
}

/// Reads up to `max` digits of `radix`, the first one being `first`.
fn take_digits(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    first: char,
    radix: u32,
    max: usize,
) -> u32 {
    let mut value = first.to_digit(radix).unwrap_or(0);
    for _ in 1..max {
        match chars.peek().and_then(|&(_, c)| c.to_digit(radix)) {
            Some(d) => {
                value = value * radix + d;
                chars.next();
            }
            None => break,
        }
    }
    value
}

fn push_byte(out: &mut Vec<u8>, value: u32, span: Span, diags: &mut Vec<Diagnostic>) {
    match u8::try_from(value) {
        Ok(b) => out.push(b),
        Err(_) => diags.push(
            Diagnostic::error("E0003", "octal escape is out of range", span)
                .label("larger than \\377")
                .help("an octal escape encodes one byte: \\0 to \\377"),
        ),
    }
}

fn bad_escape(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0003", format!("invalid escape sequence `{text}`"), span)
        .label("unknown escape")
        .help("valid escapes are \\n \\t \\r \\\" \\\\ \\ooo (octal) and \\xHH (hex)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(s: &str) -> Option<u64> {
        parse_int(s, Span::default()).ok()
    }

    #[test]
    fn integer_forms() {
        assert_eq!(int("0"), Some(0));
        assert_eq!(int("1_000_000"), Some(1_000_000));
        assert_eq!(int("0x1F"), Some(31));
        assert_eq!(int("0b101"), Some(5));
        assert_eq!(int("0755"), Some(0o755));
        assert_eq!(int("2e3"), Some(2000));
        assert_eq!(int("10ULL"), Some(10));
        assert_eq!(int("0xfull"), Some(15));
        assert_eq!(int("18446744073709551615"), Some(u64::MAX));
        assert_eq!(int("18446744073709551616"), None);
        assert_eq!(int("09"), None);
        assert_eq!(int("12abc"), None);
        assert_eq!(int("1e30"), None);
        assert_eq!(int("100ms"), Some(100_000_000));
        assert_eq!(int("5s"), Some(5_000_000_000));
        assert_eq!(int("2h"), Some(7_200_000_000_000));
        assert_eq!(int("1d"), Some(86_400_000_000_000));
        assert_eq!(int("3us"), Some(3_000));
        assert_eq!(int("7ns"), Some(7));
        assert_eq!(int("0x1d"), Some(29));
    }

    #[test]
    fn string_escapes() {
        let mut d = Vec::new();
        assert_eq!(
            parse_str(r#""a\n\t\"\\\101\x41""#, 0, &mut d),
            b"a\n\t\"\\AA"
        );
        assert_eq!(parse_str(r#""\xff\377é""#, 0, &mut d), b"\xff\xff\xc3\xa9");
        assert!(d.is_empty());
        parse_str(r#""\q""#, 0, &mut d);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].primary.span, Span::new(1, 3));
    }
}
