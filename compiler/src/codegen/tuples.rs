//! Lowering of tuples. A tuple value is a pointer (`Val::Str`, like a
//! string) to an 8-aligned scratch buffer laid out by `ir::tuple_layout`:
//! integers and bools widened to 8 bytes, strings zero padded, nested
//! tuples inline. The buffer is zeroed first so tuples compare and hash
//! byte for byte as map keys and values.

use super::builder::round8;
use super::stmt::{str_len, ProbeGen, Val};
use super::CodegenError;
use crate::ir::{tuple_layout, Expr, Type};
use inkwell::values::PointerValue;

type R<T> = Result<T, CodegenError>;

impl<'ctx> ProbeGen<'_, 'ctx> {
    /// Builds a tuple of `elems` (already of the element types).
    pub(super) fn tuple_literal(&mut self, elems: &[Expr], ty: &Type) -> R<Val<'ctx>> {
        let types = tuple_types(ty)?;
        let (offsets, size) = tuple_layout(types);
        let vals = elems.iter().map(|e| self.expr(e)).collect::<R<Vec<_>>>()?;
        let buf = self.alloc(size)?;
        self.em.zero(buf, round8(size))?;
        for ((off, e), v) in offsets.iter().zip(elems).zip(vals) {
            let dst = self.em.offset(buf, *off)?;
            self.write_slot(dst, &e.ty, v)?;
        }
        Ok(Val::Str(buf))
    }

    /// Writes `v` of type `ty` into its slot at `dst`.
    pub(super) fn write_slot(&mut self, dst: PointerValue<'ctx>, ty: &Type, v: Val<'ctx>) -> R<()> {
        match (ty, v) {
            (Type::Str(n), Val::Str(p)) => self.copy_str(dst, *n, p, *n),
            (
                Type::Tuple(_) | Type::Record { .. } | Type::Struct(_) | Type::Data(_),
                Val::Str(p),
            ) => self.em.copy(dst, p, round8(ty.size())),
            (_, Val::Int(i)) => {
                let wide = self.em.resize(i, 64, ty.is_signed())?;
                self.em.store(dst, wide, 8)
            }
            _ => Err(CodegenError::Internal(
                "A tuple element does not match its type.".into(),
            )),
        }
    }

    /// Reads element `index` of the tuple `base`.
    pub(super) fn tuple_get(&mut self, base: &Expr, index: usize, ty: &Type) -> R<Val<'ctx>> {
        let types = tuple_types(&base.ty)?;
        let (offsets, _) = tuple_layout(types);
        let off = offsets.get(index).copied().ok_or_else(|| {
            CodegenError::Internal(format!("Tuple index {index} is out of range."))
        })?;
        let p = self.expr(base)?.str()?;
        let at = self.em.offset(p, off)?;
        match ty {
            Type::Str(_)
            | Type::Tuple(_)
            | Type::Record { .. }
            | Type::Struct(_)
            | Type::Data(_) => Ok(Val::Str(at)),
            Type::Bool => {
                let b = self.em.load(at, self.em.ctx.i8_type(), 8)?;
                Ok(Val::Int(self.em.truthy(b)?))
            }
            t => {
                let v = self.em.load(at, self.em.i64t(), 8)?;
                let bits = super::stmt::scalar_type(&self.em, t).get_bit_width();
                Ok(Val::Int(self.em.resize(v, bits, t.is_signed())?))
            }
        }
    }

    /// Copies a string, tuple or stack value of type `ty` into a buffer of
    /// `dst_n` bytes capacity.
    pub(super) fn copy_buffer(
        &mut self,
        dst: PointerValue<'ctx>,
        dst_n: u32,
        src: PointerValue<'ctx>,
        ty: &Type,
    ) -> R<()> {
        match ty {
            Type::Tuple(_)
            | Type::Record { .. }
            | Type::Struct(_)
            | Type::Stack(_)
            | Type::Symbol(_)
            | Type::Named(_)
            | Type::Data(_) => self.em.copy(dst, src, round8(dst_n)),
            _ => self.copy_str(dst, dst_n, src, str_len(ty)),
        }
    }
}

fn tuple_types(ty: &Type) -> R<&[Type]> {
    match ty.tuple_elems() {
        Some(t) => Ok(t),
        None => Err(CodegenError::Internal(format!(
            "Expected a tuple, found {ty}."
        ))),
    }
}
