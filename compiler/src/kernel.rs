//! What the compiler needs to know about the kernel, asked through a trait.
//!
//! The compiler never opens a kernel file: the runtime implements
//! `KernelInfo` over tracefs and BTF, and tests implement it over fixtures.
//! This module also holds the pure parser of tracefs `format` files, so the
//! real implementation and the fixtures share it.

use crate::user_space::{UsdtProbe, UserObject, UserSymbol};

/// One field of a tracepoint record as its tracefs format describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracepointField {
    pub name: String,
    /// The C declaration without the name, e.g. `const char *`, `char[16]`, `int`.
    pub c_type: String,
    pub offset: u32,
    pub size: u32,
    pub signed: bool,
    /// For `char name[N]`: N.
    pub array_len: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TracepointFormat {
    /// The tracepoint's own fields (the `common_*` header fields are dropped,
    /// as bpftrace does).
    pub fields: Vec<TracepointField>,
}

/// Kernel facts the compiler asks for.
pub trait KernelInfo {
    /// The format of `category:name`, or `None` when no such tracepoint exists.
    /// An `Err` is a reason the kernel could not be asked at all (shown to the user).
    fn tracepoint_format(
        &self,
        category: &str,
        name: &str,
    ) -> Result<Option<TracepointFormat>, String>;

