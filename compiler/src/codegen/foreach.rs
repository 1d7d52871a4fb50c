//! Loops whose bodies run in a callback: `for ($kv : @map)` through
//! `bpf_for_each_map_elem` (callback `long cb(map, key, value, ctx)`) and
//! `for ($i : a..b)` through `bpf_loop` (callback `long cb(index, ctx)`),
//! so the verifier checks the body once whatever the bounds or the map's
//! size. Callbacks are static functions in `.text`. They cannot see the
//! probe's stack, so a probe with such a loop keeps all its locals in
//! scratch memory, and the callback looks scratch up again and finds them
//! at the same offsets. The callback context is a stack slot holding the
//! probe's context pointer (for `args` and friends). `continue` returns 0
//! from the callback, `break` returns 1; `return` sets a flag in scratch,
//! stops the iteration, and the probe returns when it sees the flag.

use super::builder::round8;
use super::maps::key_layout;
use super::stmt::{LocalSlot, ProbeGen};
use super::CodegenError;
use crate::ir::{Expr, MapValue, Stmt, StmtKind, Type};
use crate::source::Span;
use inkwell::module::Linkage;
use inkwell::values::{FunctionValue, PointerValue};

type R<T> = Result<T, CodegenError>;

/// Most iterations `bpf_loop` accepts.
const MAX_LOOP_ITERATIONS: u64 = 1 << 23;

/// What a callback needs while its body is lowered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Callback<'ctx> {
    /// The scratch word `return` sets to leave the probe.
    pub return_flag: PointerValue<'ctx>,
}

/// How a callback sets its loop variable from its parameters.
enum Feed {
    /// `$kv = (key, value)`: the map, whether its values are per-CPU (then
    /// the value is their sum), the map's key size, the key's slot in the
    /// tuple and the value's size.
    MapEntry {
        map: usize,
        per_cpu: bool,
        key_size: u32,
        key_slot: u32,
        value_size: u32,
    },
    /// `$i = start + index`, `start` at this scratch offset.
    Range { start_off: u32 },
}

