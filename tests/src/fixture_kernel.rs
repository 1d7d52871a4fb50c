//! A `KernelInfo` over fixture files, so compiler tests need neither root
//! nor a particular kernel. Tracepoint formats are real tracefs `format`
//! files stored under `tests/fixtures/kernel/tracepoints/CAT/NAME/format`
//! and parsed by the same function the runtime uses; kernel symbols come
//! from `tests/fixtures/kernel/kallsyms`, a few lines of a real one.

use ferrotrace_compiler::kernel::{KernelInfo, TracepointFormat};
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
}
