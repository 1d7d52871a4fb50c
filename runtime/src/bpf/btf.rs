//! The object's BTF, loaded into the kernel for programs that need it:
//! a program with a callback (a `for` loop over a map calls
//! `bpf_for_each_map_elem`) must come with BTF function info, or the
//! verifier refuses it. Programs without subprograms are loaded without
//! BTF, as before.

use aya_obj::btf::BtfFeatures;
use aya_obj::Object;
use std::os::fd::{FromRawFd, OwnedFd};

/// Function and line info of one program, with the BTF they refer to.
pub struct ProgBtf<'a> {
    pub btf_fd: i32,
    pub func_info: &'a [aya_obj::generated::bpf_func_info],
    pub line_info: &'a [aya_obj::generated::bpf_line_info],
}

/// Fixes up the object's BTF and loads it; `None` when the object has no
/// BTF or the kernel refuses it (the programs that need it then fail to
/// load with the verifier's explanation).
pub fn load(obj: &mut Object) -> Option<OwnedFd> {
    let features = BtfFeatures::new(true, true, true, true, true, true, true);
    let bytes = obj.fixup_and_sanitize_btf(&features).ok()??.to_bytes();
    // SAFETY: `bytes` is a live buffer of the given size; libbpf copies it.
    let fd = unsafe {
        libbpf_sys::bpf_btf_load(
            bytes.as_ptr().cast(),
            bytes.len() as libbpf_sys::size_t,
            std::ptr::null_mut(),
        )
    };
    // SAFETY: a non-negative result is a fresh fd that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}
