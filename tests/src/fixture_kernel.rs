//! A `KernelInfo` over fixture files, so compiler tests need neither root
//! nor a particular kernel. Tracepoint formats are real tracefs `format`
//! files stored under `tests/fixtures/kernel/tracepoints/CAT/NAME/format`
//! and parsed by the same function the runtime uses; kernel symbols come
//! from `tests/fixtures/kernel/kallsyms`, a few lines of a real one; C
//! types (structs, raw tracepoint and function argument types) from
//! `tests/fixtures/kernel/types.h`, parsed by the compiler's C parser.
//! User-space binaries named `/fixtures/user/demo`, `/fixtures/user/cppdemo`
//! and `/fixtures/user/libdemolib.so` (short name `libdemolib`) are the test
//! programs of `user_programs`, built with gcc and read by the runtime's own
//! ELF and USDT readers; scripts and snapshots see only those stable names.
//! Other binaries are read from the machine itself, for the documentation's
//! one-liners.

use crate::user_programs::user_programs;
use ferrotrace_compiler::ctypes::{parse_c_records, CRecord, CType};
use ferrotrace_compiler::kernel::{KernelInfo, TracepointFormat};
use ferrotrace_compiler::user_space::{UsdtProbe, UserObject, UserSymbol};
use std::collections::HashMap;
use std::path::PathBuf;

pub struct FixtureKernel {
    root: PathBuf,
}

impl FixtureKernel {
    pub fn new() -> FixtureKernel {
        FixtureKernel {
            root: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/kernel"),
        }
    }
}

impl FixtureKernel {
    /// The whitespace-separated words of each line of a fixture table.
    fn table(&self, file: &str) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.root.join(file))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split_whitespace().map(String::from).collect())
            .collect()
    }

    /// The records of `types.h`.
    fn types(&self) -> Result<HashMap<String, CRecord>, String> {
        let text = std::fs::read_to_string(self.root.join("types.h"))
            .map_err(|e| format!("the fixture types.h is missing: {e}"))?;
        parse_c_records(&text).map_err(|(at, e)| format!("fixture types.h at byte {at}: {e}"))
    }

    /// The first word of each line of a fixture table.
    fn first_words(&self, file: &str) -> Vec<String> {
        self.table(file)
            .into_iter()
            .filter_map(|words| words.into_iter().next())
            .collect()
    }
}

impl Default for FixtureKernel {
    fn default() -> FixtureKernel {
        FixtureKernel::new()
    }
}