/// Whether `stmts` contain a loop lowered to a callback, at any depth.
pub(crate) fn has_for_each(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        StmtKind::ForEach { .. } | StmtKind::ForRange { .. } => true,
        StmtKind::If {
            then, otherwise, ..
        } => has_for_each(then) || has_for_each(otherwise),
        StmtKind::Loop { body, .. } | StmtKind::Unroll { body, .. } | StmtKind::Block(body) => {
            has_for_each(body)
        }
        _ => false,
    })
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    pub(super) fn for_each(&mut self, map: usize, var: usize, body: &[Stmt], span: Span) -> R<()> {
        let def = self.map_def(map)?;
        let (value_size, per_cpu) = match &def.value {
            MapValue::Plain(t) => (t.slot_size().max(8), false),
            MapValue::Count | MapValue::Sum { .. } => (8, true),
            _ => {
                return Err(CodegenError::Internal(
                    "A `for` loop over this kind of aggregation reached code generation.".into(),
                ))
            }
        };
        let feed = Feed::MapEntry {
            map,
            per_cpu,
            key_size: key_layout(&def.key).size,
            key_slot: match def.key.as_slice() {
                [] => 8,
                [one] => one.slot_size(),
                many => Type::Tuple(many.to_vec()).slot_size(),
            },
            value_size,
        };
        let m = self.maps.user(map)?;
        self.with_callback(var, feed, body, span, |g, cb, ctx| {
            g.em.for_each_map_elem(m, cb, ctx).map(|_| ())
        })
    }

    pub(super) fn for_range(
        &mut self,
        var: usize,
        start: &Expr,
        end: &Expr,
        body: &[Stmt],
        span: Span,
    ) -> R<()> {
        let signed = start.ty.is_signed();
        let s = self.expr(start)?.int()?;
        let s = self.em.resize(s, 64, signed)?;
        let e = self.expr(end)?.int()?;
        let e = self.em.resize(e, 64, signed)?;
        let start_off = self.bump;
        let start_slot = self.alloc(8)?;
        self.em.store(start_slot, s, 8)?;
        // count = end > start ? min(end - start, MAX) : 0
        let b = &self.em.builder;
        let pred = if signed {
            inkwell::IntPredicate::SGT
        } else {
            inkwell::IntPredicate::UGT
        };
        let more = b.build_int_compare(pred, e, s, "more")?;
        let diff = b.build_int_sub(e, s, "diff")?;
        let cap = self.em.u64c(MAX_LOOP_ITERATIONS);
        let big = b.build_int_compare(inkwell::IntPredicate::UGT, diff, cap, "big")?;
        let diff = b.build_select(big, cap, diff, "capped")?.into_int_value();
        let count = b
            .build_select(more, diff, self.em.u64c(0), "count")?
            .into_int_value();
        // An empty range skips the call: the verifier mishandles a callback
        // that a constant zero count makes unreachable.
        self.with_callback(var, Feed::Range { start_off }, body, span, |g, cb, ctx| {
            let zero = g.em.builder.build_int_compare(
                inkwell::IntPredicate::EQ,
                count,
                g.em.u64c(0),
                "empty",
            )?;
            let (call, done) = (g.em.block("range_call"), g.em.block("range_done"));
            g.em.cond_br(zero, done, call)?;
            g.em.at(call);
            g.em.loop_(count, cb, ctx)?;
            g.em.br(done)?;
            g.em.at(done);
            Ok(())
        })
    }

    /// Creates a callback running `body` with the parameters `feed` needs,
    /// lowers it, emits the call with `call(self, callback, ctx)`, and
    /// leaves the probe afterwards if the body returned.
    fn with_callback(
        &mut self,
        var: usize,
        feed: Feed,
        body: &[Stmt],
        span: Span,
        call: impl FnOnce(&mut Self, FunctionValue<'ctx>, PointerValue<'ctx>) -> R<()>,
    ) -> R<()> {
        let ctx_slot = self.entry_alloca()?;
        self.em.builder.build_store(ctx_slot, self.ctx_arg)?;
        let flag_off = self.bump;
        let flag = self.alloc(8)?;
        self.em.store(flag, self.em.u64c(0), 8)?;
        let i64t = self.em.i64t();
        let ptr = self.em.ptr_t().into();
        let arg_types = match feed {
            Feed::MapEntry { .. } => vec![ptr; 4],
            Feed::Range { .. } => vec![i64t.into(), ptr],
        };
        let (cb, name) = self.static_function("cb", &arg_types);
        call(self, cb, ctx_slot)?;
        let after_call = self.em.current()?;

        let saved = (
            self.em.func,
            self.scratch,
            self.ctx_arg,
            std::mem::take(&mut self.locals),
            std::mem::take(&mut self.loops),
            self.callback,
            self.debug,
        );
        self.em.func = cb;
        if let Some(d) = saved.6 {
            let d = super::debug::ProbeDebug {
                scope: d.info.subprogram(cb, &name, d.source, span, true),
                ..d
            };
            d.locate(self.em.ctx, &self.em.builder, span);
            self.debug = Some(d);
        }
        let result = self.callback_body(cb, &saved.3, var, feed, flag_off, body);
        self.em.func = saved.0;
        self.scratch = saved.1;
        self.ctx_arg = saved.2;
        self.locals = saved.3;
        self.loops = saved.4;
        self.callback = saved.5;
        self.debug = saved.6;
        self.em.at(after_call);
        if let Some(d) = &self.debug {
            d.locate(self.em.ctx, &self.em.builder, span);
        }
        result?;

        let set = self.em.load(flag, i64t, 8)?;
        let set = self.em.truthy(set)?;
        let (leave, go) = (self.em.block("cb_return"), self.em.block("cb_done"));
        self.em.cond_br(set, leave, go)?;
        self.em.at(leave);
        self.leave_probe()?;
        self.em.at(go);
        Ok(())
    }

    fn callback_body(
        &mut self,
        cb: FunctionValue<'ctx>,
        outer: &[LocalSlot<'ctx>],
        var: usize,
        feed: Feed,
        flag_off: u32,
        body: &[Stmt],
    ) -> R<()> {
        let entry = self.em.block("entry");
        self.em.at(entry);
        let param = |i: u32| {
            cb.get_nth_param(i)
                .ok_or_else(|| CodegenError::Internal("A loop callback lacks a parameter.".into()))
        };
        let ctx_param = param(cb.count_params().saturating_sub(1))?.into_pointer_value();
        let zero_key = self
            .em
            .builder
            .build_alloca(self.em.ctx.i32_type(), "zero")?;
        self.em
            .store(zero_key, self.em.ctx.i32_type().const_zero(), 4)?;
        self.ctx_arg = self
            .em
            .builder
            .build_load(self.em.ptr_t(), ctx_param, "ctx")?
            .into_pointer_value();
        let scratch = self.em.map_lookup_elem(self.maps.scratch, zero_key)?;
        let (bail, go) = (self.em.block("noscratch"), self.em.block("body"));
        self.em.cond_br(self.em.is_null(scratch)?, bail, go)?;
        self.em.at(bail);
        self.ret_callback(1)?;
        self.em.at(go);
        self.scratch = scratch;
        // The same locals, at the same scratch offsets.
        for (slot, off) in outer.iter().zip(self.local_offsets.clone()) {
            let p = self.em.offset(scratch, off)?;
            self.locals.push(match slot {
                LocalSlot::Stack(_, ty) => LocalSlot::Stack(p, *ty),
                LocalSlot::Buf(_, n) => LocalSlot::Buf(p, *n),
            });
        }
        self.callback = Some(Callback {
            return_flag: self.em.offset(scratch, flag_off)?,
        });
        match feed {
            Feed::MapEntry {
                map,
                per_cpu,
                key_size,
                key_slot,
                value_size,
            } => {
                let LocalSlot::Buf(kv, _) = self.local(var)? else {
                    return Err(CodegenError::Internal(
                        "The map loop variable is not a buffer.".into(),
                    ));
                };
                let (key, value) = (
                    param(1)?.into_pointer_value(),
                    param(2)?.into_pointer_value(),
                );
                self.em.copy(kv, key, round8(key_size.min(key_slot)))?;
                let at = self.em.offset(kv, key_slot)?;
                if per_cpu {
                    let total = self.percpu_sum(map, key)?.int()?;
                    self.em.store(at, total, 8)?;
                } else {
                    self.em.copy(at, value, round8(value_size))?;
                }
            }
            Feed::Range { start_off } => {
                let LocalSlot::Stack(slot, ty) = self.local(var)? else {
                    return Err(CodegenError::Internal(
                        "The range loop variable is not a scalar.".into(),
                    ));
                };
                let index = param(0)?.into_int_value();
                let start = self.em.offset(scratch, start_off)?;
                let start = self.em.load(start, self.em.i64t(), 8)?;
                let v = self.em.builder.build_int_add(start, index, "i")?;
                let v = self.em.resize(v, ty.get_bit_width(), true)?;
                self.em.store(slot, v, 8)?;
            }
        }
        let (next, stop) = (self.em.block("cb_next"), self.em.block("cb_stop"));
        self.loops.push(super::loops::LoopTargets::new(next, stop));
        self.stmts(body)?;
        self.em.br(next)?;
        self.em.at(next);
        self.ret_callback(0)?;
        self.em.at(stop);
        self.ret_callback(1)
    }

    fn ret_callback(&self, v: u64) -> R<()> {
        self.em.builder.build_return(Some(&self.em.u64c(v)))?;
        Ok(())
    }

    /// `return` in a callback's body: set the flag and stop iterating.
    pub(super) fn return_from_callback(&mut self, cb: Callback<'ctx>) -> R<()> {
        self.em.store(cb.return_flag, self.em.u64c(1), 8)?;
        self.ret_callback(1)?;
        self.em.at(self.em.block("after_return"));
        Ok(())
    }

    /// Returns from the probe, or from the enclosing callback when inside one.
    fn leave_probe(&mut self) -> R<()> {
        match self.callback {
            Some(cb) => {
                self.em.store(cb.return_flag, self.em.u64c(1), 8)?;
                self.ret_callback(1)
            }
            None => self.em.ret0(),
        }
    }

    /// A pointer-sized slot in the current function's entry block.
    /// A new static function in `.text` returning `i64`, named after the
    /// probe's function and `tag`: a callback for a BPF helper.
    pub(super) fn static_function(
        &self,
        tag: &str,
        arg_types: &[inkwell::types::BasicMetadataTypeEnum<'ctx>],
    ) -> (FunctionValue<'ctx>, String) {
        let name = format!(
            "{}_{tag}{}",
            self.em.func.get_name().to_string_lossy(),
            self.module.get_functions().count()
        );
        let f = self.module.add_function(
            &name,
            self.em.i64t().fn_type(arg_types, false),
            Some(Linkage::Internal),
        );
        f.set_section(Some(".text"));
        (f, name)
    }

    fn entry_alloca(&self) -> R<PointerValue<'ctx>> {
        let entry = self
            .em
            .func
            .get_first_basic_block()
            .ok_or_else(|| CodegenError::Internal("The function has no entry block.".into()))?;
        let b = self.em.ctx.create_builder();
        match entry.get_first_instruction() {
            Some(i) => b.position_before(&i),
            None => b.position_at_end(entry),
        }
        Ok(b.build_alloca(self.em.ptr_t(), "cb_ctx")?)
    }
}
