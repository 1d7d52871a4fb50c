//! Resolves attach points: the probe kind through the stdlib catalogue, the
//! attach-point shape, wildcard expansion into concrete probes, and the
//! context each probe offers (a tracepoint's fields come from the kernel
//! through `KernelInfo`; `argN`/`retval` become reads at fixed offsets of
//! the program's context).

#![allow(
    clippy::result_large_err,
    reason = "a Diagnostic is returned at most once per attach point, on the error path only"
)]

use crate::diagnostics::Diagnostic;
use crate::ir::Attach;
use crate::kernel::{glob_match, is_pattern, KernelInfo, TracepointFormat};
use crate::syntax::ast::{AttachPart, AttachPoint};
use ferrotrace_stdlib::perf_events::{self, PerfEventInfo};
use ferrotrace_stdlib::{nearest, ProbeKind};

/// A resolved attach point.
pub struct Resolved {
    pub name: String,
    pub attach: Attach,
    /// The tracepoint's category and format, for `args`.
    pub tracepoint: Option<(String, TracepointFormat)>,
    /// What `argN` and `retval` read.
    pub context: ArgContext,
}

/// Where `argN` and `retval` live in a probe's BPF context, as byte offsets
/// of 64-bit values; empty for probes without them.
#[derive(Debug, Clone, Default)]
pub struct ArgContext {
    /// Offset of `arg0`, `arg1`, ...
    pub args: Vec<u32>,
    pub retval: Option<u32>,
}

/// What to do with an attach point that matches no probe (bpftrace's
/// `config = { missing_probes = ... }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingProbes {
    /// An error (the default).
    #[default]
    Error,
    /// A warning; the attach point is dropped.
    Warn,
    /// Silently dropped.
    Ignore,
}

impl MissingProbes {
    /// The policy the `config` block's `missing_probes` setting names
    /// (`error`, `warn` or `ignore`; anything else is the default).
    pub fn from_setting(setting: &str) -> MissingProbes {
        match setting {
            "warn" => MissingProbes::Warn,
            "ignore" => MissingProbes::Ignore,
            _ => MissingProbes::Error,
        }
    }
}

/// x86-64 `struct pt_regs` offsets of the argument registers in calling
/// convention order (di, si, dx, cx, r8, r9), and of ax (the return value).
const PT_REGS_ARGS: [u32; 6] = [112, 104, 96, 88, 72, 64];
const PT_REGS_AX: u32 = 80;

/// Resolves one attach point into its concrete probes (several when it has
/// wildcards). Missing probes are reported as `missing` says; other
/// problems are errors. Warnings (old spellings) come back with the probes.
pub fn resolve_all(
    ap: &AttachPoint,
    kernel: &dyn KernelInfo,
    missing: MissingProbes,
) -> (Vec<Resolved>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    if let Some(first) = ap.parts.first() {
        if let Some((kind, true)) = ProbeKind::lookup(&first.text) {
            diags.push(
                Diagnostic::warning(
                    "W0005",
                    format!("`{}` is the old name of `{}`", first.text, kind.name()),
                    first.span,
                )
                .label("old name")
                .help(format!("write `{}`", kind.name())),
            );
        }
    }
    match resolve_many(ap, kernel) {
        Ok(probes) if probes.is_empty() => {
            let d = Diagnostic::error(
                "E0106",
                format!("`{}` matches no probe in this kernel", ap.raw),
                ap.span,
            )
            .label("matches nothing")
            .help("list what exists with `ferrotrace -l 'PATTERN'`; `config = { missing_probes = \"warn\" }` makes this a warning");
            match missing {
                MissingProbes::Error => diags.push(d),
                MissingProbes::Warn => diags.push(
                    Diagnostic::warning(
                        "W0006",
                        format!("`{}` matches no probe in this kernel", ap.raw),
                        ap.span,
                    )
                    .label("skipped"),
                ),
                MissingProbes::Ignore => {}
            }
            (Vec::new(), diags)
        }
        Ok(probes) => (probes, diags),
        Err(d) => {
            diags.extend(missing_policy(d, missing));
            (Vec::new(), diags)
        }
    }
}

