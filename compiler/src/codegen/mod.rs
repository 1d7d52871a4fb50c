//! Stage 3: typed IR → LLVM IR → BPF ELF + manifest. Placeholder.
use crate::ir::Program;
use crate::manifest::Artifact;

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("internal code generation error: {0}")]
    Llvm(String),
}

/// Generates the BPF object and manifest for a checked program.
pub fn generate(_program: &Program) -> Result<Artifact, CodegenError> {
    Err(CodegenError::Llvm("not yet written".into()))
}
