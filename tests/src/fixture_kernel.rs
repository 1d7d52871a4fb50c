//! A `KernelInfo` over fixture files, so compiler tests need neither root
//! nor a particular kernel. Tracepoint formats are real tracefs `format`
//! files stored under `tests/fixtures/kernel/tracepoints/CAT/NAME/format`
//! and parsed by the same function the runtime uses.

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
        let text = std::fs::read_to_string(self.root.join("functions")).unwrap_or_default();
        Ok(text.lines().find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(name)).then(|| words.map(String::from).collect())
        }))
    }

    /// The functions named in `fixtures/kernel/functions`.
    fn kernel_functions(&self) -> Result<Vec<String>, String> {
        let text = std::fs::read_to_string(self.root.join("functions")).unwrap_or_default();
        Ok(text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(String::from)
            .collect())
    }

    /// The names in `fixtures/kernel/raw_tracepoints`.
    fn raw_tracepoints(&self) -> Result<Vec<String>, String> {
        let text = std::fs::read_to_string(self.root.join("raw_tracepoints")).unwrap_or_default();
        Ok(text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(String::from)
            .collect())
    }

    /// From `fixtures/kernel/raw_tracepoints`: lines of `NAME ARG_COUNT`.
    fn raw_tracepoint_arg_count(&self, name: &str) -> Result<Option<u32>, String> {
        let text = std::fs::read_to_string(self.root.join("raw_tracepoints")).unwrap_or_default();
        Ok(text.lines().find_map(|l| {
            let (n, count) = l.split_once(' ')?;
            (n == name).then(|| count.trim().parse().ok()).flatten()
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
}
