//! Formatting a wall-clock time with strftime(3) in the local time zone,
//! for `time()`. The caller passes the time, so formatting is repeatable.

use std::ffi::CString;

/// Formats `unix_secs` (seconds since the epoch) in local time with a
/// strftime format. A format with a NUL byte, or output longer than 4 KiB,
/// gives an empty string.
pub fn local_strftime(format: &str, unix_secs: i64) -> String {
    let Ok(fmt) = CString::new(format) else {
        return String::new();
    };
    let t: libc::time_t = unix_secs;
    // SAFETY: `tm` is plain old data, fully written by localtime_r.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is reentrant.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return String::new();
    }
    let mut buf = vec![0u8; 4096];
    // SAFETY: `buf` has `buf.len()` writable bytes, `fmt` is NUL-terminated
    // and `tm` was filled above; strftime writes at most `buf.len()` bytes.
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm) };
    buf.truncate(n);
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_local_time() {
        // Fields that do not depend on the time zone for this instant
        // (2001-09-09 01:46:40 UTC is still 2001 everywhere).
        assert_eq!(local_strftime("%Y", 1_000_000_000), "2001");
        assert_eq!(local_strftime("100%%\n", 0), "100%\n");
        assert_eq!(local_strftime("a\0b", 0), "");
    }
}
