//! Typed wrappers over the inkwell builder for one BPF function: one method
//! per BPF helper (so lowering code never spells a helper number), plus the
//! common instruction sequences the lowering needs — byte offsets into a
//! buffer, zeroing and copying fixed-size memory, integer resizing, blocks and
//! returns. Helpers are called the way clang lowers
//! `static void *(*bpf_map_lookup_elem)(...) = (void *)1;`: an `inttoptr` of
//! the helper id used as the callee of an indirect call.

use super::CodegenError;
use crate::ir::{AddrSpace, Clock};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::types::{BasicMetadataTypeEnum, IntType, PointerType};
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, GlobalValue, IntValue, PointerValue};
use inkwell::{AddressSpace, IntPredicate};

type R<T> = Result<T, CodegenError>;

/// BPF helper ids (`enum bpf_func_id`).
mod helper {
    pub const MAP_LOOKUP_ELEM: u64 = 1;
    pub const MAP_UPDATE_ELEM: u64 = 2;
    pub const MAP_DELETE_ELEM: u64 = 3;
    pub const GET_PRANDOM_U32: u64 = 7;
    pub const GET_NUMA_NODE_ID: u64 = 42;
    pub const GET_CURRENT_CGROUP_ID: u64 = 80;
    pub const JIFFIES64: u64 = 118;
    pub const GET_SMP_PROCESSOR_ID: u64 = 8;
    pub const GET_CURRENT_PID_TGID: u64 = 14;
    pub const GET_CURRENT_UID_GID: u64 = 15;
    pub const GET_CURRENT_COMM: u64 = 16;
    pub const GET_CURRENT_TASK: u64 = 35;
    pub const SEND_SIGNAL: u64 = 109;
    pub const GET_STACKID: u64 = 27;
    pub const PROBE_READ_USER: u64 = 112;
    pub const PROBE_READ_KERNEL: u64 = 113;
    pub const PROBE_READ_USER_STR: u64 = 114;
    pub const PROBE_READ_KERNEL_STR: u64 = 115;
    pub const KTIME_GET_BOOT_NS: u64 = 125;
    pub const KTIME_GET_NS: u64 = 5;
    /// In every program type's base helpers since Linux 6.1.
    pub const KTIME_GET_TAI_NS: u64 = 208;
    pub const TRACE_PRINTK: u64 = 6;
    pub const GET_STACK: u64 = 67;
    pub const D_PATH: u64 = 147;
    pub const RINGBUF_OUTPUT: u64 = 130;
    pub const MAP_LOOKUP_PERCPU_ELEM: u64 = 195;
    pub const FOR_EACH_MAP_ELEM: u64 = 164;
    pub const LOOP: u64 = 181;
}

/// Copies and zero fills up to this many bytes are expanded inline by the
/// BPF backend (it allows 128 stores, 8 bytes each when 8-aligned); larger
/// ones go through `bpf_probe_read_kernel`.
const INLINE_MEM_LIMIT: u32 = 512;

/// `map_update_elem` flag: create or replace.
pub(crate) const BPF_ANY: u64 = 0;

/// Rounds a byte size up to a multiple of 8.
pub(crate) fn round8(n: u32) -> u32 {
    n.div_ceil(8) * 8
}

/// The instruction builder positioned inside one BPF function.
pub(crate) struct Emitter<'ctx> {
    pub ctx: &'ctx Context,
    pub builder: Builder<'ctx>,
    pub func: FunctionValue<'ctx>,
}

