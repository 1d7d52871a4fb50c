//! The config keys beyond the four the manifest's `RunConfig` always had:
//! their bpftrace 0.26 defaults and where each takes effect. Sema fills
//! them from the `config` block and `BPFTRACE_*` variables; the code
//! generator reads the compile-time ones (`license`, `perf_rb_pages`,
//! `stack_mode`, `max_bpf_progs`); the runtime reads the rest from the
//! manifest and never re-derives them.

use serde::{Deserialize, Serialize};

/// Every config key ferrotrace acts on besides `max_map_keys`,
/// `max_strlen`, `print_maps_on_exit` and `missing_probes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MoreConfig {
    /// Bytes of a file `cat()` prints at most.
    pub max_cat_bytes: u64,
    /// Ring buffer pages per CPU; `None` keeps ferrotrace's 1 MiB buffer.
    pub perf_rb_pages: Option<u64>,
    /// The ring buffer's size in bytes from `perf_rb_pages` (sema computes
    /// it with the CPU count `KernelInfo` reports).
    pub ringbuf_bytes: Option<u32>,
    /// Bytes of the verifier log buffer used to explain a rejected program.
    pub log_size: u64,
    /// Attached probes at most; more is an error before anything attaches.
    pub max_probes: u64,
    /// BPF programs a script may generate at most (checked by sema).
    pub max_bpf_progs: u64,
    /// Demangle C++ user symbols in `func`, `usym` and `ustack`.
    pub cpp_demangle: bool,
    /// The mode of `kstack`/`ustack` written without one.
    pub stack_mode: crate::manifest::StackMode,
    /// Appended to a string that filled its whole buffer.
    pub str_trunc_trailer: String,
    /// The license string of the BPF object and of every program load.
    pub license: String,
    /// `PER_PID`, `PER_PROGRAM` or `NONE` (accepted; see the migration guide).
    pub cache_user_symbols: String,
}

impl Default for MoreConfig {
    fn default() -> MoreConfig {
        MoreConfig {
            max_cat_bytes: 10240,
            perf_rb_pages: None,
            ringbuf_bytes: None,
            log_size: 1_000_000,
            max_probes: 1024,
            max_bpf_progs: 1024,
            cpp_demangle: true,
            stack_mode: crate::manifest::StackMode::Bpftrace,
            str_trunc_trailer: "..".to_string(),
            license: "GPL".to_string(),
            cache_user_symbols: "PER_PID".to_string(),
        }
    }
}

impl MoreConfig {
    /// Whether every key has its default value.
    pub fn is_default(&self) -> bool {
        *self == MoreConfig::default()
    }
}

/// The size in bytes of the event ring buffer for `pages` pages per CPU
/// of `page_size` bytes on `cpus` CPUs, rounded up to a power of two as
/// the kernel requires (bpftrace 0.26 sizes its ring buffer the same way).
pub fn ringbuf_size(pages: u64, page_size: u64, cpus: u32) -> u32 {
    let bytes = pages
        .saturating_mul(page_size)
        .saturating_mul(u64::from(cpus.max(1)))
        .max(page_size)
        .checked_next_power_of_two()
        .unwrap_or(1 << 31);
    u32::try_from(bytes.min(1 << 31)).unwrap_or(1 << 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ringbuf_sizes_are_powers_of_two() {
        assert_eq!(ringbuf_size(64, 4096, 2), 512 * 1024);
        assert_eq!(ringbuf_size(3, 4096, 3), 64 * 1024);
        assert_eq!(ringbuf_size(0, 4096, 2), 4096);
        assert_eq!(ringbuf_size(u64::MAX, 4096, 2), 1 << 31);
    }
}
