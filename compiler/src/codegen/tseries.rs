//! Lowering of a `tseries()` update: this CPU's ring of `num_intervals`
//! 24-byte slots (value, meta, epoch; layout stated by the manifest's
//! `MapValueSpec::Tseries`). The epoch is `bpf_ktime_get_tai_ns() /
//! interval_ns` and picks slot `epoch % num_intervals`; a slot holding an
//! older epoch is restarted with the new value, otherwise the value is
//! combined as the aggregation says.

use super::stmt::ProbeGen;
use super::CodegenError;
use crate::manifest::TseriesAgg;
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;

type R<T> = Result<T, CodegenError>;

/// Bytes of one slot.
pub(crate) const SLOT_SIZE: u32 = 24;

/// What the update of one `tseries()` map needs to know.
pub(crate) struct TseriesShape {
    pub interval_ns: u64,
    pub num_intervals: u32,
    pub agg: TseriesAgg,
    pub signed: bool,
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// Stores or combines `v` into the current interval's slot of `ring`.
    pub(crate) fn tseries_update(
        &mut self,
        ring: PointerValue<'ctx>,
        v: IntValue<'ctx>,
        shape: &TseriesShape,
    ) -> R<()> {
        let now = self.em.clock(crate::ir::Clock::Tai)?;
        let bl = &self.em.builder;
        let epoch =
            bl.build_int_unsigned_div(now, self.em.u64c(shape.interval_ns.max(1)), "epoch")?;
        let n = self.em.u64c(u64::from(shape.num_intervals.max(1)));
        let idx = bl.build_int_unsigned_rem(epoch, n, "tsidx")?;
        // LLVM knows `idx < n` and would drop the bounds check the verifier
        // needs (it does not track ranges through `%`): a volatile round
        // trip through scratch memory hides the value from the optimiser.
        let cell = self.alloc(8)?;
        let st = self.em.builder.build_store(cell, idx)?;
        st.set_volatile(true)
            .map_err(|e| CodegenError::Llvm(e.to_string()))?;
        let idx = self.em.load(cell, self.em.i64t(), 8)?;
        if let Some(inst) = idx.as_instruction() {
            inst.set_volatile(true)
                .map_err(|e| CodegenError::Llvm(e.to_string()))?;
        }
        let (inb, fresh, same, out) = (
            self.em.block("ts_slot"),
            self.em.block("ts_fresh"),
            self.em.block("ts_same"),
            self.em.block("ts_done"),
        );
        // The bounds check is what lets the verifier accept the offset.
        let ok = self
            .em
            .builder
            .build_int_compare(IntPredicate::ULT, idx, n, "tsinb")?;
        self.em.cond_br(ok, inb, out)?;
        self.em.at(inb);
        let off =
            self.em
                .builder
                .build_int_mul(idx, self.em.u64c(u64::from(SLOT_SIZE)), "tsoff")?;
        let slot = self.em.offset_dyn(ring, off)?;
        let meta_p = self.em.offset(slot, 8)?;
        let epoch_p = self.em.offset(slot, 16)?;
        let have = self.em.load(epoch_p, self.em.i64t(), 8)?;
        let current = self
            .em
            .builder
            .build_int_compare(IntPredicate::EQ, have, epoch, "tscur")?;
        self.em.cond_br(current, same, fresh)?;

        self.em.at(fresh);
        self.em.store(slot, v, 8)?;
        let meta = match shape.agg {
            TseriesAgg::Last => now,
            TseriesAgg::Avg => self.em.u64c(1),
            _ => self.em.u64c(0),
        };
        self.em.store(meta_p, meta, 8)?;
        self.em.store(epoch_p, epoch, 8)?;
        self.em.br(out)?;

        self.em.at(same);
        let old = self.em.load(slot, self.em.i64t(), 8)?;
        let bl = &self.em.builder;
        match shape.agg {
            TseriesAgg::Last => {
                self.em.store(slot, v, 8)?;
                self.em.store(meta_p, now, 8)?;
            }
            TseriesAgg::Sum => {
                let new = bl.build_int_add(old, v, "tssum")?;
                self.em.store(slot, new, 8)?;
            }
            TseriesAgg::Avg => {
                let new = bl.build_int_add(old, v, "tssum")?;
                self.em.store(slot, new, 8)?;
                let count = self.em.load(meta_p, self.em.i64t(), 8)?;
                let count = self
                    .em
                    .builder
                    .build_int_add(count, self.em.u64c(1), "tsn")?;
                self.em.store(meta_p, count, 8)?;
            }
            TseriesAgg::Min | TseriesAgg::Max => {
                let pred = match (shape.agg == TseriesAgg::Max, shape.signed) {
                    (true, true) => IntPredicate::SGT,
                    (true, false) => IntPredicate::UGT,
                    (false, true) => IntPredicate::SLT,
                    (false, false) => IntPredicate::ULT,
                };
                let better = bl.build_int_compare(pred, v, old, "tsbetter")?;
                let new = bl.build_select(better, v, old, "tsbest")?.into_int_value();
                self.em.store(slot, new, 8)?;
            }
        }
        self.em.br(out)?;
        self.em.at(out);
        Ok(())
    }
}