/// Applies the `missing_probes` policy to an attach point's error: a named
/// probe that does not exist (E0103: a kernel function or tracepoint, a
/// user-space function or USDT probe) becomes warning W0006 or nothing;
/// other errors stay errors.
pub(super) fn missing_policy(mut d: Diagnostic, missing: MissingProbes) -> Option<Diagnostic> {
    if d.code != "E0103" {
        return Some(d);
    }
    match missing {
        MissingProbes::Error => Some(d),
        MissingProbes::Warn => {
            d.severity = crate::diagnostics::Severity::Warning;
            d.code = "W0006";
            Some(d)
        }
        MissingProbes::Ignore => None,
    }
}

fn resolve_many(ap: &AttachPoint, kernel: &dyn KernelInfo) -> Result<Vec<Resolved>, Diagnostic> {
    let kind = ap.parts.first().and_then(|f| ProbeKind::lookup(&f.text));
    match kind {
        Some((ProbeKind::Tracepoint, _))
            if ap.parts.len() == 3 && ap.parts[1..].iter().any(|p| is_pattern(&p.text)) =>
        {
            tracepoint_wildcard(ap, kernel)
        }
        Some((ProbeKind::RawTracepoint, _)) => raw_tracepoint(ap, kernel),
        Some((
            ProbeKind::Kprobe | ProbeKind::Kretprobe | ProbeKind::Fentry | ProbeKind::Fexit,
            _,
        )) if ap.parts.len() >= 2 && ap.parts.last().is_some_and(|p| is_pattern(&p.text)) => {
            function_wildcard(ap, kernel)
        }
        _ => resolve(ap, kernel).map(|r| vec![r]),
    }
}

fn resolve(ap: &AttachPoint, kernel: &dyn KernelInfo) -> Result<Resolved, Diagnostic> {
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
                context: ArgContext::default(),
            })
        }
        ProbeKind::Tracepoint => tracepoint(ap, kernel),
        ProbeKind::Interval => interval(ap),
        ProbeKind::Profile => profile(ap),
        ProbeKind::Software => perf_event(ap, kind),
        ProbeKind::Hardware => perf_event(ap, kind),
        ProbeKind::Kprobe | ProbeKind::Kretprobe => kprobe(ap, kind),
        ProbeKind::Fentry | ProbeKind::Fexit => fentry(ap, kind, kernel),
        ProbeKind::Iter => iter(ap),
        ProbeKind::Watchpoint => super::special_probes::watchpoint(ap),
        ProbeKind::SelfSignal => super::special_probes::self_signal(ap),
        ProbeKind::Test => super::special_probes::test_probe(ap, false),
        ProbeKind::Bench => super::special_probes::test_probe(ap, true),
        other => Err(Diagnostic::error(
            "E0104",
            format!(
                "`{}` probes are not supported by ferrotrace yet",
                other.name()
            ),
            first.span,
        )
        .label("this probe kind")
        .note(format!("supported now: {}", implemented_kinds()))),
    }
}

