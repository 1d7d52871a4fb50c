//! C types in expressions: struct and pointer casts, `p->f` and `p.f`
//! (auto-dereferencing pointers), `*p`, `a[i]`, pointer arithmetic and
//! comparison, `sizeof(struct x)`, `offsetof(struct x, a.b)`, bitfields,
//! and the BTF types of raw tracepoint and fentry `args`. A chain such as
//! `a->b.c->d` is computed as a `Place` (an address and the C type there)
//! and read once at the end with one `Deref`; a pointer met on the way is
//! read and followed. Records come from the script's C preamble or the
//! kernel (`KernelInfo::c_record`), looked up lazily and cached by name.

use super::types::{convert, describe};
use super::{Checker, ProbeScope};
use crate::ctypes::{CField, CRecord, CType};
use crate::diagnostics::Diagnostic;
use crate::ir::{AddrSpace, BinaryOp, Expr, ExprKind, StructType, Type};
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::nearest;
use std::rc::Rc;

/// The script's C struct, union and enum definitions, and a
/// diagnostic (E0310) for each definition that cannot be read.
pub(super) fn preamble(script: &ast::Script) -> (crate::ctypes::CDefinitions, Vec<Diagnostic>) {
    let mut records = crate::ctypes::CDefinitions::default();
    let mut diags = Vec::new();
    let defs: Vec<(&String, Span)> = script
        .items
        .iter()
        .filter_map(|i| match i {
            ast::Item::CDefinition { text, span } => Some((text, *span)),
            _ => None,
        })
        .collect();
    // All definitions are read together, so they may refer to each other
    // in any order; an error is placed in the definition it falls in.
    let mut all = String::new();
    let mut starts = Vec::new();
    for (text, span) in &defs {
        starts.push((all.len(), *span));
        all.push_str(text);
        all.push('\n');
    }
    match crate::ctypes::parse_c_definitions(&all) {
        Ok(r) => records = r,
        Err((at, msg)) => {
            let (base, span) = starts
                .iter()
                .rev()
                .find(|(s, _)| *s <= at)
                .copied()
                .unwrap_or((0, Span::new(0, 0)));
            let pos = span.start + (at - base);
            diags.push(
                Diagnostic::error(
                    "E0310",
                    format!("cannot read this C definition: {msg}"),
                    Span::new(pos, (pos + 1).min(span.end.max(pos + 1))),
                )
                .label("here")
                .help("fields are C declarations such as `int a;`, `char name[16];`, `struct foo *next;`, `unsigned int flag : 1;`"),
            );
        }
    }
    (records, diags)
}

/// An object in memory: its address (a `U64` expression), its C type, and
/// for a bitfield its bit shift and width.
struct Place {
    addr: Expr,
    ty: CType,
    space: AddrSpace,
    bits: Option<(u32, u32)>,
}

/// How deep nested records are expanded for printing a struct value.
const MAX_PRINT_DEPTH: u32 = 4;

fn u64_const(v: u64, span: Span) -> Expr {
    Expr {
        kind: ExprKind::Int(v),
        ty: Type::U64,
        span,
    }
}

fn bin(op: BinaryOp, lhs: Expr, rhs: Expr, ty: Type, span: Span) -> Expr {
    Expr {
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        ty,
        span,
    }
}

/// `addr + off` (folded when `off` is 0).
fn offset(addr: Expr, off: u64, span: Span) -> Expr {
    if off == 0 {
        return addr;
    }
    bin(BinaryOp::Add, addr, u64_const(off, span), Type::U64, span)
}

/// The record key and union flag of a struct type's name
/// (`struct task_struct` → `task_struct`).
fn key_of(st: &StructType) -> (String, bool) {
    match st.name.split_once(' ') {
        Some((kw, key)) => (key.to_string(), kw == "union"),
        None => (st.name.clone(), false),
    }
}

/// The C type a value of IR type `t` has in memory.
fn ctype_of(t: &Type) -> CType {
    match t {
        Type::Int { bits, signed } => CType::Int {
            size: u32::from(*bits) / 8,
            signed: *signed,
        },
        Type::Bool => CType::Int {
            size: 1,
            signed: false,
        },
        Type::Ptr { pointee, .. } => CType::Ptr(Box::new(ctype_of(pointee))),
        Type::Str(n) => CType::Array {
            elem: Box::new(CType::Int {
                size: 1,
                signed: true,
            }),
            len: *n,
        },
        Type::Struct(st) => {
            let (key, union) = key_of(st);
            CType::Record {
                key,
                union,
                size: st.size,
            }
        }
        _ => CType::Opaque,
    }
}

