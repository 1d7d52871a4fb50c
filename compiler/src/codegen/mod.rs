//! Stage 3: typed IR → LLVM IR (via inkwell) → BPF ELF object + manifest.
//!
//! `generate` builds one LLVM module per call in a fresh `Context`: the map
//! definitions (`maps.rs`), the `license` section, and one function `p{i}`
//! per probe in the section its attach kind needs (`raw_tracepoint/`,
//! `tracepoint/`, `perf_event/`). Each probe is lowered by `stmt.rs`,
//! `expr.rs` and `events.rs` through the typed emitter of `builder.rs`;
//! everything is inlined, so there are no BPF-to-BPF calls except from a
//! syscall dispatcher (`dispatch.rs`) to its `.text` chunks. The module is
//! optimized with LLVM's `default<O2>` pipeline and emitted for `bpfel`,
//! CPU `v3`. The manifest is derived from the same layout functions as the
//! code, so the two always agree.

mod aggregate;
mod builder;
mod cread;
mod datafns;
mod debug;
mod dispatch;
mod events;
mod expr;
mod floor;
mod foreach;
mod globals;
mod helper_errors;
mod llvm_setup;
mod loops;
mod maps;
mod stacks;
mod stmt;
mod strfns;
mod sysfns;
mod task_comm;
mod tseries;
mod tuples;
mod user;

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
use inkwell::values::FunctionValue;
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

/// Choices about the generated code that do not change what a script means.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Run syscall tracepoint probes from one raw tracepoint program per
    /// hook (`dispatch.rs`) instead of one tracepoint program each.
    pub syscall_dispatch: bool,
    /// Target BPF CPU v4 (Linux 6.6 and later) instead of v3: its long
    /// jump (`gotol`) lets LLVM branch across more than 32,767
    /// instructions, which a probe of thousands of statements needs.
    pub cpu_v4: bool,
    /// `-k`: failed reads of kernel and user memory send a warning event
    /// with the script location (failed map updates always do).
    pub helper_warnings: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            syscall_dispatch: true,
            cpu_v4: false,
            helper_warnings: false,
        }
    }
}

impl Options {
    /// The dispatch hook and syscall number of a probe compiled into a
    /// syscall dispatcher, or `None` when it keeps a program of its own.
    /// Probes that read `kstack` keep their own tracepoint program: from
    /// the dispatcher the kernel stack would start in the BPF programs.
    fn dispatched(&self, probe: &crate::ir::Probe) -> Option<(dispatch::Hook, u32)> {
        if !self.syscall_dispatch
            || globals::probe_uses_builtin(probe, ferrotrace_stdlib::Builtin::Kstack)
        {
            return None;
        }
        dispatch::syscall_of(&probe.attach)
    }
}

/// Generates the BPF object and manifest for a checked program; `source` is
/// the script the program came from, for the probes' line and column.
pub fn generate(program: &Program, source: &SourceFile) -> Result<Artifact, CodegenError> {
    generate_with(program, source, &Options::default())
}

/// `generate` with explicit options.
pub fn generate_with(
    program: &Program,
    source: &SourceFile,
    options: &Options,
) -> Result<Artifact, CodegenError> {
    let ctx = Context::create();
    let tm = target_machine(options)?;
    let sites = helper_errors::HelperSites::new(
        program.formats.len() + 1 + program.actions.len(),
        options.helper_warnings,
    );
    let (module, scratch) = build_module(&ctx, &tm, program, Some(source), options, &sites)?;
    let buf = tm
        .write_to_memory_buffer(&module, FileType::Object)
        .map_err(|e| CodegenError::Llvm(format!("Emitting the BPF object failed: {e}.")))?;
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        programs: program_specs(program, source, options),
        maps: maps::map_specs(program, scratch),
        events: events::event_specs(program)
            .into_iter()
            .chain(sites.specs())
            .collect(),
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
    let tm = target_machine(&Options::default())?;
    let sites = helper_errors::HelperSites::new(0, false);
    let (module, _) = build_module(&ctx, &tm, program, None, &Options::default(), &sites)?;
    Ok(module.print_to_string().to_string())
}

/// The BPF assembly of the program (`--emit asm`).
pub fn emit_asm(program: &Program) -> Result<String, CodegenError> {
    let ctx = Context::create();
    let tm = target_machine(&Options::default())?;
    let sites = helper_errors::HelperSites::new(0, false);
    let (module, _) = build_module(&ctx, &tm, program, None, &Options::default(), &sites)?;
    let buf = tm
        .write_to_memory_buffer(&module, FileType::Assembly)
        .map_err(|e| CodegenError::Llvm(format!("Emitting BPF assembly failed: {e}.")))?;
    Ok(String::from_utf8_lossy(buf.as_slice()).into_owned())
}