    /// Every tracepoint of the kernel as `(category, name)`, for wildcard
    /// attach points and raw tracepoints. An `Err` is a reason the kernel
    /// could not be asked (shown to the user).
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }

    /// The parameter names of the kernel function `name` (from BTF), or
    /// `None` when it is unknown. fentry/fexit read them as `args.NAME`,
    /// and fexit's `retval` follows them in the program's context.
    fn function_params(&self, name: &str) -> Result<Option<Vec<String>>, String> {
        let _ = name;
        Ok(None)
    }

    /// The kernel functions that can be probed by name, for kprobe and
    /// fentry patterns (the real kernel answers from BTF).
    fn kernel_functions(&self) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }

    /// Every raw tracepoint's name. By default, the tracefs tracepoints
    /// outside `syscalls` (whose raw ones are `raw_syscalls:sys_enter` and
    /// `sys_exit`); the real kernel answers from BTF, which also knows the
    /// tracepoints that have no tracefs event.
    fn raw_tracepoints(&self) -> Result<Vec<String>, String> {
        let mut names: Vec<String> = self
            .tracepoints()?
            .into_iter()
            .filter(|(c, _)| c != "syscalls")
            .map(|(_, n)| n)
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// How many arguments the raw tracepoint `name` passes (from BTF), or
    /// `None` when unknown (then `arg0`..`arg11` are all accepted and the
    /// kernel checks at attach time).
    fn raw_tracepoint_arg_count(&self, name: &str) -> Result<Option<u32>, String> {
        let _ = name;
        Ok(None)
    }

    /// Resolves the binary part of a uprobe or USDT attach point: a path,
    /// or a library's short name (`libc`) looked up as the dynamic linker
    /// does (in the libraries mapped by `pid` first, when given). Returns
    /// the absolute path, or `None` when nothing matches.
    fn user_binary(&self, _name: &str, _pid: Option<u32>) -> Result<Option<String>, String> {
        Err("this ferrotrace build cannot read user-space binaries".to_string())
    }

    /// The function symbols and loadable segments of the ELF file at `path`.
    fn user_object(&self, _path: &str) -> Result<UserObject, String> {
        Err("this ferrotrace build cannot read user-space binaries".to_string())
    }

    /// The USDT probes declared in the `.note.stapsdt` section of `path`.
    fn usdt_probes(&self, _path: &str) -> Result<Vec<UsdtProbe>, String> {
        Err("this ferrotrace build cannot read USDT notes".to_string())
    }

    /// The shared libraries the ELF file at `path` links, as absolute paths
    /// (its `DT_NEEDED` entries found as the dynamic linker finds them).
    fn linked_libraries(&self, _path: &str) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }

    /// The ELF files mapped executable by process `pid` (for `usdt:*` with `-p`).
    fn process_objects(&self, _pid: u32) -> Result<Vec<String>, String> {
        Err("this ferrotrace build cannot read process memory maps".to_string())
    }

    /// The struct or union `key` (a name, or `#ID` for an anonymous kernel
    /// type a field refers to), from BTF; `None` when unknown.
    fn c_record(&self, key: &str) -> Result<Option<crate::ctypes::CRecord>, String> {
        let _ = key;
        Ok(None)
    }

    /// The value of the kernel enum constant `name` (e.g. `BPF_MAP_TYPE_HASH`),
    /// from BTF; `None` when no kernel enum has it.
    fn enum_constant(&self, name: &str) -> Option<i64> {
        let _ = name;
        None
    }

    /// Every struct and union name (for "did you mean" help).
    fn c_record_names(&self) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }

    /// The named, typed arguments of the raw tracepoint `name` (from its
    /// `btf_trace_NAME` typedef), or `None` when unknown.
    fn raw_tracepoint_args(
        &self,
        name: &str,
    ) -> Result<Option<Vec<(String, crate::ctypes::CType)>>, String> {
        let _ = name;
        Ok(None)
    }

    /// The named, typed parameters of the kernel function `name` (fentry's
    /// `args.NAME`), or `None` when unknown.
    fn function_param_types(
        &self,
        name: &str,
    ) -> Result<Option<Vec<(String, crate::ctypes::CType)>>, String> {
        let _ = name;
        Ok(None)
    }

    /// The number of possible CPUs (the `ncpus` builtin); 1 when unknown.
    fn possible_cpus(&self) -> u32 {
        1
    }
    /// The address of kernel symbol `name` (for `kaddr`), or `None` when the
    /// kernel has no such symbol. An `Err` says why the symbol table could
    /// not be read.
    fn kernel_symbol_address(&self, name: &str) -> Result<Option<u64>, String> {
        let _ = name;
        Err("this build cannot look up kernel symbols".to_string())
    }

    /// The byte offset of member `field` in kernel struct `strct` (from
    /// BTF, looking through anonymous members), or `None` when the struct
    /// or the member is unknown (`ppid`, `pcomm` read `task_struct`).
    fn field_offset(&self, strct: &str, field: &str) -> Result<Option<u32>, String> {
        let _ = (strct, field);
        Err("this build cannot read the kernel's type information".to_string())
    }

    /// The device and inode of ferrotrace's own pid namespace when it is
    /// not the initial one (then `pid` and `tid` are read as seen from it),
    /// or `None` in the initial namespace.
    fn pid_namespace(&self) -> Option<(u64, u64)> {
        None
    }

    /// The id of the cgroup (v2) directory at `path` (`cgroupid()`), or
    /// `None` when there is no such cgroup. An `Err` says why it could not
    /// be looked up.
    fn cgroup_id(&self, path: &str) -> Result<Option<u64>, String> {
        let _ = path;
        Err("this build cannot look up cgroups".to_string())
    }

    /// Any defined symbol `name` of the ELF file at `path`, data objects
    /// included (`uaddr()`), or `None` when it has none of that name.
    fn user_symbol(&self, path: &str, name: &str) -> Result<Option<UserSymbol>, String> {
        let _ = (path, name);
        Err("this ferrotrace build cannot read user-space binaries".to_string())
    }
}

/// Finds `name` in the text of `/proc/kallsyms` (`ADDR TYPE NAME [MODULE]`
/// lines) and returns its address; the first match wins, as in the kernel.
pub fn kallsyms_lookup(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        let addr = parts.next()?;
        let _kind = parts.next()?;
        (parts.next()? == name)
            .then(|| u64::from_str_radix(addr, 16).ok())
            .flatten()
    })
}

