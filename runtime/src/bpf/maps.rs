//! Reading every entry of a BPF map.
//!
//! Entries are fetched with BPF_MAP_LOOKUP_BATCH when the kernel supports it
//! for the map, and otherwise key by key with `bpf_map_get_next_key` and
//! `bpf_map_lookup_elem`. Per-CPU maps yield one value per possible CPU (each
//! value slot is rounded up to 8 bytes by the kernel; the padding is cut off).

use std::os::fd::{AsRawFd, BorrowedFd};

use ferrotrace_compiler::manifest::{MapKind, MapSpec};

use super::error::{errno_text, libbpf_errno};
use super::BpfError;

/// One map entry: its key and its value (per-CPU maps: one value per possible CPU).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    pub key: Vec<u8>,
    pub values: Vec<Vec<u8>>,
}

/// The number of possible CPUs (the length of a per-CPU value).
pub fn possible_cpus() -> Result<usize, BpfError> {
    // SAFETY: a plain query with no arguments.
    let n = unsafe { libbpf_sys::libbpf_num_possible_cpus() };
    usize::try_from(n).ok().filter(|&n| n > 0).ok_or_else(|| {
        BpfError::Map("could not learn how many CPUs this machine may have (/sys/devices/system/cpu/possible).".into())
    })
}

/// Layout of one map's entries as the kernel returns them.
struct Layout {
    key_size: usize,
    value_size: usize,
    /// Values per entry (possible CPUs for per-CPU maps, else 1).
    copies: usize,
    /// Bytes per value copy in the kernel's buffer.
    stride: usize,
}

impl Layout {
    fn entry_bytes(&self) -> usize {
        self.copies * self.stride
    }

    fn split(&self, key: &[u8], value: &[u8]) -> MapEntry {
        let values = (0..self.copies)
            .map(|i| value[i * self.stride..i * self.stride + self.value_size].to_vec())
            .collect();
        MapEntry {
            key: key.to_vec(),
            values,
        }
    }
}

/// All entries of the map `fd` described by `spec`.
pub fn read_all(fd: BorrowedFd<'_>, spec: &MapSpec) -> Result<Vec<MapEntry>, BpfError> {
    let per_cpu = match spec.kind {
        MapKind::Ringbuf => {
            return Err(BpfError::Map(format!(
                "internal error: map {} is a ring buffer and cannot be read as a table.",
                spec.elf_name
            )))
        }
        MapKind::PercpuHash | MapKind::PercpuArray | MapKind::LruPercpuHash => true,
        MapKind::Hash | MapKind::Array | MapKind::LruHash | MapKind::StackTrace => false,
    };
    let value_size = spec.value_size as usize;
    let layout = Layout {
        key_size: spec.key_size as usize,
        value_size,
        copies: if per_cpu { possible_cpus()? } else { 1 },
        stride: if per_cpu {
            value_size.div_ceil(8) * 8
        } else {
            value_size
        },
    };
    if layout.key_size == 0 {
        return Err(BpfError::Map(format!(
            "internal error: map {} has a zero-sized key.",
            spec.elf_name
        )));
    }
    match read_batched(fd, spec, &layout) {
        Some(entries) => Ok(entries),
        None => read_by_key(fd, spec, &layout),
    }
}

/// Reads with BPF_MAP_LOOKUP_BATCH; `None` when batching is not possible
/// (the caller falls back to key-by-key reading).
fn read_batched(fd: BorrowedFd<'_>, spec: &MapSpec, layout: &Layout) -> Option<Vec<MapEntry>> {
    let chunk = (spec.max_entries as usize).clamp(1, 4096);
    let mut keys = vec![0u8; chunk * layout.key_size];
    let mut values = vec![0u8; chunk * layout.entry_bytes()];
    // The batch token: a u32 bucket for hash maps, a key for arrays.
    let token_size = layout.key_size.max(8);
    let mut in_token = vec![0u8; token_size];
    let mut out_token = vec![0u8; token_size];
    let mut first = true;
    let mut entries = Vec::new();
    let opts = libbpf_sys::bpf_map_batch_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as libbpf_sys::size_t,
        elem_flags: 0,
        flags: 0,
    };
    loop {
        let mut count = u32::try_from(chunk).unwrap_or(u32::MAX);
        let in_ptr = if first {
            std::ptr::null_mut()
        } else {
            in_token.as_mut_ptr().cast()
        };
        // SAFETY: `keys` and `values` hold `count` entries of the map's key
        // and (per-CPU) value size; the tokens are at least as large as the
        // kernel's batch token; all buffers outlive the call.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_batch(
                fd.as_raw_fd(),
                in_ptr,
                out_token.as_mut_ptr().cast(),
                keys.as_mut_ptr().cast(),
                values.as_mut_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        let errno = if ret < 0 { libbpf_errno(ret) } else { 0 };
        if errno != 0 && errno != libc::ENOENT {
            return None;
        }
        let n = (count as usize).min(chunk);
        for i in 0..n {
            let key = &keys[i * layout.key_size..(i + 1) * layout.key_size];
            let value = &values[i * layout.entry_bytes()..(i + 1) * layout.entry_bytes()];
            entries.push(layout.split(key, value));
        }
        if errno == libc::ENOENT {
            return Some(entries);
        }
        if entries.len() > spec.max_entries as usize + chunk {
            // Should not happen; protect against a kernel that never ends the walk.
            return None;
        }
        std::mem::swap(&mut in_token, &mut out_token);
        first = false;
    }
}

