//! The `start` map behind `elapsed`: a one-entry hash (key `u64 0`) whose
//! value the runtime sets to the boot-clock nanoseconds at which tracing
//! started, before BEGIN runs. It exists only in programs that use
//! `elapsed`, found by walking the IR once.

use super::stmt::{ProbeGen, Val};
use super::CodegenError;
use crate::ir::{Expr, ExprKind, LValue, Probe, Program, Stmt, StmtKind};
use crate::manifest::{MapKind, MapRole, MapSpec};
use ferrotrace_stdlib::Builtin;
use inkwell::IntPredicate;

type R<T> = Result<T, CodegenError>;

/// The `start` map's spec, when the program reads `elapsed`.
pub(crate) fn start_spec(program: &Program) -> Option<MapSpec> {
    uses_builtin(program, Builtin::Elapsed).then(|| MapSpec {
        elf_name: "start".into(),
        kind: MapKind::Hash,
        key_size: 8,
        value_size: 8,
        max_entries: 1,
        role: MapRole::Start,
    })
}

/// Whether any expression of the program reads builtin `b`.
pub(crate) fn uses_builtin(program: &Program, b: Builtin) -> bool {
    program.probes.iter().any(|p| probe_uses_builtin(p, b))
}

/// Whether the predicate or body of `probe` reads builtin `b`.
pub(crate) fn probe_uses_builtin(probe: &Probe, b: Builtin) -> bool {
    probe.predicate.as_ref().is_some_and(|e| expr_uses(e, b)) || stmts_use(&probe.body, b)
}

fn stmts_use(stmts: &[Stmt], b: Builtin) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::Expr(e) => expr_uses(e, b),
        StmtKind::Store { target, value } => lvalue_uses(target, b) || expr_uses(value, b),
        StmtKind::Aggregate { key, op, .. } => {
            key.iter().any(|k| expr_uses(k, b)) || op.operand().is_some_and(|e| expr_uses(e, b))
        }
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => expr_uses(cond, b) || stmts_use(then, b) || stmts_use(otherwise, b),
        StmtKind::Printf { args, .. } | StmtKind::Action { args, .. } => {
            args.iter().any(|e| expr_uses(e, b))
        }
        StmtKind::Exit { code } => code.as_ref().is_some_and(|e| expr_uses(e, b)),
        StmtKind::ReturnValue(e) => expr_uses(e, b),
        StmtKind::Loop { cond, body } => expr_uses(cond, b) || stmts_use(body, b),
        StmtKind::ForRange {
            start, end, body, ..
        } => expr_uses(start, b) || expr_uses(end, b) || stmts_use(body, b),
        StmtKind::Unroll { body, .. } | StmtKind::ForEach { body, .. } | StmtKind::Block(body) => {
            stmts_use(body, b)
        }
        StmtKind::Break | StmtKind::Continue | StmtKind::Return => false,
    })
}

fn lvalue_uses(lv: &LValue, b: Builtin) -> bool {
    match lv {
        LValue::Local(_) => false,
        LValue::Map { key, .. } => key.iter().any(|k| expr_uses(k, b)),
    }
}

