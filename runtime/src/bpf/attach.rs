//! Attaching loaded programs to tracepoints and perf events.
//!
//! Every attachment is fd-based: a perf event opened with
//! `perf_event_open` plus a BPF link (`bpf_link_create` with
//! `BPF_PERF_EVENT`), or, on kernels that refuse perf links, the older
//! `PERF_EVENT_IOC_SET_BPF` ioctl. Both fds are owned by an `Attachment`, so
//! closing them (on drop, or when the process dies for any reason) removes
//! the program from the hook and nothing is left behind in the kernel.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::error::{errno_text, is_permission, last_errno, libbpf_errno};
use super::BpfError;

/// `PERF_TYPE_*` values.
pub const PERF_TYPE_HARDWARE: u32 = 0;
pub const PERF_TYPE_TRACEPOINT: u32 = 2;
pub const PERF_TYPE_HW_CACHE: u32 = 3;
pub const PERF_TYPE_BREAKPOINT: u32 = 5;

const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// `_IO('$', 0)`
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
/// `_IOW('$', 8, __u32)`
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;

/// One hook: the perf event and, when the kernel supports it, the BPF link
/// over it (a uprobe_multi link has no perf event). Fields drop in order:
/// the link first, then the perf event.
#[derive(Debug)]
pub struct Attachment {
    pub link: Option<OwnedFd>,
    pub perf: Option<OwnedFd>,
}

/// Closes attachments from several threads at once. Closing a uprobe or
/// tracepoint perf event waits for an RCU grace period in the kernel
/// (tens of milliseconds); waits of concurrent closes overlap, so releasing
/// N hooks costs a few grace periods instead of N.
pub fn close_in_parallel(mut all: Vec<Attachment>) {
    const THREADS: usize = 32;
    if all.len() <= 2 {
        return;
    }
    let chunk = all.len().div_ceil(THREADS);
    std::thread::scope(|scope| {
        while !all.is_empty() {
            let rest = all.split_off(chunk.min(all.len()));
            let part = std::mem::replace(&mut all, rest);
            // A thread that cannot start leaves its part to be closed here.
            if let Err(e) = std::thread::Builder::new().spawn_scoped(scope, move || drop(part)) {
                drop(e);
            }
        }
    });
}

/// What `perf_event_open` should open.
#[derive(Debug, Clone, Copy)]
pub struct PerfTarget {
    pub event_type: u32,
    pub config: u64,
    pub sample_period: u64,
    pub cpu: i32,
}

/// Opens a perf event for all processes on `target.cpu`. Returns the errno on failure.
pub fn perf_event_open(target: PerfTarget) -> Result<OwnedFd, i32> {
    // SAFETY: `perf_event_attr` is plain old data; all-zero is its documented
    // default (every flag off, no sampling fields).
    let mut attr: libbpf_sys::perf_event_attr = unsafe { std::mem::zeroed() };
    attr.type_ = target.event_type;
    attr.config = target.config;
    attr.__bindgen_anon_1.sample_period = target.sample_period;
    perf_event_open_attr(&mut attr, target.cpu)
}

/// Opens the perf event `attr` describes for all processes on `cpu`,
/// filling in its size and wakeup fields. Returns the errno on failure.
pub fn perf_event_open_attr(
    attr: &mut libbpf_sys::perf_event_attr,
    cpu: i32,
) -> Result<OwnedFd, i32> {
    perf_event_open_for(attr, -1, cpu)
}

