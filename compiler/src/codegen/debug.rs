//! Source line information. When `generate` has the script text, every
//! probe function gets a DWARF subprogram and every statement a debug
//! location (line and column of its span); the BPF backend turns this into
//! `.BTF`/`.BTF.ext` line info, which the runtime uses to report a verifier
//! rejection at the script line that caused it. `--emit llvm`/`asm` have no
//! source and skip it.

use crate::source::{SourceFile, Span};
use inkwell::context::Context;
use inkwell::debug_info::{
    AsDIScope, DIFile, DIFlags, DIFlagsConstants, DISubprogram, DISubroutineType,
    DWARFEmissionKind, DWARFSourceLanguage, DebugInfoBuilder,
};
use inkwell::module::{FlagBehavior, Module};
use inkwell::values::FunctionValue;
use inkwell::AddressSpace;

/// `DW_ATE_signed`.
const DW_ATE_SIGNED: u32 = 5;
/// `DW_ATE_signed_char`.
const DW_ATE_SIGNED_CHAR: u32 = 6;

/// The module's debug info builder and the types every probe shares.
pub(crate) struct DebugInfo<'ctx> {
    builder: DebugInfoBuilder<'ctx>,
    file: DIFile<'ctx>,
    fn_type: DISubroutineType<'ctx>,
}

impl<'ctx> DebugInfo<'ctx> {
    /// Starts debug info for `module`; `None` if LLVM refuses the basic types.
    pub fn new(
        ctx: &'ctx Context,
        module: &Module<'ctx>,
        source: &SourceFile,
    ) -> Option<DebugInfo<'ctx>> {
        let version = ctx.i32_type().const_int(3, false);
        module.add_basic_value_flag("Debug Info Version", FlagBehavior::Warning, version);
        // The BPF backend copies the text of every line it finds on disk into
        // BTF through a string table searched linearly per string (quadratic
        // in the script's length). Nothing reads that text: diagnostics and
        // --explain render lines from `source`, by number. So the file is
        // named under a directory that does not exist.
        let name = std::path::Path::new(&source.name)
            .file_name()
            .map_or_else(|| source.name.clone(), |n| n.to_string_lossy().into_owned());
        let (builder, cu) = module.create_debug_info_builder(
            true,
            DWARFSourceLanguage::C,
            &name,
            "/nonexistent/ferrotrace",
            "ferrotrace",
            true,
            "",
            0,
            "",
            DWARFEmissionKind::LineTablesOnly,
            0,
            false,
            false,
            "",
            "",
        );
        let file = cu.get_file();
        let int = builder
            .create_basic_type("int", 32, DW_ATE_SIGNED, DIFlags::PUBLIC)
            .ok()?;
        let chr = builder
            .create_basic_type("char", 8, DW_ATE_SIGNED_CHAR, DIFlags::PUBLIC)
            .ok()?;
        let ptr = builder.create_pointer_type("", chr.as_type(), 64, 64, AddressSpace::default());
        let fn_type = builder.create_subroutine_type(
            file,
            Some(int.as_type()),
            &[ptr.as_type()],
            DIFlags::PUBLIC,
        );
        Some(DebugInfo {
            builder,
            file,
            fn_type,
        })
    }

    /// Attaches a subprogram to `func`, declared at `span`; `local` makes
    /// it static (BTF linkage `static`, as the verifier requires of
    /// callbacks).
    pub fn subprogram(
        &self,
        func: FunctionValue<'ctx>,
        name: &str,
        source: &SourceFile,
        span: Span,
        local: bool,
    ) -> DISubprogram<'ctx> {
        let (line, _) = line_col(source, span);
        let sp = self.builder.create_function(
            self.file.as_debug_info_scope(),
            name,
            None,
            self.file,
            line,
            self.fn_type,
            local,
            true,
            line,
            DIFlags::PUBLIC,
            true,
        );
        func.set_subprogram(sp);
        sp
    }

    /// Makes following instructions of `builder` belong to `span` in `sp`.
    fn locate(
        &self,
        ctx: &'ctx Context,
        builder: &inkwell::builder::Builder<'ctx>,
        sp: DISubprogram<'ctx>,
        line: u32,
        col: u32,
    ) {
        let loc =
            self.builder
                .create_debug_location(ctx, line, col, sp.as_debug_info_scope(), None);
        builder.set_current_debug_location(loc);
    }

    /// Makes following instructions of `builder` belong to `span` in `sp`.
    pub fn locate_in(
        &self,
        ctx: &'ctx Context,
        builder: &inkwell::builder::Builder<'ctx>,
        sp: DISubprogram<'ctx>,
        source: &SourceFile,
        span: Span,
    ) {
        let (line, col) = line_col(source, span);
        self.locate(ctx, builder, sp, line, col);
    }

    pub fn finalize(&self) {
        self.builder.finalize();
    }
}

/// A probe's handle on the debug info: where to put its locations.
#[derive(Clone, Copy)]
pub(crate) struct ProbeDebug<'a, 'ctx> {
    pub info: &'a DebugInfo<'ctx>,
    pub scope: DISubprogram<'ctx>,
    pub source: &'a SourceFile,
}

impl<'a, 'ctx> ProbeDebug<'a, 'ctx> {
    /// Gives the instructions built next the position of `span`.
    pub fn locate(
        &self,
        ctx: &'ctx Context,
        builder: &inkwell::builder::Builder<'ctx>,
        span: Span,
    ) {
        let (line, col) = line_col(self.source, span);
        self.info.locate(ctx, builder, self.scope, line, col);
    }
}

fn line_col(source: &SourceFile, span: Span) -> (u32, u32) {
    let (line, col) = source.line_col(span.start);
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}
