//! Creating maps and loading programs with the bpf() system call.
//!
//! These are thin, checked wrappers over libbpf's low-level `bpf_map_create`
//! and `bpf_prog_load`. Program loading first runs with a modest log buffer
//! (libbpf retries at log level 1 on failure) and, when the kernel refuses,
//! once more with log level 1 and a 16 MiB buffer so the verifier's complete
//! reasoning is captured; its last meaningful lines become
//! `BpfError::Verifier::log_tail`.

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};

use super::error::{errno_text, libbpf_errno};
use super::BpfError;

/// `enum bpf_prog_type` values ferrotrace uses.
pub const BPF_PROG_TYPE_KPROBE: u32 = 2;
pub const BPF_PROG_TYPE_TRACEPOINT: u32 = 5;
pub const BPF_PROG_TYPE_PERF_EVENT: u32 = 7;
pub const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;
pub const BPF_PROG_TYPE_TRACING: u32 = 26;

/// What a program is loaded for, beyond its type: the kernel needs it up
/// front for programs that attach to a BTF-described target (fentry, iter).
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadTarget {
    /// `enum bpf_attach_type`, or 0.
    pub expected_attach_type: u32,
    /// The target's id in the kernel's BTF, or 0.
    pub attach_btf_id: u32,
}

/// `enum bpf_map_type` BPF_MAP_TYPE_ARRAY, used for `.data`/`.rodata`/`.bss`.
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;

/// Size of the first-attempt log buffer.
const SMALL_LOG: usize = 64 * 1024;
/// Size of the log buffer of the retry that captures the full verifier
/// log when the manifest does not say (bpftrace's `log_size` default).
pub const DEFAULT_LOG: usize = 1_000_000;
/// How many verifier lines the error keeps.
const LOG_TAIL_LINES: usize = 20;

/// Where a program comes from, for error messages.
#[derive(Debug, Clone)]
pub struct ProbeSite<'a> {
    pub probe: &'a str,
    /// The attach point's 1-based line and column (the fallback location).
    pub line: usize,
    pub column: usize,
    /// Source positions by instruction index, from the object's BTF.ext line
    /// info, sorted by instruction: `(insn, line, column)`. Empty when the
    /// object carries no line info.
    pub lines: &'a [(u32, usize, usize)],
    /// The license the program is loaded under (the `license` config key).
    pub license: &'a str,
    /// Bytes of the verifier log kept to explain a rejection (`log_size`).
    pub log_size: usize,
}

impl ProbeSite<'_> {
    /// The source position of the instruction the verifier stopped at, or
    /// the attach point when the log or the line info cannot tell.
    fn locate(&self, log: &str) -> (usize, usize) {
        let failing = log.lines().rev().find_map(|l| {
            let (index, rest) = l.split_once(": ")?;
            rest.starts_with('(')
                .then(|| index.trim().parse::<u32>().ok())
                .flatten()
        });
        failing
            .and_then(|insn| {
                self.lines
                    .iter()
                    .rev()
                    .find(|(at, line, _)| *at <= insn && *line > 0)
            })
            .map_or((self.line, self.column), |&(_, line, column)| {
                (line, column.max(1))
            })
    }
}

/// Silences libbpf's own stderr messages (which quote raw errnos); every
/// failure is reported through `BpfError` instead. Idempotent.
pub fn quiet_libbpf() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: installing no print callback is always valid; done once,
        // before any other libbpf call of ours.
        unsafe { libbpf_sys::libbpf_set_print(None) };
    });
}

/// A kernel object name: at most 15 bytes of `[A-Za-z0-9_.]`.
pub fn kernel_name(name: &str) -> CString {
    let clean: Vec<u8> = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
                b
            } else {
                b'_'
            }
        })
        .take(15)
        .collect();
    // The bytes are all non-zero ASCII, so this cannot fail.
    CString::new(clean).unwrap_or_default()
}