/// A record's display name.
fn record_name(key: &str, union: bool) -> String {
    format!("{} {key}", if union { "union" } else { "struct" })
}

/// The IR type a pointer to `c` points to; records stay unexpanded
/// (their fields are looked up when used).
fn pointee(c: &CType) -> Type {
    match c {
        CType::Int { size, signed } if matches!(size, 1 | 2 | 4 | 8) => Type::Int {
            bits: (size * 8) as u8,
            signed: *signed,
        },
        CType::Ptr(inner) => Type::Ptr {
            pointee: Box::new(pointee(inner)),
            space: AddrSpace::Kernel,
        },
        CType::Record { key, union, size } => Type::Struct(Rc::new(StructType {
            name: record_name(key, *union),
            size: *size,
            fields: Vec::new(),
        })),
        CType::Array { elem, len } if is_char(elem) => Type::Str(*len),
        CType::Array { elem, .. } => pointee(elem),
        _ => Type::Int {
            bits: 8,
            signed: false,
        },
    }
}

fn is_char(c: &CType) -> bool {
    matches!(c, CType::Int { size: 1, .. })
}

impl Checker<'_> {
    /// The record `key`, from the script's C definitions or the kernel.
    pub(super) fn c_record(&mut self, key: &str, span: Span) -> Option<Rc<CRecord>> {
        if let Some(r) = self.c_records.get(key) {
            return r.clone();
        }
        let found = match self.c_preamble.get(key) {
            Some(r) => Some(Rc::new(r.clone())),
            None => match self.kernel.c_record(key) {
                Ok(r) => r.map(Rc::new),
                Err(why) => {
                    self.error(
                        Diagnostic::error("E0300", "cannot read the kernel's C types", span)
                            .label("needs a kernel type")
                            .note(why),
                    );
                    None
                }
            },
        };
        self.c_records.insert(key.to_string(), found.clone());
        found
    }

    /// A `struct NAME` or `union NAME` written in a cast, `sizeof` or
    /// `offsetof`: the record, or E0301 with the nearest known name.
    fn named_record(&mut self, name: &str, span: Span) -> Option<Rc<CRecord>> {
        let key = name.split_once(' ').map_or(name, |(_, k)| k);
        if let Some(r) = self.c_record(key, span) {
            return Some(r);
        }
        let mut d = Diagnostic::error("E0301", format!("unknown type `{name}`"), span)
            .label("not a struct or union known to this kernel or script");
        let mut names: Vec<String> = self.c_preamble.keys().cloned().collect();
        names.extend(self.kernel.c_record_names().unwrap_or_default());
        if let Some(n) = nearest(key, names.iter().map(String::as_str)) {
            d = d.help(format!("did you mean `struct {n}`?"));
        }
        self.error(d);
        None
    }

    /// The IR type of a C type name (`struct task_struct`) in a cast or
    /// `sizeof`; `None` when `name` is not a C record name.
    pub(super) fn c_type_name(&mut self, name: &str, span: Span) -> Option<Option<Type>> {
        if !(name.starts_with("struct ") || name.starts_with("union ")) {
            return None;
        }
        let Some(r) = self.named_record(name, span) else {
            return Some(None);
        };
        let key = name.split_once(' ').map_or(name, |(_, k)| k);
        Some(Some(pointee(&CType::Record {
            key: key.to_string(),
            union: r.union,
            size: r.size,
        })))
    }

    /// `offsetof(struct x, a.b)`.
    pub(super) fn offsetof(
        &mut self,
        ty: &ast::TypeName,
        path: &[String],
        span: Span,
    ) -> Option<Expr> {
        let mut rec = self.named_record(&ty.name, ty.span)?;
        let mut total = 0u64;
        for (i, name) in path.iter().enumerate() {
            let (field, bit) = self.find_field(&rec, name, span)?;
            total += u64::from(bit / 8);
            if i + 1 < path.len() {
                let CType::Record { key, .. } = &field.ty else {
                    self.error(
                        Diagnostic::error("E0304", format!("field `{name}` is not a struct"), span)
                            .label(format!("`{name}` is {}", field.ty)),
                    );
                    return None;
                };
                rec = self.c_record(key, span)?;
            }
        }
        Some(u64_const(total, span))
    }

    /// A field of `rec` by name, looking into anonymous members; the field
    /// and its bit offset from the record's start. E0306 when missing.
    fn find_field(&mut self, rec: &CRecord, name: &str, span: Span) -> Option<(CField, u32)> {
        if let Some(found) = self.lookup_field(rec, name, span, 0) {
            return Some(found);
        }
        let mut names = Vec::new();
        self.field_names(rec, span, &mut names, 0);
        let what = if rec.name.is_empty() {
            "this struct".to_string()
        } else {
            format!("`{}`", record_name(&rec.name, rec.union))
        };
        let mut d = Diagnostic::error("E0306", format!("{what} has no field `{name}`"), span)
            .label("unknown field");
        if let Some(n) = nearest(name, names.iter().map(String::as_str)) {
            d = d.help(format!("did you mean `{n}`?"));
        }
        self.error(d);
        None
    }

    fn lookup_field(
        &mut self,
        rec: &CRecord,
        name: &str,
        span: Span,
        depth: u32,
    ) -> Option<(CField, u32)> {
        if let Some(f) = rec.fields.iter().find(|f| f.name == name) {
            return Some((f.clone(), f.bit_offset));
        }
        if depth > 8 {
            return None;
        }
        for f in rec.fields.iter().filter(|f| f.name.is_empty()) {
            if let CType::Record { key, .. } = &f.ty {
                let inner = self.c_record(key, span)?;
                if let Some((found, bit)) = self.lookup_field(&inner, name, span, depth + 1) {
                    return Some((found, bit + f.bit_offset));
                }
            }
        }
        None
    }

    fn field_names(&mut self, rec: &CRecord, span: Span, out: &mut Vec<String>, depth: u32) {
        for f in &rec.fields {
            if !f.name.is_empty() {
                out.push(f.name.clone());
            } else if let (CType::Record { key, .. }, true) = (&f.ty, depth < 8) {
                if let Some(inner) = self.c_record(key, span) {
                    self.field_names(&inner, span, out, depth + 1);
                }
            }
        }
    }

    /// `base->f`, `base.f` on C values (not `args`).
    pub(super) fn c_field(
        &mut self,
        base: &ast::Expr,
        field: &str,
        arrow: bool,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let target = self.field_target(base, field, arrow, span, scope)?;
        self.target_value(target, span)
    }

    /// A field of a place or pointer (`Ok`), or of a struct value (`Err`:
    /// the field's value).
    fn field_target(
        &mut self,
        base: &ast::Expr,
        field: &str,
        arrow: bool,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Result<Place, Expr>> {
        let bp = self.base_place(base, scope)?;
        if let (Err(v), false) = (&bp, arrow) {
            if let Type::Struct(st) = &v.ty {
                let st = st.clone();
                return self
                    .struct_value_field(bp.err()?, &st, field, span)
                    .map(Err);
            }
        }
        self.field_of(bp, is_curtask(base), field, arrow, span, base.span)
            .map(Ok)
    }

    /// The value of a place (read from memory) or of an already read value.
    fn target_value(&mut self, target: Result<Place, Expr>, span: Span) -> Option<Expr> {
        match target {
            Ok(place) => self.read_place(place, span),
            Err(value) => Some(value),
        }
    }

    /// `s.f` on a struct value held in a variable or map: the field's
    /// bytes inside the value.
    fn struct_value_field(
        &mut self,
        v: Expr,
        st: &StructType,
        field: &str,
        span: Span,
    ) -> Option<Expr> {
        let Some((_, off, ty)) = st.fields.iter().find(|(n, _, _)| n == field) else {
            let mut d = Diagnostic::error(
                "E0306",
                format!("`{}` has no field `{field}`", st.name),
                field_name_span(span, field),
            )
            .label("unknown field");
            if let Some(n) = nearest(field, st.fields.iter().map(|(n, _, _)| n.as_str())) {
                d = d.help(format!("did you mean `{n}`?"));
            }
            self.error(d);
            return None;
        };
        Some(Expr {
            kind: ExprKind::StructField {
                base: Box::new(v),
                offset: *off,
            },
            ty: ty.clone(),
            span,
        })
    }

    /// An enum constant of the script's C preamble or, failing that, of the
    /// kernel's BTF, typed like a literal.
    pub(super) fn enum_constant(&self, name: &str, span: Span) -> Option<Expr> {
        let v = match self.c_constants.get(name) {
            Some(v) => *v,
            None => self.kernel.enum_constant(name)?,
        };
        Some(Expr {
            kind: ExprKind::Int(v as u64),
            ty: super::types::signed_literal_type(v),
            span,
        })
    }

    /// `*p` and `a[i]` as values.
    pub(super) fn c_place_value(&mut self, e: &ast::Expr, scope: &mut ProbeScope) -> Option<Expr> {
        let target = self.place(e, scope)?;
        self.target_value(target, e.span)
    }

    /// The object an expression designates: `p->f`, `s.f`, `*p`, `a[i]`.
    /// (A field of a struct value is not in memory: it is the `Err` value.)
    fn place(&mut self, e: &ast::Expr, scope: &mut ProbeScope) -> Option<Result<Place, Expr>> {
        match &e.kind {
            ast::ExprKind::Field {
                base, field, arrow, ..
            } if !is_args(base) => self.field_target(base, field, *arrow, e.span, scope),
            ast::ExprKind::Deref(inner) => {
                let mut v = if is_place_expr(inner) {
                    // A `void *` field has nothing to read: say so.
                    let target = self.place(inner, scope)?;
                    if let Ok(Place {
                        ty: CType::Ptr(p), ..
                    }) = &target
                    {
                        if matches!(**p, CType::Void) {
                            self.void_deref(e.span);
                            return None;
                        }
                    }
                    self.target_value(target, inner.span)?
                } else {
                    self.expr(inner, scope)?
                };
                if is_curtask(inner) && v.ty.is_int() {
                    v = self.curtask_ptr(v, inner.span)?;
                }
                match v.ty.clone() {
                    Type::Ptr { pointee, space } => Some(Ok(Place {
                        addr: convert(v, &Type::U64),
                        ty: ctype_of(&pointee),
                        space,
                        bits: None,
                    })),
                    other => {
                        self.error(
                            Diagnostic::error(
                                "E0308",
                                format!("cannot dereference {}", describe(&other)),
                                e.span,
                            )
                            .label("not a pointer")
                            .help("cast it to a pointer first, e.g. `*(uint64 *)addr`"),
                        );
                        None
                    }
                }
            }
            ast::ExprKind::Index { base, index } => self.index_place(base, index, e.span, scope),
            _ => None,
        }
    }

    /// `&p->field`, `&s.f`, `&a[i]`, `&*p`: the address of a C object,
    /// computed without reading it, typed as a pointer to the object's type.
    pub(super) fn address_of(
        &mut self,
        inner: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        if !is_place_expr(inner) {
            let what = match &inner.kind {
                ast::ExprKind::Var(_) => "a scratch variable",
                ast::ExprKind::Map { .. } => "a map",
                _ => "this value",
            };
            self.error(
                Diagnostic::error(
                    "E0462",
                    format!("cannot take the address of {what}"),
                    span,
                )
                .label("not a C object in memory")
                .help("`&` gives the address of a field or element reached through a pointer, e.g. `&curtask->se`, `&$p->arr[2]`"),
            );
            return None;
        }
        match self.place(inner, scope)? {
            Ok(Place { bits: Some(_), .. }) => {
                self.error(
                    Diagnostic::error("E0462", "cannot take the address of a bitfield", span)
                        .label("a bitfield has no byte address")
                        .help("take the address of the struct that holds it"),
                );
                None
            }
            Ok(place) => Some(Expr {
                kind: ExprKind::Cast(Box::new(place.addr)),
                ty: Type::Ptr {
                    pointee: Box::new(pointee(&place.ty)),
                    space: place.space,
                },
                span,
            }),
            Err(_) => {
                self.error(
                    Diagnostic::error(
                        "E0462",
                        "cannot take the address of a field of a struct value",
                        span,
                    )
                    .label("this struct was copied out of memory")
                    .help(
                        "take the address through the pointer it was read from, e.g. `&$p->field`",
                    ),
                );
                None
            }
        }
    }

    /// `*p` on a `void *`: error E0461.
    fn void_deref(&mut self, span: Span) {
        self.error(
            Diagnostic::error("E0461", "cannot dereference a `void *`", span)
                .label("a `void *`: the type to read is unknown")
                .help("cast it first, e.g. `*(uint64 *)p`"),
        );
    }

    /// The place of a value known to be a pointer or a place.
    fn base_place(
        &mut self,
        base: &ast::Expr,
        scope: &mut ProbeScope,
    ) -> Option<Result<Place, Expr>> {
        if is_place_expr(base) {
            return self.place(base, scope);
        }
        let v = self.expr(base, scope)?;
        Some(Err(v))
    }

    /// Field `field` of a base that is a place or a (pointer) value.
    fn field_of(
        &mut self,
        bp: Result<Place, Expr>,
        is_curtask: bool,
        field: &str,
        arrow: bool,
        span: Span,
        base_span: Span,
    ) -> Option<Place> {
        let record_place = match bp {
            Ok(p) => match (&p.ty, arrow) {
                (CType::Record { .. }, false) => p,
                (CType::Ptr(inner), _) if matches!(**inner, CType::Record { .. }) => {
                    // A pointer field: read it, then follow it.
                    let ptr = self.read_place(p, base_span)?;
                    self.pointer_target(ptr, base_span)?
                }
                (CType::Record { .. }, true) => {
                    self.error(
                        Diagnostic::error("E0303", "`->` used on a struct, not a pointer", span)
                            .label(format!("this is a `{}`", p.ty))
                            .help(format!("use `.{field}`")),
                    );
                    return None;
                }
                (other, _) => {
                    let other = other.clone();
                    return self.not_struct(&other.to_string(), field, arrow, span);
                }
            },
            Err(v) => match &v.ty {
                Type::Ptr { .. } => self.pointer_target(v, base_span)?,
                Type::Int { bits: 64, .. } if is_curtask => {
                    let v = self.curtask_ptr(v, base_span)?;
                    self.pointer_target(v, base_span)?
                }
                Type::Struct(st) => {
                    self.error(
                        Diagnostic::error("E0303", "`->` used on a struct, not a pointer", span)
                            .label(format!("this is a `{}` value", st.name))
                            .help(format!("use `.{field}`")),
                    );
                    return None;
                }
                other => {
                    let what = describe(other);
                    return self.not_struct(&what, field, arrow, span);
                }
            },
        };
        let CType::Record { key, .. } = &record_place.ty else {
            return None;
        };
        let rec = self.c_record(key, span)?;
        let (f, bit) = self.find_field(&rec, field, field_name_span(span, field))?;
        let byte = bit / 8;
        let bits = (f.bitfield_width > 0).then_some((bit % 8, f.bitfield_width));
        Some(Place {
            addr: offset(record_place.addr, u64::from(byte), span),
            ty: f.ty,
            space: record_place.space,
            bits,
        })
    }

    /// The `curtask` builtin: a `struct task_struct *` when the kernel (or
    /// the script's preamble) describes `task_struct`, else a `uint64`
    /// (bpftrace without BTF). Looking the type up never reports an error.
    pub(super) fn curtask(&mut self, span: Span) -> Expr {
        let v = Expr {
            kind: ExprKind::Builtin(ferrotrace_stdlib::Builtin::Curtask),
            ty: Type::U64,
            span,
        };
        if !self.record_known("task_struct") {
            return v;
        }
        self.curtask_ptr(v.clone(), span).unwrap_or(v)
    }

    /// Whether the script or the kernel describes `struct NAME`, asked
    /// without reporting anything.
    fn record_known(&self, name: &str) -> bool {
        match self.c_records.get(name) {
            Some(r) => r.is_some(),
            None => {
                self.c_preamble.contains_key(name)
                    || matches!(self.kernel.c_record(name), Ok(Some(_)))
            }
        }
    }

    /// `ctx`: the context address; in an `iter:NAME` probe the
    /// `struct bpf_iter__NAME *` it is, when the kernel describes it.
    pub(super) fn ctx(&mut self, span: Span, scope: &ProbeScope) -> Expr {
        let v = Expr {
            kind: ExprKind::Builtin(ferrotrace_stdlib::Builtin::Ctx),
            ty: Type::U64,
            span,
        };
        let crate::ir::Attach::Iter { name } = &scope.attach else {
            return v;
        };
        let record = format!("bpf_iter__{name}");
        if !self.record_known(&record) {
            return v;
        }
        let Some(Some(record)) = self.c_type_name(&format!("struct {record}"), span) else {
            return v;
        };
        Expr {
            kind: ExprKind::Cast(Box::new(v)),
            ty: Type::Ptr {
                pointee: Box::new(record),
                space: AddrSpace::Kernel,
            },
            span,
        }
    }

    /// `curtask` (a u64 address) as the `struct task_struct *` it is.
    fn curtask_ptr(&mut self, v: Expr, span: Span) -> Option<Expr> {
        let task = self.c_type_name("struct task_struct", span)??;
        Some(Expr {
            kind: ExprKind::Cast(Box::new(v)),
            ty: Type::Ptr {
                pointee: Box::new(task),
                space: AddrSpace::Kernel,
            },
            span,
        })
    }

    fn not_struct(&mut self, what: &str, field: &str, arrow: bool, span: Span) -> Option<Place> {
        let d = if arrow {
            Diagnostic::error(
                "E0302",
                format!("`->{field}` needs a pointer to a struct, not {what}"),
                span,
            )
            .label("not a struct pointer")
            .help("cast it to a struct pointer first, e.g. `((struct task_struct *)addr)->pid`")
        } else {
            Diagnostic::error(
                "E0304",
                format!("`.{field}` needs a struct, not {what}"),
                span,
            )
            .label("not a struct")
        };
        self.error(d);
        None
    }

    /// The record a struct pointer value points to.
    fn pointer_target(&mut self, ptr: Expr, span: Span) -> Option<Place> {
        let Type::Ptr { pointee, space } = ptr.ty.clone() else {
            return None;
        };
        let ty = ctype_of(&pointee);
        if !matches!(ty, CType::Record { .. }) {
            self.error(
                Diagnostic::error(
                    "E0302",
                    format!(
                        "field access needs a pointer to a struct, not {}",
                        describe(&ptr.ty)
                    ),
                    span,
                )
                .label("not a struct pointer"),
            );
            return None;
        }
        Some(Place {
            addr: convert(ptr, &Type::U64),
            ty,
            space,
            bits: None,
        })
    }

    fn index_place(
        &mut self,
        base: &ast::Expr,
        index: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Result<Place, Expr>> {
        let (addr, elem, space, len) = match self.base_place(base, scope)? {
            Ok(Place {
                addr,
                ty: CType::Array { elem, len },
                space,
                ..
            }) => (addr, *elem, space, Some(len)),
            Ok(
                p @ Place {
                    ty: CType::Ptr(_), ..
                },
            ) => {
                let v = self.read_place(p, base.span)?;
                let Type::Ptr { pointee, space } = v.ty.clone() else {
                    return None;
                };
                (convert(v, &Type::U64), ctype_of(&pointee), space, None)
            }
            Err(v) => match v.ty.clone() {
                Type::Ptr { pointee, space } => {
                    (convert(v, &Type::U64), ctype_of(&pointee), space, None)
                }
                Type::Str(cap) => return self.string_byte(v, cap, index, span, scope).map(Err),
                other => return self.not_indexable(&describe(&other), base.span).map(Ok),
            },
            Ok(p) => {
                return self
                    .not_indexable(&format!("a `{}`", p.ty), base.span)
                    .map(Ok)
            }
        };
        let idx = self.int_expr(index, scope)?;
        let size = u64::from(elem.size());
        let addr = match idx.kind {
            ExprKind::Int(i) => {
                let i = if idx.ty.is_signed() {
                    i as i64
                } else {
                    i64::try_from(i).unwrap_or(i64::MAX)
                };
                if let Some(len) = len {
                    if i < 0 || i >= i64::from(len) {
                        self.error(
                            Diagnostic::error(
                                "E0307",
                                format!("index {i} is out of bounds for an array of {len}"),
                                index.span,
                            )
                            .label(format!("valid indices are 0 to {}", i64::from(len) - 1)),
                        );
                        return None;
                    }
                }
                offset(addr, (i as u64).wrapping_mul(size), span)
            }
            _ => {
                let i = convert(idx, &Type::U64);
                let scaled = bin(BinaryOp::Mul, i, u64_const(size, span), Type::U64, span);
                bin(BinaryOp::Add, addr, scaled, Type::U64, span)
            }
        };
        Some(Ok(Place {
            addr,
            ty: elem,
            space,
            bits: None,
        }))
    }

    /// `$s[i]`: byte `i` of a string value as an `int8`; a constant index
    /// must lie inside the string's buffer.
    fn string_byte(
        &mut self,
        v: Expr,
        cap: u32,
        index: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let idx = self.int_expr(index, scope)?;
        if let ExprKind::Int(i) = idx.kind {
            let i = if idx.ty.is_signed() {
                i as i64
            } else {
                i64::try_from(i).unwrap_or(i64::MAX)
            };
            if i < 0 || i >= i64::from(cap) {
                self.error(
                    Diagnostic::error(
                        "E0307",
                        format!("index {i} is out of bounds for a string of {cap} bytes"),
                        index.span,
                    )
                    .label(format!("valid indices are 0 to {}", i64::from(cap) - 1)),
                );
                return None;
            }
        }
        Some(Expr {
            kind: ExprKind::StrByte {
                base: Box::new(v),
                index: Box::new(idx),
            },
            ty: Type::Int {
                bits: 8,
                signed: true,
            },
            span,
        })
    }

    fn not_indexable(&mut self, what: &str, span: Span) -> Option<Place> {
        self.error(
            Diagnostic::error("E0309", format!("cannot index {what}"), span)
                .label("not an array or pointer")
                .help("index arrays and pointers; maps are indexed as `@m[key]`"),
        );
        None
    }

    /// Reads the value at a place: integers and pointers at their width,
    /// char arrays as strings, records as struct values.
    fn read_place(&mut self, p: Place, span: Span) -> Option<Expr> {
        let deref = |ty: Type, addr: Expr| Expr {
            kind: ExprKind::Deref {
                addr: Box::new(addr),
                space: p.space,
            },
            ty,
            span,
        };
        match &p.ty {
            CType::Int { size, signed } if matches!(size, 1 | 2 | 4 | 8) => {
                let ty = Type::Int {
                    bits: (size * 8) as u8,
                    signed: *signed,
                };
                match p.bits {
                    None => Some(deref(ty, p.addr)),
                    Some((shift, width)) => {
                        Some(bitfield(deref(Type::U64, p.addr), shift, width, &ty, span))
                    }
                }
            }
            CType::Ptr(inner) => Some(deref(
                Type::Ptr {
                    pointee: Box::new(pointee(inner)),
                    space: p.space,
                },
                p.addr,
            )),
            CType::Array { elem, len } if is_char(elem) => Some(deref(Type::Str(*len), p.addr)),
            CType::Record { key, union, .. } => {
                let st = self.struct_value_type(key, *union, span, 0)?;
                Some(deref(Type::Struct(st), p.addr))
            }
            other => {
                self.error(
                    Diagnostic::error(
                        "E0305",
                        format!("a `{other}` cannot be read as a value"),
                        span,
                    )
                    .label("not readable as a whole")
                    .help(match other {
                        CType::Array { .. } => "index the array, e.g. `a[0]`",
                        _ => "read one of its fields, or cast it to an integer type",
                    }),
                );
                None
            }
        }
    }

    /// A struct value's printable layout, expanded from its record.
    fn struct_value_type(
        &mut self,
        key: &str,
        union: bool,
        span: Span,
        depth: u32,
    ) -> Option<Rc<StructType>> {
        if let Some(st) = self.struct_types.get(key) {
            return Some(st.clone());
        }
        let rec = self.c_record(key, span)?;
        let mut fields = Vec::new();
        self.printable_fields(&rec, 0, span, depth, &mut fields);
        let st = Rc::new(StructType {
            name: record_name(key, union),
            size: rec.size,
            fields,
        });
        if depth == 0 {
            self.struct_types.insert(key.to_string(), st.clone());
        }
        Some(st)
    }

    fn printable_fields(
        &mut self,
        rec: &CRecord,
        base: u32,
        span: Span,
        depth: u32,
        out: &mut Vec<(String, u32, Type)>,
    ) {
        for f in &rec.fields {
            if f.bitfield_width > 0 || f.bit_offset % 8 != 0 {
                continue;
            }
            let off = base + f.bit_offset / 8;
            if f.name.is_empty() {
                if let CType::Record { key, .. } = &f.ty {
                    if let Some(inner) = self.c_record(key, span) {
                        self.printable_fields(&inner, off, span, depth, out);
                    }
                }
                continue;
            }
            let ty = match &f.ty {
                CType::Record { key, union, .. } if depth < MAX_PRINT_DEPTH => {
                    match self.struct_value_type(key, *union, span, depth + 1) {
                        Some(st) => Type::Struct(st),
                        None => continue,
                    }
                }
                CType::Int { size, .. } if !matches!(size, 1 | 2 | 4 | 8) => continue,
                CType::Int { .. } | CType::Ptr(_) => pointee(&f.ty),
                CType::Array { elem, len } if is_char(elem) => Type::Str(*len),
                _ => continue,
            };
            out.push((f.name.clone(), off, ty));
        }
    }

    /// `p + n`, `p - n` (scaled by the pointee's size), and comparisons or
    /// other operators on pointers (as 64-bit addresses).
    pub(super) fn pointer_binary(
        &mut self,
        op: BinaryOp,
        l: Expr,
        r: Expr,
        span: Span,
    ) -> Option<Expr> {
        if let (BinaryOp::Add | BinaryOp::Sub, Type::Ptr { pointee, .. }, true) =
            (op, &l.ty, r.ty.is_int())
        {
            let size = u64::from(ctype_of(pointee).size().max(1));
            let ty = l.ty.clone();
            let n = convert(r, &Type::U64);
            let scaled = match n.kind {
                ExprKind::Int(v) => u64_const(v.wrapping_mul(size), span),
                _ => bin(BinaryOp::Mul, n, u64_const(size, span), Type::U64, span),
            };
            let sum = bin(op, convert(l, &Type::U64), scaled, Type::U64, span);
            return Some(Expr {
                kind: ExprKind::Cast(Box::new(sum)),
                ty,
                span,
            });
        }
        if let (BinaryOp::Sub, Type::Ptr { pointee: lp, .. }, Type::Ptr { pointee: rp, .. }) =
            (op, &l.ty, &r.ty)
        {
            return self.pointer_difference(l.clone(), r.clone(), lp == rp, span);
        }
        let as_addr = |e: Expr| match e.ty {
            Type::Ptr { .. } => convert(e, &Type::U64),
            _ => e,
        };
        self.binary(op, as_addr(l), as_addr(r), span)
    }

    /// `p - q` on pointers to the same type: the number of elements between
    /// them (an int64, negative when `p` is below `q`), as in C.
    fn pointer_difference(&mut self, l: Expr, r: Expr, same: bool, span: Span) -> Option<Expr> {
        if !same {
            self.error(
                Diagnostic::error(
                    "E0460",
                    format!(
                        "cannot subtract {} from {}",
                        describe(&r.ty),
                        describe(&l.ty)
                    ),
                    span,
                )
                .label("pointers to different types")
                .help("subtracting pointers counts elements of one type: cast both to the same pointer type, or to `uint64` for a byte distance"),
            );
            return None;
        }
        let Type::Ptr { pointee, .. } = &l.ty else {
            return None;
        };
        let size = u64::from(ctype_of(pointee).size().max(1));
        let bytes = bin(
            BinaryOp::Sub,
            convert(convert(l, &Type::U64), &Type::I64),
            convert(convert(r, &Type::U64), &Type::I64),
            Type::I64,
            span,
        );
        if size == 1 {
            return Some(bytes);
        }
        let n = Expr {
            kind: ExprKind::Int(size),
            ty: Type::I64,
            span,
        };
        Some(bin(BinaryOp::Div, bytes, n, Type::I64, span))
    }

    /// The BTF type of a raw tracepoint's or fentry function's argument
    /// `name`, as read from the context slot at `offset`.
    pub(super) fn typed_arg(
        &mut self,
        scope: &ProbeScope,
        name: &str,
        offset: u32,
        span: Span,
    ) -> Option<Expr> {
        let (kind, target) = scope.probe_name.split_once(':')?;
        let target = target.rsplit(':').next()?;
        let args = match kind {
            "rawtracepoint" => self.kernel.raw_tracepoint_args(target),
            "fentry" | "fexit" => self.kernel.function_param_types(target),
            _ => return None,
        };
        let c = args.ok().flatten()?.into_iter().find(|(n, _)| n == name)?.1;
        // An integer or pointer argument has the type a pointer to it
        // would point to.
        let ty = match &c {
            CType::Int {
                size: 1 | 2 | 4 | 8,
                ..
            } => pointee(&c),
            CType::Ptr(_) => pointee(&c),
            _ => return None,
        };
        Some(Expr {
            kind: ExprKind::TracepointField { offset },
            ty,
            span,
        })
    }
}

/// Extracts a `width`-bit field at bit `shift` of the 64-bit word `word`,
/// sign-extended when `ty` is signed.
fn bitfield(word: Expr, shift: u32, width: u32, ty: &Type, span: Span) -> Expr {
    let width = width.clamp(1, 64);
    let up = 64 - shift.min(63) - width.min(64 - shift.min(63));
    let shl = bin(
        BinaryOp::Shl,
        word,
        u64_const(u64::from(up), span),
        Type::U64,
        span,
    );
    let down = u64::from(64 - width);
    let v = if ty.is_signed() {
        let signed = convert(shl, &Type::I64);
        bin(
            BinaryOp::Shr,
            signed,
            u64_const(down, span),
            Type::I64,
            span,
        )
    } else {
        bin(BinaryOp::Shr, shl, u64_const(down, span), Type::U64, span)
    };
    convert(v, ty)
}

/// The field name at the end of a field expression's span (`p->name`),
/// where an unknown-field error points.
fn field_name_span(span: Span, field: &str) -> Span {
    let start = span.end.saturating_sub(field.len()).max(span.start);
    Span::new(start, span.end)
}

fn is_curtask(e: &ast::Expr) -> bool {
    matches!(&e.kind, ast::ExprKind::Ident(n) if n == "curtask")
}

fn is_args(e: &ast::Expr) -> bool {
    matches!(&e.kind, ast::ExprKind::Ident(n) if n == "args")
}

/// Whether `e` designates an object in memory (rather than a value).
fn is_place_expr(e: &ast::Expr) -> bool {
    match &e.kind {
        ast::ExprKind::Field { base, .. } => !is_args(base),
        ast::ExprKind::Deref(_) | ast::ExprKind::Index { .. } => true,
        _ => false,
    }
}
