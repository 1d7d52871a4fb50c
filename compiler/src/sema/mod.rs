//! Stage 2: AST → typed IR. Placeholder.
use crate::diagnostics::Diagnostic;
use crate::ir::Program;
use crate::kernel::KernelInfo;
use crate::syntax::ast::Script;

/// Checks a script and produces its typed IR. When any diagnostic is an
/// error the program must not be passed on to code generation.
pub fn analyze(_script: &Script, _kernel: &dyn KernelInfo) -> (Program, Vec<Diagnostic>) {
    (Program { probes: Vec::new(), maps: Vec::new(), formats: Vec::new() }, Vec::new())
}
