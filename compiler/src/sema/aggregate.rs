//! Typing of aggregations (`count sum avg min max stats hist lhist`): the
//! operand is a 64-bit integer keeping its signedness, `hist`'s sub-bucket
//! parameter and `lhist`'s bounds are integer literals checked here, and
//! two assignments to one map must be the same aggregation with the same
//! parameters. Also the type an aggregation map reads as when used as a
//! value (`@c > 10`).

use super::types::{convert, storage_type};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{AggregateOp, MapValue, Type};
use crate::syntax::ast;
use ferrotrace_stdlib::Function;

/// The largest `hist()` sub-bucket parameter (2^5 buckets per power of two).
pub const MAX_HIST_BITS: i64 = 5;
/// The most buckets an `lhist()` may have, as in bpftrace.
pub const MAX_LHIST_BUCKETS: i64 = 1000;

impl Checker<'_> {
    /// Checks the arguments of aggregation `func` and returns the update it
    /// makes and the kind of value its map holds.
    pub(super) fn aggregate_op(
        &mut self,
        func: Function,
        args: &[ast::Expr],
        scope: &mut ProbeScope,
    ) -> Option<(AggregateOp, MapValue)> {
        if func == Function::Count {
            return Some((AggregateOp::Count, MapValue::Count));
        }
        if func == Function::Tseries {
            return self.tseries_op(args, scope);
        }
        let v = self.int_expr(args.first()?, scope)?;
        let signed = v.ty.is_signed();
        let ty = storage_type(&v.ty);
        let v = convert(v, &ty);
        Some(match func {
            Function::Sum => (AggregateOp::Sum(v), MapValue::Sum { signed }),
            Function::Avg => (AggregateOp::Avg(v), MapValue::Avg { signed }),
            Function::Min => (AggregateOp::Min(v), MapValue::Min { signed }),
            Function::Max => (AggregateOp::Max(v), MapValue::Max { signed }),
            Function::Stats => (AggregateOp::Stats(v), MapValue::Stats { signed }),
            Function::Hist => {
                let bits = match args.get(1) {
                    Some(k) => self.literal_in(k, "the sub-bucket count `k`", 0, MAX_HIST_BITS)?,
                    None => 0,
                };
                let bits = u8::try_from(bits).ok()?;
                (AggregateOp::Hist(v), MapValue::Hist { bits })
            }
            Function::Lhist => {
                let min = self.literal_in(args.get(1)?, "`min`", i64::MIN, i64::MAX)?;
                let max = self.literal_in(args.get(2)?, "`max`", i64::MIN, i64::MAX)?;
                let step = self.literal_in(args.get(3)?, "`step`", 1, i64::MAX)?;
                if max <= min {
                    self.error(
                        Diagnostic::error(
                            "E0230",
                            "lhist() needs `max` greater than `min`",
                            args[2].span,
                        )
                        .label(format!("{max} is not greater than {min}")),
                    );
                    return None;
                }
                let buckets = (i128::from(max) - i128::from(min)) / i128::from(step);
                if buckets > i128::from(MAX_LHIST_BUCKETS) {
                    self.error(
                        Diagnostic::error(
                            "E0230",
                            format!("lhist() would have {buckets} buckets, more than the limit of {MAX_LHIST_BUCKETS}"),
                            args[3].span,
                        )
                        .label("step too small for this range")
                        .help("use a larger step or a smaller range"),
                    );
                    return None;
                }
                (AggregateOp::Lhist(v), MapValue::Lhist { min, max, step })
            }
            _ => (AggregateOp::Sum(v), MapValue::Sum { signed }),
        })
    }

    /// An integer literal argument within `lo..=hi`, or an error.
    fn literal_in(&mut self, e: &ast::Expr, what: &str, lo: i64, hi: i64) -> Option<i64> {
        let value = const_int(e);
        match value {
            Some(v) if (lo..=hi).contains(&v) => Some(v),
            Some(v) => {
                self.error(
                    Diagnostic::error(
                        "E0230",
                        format!("{what} must be between {lo} and {hi}, not {v}"),
                        e.span,
                    )
                    .label("out of range"),
                );
                None
            }
            None => {
                self.error(
                    Diagnostic::error(
                        "E0230",
                        format!("{what} must be an integer literal"),
                        e.span,
                    )
                    .label("not a literal")
                    .help("histogram parameters are fixed when the script is compiled"),
                );
                None
            }
        }
    }
}

/// The value of an integer literal, possibly negated.
pub(super) fn const_int(e: &ast::Expr) -> Option<i64> {
    match &e.kind {
        ast::ExprKind::Int(v) => i64::try_from(*v).ok(),
        ast::ExprKind::Unary {
            op: ast::UnaryOp::Neg,
            operand,
        } => const_int(operand).map(i64::wrapping_neg),
        _ => None,
    }
}

/// Whether a map defined with `have` may also be updated with `new`.
pub(super) fn same_kind(have: &MapValue, new: &MapValue) -> bool {
    match (have, new) {
        (MapValue::Hist { .. }, MapValue::Hist { .. })
        | (MapValue::Lhist { .. }, MapValue::Lhist { .. })
        | (MapValue::Tseries { .. }, MapValue::Tseries { .. }) => have == new,
        _ => std::mem::discriminant(have) == std::mem::discriminant(new),
    }
}

/// The type an aggregation map reads as in an expression, or `None` when
/// it has no single value (`stats`, `hist`, `lhist`).
pub(super) fn read_type(v: &MapValue) -> Option<Type> {
    match v {
        MapValue::Plain(t) => Some(t.clone()),
        MapValue::Count => Some(Type::U64),
        MapValue::Sum { signed }
        | MapValue::Avg { signed }
        | MapValue::Min { signed }
        | MapValue::Max { signed } => Some(if *signed { Type::I64 } else { Type::U64 }),
        MapValue::Stats { .. }
        | MapValue::Hist { .. }
        | MapValue::Lhist { .. }
        | MapValue::Tseries { .. } => None,
    }
}

/// How diagnostics name what a map holds.
pub(super) fn describe_aggregation(v: &MapValue) -> Option<String> {
    Some(match v {
        MapValue::Hist { bits } => format!("hist() values with k = {bits}"),
        MapValue::Lhist { min, max, step } => {
            format!("lhist() values from {min} to {max} by {step}")
        }
        MapValue::Tseries {
            interval_ns,
            num_intervals,
            agg,
            ..
        } => format!(
            "tseries() values ({num_intervals} intervals of {interval_ns} ns, {})",
            agg.name().unwrap_or("last value")
        ),
        other => format!("{}() values", other.aggregation_name()?),
    })
}
