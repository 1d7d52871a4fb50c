//! Reading stack-trace maps: the stack maps' file descriptors (duplicated,
//! so a reader can outlive borrows of the `LoadedObject`) and the frames
//! stored under one stack id.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use ferrotrace_compiler::manifest::{MapRole, StackKind};

use super::{BpfError, LoadedObject};

/// One stack-trace map: the stack kind and frame limit it serves.
#[derive(Debug)]
pub struct StackMapFd {
    pub kind: StackKind,
    pub limit: u8,
    pub fd: OwnedFd,
}

impl LoadedObject {
    /// Duplicated descriptors of every stack-trace map of the program.
    pub fn stack_maps(&self) -> Result<Vec<StackMapFd>, BpfError> {
        let mut out = Vec::new();
        for (fd, spec) in self.maps.values() {
            if let Some(MapRole::Stacks { kind, limit }) = spec.as_ref().map(|s| &s.role) {
                let fd = fd.try_clone().map_err(|e| {
                    BpfError::Map(format!(
                        "could not duplicate the descriptor of a stack map: {e}."
                    ))
                })?;
                out.push(StackMapFd {
                    kind: *kind,
                    limit: *limit,
                    fd,
                });
            }
        }
        Ok(out)
    }
}

/// The frame addresses stored under `id` in the stack map `fd` whose
/// values hold `limit` addresses, innermost first; `None` when the id is
/// not in the map.
pub fn stack_frames(fd: BorrowedFd<'_>, id: u32, limit: u8) -> Option<Vec<u64>> {
    let mut value = vec![0u64; usize::from(limit)];
    // SAFETY: the key is a u32 as the stack map's key_size is 4, and the
    // value buffer holds `limit` u64s, the map's value_size.
    let ret = unsafe {
        libbpf_sys::bpf_map_lookup_elem(
            fd.as_raw_fd(),
            (&id as *const u32).cast(),
            value.as_mut_ptr().cast(),
        )
    };
    if ret != 0 {
        return None;
    }
    let end = value.iter().position(|&a| a == 0).unwrap_or(value.len());
    value.truncate(end);
    Some(value)
}
