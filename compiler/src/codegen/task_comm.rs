//! Lowering of `comm(pid)`: `bpf_task_from_pid(pid)` (a kfunc, emitted as a
//! placeholder call the runtime rewrites; see `crate::kfuncs`) gives a
//! counted reference to the task or NULL; its `comm` is copied into a
//! zeroed 16-byte string with `bpf_probe_read_kernel` and the reference is
//! dropped with `bpf_task_release` on the same path, as the verifier's
//! reference tracking requires. No task gives the empty string.

use super::builder::round8;
use super::stmt::{ProbeGen, Val};
use super::CodegenError;
use crate::ir::{AddrSpace, Expr};
use crate::kfuncs;
use inkwell::IntPredicate;

type R<T> = Result<T, CodegenError>;

/// Bytes of `task_struct.comm` (`TASK_COMM_LEN`).
const COMM_LEN: u32 = 16;

/// The placeholder immediate of a kfunc as the helper id of a call.
fn placeholder(imm: i32) -> u64 {
    u64::from(imm as u32)
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// `comm(pid)`: the name of the task with `pid`, or `""`.
    pub(super) fn task_comm(&mut self, pid: &Expr, offset: u32) -> R<Val<'ctx>> {
        let pid = self.expr(pid)?.int()?;
        let pid = self.em.resize(pid, 64, true)?;
        let buf = self.alloc(COMM_LEN)?;
        self.em.zero(buf, round8(COMM_LEN))?;
        let task = self
            .em
            .call_helper(placeholder(kfuncs::TASK_FROM_PID), &[pid.into()])?;
        let (found, done) = (self.em.block("task_found"), self.em.block("task_done"));
        let none =
            self.em
                .builder
                .build_int_compare(IntPredicate::EQ, task, self.em.u64c(0), "notask")?;
        self.em.cond_br(none, done, found)?;
        self.em.at(found);
        let at =
            self.em
                .builder
                .build_int_add(task, self.em.u64c(u64::from(offset)), "commaddr")?;
        let src = self
            .em
            .builder
            .build_int_to_ptr(at, self.em.ptr_t(), "comm")?;
        self.em
            .probe_read(AddrSpace::Kernel, buf, COMM_LEN - 1, src)?;
        self.em
            .call_helper(placeholder(kfuncs::TASK_RELEASE), &[task.into()])?;
        self.em.br(done)?;
        self.em.at(done);
        Ok(Val::Str(buf))
    }
}
