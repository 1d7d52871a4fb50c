//! Strings from the kernel are bytes, not always UTF-8 (a file name may
//! hold byte 0xff), and bpftrace prints them as they are, in text and in
//! JSON alike. `Value::Str` is a Rust `String`, so `escape` carries each
//! byte that is not part of valid UTF-8 as one private-use character
//! (U+10FF00 plus the byte), which survives formatting, padding and JSON
//! quoting unchanged; `Unescape`, the writer around program output, turns
//! those characters back into the raw bytes. Nothing else produces
//! characters of that range except a script printing them on purpose.

use std::io::{self, Write};

/// The first of the 256 characters that stand for raw bytes.
const BASE: u32 = 0x10_FF00;

/// Bytes as a `String`: valid UTF-8 as it is, every other byte as its
/// stand-in character.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            out.push(char::from_u32(BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
    }
    out
}

/// A byte as a character of a `String`: ASCII as it is, any other byte
/// as its stand-in (C's `%c` prints the byte itself).
pub fn byte_char(b: u8) -> char {
    if b.is_ascii() {
        char::from(b)
    } else {
        char::from_u32(BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
    }
}

/// How many bytes a character takes in the output: one for a stand-in.
pub fn out_len(c: char) -> usize {
    if (BASE..=BASE + 0xFF).contains(&u32::from(c)) {
        1
    } else {
        c.len_utf8()
    }
}

/// How many bytes `s` takes in the output, as C's printf counts widths.
pub fn raw_len(s: &str) -> usize {
    s.chars().map(out_len).sum()
}

/// Whether `b[i..]` starts with the UTF-8 form of a stand-in character
/// (`F4 8F BC..BF 80..BF`); returns the byte it stands for.
fn stand_in(b: &[u8]) -> Option<u8> {
    match b {
        [0xF4, 0x8F, c @ 0xBC..=0xBF, d @ 0x80..=0xBF, ..] => Some(((c - 0xBC) << 6) | (d - 0x80)),
        _ => None,
    }
}

/// The bytes a `String` stands for: stand-ins back to their raw bytes.
pub fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = Unescape::new(&mut out).write_all(s.as_bytes());
    out
}

/// Compares two strings by the bytes they stand for, like `strcmp`.
pub fn cmp_bytes(a: &str, b: &str) -> std::cmp::Ordering {
    // Only a stand-in starts with 0xF4 0x8F 0xBC..0xBF; without one the
    // text's own bytes are the raw bytes.
    if a.as_bytes().contains(&0xF4) || b.as_bytes().contains(&0xF4) {
        unescape(a).cmp(&unescape(b))
    } else {
        a.as_bytes().cmp(b.as_bytes())
    }
}

/// Writes its input to `W` with every stand-in character replaced by the
/// raw byte it stands for.
pub struct Unescape<W: Write> {
    inner: W,
}

impl<W: Write> Unescape<W> {
    pub fn new(inner: W) -> Self {
        Unescape { inner }
    }
}

impl<W: Write> Write for Unescape<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.contains(&0xF4) {
            return self.inner.write(buf);
        }
        let mut raw = Vec::with_capacity(buf.len());
        let mut i = 0;
        while i < buf.len() {
            match buf.get(i..).and_then(stand_in) {
                Some(byte) => {
                    raw.push(byte);
                    i += 4;
                }
                None => {
                    raw.push(buf[i]);
                    i += 1;
                }
            }
        }
        self.inner.write_all(&raw)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_round_trip_through_a_string() {
        let bytes = b"a\xffb\xc3\xa9\x80".as_slice();
        let s = escape(bytes);
        // `a`, a stand-in, `b`, `é`, a stand-in.
        assert_eq!(s.chars().count(), 5);
        // Output bytes: `a`, 0xff, `b`, two for `é`, 0x80.
        assert_eq!(raw_len(&s), 6);
        let mut out = Vec::new();
        Unescape::new(&mut out)
            .write_all(format!("[{s}{}]", byte_char(0xfe)).as_bytes())
            .ok();
        assert_eq!(out, b"[a\xffb\xc3\xa9\x80\xfe]");
    }

    #[test]
    fn strings_sort_by_their_raw_bytes() {
        // 0x80 sorts before `é` (0xC3 0xA9), 0xFF after it.
        let low = escape(b"\x80");
        let high = escape(b"\xff");
        assert_eq!(cmp_bytes(&low, "é"), std::cmp::Ordering::Less);
        assert_eq!(cmp_bytes(&high, "é"), std::cmp::Ordering::Greater);
        assert_eq!(cmp_bytes("a", "b"), std::cmp::Ordering::Less);
    }

    #[test]
    fn printf_widths_and_precisions_count_raw_bytes() {
        use crate::output::{format_printf, Value};
        let text = format_printf(
            "[%4s|%.2s|%c|%-3s]",
            &[
                Value::Str(escape(b"\xff")),
                Value::Str(escape(b"a\xffb")),
                Value::UInt(0xfe),
                Value::Str(escape(b"\x80")),
            ],
        );
        let mut out = Vec::new();
        Unescape::new(&mut out).write_all(text.as_bytes()).ok();
        assert_eq!(out, b"[   \xff|a\xff|\xfe|\x80  ]");
    }
}