/// The kinds the catalogue marks implemented, for "supported now" notes.
fn implemented_kinds() -> String {
    let names: Vec<&str> = ferrotrace_stdlib::probes::PROBE_KINDS
        .iter()
        .filter(|k| k.implemented)
        .map(|k| k.name)
        .collect();
    names.join(", ")
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
    let span = cat.span.to(name.span);
    match kernel.tracepoint_format(&cat.text, &name.text) {
        Ok(Some(format)) => Ok(Resolved {
            name: format!("tracepoint:{}:{}", cat.text, name.text),
            attach: Attach::Tracepoint {
                category: cat.text.clone(),
                name: name.text.clone(),
            },
            tracepoint: Some((cat.text.clone(), format)),
            context: ArgContext::default(),
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
    if let [_, duration] = ap.parts.as_slice() {
        return Ok(Resolved {
            name: format!("interval:{}", duration.text),
            attach: Attach::Interval {
                period_ns: duration_ns(duration)?,
            },
            tracepoint: None,
            context: ArgContext::default(),
        });
    }
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
        context: ArgContext::default(),
    })
}

/// The kernel's tracepoints, or the error to show when they cannot be listed.
fn tracepoint_list(
    kernel: &dyn KernelInfo,
    span: crate::source::Span,
) -> Result<Vec<(String, String)>, Diagnostic> {
    kernel.tracepoints().map_err(|reason| {
        Diagnostic::error("E0105", "cannot read the kernel's tracepoint list", span)
            .label("needed to resolve this attach point")
            .note(reason)
    })
}

/// `tracepoint:CAT:NAME` with `*`/`?` in either part: one probe per match,
/// sorted by category and name.
fn tracepoint_wildcard(
    ap: &AttachPoint,
    kernel: &dyn KernelInfo,
) -> Result<Vec<Resolved>, Diagnostic> {
    let kind = &ap.parts[0].text;
    let (cat, name) = (&ap.parts[1].text, &ap.parts[2].text);
    let mut matches: Vec<(String, String)> = tracepoint_list(kernel, ap.span)?
        .into_iter()
        .filter(|(c, n)| glob_match(cat, c) && glob_match(name, n))
        .collect();
    matches.sort();
    let mut out = Vec::with_capacity(matches.len());
    for (c, n) in matches {
        let concrete = AttachPoint {
            parts: vec![
                AttachPart {
                    text: kind.clone(),
                    quoted: false,
                    span: ap.parts[0].span,
                },
                AttachPart {
                    text: c,
                    quoted: false,
                    span: ap.parts[1].span,
                },
                AttachPart {
                    text: n,
                    quoted: false,
                    span: ap.parts[2].span,
                },
            ],
            raw: ap.raw.clone(),
            span: ap.span,
        };
        out.push(tracepoint(&concrete, kernel)?);
    }
    Ok(out)
}

/// `kprobe:PATTERN`, `fentry:PATTERN`, ...: one probe per kernel function
/// (from `KernelInfo::kernel_functions`, the functions the kernel's BTF
/// describes) whose name matches, sorted by name.
fn function_wildcard(
    ap: &AttachPoint,
    kernel: &dyn KernelInfo,
) -> Result<Vec<Resolved>, Diagnostic> {
    let Some(last) = ap.parts.last() else {
        return Ok(Vec::new());
    };
    if last.text.contains('+') {
        return Err(Diagnostic::error(
            "E0102",
            "a function pattern cannot have an offset",
            last.span,
        )
        .label("pattern with `+offset`")
        .help("name one function to probe at an offset"));
    }
    let functions = kernel.kernel_functions().map_err(|reason| {
        Diagnostic::error("E0105", "cannot read the kernel's function list", ap.span)
            .label("needed to expand this pattern")
            .note(reason)
    })?;
    let mut matches: Vec<&String> = functions
        .iter()
        .filter(|f| glob_match(&last.text, f))
        .collect();
    matches.sort();
    matches.dedup();
    let mut out = Vec::with_capacity(matches.len());
    for f in matches {
        let mut concrete = ap.clone();
        if let Some(part) = concrete.parts.last_mut() {
            part.text = f.clone();
        }
        out.push(resolve(&concrete, kernel)?);
    }
    Ok(out)
}

/// `rawtracepoint:NAME` or `rawtracepoint:CATEGORY:NAME`, wildcards allowed.
/// Names come from `KernelInfo::raw_tracepoints` (the kernel's BTF); the
/// category form also needs the tracepoint in that tracefs category.
fn raw_tracepoint(ap: &AttachPoint, kernel: &dyn KernelInfo) -> Result<Vec<Resolved>, Diagnostic> {
    const SHAPE: &str = "rawtracepoint:[CATEGORY:]NAME";
    let (cat, name) = match ap.parts.as_slice() {
        [_, name] => (None, name),
        [_, cat, name] => (Some(cat), name),
        _ => return Err(malformed(ap, "2 or 3 parts", SHAPE)),
    };
    let raw = kernel.raw_tracepoints().map_err(|reason| {
        Diagnostic::error(
            "E0105",
            "cannot read the kernel's raw tracepoint list",
            ap.span,
        )
        .label("needed to resolve this attach point")
        .note(reason)
    })?;
    let is_raw = |n: &str| raw.iter().any(|r| r == n);
    let mut matches: Vec<(String, String)> = match cat {
        // The category form names tracefs categories.
        Some(cat) => tracepoint_list(kernel, ap.span)?
            .into_iter()
            .filter(|(c, n)| glob_match(&cat.text, c) && glob_match(&name.text, n) && is_raw(n))
            .collect(),
        None => raw
            .iter()
            .filter(|n| glob_match(&name.text, n))
            .map(|n| (String::new(), n.clone()))
            .collect(),
    };
    matches.sort();
    if !is_pattern(&name.text) && cat.is_none_or(|c| !is_pattern(&c.text)) && matches.is_empty() {
        return Err(Diagnostic::error(
            "E0103",
            format!(
                "raw tracepoint `{}` does not exist in this kernel",
                name.text
            ),
            name.span,
        )
        .label("no such raw tracepoint")
        .help("list them with `ferrotrace -l 'rawtracepoint:*'`"));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (c, n) in matches.into_iter().filter(|(_, n)| seen.insert(n.clone())) {
        let nargs = kernel
            .raw_tracepoint_arg_count(&n)
            .ok()
            .flatten()
            .unwrap_or(u32::from(ferrotrace_stdlib::builtins::MAX_ARG) + 1);
        // The names of the arguments are those of the kernel's BPF entry
        // function for the tracepoint, after its `void *__data`.
        let names = kernel
            .function_params(&format!("__bpf_trace_{n}"))
            .ok()
            .flatten()
            .and_then(|p| p.get(1..).map(<[String]>::to_vec));
        out.push(Resolved {
            name: match cat {
                Some(_) => format!("rawtracepoint:{c}:{n}"),
                None => format!("rawtracepoint:{n}"),
            },
            attach: Attach::RawTracepoint { name: n },
            tracepoint: names.map(|names| ("rawtracepoint".to_string(), function_args(&names))),
            context: ArgContext {
                args: (0..nargs).map(|i| 8 * i).collect(),
                retval: None,
            },
        });
    }
    Ok(out)
}

fn malformed(ap: &AttachPoint, expected: &str, shape: &str) -> Diagnostic {
    Diagnostic::error(
        "E0102",
        format!("malformed attach point `{}`", ap.raw),
        ap.span,
    )
    .label(format!("expected {expected}"))
    .help(format!("write it as `{shape}`"))
}

/// A positive count in an attach point.
fn positive(part: &AttachPart, what: &str) -> Result<u64, Diagnostic> {
    match part.text.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Diagnostic::error(
            "E0102",
            format!("invalid {what} `{}`", part.text),
            part.span,
        )
        .label("expected a positive integer")),
    }
}

