//! Linux's signal names, numbered from 1 (x86-64 and arm64): the compiler
//! reads them for `signal("SIGKILL")`, the runtime for `signal_name(n)`.

/// Signal names without `SIG`; signal `n` is at index `n - 1`.
pub const SIGNALS: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// The name of signal `n` without `SIG`, if it is one.
pub fn signal_name(n: u64) -> Option<&'static str> {
    let i = usize::try_from(n.checked_sub(1)?).ok()?;
    SIGNALS.get(i).copied()
}
