//! Typing of `tseries(n, interval_ns, num_intervals[, "avg|max|min|sum"])`:
//! the operand is a 64-bit integer keeping its signedness, the interval and
//! the number of intervals are integer literals (duration literals such as
//! `100ms` included), the optional fourth argument is one of the aggregation
//! names, and the config's `unstable_tseries` gate is applied (bpftrace 0.26:
//! a warning unless `enable`, an error when `error`).

use super::aggregate::const_int;
use super::types::{convert, storage_type};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{AggregateOp, MapValue};
use crate::manifest::TseriesAgg;
use crate::source::Span;
use crate::syntax::ast;

/// The most intervals a `tseries()` keeps: each is a 24-byte slot of a
/// per-CPU map value, and a new key's zeroed value is built in the probe's
/// per-CPU scratch memory; both are limited to 32 KiB by the kernel, and
/// 1024 slots (24 KiB) leave room for the probe's other temporaries.
pub const MAX_TSERIES_INTERVALS: u32 = 1024;

impl Checker<'_> {
    /// Checks a `tseries()` call and returns its update and map value kind.
    pub(super) fn tseries_op(
        &mut self,
        args: &[ast::Expr],
        scope: &mut ProbeScope,
    ) -> Option<(AggregateOp, MapValue)> {
        let first = args.first()?;
        let call = Span::new(
            first.span.start,
            args.last().map_or(first.span.end, |a| a.span.end),
        );
        self.unstable_tseries(call);
        let v = self.int_expr(first, scope)?;
        let signed = v.ty.is_signed();
        let ty = storage_type(&v.ty);
        let v = convert(v, &ty);
        let interval_ns =
            self.tseries_literal(args.get(1)?, "the interval `interval_ns`", u64::MAX)?;
        let num_intervals = self.tseries_literal(
            args.get(2)?,
            "the number of intervals `num_intervals`",
            u64::from(MAX_TSERIES_INTERVALS),
        )?;
        let num_intervals = u32::try_from(num_intervals).ok()?;
        let agg = match args.get(3) {
            None => TseriesAgg::Last,
            Some(a) => self.tseries_agg(a)?,
        };
        Some((
            AggregateOp::Tseries(v),
            MapValue::Tseries {
                interval_ns,
                num_intervals,
                agg,
                signed,
            },
        ))
    }

    /// The `unstable_tseries` gate: E0430 when `error`, one W0090 per
    /// script when `warn` (the default).
    fn unstable_tseries(&mut self, span: Span) {
        match self.settings.unstable_tseries.as_str() {
            "error" => self.error(
                Diagnostic::error(
                    "E0430",
                    "tseries feature is not enabled by default. To enable this unstable feature, set the config flag to enable. unstable_tseries=enable",
                    span,
                )
                .label("unstable feature")
                .help("add `config = { unstable_tseries = enable }` at the top of the script"),
            ),
            "warn" if !self.diags.iter().any(|d| d.code == "W0090") => self.error(
                Diagnostic::warning(
                    "W0090",
                    "Script is using an unstable feature: tseries. To prevent this warning you must explicitly enable it in the config e.g. unstable_tseries=enable",
                    span,
                )
                .label("unstable feature"),
            ),
            _ => {}
        }
    }

    /// A positive integer literal no larger than `hi`.
    fn tseries_literal(&mut self, e: &ast::Expr, what: &str, hi: u64) -> Option<u64> {
        let value = match &e.kind {
            ast::ExprKind::Int(v) => Some(*v),
            _ => const_int(e).map(|v| v as u64),
        };
        match value {
            Some(v) if v >= 1 && v <= hi => Some(v),
            Some(_) if const_int(e).is_some_and(|v| v < 0) || value == Some(0) => {
                self.error(
                    Diagnostic::error(
                        "E0431",
                        format!("tseries() needs {what} to be positive"),
                        e.span,
                    )
                    .label("must be at least 1"),
                );
                None
            }
            Some(v) => {
                self.error(
                    Diagnostic::error(
                        "E0431",
                        format!("tseries() allows at most {hi} for {what}, not {v}"),
                        e.span,
                    )
                    .label("too large")
                    .help("each interval is a 24-byte slot of a per-CPU map value built in per-CPU scratch memory, both limited to 32 KiB by the kernel"),
                );
                None
            }
            None => {
                self.error(
                    Diagnostic::error(
                        "E0432",
                        format!("tseries() needs {what} to be an integer literal"),
                        e.span,
                    )
                    .label("not a literal")
                    .help("the intervals are fixed when the script is compiled, e.g. `tseries($x, 100ms, 10)`"),
                );
                None
            }
        }
    }

    /// The optional fourth argument: `"avg"`, `"max"`, `"min"` or `"sum"`.
    fn tseries_agg(&mut self, e: &ast::Expr) -> Option<TseriesAgg> {
        let name = match &e.kind {
            ast::ExprKind::Str(s) => Some(s.as_str()),
            _ => None,
        };
        match name {
            Some("avg") => Some(TseriesAgg::Avg),
            Some("max") => Some(TseriesAgg::Max),
            Some("min") => Some(TseriesAgg::Min),
            Some("sum") => Some(TseriesAgg::Sum),
            _ => {
                self.error(
                    Diagnostic::error(
                        "E0433",
                        "tseries() aggregates an interval with \"avg\", \"max\", \"min\" or \"sum\"",
                        e.span,
                    )
                    .label(match name {
                        Some(other) => format!("unknown aggregation \"{other}\""),
                        None => "not a string literal".to_string(),
                    })
                    .help("leave the fourth argument out to keep the last value of each interval"),
                );
                None
            }
        }
    }
}