/// The period of the short timer forms `interval:D` and `profile:D`
/// (bpftrace 0.24): `D` is nanoseconds, or a count with a unit suffix
/// (`ns`, `us`, `ms`, `s`, `m`, `h`, `d`), e.g. `100ms`.
fn duration_ns(part: &AttachPart) -> Result<u64, Diagnostic> {
    let text = part.text.as_str();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (count, unit) = text.split_at(digits);
    let scale: Option<u64> = match unit {
        "" | "ns" => Some(1),
        "us" => Some(1_000),
        "ms" => Some(1_000_000),
        "s" => Some(1_000_000_000),
        "m" => Some(60_000_000_000),
        "h" => Some(3_600_000_000_000),
        "d" => Some(86_400_000_000_000),
        _ => None,
    };
    count
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .zip(scale)
        .and_then(|(n, scale)| n.checked_mul(scale))
        .ok_or_else(|| {
            Diagnostic::error("E0102", format!("invalid duration `{text}`"), part.span)
                .label("expected a positive count of ns, us, ms, s, m, h or d, e.g. `100ms`")
        })
}

/// `profile:hz:N` or `profile:s|ms|us:N`: a cpu-clock timer on every CPU.
fn profile(ap: &AttachPoint) -> Result<Resolved, Diagnostic> {
    const SHAPE: &str = "profile:hz|s|ms|us:N";
    let cpu_clock = |period| Attach::Perf {
        event_type: perf_events::PERF_TYPE_SOFTWARE,
        config: 0,
        period,
        every_cpu: true,
    };
    if let [_, duration] = ap.parts.as_slice() {
        return Ok(Resolved {
            name: format!("profile:{}", duration.text),
            attach: cpu_clock(duration_ns(duration)?),
            tracepoint: None,
            context: ArgContext::default(),
        });
    }
    expect_parts(ap, 3, SHAPE)?;
    let unit = &ap.parts[1];
    let n = positive(&ap.parts[2], "profile count")?;
    let period = match unit.text.as_str() {
        "hz" => Some(1_000_000_000 / n).filter(|p| *p > 0),
        "s" => n.checked_mul(1_000_000_000),
        "ms" => n.checked_mul(1_000_000),
        "us" => n.checked_mul(1_000),
        _ => {
            return Err(Diagnostic::error(
                "E0102",
                format!("unknown profile unit `{}`", unit.text),
                unit.span,
            )
            .label("expected hz, s, ms or us")
            .help(format!("write it as `{SHAPE}`")))
        }
    };
    let Some(period) = period else {
        return Err(Diagnostic::error(
            "E0102",
            "profile rate is out of range",
            ap.parts[2].span,
        ));
    };
    Ok(Resolved {
        name: format!("profile:{}:{n}", unit.text),
        attach: cpu_clock(period),
        tracepoint: None,
        context: ArgContext::default(),
    })
}

