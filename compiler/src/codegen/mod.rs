//! Stage 3: typed IR → LLVM IR (via inkwell) → BPF ELF object + manifest.
//!
//! `generate` builds one LLVM module per call in a fresh `Context`: the map
//! definitions (`maps.rs`), the `license` section, and one function `p{i}`
//! per probe in the section its attach kind needs (`raw_tracepoint/`,
//! `tracepoint/`, `perf_event/`). Each probe is lowered by `stmt.rs`,
//! `expr.rs` and `events.rs` through the typed emitter of `builder.rs`;
//! everything is inlined, so there are no BPF-to-BPF calls. The module is
//! optimized with LLVM's `default<O2>` pipeline and emitted for `bpfel`,
//! CPU `v3`. The manifest is derived from the same layout functions as the
//! code, so the two always agree.

mod aggregate;
mod builder;
mod debug;
mod events;
mod expr;
mod foreach;
mod globals;
mod loops;
mod maps;
mod stacks;
mod stmt;
mod strfns;
mod tuples;

use crate::ir::{Attach, Program};
use crate::manifest::{Artifact, AttachSpec, Manifest, ProgramSpec, MANIFEST_VERSION};
use crate::source::SourceFile;
use builder::Emitter;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::OptimizationLevel;

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// LLVM refused something we asked of it.
    #[error("internal code generation error: LLVM reported: {0}")]
    Llvm(String),
    /// The probes need more per-CPU scratch memory than a per-CPU map value
    /// may hold.
    #[error(
        "the probes need {needed} bytes of scratch memory per CPU for strings and other temporaries, \
         more than the kernel's limit of {limit} bytes for a per-CPU map value; use shorter strings \
         (a smaller BPFTRACE_MAX_STRLEN or str(ptr, len)) or split the probe"
    )]
    ScratchTooLarge { needed: u32, limit: u32 },
    /// The IR broke an invariant the checker guarantees.
    #[error("internal code generation error: {0}")]
    Internal(String),
}

impl From<inkwell::builder::BuilderError> for CodegenError {
    fn from(e: inkwell::builder::BuilderError) -> CodegenError {
        CodegenError::Llvm(format!("The instruction builder failed: {e}."))
    }
}

/// The settings the runtime needs, from the program's.
fn run_config(s: &crate::ir::Settings) -> crate::manifest::RunConfig {
    crate::manifest::RunConfig {
        print_maps_on_exit: s.print_maps_on_exit,
        missing_probes: s.missing_probes.clone(),
        max_map_keys: s.max_map_keys,
        max_strlen: s.max_strlen,
    }
}

/// `perf_event_attr.type` for software events.
const PERF_TYPE_SOFTWARE: u32 = 1;
/// `perf_event_attr.config` for the CPU clock.
const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;

/// Generates the BPF object and manifest for a checked program; `source` is
/// the script the program came from, for the probes' line and column.
pub fn generate(program: &Program, source: &SourceFile) -> Result<Artifact, CodegenError> {
    let ctx = Context::create();
    let tm = target_machine()?;
    let (module, scratch) = build_module(&ctx, &tm, program, Some(source))?;
    let buf = tm
        .write_to_memory_buffer(&module, FileType::Object)
        .map_err(|e| CodegenError::Llvm(format!("Emitting the BPF object failed: {e}.")))?;
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        programs: program_specs(program, source),
        maps: maps::map_specs(program, scratch),
        events: events::event_specs(program),
        config: run_config(&program.settings),
    };
    Ok(Artifact {
        elf: buf.as_slice().to_vec(),
        manifest,
    })
}

/// The optimized LLVM IR of the program, as text (`--emit llvm`).
pub fn emit_llvm(program: &Program) -> Result<String, CodegenError> {
    let ctx = Context::create();
    let tm = target_machine()?;
    let (module, _) = build_module(&ctx, &tm, program, None)?;
    Ok(module.print_to_string().to_string())
}

/// The BPF assembly of the program (`--emit asm`).
pub fn emit_asm(program: &Program) -> Result<String, CodegenError> {
    let ctx = Context::create();
    let tm = target_machine()?;
    let (module, _) = build_module(&ctx, &tm, program, None)?;
    let buf = tm
        .write_to_memory_buffer(&module, FileType::Assembly)
        .map_err(|e| CodegenError::Llvm(format!("Emitting BPF assembly failed: {e}.")))?;
    Ok(String::from_utf8_lossy(buf.as_slice()).into_owned())
}