/// Opens the perf event `attr` describes for process `pid` (-1: every
/// process) on `cpu` (-1: every CPU, only with a pid), filling in its size
/// and wakeup fields. Returns the errno on failure.
pub fn perf_event_open_for(
    attr: &mut libbpf_sys::perf_event_attr,
    pid: libc::pid_t,
    cpu: i32,
) -> Result<OwnedFd, i32> {
    attr.size = std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32;
    attr.__bindgen_anon_2.wakeup_events = 1;
    // SAFETY: `attr` is a valid, fully initialised perf_event_attr whose
    // `size` field matches its type, and lives across the call; any memory
    // its config fields point to is owned by the caller for the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr as *const libbpf_sys::perf_event_attr,
            pid,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(last_errno());
    }
    let fd = i32::try_from(fd).map_err(|_| libc::EBADF)?;
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Attaches `prog` to the perf event `perf`, preferring a BPF link.
/// Returns the errno on failure.
pub fn attach_to_perf(prog: BorrowedFd<'_>, perf: OwnedFd) -> Result<Attachment, i32> {
    // SAFETY: both fds are live for the call; a null opts pointer is allowed.
    let link = unsafe {
        libbpf_sys::bpf_link_create(
            prog.as_raw_fd(),
            perf.as_raw_fd(),
            libbpf_sys::BPF_PERF_EVENT,
            std::ptr::null(),
        )
    };
    if link >= 0 {
        // SAFETY: libbpf returned a fresh fd that nothing else owns.
        let link = unsafe { OwnedFd::from_raw_fd(link) };
        return Ok(Attachment {
            link: Some(link),
            perf: Some(perf),
        });
    }
    let link_errno = libbpf_errno(link);
    if is_permission(link_errno) {
        return Err(link_errno);
    }
    // Older kernels: attach through the perf event itself.
    // SAFETY: `perf` is a live perf event fd and the argument is a program fd.
    let ret = unsafe {
        libc::ioctl(
            perf.as_raw_fd(),
            PERF_EVENT_IOC_SET_BPF as _,
            prog.as_raw_fd(),
        )
    };
    if ret < 0 {
        return Err(last_errno());
    }
    // SAFETY: `perf` is a live perf event fd; ENABLE takes no argument.
    let ret = unsafe { libc::ioctl(perf.as_raw_fd(), PERF_EVENT_IOC_ENABLE as _, 0) };
    if ret < 0 {
        return Err(last_errno());
    }
    Ok(Attachment {
        link: None,
        perf: Some(perf),
    })
}

/// Attaches `prog` to the tracepoint `category:name`.
pub fn attach_tracepoint(
    prog: BorrowedFd<'_>,
    probe: &str,
    category: &str,
    name: &str,
) -> Result<Attachment, BpfError> {
    let attach_err = |reason: String| BpfError::Attach {
        probe: probe.to_string(),
        reason,
    };
    let Some(id) = crate::tracefs::tracepoint_id(category, name)? else {
        return Err(attach_err(format!(
            "tracepoint {category}:{name} does not exist in this kernel; list a category's tracepoints with `ls /sys/kernel/tracing/events/{category}/`."
        )));
    };
    let target = PerfTarget {
        event_type: PERF_TYPE_TRACEPOINT,
        config: id,
        sample_period: 1,
        cpu: 0,
    };
    let perf = perf_event_open(target).map_err(|e| attach_err(perf_reason(e, target)))?;
    attach_to_perf(prog, perf).map_err(|e| attach_err(link_reason(e)))
}