fn expr_uses(e: &Expr, b: Builtin) -> bool {
    match &e.kind {
        ExprKind::Builtin(x) => *x == b,
        ExprKind::Int(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::Local(_)
        | ExprKind::TracepointField { .. }
        | ExprKind::Register { .. }
        | ExprKind::UsdtArg(_)
        | ExprKind::TracepointDataLoc { .. } => false,
        ExprKind::MapLoad { key, .. }
        | ExprKind::MapDelete { key, .. }
        | ExprKind::MapHasKey { key, .. } => key.iter().any(|k| expr_uses(k, b)),
        ExprKind::Unary { operand, .. } => expr_uses(operand, b),
        ExprKind::Binary { lhs, rhs, .. }
        | ExprKind::StrByte {
            base: lhs,
            index: rhs,
        } => expr_uses(lhs, b) || expr_uses(rhs, b),
        ExprKind::Ternary {
            cond,
            then,
            otherwise,
        } => expr_uses(cond, b) || expr_uses(then, b) || expr_uses(otherwise, b),
        ExprKind::Cast(inner)
        | ExprKind::SymbolOf(inner)
        | ExprKind::Strlen(inner)
        | ExprKind::Bswap(inner)
        | ExprKind::Signal(inner)
        | ExprKind::Deref { addr: inner, .. }
        | ExprKind::StructField { base: inner, .. }
        | ExprKind::SignalThread(inner)
        | ExprKind::Override(inner)
        | ExprKind::SocketCookie(inner)
        | ExprKind::KernelRead { addr: inner, .. }
        | ExprKind::TaskComm { pid: inner, .. } => expr_uses(inner, b),
        ExprKind::NsPid { .. } | ExprKind::Clock(_) => false,
        ExprKind::WriteUser { dst, src, .. } => expr_uses(dst, b) || expr_uses(src, b),
        ExprKind::StrNcmp { lhs, rhs, .. }
        | ExprKind::StrStr {
            hay: lhs,
            needle: rhs,
        } => expr_uses(lhs, b) || expr_uses(rhs, b),
        ExprKind::StrRead { ptr, len, .. } => {
            expr_uses(ptr, b) || len.as_ref().is_some_and(|l| expr_uses(l, b))
        }
        ExprKind::IncDec { target, .. } => lvalue_uses(target, b),
        ExprKind::Bytes(_)
        | ExprKind::FieldBytes { .. }
        | ExprKind::ConstBytes(_)
        | ExprKind::MapLen { .. }
        | ExprKind::StackLen { .. } => false,
        ExprKind::BufRead { ptr, len, .. } => {
            expr_uses(ptr, b) || len.as_ref().is_some_and(|l| expr_uses(l, b))
        }
        ExprKind::MacAddr(inner) | ExprKind::DPath { ptr: inner } => expr_uses(inner, b),
        ExprKind::TracePrintk { args, .. } => args.iter().any(|a| expr_uses(a, b)),
        ExprKind::Ntop { af: lhs, addr: rhs } | ExprKind::Memcmp { lhs, rhs, .. } => {
            expr_uses(lhs, b) || expr_uses(rhs, b)
        }
        ExprKind::Tuple(elems) => elems.iter().any(|e| expr_uses(e, b)),
        ExprKind::TupleGet { base, .. } => expr_uses(base, b),
        ExprKind::Block { stmts, value } => stmts_use(stmts, b) || expr_uses(value, b),
    }
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// `elapsed`: boot-clock nanoseconds minus the start time the runtime
    /// stored (0 when it is missing).
    pub fn elapsed(&mut self) -> R<Val<'ctx>> {
        let map = self.maps.start.ok_or_else(|| {
            CodegenError::Internal("`elapsed` is used but there is no start map.".into())
        })?;
        let now = self.em.ktime_get_boot_ns()?;
        let key = self.alloc(8)?;
        self.em.store(key, self.em.u64c(0), 8)?;
        let found = self.em.map_lookup_elem(map, key)?;
        let start_block = self.em.current()?;
        let (hit, done) = (self.em.block("start_hit"), self.em.block("start_done"));
        self.em.cond_br(self.em.is_null(found)?, done, hit)?;
        self.em.at(hit);
        let start = self.em.load(found, self.em.i64t(), 8)?;
        let later = self
            .em
            .builder
            .build_int_compare(IntPredicate::UGE, now, start, "later")?;
        let diff = self.em.builder.build_int_sub(now, start, "elapsed")?;
        let diff = self
            .em
            .builder
            .build_select(later, diff, self.em.u64c(0), "since")?
            .into_int_value();
        self.em.br(done)?;
        self.em.at(done);
        let phi = self.em.builder.build_phi(self.em.i64t(), "el")?;
        phi.add_incoming(&[(&diff, hit), (&self.em.u64c(0), start_block)]);
        Ok(Val::Int(phi.as_basic_value().into_int_value()))
    }
}
