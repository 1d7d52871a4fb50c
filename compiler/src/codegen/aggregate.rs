//! Lowering of aggregations and of the map actions. Every aggregation map
//! is a per-CPU hash whose value layout is fixed here (and described in the
//! manifest's `MapValueSpec` by `value_spec`): an update finds the entry
//! or inserts a zeroed one, then changes this CPU's copy in place. Reading
//! `avg`/`min`/`max` maps in an expression combines the per-CPU copies in a
//! bounded loop. `print`/`clear`/`zero`/`print(value)` send an event record
//! whose meaning the manifest states (`action_specs`).

use super::builder::round8;
use super::maps::{slot_size, value_kind};
use super::stmt::{ProbeGen, Val};
use super::CodegenError;
use crate::ir::{Action, AggregateOp, Expr, MapValue, Program};
use crate::manifest::{EventSpec, Field, MapValueSpec};
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;

type R<T> = Result<T, CodegenError>;

/// Strings `join()` reads at most, and the bytes of each (bpftrace's
/// `join_argnum` and `join_argsize` defaults).
pub(crate) const JOIN_MAX_ARGS: u32 = 16;
pub(crate) const JOIN_ARG_SIZE: u32 = 1024;

/// `map_update_elem` flag: only create.
const BPF_NOEXIST: u64 = 1;
/// Loops over CPU ids stop here at the latest, so the verifier sees an end.
const MAX_CPUS: u64 = 1024;
/// The bound for `min`/`max` reads, whose loop body branches: the verifier
/// follows one path through every iteration and gives up past 8192 jumps.
const MAX_CPUS_MIN_MAX: u64 = 256;

/// Buckets of a `hist()` with `2^bits` buckets per power of two: one for
/// negative values, `2^bits` for the values below `2^bits`, then `2^bits`
/// per power up to 2^64.
pub(crate) fn hist_buckets(bits: u8) -> u32 {
    let n = 1u32 << bits;
    (65 - u32::from(bits)) * n + 1
}

/// Buckets of an `lhist()`: underflow, one per step, overflow.
pub(crate) fn lhist_buckets(min: i64, max: i64, step: i64) -> u32 {
    let inner = (i128::from(max) - i128::from(min)) / i128::from(step.max(1));
    u32::try_from(inner + 2).unwrap_or(u32::MAX)
}

/// Bytes of one CPU's value of an aggregation map (`None` for plain maps).
pub(crate) fn value_size(v: &MapValue) -> Option<u32> {
    Some(match v {
        MapValue::Plain(_) => return None,
        MapValue::Count | MapValue::Sum { .. } => 8,
        MapValue::Avg { .. }
        | MapValue::Stats { .. }
        | MapValue::Min { .. }
        | MapValue::Max { .. } => 16,
        MapValue::Hist { bits } => hist_buckets(*bits) * 8,
        MapValue::Lhist { min, max, step } => lhist_buckets(*min, *max, *step) * 8,
        MapValue::Tseries { num_intervals, .. } => num_intervals * super::tseries::SLOT_SIZE,
    })
}

/// How the manifest describes a map's values.
pub(crate) fn value_spec(v: &MapValue) -> MapValueSpec {
    match v {
        MapValue::Plain(t) => MapValueSpec::Plain(value_kind(t)),
        MapValue::Count => MapValueSpec::Count,
        MapValue::Sum { signed } => MapValueSpec::Sum { signed: *signed },
        MapValue::Avg { signed } => MapValueSpec::Avg { signed: *signed },
        MapValue::Min { signed } => MapValueSpec::Min { signed: *signed },
        MapValue::Max { signed } => MapValueSpec::Max { signed: *signed },
        MapValue::Stats { signed } => MapValueSpec::Stats { signed: *signed },
        MapValue::Hist { bits } => MapValueSpec::Hist { bits: *bits },
        MapValue::Lhist { min, max, step } => MapValueSpec::Lhist {
            min: *min,
            max: *max,
            step: *step,
        },
        MapValue::Tseries {
            interval_ns,
            num_intervals,
            agg,
            signed,
        } => MapValueSpec::Tseries {
            interval_ns: *interval_ns,
            num_intervals: *num_intervals,
            agg: *agg,
            signed: *signed,
        },
    }
}

