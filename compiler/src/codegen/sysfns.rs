//! Lowering of the task, register and address functions the checker's
//! `sysfns` produces: reads of kernel memory at `task_struct` offsets
//! (`ppid`, `pcomm`), namespace-relative `pid`/`tid`
//! (`bpf_get_ns_current_pid_tgid`), `signal_thread`, `override`,
//! `write_user` and `socket_cookie`, with one typed `Emitter` method per
//! helper they call.

use super::builder::{round8, Emitter};
use super::stmt::{str_len, ProbeGen, Val};
use super::CodegenError;
use crate::ir::{AddrSpace, Expr, Type};
use inkwell::values::IntValue;
use inkwell::IntPredicate;

type R<T> = Result<T, CodegenError>;

/// BPF helper ids (`enum bpf_func_id`) of this module's helpers.
mod helper {
    pub const PROBE_WRITE_USER: u64 = 36;
    pub const GET_SOCKET_COOKIE: u64 = 46;
    pub const OVERRIDE_RETURN: u64 = 58;
    pub const SEND_SIGNAL_THREAD: u64 = 117;
    pub const GET_NS_CURRENT_PID_TGID: u64 = 120;
}

/// Bytes of `struct bpf_pidns_info`: `u32 pid` (the thread), `u32 tgid`.
const PIDNS_INFO_SIZE: u32 = 8;

impl<'ctx> Emitter<'ctx> {
    /// `bpf_send_signal_thread(sig)`: signals the current thread.
    pub fn send_signal_thread(&self, sig: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        let sig = self.resize(sig, 64, false)?;
        self.call_helper(helper::SEND_SIGNAL_THREAD, &[sig.into()])
    }

    /// `bpf_get_socket_cookie(sk)`.
    pub fn get_socket_cookie(&self, sk: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        let sk = self.builder.build_int_to_ptr(sk, self.ptr_t(), "sk")?;
        self.call_helper(helper::GET_SOCKET_COOKIE, &[sk.into()])
    }
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// Reads `ty` at kernel address `addr + offset`; a failed read gives 0
    /// (an empty string).
    pub(super) fn kernel_read(&mut self, addr: &Expr, offset: u32, ty: &Type) -> R<Val<'ctx>> {
        let base = self.expr(addr)?.int()?;
        let base = self.em.resize(base, 64, false)?;
        let at = self
            .em
            .builder
            .build_int_add(base, self.em.u64c(u64::from(offset)), "kaddr")?;
        let src = self
            .em
            .builder
            .build_int_to_ptr(at, self.em.ptr_t(), "ksrc")?;
        if let Type::Str(_) = ty {
            let n = str_len(ty);
            let buf = self.alloc(n)?;
            self.em.zero(buf, round8(n))?;
            self.checked_probe_read(AddrSpace::Kernel, buf, n.saturating_sub(1), src)?;
            return Ok(Val::Str(buf));
        }
        let size = ty.size().clamp(1, 8);
        let buf = self.alloc(8)?;
        self.em.store(buf, self.em.u64c(0), 8)?;
        self.checked_probe_read(AddrSpace::Kernel, buf, size, src)?;
        let v = self.em.load(buf, self.em.int_type(size * 8), 8)?;
        let bits = super::stmt::scalar_type(&self.em, ty).get_bit_width();
        Ok(Val::Int(self.em.resize(v, bits, ty.is_signed())?))
    }

    /// `pid`/`tid` in the pid namespace `dev`/`ino` (0 when the current
    /// task is not in it).
    pub(super) fn ns_pid(&mut self, thread: bool, dev: u64, ino: u64, ty: &Type) -> R<Val<'ctx>> {
        let info = self.alloc(PIDNS_INFO_SIZE)?;
        self.em.store(info, self.em.u64c(0), 8)?;
        self.em.call_helper(
            helper::GET_NS_CURRENT_PID_TGID,
            &[
                self.em.u64c(dev).into(),
                self.em.u64c(ino).into(),
                info.into(),
                self.em.u64c(u64::from(PIDNS_INFO_SIZE)).into(),
            ],
        )?;
        let at = self.em.offset(info, if thread { 0 } else { 4 })?;
        let v = self.em.load(at, self.em.int_type(32), 4)?;
        let bits = super::stmt::scalar_type(&self.em, ty).get_bit_width();
        Ok(Val::Int(self.em.resize(v, bits, false)?))
    }

    /// `override(rc)`: `bpf_override_return(ctx, rc)`.
    pub(super) fn override_return(&mut self, rc: &Expr) -> R<Val<'ctx>> {
        let rc = self.expr(rc)?.int()?;
        let rc = self.em.resize(rc, 64, false)?;
        Ok(Val::Int(self.em.call_helper(
            helper::OVERRIDE_RETURN,
            &[self.ctx_arg.into(), rc.into()],
        )?))
    }

    /// `write_user(dst, src, len)`: true when `bpf_probe_write_user` wrote
    /// the bytes.
    pub(super) fn write_user(&mut self, dst: &Expr, src: &Expr, len: u32) -> R<Val<'ctx>> {
        let dst = self.expr(dst)?.int()?;
        let dst = self
            .em
            .builder
            .build_int_to_ptr(dst, self.em.ptr_t(), "wdst")?;
        let from = match self.expr(src)? {
            Val::Str(p) => p,
            Val::Int(v) => {
                let buf = self.alloc(8)?;
                let v = self.em.resize(v, 64, src.ty.is_signed())?;
                self.em.store(buf, v, 8)?;
                buf
            }
        };
        let rc = self.em.call_helper(
            helper::PROBE_WRITE_USER,
            &[dst.into(), from.into(), self.em.u64c(u64::from(len)).into()],
        )?;
        let ok =
            self.em
                .builder
                .build_int_compare(IntPredicate::EQ, rc, self.em.u64c(0), "written")?;
        Ok(Val::Int(ok))
    }
}