/// Reads key by key with `bpf_map_get_next_key` and `bpf_map_lookup_elem`.
fn read_by_key(
    fd: BorrowedFd<'_>,
    spec: &MapSpec,
    layout: &Layout,
) -> Result<Vec<MapEntry>, BpfError> {
    let mut entries = Vec::new();
    let mut key = vec![0u8; layout.key_size];
    let mut next = vec![0u8; layout.key_size];
    let mut value = vec![0u8; layout.entry_bytes()];
    let mut first = true;
    let limit = spec.max_entries as usize * 2 + 16;
    loop {
        let key_ptr = if first {
            std::ptr::null()
        } else {
            key.as_ptr().cast()
        };
        // SAFETY: `key` and `next` are `key_size` bytes and outlive the call.
        let ret = unsafe {
            libbpf_sys::bpf_map_get_next_key(fd.as_raw_fd(), key_ptr, next.as_mut_ptr().cast())
        };
        if ret < 0 {
            let errno = libbpf_errno(ret);
            if errno == libc::ENOENT {
                return Ok(entries);
            }
            return Err(map_read_error(spec, errno));
        }
        first = false;
        std::mem::swap(&mut key, &mut next);
        // SAFETY: `key` is `key_size` bytes; `value` holds all per-CPU copies.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_elem(
                fd.as_raw_fd(),
                key.as_ptr().cast(),
                value.as_mut_ptr().cast(),
            )
        };
        if ret < 0 {
            let errno = libbpf_errno(ret);
            if errno == libc::ENOENT {
                continue; // deleted while we walked
            }
            return Err(map_read_error(spec, errno));
        }
        entries.push(layout.split(&key, &value));
        if entries.len() > limit {
            return Ok(entries);
        }
    }
}

fn map_read_error(spec: &MapSpec, errno: i32) -> BpfError {
    if super::error::is_permission(errno) {
        return BpfError::NotPermitted;
    }
    BpfError::Map(format!(
        "could not read map {}: {}.",
        spec.elf_name,
        errno_text(errno)
    ))
}

/// Removes every key of the map (`clear()`).
pub fn clear_all(fd: BorrowedFd<'_>, spec: &MapSpec) -> Result<(), BpfError> {
    for entry in read_all(fd, spec)? {
        // SAFETY: the key is `key_size` bytes and outlives the call.
        let ret =
            unsafe { libbpf_sys::bpf_map_delete_elem(fd.as_raw_fd(), entry.key.as_ptr().cast()) };
        if ret < 0 {
            let errno = libbpf_errno(ret);
            if errno != libc::ENOENT {
                return Err(map_read_error(spec, errno));
            }
        }
    }
    Ok(())
}

/// Sets every value of the map to zero, on every CPU (`zero()`).
pub fn zero_all(fd: BorrowedFd<'_>, spec: &MapSpec) -> Result<(), BpfError> {
    let per_cpu = matches!(spec.kind, MapKind::PercpuHash | MapKind::PercpuArray);
    let copies = if per_cpu { possible_cpus()? } else { 1 };
    let stride = if per_cpu {
        (spec.value_size as usize).div_ceil(8) * 8
    } else {
        spec.value_size as usize
    };
    let zeros = vec![0u8; copies * stride];
    for entry in read_all(fd, spec)? {
        // SAFETY: the key is `key_size` bytes and the value holds every
        // per-CPU copy; both outlive the call.
        let ret = unsafe {
            libbpf_sys::bpf_map_update_elem(
                fd.as_raw_fd(),
                entry.key.as_ptr().cast(),
                zeros.as_ptr().cast(),
                u64::from(libbpf_sys::BPF_EXIST),
            )
        };
        if ret < 0 {
            let errno = libbpf_errno(ret);
            if errno != libc::ENOENT {
                return Err(map_read_error(spec, errno));
            }
        }
    }
    Ok(())
}

/// Writes the CLOCK_BOOTTIME nanoseconds now under key 0 (`elapsed`'s start).
pub fn set_start_time(fd: BorrowedFd<'_>, spec: &MapSpec) -> Result<(), BpfError> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    let now = (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64);
    let key = 0u64;
    // SAFETY: key and value are 8 bytes, as the map's spec says, and
    // outlive the call.
    let ret = unsafe {
        libbpf_sys::bpf_map_update_elem(
            fd.as_raw_fd(),
            (&key as *const u64).cast(),
            (&now as *const u64).cast(),
            0,
        )
    };
    if ret < 0 {
        return Err(map_read_error(spec, libbpf_errno(ret)));
    }
    Ok(())
}