fn target_machine(options: &Options) -> Result<TargetMachine, CodegenError> {
    Target::initialize_bpf(&InitializationConfig::default());
    llvm_setup::setup();
    let triple = TargetTriple::create("bpfel");
    let target = Target::from_triple(&triple)
        .map_err(|e| CodegenError::Llvm(format!("The BPF target is unavailable: {e}.")))?;
    target
        .create_target_machine(
            &triple,
            if options.cpu_v4 { "v4" } else { "v3" },
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
    options: &Options,
    sites: &helper_errors::HelperSites,
) -> Result<(Module<'ctx>, u32), CodegenError> {
    let module = ctx.create_module("ferrotrace");
    module.set_triple(&tm.get_triple());
    module.set_data_layout(&tm.get_target_data().get_data_layout());
    let mut specs = maps::map_specs(program, 0);
    let globals = maps::declare(ctx, &module, &specs)?;
    add_license(ctx, &module);
    let di = source.and_then(|src| debug::DebugInfo::new(ctx, &module, src).map(|d| (d, src)));
    let mut scratch = 0;
    let mut dispatched: Vec<(dispatch::Hook, u32, FunctionValue<'ctx>)> = Vec::new();
    for (i, probe) in program.probes.iter().enumerate() {
        let dispatched_as = options.dispatched(probe);
        let func = declare_probe(ctx, &module, i, &probe.attach, dispatched_as.is_some());
        if let Some((hook, nr)) = dispatched_as {
            // Inlined into a chunk function of the syscall dispatcher
            // (`dispatch.rs`) instead of being a program of its own.
            func.set_section(None);
            func.set_linkage(Linkage::Internal);
            let inline = ctx.create_enum_attribute(
                inkwell::attributes::Attribute::get_named_enum_kind_id("alwaysinline"),
                0,
            );
            func.add_attribute(inkwell::attributes::AttributeLoc::Function, inline);
            dispatched.push((hook, nr, func));
        }
        let name = format!("p{i}");
        let dbg = di.as_ref().map(|(info, src)| debug::ProbeDebug {
            info,
            scope: info.subprogram(func, &name, src, probe.span, dispatched_as.is_some()),
            source: src,
        });
        let em = Emitter::new(ctx, func);
        let used = stmt::lower_probe(em, &module, program, &globals, probe, dbg, sites)?;
        scratch = scratch.max(used);
    }
    for hook in [dispatch::Hook::Enter, dispatch::Hook::Exit] {
        let cases = dispatch_cases(&dispatched, hook);
        if cases.is_empty() {
            continue;
        }
        let first = program
            .probes
            .iter()
            .find(|p| options.dispatched(p).is_some_and(|(h, _)| h == hook))
            .map(|p| p.span);
        let debug = di
            .as_ref()
            .zip(first)
            .map(|((info, src), span)| (info, *src, span));
        dispatch::build(ctx, &module, dispatcher_name(hook), hook, &cases, debug)?;
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

/// The dispatcher's cases for `hook`: each syscall number once, with its
/// probes in script order, sorted by number.
fn dispatch_cases<'ctx>(
    dispatched: &[(dispatch::Hook, u32, FunctionValue<'ctx>)],
    hook: dispatch::Hook,
) -> Vec<dispatch::Case<'ctx>> {
    let mut cases: Vec<dispatch::Case<'ctx>> = Vec::new();
    for (h, nr, func) in dispatched {
        if *h != hook {
            continue;
        }
        match cases.iter_mut().find(|c| c.nr == *nr) {
            Some(case) => case.probes.push(*func),
            None => cases.push(dispatch::Case {
                nr: *nr,
                probes: vec![*func],
            }),
        }
    }
    cases.sort_by_key(|c| c.nr);
    cases
}

/// The ELF function of the dispatcher for `hook`.
fn dispatcher_name(hook: dispatch::Hook) -> &'static str {
    match hook {
        dispatch::Hook::Enter => "sys_enter",
        dispatch::Hook::Exit => "sys_exit",
    }
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
        Attach::Begin | Attach::End | Attach::RawTracepoint { .. } => "raw_tracepoint",
        Attach::Tracepoint { .. } => "tracepoint",
        Attach::Interval { .. } | Attach::Perf { .. } => "perf_event",
        Attach::Kprobe { ret: false, .. } => "kprobe",
        Attach::Kprobe { ret: true, .. } => "kretprobe",
        // aya-obj knows no iterator section; the manifest's `Iter` attach
        // tells the runtime what the program is.
        Attach::Fentry { exit: false, .. } | Attach::Iter { .. } => "fentry",
        Attach::Fentry { exit: true, .. } => "fexit",
        Attach::Uprobe {
            retprobe: false, ..
        } => "uprobe",
        Attach::Uprobe { retprobe: true, .. } => "uretprobe",
        Attach::Watchpoint { .. } => "perf_event",
        // Run by the tracer with BPF_PROG_TEST_RUN, as BEGIN is.
        Attach::SelfSignal { .. } | Attach::Test { .. } => "raw_tracepoint",
    };
    format!("{kind}/p{index}")
}

/// Declares probe `index`'s function: `i32 (ptr ctx)`, or for a probe a
/// syscall dispatcher runs `i32 (ptr ctx, ptr record)` (see `dispatch.rs`).
fn declare_probe<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    index: usize,
    attach: &Attach,
    dispatched: bool,
) -> inkwell::values::FunctionValue<'ctx> {
    let ptr = ctx.ptr_type(inkwell::AddressSpace::default());
    let params: &[inkwell::types::BasicMetadataTypeEnum<'ctx>] = if dispatched {
        &[ptr.into(), ptr.into()]
    } else {
        &[ptr.into()]
    };
    let fn_type = ctx.i32_type().fn_type(params, false);
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
        Attach::RawTracepoint { name } => AttachSpec::RawTracepoint { name: name.clone() },
        Attach::Perf {
            event_type,
            config,
            period,
            every_cpu,
        } => AttachSpec::PerfEvent {
            event_type: *event_type,
            config: *config,
            period: *period,
            every_cpu: *every_cpu,
        },
        Attach::Kprobe {
            function,
            offset,
            ret,
        } => AttachSpec::Kprobe {
            function: function.clone(),
            offset: *offset,
            retprobe: *ret,
        },
        Attach::Fentry { function, exit } => AttachSpec::Fentry {
            function: function.clone(),
            fexit: *exit,
        },
        Attach::Iter { name } => AttachSpec::Iter { name: name.clone() },
        Attach::Uprobe {
            binary,
            offset,
            retprobe,
            ref_ctr_offset,
        } => AttachSpec::Uprobe {
            binary: binary.clone(),
            offset: *offset,
            retprobe: *retprobe,
            ref_ctr_offset: *ref_ctr_offset,
        },
        Attach::Watchpoint { addr, len, bp_type } => AttachSpec::Watchpoint {
            addr: *addr,
            len: *len,
            bp_type: *bp_type,
        },
        Attach::SelfSignal { signal } => AttachSpec::SelfSignal { signal: *signal },
        Attach::Test { name, bench } => AttachSpec::Test {
            name: name.clone(),
            bench: *bench,
        },
    }
}