/// `software:EVENT[:COUNT]` and `hardware:EVENT[:COUNT]`, on every CPU.
fn perf_event(ap: &AttachPoint, kind: ProbeKind) -> Result<Resolved, Diagnostic> {
    let (table, event_type): (&[PerfEventInfo], u32) = if kind == ProbeKind::Software {
        (
            perf_events::SOFTWARE_EVENTS,
            perf_events::PERF_TYPE_SOFTWARE,
        )
    } else {
        (
            perf_events::HARDWARE_EVENTS,
            perf_events::PERF_TYPE_HARDWARE,
        )
    };
    let shape = kind.info().shape;
    if !(2..=3).contains(&ap.parts.len()) {
        return Err(malformed(ap, "2 or 3 parts", shape));
    }
    let event = &ap.parts[1];
    let Some(info) = perf_events::lookup(table, &event.text) else {
        let mut d = Diagnostic::error(
            "E0103",
            format!("unknown {} event `{}`", kind.name(), event.text),
            event.span,
        )
        .label("not a perf event");
        if let Some(n) = nearest(&event.text, perf_events::spellings(table)) {
            d = d.help(format!("did you mean `{n}`?"));
        }
        let all: Vec<_> = table.iter().map(|e| e.name).collect();
        return Err(d.note(format!(
            "the {} events are: {}",
            kind.name(),
            all.join(", ")
        )));
    };
    let (period, name) = match ap.parts.get(2) {
        Some(count) => {
            let n = positive(count, "event count")?;
            (n, format!("{}:{}:{n}", kind.name(), event.text))
        }
        None => (
            info.default_count,
            format!("{}:{}", kind.name(), event.text),
        ),
    };
    Ok(Resolved {
        name,
        attach: Attach::Perf {
            event_type,
            config: info.config,
            period,
            every_cpu: true,
        },
        tracepoint: None,
        context: ArgContext::default(),
    })
}

/// Rejects a wildcard in a part whose kind cannot expand it yet.
fn no_pattern(part: &AttachPart, kind: ProbeKind) -> Result<(), Diagnostic> {
    if !is_pattern(&part.text) {
        return Ok(());
    }
    Err(Diagnostic::error(
        "E0104",
        format!(
            "`{}` wildcards are not supported by ferrotrace yet",
            kind.name()
        ),
        part.span,
    )
    .label("wildcard")
    .help("name one function per attach point"))
}

