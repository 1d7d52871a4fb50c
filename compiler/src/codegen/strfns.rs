//! Lowering of the data functions `strlen` (a bounded loop to the first
//! NUL), `strncmp` (the string-equality loop with its bound lowered to `n`)
//! and `bswap` (shifts and masks, one per byte, which LLVM folds into the
//! BPF byte-swap instruction).

use super::stmt::{str_len, ProbeGen, Val};
use super::CodegenError;
use crate::ir::Expr;
use inkwell::values::IntValue;
use inkwell::IntPredicate;

type R<T> = Result<T, CodegenError>;

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// `strlen(s)`: the index of the first NUL, or the buffer size when
    /// there is none.
    pub(super) fn strlen(&mut self, s: &Expr) -> R<Val<'ctx>> {
        let cap = str_len(&s.ty);
        let p = match self.expr(s)? {
            Val::Str(p) => p,
            Val::Int(_) => {
                return Err(CodegenError::Internal(
                    "`strlen()` was given a scalar, not a string.".into(),
                ))
            }
        };
        if cap == 0 {
            return Ok(Val::Int(self.em.u64c(0)));
        }
        let i8t = self.em.ctx.i8_type();
        let len = self.scan_bytes(cap, self.em.u64c(u64::from(cap)), |g, i| {
            let c = g.em.load(g.em.offset_dyn(p, i)?, i8t, 1)?;
            let nul =
                g.em.builder
                    .build_int_compare(IntPredicate::EQ, c, i8t.const_zero(), "nul")?;
            Ok((nul, i))
        })?;
        Ok(Val::Int(len))
    }

    /// A loop over byte indexes `0..cap` (`cap` > 0, a constant, so the
    /// verifier sees a bounded loop): `step` returns whether to stop at
    /// index `i` and the result if so; running off the end gives `at_end`.
    pub(super) fn scan_bytes(
        &mut self,
        cap: u32,
        at_end: IntValue<'ctx>,
        mut step: impl FnMut(&mut Self, IntValue<'ctx>) -> R<(IntValue<'ctx>, IntValue<'ctx>)>,
    ) -> R<IntValue<'ctx>> {
        let start = self.em.current()?;
        let (lp, next, done) = (
            self.em.block("scan_loop"),
            self.em.block("scan_next"),
            self.em.block("scan_done"),
        );
        self.em.br(lp)?;
        self.em.at(lp);
        let i = self.em.builder.build_phi(self.em.i64t(), "i")?;
        let iv = i.as_basic_value().into_int_value();
        let (stop, found) = step(self, iv)?;
        let stopped_in = self.em.current()?;
        self.em.cond_br(stop, done, next)?;
        self.em.at(next);
        let inext = self
            .em
            .builder
            .build_int_add(iv, self.em.u64c(1), "inext")?;
        let more = self.em.builder.build_int_compare(
            IntPredicate::ULT,
            inext,
            self.em.u64c(u64::from(cap)),
            "more",
        )?;
        self.em.cond_br(more, lp, done)?;
        i.add_incoming(&[(&self.em.u64c(0), start), (&inext, next)]);
        self.em.at(done);
        let r = self.em.builder.build_phi(found.get_type(), "scanned")?;
        r.add_incoming(&[(&found, stopped_in), (&at_end, next)]);
        Ok(r.as_basic_value().into_int_value())
    }

    /// `strncmp(a, b, n)`: 0 when equal over `n` bytes, else 1.
    pub(super) fn strncmp(&mut self, lhs: &Expr, rhs: &Expr, n: u32) -> R<Val<'ctx>> {
        let cap = str_len(&lhs.ty).min(str_len(&rhs.ty)).min(n);
        let (a, b) = (self.expr(lhs)?, self.expr(rhs)?);
        let (Val::Str(pa), Val::Str(pb)) = (a, b) else {
            return Err(CodegenError::Internal(
                "`strncmp()` was given a scalar, not a string.".into(),
            ));
        };
        let eq = self.str_eq(pa, pb, cap)?;
        let ne = self.em.builder.build_not(eq, "ne")?;
        let r = self
            .em
            .builder
            .build_int_z_extend(ne, self.em.i64t(), "strncmp")?;
        Ok(Val::Int(r))
    }

    /// `bswap(v)`: the bytes of `v` reversed at its own width.
    pub(super) fn bswap(&mut self, v: &Expr) -> R<Val<'ctx>> {
        let x = self.expr(v)?.int()?;
        let t = x.get_type();
        let bytes = t.get_bit_width() / 8;
        if bytes <= 1 {
            return Ok(Val::Int(x));
        }
        let bl = &self.em.builder;
        let mut out = t.const_zero();
        for i in 0..bytes {
            let byte = bl.build_and(
                bl.build_right_shift(x, t.const_int(u64::from(8 * i), false), false, "b")?,
                t.const_int(0xff, false),
                "byte",
            )?;
            let moved = bl.build_left_shift(
                byte,
                t.const_int(u64::from(8 * (bytes - 1 - i)), false),
                "moved",
            )?;
            out = bl.build_or(out, moved, "bswap")?;
        }
        Ok(Val::Int(out))
    }
}
