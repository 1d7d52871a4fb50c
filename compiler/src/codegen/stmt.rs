//! Lowering of one probe: the function prologue (scratch lookup, locals),
//! the predicate, and statements — stores to locals and maps, aggregations,
//! `if`. Printf and exit records live in `events.rs`, expressions in
//! `expr.rs`. `ProbeGen` carries the per-probe state: the emitter, the
//! scratch base pointer and its bump allocator, and the locals' storage.

use super::builder::{round8, Emitter, BPF_ANY};
use super::debug::ProbeDebug;
use super::maps::{key_layout, MapGlobals};
use super::CodegenError;
use crate::ir::{Expr, LValue, MapValue, Probe, Program, Stmt, StmtKind, Type};
use inkwell::values::{FunctionValue, IntValue, PointerValue};

type R<T> = Result<T, CodegenError>;

/// A lowered expression value. Bools are `i1`, integers `iN`, pointers
/// `i64`; strings are pointers to an 8-aligned buffer of `round8(N)` bytes
/// whose bytes past the string's NUL are zero.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'ctx> {
    Int(IntValue<'ctx>),
    Str(PointerValue<'ctx>),
}

impl<'ctx> Val<'ctx> {
    pub fn int(self) -> R<IntValue<'ctx>> {
        match self {
            Val::Int(v) => Ok(v),
            _ => Err(CodegenError::Internal(
                "Expected a scalar value, found a string.".into(),
            )),
        }
    }

    pub fn str(self) -> R<PointerValue<'ctx>> {
        match self {
            Val::Str(p) => Ok(p),
            _ => Err(CodegenError::Internal(
                "Expected a string value, found a scalar.".into(),
            )),
        }
    }
}

/// Storage of one scratch variable.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LocalSlot<'ctx> {
    /// A stack slot of the value's LLVM integer type.
    Stack(PointerValue<'ctx>, inkwell::types::IntType<'ctx>),
    /// A string buffer in scratch memory.
    Buf(PointerValue<'ctx>, u32),
}

/// Per-probe lowering state.
pub(crate) struct ProbeGen<'a, 'ctx> {
    pub em: Emitter<'ctx>,
    pub program: &'a Program,
    pub maps: &'a MapGlobals<'ctx>,
    /// The program's context argument.
    pub ctx_arg: PointerValue<'ctx>,
    /// Where the probe's fields (`args`, `argN`) are read: the context, or
    /// for a probe run by a syscall dispatcher the record it rebuilt (the
    /// function's second parameter).
    pub record: PointerValue<'ctx>,
    /// Element 0 of the `scratch` map for this CPU.
    pub scratch: PointerValue<'ctx>,
    /// Next free byte of scratch. Temporaries live for one statement: each
    /// statement starts allocating where its parent was and gives the space
    /// back when it ends (locals have slots of their own from the prologue).
    pub bump: u32,
    /// The most scratch any point of the probe needed.
    pub high: u32,
    pub locals: Vec<LocalSlot<'ctx>>,
    /// The enclosing loops' `continue` and `break` targets, innermost last.
    pub loops: Vec<super::loops::LoopTargets<'ctx>>,
    /// The module, for the callbacks of `for` loops over maps.
    pub module: &'a inkwell::module::Module<'ctx>,
    /// Each local's byte offset in scratch memory (meaningful when locals
    /// live in scratch, i.e. the probe has a `for` loop over a map).
    pub local_offsets: Vec<u32>,
    /// Set while lowering a map loop's callback.
    pub callback: Option<super::foreach::Callback<'ctx>>,
    /// Where statements come from, when generating line info.
    pub debug: Option<ProbeDebug<'a, 'ctx>>,
    /// The statement being lowered, where a failing helper is reported.
    pub span: crate::source::Span,
    /// The module's helper-error events (`helper_errors`).
    pub helper_sites: &'a super::helper_errors::HelperSites,
    /// Helper checks emitted in this probe so far.
    pub helper_checks: u32,
}