/// The manifest events of the program's actions, in action order (they
/// follow the printf formats and the exit event).
pub(crate) fn action_specs(program: &Program) -> Vec<EventSpec> {
    let elf = |m: &usize| format!("m{m}");
    program
        .actions
        .iter()
        .map(|a| match a {
            Action::PrintMap { map, top, div } => EventSpec::PrintMap {
                map: elf(map),
                top: *top,
                div: *div,
            },
            Action::ClearMap { map } => EventSpec::ClearMap { map: elf(map) },
            Action::ZeroMap { map } => EventSpec::ZeroMap { map: elf(map) },
            Action::Time(format) => EventSpec::Time {
                format: format.clone(),
            },
            Action::Join { sep, .. } => EventSpec::Join {
                sep: sep.clone(),
                max_args: JOIN_MAX_ARGS,
                arg_size: JOIN_ARG_SIZE,
            },
            Action::System { format } => {
                let (format, args) = super::events::format_spec(program, *format);
                EventSpec::System { format, args }
            }
            Action::Cat { format } => {
                let (format, args) = super::events::format_spec(program, *format);
                EventSpec::Cat { format, args }
            }
            Action::Message {
                format,
                error,
                span,
            } => {
                let (format, args) = super::events::format_spec(program, *format);
                EventSpec::Message {
                    error: *error,
                    format,
                    args,
                    start: span.start,
                    end: span.end,
                }
            }
            Action::AssertFailed { message, span } => EventSpec::AssertFailed {
                message: message.clone(),
                start: span.start,
                end: span.end,
            },
            Action::Unwatch => EventSpec::Unwatch,
            Action::PrintValue(t) => EventSpec::PrintValue {
                value: Field {
                    offset: 8,
                    kind: value_kind(t),
                },
            },
        })
        .collect()
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// Updates this CPU's copy of an aggregation map entry.
    pub fn aggregate(&mut self, map: usize, key: &[Expr], op: &AggregateOp) -> R<()> {
        let operand = match op.operand() {
            Some(e) => {
                let v = self.expr(e)?.int()?;
                Some(self.em.resize(v, 64, e.ty.is_signed())?)
            }
            None => None,
        };
        let def = self.map_def(map)?;
        let size = value_size(&def.value)
            .ok_or_else(|| CodegenError::Internal("An aggregation updates a plain map.".into()))?;
        let k = self.map_key(map, key)?;
        let done = self.em.block("agg_done");
        let slot = self.lookup_or_init(map, k, size, done)?;
        let one = self.em.u64c(1);
        let v = operand.unwrap_or(one);
        match &def.value {
            MapValue::Count | MapValue::Sum { .. } => self.add_at(slot, 0, v)?,
            MapValue::Avg { .. } | MapValue::Stats { .. } => {
                self.add_at(slot, 0, one)?;
                self.add_at(slot, 8, v)?;
            }
            MapValue::Min { signed } => self.keep_best(slot, v, *signed, false)?,
            MapValue::Max { signed } => self.keep_best(slot, v, *signed, true)?,
            MapValue::Hist { bits } => {
                let idx = self.hist_index(v, *bits, op_signed(op))?;
                self.bump_bucket(slot, idx, hist_buckets(*bits))?;
            }
            MapValue::Lhist { min, max, step } => {
                let n = lhist_buckets(*min, *max, *step);
                let idx = self.lhist_index(v, *min, *max, *step, n)?;
                self.bump_bucket(slot, idx, n)?;
            }
            MapValue::Tseries {
                interval_ns,
                num_intervals,
                agg,
                signed,
            } => {
                let shape = super::tseries::TseriesShape {
                    interval_ns: *interval_ns,
                    num_intervals: *num_intervals,
                    agg: *agg,
                    signed: *signed,
                };
                self.tseries_update(slot, v, &shape)?;
            }
            MapValue::Plain(_) => {}
        }
        self.em.br(done)?;
        self.em.at(done);
        Ok(())
    }

    /// This CPU's value of `key`, inserting a zeroed one first when the key
    /// is new; branches to `done` when the map is full.
    fn lookup_or_init(
        &mut self,
        map: usize,
        key: PointerValue<'ctx>,
        size: u32,
        done: inkwell::basic_block::BasicBlock<'ctx>,
    ) -> R<PointerValue<'ctx>> {
        let m = self.maps.user(map)?;
        let found = self.em.map_lookup_elem(m, key)?;
        let start = self.em.current()?;
        let (init, have, ok) = (
            self.em.block("agg_init"),
            self.em.block("agg_have"),
            self.em.block("agg_ok"),
        );
        self.em.cond_br(self.em.is_null(found)?, init, have)?;
        self.em.at(init);
        let buf = self.alloc(size)?;
        self.em.zero(buf, round8(size))?;
        self.checked_map_update(m, key, buf, BPF_NOEXIST)?;
        let again = self.em.map_lookup_elem(m, key)?;
        let init_end = self.em.current()?;
        self.em.br(have)?;
        self.em.at(have);
        let phi = self.em.builder.build_phi(self.em.ptr_t(), "slot")?;
        phi.add_incoming(&[(&found, start), (&again, init_end)]);
        let slot = phi.as_basic_value().into_pointer_value();
        self.em.cond_br(self.em.is_null(slot)?, done, ok)?;
        self.em.at(ok);
        Ok(slot)
    }

    /// `*(u64 *)(slot + off) += v`.
    fn add_at(&mut self, slot: PointerValue<'ctx>, off: u32, v: IntValue<'ctx>) -> R<()> {
        let p = self.em.offset(slot, off)?;
        let old = self.em.load(p, self.em.i64t(), 8)?;
        let new = self.em.builder.build_int_add(old, v, "agg")?;
        self.em.store(p, new, 8)
    }

    /// min/max: stores `v` when this CPU has no value yet or `v` is better.
    fn keep_best(
        &mut self,
        slot: PointerValue<'ctx>,
        v: IntValue<'ctx>,
        signed: bool,
        max: bool,
    ) -> R<()> {
        let bl = &self.em.builder;
        let cur = self.em.load(slot, self.em.i64t(), 8)?;
        let set_p = self.em.offset(slot, 8)?;
        let set = self.em.load(set_p, self.em.i64t(), 8)?;
        let pred = match (max, signed) {
            (true, true) => IntPredicate::SGT,
            (true, false) => IntPredicate::UGT,
            (false, true) => IntPredicate::SLT,
            (false, false) => IntPredicate::ULT,
        };
        let better = bl.build_int_compare(pred, v, cur, "better")?;
        let unset = bl.build_int_compare(IntPredicate::EQ, set, self.em.u64c(0), "unset")?;
        let take = bl.build_or(better, unset, "take")?;
        let new = bl.build_select(take, v, cur, "best")?.into_int_value();
        self.em.store(slot, new, 8)?;
        self.em.store(set_p, self.em.u64c(1), 8)
    }

    /// Adds one to bucket `idx` of `n`; the bounds check is what lets the
    /// verifier accept the variable offset.
    fn bump_bucket(&mut self, slot: PointerValue<'ctx>, idx: IntValue<'ctx>, n: u32) -> R<()> {
        let (inb, out) = (self.em.block("bucket"), self.em.block("bucket_done"));
        let ok = self.em.builder.build_int_compare(
            IntPredicate::ULT,
            idx,
            self.em.u64c(u64::from(n)),
            "inb",
        )?;
        self.em.cond_br(ok, inb, out)?;
        self.em.at(inb);
        let off = self
            .em
            .builder
            .build_int_mul(idx, self.em.u64c(8), "boff")?;
        let p = self.em.offset_dyn(slot, off)?;
        let old = self.em.load(p, self.em.i64t(), 8)?;
        let new = self.em.builder.build_int_add(old, self.em.u64c(1), "bc")?;
        self.em.store(p, new, 8)?;
        self.em.br(out)?;
        self.em.at(out);
        Ok(())
    }

    /// The `hist()` bucket of `v`: 0 for negative values, `v + 1` below
    /// `2^bits`, else `(p - bits)·2^bits + (v >> (p - bits)) + 1` where
    /// `p = floor(log2 v)`.
    fn hist_index(&mut self, v: IntValue<'ctx>, bits: u8, signed: bool) -> R<IntValue<'ctx>> {
        let bl = &self.em.builder;
        let c = |x: u64| self.em.u64c(x);
        let n = 1u64 << bits;
        // floor(log2 v) by binary search, branch-free.
        let mut x = v;
        let mut p = c(0);
        for sh in [32u64, 16, 8, 4, 2, 1] {
            let big = bl.build_int_compare(IntPredicate::UGE, x, c(1 << sh), "big")?;
            let shifted = bl.build_right_shift(x, c(sh), false, "xs")?;
            x = bl.build_select(big, shifted, x, "x")?.into_int_value();
            let plus = bl.build_int_add(p, c(sh), "pp")?;
            p = bl.build_select(big, plus, p, "p")?.into_int_value();
        }
        let s = bl.build_int_sub(p, c(u64::from(bits)), "s")?;
        let high = bl.build_int_add(
            bl.build_int_add(
                bl.build_int_mul(s, c(n), "sn")?,
                bl.build_right_shift(v, s, false, "vs")?,
                "hi0",
            )?,
            c(1),
            "hi",
        )?;
        let low = bl.build_int_add(v, c(1), "lo")?;
        let small = bl.build_int_compare(IntPredicate::ULT, v, c(n), "small")?;
        let idx = bl.build_select(small, low, high, "idx")?.into_int_value();
        if !signed {
            return Ok(idx);
        }
        let neg = bl.build_int_compare(IntPredicate::SLT, v, c(0), "neg")?;
        Ok(bl.build_select(neg, c(0), idx, "hidx")?.into_int_value())
    }

    /// The `lhist()` bucket of `v` (compared as a signed value).
    fn lhist_index(
        &mut self,
        v: IntValue<'ctx>,
        min: i64,
        max: i64,
        step: i64,
        n: u32,
    ) -> R<IntValue<'ctx>> {
        let bl = &self.em.builder;
        let c = |x: u64| self.em.u64c(x);
        let under = bl.build_int_compare(IntPredicate::SLT, v, c(min as u64), "under")?;
        let over = bl.build_int_compare(IntPredicate::SGE, v, c(max as u64), "over")?;
        let rel = bl.build_int_sub(v, c(min as u64), "rel")?;
        let q = bl.build_int_unsigned_div(rel, c(step as u64), "q")?;
        let mid = bl.build_int_add(q, c(1), "mid")?;
        let last = c(u64::from(n) - 1);
        let idx = bl.build_select(over, last, mid, "lo")?.into_int_value();
        Ok(bl.build_select(under, c(0), idx, "lidx")?.into_int_value())
    }

    /// Reads an `avg`/`min`/`max` map entry as one value, combining the
    /// per-CPU copies; a missing entry reads as 0.
    pub fn aggregate_read(&mut self, map: usize, key: PointerValue<'ctx>) -> R<Val<'ctx>> {
        let value = self.map_def(map)?.value.clone();
        let bound = match value {
            MapValue::Min { .. } | MapValue::Max { .. } => MAX_CPUS_MIN_MAX,
            _ => MAX_CPUS,
        };
        // (a, b) is (count, total) for avg and (best, any set) for min/max.
        let [fa, fb] = self.fold_percpu(map, key, bound, |g, found, [a_v, b_v]| {
            let i64t = g.em.i64t();
            let x0 = g.em.load(found, i64t, 8)?;
            let p8 = g.em.offset(found, 8)?;
            let x1 = g.em.load(p8, i64t, 8)?;
            let bl = &g.em.builder;
            Ok(match &value {
                MapValue::Min { signed } | MapValue::Max { signed } => {
                    let max = matches!(value, MapValue::Max { .. });
                    let pred = match (max, *signed) {
                        (true, true) => IntPredicate::SGT,
                        (true, false) => IntPredicate::UGT,
                        (false, true) => IntPredicate::SLT,
                        (false, false) => IntPredicate::ULT,
                    };
                    let this_set =
                        bl.build_int_compare(IntPredicate::NE, x1, g.em.u64c(0), "cs")?;
                    let none_yet =
                        bl.build_int_compare(IntPredicate::EQ, b_v, g.em.u64c(0), "ny")?;
                    let better = bl.build_int_compare(pred, x0, a_v, "bt")?;
                    let better = bl.build_or(better, none_yet, "bt2")?;
                    let take = bl.build_and(this_set, better, "tk")?;
                    let best = bl.build_select(take, x0, a_v, "best")?.into_int_value();
                    let any = bl.build_or(b_v, x1, "any")?;
                    [best, any]
                }
                _ => [
                    bl.build_int_add(a_v, x0, "cnt")?,
                    bl.build_int_add(b_v, x1, "tot")?,
                ],
            })
        })?;
        Ok(Val::Int(match value {
            MapValue::Avg { signed } => self.divide(true, fb, fa, signed)?,
            _ => fa,
        }))
    }

    /// Sends the event record of action `action` (with the printed value for
    /// `print(value)`).
    pub fn action(&mut self, action: usize, args: &[Expr]) -> R<()> {
        let index = self.program.formats.len() + 1 + action;
        if let Some(Action::Join { space, .. }) = self.program.actions.get(action) {
            let arr = args
                .first()
                .ok_or_else(|| CodegenError::Internal("join() has no array argument.".into()))?;
            return self.join(index, *space, arr);
        }
        if let Some(
            Action::System { format } | Action::Cat { format } | Action::Message { format, .. },
        ) = self.program.actions.get(action)
        {
            return self.format_record(index as u64, *format, args);
        }
        let vals = args.iter().map(|e| self.expr(e)).collect::<R<Vec<_>>>()?;
        let size = 8 + args.iter().map(|e| slot_size(&e.ty)).sum::<u32>();
        let rec = self.alloc(size)?;
        self.em.store(rec, self.em.u64c(index as u64), 8)?;
        if let (Some(e), Some(v)) = (args.first(), vals.first()) {
            let dst = self.em.offset(rec, 8)?;
            self.record_arg(dst, &e.ty, &e.ty, *v)?;
        }
        self.send(rec, size)
    }

    /// `join(arr)`: reads up to `JOIN_MAX_ARGS` pointers from `arr`, stopping
    /// at the first NULL, and each string into its slot of the record; the
    /// count of strings read goes at offset 8.
    fn join(&mut self, index: usize, space: crate::ir::AddrSpace, arr: &Expr) -> R<()> {
        let base = self.expr(arr)?.int()?;
        let size = 16 + JOIN_MAX_ARGS * JOIN_ARG_SIZE;
        let rec = self.alloc(size)?;
        self.em.zero(rec, size)?;
        self.em.store(rec, self.em.u64c(index as u64), 8)?;
        let slot = self.alloc(8)?;
        let end = self.em.block("join_end");
        for i in 0..JOIN_MAX_ARGS {
            let at = self
                .em
                .builder
                .build_int_add(base, self.em.u64c(u64::from(i) * 8), "argp")?;
            let at = self
                .em
                .builder
                .build_int_to_ptr(at, self.em.ptr_t(), "argpp")?;
            self.em.probe_read(space, slot, 8, at)?;
            let p = self.em.load(slot, self.em.i64t(), 8)?;
            let read = self.em.block("join_arg");
            let null = self.em.builder.build_int_compare(
                IntPredicate::EQ,
                p,
                self.em.u64c(0),
                "argnull",
            )?;
            self.em.cond_br(null, end, read)?;
            self.em.at(read);
            let count = self.em.offset(rec, 8)?;
            self.em.store(count, self.em.u64c(u64::from(i) + 1), 8)?;
            let dst = self.em.offset(rec, 16 + i * JOIN_ARG_SIZE)?;
            let src = self
                .em
                .builder
                .build_int_to_ptr(p, self.em.ptr_t(), "arg")?;
            let n = self.em.u64c(u64::from(JOIN_ARG_SIZE));
            self.em.probe_read_str(space, dst, n, src)?;
        }
        self.em.br(end)?;
        self.em.at(end);
        self.send(rec, size)
    }

    /// Sends an event record; when the ring buffer refuses it, counts it
    /// in this CPU's slot of the `lost` map.
    pub fn send(&mut self, rec: PointerValue<'ctx>, size: u32) -> R<()> {
        let r = self.em.ringbuf_output(self.maps.events, rec, size)?;
        let failed =
            self.em
                .builder
                .build_int_compare(IntPredicate::NE, r, self.em.u64c(0), "lost")?;
        let (count, done) = (self.em.block("lost_count"), self.em.block("sent"));
        self.em.cond_br(failed, count, done)?;
        self.em.at(count);
        let key = self.alloc(8)?;
        self.em.store(key, self.em.u64c(0), 8)?;
        let slot = self.em.map_lookup_elem(self.maps.lost, key)?;
        let bump = self.em.block("lost_bump");
        self.em.cond_br(self.em.is_null(slot)?, done, bump)?;
        self.em.at(bump);
        self.add_at(slot, 0, self.em.u64c(1))?;
        self.em.br(done)?;
        self.em.at(done);
        Ok(())
    }

    /// `delete(@m, key)` (true when the key existed) and `has_key(@m, key)`.
    pub fn map_entry_query(&mut self, map: usize, key: &[Expr], delete: bool) -> R<Val<'ctx>> {
        let k = self.map_key(map, key)?;
        let m = self.maps.user(map)?;
        let bl = &self.em.builder;
        if delete {
            let r = self.em.map_delete_elem(m, k)?;
            let ok = bl.build_int_compare(IntPredicate::EQ, r, self.em.u64c(0), "deleted")?;
            return Ok(Val::Int(ok));
        }
        let found = self.em.map_lookup_elem(m, k)?;
        Ok(Val::Int(self.em.builder.build_is_not_null(found, "has")?))
    }
}

/// Whether an aggregation's operand is signed (negative values exist).
fn op_signed(op: &AggregateOp) -> bool {
    op.operand().is_some_and(|e| e.ty.is_signed())
}
