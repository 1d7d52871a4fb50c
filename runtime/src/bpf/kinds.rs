//! The kernel probe kinds beyond tracefs tracepoints and timers: which BPF
//! program type each needs, what the kernel must be told at load time
//! (fentry's BTF target), checks that a needed kernel feature exists before
//! anything is attached (kprobes, a hardware PMU), sentences for the
//! features a kernel lacks, and attachment through raw tracepoint links and
//! the kprobe PMU.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use ferrotrace_compiler::manifest::{AttachSpec, Manifest, ProgramSpec};

use super::attach::{self, Attachment, PerfTarget};
use super::error::{errno_text, is_permission, libbpf_errno};
use super::load::{self, LoadTarget};
use super::BpfError;

/// Where the kernel lists its perf PMUs; the kprobe PMU appears here when
/// the kernel has kprobes.
const PMU_DIR: &str = "/sys/bus/event_source/devices";

/// Attaches an `iter` program: one BPF iterator link, which
/// `run_iterator` then reads to walk the kernel objects.
pub fn attach_iter(prog: BorrowedFd<'_>, probe: &str) -> Result<OwnedFd, BpfError> {
    // SAFETY: plain syscall wrapper; null options attach a task-style
    // iterator that needs no target parameters.
    let fd = unsafe {
        libbpf_sys::bpf_link_create(
            prog.as_raw_fd(),
            0,
            libbpf_sys::BPF_TRACE_ITER,
            std::ptr::null(),
        )
    };
    if fd < 0 {
        return Err(BpfError::Attach {
            probe: probe.to_string(),
            reason: format!(
                "the kernel refused to create the BPF iterator: {}.",
                errno_text(libbpf_errno(fd))
            ),
        });
    }
    // SAFETY: `fd` was just returned by the kernel and is owned here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Walks an attached iterator once: opens an iterator from the link and
/// reads it to the end, which runs the program on every object.
pub fn run_iterator(link: BorrowedFd<'_>, probe: &str) -> Result<(), BpfError> {
    let fail = |what: &str, errno: i32| BpfError::Attach {
        probe: probe.to_string(),
        reason: format!("{what}: {}.", errno_text(errno)),
    };
    // SAFETY: plain syscall wrapper on a live link fd.
    let fd = unsafe { libbpf_sys::bpf_iter_create(link.as_raw_fd()) };
    if fd < 0 {
        return Err(fail("opening the BPF iterator failed", libbpf_errno(fd)));
    }
    // SAFETY: `fd` was just returned by the kernel and is owned here.
    let iter = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: `buf` is a live buffer of `buf.len()` bytes.
        let n = unsafe { libc::read(iter.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => return Ok(()),
            n if n > 0 => continue,
            _ => {
                let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
                if errno != libc::EINTR && errno != libc::EAGAIN {
                    return Err(fail("reading the BPF iterator failed", errno));
                }
            }
        }
    }
}

/// The BPF program type of the kinds this module owns, `None` for others.
pub fn prog_type(attach: &AttachSpec) -> Option<u32> {
    match attach {
        AttachSpec::RawTracepoint { .. } | AttachSpec::SyscallDispatch { .. } => {
            Some(load::BPF_PROG_TYPE_RAW_TRACEPOINT)
        }
        AttachSpec::Kprobe { .. } | AttachSpec::Uprobe { .. } => Some(load::BPF_PROG_TYPE_KPROBE),
        AttachSpec::Fentry { .. } | AttachSpec::Iter { .. } => Some(load::BPF_PROG_TYPE_TRACING),
        _ => None,
    }
}

/// Checks, before any map is created or program loaded, that the kernel has
/// every feature the manifest's probes need, so an unsupported probe fails
/// cleanly with nothing attached.
pub fn preflight(manifest: &Manifest) -> Result<(), BpfError> {
    for spec in &manifest.programs {
        match &spec.attach {
            AttachSpec::Kprobe { .. } if kprobe_pmu_type().is_none() => {
                return Err(BpfError::Attach {
                    probe: spec.probe.clone(),
                    reason: "this kernel was built without kprobes (CONFIG_KPROBES), so kprobe and \
                             kretprobe probes cannot be attached; use a tracepoint \
                             (`ferrotrace -l 'tracepoint:*'`) or a raw tracepoint near the function instead, \
                             or run on a kernel built with CONFIG_KPROBES and CONFIG_KPROBE_EVENTS."
                        .to_string(),
                });
            }
            AttachSpec::PerfEvent {
                event_type, config, ..
            } if *event_type == attach::PERF_TYPE_HARDWARE => {
                let target = PerfTarget {
                    event_type: *event_type,
                    config: *config,
                    sample_period: 1_000_000,
                    cpu: 0,
                };
                if let Err(errno) = attach::perf_event_open(target) {
                    if matches!(errno, libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV) {
                        return Err(BpfError::Attach {
                            probe: spec.probe.clone(),
                            reason: "this machine has no hardware performance counters visible to the \
                                     kernel (no hardware PMU, as is common in virtual machines), so \
                                     hardware probes cannot be attached; sample with a software event \
                                     such as `software:cpu-clock` or `profile:hz:99` instead."
                                .to_string(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The perf PMU type number of kprobes, when the kernel has them.
fn kprobe_pmu_type() -> Option<u32> {
    std::fs::read_to_string(format!("{PMU_DIR}/kprobe/type"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// What the kernel must be told when loading `spec`'s program. fentry and
/// fexit name their function by its id in the kernel's BTF; `btf` caches
/// the parsed `/sys/kernel/btf/vmlinux` across programs.
pub fn load_target(
    spec: &ProgramSpec,
    btf: &mut Option<aya_obj::btf::Btf>,
) -> Result<LoadTarget, BpfError> {
    let (function, attach_type) = match &spec.attach {
        AttachSpec::Fentry { function, fexit } => (
            function.clone(),
            if *fexit {
                libbpf_sys::BPF_TRACE_FEXIT
            } else {
                libbpf_sys::BPF_TRACE_FENTRY
            },
        ),
        AttachSpec::Iter { name } => (format!("bpf_iter_{name}"), libbpf_sys::BPF_TRACE_ITER),
        _ => return Ok(LoadTarget::default()),
    };
    if btf.is_none() {
        let parsed = aya_obj::btf::Btf::from_sys_fs().map_err(|e| BpfError::Load {
            probe: spec.probe.clone(),
            reason: format!(
                "the kernel's type information could not be read from /sys/kernel/btf/vmlinux ({e}); \
                 {} probes need a kernel built with CONFIG_DEBUG_INFO_BTF.",
                kind_word(&spec.attach)
            ),
        })?;
        *btf = Some(parsed);
    }
    let id = btf
        .as_ref()
        .and_then(|b| {
            b.id_by_type_name_kind(&function, aya_obj::btf::BtfKind::Func)
                .ok()
        })
        .ok_or_else(|| BpfError::Load {
            probe: spec.probe.clone(),
            reason: match &spec.attach {
                AttachSpec::Iter { name } => format!(
                    "this kernel has no BPF iterator named `{name}`; common ones are task, task_file and task_vma."
                ),
                _ => format!(
                    "this kernel has no function `{function}` in its BTF type information, so it cannot be traced; \
                     check the name (static functions that were inlined cannot be traced)."
                ),
            },
        })?;
    Ok(LoadTarget {
        expected_attach_type: attach_type,
        attach_btf_id: id,
    })
}

/// Turns a refused load of an fentry/fexit/iter program into the sentence
/// naming the missing kernel feature; other errors pass through.
pub fn explain_load_error(spec: &ProgramSpec, e: BpfError) -> BpfError {
    let lacks_tracing = matches!(
        &e,
        BpfError::Load { .. } | BpfError::NotPermitted | BpfError::Verifier { .. }
    );
    match &spec.attach {
        AttachSpec::Fentry { .. } if lacks_tracing => BpfError::Load {
            probe: spec.probe.clone(),
            reason: format!(
                "this kernel refused to load it as a BPF tracing program ({}). fentry and fexit probes need \
                 BPF trampolines, which need a kernel built with CONFIG_FUNCTION_TRACER and \
                 CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS (and BTF); use a tracepoint or raw tracepoint \
                 instead (`ferrotrace -l`).",
                short(&e)
            ),
        },
        AttachSpec::Iter { .. } if lacks_tracing => BpfError::Load {
            probe: spec.probe.clone(),
            reason: format!(
                "this kernel refused to load it as a BPF tracing program ({}). iter probes need BPF \
                 iterators, which need a kernel with BPF tracing programs (CONFIG_BPF_SYSCALL, \
                 CONFIG_FUNCTION_TRACER and BTF).",
                short(&e)
            ),
        },
        _ => e,
    }
}

/// The sentence for a verifier that refused an unsafe function's helper
/// outright (not a program's mistake, a kernel policy).
pub fn refused_helper(e: &BpfError) -> Option<String> {
    let BpfError::Verifier { log_tail, .. } = e else {
        return None;
    };
    let refused = |helper: &str| {
        log_tail
            .iter()
            .any(|l| l.contains("cannot use helper") && l.contains(helper))
    };
    if refused("bpf_probe_write_user#") {
        return Some(
            "this kernel does not let BPF programs write user memory, which write_user() needs \
             (bpf_probe_write_user is refused: the kernel is locked down, see `man kernel_lockdown.7`, \
             or BPF is restricted); remove write_user() from the script."
                .to_string(),
        );
    }
    if let Some(reason) = super::kfunc::refused(log_tail) {
        return Some(reason);
    }
    if refused("bpf_override_return#") {
        return Some(
            "this kernel does not let BPF programs override return values, which override() needs \
             (bpf_override_return needs CONFIG_BPF_KPROBE_OVERRIDE and a kernel that is not locked down); \
             remove override() from the script."
                .to_string(),
        );
    }
    None
}

/// The gist of a load error, for inclusion in another sentence.
fn short(e: &BpfError) -> String {
    match e {
        BpfError::Load { reason, .. } => reason.trim_end_matches('.').to_string(),
        BpfError::NotPermitted => "it answered that the operation is not permitted".to_string(),
        BpfError::Verifier { log_tail, .. } => log_tail
            .last()
            .cloned()
            .unwrap_or_else(|| "rejected by the verifier".to_string()),
        other => other.to_string().trim_end_matches('.').to_string(),
    }
}

fn kind_word(attach: &AttachSpec) -> &'static str {
    match attach {
        AttachSpec::Fentry { fexit: true, .. } => "fexit",
        AttachSpec::Fentry { .. } => "fentry",
        AttachSpec::Iter { .. } => "iter",
        _ => "these",
    }
}

/// Attaches `prog` to the raw tracepoint `name` with one BPF link; the
/// returned fd is the link.
pub fn attach_raw_tracepoint(
    prog: BorrowedFd<'_>,
    probe: &str,
    name: &str,
) -> Result<OwnedFd, BpfError> {
    let attach_err = |reason: String| BpfError::Attach {
        probe: probe.to_string(),
        reason,
    };
    let cname = std::ffi::CString::new(name)
        .map_err(|_| attach_err(format!("`{name}` is not a valid raw tracepoint name.")))?;
    // SAFETY: the name is a live NUL-terminated string and the fd is live.
    let fd = unsafe { libbpf_sys::bpf_raw_tracepoint_open(cname.as_ptr(), prog.as_raw_fd()) };
    if fd < 0 {
        let errno = libbpf_errno(fd);
        return Err(attach_err(if is_permission(errno) {
            "the kernel did not allow attaching the program; run ferrotrace as root (or with CAP_BPF and CAP_PERFMON).".to_string()
        } else if errno == libc::ENOENT {
            format!("this kernel has no raw tracepoint `{name}`; list them with `ferrotrace -l 'rawtracepoint:*'`.")
        } else if errno == libc::EINVAL || errno == libc::EACCES {
            format!(
                "the kernel refused the program for raw tracepoint `{name}` ({}); the probe probably reads \
                 an argument the tracepoint does not have (argN beyond its last argument).",
                errno_text(errno)
            )
        } else {
            format!(
                "the kernel refused to attach to raw tracepoint `{name}`: {}.",
                errno_text(errno)
            )
        }));
    }
    // SAFETY: libbpf returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Attaches `prog` to a kprobe or kretprobe on `function+offset` through
/// the kprobe PMU (perf event + BPF link), on every CPU at once.
pub fn attach_kprobe(
    prog: BorrowedFd<'_>,
    probe: &str,
    function: &str,
    offset: u64,
    retprobe: bool,
) -> Result<Attachment, BpfError> {
    let attach_err = |reason: String| BpfError::Attach {
        probe: probe.to_string(),
        reason,
    };
    let Some(pmu) = kprobe_pmu_type() else {
        return Err(attach_err(
            "this kernel was built without kprobes (CONFIG_KPROBES).".to_string(),
        ));
    };
    let cname = std::ffi::CString::new(function)
        .map_err(|_| attach_err(format!("`{function}` is not a valid function name.")))?;
    // SAFETY: `perf_event_attr` is plain old data; all-zero is its default.
    let mut attr: libbpf_sys::perf_event_attr = unsafe { std::mem::zeroed() };
    attr.type_ = pmu;
    // The kprobe PMU's `retprobe` format bit is config:0.
    attr.config = u64::from(retprobe);
    // No name (a null `kprobe_func`): `config2` is the address itself.
    attr.__bindgen_anon_3.config1 = if function.is_empty() {
        0
    } else {
        cname.as_ptr() as u64
    };
    attr.__bindgen_anon_4.config2 = offset;
    attr.__bindgen_anon_1.sample_period = 1;
    // `cname` lives until the end of this function, past the call.
    let perf = attach::perf_event_open_attr(&mut attr, 0).map_err(|errno| {
        attach_err(match errno {
            libc::ENOENT | libc::EINVAL => format!(
                "the kernel cannot place a kprobe on `{function}` (it does not exist, is inlined, or is blacklisted for kprobes)."
            ),
            e => format!("opening the kprobe failed: {}.", errno_text(e)),
        })
    })?;
    attach::attach_to_perf(prog, perf).map_err(|e| {
        attach_err(format!(
            "the kernel refused to attach the program to the kprobe: {}.",
            errno_text(e)
        ))
    })
}

/// Attaches an fentry/fexit program (loaded against its BTF target) with
/// one BPF link.
pub fn attach_tracing(prog: BorrowedFd<'_>, probe: &str) -> Result<OwnedFd, BpfError> {
    // SAFETY: a null name attaches a tracing program to the target it was loaded for.
    let fd = unsafe { libbpf_sys::bpf_raw_tracepoint_open(std::ptr::null(), prog.as_raw_fd()) };
    if fd < 0 {
        let errno = libbpf_errno(fd);
        return Err(BpfError::Attach {
            probe: probe.to_string(),
            reason: format!(
                "the kernel refused to attach the BPF trampoline: {}; fentry and fexit need \
                 CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS.",
                errno_text(errno)
            ),
        });
    }
    // SAFETY: libbpf returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
