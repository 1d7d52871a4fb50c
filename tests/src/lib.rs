//! Shared support for ferrotrace's tests: the fixture kernel, the stage
//! helpers every snapshot test calls, and the ELF summary printer.

pub mod elf_summary;
pub mod fixture_kernel;
pub mod harness;
pub mod stages;
pub mod user_programs;
