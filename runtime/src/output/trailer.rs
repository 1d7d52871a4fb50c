//! The `str_trunc_trailer` config setting: the text appended to a string
//! that filled all `max_strlen` bytes without a NUL, bpftrace 0.26's sign
//! of a string `str()` cut short (its printf compares a string's length
//! with `max_strlen` the same way). Shorter fixed-size strings, such as a
//! C struct's `char name[6]`, are printed as they are. The session sets
//! the trailer and `max_strlen` once from the manifest before any event is
//! decoded; the decoder reads them.

use std::sync::RwLock;

/// The trailer and the `max_strlen` it applies to.
static TRAILER: RwLock<Option<(String, usize)>> = RwLock::new(None);

/// bpftrace's defaults.
const DEFAULT: (&str, usize) = ("..", 1024);

/// Sets the trailer and `max_strlen` for the rest of the session.
pub fn set(trailer: &str, max_strlen: u32) {
    if let Ok(mut t) = TRAILER.write() {
        *t = Some((
            trailer.to_string(),
            usize::try_from(max_strlen).unwrap_or(usize::MAX),
        ));
    }
}

/// `text`, read from a `len`-byte string buffer that held no NUL, with the
/// trailer appended when `len` is `max_strlen`.
pub fn append(mut text: String, len: usize) -> String {
    let guard = TRAILER.read().ok();
    let (trailer, max) = match guard.as_deref().and_then(Option::as_ref) {
        Some((t, m)) => (t.as_str(), *m),
        None => DEFAULT,
    };
    if len == max {
        text.push_str(trailer);
    }
    text
}
