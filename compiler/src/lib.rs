//! The ferrotrace compiler: script text → AST → typed IR → BPF ELF + manifest.
//!
//! Each stage is a module with one entry point taking the previous stage's
//! output: `syntax::parse`, `sema::analyze`, `codegen::generate`. The
//! compiler makes no system calls about the kernel; kernel facts come through
//! the `kernel::KernelInfo` trait. `compile` chains the stages.

pub mod codegen;
pub mod ctypes;
pub mod diagnostics;
pub mod ir;
pub mod kernel;
pub mod kfuncs;
pub mod manifest;
pub mod sema;
pub mod source;
pub mod syntax;
pub mod user_space;

pub use diagnostics::{Diagnostic, Severity};
pub use kernel::KernelInfo;
pub use manifest::{Artifact, Manifest};
pub use source::{SourceFile, Span};