/// Whether `text` matches the attach-point pattern `pattern`, where `*`
/// matches any run of characters and `?` any single character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen and the text position it currently absorbs up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether an attach-point part is a pattern rather than a name.
pub fn is_pattern(part: &str) -> bool {
    part.contains(['*', '?'])
}

impl TracepointFormat {
    /// Parses the text of `/sys/kernel/tracing/events/CAT/NAME/format`.
    /// Lines look like
    /// `\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;`.
    pub fn parse(text: &str) -> TracepointFormat {
        let fields = text
            .lines()
            .filter_map(|line| {
                let mut decl = None;
                let (mut offset, mut size, mut signed) = (None, None, false);
                for part in line.trim().split(';') {
                    let part = part.trim();
                    if let Some(d) = part.strip_prefix("field:") {
                        decl = Some(d.trim());
                    } else if let Some(v) = part.strip_prefix("offset:") {
                        offset = v.trim().parse().ok();
                    } else if let Some(v) = part.strip_prefix("size:") {
                        size = v.trim().parse().ok();
                    } else if let Some(v) = part.strip_prefix("signed:") {
                        signed = v.trim() == "1";
                    }
                }
                let (c_type, name, array_len) = split_declaration(decl?)?;
                if name.starts_with("common_") {
                    return None;
                }
                Some(TracepointField {
                    name,
                    c_type,
                    offset: offset?,
                    size: size?,
                    signed,
                    array_len,
                })
            })
            .collect();
        TracepointFormat { fields }
    }
}

/// Splits `const char * filename` into (`const char *`, `filename`, None) and
/// `char comm[16]` into (`char[16]`, `comm`, Some(16)). `__data_loc` fields
/// keep their full type text.
fn split_declaration(decl: &str) -> Option<(String, String, Option<u32>)> {
    let decl = decl.trim();
    // An array suffix belongs to the name only when the declaration ends
    // with it (`char comm[16]`); `__data_loc char[] name` keeps it in the type.
    let (decl, array_len) = match decl
        .strip_suffix(']')
        .and_then(|d| d.rfind('[').map(|open| (d, open)))
    {
        Some((d, open)) => (&d[..open], Some(d[open + 1..].trim().parse().unwrap_or(0))),
        None => (decl, None),
    };
    let decl = decl.trim_end();
    let name_start = decl
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let name = decl[name_start..].to_string();
    let mut c_type = decl[..name_start].trim().to_string();
    if name.is_empty() || c_type.is_empty() {
        return None;
    }
    if let Some(n) = array_len {
        c_type = format!("{c_type}[{n}]");
    }
    Some((c_type, name, array_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAT: &str = "name: sys_enter_openat
ID: 640
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:char comm[16];\toffset:40;\tsize:16;\tsigned:0;
\tfield:__data_loc char[] path;\toffset:56;\tsize:4;\tsigned:0;
";

    #[test]
    fn globs_match() {
        assert!(glob_match("sys_enter_*", "sys_enter_openat"));
        assert!(glob_match("*open*", "sys_enter_openat"));
        assert!(glob_match("sched_?witch", "sched_switch"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("sys_exit_*", "sys_enter_openat"));
        assert!(!glob_match("open", "openat"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
    }

    #[test]
    fn parses_fields() {
        let f = TracepointFormat::parse(OPENAT);
        let names: Vec<_> = f.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["__syscall_nr", "dfd", "filename", "comm", "path"]);
        assert_eq!(f.fields[4].c_type, "__data_loc char[]");
        assert_eq!(f.fields[4].array_len, None);
        assert_eq!(f.fields[2].c_type, "const char *");
        assert_eq!(f.fields[2].offset, 24);
        assert_eq!(f.fields[3].c_type, "char[16]");
        assert_eq!(f.fields[3].array_len, Some(16));
        assert!(f.fields[0].signed);
    }
}
