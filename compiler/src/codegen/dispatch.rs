//! Syscall tracepoints without one perf event each: every
//! `tracepoint:syscalls:sys_enter_X` probe is compiled into one raw
//! tracepoint program on `sys_enter` (and every `sys_exit_X` into one on
//! `sys_exit`) that dispatches on the syscall number.
//!
//! Closing a tracepoint perf event waits for an RCU grace period, so
//! attaching and releasing hundreds of syscall tracepoints one perf event at
//! a time takes tens of seconds. One raw tracepoint link per hook costs one
//! such wait. The dispatcher rebuilds the exact record the tracefs
//! tracepoint would have given its program (`__syscall_nr` at offset 8, then
//! each argument as 8 bytes from offset 16, or `ret` at offset 16 for exits)
//! on its stack and runs every probe of that syscall on it, in script order;
//! the probe bodies are the same functions as for a perf-attached
//! tracepoint, each with its own predicate, inlined into `.text` functions
//! that each serve a few syscalls and are called (BPF-to-BPF) from the
//! dispatcher's switch.
//!
//! The kernel facts used (x86-64): the raw `sys_enter` tracepoint receives
//! `(struct pt_regs *regs, long id)` and `sys_exit` `(struct pt_regs *regs,
//! long ret)`; the syscall tracepoints take the number from
//! `regs->orig_ax` (`syscall_get_nr`) and the arguments from di, si, dx,
//! r10, r8, r9 (`syscall_get_arguments`), and ignore 32-bit compat syscalls.
//! Here a compat syscall is recognised by the 32-bit user code segment in
//! `regs->cs`; x32 syscalls carry bit 30 in their number and match no case.

use super::builder::Emitter;
use super::debug::DebugInfo;
use super::CodegenError;
use crate::ir::{AddrSpace, Attach};
use crate::source::{SourceFile, Span};
use ferrotrace_stdlib::syscalls::syscall_number;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::values::FunctionValue;

type R<T> = Result<T, CodegenError>;

/// The raw tracepoint a syscall probe is dispatched from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    Enter,
    Exit,
}

impl Hook {
    pub fn raw_tracepoint(self) -> &'static str {
        match self {
            Hook::Enter => "sys_enter",
            Hook::Exit => "sys_exit",
        }
    }
}

/// The hook and syscall number of a probe that can be dispatched, or `None`
/// for every other probe (including syscall tracepoints missing from the
/// table, which keep their own perf event).
pub(crate) fn syscall_of(attach: &Attach) -> Option<(Hook, u32)> {
    let Attach::Tracepoint { category, name } = attach else {
        return None;
    };
    if category != "syscalls" {
        return None;
    }
    let (hook, syscall) = if let Some(s) = name.strip_prefix("sys_enter_") {
        (Hook::Enter, s)
    } else {
        (Hook::Exit, name.strip_prefix("sys_exit_")?)
    };
    Some((hook, syscall_number(syscall)?))
}

/// `struct pt_regs` (x86-64) is read from r10 (offset 56) to cs (offset
/// 136, inclusive) in one probe read; offsets below are into that copy.
const REGS_FROM: u32 = 56;
const REGS_LEN: u32 = 88;
const R10: u32 = 56 - REGS_FROM;
const R9: u32 = 64 - REGS_FROM;
const R8: u32 = 72 - REGS_FROM;
const DX: u32 = 96 - REGS_FROM;
const SI: u32 = 104 - REGS_FROM;
const DI: u32 = 112 - REGS_FROM;
const ORIG_AX: u32 = 120 - REGS_FROM;
const CS: u32 = 136 - REGS_FROM;
/// `__USER32_CS`: the code segment of 32-bit user code.
const USER32_CS: u64 = 0x23;
/// The record a syscall tracepoint hands its program: an 8-byte header,
/// `int __syscall_nr` at 8, six 8-byte arguments (or `ret`) from 16.
const RECORD_LEN: u32 = 64;

/// One syscall's probes, in script order.
pub(crate) struct Case<'ctx> {
    pub nr: u32,
    pub probes: Vec<FunctionValue<'ctx>>,
}

