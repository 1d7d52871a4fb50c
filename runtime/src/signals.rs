//! Ctrl-C and SIGTERM handling. The handlers only set a flag; the event
//! loop notices it (the signal also interrupts its wait) and shuts down in
//! order: END probes, then the maps. Handlers are installed without
//! SA_RESTART so a blocking poll returns at once. The signals of
//! `self:signal:` probes are recorded the same way, for the event loop to
//! run their programs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the SIGINT and SIGTERM handlers.
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the sigaction struct is fully initialised (zeroed, then the
        // handler set), and the handler only touches an atomic, which is
        // async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// True once SIGINT or SIGTERM has arrived.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Signals of `self:signal:` probes received and not yet handled, one bit
/// per signal number.
static SELF_SIGNALS: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_self_signal(sig: libc::c_int) {
    if let Ok(bit) = u32::try_from(sig) {
        SELF_SIGNALS.fetch_or(1u64.checked_shl(bit).unwrap_or(0), Ordering::SeqCst);
    }
}

/// Installs the handler that records signal `sig` for `self:signal:` probes.
pub fn install_self_signal(sig: u32) {
    let Ok(sig) = libc::c_int::try_from(sig) else {
        return;
    };
    // SAFETY: as in `install`: a zeroed sigaction with the handler set; the
    // handler only touches an atomic.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_self_signal as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(sig, &action, std::ptr::null_mut());
    }
}

/// The `self:signal:` signal numbers received since the last call, in
/// increasing order.
pub fn take_self_signals() -> Vec<u32> {
    let bits = SELF_SIGNALS.swap(0, Ordering::SeqCst);
    (0..64).filter(|b| bits & (1u64 << b) != 0).collect()
}
