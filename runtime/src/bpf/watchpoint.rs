//! Attaching watchpoints: a hardware breakpoint perf event
//! (`PERF_TYPE_BREAKPOINT` with the address, length and access type) in the
//! target process (`-p`, `-c`), or on every online CPU for a kernel address,
//! each with the program linked to it like any other perf event.

use std::os::fd::BorrowedFd;

use super::attach::{
    attach_to_perf, link_reason, online_cpus, perf_event_open_for, perf_reason, Attachment,
    PerfTarget, PERF_TYPE_BREAKPOINT,
};
use super::BpfError;

/// The kernel's `HW_BREAKPOINT_R` (x86 cannot watch reads alone) and
/// `HW_BREAKPOINT_X`.
const BP_R: u32 = 1;
const BP_X: u32 = 4;
/// Where x86-64 kernel addresses begin.
const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;

/// One watchpoint to attach.
#[derive(Debug, Clone, Copy)]
pub struct WatchTarget<'a> {
    pub probe: &'a str,
    pub addr: u64,
    pub len: u8,
    pub bp_type: u32,
    /// The process whose address space `addr` is in; `None` for a kernel
    /// address.
    pub pid: Option<u32>,
}

/// Attaches `prog` to a hardware breakpoint on `target.addr`.
pub fn attach_watchpoint(
    prog: BorrowedFd<'_>,
    target: WatchTarget<'_>,
) -> Result<Vec<Attachment>, BpfError> {
    let attach_err = |reason: String| BpfError::Attach {
        probe: target.probe.to_string(),
        reason,
    };
    // One event following the process on any CPU, or one per CPU for a
    // kernel address.
    let places: Vec<(libc::pid_t, i32)> = match target.pid {
        Some(pid) => vec![(libc::pid_t::try_from(pid).unwrap_or(-1), -1)],
        None => online_cpus()
            .map_err(attach_err)?
            .into_iter()
            .map(|cpu| (-1, cpu))
            .collect(),
    };
    let mut attachments = Vec::with_capacity(places.len());
    for (pid, cpu) in places {
        // SAFETY: `perf_event_attr` is plain old data; all-zero is its
        // documented default.
        let mut attr: libbpf_sys::perf_event_attr = unsafe { std::mem::zeroed() };
        attr.type_ = PERF_TYPE_BREAKPOINT;
        attr.bp_type = target.bp_type;
        attr.__bindgen_anon_3.bp_addr = target.addr;
        attr.__bindgen_anon_4.bp_len = u64::from(target.len);
        attr.__bindgen_anon_1.sample_period = 1;
        // No `precise_ip`: the kernel refuses it for programs that read
        // stacks (EPROTO), and a breakpoint fires on the access anyway.
        let perf = perf_event_open_for(&mut attr, pid, cpu)
            .map_err(|errno| attach_err(reason(errno, target, cpu)))?;
        attachments.push(attach_to_perf(prog, perf).map_err(|e| attach_err(link_reason(e)))?);
    }
    Ok(attachments)
}

/// A human reason for a breakpoint the kernel refused.
fn reason(errno: i32, target: WatchTarget<'_>, cpu: i32) -> String {
    match errno {
        libc::EINVAL if target.bp_type == BP_R && cfg!(target_arch = "x86_64") => {
            "x86-64 cannot watch reads alone; use mode `rw` (reads and writes) instead.".to_string()
        }
        libc::EINVAL if target.bp_type & BP_X != 0 && target.addr >= KERNEL_HALF => format!(
            "the kernel refuses execution breakpoints on kernel code where it could not place \
             a kprobe (on a kernel without CONFIG_KPROBES, anywhere); watch the function with \
             a tracepoint or an fentry probe, or watch data (`w`, `rw`) instead of code at 0x{:x}.",
            target.addr
        ),
        libc::EINVAL => format!(
            "the kernel refused a breakpoint on {} byte{} at 0x{:x}: the address must be aligned \
             to its length, and execution breakpoints (`x`) must be {} bytes long.",
            target.len,
            if target.len == 1 { "" } else { "s" },
            target.addr,
            std::mem::size_of::<usize>()
        ),
        libc::ESRCH => "the target process no longer exists.".to_string(),
        libc::EFAULT | libc::EPERM | libc::EACCES if target.pid.is_none() => format!(
            "the kernel refused a watchpoint on 0x{:x}; without -p or -c the address must be \
             a kernel address (as listed in /proc/kallsyms), and watching it needs root.",
            target.addr
        ),
        _ => perf_reason(
            errno,
            PerfTarget {
                event_type: PERF_TYPE_BREAKPOINT,
                config: 0,
                sample_period: 1,
                cpu,
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_code_breakpoints_are_explained() {
        let t = WatchTarget {
            probe: "watchpoint:0xffffffff816bb820:8:x",
            addr: 0xffff_ffff_816b_b820,
            len: 8,
            bp_type: BP_X,
            pid: None,
        };
        assert!(reason(libc::EINVAL, t, 0).contains("CONFIG_KPROBES"));
    }

    #[test]
    fn read_only_watch_on_x86_is_explained() {
        let t = WatchTarget {
            probe: "watchpoint:0x1000:8:r",
            addr: 0x1000,
            len: 8,
            bp_type: BP_R,
            pid: Some(1),
        };
        let text = reason(libc::EINVAL, t, -1);
        if cfg!(target_arch = "x86_64") {
            assert!(text.contains("use mode `rw`"), "{text}");
        } else {
            assert!(text.contains("aligned"), "{text}");
        }
    }
}
