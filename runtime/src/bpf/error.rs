//! The errors of the kernel-facing layer, each a complete sentence.
//!
//! No raw errno ever reaches the user: every failing bpf(), perf_event_open
//! or tracefs call is turned into a `BpfError` whose message says what went
//! wrong and what to do about it. `errno_text` is the one place where the
//! operating system's own wording is used, and only inside such a sentence.

/// Everything that can go wrong while loading, attaching and reading BPF objects.
#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    /// The kernel refused a privileged operation.
    #[error("ferrotrace needs root (or CAP_BPF and CAP_PERFMON) to load BPF programs; run it with sudo.")]
    NotPermitted,
    /// The verifier rejected a program. `line`/`column` locate the probe in
    /// the script; `log_tail` holds the verifier's last meaningful lines.
    #[error("the kernel's verifier rejected probe {probe}.")]
    Verifier {
        probe: String,
        line: usize,
        column: usize,
        log_tail: Vec<String>,
    },
    /// The kernel refused to load a program for a reason other than the verifier.
    #[error("the kernel refused to load probe {probe}: {reason}")]
    Load { probe: String, reason: String },
    /// A probe could not be attached.
    #[error("could not attach probe {probe}: {reason}")]
    Attach { probe: String, reason: String },
    /// A BEGIN/END program could not be run.
    #[error("could not run probe {probe}: {reason}")]
    Run { probe: String, reason: String },
    /// tracefs could not be found, mounted or read.
    #[error("{0}")]
    Tracefs(String),
    /// The compiled object is malformed or inconsistent with its manifest.
    #[error("{0}")]
    Object(String),
    /// A map could not be created or read.
    #[error("{0}")]
    Map(String),
    /// The event ring buffer could not be set up or read.
    #[error("{0}")]
    Events(String),
}

/// The operating system's description of `errno`, e.g.
/// "Operation not permitted (os error 1)", for use inside a sentence.
pub fn errno_text(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

/// True when `errno` means the caller lacks a privilege.
pub fn is_permission(errno: i32) -> bool {
    errno == libc::EPERM || errno == libc::EACCES
}

/// The errno left by the last failing libc call.
pub fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The errno of a libbpf return value (libbpf returns `-errno` on failure).
pub fn libbpf_errno(ret: i32) -> i32 {
    if ret < 0 {
        -ret
    } else {
        last_errno()
    }
}