/// Creates a map and returns its fd.
pub fn create_map(
    name: &str,
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
) -> Result<OwnedFd, BpfError> {
    quiet_libbpf();
    let cname = kernel_name(name);
    let opts = libbpf_sys::bpf_map_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_create_opts>() as libbpf_sys::size_t,
        ..Default::default()
    };
    // SAFETY: `cname` and `opts` are valid for the duration of the call and
    // `opts.sz` is the size of the struct libbpf was built with.
    let fd = unsafe {
        libbpf_sys::bpf_map_create(
            map_type,
            cname.as_ptr(),
            key_size,
            value_size,
            max_entries,
            &opts,
        )
    };
    if fd < 0 {
        let errno = libbpf_errno(fd);
        if super::error::is_permission(errno) {
            return Err(BpfError::NotPermitted);
        }
        let hint = match errno {
            libc::ENOMEM | libc::E2BIG => {
                " The map is too large for this machine's memory; lower its size."
            }
            libc::EINVAL => " This kernel does not support this kind of map or these sizes.",
            _ => "",
        };
        return Err(BpfError::Map(format!(
            "could not create map {name} (type {map_type}, key {key_size} bytes, value {value_size} bytes, \
             {max_entries} entries): {}.{hint}",
            errno_text(errno)
        )));
    }
    // SAFETY: libbpf returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Loads a program from raw instructions (each one 8-byte `struct bpf_insn`
/// in native byte order) and returns its fd.
pub fn load_program(
    prog_type: u32,
    name: &str,
    insns: &[u64],
    site: &ProbeSite<'_>,
) -> Result<OwnedFd, BpfError> {
    load_program_with(prog_type, LoadTarget::default(), name, insns, site, None)
}

/// `load_program` with BTF function and line info (needed by programs
/// with callbacks).
pub fn load_program_with_btf(
    prog_type: u32,
    name: &str,
    insns: &[u64],
    site: &ProbeSite<'_>,
    btf: Option<&super::btf::ProgBtf<'_>>,
) -> Result<OwnedFd, BpfError> {
    load_program_with(prog_type, LoadTarget::default(), name, insns, site, btf)
}

/// `load_program` for a program that names its attach target at load time
/// (fentry, iter), with BTF function and line info when it has callbacks.
pub fn load_program_with(
    prog_type: u32,
    target: LoadTarget,
    name: &str,
    insns: &[u64],
    site: &ProbeSite<'_>,
    btf: Option<&super::btf::ProgBtf<'_>>,
) -> Result<OwnedFd, BpfError> {
    quiet_libbpf();
    if insns.is_empty() {
        return Err(BpfError::Object(format!(
            "internal error: probe {} has no instructions.",
            site.probe
        )));
    }
    let license = std::ffi::CString::new(site.license).unwrap_or_else(|_| c"GPL".to_owned());
    let small = SMALL_LOG.min(site.log_size.max(1));
    match try_load(prog_type, target, name, insns, 0, small, btf, &license) {
        Ok(fd) => Ok(fd),
        Err((errno, first_log)) => {
            if errno == libc::EPERM && first_log.trim().is_empty() {
                return Err(BpfError::NotPermitted);
            }
            // Retry once to capture the complete verifier log.
            let (errno, log) = match try_load(
                prog_type,
                target,
                name,
                insns,
                1,
                site.log_size.max(1),
                btf,
                &license,
            ) {
                Ok(fd) => return Ok(fd),
                Err(failure) => failure,
            };
            let tail = log_tail(&log);
            if !tail.is_empty() {
                let (line, column) = site.locate(&log);
                return Err(BpfError::Verifier {
                    probe: site.probe.to_string(),
                    line,
                    column,
                    log_tail: tail,
                });
            }
            if super::error::is_permission(errno) {
                return Err(BpfError::NotPermitted);
            }
            let reason = match errno {
                libc::E2BIG => "the program is too large for this kernel; split the probe's work or simplify it.".to_string(),
                libc::EINVAL => format!(
                    "this kernel does not accept this kind of program ({}); it may lack the needed BPF support.",
                    errno_text(errno)
                ),
                _ => format!("{}; check that BPF is enabled in this kernel.", errno_text(errno)),
            };
            Err(BpfError::Load {
                probe: site.probe.to_string(),
                reason,
            })
        }
    }
}

