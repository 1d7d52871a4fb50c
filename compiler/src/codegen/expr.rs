//! Expression lowering, split by construct family: constants and string
//! literals, builtins, locals and map reads, tracepoint fields, string
//! reads, arithmetic (with signed division done on magnitudes, since the
//! BPF backend has no signed divide on CPU v3), comparisons (strings compare
//! byte by byte in a bounded loop), short-circuit logic, ternaries, casts,
//! and increments. Each returns a `Val`.

use super::builder::round8;
use super::stmt::{str_len, LocalSlot, ProbeGen, Val};
use super::CodegenError;
use crate::ir::{AddrSpace, BinaryOp, Expr, ExprKind, LValue, MapValue, Type, UnaryOp};
use ferrotrace_stdlib::Builtin;
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;

type R<T> = Result<T, CodegenError>;

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    pub fn expr(&mut self, e: &Expr) -> R<Val<'ctx>> {
        match &e.kind {
            ExprKind::Int(v) => Ok(Val::Int(self.scalar_t(&e.ty).const_int(*v, false))),
            ExprKind::Bool(b) => Ok(Val::Int(
                self.em.ctx.bool_type().const_int(u64::from(*b), false),
            )),
            ExprKind::Str(s) => self.str_literal(s.as_bytes(), str_len(&e.ty)),
            ExprKind::Bytes(b) => self.str_literal(b, str_len(&e.ty)),
            ExprKind::Tuple(elems) => self.tuple_literal(elems, &e.ty),
            ExprKind::TupleGet { base, index } => self.tuple_get(base, *index, &e.ty),
            ExprKind::Block { stmts, value } => {
                self.stmts(stmts)?;
                self.expr(value)
            }
            ExprKind::Builtin(b) => self.builtin(*b, &e.ty),
            ExprKind::Local(id) => self.load_local(*id),
            ExprKind::MapLoad { map, key } => {
                let k = self.map_key(*map, key)?;
                self.map_load(*map, k, &e.ty)
            }
            ExprKind::TracepointField { offset } => self.tracepoint_field(*offset, &e.ty),
            ExprKind::Register { offset } => self.register(*offset, &e.ty),
            ExprKind::UsdtArg(arg) => self.usdt_arg(arg, &e.ty),
            ExprKind::TracepointDataLoc { offset } => {
                self.tracepoint_data_loc(*offset, str_len(&e.ty))
            }
            ExprKind::MapDelete { map, key } => self.map_entry_query(*map, key, true),
            ExprKind::MapHasKey { map, key } => self.map_entry_query(*map, key, false),
            ExprKind::Unary { op, operand } => self.unary(*op, operand, &e.ty),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, &e.ty, e.span),
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => self.ternary(cond, then, otherwise, &e.ty),
            ExprKind::Cast(inner) => self.cast(inner, &e.ty),
            ExprKind::StrRead { ptr, space, len } => {
                self.str_read(ptr, *space, len.as_deref(), &e.ty)
            }
            ExprKind::IncDec {
                target,
                delta,
                prefix,
            } => self.inc_dec(target, *delta, *prefix, &e.ty),
            ExprKind::SymbolOf(addr) => self.symbol_of(addr, &e.ty),
            ExprKind::Strlen(s) => self.strlen(s),
            ExprKind::StrNcmp { lhs, rhs, n } => self.strncmp(lhs, rhs, *n),
            ExprKind::StrStr { hay, needle } => self.strstr(hay, needle),
            ExprKind::Bswap(v) => self.bswap(v),
            ExprKind::Deref { addr, space } => self.deref(addr, *space, &e.ty),
            ExprKind::StructField { base, offset } => self.struct_field(base, *offset, &e.ty),
            ExprKind::StrByte { base, index } => self.str_byte(base, index),
            ExprKind::Clock(c) => Ok(Val::Int(self.em.clock(*c)?)),
            ExprKind::Signal(sig) => {
                let sig = self.expr(sig)?.int()?;
                Ok(Val::Int(self.em.send_signal(sig)?))
            }
            ExprKind::BufRead { ptr, space, len } => {
                self.buf_read(ptr, *space, len.as_deref(), &e.ty)
            }
            ExprKind::FieldBytes { offset, n } => self.field_bytes(*offset, *n),
            ExprKind::ConstBytes(b) => self.const_bytes(b),
            ExprKind::Ntop { af, addr } => self.ntop(af, addr),
            ExprKind::MacAddr(a) => self.macaddr(a),
            ExprKind::Memcmp { lhs, rhs, n } => self.memcmp(lhs, rhs, *n),
            ExprKind::TracePrintk { format, args } => self.trace_printk(format, args),
            ExprKind::MapLen { map } => self.map_len(*map, e.span),
            ExprKind::DPath { ptr } => self.d_path(ptr, &e.ty),
            ExprKind::StackLen { kind, limit } => self.stack_len(*kind, *limit),
            ExprKind::KernelRead { addr, offset } => self.kernel_read(addr, *offset, &e.ty),
            ExprKind::TaskComm { pid, offset } => self.task_comm(pid, *offset),
            ExprKind::NsPid { thread, dev, ino } => self.ns_pid(*thread, *dev, *ino, &e.ty),
            ExprKind::SignalThread(sig) => {
                let sig = self.expr(sig)?.int()?;
                Ok(Val::Int(self.em.send_signal_thread(sig)?))
            }
            ExprKind::Override(rc) => self.override_return(rc),
            ExprKind::WriteUser { dst, src, len } => self.write_user(dst, src, *len),
            ExprKind::SocketCookie(sk) => {
                let sk = self.expr(sk)?.int()?;
                Ok(Val::Int(self.em.get_socket_cookie(sk)?))
            }
        }
    }

    fn scalar_t(&self, t: &Type) -> inkwell::types::IntType<'ctx> {
        super::stmt::scalar_type(&self.em, t)
    }

    /// Converts an integer to `t`'s LLVM width, extending by `signed`.
    fn fit(&self, v: IntValue<'ctx>, t: &Type, signed: bool) -> R<IntValue<'ctx>> {
        match t {
            Type::Bool => self.em.truthy(v),
            t => self.em.resize(v, self.scalar_t(t).get_bit_width(), signed),
        }
    }

    // --- constants and builtins ------------------------------------------------

    /// Materializes a literal with 8-byte constant stores into scratch.
    fn str_literal(&mut self, s: &[u8], n: u32) -> R<Val<'ctx>> {
        let buf = self.alloc(n)?;
        let mut bytes = s.to_vec();
        bytes.truncate(n.saturating_sub(1) as usize);
        bytes.resize(round8(n) as usize, 0);
        self.store_bytes(buf, &bytes)?;
        Ok(Val::Str(buf))
    }

    fn builtin(&mut self, b: Builtin, ty: &Type) -> R<Val<'ctx>> {
        let raw = match b {
            Builtin::Kstack | Builtin::Ustack => {
                return match ty {
                    Type::Stack(st) => self.stack(st),
                    _ => Err(CodegenError::Internal(
                        "A stack builtin does not have a stack type.".into(),
                    )),
                }
            }
            Builtin::Pid => self.upper32(self.em.get_current_pid_tgid()?)?,
            Builtin::Tid => self.em.get_current_pid_tgid()?,
            Builtin::Uid => self.em.get_current_uid_gid()?,
            Builtin::Gid => self.upper32(self.em.get_current_uid_gid()?)?,
            Builtin::Nsecs => self.em.ktime_get_boot_ns()?,
            Builtin::Cpu => self.em.get_smp_processor_id()?,
            Builtin::Cpid => return self.cpid(ty),
            Builtin::Func => {
                return Err(CodegenError::Internal(format!(
                    "`{}` reached code generation; the checker lowers it per probe.",
                    b.info().name
                )))
            }
            Builtin::Rand => self.em.get_prandom_u32()?,
            Builtin::Jiffies => self.em.jiffies64()?,
            Builtin::Numaid => self.em.get_numa_node_id()?,
            Builtin::Cgroup => self.em.get_current_cgroup_id()?,
            Builtin::Curtask => self.em.get_current_task()?,
            Builtin::Ctx => {
                self.em
                    .builder
                    .build_ptr_to_int(self.ctx_arg, self.em.i64t(), "ctx")?
            }
            Builtin::Elapsed => return self.elapsed(),
            Builtin::Ncpus => {
                return Err(CodegenError::Internal(
                    "`ncpus` reached code generation; the checker makes it a constant.".into(),
                ))
            }
            Builtin::Comm => {
                let n = match ty {
                    Type::Str(n) => *n,
                    _ => 16,
                };
                let buf = self.alloc(n)?;
                if n % 8 != 0 {
                    self.em.zero(buf, round8(n))?;
                }
                self.em.get_current_comm(buf, n)?;
                return Ok(Val::Str(buf));
            }
            Builtin::Probe
            | Builtin::Arg(_)
            | Builtin::Retval
            | Builtin::Username
            | Builtin::Usermode
            | Builtin::Ppid
            | Builtin::Pcomm
            | Builtin::LeaderTid
            | Builtin::LeaderComm
            | Builtin::Probetype
            | Builtin::HasCpid => {
                return Err(CodegenError::Internal(format!(
                    "`{}` should have been lowered by the checker.",
                    b.info().name
                )))
            }
        };
        // pid/tid/uid/gid keep 32 bits before widening to the IR type.
        let raw = match b {
            Builtin::Pid
            | Builtin::Tid
            | Builtin::Uid
            | Builtin::Gid
            | Builtin::Rand
            | Builtin::Numaid => self.em.resize(raw, 32, false)?,
            _ => raw,
        };
        Ok(Val::Int(self.fit(raw, ty, false)?))
    }

    fn upper32(&self, v: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        Ok(self
            .em
            .builder
            .build_right_shift(v, self.em.u64c(32), false, "hi")?)
    }

    // --- locals, maps, context ---------------------------------------------------

    fn load_local(&mut self, id: usize) -> R<Val<'ctx>> {
        Ok(match self.local(id)? {
            LocalSlot::Stack(ptr, ty) => Val::Int(self.em.load(ptr, ty, 8)?),
            LocalSlot::Buf(buf, _) => Val::Str(buf),
        })
    }

    /// Reads map `map` at `key`; a missing entry reads as zero.
    fn map_load(&mut self, map: usize, key: PointerValue<'ctx>, ty: &Type) -> R<Val<'ctx>> {
        let value_ty = match &self.map_def(map)?.value {
            MapValue::Plain(t) => t.clone(),
            MapValue::Count | MapValue::Sum { .. } => return self.percpu_sum(map, key),
            _ => return self.aggregate_read(map, key),
        };
        let found = self.em.map_lookup_elem(self.maps.user(map)?, key)?;
        self.checked_lookup_miss(found)?;
        let buffer_size = match &value_ty {
            Type::Str(n) => Some(*n),
            Type::Tuple(_) | Type::Record { .. } | Type::Struct(_) | Type::Data(_) => {
                Some(value_ty.size())
            }
            _ => None,
        };
        if let Some(n) = buffer_size {
            let buf = self.alloc(n)?;
            let (hit, miss, done) = (
                self.em.block("ml_hit"),
                self.em.block("ml_miss"),
                self.em.block("ml_done"),
            );
            self.em.cond_br(self.em.is_null(found)?, miss, hit)?;
            self.em.at(hit);
            self.em.copy(buf, found, round8(n))?;
            self.em.br(done)?;
            self.em.at(miss);
            self.em.zero(buf, round8(n))?;
            self.em.br(done)?;
            self.em.at(done);
            if matches!(
                value_ty,
                Type::Tuple(_) | Type::Record { .. } | Type::Struct(_) | Type::Data(_)
            ) {
                return Ok(Val::Str(buf));
            }
            return self.retype_str(buf, n, ty);
        }
        let (hit, done) = (self.em.block("ml_hit"), self.em.block("ml_done"));
        let start = self.em.current()?;
        self.em.cond_br(self.em.is_null(found)?, done, hit)?;
        self.em.at(hit);
        let v = match value_ty {
            Type::Bool => {
                let b = self.em.load(found, self.em.ctx.i8_type(), 8)?;
                self.em.resize(b, 64, false)?
            }
            _ => self.em.load(found, self.em.i64t(), 8)?,
        };
        self.em.br(done)?;
        self.em.at(done);
        let phi = self.em.builder.build_phi(self.em.i64t(), "ml")?;
        phi.add_incoming(&[(&v, hit), (&self.em.u64c(0), start)]);
        Ok(Val::Int(self.fit(
            phi.as_basic_value().into_int_value(),
            ty,
            value_ty.is_signed(),
        )?))
    }

    /// A string of capacity `n` seen as type `ty` (copied when they differ).
    fn retype_str(&mut self, p: PointerValue<'ctx>, n: u32, ty: &Type) -> R<Val<'ctx>> {
        let want = str_len(ty);
        if want == n || want == 0 {
            return Ok(Val::Str(p));
        }
        let buf = self.alloc(want)?;
        self.copy_str(buf, want, p, n)?;
        Ok(Val::Str(buf))
    }

    fn tracepoint_field(&mut self, offset: u32, ty: &Type) -> R<Val<'ctx>> {
        let at = self.em.offset(self.record, offset)?;
        match ty {
            Type::Str(n) => {
                let buf = self.alloc(*n)?;
                if n % 8 != 0 {
                    self.em.zero(buf, round8(*n))?;
                }
                self.em.probe_read(AddrSpace::Kernel, buf, *n, at)?;
                let last = self.em.offset(buf, n.saturating_sub(1))?;
                self.em.store(last, self.em.ctx.i8_type().const_zero(), 1)?;
                Ok(Val::Str(buf))
            }
            Type::Bool => {
                let b = self.em.load(at, self.em.ctx.i8_type(), 1)?;
                Ok(Val::Int(self.em.truthy(b)?))
            }
            // The whole `args` struct: its bytes, copied.
            Type::Struct(st) => {
                let buf = self.alloc(st.size)?;
                self.em.zero(buf, round8(st.size))?;
                self.em.probe_read(AddrSpace::Kernel, buf, st.size, at)?;
                Ok(Val::Str(buf))
            }
            t => {
                let size = t.size().max(1);
                let align = if offset.is_multiple_of(size) { size } else { 1 };
                let v = self.em.load(at, self.em.int_type(size * 8), align)?;
                Ok(Val::Int(self.fit(v, t, t.is_signed())?))
            }
        }
    }

    /// A `__data_loc char[]` field: the u32 at `offset` is `len << 16 | off`;
    /// the string is read from `ctx + off`, at most `min(len, n)` bytes.
    fn tracepoint_data_loc(&mut self, offset: u32, n: u32) -> R<Val<'ctx>> {
        let at = self.em.offset(self.ctx_arg, offset)?;
        let align = if offset.is_multiple_of(4) { 4 } else { 1 };
        let loc = self.em.load(at, self.em.int_type(32), align)?;
        let loc = self.em.resize(loc, 64, false)?;
        let b = &self.em.builder;
        let off = b.build_and(loc, self.em.u64c(0xffff), "dl_off")?;
        let len = b.build_right_shift(loc, self.em.u64c(16), false, "dl_len")?;
        let cap = self.em.u64c(u64::from(n));
        let big = b.build_int_compare(IntPredicate::UGT, len, cap, "big")?;
        let size = b.build_select(big, cap, len, "len")?.into_int_value();
        let buf = self.alloc(n)?;
        self.em.zero(buf, round8(n))?;
        let src = self.em.offset_dyn(self.ctx_arg, off)?;
        self.em.probe_read_str(AddrSpace::Kernel, buf, size, src)?;
        Ok(Val::Str(buf))
    }

    fn str_read(
        &mut self,
        ptr: &Expr,
        space: AddrSpace,
        len: Option<&Expr>,
        ty: &Type,
    ) -> R<Val<'ctx>> {
        let n = str_len(ty);
        let (src, size) = self.read_source(ptr, len, n)?;
        // Without a length, one byte more than the string holds: a string
        // that fills all `n` bytes keeps its NUL outside the value, which
        // is how the printer knows to add `str_trunc_trailer` (as bpftrace
        // does).
        let size = match len {
            Some(_) => size,
            None => self.em.u64c(u64::from(n) + 1),
        };
        let buf = self.alloc(n + 1)?;
        self.em.zero(buf, round8(n + 1))?;
        self.checked_read(space, buf, size, src, true)?;
        Ok(Val::Str(buf))
    }

    // --- operators ---------------------------------------------------------------

    fn unary(&mut self, op: UnaryOp, operand: &Expr, ty: &Type) -> R<Val<'ctx>> {
        let v = self.expr(operand)?.int()?;
        let b = &self.em.builder;
        let r = match op {
            UnaryOp::Neg => b.build_int_neg(v, "neg")?,
            UnaryOp::BitNot => b.build_not(v, "not")?,
            UnaryOp::Not => {
                let t = self.em.truthy(v)?;
                self.em.builder.build_not(t, "lnot")?
            }
        };
        Ok(Val::Int(self.fit(r, ty, operand.ty.is_signed())?))
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        ty: &Type,
        span: crate::source::Span,
    ) -> R<Val<'ctx>> {
        use BinaryOp::*;
        match op {
            And | Or => return self.logical(op == And, lhs, rhs),
            _ => {}
        }
        let a = self.expr(lhs)?;
        let b = self.expr(rhs)?;
        if let (Val::Str(pa), Val::Str(pb)) = (a, b) {
            let cap = str_len(&lhs.ty).min(str_len(&rhs.ty));
            let eq = self.str_eq(pa, pb, cap)?;
            return match op {
                Eq => Ok(Val::Int(eq)),
                Ne => Ok(Val::Int(self.em.builder.build_not(eq, "ne")?)),
                _ => Err(CodegenError::Internal(format!(
                    "Strings cannot be compared with `{}`.",
                    op.symbol()
                ))),
            };
        }
        let (a, b) = (a.int()?, b.int()?);
        let signed = lhs.ty.is_signed();
        let r = match op {
            Eq | Ne | Lt | Le | Gt | Ge => self.compare(op, a, b, signed)?,
            Div | Mod => self.divide_by_zero_one(op == Div, a, b, signed, span)?,
            Shl | Shr => self.shift(op == Shl, a, b, signed)?,
            _ => self.arith(op, a, b)?,
        };
        Ok(Val::Int(self.fit(r, ty, signed)?))
    }

    fn arith(&self, op: BinaryOp, a: IntValue<'ctx>, b: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        let bl = &self.em.builder;
        Ok(match op {
            BinaryOp::Add => bl.build_int_add(a, b, "add")?,
            BinaryOp::Sub => bl.build_int_sub(a, b, "sub")?,
            BinaryOp::Mul => bl.build_int_mul(a, b, "mul")?,
            BinaryOp::BitAnd => bl.build_and(a, b, "and")?,
            BinaryOp::BitOr => bl.build_or(a, b, "or")?,
            BinaryOp::BitXor => bl.build_xor(a, b, "xor")?,
            _ => {
                return Err(CodegenError::Internal(format!(
                    "`{}` is not an arithmetic operator.",
                    op.symbol()
                )))
            }
        })
    }

    fn compare(
        &self,
        op: BinaryOp,
        a: IntValue<'ctx>,
        b: IntValue<'ctx>,
        signed: bool,
    ) -> R<IntValue<'ctx>> {
        use IntPredicate::*;
        let pred = match (op, signed) {
            (BinaryOp::Eq, _) => EQ,
            (BinaryOp::Ne, _) => NE,
            (BinaryOp::Lt, true) => SLT,
            (BinaryOp::Lt, false) => ULT,
            (BinaryOp::Le, true) => SLE,
            (BinaryOp::Le, false) => ULE,
            (BinaryOp::Gt, true) => SGT,
            (BinaryOp::Gt, false) => UGT,
            (BinaryOp::Ge, true) => SGE,
            _ => UGE,
        };
        Ok(self.em.builder.build_int_compare(pred, a, b, "cmp")?)
    }

    /// Shift amounts are converted to the left operand's width and masked.
    fn shift(
        &self,
        left: bool,
        a: IntValue<'ctx>,
        b: IntValue<'ctx>,
        signed: bool,
    ) -> R<IntValue<'ctx>> {
        let bits = a.get_type().get_bit_width();
        let b = self.em.resize(b, bits, false)?;
        let mask = a
            .get_type()
            .const_int(u64::from(bits.saturating_sub(1)), false);
        let b = self.em.builder.build_and(b, mask, "amt")?;
        Ok(if left {
            self.em.builder.build_left_shift(a, b, "shl")?
        } else {
            self.em.builder.build_right_shift(a, b, signed, "shr")?
        })
    }

    /// `/` and `%`; by zero they give 0 and the dividend. Signed operands are
    /// divided as magnitudes and the sign fixed afterwards.
    pub(crate) fn divide(
        &self,
        div: bool,
        a: IntValue<'ctx>,
        b: IntValue<'ctx>,
        signed: bool,
    ) -> R<IntValue<'ctx>> {
        let bl = &self.em.builder;
        let t = a.get_type();
        let zero = t.const_zero();
        let b_zero = bl.build_int_compare(IntPredicate::EQ, b, zero, "bz")?;
        let (ua, a_neg) = self.magnitude(a, signed)?;
        let (ub, b_neg) = self.magnitude(b, signed)?;
        let d = bl
            .build_select(b_zero, t.const_int(1, false), ub, "d")?
            .into_int_value();
        let (r, neg) = if div {
            (
                bl.build_int_unsigned_div(ua, d, "q")?,
                bl.build_xor(a_neg, b_neg, "qneg")?,
            )
        } else {
            (bl.build_int_unsigned_rem(ua, d, "r")?, a_neg)
        };
        let negated = bl.build_int_neg(r, "rn")?;
        let r = bl.build_select(neg, negated, r, "rs")?.into_int_value();
        let fallback = if div { zero } else { a };
        Ok(bl.build_select(b_zero, fallback, r, "dz")?.into_int_value())
    }

    /// The `/` and `%` operators at `span`: as `divide`, but by zero both
    /// give 1 and a located warning is sent, as in bpftrace 0.26.
    fn divide_by_zero_one(
        &mut self,
        div: bool,
        a: IntValue<'ctx>,
        b: IntValue<'ctx>,
        signed: bool,
        span: crate::source::Span,
    ) -> R<IntValue<'ctx>> {
        let r = self.divide(div, a, b, signed)?;
        let t = b.get_type();
        let b_zero =
            self.em
                .builder
                .build_int_compare(IntPredicate::EQ, b, t.const_zero(), "dbz")?;
        let r = self
            .em
            .builder
            .build_select(b_zero, t.const_int(1, false), r, "dz1")?
            .into_int_value();
        // A constant divisor other than 0 needs no report.
        if b.get_zero_extended_constant().is_none_or(|v| v == 0) {
            self.report_divide_by_zero(b_zero, span)?;
        }
        Ok(r)
    }

    /// `(|v|, v < 0)`; for unsigned values `(v, false)`.
    fn magnitude(&self, v: IntValue<'ctx>, signed: bool) -> R<(IntValue<'ctx>, IntValue<'ctx>)> {
        let f = self.em.ctx.bool_type().const_zero();
        if !signed {
            return Ok((v, f));
        }
        let bl = &self.em.builder;
        let neg = bl.build_int_compare(IntPredicate::SLT, v, v.get_type().const_zero(), "neg")?;
        let nv = bl.build_int_neg(v, "nv")?;
        Ok((bl.build_select(neg, nv, v, "abs")?.into_int_value(), neg))
    }

    /// Short-circuit `&&` / `||` with branches and a phi.
    fn logical(&mut self, and: bool, lhs: &Expr, rhs: &Expr) -> R<Val<'ctx>> {
        let a = self.expr(lhs)?.int()?;
        let a = self.em.truthy(a)?;
        let start = self.em.current()?;
        let (more, done) = (self.em.block("sc_rhs"), self.em.block("sc_done"));
        if and {
            self.em.cond_br(a, more, done)?;
        } else {
            self.em.cond_br(a, done, more)?;
        }
        self.em.at(more);
        let b = self.expr(rhs)?.int()?;
        let b = self.em.truthy(b)?;
        let end = self.em.current()?;
        self.em.br(done)?;
        self.em.at(done);
        let phi = self.em.builder.build_phi(self.em.ctx.bool_type(), "sc")?;
        let short = self.em.ctx.bool_type().const_int(u64::from(!and), false);
        phi.add_incoming(&[(&short, start), (&b, end)]);
        Ok(Val::Int(phi.as_basic_value().into_int_value()))
    }

    /// Sums a `count()`/`sum()` map's per-CPU values for one key.
    pub(super) fn percpu_sum(&mut self, map: usize, key: PointerValue<'ctx>) -> R<Val<'ctx>> {
        const MAX_CPUS: u64 = 1024;
        let [sum] = self.fold_percpu(map, key, MAX_CPUS, |g, found, [acc]| {
            let v = g.em.load(found, g.em.i64t(), 8)?;
            Ok([g.em.builder.build_int_add(acc, v, "acc_next")?])
        })?;
        Ok(Val::Int(sum))
    }

    /// Folds the per-CPU copies of `key` in user map `map` into `N` 64-bit
    /// accumulators that start at 0: `step` gets each CPU's copy and the
    /// accumulators so far and returns the next ones. The loop ends at the
    /// first CPU without a copy (the helper returns NULL past the last
    /// possible CPU) or after `max_cpus`, so the verifier sees it terminate.
    pub(super) fn fold_percpu<const N: usize>(
        &mut self,
        map: usize,
        key: PointerValue<'ctx>,
        max_cpus: u64,
        mut step: impl FnMut(
            &mut Self,
            PointerValue<'ctx>,
            [IntValue<'ctx>; N],
        ) -> R<[IntValue<'ctx>; N]>,
    ) -> R<[IntValue<'ctx>; N]> {
        let map = self.maps.user(map)?;
        let start = self.em.current()?;
        let (lp, body, done) = (
            self.em.block("pc_loop"),
            self.em.block("pc_cpu"),
            self.em.block("pc_done"),
        );
        self.em.br(lp)?;
        self.em.at(lp);
        let i64t = self.em.i64t();
        let cpu = self.em.builder.build_phi(i64t, "cpu")?;
        let mut accs = Vec::with_capacity(N);
        for _ in 0..N {
            accs.push(self.em.builder.build_phi(i64t, "acc")?);
        }
        let cpu_v = cpu.as_basic_value().into_int_value();
        let acc_v: [IntValue<'ctx>; N] =
            std::array::from_fn(|n| accs[n].as_basic_value().into_int_value());
        let found = self.em.map_lookup_percpu_elem(map, key, cpu_v)?;
        self.em.cond_br(self.em.is_null(found)?, done, body)?;
        self.em.at(body);
        let acc_next = step(self, found, acc_v)?;
        let body_end = self.em.current()?;
        let bl = &self.em.builder;
        let cpu_next = bl.build_int_add(cpu_v, self.em.u64c(1), "cpu_next")?;
        let more =
            bl.build_int_compare(IntPredicate::ULT, cpu_next, self.em.u64c(max_cpus), "more")?;
        self.em.cond_br(more, lp, done)?;
        let zero = self.em.u64c(0);
        cpu.add_incoming(&[(&zero, start), (&cpu_next, body_end)]);
        for (phi, next) in accs.iter().zip(&acc_next) {
            phi.add_incoming(&[(&zero, start), (next, body_end)]);
        }
        self.em.at(done);
        let mut out = acc_v;
        for (n, slot) in out.iter_mut().enumerate() {
            let fin = self.em.builder.build_phi(i64t, "acc_final")?;
            fin.add_incoming(&[(&acc_v[n], lp), (&acc_next[n], body_end)]);
            *slot = fin.as_basic_value().into_int_value();
        }
        Ok(out)
    }

    /// Byte-wise equality up to the first NUL or `cap` bytes, as a bounded
    /// loop (the verifier walks it; it stays small in instructions).
    pub(super) fn str_eq(
        &mut self,
        a: PointerValue<'ctx>,
        b: PointerValue<'ctx>,
        cap: u32,
    ) -> R<IntValue<'ctx>> {
        let bool_t = self.em.ctx.bool_type();
        if cap == 0 {
            return Ok(bool_t.const_int(1, false));
        }
        let i8t = self.em.ctx.i8_type();
        // Stop at the first differing byte (unequal) or a shared NUL (equal).
        self.scan_bytes(cap, bool_t.const_int(1, false), |g, i| {
            let ca = g.em.load(g.em.offset_dyn(a, i)?, i8t, 1)?;
            let cb = g.em.load(g.em.offset_dyn(b, i)?, i8t, 1)?;
            let bl = &g.em.builder;
            let same = bl.build_int_compare(IntPredicate::EQ, ca, cb, "same")?;
            let nul = bl.build_int_compare(IntPredicate::EQ, ca, i8t.const_zero(), "nul")?;
            let stop = bl.build_or(bl.build_not(same, "differ")?, nul, "stop")?;
            Ok((stop, same))
        })
    }

    fn ternary(&mut self, cond: &Expr, then: &Expr, otherwise: &Expr, ty: &Type) -> R<Val<'ctx>> {
        let c = self.expr(cond)?.int()?;
        let c = self.em.truthy(c)?;
        let (tb, eb, done) = (
            self.em.block("t_then"),
            self.em.block("t_else"),
            self.em.block("t_done"),
        );
        self.em.cond_br(c, tb, eb)?;
        self.em.at(tb);
        let tv = self.branch_value(then, ty)?;
        let tend = self.em.current()?;
        self.em.br(done)?;
        self.em.at(eb);
        let ev = self.branch_value(otherwise, ty)?;
        let eend = self.em.current()?;
        self.em.br(done)?;
        self.em.at(done);
        match (tv, ev) {
            (Val::Int(x), Val::Int(y)) => {
                let phi = self.em.builder.build_phi(x.get_type(), "tern")?;
                phi.add_incoming(&[(&x, tend), (&y, eend)]);
                Ok(Val::Int(phi.as_basic_value().into_int_value()))
            }
            (Val::Str(x), Val::Str(y)) => {
                let phi = self.em.builder.build_phi(self.em.ptr_t(), "tern")?;
                phi.add_incoming(&[(&x, tend), (&y, eend)]);
                Ok(Val::Str(phi.as_basic_value().into_pointer_value()))
            }
            _ => Err(CodegenError::Internal(
                "The arms of a ternary lowered to different kinds of value.".into(),
            )),
        }
    }

    /// One ternary arm converted to the ternary's type.
    fn branch_value(&mut self, e: &Expr, ty: &Type) -> R<Val<'ctx>> {
        match self.expr(e)? {
            Val::Int(v) => Ok(Val::Int(self.fit(v, ty, e.ty.is_signed())?)),
            Val::Str(p) => self.retype_str(p, str_len(&e.ty), ty),
        }
    }

    fn cast(&mut self, inner: &Expr, ty: &Type) -> R<Val<'ctx>> {
        match self.expr(inner)? {
            Val::Int(v) => Ok(Val::Int(self.fit(v, ty, inner.ty.is_signed())?)),
            Val::Str(p) => self.retype_str(p, str_len(&inner.ty), ty),
        }
    }

    /// `x++`, `--@m[k]` and friends.
    fn inc_dec(&mut self, target: &LValue, delta: i64, prefix: bool, ty: &Type) -> R<Val<'ctx>> {
        let (old, signed) = match target {
            LValue::Local(id) => (self.load_local(*id)?.int()?, ty.is_signed()),
            LValue::Map { map, key } => {
                let k = self.map_key(*map, key)?;
                let old = self.map_load(*map, k, &Type::I64)?.int()?;
                let new = self.em.builder.build_int_add(
                    old,
                    self.em.i64t().const_int(delta as u64, true),
                    "inc",
                )?;
                self.store_map(*map, k, &Type::I64, Val::Int(new))?;
                let pick = if prefix { new } else { old };
                return Ok(Val::Int(self.fit(pick, ty, ty.is_signed())?));
            }
        };
        let d = old.get_type().const_int(delta as u64, true);
        let new = self.em.builder.build_int_add(old, d, "inc")?;
        if let LValue::Local(id) = target {
            if let LocalSlot::Stack(ptr, _) = self.local(*id)? {
                self.em.store(ptr, new, 8)?;
            }
        }
        let pick = if prefix { new } else { old };
        Ok(Val::Int(self.fit(pick, ty, signed)?))
    }
}
