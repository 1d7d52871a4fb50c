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
use inkwell::IntPredicate;

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

    /// `$s[i]`: the byte at `i` of a string buffer, sign-extended from 8
    /// bits; 0 when `i` is past the buffer (the bound check also proves
    /// the access safe to the verifier).
    pub(super) fn str_byte(&mut self, base: &Expr, index: &Expr) -> R<Val<'ctx>> {
        let cap = match base.ty {
            Type::Str(n) => n,
            _ => 0,
        };
        let p = self.expr(base)?.str()?;
        let i = self.expr(index)?.int()?;
        let i = self.em.resize(i, 64, index.ty.is_signed())?;
        let i8t = self.em.int_type(8);
        let (inb, done) = (self.em.block("str_byte"), self.em.block("str_byte_done"));
        let ok = self.em.builder.build_int_compare(
            IntPredicate::ULT,
            i,
            self.em.u64c(u64::from(cap)),
            "inb",
        )?;
        let outside = self.em.current()?;
        self.em.cond_br(ok, inb, done)?;
        self.em.at(inb);
        let b = self.em.load(self.em.offset_dyn(p, i)?, i8t, 1)?;
        self.em.br(done)?;
        self.em.at(done);
        let v = self.em.builder.build_phi(i8t, "byte")?;
        v.add_incoming(&[(&i8t.const_zero(), outside), (&b, inb)]);
        Ok(Val::Int(v.as_basic_value().into_int_value()))
    }

    /// An iterator's program runs once more after the last object, with a
    /// null object pointer (the field after `meta` in every
    /// `struct bpf_iter__NAME`): that call returns at once, as in bpftrace.
    pub(super) fn skip_iterator_end(&mut self) -> R<()> {
        let at = self.em.offset(self.ctx_arg, 8)?;
        let object = self.em.load(at, self.em.i64t(), 8)?;
        let end = self.em.builder.build_int_compare(
            IntPredicate::EQ,
            object,
            self.em.u64c(0),
            "iter_end",
        )?;
        let (stop, body) = (self.em.block("iter_end"), self.em.block("iter_object"));
        self.em.cond_br(end, stop, body)?;
        self.em.at(stop);
        self.em.ret0()?;
        self.em.at(body);
        Ok(())
    }
}