/// `kprobe:[MODULE:]FUNCTION[+OFFSET]` and `kretprobe:[MODULE:]FUNCTION`.
fn kprobe(ap: &AttachPoint, kind: ProbeKind) -> Result<Resolved, Diagnostic> {
    let ret = kind == ProbeKind::Kretprobe;
    let shape = if ret {
        "kretprobe:[MODULE:]FUNCTION"
    } else {
        "kprobe:[MODULE:]FUNCTION[+OFFSET]"
    };
    let target = match ap.parts.as_slice() {
        [_, f] | [_, _, f] => f,
        _ => return Err(malformed(ap, "2 or 3 parts", shape)),
    };
    if let [_, addr] = ap.parts.as_slice() {
        if let Some(address) = super::special_probes::kernel_address(addr) {
            return Ok(Resolved {
                name: format!("{}:{}", kind.name(), addr.text),
                attach: Attach::Kprobe {
                    function: String::new(),
                    offset: address,
                    ret,
                },
                tracepoint: None,
                context: kprobe_context(ret),
            });
        }
    }
    let (function, offset) = match target.text.split_once('+') {
        Some((f, off)) if !ret => {
            let offset = parse_offset(off).ok_or_else(|| {
                Diagnostic::error("E0102", format!("invalid offset `{off}`"), target.span)
                    .label("expected a decimal or 0x hexadecimal number")
            })?;
            (f.to_string(), offset)
        }
        _ => (target.text.clone(), 0),
    };
    let valid = function.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && function
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !valid {
        return Err(Diagnostic::error(
            "E0102",
            format!("`{function}` is not a kernel function name"),
            target.span,
        )
        .label("expected a function name")
        .help(format!("write it as `{shape}`")));
    }
    let name = function_probe_name(ap, kind, target);
    Ok(Resolved {
        name,
        attach: Attach::Kprobe {
            function,
            offset,
            ret,
        },
        tracepoint: None,
        context: kprobe_context(ret),
    })
}

/// `argN` of a kprobe, or `retval` of a kretprobe, from `pt_regs`.
fn kprobe_context(ret: bool) -> ArgContext {
    ArgContext {
        args: if ret {
            Vec::new()
        } else {
            PT_REGS_ARGS.to_vec()
        },
        retval: ret.then_some(PT_REGS_AX),
    }
}

/// `KIND:[MODULE:]TARGET` with the kind's canonical name.
fn function_probe_name(ap: &AttachPoint, kind: ProbeKind, target: &AttachPart) -> String {
    match ap.parts.as_slice() {
        [_, module, _] => format!("{}:{}:{}", kind.name(), module.text, target.text),
        _ => format!("{}:{}", kind.name(), target.text),
    }
}