fn target_machine() -> Result<TargetMachine, CodegenError> {
    Target::initialize_bpf(&InitializationConfig::default());
    let triple = TargetTriple::create("bpfel");
    let target = Target::from_triple(&triple)
        .map_err(|e| CodegenError::Llvm(format!("The BPF target is unavailable: {e}.")))?;
    target
        .create_target_machine(
            &triple,
            "v3",
            "",
            OptimizationLevel::Default,
            RelocMode::Default,
            CodeModel::Default,
        )
        .ok_or_else(|| CodegenError::Llvm("LLVM could not create a BPF target machine.".into()))
}

/// Builds and optimizes the module; returns it and the scratch size.
fn build_module<'ctx>(
    ctx: &'ctx Context,
    tm: &TargetMachine,
    program: &Program,
    source: Option<&SourceFile>,
) -> Result<(Module<'ctx>, u32), CodegenError> {
    let module = ctx.create_module("ferrotrace");
    module.set_triple(&tm.get_triple());
    module.set_data_layout(&tm.get_target_data().get_data_layout());
    let mut specs = maps::map_specs(program, 0);
    let globals = maps::declare(ctx, &module, &specs)?;
    add_license(ctx, &module);
    let di = source.and_then(|src| debug::DebugInfo::new(ctx, &module, src).map(|d| (d, src)));
    let mut scratch = 0;
    for (i, probe) in program.probes.iter().enumerate() {
        let func = declare_probe(ctx, &module, i, &probe.attach);
        let name = format!("p{i}");
        let dbg = di.as_ref().map(|(info, src)| debug::ProbeDebug {
            info,
            scope: info.subprogram(func, &name, src, probe.span, false),
            source: src,
        });
        let em = Emitter::new(ctx, func);
        let used = stmt::lower_probe(em, &module, program, &globals, probe, dbg)?;
        scratch = scratch.max(used);
    }
    if let Some((info, _)) = &di {
        info.finalize();
    }
    if scratch > maps::MAX_SCRATCH {
        return Err(CodegenError::ScratchTooLarge {
            needed: scratch,
            limit: maps::MAX_SCRATCH,
        });
    }
    specs = maps::map_specs(program, scratch);
    if let Some(spec) = specs.last() {
        maps::set_def(ctx, globals.scratch, spec);
    }
    module
        .verify()
        .map_err(|e| CodegenError::Llvm(format!("The generated module is invalid: {e}.")))?;
    module
        .run_passes("default<O2>", tm, PassBuilderOptions::create())
        .map_err(|e| CodegenError::Llvm(format!("The optimization pipeline failed: {e}.")))?;
    Ok((module, scratch))
}

fn add_license<'ctx>(ctx: &'ctx Context, module: &Module<'ctx>) {
    let text = ctx.const_string(b"GPL", true);
    let g = module.add_global(text.get_type(), None, "_license");
    g.set_initializer(&text);
    g.set_section(Some("license"));
    g.set_linkage(Linkage::External);
}

/// The ELF section of a probe's program.
fn section(index: usize, attach: &Attach) -> String {
    let kind = match attach {
        Attach::Begin | Attach::End => "raw_tracepoint",
        Attach::Tracepoint { .. } => "tracepoint",
        Attach::Interval { .. } => "perf_event",
    };
    format!("{kind}/p{index}")
}

fn declare_probe<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    index: usize,
    attach: &Attach,
) -> inkwell::values::FunctionValue<'ctx> {
    let ptr = ctx.ptr_type(inkwell::AddressSpace::default());
    let fn_type = ctx.i32_type().fn_type(&[ptr.into()], false);
    let func = module.add_function(&format!("p{index}"), fn_type, Some(Linkage::External));
    func.set_section(Some(&section(index, attach)));
    func
}

fn attach_spec(attach: &Attach) -> AttachSpec {
    match attach {
        Attach::Begin => AttachSpec::Begin,
        Attach::End => AttachSpec::End,
        Attach::Tracepoint { category, name } => AttachSpec::Tracepoint {
            category: category.clone(),
            name: name.clone(),
        },
        Attach::Interval { period_ns } => AttachSpec::PerfEvent {
            event_type: PERF_TYPE_SOFTWARE,
            config: PERF_COUNT_SW_CPU_CLOCK,
            period: *period_ns,
            every_cpu: false,
        },
    }
}

fn program_specs(program: &Program, source: &SourceFile) -> Vec<ProgramSpec> {
    program
        .probes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (line, column) = source.line_col(p.span.start);
            ProgramSpec {
                function: format!("p{i}"),
                section: section(i, &p.attach),
                probe: p.name.clone(),
                attach: attach_spec(&p.attach),
                line,
                column,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
