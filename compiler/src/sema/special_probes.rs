//! Resolves the probe kinds that are not ordinary kernel hooks: hardware
//! watchpoints (`watchpoint:ADDR:LEN:MODE`, and `unwatch(addr)`, which asks
//! the tracer to remove them), `self:signal:SIGUSR1` (run by the tracer when
//! it receives the signal) and `test:NAME` / `bench:NAME` (run by the tracer
//! under `--test` / `--bench`); also the address forms of kprobes
//! (`kprobe:0xADDR`, only with `--unsafe`) and `func` in kernel function
//! probes.

#![allow(
    clippy::result_large_err,
    reason = "a Diagnostic is returned at most once per attach point, on the error path only"
)]

use super::probes::{ArgContext, Resolved};
use super::types::convert;
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Action, Attach, Expr, ExprKind, Probe, StmtKind, Type};
use crate::manifest::StackKind;
use crate::source::Span;
use crate::syntax::ast::{self, AttachPart, AttachPoint};
use ferrotrace_stdlib::signals::SIGNALS;

/// The kernel's `HW_BREAKPOINT_R`, `HW_BREAKPOINT_W` and `HW_BREAKPOINT_X`.
const BP_R: u32 = 1;
const BP_W: u32 = 2;
const BP_X: u32 = 4;

/// The signals `self:signal:` accepts, as bpftrace 0.26 does.
const SELF_SIGNALS: &[&str] = &["SIGUSR1"];

fn resolved(name: String, attach: Attach) -> Resolved {
    Resolved {
        name,
        attach,
        tracepoint: None,
        context: ArgContext::default(),
    }
}

/// `watchpoint:ADDR:LEN:MODE`: ADDR a hex (`0x...`) or decimal address,
/// LEN 1, 2, 4 or 8 bytes, MODE letters from `r`, `w` and `x`, each at
/// most once. Whether the address is a user or kernel one is the runtime's
/// choice: in the `-p`/`-c` process when there is one.
pub fn watchpoint(ap: &AttachPoint) -> Result<Resolved, Diagnostic> {
    const SHAPE: &str = "watchpoint:0xADDR:LEN:MODE";
    let [_, addr, len, mode] = ap.parts.as_slice() else {
        return Err(Diagnostic::error(
            "E0410",
            format!("malformed watchpoint `{}`", ap.raw),
            ap.span,
        )
        .label("expected an address, a length and a mode")
        .help(format!(
            "write it as `{SHAPE}`, e.g. `watchpoint:0x10000000:8:w`"
        ))
        .note("bpftrace 0.25 removed the `watchpoint:FUNC+argN:LEN:MODE` form"));
    };
    let addr_value = parse_address(addr)?;
    let len_value = match len.text.parse::<u8>() {
        Ok(n @ (1 | 2 | 4 | 8)) => n,
        _ => {
            return Err(Diagnostic::error(
                "E0411",
                format!("invalid watchpoint length `{}`", len.text),
                len.span,
            )
            .label("expected 1, 2, 4 or 8")
            .help("a hardware breakpoint watches 1, 2, 4 or 8 bytes"))
        }
    };
    let bp_type = parse_mode(mode)?;
    Ok(resolved(
        format!("watchpoint:0x{addr_value:x}:{len_value}:{}", mode.text),
        Attach::Watchpoint {
            addr: addr_value,
            len: len_value,
            bp_type,
        },
    ))
}

fn parse_address(part: &AttachPart) -> Result<u64, Diagnostic> {
    let text = part.text.as_str();
    let value = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse::<u64>().ok(),
    };
    match value {
        Some(v) if v > 0 => Ok(v),
        _ => Err(Diagnostic::error(
            "E0412",
            format!("invalid watchpoint address `{text}`"),
            part.span,
        )
        .label("expected a non-zero address such as 0x7ffd1000")
        .help("print the address from the traced program (`printf(\"%p\", &var)`) or pass it as a positional parameter: `watchpoint:$1:8:w`")),
    }
}

fn parse_mode(part: &AttachPart) -> Result<u32, Diagnostic> {
    let mut bits = 0;
    for c in part.text.chars() {
        let bit = match c {
            'r' => BP_R,
            'w' => BP_W,
            'x' => BP_X,
            _ => 0,
        };
        if bit == 0 || bits & bit != 0 {
            bits = 0;
            break;
        }
        bits |= bit;
    }
    if bits == 0 {
        return Err(Diagnostic::error(
            "E0413",
            format!("invalid watchpoint mode `{}`", part.text),
            part.span,
        )
        .label("expected letters from r, w and x, each at most once")
        .help("`w` fires on writes, `rw` on reads and writes, `x` on execution"));
    }
    Ok(bits)
}