/// Lowers `probe` into `func`; returns the scratch bytes it uses.
pub(crate) fn lower_probe<'a, 'ctx>(
    em: Emitter<'ctx>,
    module: &'a inkwell::module::Module<'ctx>,
    program: &'a Program,
    maps: &'a MapGlobals<'ctx>,
    probe: &Probe,
    debug: Option<ProbeDebug<'a, 'ctx>>,
    helper_sites: &'a super::helper_errors::HelperSites,
) -> R<u32> {
    let func = em.func;
    if let Some(d) = &debug {
        d.locate(em.ctx, &em.builder, probe.span);
    }
    let mut g = prologue(em, module, program, maps, func, probe, helper_sites)?;
    g.debug = debug;
    if matches!(probe.attach, crate::ir::Attach::Iter { .. }) {
        g.skip_iterator_end()?;
    }
    if let Some(pred) = &probe.predicate {
        let mark = g.bump;
        g.predicate(pred)?;
        g.bump = mark;
    }
    g.stmts(&probe.body)?;
    g.em.ret0()?;
    super::floor::drop_unused_scratch(g.em.ctx, g.scratch);
    Ok(g.high)
}

/// Entry block: stack slots for scalar locals, the scratch lookup (null →
/// return 0), and zeroed locals.
fn prologue<'a, 'ctx>(
    em: Emitter<'ctx>,
    module: &'a inkwell::module::Module<'ctx>,
    program: &'a Program,
    maps: &'a MapGlobals<'ctx>,
    func: FunctionValue<'ctx>,
    probe: &Probe,
    helper_sites: &'a super::helper_errors::HelperSites,
) -> R<ProbeGen<'a, 'ctx>> {
    let entry = em.block("entry");
    em.at(entry);
    let ctx_arg = func
        .get_first_param()
        .map(|p| p.into_pointer_value())
        .ok_or_else(|| {
            CodegenError::Internal("The probe function has no context parameter.".into())
        })?;
    let record = func
        .get_nth_param(1)
        .map_or(ctx_arg, |p| p.into_pointer_value());
    // A `for` loop over a map runs its body in a callback, which cannot see
    // this function's stack: then every local lives in scratch memory.
    let in_memory = super::foreach::has_for_each(&probe.body);
    let mut stack = Vec::new();
    for t in &probe.locals {
        stack.push(match t {
            Type::Str(_)
            | Type::Tuple(_)
            | Type::Record { .. }
            | Type::Struct(_)
            | Type::Stack(_)
            | Type::Symbol(_)
            | Type::Named(_)
            | Type::Data(_) => None,
            _ if in_memory => None,
            t => {
                let ty = scalar_type(&em, t);
                Some((em.builder.build_alloca(ty, "local")?, ty))
            }
        });
    }
    let key = em.builder.build_alloca(em.ctx.i32_type(), "zero")?;
    em.store(key, em.ctx.i32_type().const_zero(), 4)?;
    let scratch = em.map_lookup_elem(maps.scratch, key)?;
    let (body, bail) = (em.block("body"), em.block("noscratch"));
    em.cond_br(em.is_null(scratch)?, bail, body)?;
    em.at(bail);
    em.ret0()?;
    em.at(body);
    let mut g = ProbeGen {
        em,
        program,
        maps,
        ctx_arg,
        record,
        scratch,
        bump: 0,
        high: 0,
        locals: Vec::new(),
        loops: Vec::new(),
        module,
        local_offsets: Vec::new(),
        callback: None,
        debug: None,
        span: probe.span,
        helper_sites,
        helper_checks: 0,
    };
    for (t, slot) in probe.locals.iter().zip(stack) {
        g.local_offsets.push(g.bump);
        let local = match (t, slot) {
            (_, Some((ptr, ty))) => {
                g.em.store(ptr, ty.const_zero(), 8)?;
                LocalSlot::Stack(ptr, ty)
            }
            (
                Type::Str(_)
                | Type::Tuple(_)
                | Type::Record { .. }
                | Type::Struct(_)
                | Type::Data(_),
                None,
            ) => {
                let n = t.size();
                let buf = g.alloc(n)?;
                g.em.zero(buf, round8(n))?;
                LocalSlot::Buf(buf, n)
            }
            (t @ (Type::Stack(_) | Type::Symbol(_) | Type::Named(_)), None) => {
                LocalSlot::Buf(g.alloc(t.size())?, t.size())
            }
            (t, None) if in_memory => {
                let ty = scalar_type(&g.em, t);
                let ptr = g.alloc(8)?;
                g.em.store(ptr, g.em.u64c(0), 8)?;
                LocalSlot::Stack(ptr, ty)
            }
            (t, None) => {
                return Err(CodegenError::Internal(format!(
                    "The scratch variable of type {t} has no storage."
                )))
            }
        };
        g.locals.push(local);
    }
    Ok(g)
}

