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

    fn kernel_symbol_address(&self, name: &str) -> Result<Option<u64>, String> {
        let text = std::fs::read_to_string(self.root.join("kallsyms"))
            .map_err(|e| format!("the fixture kallsyms is missing: {e}"))?;
        Ok(ferrotrace_compiler::kernel::kallsyms_lookup(&text, name))
    }
}
