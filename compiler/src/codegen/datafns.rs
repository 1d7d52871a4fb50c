//! Lowering of the data functions whose values are bytes printed in user
//! space: `buf` (a `u32` length and the bytes read), byte-array tracepoint
//! fields and `pton` constants as buffers, `ntop` (address family and
//! address bytes), `macaddr` (6 bytes), and `memcmp` (a bounded byte loop
//! that does not stop at NUL). Layouts are `manifest::DataKind`'s.

use super::builder::round8;
use super::stmt::{ProbeGen, Val};
use super::CodegenError;
use crate::ir::{AddrSpace, Expr, Type};
use crate::manifest::DataKind;
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;

type R<T> = Result<T, CodegenError>;

/// Where a buffer's bytes start: after its `u32` length and padding.
const BUFFER_DATA: u32 = 8;

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// A zeroed buffer value of capacity `cap` holding `len` bytes (the
    /// caller fills them at `BUFFER_DATA`).
    fn new_buffer(&mut self, cap: u32) -> R<PointerValue<'ctx>> {
        let buf = self.alloc(cap + BUFFER_DATA)?;
        self.em.zero(buf, round8(cap + BUFFER_DATA))?;
        Ok(buf)
    }

    /// `buf(ptr[, len])`: at most `cap` bytes from `ptr` in `space`.
    pub(super) fn buf_read(
        &mut self,
        ptr: &Expr,
        space: AddrSpace,
        len: Option<&Expr>,
        ty: &Type,
    ) -> R<Val<'ctx>> {
        let cap = buffer_cap(ty)?;
        let (src, size) = self.read_source(ptr, len, cap)?;
        let buf = self.new_buffer(cap)?;
        let len32 = self.em.resize(size, 32, false)?;
        self.em.store(buf, len32, 8)?;
        let data = self.em.offset(buf, BUFFER_DATA)?;
        self.checked_read(space, data, size, src, false)?;
        Ok(Val::Str(buf))
    }

    /// The address and byte count of a read of at most `cap` bytes
    /// (`str(p, len)`, `buf(p, len)`): `len` clamped to `cap`, or `cap`.
    pub(super) fn read_source(
        &mut self,
        ptr: &Expr,
        len: Option<&Expr>,
        cap: u32,
    ) -> R<(PointerValue<'ctx>, IntValue<'ctx>)> {
        let addr = self.expr(ptr)?.int()?;
        let addr = self.em.resize(addr, 64, false)?;
        let capv = self.em.u64c(u64::from(cap));
        let size = match len {
            Some(l) => {
                let l = self.expr(l)?.int()?;
                let l = self.em.resize(l, 64, false)?;
                let b = &self.em.builder;
                let big = b.build_int_compare(IntPredicate::UGT, l, capv, "big")?;
                b.build_select(big, capv, l, "len")?.into_int_value()
            }
            None => capv,
        };
        let src = self
            .em
            .builder
            .build_int_to_ptr(addr, self.em.ptr_t(), "src")?;
        Ok((src, size))
    }

    /// Stores `bytes` at `dst` 8 at a time (the last word zero padded).
    pub(super) fn store_bytes(&mut self, dst: PointerValue<'ctx>, bytes: &[u8]) -> R<()> {
        for (i, chunk) in bytes.chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            let p = self.em.offset(dst, (i * 8) as u32)?;
            self.em
                .store(p, self.em.u64c(u64::from_le_bytes(word)), 8)?;
        }
        Ok(())
    }

    /// A buffer of exactly `n` bytes (its length already stored) and where
    /// its bytes go.
    fn full_buffer(&mut self, n: u32) -> R<(PointerValue<'ctx>, PointerValue<'ctx>)> {
        let buf = self.new_buffer(n)?;
        let len = self.em.ctx.i32_type().const_int(u64::from(n), false);
        self.em.store(buf, len, 8)?;
        Ok((buf, self.em.offset(buf, BUFFER_DATA)?))
    }

    /// The `n` raw bytes of a tracepoint array field, as a full buffer.
    pub(super) fn field_bytes(&mut self, offset: u32, n: u32) -> R<Val<'ctx>> {
        let (buf, data) = self.full_buffer(n)?;
        let at = self.em.offset(self.record, offset)?;
        self.em.probe_read(AddrSpace::Kernel, data, n, at)?;
        Ok(Val::Str(buf))
    }

    /// A constant buffer, stored 8 bytes at a time.
    pub(super) fn const_bytes(&mut self, bytes: &[u8]) -> R<Val<'ctx>> {
        let n = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        let (buf, data) = self.full_buffer(n)?;
        self.store_bytes(data, bytes)?;
        Ok(Val::Str(buf))
    }

    /// `ntop(af, addr)`: the family at 0, the address bytes from 8.
    pub(super) fn ntop(&mut self, af: &Expr, addr: &Expr) -> R<Val<'ctx>> {
        let out = self.alloc(DataKind::Inet.size())?;
        self.em.zero(out, DataKind::Inet.size())?;
        let family = self.expr(af)?.int()?;
        let family = self.em.resize(family, 64, true)?;
        self.em.store(out, family, 8)?;
        let dst = self.em.offset(out, 8)?;
        match (&addr.ty, self.expr(addr)?) {
            (Type::Data(DataKind::Buffer { cap }), Val::Str(p)) => {
                let n = (*cap).min(16);
                let src = self.em.offset(p, BUFFER_DATA)?;
                self.em.copy(dst, src, round8(n))?;
            }
            (_, Val::Int(v)) => {
                let v = self.em.resize(v, 32, false)?;
                self.em.store(dst, v, 8)?;
            }
            _ => {
                return Err(CodegenError::Internal(
                    "`ntop()` was given neither an integer nor a buffer.".into(),
                ))
            }
        }
        Ok(Val::Str(out))
    }

    /// `macaddr(addr)`: the first 6 bytes of a buffer (of at least 6; its
    /// allocation is rounded up to 8, so 8 bytes can be copied).
    pub(super) fn macaddr(&mut self, addr: &Expr) -> R<Val<'ctx>> {
        let Val::Str(p) = self.expr(addr)? else {
            return Err(CodegenError::Internal(
                "`macaddr()` was given a scalar, not bytes.".into(),
            ));
        };
        let out = self.alloc(8)?;
        let src = self.em.offset(p, BUFFER_DATA)?;
        self.em.copy(out, src, 8)?;
        let hi = self.em.offset(out, 6)?;
        self.em.store(hi, self.em.ctx.i16_type().const_zero(), 2)?;
        Ok(Val::Str(out))
    }

    /// `debugf(fmt, ...)`: the NUL-terminated format in scratch memory and
    /// the integer arguments, to `bpf_trace_printk`.
    pub(super) fn trace_printk(&mut self, format: &str, args: &[Expr]) -> R<Val<'ctx>> {
        let vals = args
            .iter()
            .map(|a| {
                let v = self.expr(a)?.int()?;
                self.em.resize(v, 64, a.ty.is_signed())
            })
            .collect::<R<Vec<_>>>()?;
        let mut bytes = format.as_bytes().to_vec();
        bytes.push(0);
        let size = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        let buf = self.alloc(size)?;
        self.store_bytes(buf, &bytes)?;
        Ok(Val::Int(self.em.trace_printk(buf, size, &vals)?))
    }

    /// `memcmp(l, r, n)`: the difference of the first differing bytes (as
    /// unsigned), or 0 when the first `n` bytes are equal.
    pub(super) fn memcmp(&mut self, lhs: &Expr, rhs: &Expr, n: u32) -> R<Val<'ctx>> {
        let (cap_l, off_l) = bytes_of(&lhs.ty);
        let (cap_r, off_r) = bytes_of(&rhs.ty);
        let cap = cap_l.min(cap_r).min(n);
        let (Val::Str(pl), Val::Str(pr)) = (self.expr(lhs)?, self.expr(rhs)?) else {
            return Err(CodegenError::Internal(
                "`memcmp()` was given a scalar, not bytes.".into(),
            ));
        };
        if cap == 0 {
            return Ok(Val::Int(self.em.u64c(0)));
        }
        let (pl, pr) = (self.em.offset(pl, off_l)?, self.em.offset(pr, off_r)?);
        let i8t = self.em.ctx.i8_type();
        let r = self.scan_bytes(cap, self.em.u64c(0), |g, i| {
            let a = g.em.load(g.em.offset_dyn(pl, i)?, i8t, 1)?;
            let b = g.em.load(g.em.offset_dyn(pr, i)?, i8t, 1)?;
            let ne =
                g.em.builder
                    .build_int_compare(IntPredicate::NE, a, b, "ne")?;
            let a = g.em.resize(a, 64, false)?;
            let b = g.em.resize(b, 64, false)?;
            let d = g.em.builder.build_int_sub(a, b, "diff")?;
            Ok((ne, d))
        })?;
        Ok(Val::Int(r))
    }
}

