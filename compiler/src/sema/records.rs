//! Records (bpftrace 0.26's named tuples): `(name = "x", size = 2)` and
//! field access `$r.name`. A record is laid out like the tuple of its
//! values, so code generation and the runtime treat it as a tuple whose
//! type also carries the field names; two records are the same type only
//! with the same names in the same order.

use super::types::{convert, describe, storage_type};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprKind, Type};
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::nearest;
use std::collections::HashMap;

impl Checker<'_> {
    pub(super) fn record(
        &mut self,
        fields: &[ast::RecordField],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for f in fields {
            if let Some(first) = seen.insert(&f.name, f.name_span) {
                self.error(
                    Diagnostic::error(
                        "E0340",
                        format!("record field `{}` is given twice", f.name),
                        f.name_span,
                    )
                    .label("second `=` for this name")
                    .secondary(first, "first given here")
                    .help("each field of a record needs its own name"),
                );
                return None;
            }
        }
        let values: Vec<ast::Expr> = fields.iter().map(|f| f.value.clone()).collect();
        let elems: Vec<Expr> = self
            .exprs(&values, scope)?
            .into_iter()
            .map(|e| {
                let ty = storage_type(&e.ty);
                convert(e, &ty)
            })
            .collect();
        let ty = Type::Record {
            names: fields.iter().map(|f| f.name.clone()).collect(),
            elems: elems.iter().map(|e| e.ty.clone()).collect(),
        };
        Some(Expr {
            kind: ExprKind::Tuple(elems),
            ty,
            span,
        })
    }

    /// `base.name` when `base` is a record: `Some` with the read (or `None`
    /// after an error); `None` when `base` is not a record, with nothing
    /// reported, so the caller's field access rules apply.
    pub(super) fn record_field(
        &mut self,
        base: &ast::Expr,
        field: &str,
        field_span: Span,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Option<Expr>> {
        let may_be_record = matches!(
            base.kind,
            ast::ExprKind::Var(_)
                | ast::ExprKind::Map { .. }
                | ast::ExprKind::Record(_)
                | ast::ExprKind::TupleIndex { .. }
                | ast::ExprKind::Field { .. }
        );
        if !may_be_record {
            return None;
        }
        let reported = self.diags.len();
        let checked = self.expr(base, scope);
        let Some(base) = checked.filter(|b| matches!(b.ty, Type::Record { .. })) else {
            // Not a record: whatever checking it said is said again by the
            // caller's rules.
            self.diags.truncate(reported);
            return None;
        };
        let Type::Record { names, elems } = &base.ty else {
            return None;
        };
        let Some(index) = names.iter().position(|n| n == field) else {
            let mut d = Diagnostic::error(
                "E0341",
                format!("{} has no field `{field}`", describe(&base.ty)),
                field_span,
            )
            .label("unknown field")
            .secondary(base.span, describe(&base.ty));
            if let Some(n) = nearest(field, names.iter().map(String::as_str)) {
                d = d.help(format!("did you mean `{n}`?"));
            }
            self.error(d);
            return Some(None);
        };
        let ty = elems.get(index)?.clone();
        Some(Some(Expr {
            kind: ExprKind::TupleGet {
                base: Box::new(base),
                index,
            },
            ty,
            span,
        }))
    }
}

/// Whether a record of type `from` can be stored where `to` is expected:
/// the same names in the same order, each value compatible.
pub(super) fn compatible_records(from: &Type, to: &Type) -> bool {
    match (from, to) {
        (
            Type::Record {
                names: na,
                elems: ea,
            },
            Type::Record {
                names: nb,
                elems: eb,
            },
        ) => {
            na == nb
                && ea.len() == eb.len()
                && ea
                    .iter()
                    .zip(eb)
                    .all(|(x, y)| super::stmt::compatible(x, y))
        }
        _ => false,
    }
}
