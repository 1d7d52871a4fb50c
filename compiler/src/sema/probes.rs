//! Resolves attach points: the probe kind through the stdlib catalogue, the
//! attach-point shape, and the context the probe offers (a tracepoint's
//! fields come from the kernel through `KernelInfo`).

#![allow(
    clippy::result_large_err,
    reason = "a Diagnostic is returned at most once per attach point, on the error path only"
)]

use crate::diagnostics::Diagnostic;
use crate::ir::Attach;
use crate::kernel::{KernelInfo, TracepointFormat};
use crate::syntax::ast::{AttachPart, AttachPoint};
use ferrotrace_stdlib::{nearest, ProbeKind};

/// A resolved attach point.
pub struct Resolved {
    pub name: String,
    pub attach: Attach,
    /// The tracepoint's category and format, for `args`.
    pub tracepoint: Option<(String, TracepointFormat)>,
}

pub fn resolve(ap: &AttachPoint, kernel: &dyn KernelInfo) -> Result<Resolved, Diagnostic> {
    let Some(first) = ap.parts.first() else {
        return Err(Diagnostic::error("E0102", "empty attach point", ap.span));
    };
    let Some((kind, _deprecated)) = ProbeKind::lookup(&first.text) else {
        let mut d = Diagnostic::error(
            "E0101",
            format!("unknown probe kind `{}`", first.text),
            first.span,
        )
        .label("not a probe kind");
        if let Some(n) = nearest(&first.text, ProbeKind::all_spellings()) {
            d = d.help(format!("did you mean `{n}`?"));
        }
        return Err(d);
    };
    match kind {
        ProbeKind::Begin | ProbeKind::End => {
            expect_parts(ap, 1, kind.info().shape)?;
            let (name, attach) = if kind == ProbeKind::Begin {
                ("BEGIN", Attach::Begin)
            } else {
                ("END", Attach::End)
            };
            Ok(Resolved {
                name: name.to_string(),
                attach,
                tracepoint: None,
            })
        }
        ProbeKind::Tracepoint => tracepoint(ap, kernel),
        ProbeKind::Interval => interval(ap),
        other => Err(Diagnostic::error(
            "E0104",
            format!(
                "`{}` probes are not supported by ferrotrace yet",
                other.name()
            ),
            first.span,
        )
        .label("this probe kind")
        .note("supported now: begin, end, tracepoint, interval")),
    }
}

fn expect_parts(ap: &AttachPoint, n: usize, shape: &str) -> Result<(), Diagnostic> {
    if ap.parts.len() == n {
        return Ok(());
    }
    Err(Diagnostic::error(
        "E0102",
        format!("malformed attach point `{}`", ap.raw),
        ap.span,
    )
    .label(format!(
        "expected {n} part{}",
        if n == 1 { "" } else { "s" }
    ))
    .help(format!("write it as `{shape}`")))
}

fn tracepoint(ap: &AttachPoint, kernel: &dyn KernelInfo) -> Result<Resolved, Diagnostic> {
    expect_parts(ap, 3, "tracepoint:CATEGORY:NAME")?;
    let (cat, name) = (&ap.parts[1], &ap.parts[2]);
    for part in [cat, name] {
        if part.text.contains(['*', '?']) {
            return Err(Diagnostic::error(
                "E0104",
                "tracepoint wildcards are not supported by ferrotrace yet",
                part.span,
            )
            .label("wildcard"));
        }
    }
    let span = cat.span.to(name.span);
    match kernel.tracepoint_format(&cat.text, &name.text) {
        Ok(Some(format)) => Ok(Resolved {
            name: format!("tracepoint:{}:{}", cat.text, name.text),
            attach: Attach::Tracepoint {
                category: cat.text.clone(),
                name: name.text.clone(),
            },
            tracepoint: Some((cat.text.clone(), format)),
        }),
        Ok(None) => Err(Diagnostic::error(
            "E0103",
            format!(
                "tracepoint `{}:{}` does not exist in this kernel",
                cat.text, name.text
            ),
            span,
        )
        .label("no such tracepoint")
        .help(format!(
            "list the tracepoints of a category with `ls /sys/kernel/tracing/events/{}/`",
            cat.text
        ))),
        Err(reason) => {
            Err(
                Diagnostic::error("E0105", "cannot read the kernel's tracepoint list", span)
                    .label("needed to resolve this tracepoint")
                    .note(reason),
            )
        }
    }
}

fn interval(ap: &AttachPoint) -> Result<Resolved, Diagnostic> {
    const SHAPE: &str = "interval:s|ms|us|hz:N";
    expect_parts(ap, 3, SHAPE)?;
    let (unit, count): (&str, &AttachPart) = (ap.parts[1].text.as_str(), &ap.parts[2]);
    let n: u64 = match count.text.parse() {
        Ok(n) if n > 0 => n,
        _ => {
            return Err(Diagnostic::error(
                "E0102",
                format!("invalid interval count `{}`", count.text),
                count.span,
            )
            .label("expected a positive integer"))
        }
    };
    let period_ns = match unit {
        "s" => n.checked_mul(1_000_000_000),
        "ms" => n.checked_mul(1_000_000),
        "us" => n.checked_mul(1_000),
        "hz" => Some(1_000_000_000 / n).filter(|p| *p > 0),
        _ => {
            return Err(Diagnostic::error(
                "E0102",
                format!("unknown interval unit `{unit}`"),
                ap.parts[1].span,
            )
            .label("expected s, ms, us or hz")
            .help(format!("write it as `{SHAPE}`")))
        }
    };
    let Some(period_ns) = period_ns else {
        return Err(Diagnostic::error(
            "E0102",
            "interval is out of range",
            count.span,
        ));
    };
    Ok(Resolved {
        name: format!("interval:{unit}:{n}"),
        attach: Attach::Interval { period_ns },
        tracepoint: None,
    })
}