impl KernelInfo for FixtureKernel {
    fn tracepoint_format(
        &self,
        category: &str,
        name: &str,
    ) -> Result<Option<TracepointFormat>, String> {
        let path = self
            .root
            .join("tracepoints")
            .join(category)
            .join(name)
            .join("format");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(TracepointFormat::parse(&text))),
            Err(_) => Ok(None),
        }
    }

    /// From `fixtures/kernel/functions`: lines of `NAME PARAM...`, as the
    /// kernel's BTF describes the function.
    fn function_params(&self, name: &str) -> Result<Option<Vec<String>>, String> {
        Ok(self.table("functions").into_iter().find_map(|mut words| {
            (words.first().map(String::as_str) == Some(name)).then(|| words.split_off(1))
        }))
    }

    /// The functions named in `fixtures/kernel/functions`.
    fn kernel_functions(&self) -> Result<Vec<String>, String> {
        Ok(self.first_words("functions"))
    }

    /// The names in `fixtures/kernel/raw_tracepoints`.
    fn raw_tracepoints(&self) -> Result<Vec<String>, String> {
        Ok(self.first_words("raw_tracepoints"))
    }

    /// From `fixtures/kernel/raw_tracepoints`: lines of `NAME ARG_COUNT`.
    fn raw_tracepoint_arg_count(&self, name: &str) -> Result<Option<u32>, String> {
        Ok(self
            .table("raw_tracepoints")
            .into_iter()
            .find_map(|words| match words.as_slice() {
                [n, count] if n == name => count.parse().ok(),
                _ => None,
            }))
    }

    /// The enum constants of `fixtures/kernel/types.h`.
    fn enum_constant(&self, name: &str) -> Option<i64> {
        let text = std::fs::read_to_string(self.root.join("types.h")).ok()?;
        let defs = ferrotrace_compiler::ctypes::parse_c_definitions(&text).ok()?;
        defs.constants.get(name).copied()
    }

    /// From `fixtures/kernel/types.h`, read with the compiler's C parser.
    fn c_record(&self, key: &str) -> Result<Option<CRecord>, String> {
        Ok(self.types()?.remove(key))
    }

    fn c_record_names(&self) -> Result<Vec<String>, String> {
        Ok(self.types()?.into_keys().collect())
    }

    /// The fields of the `btf_trace_NAME` record of `fixtures/kernel/types.h`.
    fn raw_tracepoint_args(&self, name: &str) -> Result<Option<Vec<(String, CType)>>, String> {
        Ok(self
            .types()?
            .remove(&format!("btf_trace_{name}"))
            .map(|r| r.fields.into_iter().map(|f| (f.name, f.ty)).collect()))
    }

    /// The fields of the `fn_NAME` record of `fixtures/kernel/types.h`.
    fn function_param_types(&self, name: &str) -> Result<Option<Vec<(String, CType)>>, String> {
        Ok(self
            .types()?
            .remove(&format!("fn_{name}"))
            .map(|r| r.fields.into_iter().map(|f| (f.name, f.ty)).collect()))
    }

    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        let dirs = |path: &std::path::Path| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect();
            names.sort();
            names
        };
        let root = self.root.join("tracepoints");
        Ok(dirs(&root)
            .into_iter()
            .flat_map(|c| {
                dirs(&root.join(&c))
                    .into_iter()
                    .map(move |n| (c.clone(), n))
            })
            .collect())
    }

    fn kernel_symbol_address(&self, name: &str) -> Result<Option<u64>, String> {
        let text = std::fs::read_to_string(self.root.join("kallsyms"))
            .map_err(|e| format!("the fixture kallsyms is missing: {e}"))?;
        Ok(ferrotrace_compiler::kernel::kallsyms_lookup(&text, name))
    }

    fn user_binary(&self, name: &str, _pid: Option<u32>) -> Result<Option<String>, String> {
        Ok(match name {
            "/fixtures/user/demo" | "/fixtures/user/cppdemo" => Some(name.to_string()),
            "/fixtures/user/libdemolib.so" | "libdemolib" => {
                Some("/fixtures/user/libdemolib.so".to_string())
            }
            _ if name.starts_with("/fixtures/") => None,
            // Other binaries are the machine's own (the hook guide's
            // one-liners name /bin/bash and python3.11).
            _ => return ferrotrace_runtime::elf_symbols::resolve_binary(name, None),
        })
    }

    fn user_object(&self, path: &str) -> Result<UserObject, String> {
        ferrotrace_runtime::elf_symbols::read_object(&real_path(path)?)
    }

    fn linked_libraries(&self, path: &str) -> Result<Vec<String>, String> {
        Ok(match path {
            "/fixtures/user/demo" => vec!["/fixtures/user/libdemolib.so".to_string()],
            _ => Vec::new(),
        })
    }

    fn usdt_probes(&self, path: &str) -> Result<Vec<UsdtProbe>, String> {
        ferrotrace_runtime::usdt::read_probes(&real_path(path)?)
    }

    /// The `task_struct` members `ppid`, `pcomm` and `leader_*` read, at
    /// this machine's offsets (Linux 6.18).
    fn field_offset(&self, strct: &str, field: &str) -> Result<Option<u32>, String> {
        Ok(match (strct, field) {
            ("task_struct", "pid") => Some(1264),
            ("task_struct", "tgid") => Some(1268),
            ("task_struct", "real_parent") => Some(1280),
            ("task_struct", "group_leader") => Some(1328),
            ("task_struct", "comm") => Some(1752),
            _ => None,
        })
    }

    /// Two cgroups: the cgroup2 root and one below it.
    fn cgroup_id(&self, path: &str) -> Result<Option<u64>, String> {
        Ok(match path {
            "/sys/fs/cgroup/unified" => Some(1),
            "/sys/fs/cgroup/unified/system.slice" => Some(42),
            _ => None,
        })
    }

    fn user_symbol(&self, path: &str, name: &str) -> Result<Option<UserSymbol>, String> {
        ferrotrace_runtime::user_data::find_symbol(&real_path(path)?, name)
    }
}

/// The built file behind a fixture binary name.
fn real_path(path: &str) -> Result<String, String> {
    let programs = user_programs();
    match path {
        "/fixtures/user/demo" => Ok(programs.demo_str().to_string()),
        "/fixtures/user/libdemolib.so" => Ok(programs.lib_str().to_string()),
        "/fixtures/user/cppdemo" => Ok(programs.cpp_str().to_string()),
        _ if path.starts_with("/fixtures/") => Err(format!("{path} is not a fixture binary")),
        _ => Ok(path.to_string()),
    }
}