/// One bpf_prog_load attempt; on failure the errno and the log text.
#[allow(clippy::too_many_arguments)]
fn try_load(
    prog_type: u32,
    target: LoadTarget,
    name: &str,
    insns: &[u64],
    log_level: u32,
    log_size: usize,
    btf: Option<&super::btf::ProgBtf<'_>>,
    license: &std::ffi::CStr,
) -> Result<OwnedFd, (i32, String)> {
    let cname = kernel_name(name);
    let mut log = vec![0u8; log_size];
    let mut opts = libbpf_sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as libbpf_sys::size_t,
        log_level,
        log_size: u32::try_from(log_size).unwrap_or(u32::MAX),
        log_buf: log.as_mut_ptr().cast(),
        expected_attach_type: target.expected_attach_type,
        attach_btf_id: target.attach_btf_id,
        ..Default::default()
    };
    if let Some(b) = btf {
        opts.prog_btf_fd = u32::try_from(b.btf_fd).unwrap_or(0);
        opts.func_info = b.func_info.as_ptr().cast();
        opts.func_info_cnt = u32::try_from(b.func_info.len()).unwrap_or(0);
        opts.func_info_rec_size = std::mem::size_of::<aya_obj::generated::bpf_func_info>() as u32;
        opts.line_info = b.line_info.as_ptr().cast();
        opts.line_info_cnt = u32::try_from(b.line_info.len()).unwrap_or(0);
        opts.line_info_rec_size = std::mem::size_of::<aya_obj::generated::bpf_line_info>() as u32;
    }
    // SAFETY: `insns` is a live slice of 8-byte instructions with the layout
    // of `struct bpf_insn` (u64 alignment exceeds its 4-byte alignment); the
    // name, license and log buffer outlive the call, and `log_size` is the
    // buffer's real length.
    let fd = unsafe {
        libbpf_sys::bpf_prog_load(
            prog_type,
            cname.as_ptr(),
            license.as_ptr(),
            insns.as_ptr().cast::<libbpf_sys::bpf_insn>(),
            insns.len() as libbpf_sys::size_t,
            &mut opts,
        )
    };
    if fd >= 0 {
        // SAFETY: libbpf returned a fresh fd that nothing else owns.
        return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    let errno = libbpf_errno(fd);
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    Err((errno, String::from_utf8_lossy(&log[..end]).into_owned()))
}

/// The last meaningful lines of a verifier log (statistics lines dropped).
pub fn log_tail(log: &str) -> Vec<String> {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            !(l.starts_with("processed ")
                || l.starts_with("verification time")
                || l.starts_with("stack depth")
                || l.starts_with("-- END PROG LOAD LOG --"))
        })
        .collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[start..].iter().map(|l| l.to_string()).collect()
}

/// An aya-obj instruction as the kernel's 8-byte word.
pub fn insn_word(insn: &aya_obj::generated::bpf_insn) -> u64 {
    // SAFETY: `bpf_insn` is a `repr(C)` 8-byte struct without padding
    // (u8, u8 bitfield, i16, i32), so all of its bytes are initialised and
    // any 8 bytes are a valid u64; the sizes are checked by `transmute`.
    unsafe { std::mem::transmute::<aya_obj::generated::bpf_insn, u64>(*insn) }
}

/// Runs a loaded program once with BPF_PROG_TEST_RUN and a zeroed context
/// of `ctx_len` bytes (none when 0). Returns the errno on failure.
pub fn test_run(prog_fd: std::os::fd::BorrowedFd<'_>, ctx_len: usize) -> Result<u32, i32> {
    use std::os::fd::AsRawFd;
    let ctx = vec![0u8; ctx_len];
    let mut opts = libbpf_sys::bpf_test_run_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_test_run_opts>() as libbpf_sys::size_t,
        ..Default::default()
    };
    if ctx_len > 0 {
        opts.ctx_in = ctx.as_ptr().cast();
        opts.ctx_size_in = u32::try_from(ctx_len).unwrap_or(u32::MAX);
    }
    // SAFETY: the fd is a live program fd, and `ctx` outlives the call with
    // `ctx_size_in` its true length.
    let ret = unsafe { libbpf_sys::bpf_prog_test_run_opts(prog_fd.as_raw_fd(), &mut opts) };
    if ret < 0 {
        Err(libbpf_errno(ret))
    } else {
        Ok(opts.retval)
    }
}

/// Loads hand-assembled instructions (tests bypass aya-obj with this).
#[cfg(test)]
pub(crate) fn load_raw_program(prog_type: u32, insns: &[u64]) -> Result<OwnedFd, BpfError> {
    load_program(
        prog_type,
        "test",
        insns,
        &ProbeSite {
            probe: "test",
            line: 1,
            column: 1,
            lines: &[],
            license: "GPL",
            log_size: DEFAULT_LOG,
        },
    )
}
