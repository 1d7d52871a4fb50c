//! Lowers reads of kernel (or user) memory through C types: `Deref` copies
//! the value's bytes with `bpf_probe_read_{kernel,user}` into scratch
//! memory (zeroed first, and zeroed by the helper when the read faults, so
//! a failed read is 0 as in bpftrace). Integers and pointers are then
//! loaded at their width; strings and structs stay in the buffer.

use super::builder::round8;
use super::stmt::{ProbeGen, Val};
use super::CodegenError;

type R<T> = Result<T, CodegenError>;
use crate::ir::{AddrSpace, Expr, Type};

impl<'ctx> ProbeGen<'_, 'ctx> {
    pub(super) fn deref(&mut self, addr: &Expr, space: AddrSpace, ty: &Type) -> R<Val<'ctx>> {
        let addr = self.expr(addr)?.int()?;
        let addr = self.em.resize(addr, 64, false)?;
        let size = ty.size();
        let buf = self.alloc(size)?;
        self.em.zero(buf, round8(size))?;
        let src = self
            .em
            .builder
            .build_int_to_ptr(addr, self.em.ptr_t(), "src")?;
        self.em.probe_read(space, buf, size, src)?;
        match ty {
            Type::Int { bits, .. } => {
                let v = self.em.load(buf, self.em.int_type(u32::from(*bits)), 1)?;
                Ok(Val::Int(v))
            }
            Type::Ptr { .. } | Type::Bool => {
                let v = self
                    .em
                    .load(buf, super::stmt::scalar_type(&self.em, ty), 1)?;
                Ok(Val::Int(v))
            }
            _ => Ok(Val::Str(buf)),
        }
    }

    /// The field at `offset` of a struct value: loaded at its width
    /// (unaligned), or its buffer for strings and nested structs.
    pub(super) fn struct_field(&mut self, base: &Expr, offset: u32, ty: &Type) -> R<Val<'ctx>> {
        let p = self.expr(base)?.str()?;
        let at = self.em.offset(p, offset)?;
        match ty {
            Type::Int { bits, .. } => Ok(Val::Int(self.em.load(
                at,
                self.em.int_type(u32::from(*bits)),
                1,
            )?)),
            Type::Ptr { .. } | Type::Bool => Ok(Val::Int(self.em.load(
                at,
                super::stmt::scalar_type(&self.em, ty),
                1,
            )?)),
            _ => Ok(Val::Str(at)),
        }
    }
}