fn parse_offset(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// `fentry:[MODULE:]FUNCTION` and `fexit:[MODULE:]FUNCTION`. The program's
/// context is the function's arguments as an array of u64.
fn fentry(
    ap: &AttachPoint,
    kind: ProbeKind,
    kernel: &dyn KernelInfo,
) -> Result<Resolved, Diagnostic> {
    let exit = kind == ProbeKind::Fexit;
    let target = match ap.parts.as_slice() {
        [_, f] | [_, _, f] => f,
        _ => return Err(malformed(ap, "2 or 3 parts", kind.info().shape)),
    };
    let name = function_probe_name(ap, kind, target);
    let params = match kernel.function_params(&target.text) {
        Ok(Some(params)) => params,
        Ok(None) => {
            return Err(Diagnostic::error(
                "E0103",
                format!(
                    "kernel function `{}` is not described by this kernel's BTF",
                    target.text
                ),
                target.span,
            )
            .label("no such function")
            .help("check the name; static functions that were inlined cannot be traced"))
        }
        Err(reason) => {
            return Err(Diagnostic::error(
                "E0105",
                "cannot read the kernel's type information (BTF)",
                target.span,
            )
            .label(format!("needed to resolve this {} probe", kind.name()))
            .note(reason))
        }
    };
    let nargs = u32::try_from(params.len()).unwrap_or(u32::MAX);
    Ok(Resolved {
        name,
        attach: Attach::Fentry {
            function: target.text.clone(),
            exit,
        },
        // The context is the arguments as u64s, then (fexit) the return
        // value; `args.NAME` reads them like tracepoint fields.
        tracepoint: Some((kind.name().to_string(), function_args(&params))),
        context: ArgContext {
            args: (0..nargs).map(|i| 8 * i).collect(),
            retval: exit.then_some(8 * nargs),
        },
    })
}

/// Arguments as the fields of an fentry/fexit or raw tracepoint context:
/// one 64-bit unsigned value each (BTF typing of `args` is not done yet).
fn function_args(params: &[String]) -> TracepointFormat {
    let fields = params
        .iter()
        .zip(0u32..)
        .map(|(name, i)| crate::kernel::TracepointField {
            name: name.clone(),
            c_type: "u64".to_string(),
            offset: 8 * i,
            size: 8,
            signed: false,
            array_len: None,
        })
        .collect();
    TracepointFormat { fields }
}

/// `iter:ITERATOR[:PIN]`.
fn iter(ap: &AttachPoint) -> Result<Resolved, Diagnostic> {
    const SHAPE: &str = "iter:ITERATOR[:PIN]";
    let target = match ap.parts.as_slice() {
        [_, t] => t,
        [_, _, pin] => {
            return Err(Diagnostic::error(
                "E0481",
                "pinning an iterator is not supported by ferrotrace yet",
                pin.span,
            )
            .label("pin path")
            .help("drop the pin part: `iter:NAME` walks the objects once and prints the result"))
        }
        _ => return Err(malformed(ap, "2 or 3 parts", SHAPE)),
    };
    no_pattern(target, ProbeKind::Iter)?;
    let valid = !target.text.is_empty()
        && target
            .text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(Diagnostic::error(
            "E0102",
            format!("`{}` is not an iterator name", target.text),
            target.span,
        )
        .label("expected a name such as task or task_file"));
    }
    Ok(Resolved {
        name: format!("iter:{}", target.text),
        attach: Attach::Iter {
            name: target.text.clone(),
        },
        tracepoint: None,
        context: ArgContext::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Severity;
    use crate::source::SourceFile;
    use crate::syntax::{self, ast::Item};

    /// Two sched tracepoints and a syscall one; no function has BTF.
    struct Kernel;

    impl KernelInfo for Kernel {
        fn tracepoint_format(&self, c: &str, n: &str) -> Result<Option<TracepointFormat>, String> {
            let known = self
                .tracepoints()?
                .iter()
                .any(|(kc, kn)| kc == c && kn == n);
            Ok(known.then(TracepointFormat::default))
        }

        fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
            Ok([
                ("sched", "sched_switch"),
                ("sched", "sched_wakeup"),
                ("syscalls", "sys_enter_read"),
            ]
            .iter()
            .map(|(c, n)| (c.to_string(), n.to_string()))
            .collect())
        }
    }

    fn attach_point(text: &str) -> AttachPoint {
        let (script, diags) = syntax::parse(&SourceFile::new("t", format!("{text} {{}}")));
        assert!(diags.is_empty(), "{diags:?}");
        let Some(Item::Probe(p)) = script.items.into_iter().next() else {
            panic!("no probe in {text}");
        };
        p.attach_points
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no attach point"))
    }

    fn names(text: &str, missing: MissingProbes) -> (Vec<String>, Vec<Severity>) {
        let (probes, diags) = resolve_all(&attach_point(text), &Kernel, missing);
        (
            probes.into_iter().map(|p| p.name).collect(),
            diags.into_iter().map(|d| d.severity).collect(),
        )
    }

    #[test]
    fn wildcards_expand_in_both_parts() {
        assert_eq!(
            names("t:sched:sched_*", MissingProbes::Error).0,
            [
                "tracepoint:sched:sched_switch",
                "tracepoint:sched:sched_wakeup"
            ]
        );
        assert_eq!(
            names("tracepoint:*:*_read", MissingProbes::Error).0,
            ["tracepoint:syscalls:sys_enter_read"]
        );
        // Raw tracepoints are every tracepoint outside `syscalls`.
        assert_eq!(
            names("rawtracepoint:sched_w*", MissingProbes::Error).0,
            ["rawtracepoint:sched_wakeup"]
        );
    }

    #[test]
    fn missing_probes_policy() {
        let absent = "tracepoint:sched:sched_nothing";
        assert_eq!(
            names(absent, MissingProbes::Error),
            (vec![], vec![Severity::Error])
        );
        assert_eq!(
            names(absent, MissingProbes::Warn),
            (vec![], vec![Severity::Warning])
        );
        assert_eq!(names(absent, MissingProbes::Ignore), (vec![], vec![]));
        let none = "tracepoint:sched:nothing_*";
        assert_eq!(
            names(none, MissingProbes::Error),
            (vec![], vec![Severity::Error])
        );
        assert_eq!(
            names(none, MissingProbes::Warn),
            (vec![], vec![Severity::Warning])
        );
        assert_eq!(names(none, MissingProbes::Ignore), (vec![], vec![]));
    }
}