/// Builds the dispatcher function `name` for `hook`, in section
/// `raw_tracepoint/<hook>`. `at` places its debug locations (the first
/// dispatched probe's attach point).
pub(crate) fn build<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    name: &str,
    hook: Hook,
    cases: &[Case<'ctx>],
    debug: Option<(&DebugInfo<'ctx>, &SourceFile, Span)>,
) -> R<FunctionValue<'ctx>> {
    let ptr = ctx.ptr_type(inkwell::AddressSpace::default());
    let fn_type = ctx.i32_type().fn_type(&[ptr.into()], false);
    let func = module.add_function(name, fn_type, Some(Linkage::External));
    func.set_section(Some(&format!("raw_tracepoint/{}", hook.raw_tracepoint())));
    let em = Emitter::new(ctx, func);
    let entry = em.block("entry");
    em.at(entry);
    if let Some((info, source, span)) = debug {
        let sp = info.subprogram(func, name, source, span, false);
        info.locate_in(ctx, &em.builder, sp, source, span);
    }
    let raw_ctx = func
        .get_first_param()
        .map(|p| p.into_pointer_value())
        .ok_or_else(|| CodegenError::Internal("The dispatcher has no context parameter.".into()))?;
    let i64t = em.i64t();
    let regs_addr = em.load(raw_ctx, i64t, 8)?;
    let regs_ptr = em.builder.build_int_to_ptr(regs_addr, em.ptr_t(), "regs")?;
    let regs =
        em.builder
            .build_array_alloca(ctx.i8_type(), em.u64c(REGS_LEN.into()), "regs_copy")?;
    set_align8(regs);
    // Both buffers are allocated in the entry block, so they are fixed stack slots.
    let record =
        em.builder
            .build_array_alloca(ctx.i8_type(), em.u64c(RECORD_LEN.into()), "record")?;
    set_align8(record);
    em.probe_read(
        AddrSpace::Kernel,
        regs,
        REGS_LEN,
        em.offset(regs_ptr, REGS_FROM)?,
    )?;
    let word = |off: u32| -> R<inkwell::values::IntValue<'ctx>> {
        em.load(em.offset(regs, off)?, i64t, 8)
    };

    let done = em.block("done");
    let native = em.block("native");
    // `cs` is the low 16 bits of its slot; with FRED the upper bits of the
    // same word carry other state.
    let cs = em.resize(word(CS)?, 16, false)?;
    let compat = em.builder.build_int_compare(
        inkwell::IntPredicate::EQ,
        cs,
        ctx.i16_type().const_int(USER32_CS, false),
        "compat",
    )?;
    em.cond_br(compat, done, native)?;
    em.at(native);
    em.zero(record, RECORD_LEN)?;
    let nr = word(ORIG_AX)?;
    let nr32 = em.resize(nr, 32, false)?;
    em.store(em.offset(record, 8)?, nr32, 4)?;
    match hook {
        Hook::Enter => {
            for (i, reg) in [DI, SI, DX, R10, R8, R9].into_iter().enumerate() {
                let at = 16 + 8 * u32::try_from(i).unwrap_or(0);
                em.store(em.offset(record, at)?, word(reg)?, 8)?;
            }
        }
        Hook::Exit => {
            let ret = em.load(em.offset(raw_ctx, 8)?, i64t, 8)?;
            em.store(em.offset(record, 16)?, ret, 8)?;
        }
    }

    // The cases go into `.text` functions of a few syscalls each, called
    // from the switch: inlining every probe into one function would put
    // its branches beyond BPF's 16-bit jump offsets, and one function per
    // syscall would exceed the kernel's 256 subprograms per program.
    let per_chunk = cases.len().div_ceil(MAX_CHUNKS).max(1);
    let mut arms = Vec::with_capacity(cases.len());
    for (k, chunk) in cases.chunks(per_chunk).enumerate() {
        let callee = chunk_function(ctx, module, &format!("{name}_{k}"), chunk, debug)?;
        for case in chunk {
            let bb = em.block(&format!("nr{}", case.nr));
            arms.push((i64t.const_int(case.nr.into(), false), bb));
            em.at(bb);
            em.builder
                .build_call(callee, &[raw_ctx.into(), record.into(), nr.into()], "")?;
            em.br(done)?;
        }
    }
    em.at(native);
    em.builder.build_switch(nr, done, &arms)?;
    em.at(done);
    em.ret0()?;
    Ok(func)
}

/// At most this many chunk functions per dispatcher, well under the
/// kernel's limit of 256 subprograms per program.
const MAX_CHUNKS: usize = 128;

/// `i32 NAME(ptr ctx, ptr record, i64 nr)`: runs the probes of `chunk`'s
/// syscalls (inlined) on `record` for syscall `nr`, with the raw
/// tracepoint's `ctx` for helpers that need it (`bpf_get_stackid`); a
/// `.text` function of its own.
fn chunk_function<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    name: &str,
    chunk: &[Case<'ctx>],
    debug: Option<(&DebugInfo<'ctx>, &SourceFile, Span)>,
) -> R<FunctionValue<'ctx>> {
    let ptr = ctx.ptr_type(inkwell::AddressSpace::default());
    let fn_type = ctx
        .i32_type()
        .fn_type(&[ptr.into(), ptr.into(), ctx.i64_type().into()], false);
    let func = module.add_function(name, fn_type, Some(Linkage::Internal));
    let noinline = ctx.create_enum_attribute(
        inkwell::attributes::Attribute::get_named_enum_kind_id("noinline"),
        0,
    );
    func.add_attribute(inkwell::attributes::AttributeLoc::Function, noinline);
    let em = Emitter::new(ctx, func);
    em.at(em.block("entry"));
    if let Some((info, source, span)) = debug {
        let sp = info.subprogram(func, name, source, span, true);
        info.locate_in(ctx, &em.builder, sp, source, span);
    }
    let (Some(raw_ctx), Some(record), Some(nr)) = (
        func.get_nth_param(0),
        func.get_nth_param(1),
        func.get_nth_param(2),
    ) else {
        return Err(CodegenError::Internal(
            "A dispatcher chunk has no parameters.".into(),
        ));
    };
    let entry = em.current()?;
    let done = em.block("done");
    let mut arms = Vec::with_capacity(chunk.len());
    for case in chunk {
        let bb = em.block(&format!("nr{}", case.nr));
        arms.push((em.i64t().const_int(case.nr.into(), false), bb));
        em.at(bb);
        for probe in &case.probes {
            em.builder
                .build_call(*probe, &[raw_ctx.into(), record.into()], "")?;
        }
        em.br(done)?;
    }
    em.at(entry);
    em.builder.build_switch(nr.into_int_value(), done, &arms)?;
    em.at(done);
    em.ret0()?;
    Ok(func)
}

fn set_align8(p: inkwell::values::PointerValue<'_>) {
    if let Some(inst) = p.as_instruction() {
        let _ = inst.set_alignment(8);
    }
}