/// Attaches `prog` to a sampling perf event on CPU 0, or on every online
/// CPU; there, only while process `pid` (and the children it starts) runs
/// when a pid is given.
pub fn attach_perf_event(
    prog: BorrowedFd<'_>,
    probe: &str,
    event: (u32, u64),
    period: u64,
    every_cpu: bool,
    pid: Option<u32>,
) -> Result<Vec<Attachment>, BpfError> {
    let (event_type, config) = event;
    let attach_err = |reason: String| BpfError::Attach {
        probe: probe.to_string(),
        reason,
    };
    let cpus = if every_cpu {
        online_cpus().map_err(attach_err)?
    } else {
        vec![0]
    };
    let mut attachments = Vec::with_capacity(cpus.len());
    for cpu in cpus {
        let target = PerfTarget {
            event_type,
            config,
            sample_period: period.max(1),
            cpu,
        };
        let perf = match pid.filter(|_| every_cpu) {
            Some(pid) => {
                // SAFETY: `perf_event_attr` is plain old data; all-zero is its
                // documented default.
                let mut attr: libbpf_sys::perf_event_attr = unsafe { std::mem::zeroed() };
                attr.type_ = event_type;
                attr.config = config;
                attr.__bindgen_anon_1.sample_period = target.sample_period;
                attr.set_inherit(1);
                let pid = libc::pid_t::try_from(pid).unwrap_or(-1);
                perf_event_open_for(&mut attr, pid, cpu)
            }
            None => perf_event_open(target),
        }
        .map_err(|e| attach_err(perf_reason(e, target)))?;
        attachments.push(attach_to_perf(prog, perf).map_err(|e| attach_err(link_reason(e)))?);
    }
    Ok(attachments)
}

/// A human reason for a failed perf_event_open.
pub(crate) fn perf_reason(errno: i32, target: PerfTarget) -> String {
    let hardware = matches!(target.event_type, PERF_TYPE_HARDWARE | PERF_TYPE_HW_CACHE);
    if is_permission(errno) {
        return "the kernel did not allow opening a perf event; run ferrotrace as root (or with CAP_PERFMON), \
                and check /proc/sys/kernel/perf_event_paranoid."
            .to_string();
    }
    match errno {
        libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV if hardware => {
            "this machine has no hardware performance counters visible to the kernel \
             (common in virtual machines); use a software event such as cpu-clock instead."
                .to_string()
        }
        libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV if target.event_type == PERF_TYPE_BREAKPOINT => {
            "this kernel or machine does not support hardware breakpoints, so watchpoints cannot be used.".to_string()
        }
        libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV => format!(
            "this kernel does not offer perf event type {} config {} ({}).",
            target.event_type,
            target.config,
            errno_text(errno)
        ),
        libc::EMFILE | libc::ENFILE => {
            "too many open files; raise the limit with `ulimit -n` and try again.".to_string()
        }
        libc::ENOSPC | libc::EBUSY => {
            "the kernel has no free slot for this event (hardware breakpoints and counters are limited); \
             use fewer probes of this kind."
                .to_string()
        }
        _ => format!("opening the perf event failed: {}.", errno_text(errno)),
    }
}

/// A human reason for a failed program-to-event attachment.
pub(crate) fn link_reason(errno: i32) -> String {
    if is_permission(errno) {
        "the kernel did not allow attaching the program; run ferrotrace as root (or with CAP_BPF and CAP_PERFMON)."
            .to_string()
    } else if errno == libc::EEXIST {
        "another BPF program is already attached to this event.".to_string()
    } else {
        format!(
            "the kernel refused to attach the program to the event: {}.",
            errno_text(errno)
        )
    }
}

/// The online CPUs, from `/sys/devices/system/cpu/online` (e.g. `0-3,6`).
pub fn online_cpus() -> Result<Vec<i32>, String> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .map_err(|e| format!("could not read the list of online CPUs ({e})."))?;
    parse_cpu_list(&text).ok_or_else(|| {
        format!(
            "the list of online CPUs `{}` could not be understood.",
            text.trim()
        )
    })
}

fn parse_cpu_list(text: &str) -> Option<Vec<i32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (i32, i32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                cpus.extend(a..=b);
            }
            None => cpus.push(part.trim().parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,6\n"), Some(vec![0, 1, 2, 3, 6]));
        assert_eq!(parse_cpu_list("0\n"), Some(vec![0]));
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn hardware_reason_is_human() {
        let t = PerfTarget {
            event_type: PERF_TYPE_HARDWARE,
            config: 0,
            sample_period: 1,
            cpu: 0,
        };
        assert!(perf_reason(libc::ENOENT, t).contains("no hardware performance counters"));
    }
}