/// The LLVM integer type holding a scalar of IR type `t`.
pub(crate) fn scalar_type<'ctx>(em: &Emitter<'ctx>, t: &Type) -> inkwell::types::IntType<'ctx> {
    match t {
        Type::Bool => em.ctx.bool_type(),
        Type::Int { bits, .. } => em.int_type(u32::from(*bits)),
        _ => em.i64t(),
    }
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// Reserves `size` bytes (rounded up to 8) of scratch memory.
    pub fn alloc(&mut self, size: u32) -> R<PointerValue<'ctx>> {
        let off = self.bump;
        self.bump += round8(size.max(1));
        self.high = self.high.max(self.bump);
        self.em.offset(self.scratch, off)
    }

    /// Attributes the instructions built next to `span`.
    fn locate(&self, span: crate::source::Span) {
        if let Some(d) = &self.debug {
            d.locate(self.em.ctx, &self.em.builder, span);
        }
    }

    fn predicate(&mut self, pred: &Expr) -> R<()> {
        self.locate(pred.span);
        self.span = pred.span;
        let c = self.expr(pred)?.int()?;
        let c = self.em.truthy(c)?;
        let (go, stop) = (self.em.block("pred_true"), self.em.block("pred_false"));
        self.em.cond_br(c, go, stop)?;
        self.em.at(stop);
        self.em.ret0()?;
        self.em.at(go);
        Ok(())
    }

    pub fn stmts(&mut self, stmts: &[Stmt]) -> R<()> {
        stmts.iter().try_for_each(|s| self.stmt(s))
    }

    /// Lowers one statement; its temporaries are released afterwards.
    fn stmt(&mut self, s: &Stmt) -> R<()> {
        let mark = self.bump;
        self.locate(s.span);
        let outer = std::mem::replace(&mut self.span, s.span);
        let result = self.stmt_kind(s);
        self.span = outer;
        self.bump = mark;
        result
    }

    fn stmt_kind(&mut self, s: &Stmt) -> R<()> {
        match &s.kind {
            StmtKind::Expr(e) => self.expr(e).map(|_| ()),
            StmtKind::Store { target, value } => {
                let v = self.expr(value)?;
                self.store_lvalue(target, &value.ty, v)
            }
            StmtKind::Aggregate { map, key, op } => self.aggregate(*map, key, op),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => self.if_stmt(cond, then, otherwise),
            StmtKind::Printf { format, args } => self.printf(*format, args),
            StmtKind::Exit { code } => self.exit(code.as_ref()),
            StmtKind::Action { action, args } => self.action(*action, args),
            _ => self.loop_stmt(&s.kind, s.span),
        }
    }

    fn if_stmt(&mut self, cond: &Expr, then: &[Stmt], otherwise: &[Stmt]) -> R<()> {
        let c = self.expr(cond)?.int()?;
        let c = self.em.truthy(c)?;
        let (tb, eb, done) = (
            self.em.block("then"),
            self.em.block("else"),
            self.em.block("endif"),
        );
        self.em.cond_br(c, tb, eb)?;
        self.em.at(tb);
        self.stmts(then)?;
        self.em.br(done)?;
        self.em.at(eb);
        self.stmts(otherwise)?;
        self.em.br(done)?;
        self.em.at(done);
        Ok(())
    }

    /// Stores `v` (of IR type `ty`) into a local or a map entry.
    pub fn store_lvalue(&mut self, target: &LValue, ty: &Type, v: Val<'ctx>) -> R<()> {
        match target {
            LValue::Local(id) => self.store_local(*id, ty, v),
            LValue::Map { map, key } => {
                let k = self.map_key(*map, key)?;
                self.store_map(*map, k, ty, v)
            }
        }
    }

    pub fn local(&self, id: usize) -> R<LocalSlot<'ctx>> {
        self.locals.get(id).copied().ok_or_else(|| {
            CodegenError::Internal(format!(
                "The IR refers to local ${id}, which does not exist."
            ))
        })
    }

    fn store_local(&mut self, id: usize, ty: &Type, v: Val<'ctx>) -> R<()> {
        match self.local(id)? {
            LocalSlot::Stack(ptr, lt) => {
                let v = self
                    .em
                    .resize(v.int()?, lt.get_bit_width(), ty.is_signed())?;
                self.em.store(ptr, v, 8)
            }
            LocalSlot::Buf(buf, n) => self.copy_buffer(buf, n, v.str()?, ty),
        }
    }

    /// Writes `v` into the value buffer for map `map` and updates the entry.
    pub fn store_map(
        &mut self,
        map: usize,
        key: PointerValue<'ctx>,
        ty: &Type,
        v: Val<'ctx>,
    ) -> R<()> {
        let value_ty = match &self.map_def(map)?.value {
            MapValue::Plain(t) => t.clone(),
            _ => Type::U64,
        };
        let buf = self.value_buffer(&value_ty, ty, v)?;
        self.checked_map_update(self.maps.user(map)?, key, buf, BPF_ANY)
    }

    /// A scratch buffer holding `v` (of type `ty`) as a map value of `value_ty`.
    fn value_buffer(&mut self, value_ty: &Type, ty: &Type, v: Val<'ctx>) -> R<PointerValue<'ctx>> {
        match (value_ty, v) {
            (
                Type::Tuple(_) | Type::Record { .. } | Type::Struct(_) | Type::Data(_),
                Val::Str(p),
            ) => Ok(p),
            (Type::Str(n), Val::Str(p)) if str_len(ty) == *n => Ok(p),
            (Type::Str(n), Val::Str(p)) => {
                let buf = self.alloc(*n)?;
                self.copy_str(buf, *n, p, str_len(ty))?;
                Ok(buf)
            }
            (Type::Stack(_) | Type::Symbol(_) | Type::Named(_), Val::Str(p)) => Ok(p),
            (_, Val::Int(i)) => {
                let buf = self.alloc(8)?;
                let wide = self.em.resize(i, 64, ty.is_signed())?;
                self.em.store(buf, wide, 8)?;
                Ok(buf)
            }
            _ => Err(CodegenError::Internal(
                "A map value does not match the map's value type.".into(),
            )),
        }
    }

    pub fn map_def(&self, map: usize) -> R<&'a crate::ir::MapDef> {
        self.program.maps.get(map).ok_or_else(|| {
            CodegenError::Internal(format!(
                "The IR refers to map #{map}, which does not exist."
            ))
        })
    }

    /// Evaluates the key expressions and assembles the key in scratch memory.
    pub fn map_key(&mut self, map: usize, key: &[Expr]) -> R<PointerValue<'ctx>> {
        let def = self.map_def(map)?;
        let layout = key_layout(&def.key);
        let vals = key.iter().map(|e| self.expr(e)).collect::<R<Vec<_>>>()?;
        let buf = self.alloc(layout.size)?;
        if key.is_empty() {
            self.em.store(buf, self.em.u64c(0), 8)?;
            return Ok(buf);
        }
        if layout.has_padding {
            self.em.zero(buf, layout.size)?;
        }
        for (((off, kt), e), v) in layout.offsets.iter().zip(&def.key).zip(key).zip(vals) {
            let dst = self.em.offset(buf, *off)?;
            match kt {
                Type::Str(n) => self.copy_str(dst, *n, v.str()?, str_len(&e.ty))?,
                Type::Tuple(_) | Type::Record { .. } | Type::Struct(_) => {
                    self.write_slot(dst, kt, v)?
                }
                Type::Stack(_) | Type::Symbol(_) | Type::Named(_) => {
                    self.em.copy(dst, v.str()?, kt.size())?
                }
                Type::Data(_) => self.em.copy(dst, v.str()?, kt.slot_size())?,
                _ => {
                    let wide = self.em.resize(v.int()?, 64, e.ty.is_signed())?;
                    self.em.store(dst, wide, 8)?;
                }
            }
        }
        Ok(buf)
    }

    /// Copies a string of capacity `src_n` into a buffer of capacity `dst_n`,
    /// truncating (and NUL-terminating) or zero padding as needed.
    pub fn copy_str(
        &mut self,
        dst: PointerValue<'ctx>,
        dst_n: u32,
        src: PointerValue<'ctx>,
        src_n: u32,
    ) -> R<()> {
        if src_n == dst_n {
            return self.em.copy(dst, src, round8(dst_n));
        }
        if src_n < dst_n {
            self.em.zero(dst, round8(dst_n))?;
            return self.em.copy(dst, src, round8(src_n));
        }
        self.em.copy(dst, src, round8(dst_n))?;
        let i8t = self.em.ctx.i8_type();
        for i in dst_n.saturating_sub(1)..round8(dst_n) {
            let p = self.em.offset(dst, i)?;
            self.em.store(p, i8t.const_zero(), 1)?;
        }
        Ok(())
    }
}

/// The capacity of a string type, the size of a stack value (both live in
/// buffers), 0 for anything else.
pub(crate) fn str_len(t: &Type) -> u32 {
    match t {
        Type::Str(n) => *n,
        Type::Stack(_) | Type::Symbol(_) | Type::Named(_) => t.size(),
        _ => 0,
    }
}
