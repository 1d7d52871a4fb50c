//! `args` as a whole value in tracepoint and raw tracepoint probes
//! (`print(args)`, `@a = args`): a struct value whose fields are the
//! tracepoint's own fields (the `common_*` header and variable-length
//! `__data_loc` fields left out) or the raw tracepoint's BTF-typed
//! arguments, copied out of the record in one read.

use super::types::{is_data_loc, tracepoint_field_type};
use super::{Checker, ProbeScope};
use crate::ir::{Expr, ExprKind, StructType, Type};
use crate::source::Span;
use std::rc::Rc;

impl Checker<'_> {
    /// The tracepoint's `args` struct, or `None` outside tracepoints.
    pub(super) fn args_value(&mut self, scope: &ProbeScope, span: Span) -> Option<Expr> {
        let (category, format) = scope.tracepoint.as_ref()?;
        let mut fields: Vec<(String, u32, Type)> = Vec::new();
        for f in &format.fields {
            if f.name.starts_with("common_") || is_data_loc(f) {
                continue;
            }
            // Raw tracepoint and fentry arguments are typed from BTF.
            let ty = match self.typed_arg(scope, &f.name, f.offset, span) {
                Some(e) => e.ty,
                None => match tracepoint_field_type(category, f) {
                    Ok(t) => t,
                    Err(_) => continue,
                },
            };
            fields.push((f.name.clone(), f.offset, ty));
        }
        let first = fields.iter().map(|(_, o, _)| *o).min()?;
        let end = fields
            .iter()
            .map(|(_, o, t)| o + t.size())
            .max()
            .unwrap_or(first);
        let fields = fields
            .into_iter()
            .map(|(n, o, t)| (n, o - first, t))
            .collect();
        let name = scope.probe_name.split(':').collect::<Vec<_>>().join("_");
        Some(Expr {
            kind: ExprKind::TracepointField { offset: first },
            ty: Type::Struct(Rc::new(StructType {
                name: format!("struct _{name}"),
                size: end - first,
                fields,
            })),
            span,
        })
    }
}
