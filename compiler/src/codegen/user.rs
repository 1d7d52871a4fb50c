//! Lowering of what user-space probes read: registers of the probe's
//! `struct pt_regs` (uprobe `argN`, `retval`), USDT arguments decoded by
//! their note's specification (register, memory or constant, sign- or
//! zero-extended from their size), and `cpid`, read from the single-entry
//! `cpid` array map the runtime fills before attaching, which exists only
//! in programs that read `cpid`.

use super::builder::Emitter;
use super::stmt::{ProbeGen, Val};
use super::CodegenError;
use crate::ir::{AddrSpace, Program, Type};
use crate::manifest::{MapKind, MapRole, MapSpec};
use crate::user_space::{UsdtArg, UsdtLocation};
use ferrotrace_stdlib::Builtin;
use inkwell::values::IntValue;

type R<T> = Result<T, CodegenError>;

/// The `cpid` map's spec (one u64 at key 0), when the program reads `cpid`.
pub(crate) fn cpid_spec(program: &Program) -> Option<MapSpec> {
    super::globals::uses_builtin(program, Builtin::Cpid).then(|| MapSpec {
        elf_name: "cpid".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        role: MapRole::Cpid,
    })
}

impl<'ctx> ProbeGen<'_, 'ctx> {
    /// The 64-bit register at byte `offset` of `struct pt_regs`.
    pub(super) fn register(&mut self, offset: u32, ty: &Type) -> R<Val<'ctx>> {
        let v = self.pt_reg(offset)?;
        Ok(Val::Int(self.em.resize(
            v,
            type_bits(&self.em, ty),
            false,
        )?))
    }

    fn pt_reg(&self, offset: u32) -> R<IntValue<'ctx>> {
        let at = self.em.offset(self.ctx_arg, offset)?;
        self.em.load(at, self.em.i64t(), 8)
    }

    /// A USDT argument, extended from its size to `ty`.
    pub(super) fn usdt_arg(&mut self, arg: &UsdtArg, ty: &Type) -> R<Val<'ctx>> {
        let raw = match arg.location {
            UsdtLocation::Constant(c) => self.em.u64c(c as u64),
            UsdtLocation::Register { pt_regs } => self.pt_reg(pt_regs)?,
            UsdtLocation::Memory {
                pt_regs,
                displacement,
            } => {
                let base = self.pt_reg(pt_regs)?;
                let addr = self.em.builder.build_int_add(
                    base,
                    self.em.u64c(displacement as u64),
                    "usdt_addr",
                )?;
                let src = self
                    .em
                    .builder
                    .build_int_to_ptr(addr, self.em.ptr_t(), "usdt_src")?;
                let buf = self.alloc(8)?;
                self.em.store(buf, self.em.u64c(0), 8)?;
                self.checked_probe_read(AddrSpace::User, buf, u32::from(arg.size), src)?;
                self.em.load(buf, self.em.i64t(), 8)?
            }
        };
        let narrow = self.em.resize(raw, u32::from(arg.size) * 8, false)?;
        let wide = self.em.resize(narrow, 64, arg.signed)?;
        Ok(Val::Int(self.em.resize(
            wide,
            type_bits(&self.em, ty),
            arg.signed,
        )?))
    }

    /// `cpid`: the value at key 0 of the `cpid` map (0 when unset).
    pub(super) fn cpid(&mut self, ty: &Type) -> R<Val<'ctx>> {
        let map = self
            .maps
            .cpid
            .ok_or_else(|| CodegenError::Internal("The module has no cpid map to read.".into()))?;
        let key = self.alloc(8)?;
        self.em.store(key, self.em.u64c(0), 8)?;
        let found = self.em.map_lookup_elem(map, key)?;
        let (hit, done) = (self.em.block("cpid_hit"), self.em.block("cpid_done"));
        let start = self.em.current()?;
        self.em.cond_br(self.em.is_null(found)?, done, hit)?;
        self.em.at(hit);
        let v = self.em.load(found, self.em.i64t(), 8)?;
        self.em.br(done)?;
        self.em.at(done);
        let phi = self.em.builder.build_phi(self.em.i64t(), "cpid")?;
        phi.add_incoming(&[(&v, hit), (&self.em.u64c(0), start)]);
        let v = phi.as_basic_value().into_int_value();
        Ok(Val::Int(self.em.resize(
            v,
            type_bits(&self.em, ty),
            false,
        )?))
    }
}

fn type_bits(em: &Emitter<'_>, ty: &Type) -> u32 {
    super::stmt::scalar_type(em, ty).get_bit_width()
}
