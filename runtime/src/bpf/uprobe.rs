//! Attaching programs to uprobes, uretprobes and USDT probes, never through
//! tracefs `uprobe_events`. Where the kernel has them (Linux 6.6+), each
//! program is loaded for and attached by a uprobe_multi BPF link (path,
//! file offset, semaphore offset, return flag and pid in one
//! `bpf_link_create`), whose release does not serialize on the kernel's
//! trace-event mutex, so many probes detach in parallel quickly. Otherwise
//! one `perf_event_open` per probe on the uprobe PMU (type from
//! `/sys/bus/event_source/devices/uprobe/type`, the path in `config1`, the
//! file offset in `config2`, the return-probe bit and the USDT semaphore's
//! file offset placed in `config` where the PMU's `format/` files say),
//! then a BPF link. Either way the hook belongs to fds, so nothing outlives
//! the process. Also writes the `cpid` map before attaching.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::attach::{attach_to_perf, Attachment};
use super::error::{errno_text, is_permission, last_errno, libbpf_errno};
use super::{BpfError, LoadedObject};
use ferrotrace_compiler::manifest::MapRole;

const PMU_DIR: &str = "/sys/bus/event_source/devices/uprobe";
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;

/// What to attach and where.
#[derive(Debug, Clone, Copy)]
pub struct UprobeTarget<'a> {
    pub probe: &'a str,
    pub binary: &'a str,
    pub offset: u64,
    pub retprobe: bool,
    pub ref_ctr_offset: Option<u64>,
    /// Only this process, or every process.
    pub pid: Option<u32>,
    /// The program was loaded for a uprobe_multi link.
    pub multi: bool,
}

/// `BPF_PROG_TYPE_KPROBE` with `expected_attach_type` BPF_TRACE_UPROBE_MULTI.
const UPROBE_MULTI: u32 = 48;
/// `BPF_F_UPROBE_MULTI_RETURN`.
const UPROBE_MULTI_RETURN: u32 = 1;

/// Set by `--no-feature uprobe_multi`: always use the perf-event path.
static NO_UPROBE_MULTI: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes every later load use per-probe perf events instead of uprobe_multi links.
pub fn disable_uprobe_multi() {
    NO_UPROBE_MULTI.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Loads a uprobe program, for a uprobe_multi link when the kernel accepts
/// that and as a plain kprobe-type program otherwise. Returns the fd and
/// whether it is for uprobe_multi.
pub fn load_program(
    name: &str,
    insns: &[u64],
    site: &super::ProbeSite<'_>,
    btf: Option<&super::btf::ProgBtf<'_>>,
) -> Result<(OwnedFd, bool), BpfError> {
    use super::load::{load_program_with, LoadTarget, BPF_PROG_TYPE_KPROBE};
    let plain = || {
        load_program_with(
            BPF_PROG_TYPE_KPROBE,
            LoadTarget::default(),
            name,
            insns,
            site,
            btf,
        )
        .map(|fd| (fd, false))
    };
    if NO_UPROBE_MULTI.load(std::sync::atomic::Ordering::Relaxed) {
        return plain();
    }
    match load_program_with(
        BPF_PROG_TYPE_KPROBE,
        LoadTarget {
            expected_attach_type: UPROBE_MULTI,
            attach_btf_id: 0,
        },
        name,
        insns,
        site,
        btf,
    ) {
        Ok(fd) => Ok((fd, true)),
        // Kernels without uprobe_multi refuse the attach type, not the code.
        Err(BpfError::Load { .. }) => plain(),
        Err(e) => Err(e),
    }
}

/// Attaches a uprobe_multi program with one `bpf_link_create`.
fn attach_multi(prog: BorrowedFd<'_>, t: UprobeTarget<'_>) -> Result<Attachment, BpfError> {
    let attach_err = |reason: String| BpfError::Attach {
        probe: t.probe.to_string(),
        reason,
    };
    let path = CString::new(t.binary)
        .map_err(|_| attach_err(format!("the path {:?} contains a NUL byte.", t.binary)))?;
    let offset: libc::c_ulong = t.offset;
    let ref_ctr: libc::c_ulong = t.ref_ctr_offset.unwrap_or(0);
    // SAFETY: the options struct is plain old data; all-zero is its default.
    let mut opts: libbpf_sys::bpf_link_create_opts = unsafe { std::mem::zeroed() };
    opts.sz = std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as libbpf_sys::size_t;
    opts.__bindgen_anon_1.uprobe_multi =
        libbpf_sys::bpf_link_create_opts__bindgen_ty_1__bindgen_ty_3 {
            flags: if t.retprobe { UPROBE_MULTI_RETURN } else { 0 },
            cnt: 1,
            path: path.as_ptr(),
            offsets: &offset,
            ref_ctr_offsets: if t.ref_ctr_offset.is_some() {
                &ref_ctr
            } else {
                std::ptr::null()
            },
            pid: t.pid.unwrap_or(0),
            ..Default::default()
        };
    // SAFETY: `opts` points at `path`, `offset` and `ref_ctr`, which all
    // outlive the call; the program fd is live.
    let link = unsafe {
        libbpf_sys::bpf_link_create(
            prog.as_raw_fd(),
            0,
            libbpf_sys::BPF_TRACE_UPROBE_MULTI,
            &opts,
        )
    };
    if link < 0 {
        return Err(attach_err(open_reason(libbpf_errno(link), &t)));
    }
    // SAFETY: libbpf returned a fresh fd that nothing else owns.
    let link = unsafe { OwnedFd::from_raw_fd(link) };
    Ok(Attachment {
        link: Some(link),
        perf: None,
    })
}

/// Attaches `prog` (a kprobe-type program) to the uprobe described by `t`.
pub fn attach_uprobe(prog: BorrowedFd<'_>, t: UprobeTarget<'_>) -> Result<Attachment, BpfError> {
    if t.multi {
        return attach_multi(prog, t);
    }
    let attach_err = |reason: String| BpfError::Attach {
        probe: t.probe.to_string(),
        reason,
    };
    let pmu_type: u32 = read_pmu("type")
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| {
            attach_err(format!(
                "this kernel has no uprobe PMU ({PMU_DIR}/type is missing); it was built without CONFIG_UPROBE_EVENTS."
            ))
        })?;
    let mut config = 0u64;
    if t.retprobe {
        let bit = format_shift("retprobe").ok_or_else(|| {
            attach_err("this kernel's uprobe PMU does not support return probes.".into())
        })?;
        config |= 1 << bit;
    }
    if let Some(ref_ctr) = t.ref_ctr_offset {
        let shift = format_shift("ref_ctr_offset").ok_or_else(|| {
            attach_err(
                "this kernel's uprobe PMU cannot set USDT semaphores (no ref_ctr_offset); it needs Linux 4.20 or later."
                    .into(),
            )
        })?;
        config |= ref_ctr << shift;
    }
    let path = CString::new(t.binary)
        .map_err(|_| attach_err(format!("the path {:?} contains a NUL byte.", t.binary)))?;
    // SAFETY: `perf_event_attr` is plain old data; all-zero is its default.
    let mut attr: libbpf_sys::perf_event_attr = unsafe { std::mem::zeroed() };
    attr.type_ = pmu_type;
    attr.size = std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32;
    attr.config = config;
    attr.__bindgen_anon_1.sample_period = 1;
    attr.__bindgen_anon_2.wakeup_events = 1;
    attr.__bindgen_anon_3.uprobe_path = path.as_ptr() as u64;
    attr.__bindgen_anon_4.probe_offset = t.offset;
    // A process-scoped event follows the process on any CPU; an event for
    // every process is opened on CPU 0 and fires on all CPUs.
    let (pid, cpu): (libc::pid_t, libc::c_int) = match t.pid {
        Some(p) => (p as libc::pid_t, -1),
        None => (-1, 0),
    };
    // SAFETY: `attr` is a valid perf_event_attr whose `size` matches its
    // type; `path` outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const libbpf_sys::perf_event_attr,
            pid,
            cpu,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(attach_err(open_reason(last_errno(), &t)));
    }
    let fd = i32::try_from(fd).map_err(|_| attach_err("the kernel returned a bad fd.".into()))?;
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    let perf = unsafe { OwnedFd::from_raw_fd(fd) };
    attach_to_perf(prog, perf).map_err(|errno| {
        attach_err(format!(
            "the kernel refused to attach the program to the uprobe: {}.",
            errno_text(errno)
        ))
    })
}