/// One spec per program, in script order: a syscall dispatcher takes the
/// place of the first probe it runs.
fn program_specs(program: &Program, source: &SourceFile, options: &Options) -> Vec<ProgramSpec> {
    let mut specs = Vec::new();
    let mut dispatchers_done = Vec::new();
    for (i, p) in program.probes.iter().enumerate() {
        let (line, column) = source.line_col(p.span.start);
        let Some((hook, _)) = options.dispatched(p) else {
            specs.push(ProgramSpec {
                function: format!("p{i}"),
                section: section(i, &p.attach),
                probe: p.name.clone(),
                attach: attach_spec(&p.attach),
                line,
                column,
            });
            continue;
        };
        if dispatchers_done.contains(&hook) {
            continue;
        }
        dispatchers_done.push(hook);
        let probes: Vec<String> = program
            .probes
            .iter()
            .filter(|q| options.dispatched(q).is_some_and(|(h, _)| h == hook))
            .map(|q| q.name.clone())
            .collect();
        let function = dispatcher_name(hook);
        let probe = match probes.as_slice() {
            [one] => one.clone(),
            many => format!("tracepoint:syscalls:{function}_* ({} probes)", many.len()),
        };
        specs.push(ProgramSpec {
            function: function.to_string(),
            section: format!("raw_tracepoint/{}", hook.raw_tracepoint()),
            probe,
            attach: AttachSpec::SyscallDispatch {
                raw_tracepoint: hook.raw_tracepoint().to_string(),
                probes,
            },
            line,
            column,
        });
    }
    specs
}

#[cfg(test)]
mod tests;
