//! The `str_trunc_trailer` config setting: the text appended to a string
//! that filled its whole buffer without a NUL (bpftrace 0.26's heuristic
//! for a truncated string). The session sets it once from the manifest
//! before any event is decoded; the decoder reads it.

use std::sync::RwLock;

static TRAILER: RwLock<Option<String>> = RwLock::new(None);

/// Sets the trailer for the rest of the session.
pub fn set(trailer: &str) {
    if let Ok(mut t) = TRAILER.write() {
        *t = Some(trailer.to_string());
    }
}

/// `text` with the trailer appended (bpftrace's default `..` when unset).
pub fn append(mut text: String) -> String {
    match TRAILER.read().ok().as_deref().and_then(Option::as_deref) {
        Some(t) => text.push_str(t),
        None => text.push_str(".."),
    }
    text
}