/// The capacity of a buffer type.
fn buffer_cap(ty: &Type) -> R<u32> {
    match ty {
        Type::Data(DataKind::Buffer { cap }) => Ok(*cap),
        other => Err(CodegenError::Internal(format!(
            "Expected a buffer, found {other}."
        ))),
    }
}

/// How many bytes a string or buffer value holds, and where they start.
fn bytes_of(ty: &Type) -> (u32, u32) {
    match ty {
        Type::Data(DataKind::Buffer { cap }) => (*cap, BUFFER_DATA),
        Type::Str(n) => (*n, 0),
        _ => (0, 0),
    }
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// `len(@map)`: `bpf_for_each_map_elem` returns how many entries it
    /// visited; the callback only says "go on".
    pub(super) fn map_len(&mut self, map: usize, span: crate::source::Span) -> R<Val<'ctx>> {
        let m = self.maps.user(map)?;
        let i64t = self.em.i64t();
        let (cb, name) = self.static_function("len", &[self.em.ptr_t().into(); 4]);
        let here = self.em.current()?;
        let entry = self.em.ctx.append_basic_block(cb, "entry");
        self.em.builder.position_at_end(entry);
        if let Some(d) = self.debug {
            let scope = d.info.subprogram(cb, &name, d.source, span, true);
            let d = super::debug::ProbeDebug { scope, ..d };
            d.locate(self.em.ctx, &self.em.builder, span);
        }
        self.em.builder.build_return(Some(&i64t.const_zero()))?;
        self.em.at(here);
        if let Some(d) = &self.debug {
            d.locate(self.em.ctx, &self.em.builder, span);
        }
        let null = self.em.ptr_t().const_null();
        let n = self.em.for_each_map_elem(m, cb, null)?;
        Ok(Val::Int(n))
    }

    /// `len(kstack)`/`len(ustack)`: `bpf_get_stack` into `limit` frame
    /// slots; the bytes it wrote, divided by 8 (0 on error).
    pub(super) fn stack_len(
        &mut self,
        kind: crate::manifest::StackKind,
        limit: u8,
    ) -> R<Val<'ctx>> {
        let size = u32::from(limit.max(1)) * 8;
        let buf = self.alloc(size)?;
        let flags = match kind {
            crate::manifest::StackKind::Kernel => 0,
            crate::manifest::StackKind::User => 1 << 8,
        };
        let n = self.em.get_stack(self.ctx_arg, buf, size, flags)?;
        let b = &self.em.builder;
        let neg = b.build_int_compare(IntPredicate::SLT, n, self.em.u64c(0), "neg")?;
        let n = b
            .build_select(neg, self.em.u64c(0), n, "bytes")?
            .into_int_value();
        let frames = b.build_right_shift(n, self.em.u64c(3), false, "frames")?;
        Ok(Val::Int(frames))
    }
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// `path(p)`: `bpf_d_path` into a zeroed string buffer.
    pub(super) fn d_path(&mut self, ptr: &Expr, ty: &Type) -> R<Val<'ctx>> {
        let n = super::stmt::str_len(ty);
        let p = self.expr(ptr)?.int()?;
        let p = self.em.resize(p, 64, false)?;
        let buf = self.alloc(n)?;
        self.em.zero(buf, round8(n))?;
        self.em.d_path(p, buf, n)?;
        Ok(Val::Str(buf))
    }
}