fn read_pmu(file: &str) -> Option<String> {
    std::fs::read_to_string(format!("{PMU_DIR}/{file}")).ok()
}

/// The first bit of a `config:N` or `config:N-M` PMU format field.
fn format_shift(field: &str) -> Option<u32> {
    parse_format(&read_pmu(&format!("format/{field}"))?)
}

fn parse_format(text: &str) -> Option<u32> {
    let bits = text.trim().strip_prefix("config:")?;
    bits.split('-').next()?.parse().ok()
}

fn open_reason(errno: i32, t: &UprobeTarget<'_>) -> String {
    if is_permission(errno) {
        return "the kernel did not allow opening a uprobe; run ferrotrace as root (or with CAP_PERFMON)."
            .into();
    }
    match errno {
        libc::ENOENT => format!("{} does not exist any more.", t.binary),
        libc::ESRCH => format!(
            "process {} does not exist (it may have exited).",
            t.pid.unwrap_or(0)
        ),
        libc::EINVAL if t.ref_ctr_offset.is_some() => format!(
            "the kernel refused the probe at offset {:#x} of {} with its semaphore; another tool may hold a different uprobe on the same place.",
            t.offset, t.binary
        ),
        libc::EINVAL => format!(
            "the kernel refused a uprobe at offset {:#x} of {}; the offset may not be an instruction boundary.",
            t.offset, t.binary
        ),
        libc::EMFILE | libc::ENFILE => {
            "too many open files; raise the limit with `ulimit -n` and try again.".into()
        }
        e => format!("opening the uprobe failed: {}.", errno_text(e)),
    }
}

impl LoadedObject {
    /// Scopes uprobes attached from now on to process `pid` (`-p`, `-c`).
    pub fn set_target_pid(&mut self, pid: Option<u32>) {
        self.target_pid = pid;
    }

    /// Writes the `-c` command's pid into the `cpid` map, if the program has one.
    pub fn set_cpid(&self, pid: u32) -> Result<(), BpfError> {
        let Some((fd, _)) = self
            .maps
            .values()
            .find(|(_, spec)| spec.as_ref().is_some_and(|s| s.role == MapRole::Cpid))
        else {
            return Ok(());
        };
        let key = 0u32;
        let value = u64::from(pid);
        // SAFETY: key and value match the map's 4-byte key and 8-byte value
        // and outlive the call.
        let ret = unsafe {
            libbpf_sys::bpf_map_update_elem(
                fd.as_fd().as_raw_fd(),
                (&key as *const u32).cast(),
                (&value as *const u64).cast(),
                0,
            )
        };
        if ret < 0 {
            return Err(BpfError::Map(format!(
                "could not store the command's pid for `cpid`: {}.",
                errno_text(libbpf_errno(ret))
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pmu_formats() {
        assert_eq!(parse_format("config:0\n"), Some(0));
        assert_eq!(parse_format("config:32-63\n"), Some(32));
        assert_eq!(parse_format("config1:0-63"), None);
    }
}
