//! The text of `ValueKind::Data` values, as bpftrace prints them: buffers
//! (`%r` printable bytes kept and others `\xNN`, `%rx` every byte `\xNN`,
//! `%rh` spaced hex pairs), IP addresses (`ntop`), MAC addresses
//! (`AA:BB:CC:DD:EE:FF`) and `strftime` timestamps (boot-clock
//! nanoseconds turned into local wall-clock time, `%f` the microseconds).

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use ferrotrace_compiler::manifest::DataKind;

use super::value::Value;

/// How a buffer's bytes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferStyle {
    /// `%r` and map printing: printable ASCII as is, other bytes `\xNN`.
    Text,
    /// `%rx`: every byte `\xNN`.
    Escaped,
    /// `%rh`: every byte as two hex digits, separated by spaces.
    Hex,
}

/// Writes `bytes` in `style`.
pub fn format_buffer(bytes: &[u8], style: BufferStyle) -> String {
    let mut out = String::with_capacity(bytes.len() * 4);
    for (i, &b) in bytes.iter().enumerate() {
        let _ = match style {
            BufferStyle::Text if (32..=126).contains(&b) => {
                out.push(char::from(b));
                Ok(())
            }
            BufferStyle::Text | BufferStyle::Escaped => write!(out, "\\x{b:02x}"),
            BufferStyle::Hex if i == 0 => write!(out, "{b:02x}"),
            BufferStyle::Hex => write!(out, " {b:02x}"),
        };
    }
    out
}

/// Decodes a data value of `kind` at `offset` of `bytes` (bytes beyond the
/// slice read as zero).
pub fn decode_data(bytes: &[u8], offset: usize, kind: &DataKind) -> Value {
    let size = usize::try_from(kind.size()).unwrap_or(0);
    let mut region = vec![0u8; size];
    if let Some(avail) = bytes.get(offset..) {
        let n = avail.len().min(size);
        region[..n].copy_from_slice(&avail[..n]);
    }
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        if let Some(src) = region.get(at..at + 8) {
            b.copy_from_slice(src);
        }
        u64::from_le_bytes(b)
    };
    match kind {
        DataKind::Buffer { cap } => {
            let len = (u64_at(0) & 0xffff_ffff).min(u64::from(*cap));
            let len = usize::try_from(len).unwrap_or(0);
            Value::Buffer(region.get(8..8 + len).unwrap_or(&[]).to_vec())
        }
        DataKind::Inet => Value::Str(inet_text(u64_at(0), region.get(8..24).unwrap_or(&[]))),
        DataKind::MacAddr => Value::Str(mac_text(&region)),
        DataKind::Timestamp { format } => Value::Str(timestamp_text(format, u64_at(0))),
    }
}

/// An address of family `af` (2 IPv4, 10 IPv6) as `inet_ntop` writes it;
/// empty for other families.
pub fn inet_text(af: u64, addr: &[u8]) -> String {
    match af {
        2 => {
            let mut b = [0u8; 4];
            b.copy_from_slice(addr.get(..4).unwrap_or(&[0; 4]));
            Ipv4Addr::from(b).to_string()
        }
        10 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(addr.get(..16).unwrap_or(&[0; 16]));
            Ipv6Addr::from(b).to_string()
        }
        _ => String::new(),
    }
}

/// Six bytes as upper-case hex pairs joined by colons.
pub fn mac_text(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().take(6).map(|b| format!("{b:02X}")).collect();
    parts.join(":")
}

/// Nanoseconds of CLOCK_BOOTTIME as local time in a strftime `format`,
/// whose `%f` is replaced by the six-digit microseconds first.
pub fn timestamp_text(format: &str, boot_ns: u64) -> String {
    let total = u128::from(boot_offset_ns()) + u128::from(boot_ns);
    timestamp_at(format, total)
}

/// Formats `unix_ns` (nanoseconds since the epoch) like `timestamp_text`.
pub fn timestamp_at(format: &str, unix_ns: u128) -> String {
    let secs = i64::try_from(unix_ns / 1_000_000_000).unwrap_or(i64::MAX);
    let micros = (unix_ns % 1_000_000_000) / 1000;
    let format = format.replace("%f", &format!("{micros:06}"));
    super::timefmt::local_strftime(&format, secs)
}

/// The wall-clock time at boot: CLOCK_REALTIME minus CLOCK_BOOTTIME,
/// measured once per session.
fn boot_offset_ns() -> u64 {
    static OFFSET: OnceLock<u64> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        let now = |clock| {
            // SAFETY: `ts` is plain old data that clock_gettime fills.
            let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
            // SAFETY: a valid pointer to a timespec; the clocks exist on Linux.
            unsafe { libc::clock_gettime(clock, &mut ts) };
            u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000
                + u64::try_from(ts.tv_nsec).unwrap_or(0)
        };
        now(libc::CLOCK_REALTIME).saturating_sub(now(libc::CLOCK_BOOTTIME))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_styles() {
        let b = b"ab\x00\x7f ~\n";
        assert_eq!(format_buffer(b, BufferStyle::Text), "ab\\x00\\x7f ~\\x0a");
        assert_eq!(
            format_buffer(b, BufferStyle::Escaped),
            "\\x61\\x62\\x00\\x7f\\x20\\x7e\\x0a"
        );
        assert_eq!(format_buffer(b, BufferStyle::Hex), "61 62 00 7f 20 7e 0a");
        assert_eq!(format_buffer(&[], BufferStyle::Hex), "");
    }

    #[test]
    fn decodes_each_kind() {
        let mut buf = vec![3u8, 0, 0, 0, 0, 0, 0, 0];
        buf.extend_from_slice(b"xyz\0\0\0\0\0");
        assert_eq!(
            decode_data(&buf, 0, &DataKind::Buffer { cap: 8 }),
            Value::Buffer(b"xyz".to_vec())
        );
        let mut inet = vec![2u8, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1];
        inet.resize(24, 0);
        assert_eq!(
            decode_data(&inet, 0, &DataKind::Inet),
            Value::Str("127.0.0.1".into())
        );
        let mut six = vec![10u8, 0, 0, 0, 0, 0, 0, 0];
        six.extend_from_slice(&[0; 15]);
        six.push(1);
        assert_eq!(
            decode_data(&six, 0, &DataKind::Inet),
            Value::Str("::1".into())
        );
        assert_eq!(
            decode_data(&[0xaa, 0xbb, 0xc, 0xd, 0xe, 0xff], 0, &DataKind::MacAddr),
            Value::Str("AA:BB:0C:0D:0E:FF".into())
        );
        assert_eq!(inet_text(7, &[0; 16]), "");
    }

    #[test]
    fn timestamps_with_microseconds() {
        // Fields that do not depend on the time zone for this instant.
        let ns = 1_000_000_000_123_456_789u128;
        assert_eq!(timestamp_at("%Y %f", ns), "2001 123456");
        assert_eq!(timestamp_at("%S.%f", 5_000_001_000), "05.000001");
    }
}