/// `self:signal:SIGUSR1`.
pub fn self_signal(ap: &AttachPoint) -> Result<Resolved, Diagnostic> {
    const SHAPE: &str = "self:signal:SIGUSR1";
    let [_, what, sig] = ap.parts.as_slice() else {
        return Err(Diagnostic::error(
            "E0414",
            format!("malformed self probe `{}`", ap.raw),
            ap.span,
        )
        .label("expected `signal` and a signal name")
        .help(format!("write it as `{SHAPE}`")));
    };
    if what.text != "signal" {
        return Err(Diagnostic::error(
            "E0414",
            format!("unknown self probe `{}`", what.text),
            what.span,
        )
        .label("expected `signal`")
        .help(format!("write it as `{SHAPE}`")));
    }
    let number = SELF_SIGNALS
        .iter()
        .find(|s| **s == sig.text)
        .and_then(|s| s.strip_prefix("SIG"))
        .and_then(|bare| SIGNALS.iter().position(|s| *s == bare))
        .and_then(|i| u32::try_from(i + 1).ok());
    let Some(signal) = number else {
        return Err(Diagnostic::error(
            "E0415",
            format!("`{}` cannot trigger a self probe", sig.text),
            sig.span,
        )
        .label("unsupported signal")
        .help(format!(
            "the supported signals are: {}",
            SELF_SIGNALS.join(", ")
        )));
    };
    Ok(resolved(
        format!("self:signal:{}", sig.text),
        Attach::SelfSignal { signal },
    ))
}

/// `test:NAME` and `bench:NAME`.
pub fn test_probe(ap: &AttachPoint, bench: bool) -> Result<Resolved, Diagnostic> {
    let kind = if bench { "bench" } else { "test" };
    let [_, name] = ap.parts.as_slice() else {
        return Err(Diagnostic::error(
            "E0416",
            format!("malformed {kind} probe `{}`", ap.raw),
            ap.span,
        )
        .label("expected one name")
        .help(format!("write it as `{kind}:NAME`")));
    };
    if name.text.is_empty() || name.text.contains(['*', '?', '[']) {
        return Err(Diagnostic::error(
            "E0416",
            format!("invalid {kind} name `{}`", name.text),
            name.span,
        )
        .label("expected a plain name")
        .help(format!("write it as `{kind}:NAME`")));
    }
    Ok(resolved(
        format!("{kind}:{}", name.text),
        Attach::Test {
            name: name.text.clone(),
            bench,
        },
    ))
}

/// The address of `kprobe:0xADDR`, when the part is one.
pub fn kernel_address(part: &AttachPart) -> Option<u64> {
    let hex = part.text.strip_prefix("0x")?;
    u64::from_str_radix(hex, 16).ok()
}

impl Checker<'_> {
    /// Each `test:` and `bench:` name may be used once, as in bpftrace.
    pub(super) fn unique_test_names(&mut self, probes: &[Probe]) {
        let mut seen: Vec<(&str, bool, Span)> = Vec::new();
        for p in probes {
            let Attach::Test { name, bench } = &p.attach else {
                continue;
            };
            match seen.iter().find(|(n, b, _)| n == name && b == bench) {
                Some((_, _, first)) => {
                    let kind = if *bench { "bench" } else { "test" };
                    self.error(
                        Diagnostic::error(
                            "E0419",
                            format!("`{name}` names more than one {kind} probe"),
                            p.span,
                        )
                        .label("second use")
                        .secondary(*first, "first use")
                        .help(format!("give each {kind} probe its own name")),
                    );
                }
                None => seen.push((name, *bench, p.span)),
            }
        }
    }

    /// `unwatch(addr)`: an action, so the tracer removes the watchpoints
    /// on `addr` in event order.
    pub(super) fn unwatch(&mut self, addr: &ast::Expr, scope: &mut ProbeScope) -> Option<StmtKind> {
        let addr = convert(self.int_expr(addr, scope)?, &Type::U64);
        Some(self.action(Action::Unwatch, vec![addr]))
    }

    /// `kprobe:0xADDR` places a breakpoint at an arbitrary kernel address:
    /// only with `--unsafe`, as in bpftrace.
    pub(super) fn check_unsafe_attach(&mut self, attach: &Attach, span: Span) {
        if matches!(attach, Attach::Kprobe { function, .. } if function.is_empty())
            && !self.options.allow_unsafe
        {
            self.error(
                Diagnostic::error(
                    "E0417",
                    "a kprobe on a raw address needs --unsafe",
                    span,
                )
                .label("an arbitrary kernel address")
                .help("run with `--unsafe` if the address is the start of an instruction, or name the function: `kprobe:FUNCTION+OFFSET`"),
            );
        }
    }

    /// `func` in kprobes, kretprobes, fentry and fexit probes: the
    /// function's name, known from the attach point (wildcards are
    /// expanded into one probe per function); for `kprobe:0xADDR` the
    /// kernel symbol at the address, named in user space.
    pub(super) fn kernel_func(&mut self, scope: &ProbeScope, span: Span) -> Option<Expr> {
        let (kind, rest) = scope.probe_name.split_once(':')?;
        if !matches!(kind, "kprobe" | "kretprobe" | "fentry" | "fexit") {
            return None;
        }
        let target = rest.rsplit(':').next()?;
        let function = target.split('+').next()?;
        if let Some(addr) = function
            .strip_prefix("0x")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        {
            let addr = Expr {
                kind: ExprKind::Int(addr),
                ty: Type::U64,
                span,
            };
            return Some(Expr {
                kind: ExprKind::SymbolOf(Box::new(addr)),
                ty: Type::Symbol(StackKind::Kernel),
                span,
            });
        }
        let len = u32::try_from(function.len() + 1).unwrap_or(u32::MAX);
        Some(Expr {
            kind: ExprKind::Str(function.to_string()),
            ty: Type::Str(len),
            span,
        })
    }
}
