//! The runtime's implementation of the compiler's `KernelInfo` trait.
//!
//! `SystemKernel` answers the compiler's questions about the running kernel
//! by reading tracefs: a tracepoint's record layout comes from
//! `<tracefs>/events/CAT/NAME/format`, parsed by the compiler's own
//! `TracepointFormat::parse` so that fixtures and the real kernel agree.
//! User-space binaries, symbols and USDT notes come from `elf_symbols` and
//! `usdt`.
//! The number of possible CPUs comes from libbpf
//! (`/sys/devices/system/cpu/possible`); struct member offsets from the
//! kernel's BTF; the pid namespace from `/proc/self/ns/pid`; cgroup ids
//! from `cgroups`.

use ferrotrace_compiler::kernel::{KernelInfo, TracepointFormat};
use ferrotrace_compiler::user_space::{UsdtProbe, UserObject, UserSymbol};

use crate::tracefs;

/// The running kernel, asked through tracefs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemKernel;

impl KernelInfo for SystemKernel {
    fn tracepoint_format(
        &self,
        category: &str,
        name: &str,
    ) -> Result<Option<TracepointFormat>, String> {
        let Some(dir) = tracefs::tracepoint_dir(category, name).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let path = dir.join("format");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(TracepointFormat::parse(&text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!(
                "could not read the format of tracepoint {category}:{name} from {} ({e}); \
                 run ferrotrace as root so it can read tracefs.",
                path.display()
            )),
        }
    }

    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        tracefs::tracepoints().map_err(|e| e.to_string())
    }

    fn function_params(&self, name: &str) -> Result<Option<Vec<String>>, String> {
        Ok(crate::btf::Btf::vmlinux()?.function_params(name))
    }

    fn kernel_functions(&self) -> Result<Vec<String>, String> {
        Ok(crate::btf::Btf::vmlinux()?.functions())
    }

    fn raw_tracepoints(&self) -> Result<Vec<String>, String> {
        Ok(crate::btf::Btf::vmlinux()?.raw_tracepoints())
    }

    fn raw_tracepoint_arg_count(&self, name: &str) -> Result<Option<u32>, String> {
        // Without BTF the kernel still checks the arguments at attach time.
        Ok(crate::btf::Btf::vmlinux()
            .ok()
            .and_then(|btf| btf.raw_tracepoint_arg_count(name)))
    }

    fn c_record(&self, key: &str) -> Result<Option<ferrotrace_compiler::ctypes::CRecord>, String> {
        Ok(crate::btf::Btf::vmlinux()?.record(key))
    }

    fn enum_constant(&self, name: &str) -> Option<i64> {
        crate::btf::Btf::vmlinux().ok()?.enum_value(name)
    }

    fn c_record_names(&self) -> Result<Vec<String>, String> {
        Ok(crate::btf::Btf::vmlinux()?.record_names())
    }

    fn raw_tracepoint_args(
        &self,
        name: &str,
    ) -> Result<Option<Vec<(String, ferrotrace_compiler::ctypes::CType)>>, String> {
        // Without BTF the arguments stay untyped `u64`s.
        Ok(crate::btf::Btf::vmlinux()
            .ok()
            .and_then(|btf| btf.raw_tracepoint_args(name)))
    }

    fn function_param_types(
        &self,
        name: &str,
    ) -> Result<Option<Vec<(String, ferrotrace_compiler::ctypes::CType)>>, String> {
        Ok(crate::btf::Btf::vmlinux()
            .ok()
            .and_then(|btf| btf.function_param_types(name)))
    }

    fn user_binary(&self, name: &str, pid: Option<u32>) -> Result<Option<String>, String> {
        crate::elf_symbols::resolve_binary(name, pid)
    }

    fn user_object(&self, path: &str) -> Result<UserObject, String> {
        crate::elf_symbols::read_object(path)
    }

    fn usdt_probes(&self, path: &str) -> Result<Vec<UsdtProbe>, String> {
        crate::usdt::read_probes(path)
    }

    fn linked_libraries(&self, path: &str) -> Result<Vec<String>, String> {
        crate::elf_symbols::linked_libraries(path)
    }

    fn process_objects(&self, pid: u32) -> Result<Vec<String>, String> {
        crate::elf_symbols::process_objects(pid)
    }

    fn possible_cpus(&self) -> u32 {
        crate::bpf::maps::possible_cpus()
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1)
    }

    fn kernel_symbol_address(&self, name: &str) -> Result<Option<u64>, String> {
        let text = std::fs::read_to_string("/proc/kallsyms")
            .map_err(|e| format!("could not read /proc/kallsyms ({e}); run ferrotrace as root"))?;
        match ferrotrace_compiler::kernel::kallsyms_lookup(&text, name) {
            Some(0) => Err(
                "/proc/kallsyms hides addresses from this user (kptr_restrict); run ferrotrace as root"
                    .to_string(),
            ),
            found => Ok(found),
        }
    }

    fn field_offset(&self, strct: &str, field: &str) -> Result<Option<u32>, String> {
        Ok(crate::btf::Btf::vmlinux()?.field_offset(strct, field))
    }

    fn pid_namespace(&self) -> Option<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        // The inode of the initial pid namespace (`PROC_PID_INIT_INO`).
        const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;
        let ns = std::fs::metadata("/proc/self/ns/pid").ok()?;
        (ns.ino() != PROC_PID_INIT_INO).then(|| (ns.dev(), ns.ino()))
    }

    fn cgroup_id(&self, path: &str) -> Result<Option<u64>, String> {
        crate::cgroups::cgroup_id(path)
    }

    fn user_symbol(&self, path: &str, name: &str) -> Result<Option<UserSymbol>, String> {
        crate::user_data::find_symbol(path, name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_real_tracepoint_formats() {
        if let Err(e) = tracefs::tracefs_root() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{e}");
            eprintln!("skipping: {e}");
            return;
        }
        let format = SystemKernel
            .tracepoint_format("syscalls", "sys_enter_openat")
            .unwrap()
            .unwrap();
        let filename = format.fields.iter().find(|f| f.name == "filename").unwrap();
        assert_eq!(filename.size, 8);
        assert!(format.fields.iter().all(|f| !f.name.starts_with("common_")));
        assert_eq!(
            SystemKernel.tracepoint_format("syscalls", "nope").unwrap(),
            None
        );
        assert_eq!(
            SystemKernel.tracepoint_format("nope", "nope").unwrap(),
            None
        );
    }
}

/// Whether the running kernel's verifier takes BPF CPU v4 instructions
/// (Linux 6.6 and later), from `/proc/sys/kernel/osrelease`. When the
/// release cannot be read or parsed, v3 is the safe answer.
pub fn supports_cpu_v4() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .and_then(|r| release_at_least(&r, (6, 6)))
        .unwrap_or(false)
}

/// Compares a release such as `6.18.44-generic` with `(major, minor)`.
fn release_at_least(release: &str, want: (u32, u32)) -> Option<bool> {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse::<u32>().ok()?;
    let minor = parts.next()?.parse::<u32>().ok()?;
    Some((major, minor) >= want)
}

#[cfg(test)]
mod release_tests {
    use super::release_at_least;

    #[test]
    fn compares_major_and_minor() {
        assert_eq!(release_at_least("6.18.44\n", (6, 6)), Some(true));
        assert_eq!(release_at_least("6.6.0-rc1", (6, 6)), Some(true));
        assert_eq!(release_at_least("6.5.13-amd64", (6, 6)), Some(false));
        assert_eq!(release_at_least("5.19.0", (6, 6)), Some(false));
        assert_eq!(release_at_least("garbage", (6, 6)), None);
    }
}