impl<'ctx> Emitter<'ctx> {
    pub fn new(ctx: &'ctx Context, func: FunctionValue<'ctx>) -> Emitter<'ctx> {
        Emitter {
            ctx,
            builder: ctx.create_builder(),
            func,
        }
    }

    // --- types and constants -------------------------------------------------

    pub fn i64t(&self) -> IntType<'ctx> {
        self.ctx.i64_type()
    }

    pub fn ptr_t(&self) -> PointerType<'ctx> {
        self.ctx.ptr_type(AddressSpace::default())
    }

    pub fn u64c(&self, v: u64) -> IntValue<'ctx> {
        self.i64t().const_int(v, false)
    }

    pub fn int_type(&self, bits: u32) -> IntType<'ctx> {
        self.ctx.custom_width_int_type(bits)
    }

    // --- helpers ---------------------------------------------------------------

    /// Calls helper `id` with the given arguments; every helper returns an i64.
    pub(super) fn call_helper(
        &self,
        id: u64,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> R<IntValue<'ctx>> {
        let arg_types: Vec<BasicMetadataTypeEnum<'ctx>> = args
            .iter()
            .map(|a| match a {
                BasicMetadataValueEnum::PointerValue(_) => self.ptr_t().into(),
                _ => self.i64t().into(),
            })
            .collect();
        let fn_type = self.i64t().fn_type(&arg_types, false);
        let callee = self.u64c(id).const_to_pointer(self.ptr_t());
        let call = self
            .builder
            .build_indirect_call(fn_type, callee, args, "h")?;
        call.try_as_basic_value()
            .basic()
            .map(|v| v.into_int_value())
            .ok_or_else(|| CodegenError::Internal(format!("Helper {id} returned no value.")))
    }

    pub fn map_lookup_elem(
        &self,
        map: GlobalValue<'ctx>,
        key: PointerValue<'ctx>,
    ) -> R<PointerValue<'ctx>> {
        let r = self.call_helper(
            helper::MAP_LOOKUP_ELEM,
            &[map.as_pointer_value().into(), key.into()],
        )?;
        Ok(self.builder.build_int_to_ptr(r, self.ptr_t(), "val")?)
    }

    /// `bpf_for_each_map_elem(map, callback, callback_ctx, 0)`: calls
    /// `callback(map, key, value, callback_ctx)` for each entry until it
    /// returns 1; returns the number of entries visited.
    pub fn for_each_map_elem(
        &self,
        map: GlobalValue<'ctx>,
        callback: FunctionValue<'ctx>,
        callback_ctx: PointerValue<'ctx>,
    ) -> R<IntValue<'ctx>> {
        self.call_helper(
            helper::FOR_EACH_MAP_ELEM,
            &[
                map.as_pointer_value().into(),
                callback.as_global_value().as_pointer_value().into(),
                callback_ctx.into(),
                self.u64c(0).into(),
            ],
        )
    }

    /// `bpf_loop(count, callback, callback_ctx, 0)`: calls
    /// `callback(index, callback_ctx)` for index 0..count until it returns 1.
    pub fn loop_(
        &self,
        count: IntValue<'ctx>,
        callback: FunctionValue<'ctx>,
        callback_ctx: PointerValue<'ctx>,
    ) -> R<IntValue<'ctx>> {
        self.call_helper(
            helper::LOOP,
            &[
                count.into(),
                callback.as_global_value().as_pointer_value().into(),
                callback_ctx.into(),
                self.u64c(0).into(),
            ],
        )
    }

    /// `bpf_map_lookup_percpu_elem(map, key, cpu)`: the value of one CPU in
    /// a per-CPU map, or NULL when the key or the CPU does not exist.
    pub fn map_lookup_percpu_elem(
        &self,
        map: GlobalValue<'ctx>,
        key: PointerValue<'ctx>,
        cpu: IntValue<'ctx>,
    ) -> R<PointerValue<'ctx>> {
        let r = self.call_helper(
            helper::MAP_LOOKUP_PERCPU_ELEM,
            &[map.as_pointer_value().into(), key.into(), cpu.into()],
        )?;
        Ok(self.builder.build_int_to_ptr(r, self.ptr_t(), "cpuval")?)
    }

    pub fn map_update_elem(
        &self,
        map: GlobalValue<'ctx>,
        key: PointerValue<'ctx>,
        value: PointerValue<'ctx>,
        flags: u64,
    ) -> R<IntValue<'ctx>> {
        self.call_helper(
            helper::MAP_UPDATE_ELEM,
            &[
                map.as_pointer_value().into(),
                key.into(),
                value.into(),
                self.u64c(flags).into(),
            ],
        )
    }

    /// `bpf_map_delete_elem(map, key)`: 0 when the key was removed.
    pub fn map_delete_elem(
        &self,
        map: GlobalValue<'ctx>,
        key: PointerValue<'ctx>,
    ) -> R<IntValue<'ctx>> {
        self.call_helper(
            helper::MAP_DELETE_ELEM,
            &[map.as_pointer_value().into(), key.into()],
        )
    }

    pub fn get_prandom_u32(&self) -> R<IntValue<'ctx>> {
        self.call_helper(helper::GET_PRANDOM_U32, &[])
    }

    pub fn get_numa_node_id(&self) -> R<IntValue<'ctx>> {
        self.call_helper(helper::GET_NUMA_NODE_ID, &[])
    }

    pub fn get_current_cgroup_id(&self) -> R<IntValue<'ctx>> {
        self.call_helper(helper::GET_CURRENT_CGROUP_ID, &[])
    }

    pub fn jiffies64(&self) -> R<IntValue<'ctx>> {
        self.call_helper(helper::JIFFIES64, &[])
    }

    pub fn get_smp_processor_id(&self) -> R<IntValue<'ctx>> {
        self.call_helper(helper::GET_SMP_PROCESSOR_ID, &[])
    }

    pub fn get_current_pid_tgid(&self) -> R<IntValue<'ctx>> {
        self.call_helper(helper::GET_CURRENT_PID_TGID, &[])
    }

    pub fn get_current_task(&self) -> R<IntValue<'ctx>> {
        self.call_helper(helper::GET_CURRENT_TASK, &[])
    }

    /// `bpf_send_signal(sig)`: signals the current process.
    pub fn send_signal(&self, sig: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        let sig = self.resize(sig, 64, false)?;
        self.call_helper(helper::SEND_SIGNAL, &[sig.into()])
    }

    pub fn get_current_uid_gid(&self) -> R<IntValue<'ctx>> {
        self.call_helper(helper::GET_CURRENT_UID_GID, &[])
    }

    pub fn get_current_comm(&self, buf: PointerValue<'ctx>, size: u32) -> R<()> {
        self.call_helper(
            helper::GET_CURRENT_COMM,
            &[buf.into(), self.u64c(size.into()).into()],
        )?;
        Ok(())
    }

    /// `bpf_get_stackid(ctx, map, flags)`: the id of the current stack in
    /// a stack-trace map (negative on failure).
    pub fn get_stackid(
        &self,
        ctx: PointerValue<'ctx>,
        map: GlobalValue<'ctx>,
        flags: u64,
    ) -> R<IntValue<'ctx>> {
        self.call_helper(
            helper::GET_STACKID,
            &[
                ctx.into(),
                map.as_pointer_value().into(),
                self.u64c(flags).into(),
            ],
        )
    }

    pub fn ktime_get_boot_ns(&self) -> R<IntValue<'ctx>> {
        self.clock(Clock::Boot)
    }

    /// The nanoseconds of a kernel clock (`bpf_ktime_get_{boot_,tai_,}ns`).
    pub fn clock(&self, clock: Clock) -> R<IntValue<'ctx>> {
        let id = match clock {
            Clock::Boot => helper::KTIME_GET_BOOT_NS,
            Clock::Monotonic => helper::KTIME_GET_NS,
            Clock::Tai => helper::KTIME_GET_TAI_NS,
        };
        self.call_helper(id, &[])
    }

    /// `bpf_probe_read_{user,kernel}(dst, size, src)`: copies `size` bytes,
    /// zeroing `dst` when the read faults; 0 or a negative error.
    pub fn probe_read(
        &self,
        space: AddrSpace,
        dst: PointerValue<'ctx>,
        size: u32,
        src: PointerValue<'ctx>,
    ) -> R<IntValue<'ctx>> {
        self.probe_read_dyn(space, dst, self.u64c(size.into()), src)
    }

    /// `bpf_probe_read_{user,kernel}(dst, size, src)` with a run-time
    /// `size` the caller has bounded by `dst`'s capacity; 0 or a negative
    /// error.
    pub fn probe_read_dyn(
        &self,
        space: AddrSpace,
        dst: PointerValue<'ctx>,
        size: IntValue<'ctx>,
        src: PointerValue<'ctx>,
    ) -> R<IntValue<'ctx>> {
        let id = match space {
            AddrSpace::User => helper::PROBE_READ_USER,
            AddrSpace::Kernel => helper::PROBE_READ_KERNEL,
        };
        self.call_helper(id, &[dst.into(), size.into(), src.into()])
    }

    /// `bpf_get_stack(ctx, buf, size, flags)`: the bytes written, or a
    /// negative error.
    pub fn get_stack(
        &self,
        ctx: PointerValue<'ctx>,
        buf: PointerValue<'ctx>,
        size: u32,
        flags: u64,
    ) -> R<IntValue<'ctx>> {
        self.call_helper(
            helper::GET_STACK,
            &[
                ctx.into(),
                buf.into(),
                self.u64c(size.into()).into(),
                self.u64c(flags).into(),
            ],
        )
    }

    /// `bpf_d_path(path, buf, size)`: the path's text in `buf`.
    pub fn d_path(
        &self,
        path: IntValue<'ctx>,
        buf: PointerValue<'ctx>,
        size: u32,
    ) -> R<IntValue<'ctx>> {
        let path = self.builder.build_int_to_ptr(path, self.ptr_t(), "path")?;
        self.call_helper(
            helper::D_PATH,
            &[path.into(), buf.into(), self.u64c(size.into()).into()],
        )
    }

    /// `bpf_trace_printk(fmt, fmt_size, args...)`: at most 3 u64 arguments.
    pub fn trace_printk(
        &self,
        fmt: PointerValue<'ctx>,
        fmt_size: u32,
        args: &[IntValue<'ctx>],
    ) -> R<IntValue<'ctx>> {
        let mut all: Vec<BasicMetadataValueEnum<'ctx>> =
            vec![fmt.into(), self.u64c(fmt_size.into()).into()];
        all.extend(args.iter().map(|a| BasicMetadataValueEnum::from(*a)));
        self.call_helper(helper::TRACE_PRINTK, &all)
    }

    /// `bpf_probe_read_{user,kernel}_str(dst, size, src)`.
    pub fn probe_read_str(
        &self,
        space: AddrSpace,
        dst: PointerValue<'ctx>,
        size: IntValue<'ctx>,
        src: PointerValue<'ctx>,
    ) -> R<IntValue<'ctx>> {
        let id = match space {
            AddrSpace::User => helper::PROBE_READ_USER_STR,
            AddrSpace::Kernel => helper::PROBE_READ_KERNEL_STR,
        };
        self.call_helper(id, &[dst.into(), size.into(), src.into()])
    }

    /// `bpf_ringbuf_output(map, data, size, 0)`: 0 when the record was sent.
    pub fn ringbuf_output(
        &self,
        map: GlobalValue<'ctx>,
        data: PointerValue<'ctx>,
        size: u32,
    ) -> R<IntValue<'ctx>> {
        self.call_helper(
            helper::RINGBUF_OUTPUT,
            &[
                map.as_pointer_value().into(),
                data.into(),
                self.u64c(size.into()).into(),
                self.u64c(0).into(),
            ],
        )
    }

    // --- memory ----------------------------------------------------------------

    /// `base + off` bytes.
    pub fn offset(&self, base: PointerValue<'ctx>, off: u32) -> R<PointerValue<'ctx>> {
        if off == 0 {
            return Ok(base);
        }
        self.offset_dyn(base, self.u64c(off.into()))
    }

    /// `base + off` bytes with a run-time offset.
    pub fn offset_dyn(
        &self,
        base: PointerValue<'ctx>,
        off: IntValue<'ctx>,
    ) -> R<PointerValue<'ctx>> {
        // SAFETY: an i8 GEP is plain byte arithmetic; callers keep offsets
        // inside the buffer the pointer addresses.
        let p = unsafe {
            self.builder
                .build_in_bounds_gep(self.ctx.i8_type(), base, &[off], "p")?
        };
        Ok(p)
    }

    /// Stores `v` at `ptr` with the given alignment.
    pub fn store(&self, ptr: PointerValue<'ctx>, v: IntValue<'ctx>, align: u32) -> R<()> {
        let inst = self.builder.build_store(ptr, v)?;
        inst.set_alignment(align)
            .map_err(|e| CodegenError::Llvm(e.to_string()))?;
        Ok(())
    }

    /// Loads an integer of type `ty` from `ptr` with the given alignment.
    pub fn load(
        &self,
        ptr: PointerValue<'ctx>,
        ty: IntType<'ctx>,
        align: u32,
    ) -> R<IntValue<'ctx>> {
        let v = self.builder.build_load(ty, ptr, "ld")?.into_int_value();
        if let Some(inst) = v.as_instruction() {
            inst.set_alignment(align)
                .map_err(|e| CodegenError::Llvm(e.to_string()))?;
        }
        Ok(v)
    }

    /// Zero fills `size` bytes at 8-aligned `dst`.
    pub fn zero(&self, dst: PointerValue<'ctx>, size: u32) -> R<()> {
        if size == 0 {
            return Ok(());
        }
        if size <= INLINE_MEM_LIMIT {
            let zero = self.ctx.i8_type().const_zero();
            self.builder
                .build_memset(dst, 8, zero, self.u64c(size.into()))?;
            return Ok(());
        }
        // A failed probe read zero fills its destination: reading from NULL
        // clears a large buffer with one helper call.
        self.probe_read(AddrSpace::Kernel, dst, size, self.ptr_t().const_null())?;
        Ok(())
    }

    /// Copies `size` bytes between 8-aligned buffers.
    pub fn copy(&self, dst: PointerValue<'ctx>, src: PointerValue<'ctx>, size: u32) -> R<()> {
        if size == 0 {
            return Ok(());
        }
        if size <= INLINE_MEM_LIMIT {
            self.builder
                .build_memcpy(dst, 8, src, 8, self.u64c(size.into()))?;
            return Ok(());
        }
        self.probe_read(AddrSpace::Kernel, dst, size, src)?;
        Ok(())
    }

    // --- integers ------------------------------------------------------------

    /// Converts `v` to `bits` wide, extending by `signed` (the source's sign).
    pub fn resize(&self, v: IntValue<'ctx>, bits: u32, signed: bool) -> R<IntValue<'ctx>> {
        let from = v.get_type().get_bit_width();
        let to = self.int_type(bits);
        Ok(if from == bits {
            v
        } else if from > bits {
            self.builder.build_int_truncate(v, to, "tr")?
        } else if signed && from > 1 {
            self.builder.build_int_s_extend(v, to, "sx")?
        } else {
            self.builder.build_int_z_extend(v, to, "zx")?
        })
    }

    /// `v != 0` as an i1.
    pub fn truthy(&self, v: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        if v.get_type().get_bit_width() == 1 {
            return Ok(v);
        }
        Ok(self
            .builder
            .build_int_compare(IntPredicate::NE, v, v.get_type().const_zero(), "nz")?)
    }

    pub fn is_null(&self, p: PointerValue<'ctx>) -> R<IntValue<'ctx>> {
        Ok(self.builder.build_is_null(p, "isnull")?)
    }

    // --- control flow -----------------------------------------------------------

    pub fn block(&self, name: &str) -> BasicBlock<'ctx> {
        self.ctx.append_basic_block(self.func, name)
    }

    pub fn at(&self, bb: BasicBlock<'ctx>) {
        self.builder.position_at_end(bb);
    }

    pub fn current(&self) -> R<BasicBlock<'ctx>> {
        self.builder.get_insert_block().ok_or_else(|| {
            CodegenError::Internal("The builder is not positioned in a block.".into())
        })
    }

    pub fn br(&self, bb: BasicBlock<'ctx>) -> R<()> {
        self.builder.build_unconditional_branch(bb)?;
        Ok(())
    }

    pub fn cond_br(
        &self,
        c: IntValue<'ctx>,
        then: BasicBlock<'ctx>,
        otherwise: BasicBlock<'ctx>,
    ) -> R<()> {
        self.builder.build_conditional_branch(c, then, otherwise)?;
        Ok(())
    }

    /// Returns 0 from the program and continues in a fresh unreachable block,
    /// so code after an `exit()` still has somewhere to go.
    pub fn ret0_and_continue(&self) -> R<()> {
        self.ret0()?;
        let dead = self.block("dead");
        self.at(dead);
        Ok(())
    }

    pub fn ret0(&self) -> R<()> {
        self.builder
            .build_return(Some(&self.ctx.i32_type().const_zero()))?;
        Ok(())
    }
}
