//! Applying and checking the config keys kept in `MoreConfig`: one place
//! that turns a checked config value into its setting, refuses values
//! ferrotrace cannot honour (E0440), and enforces `max_bpf_progs` (E0441)
//! once the probes are expanded.

use super::config::Value;
use crate::diagnostics::Diagnostic;
use crate::ir::Probe;
use crate::manifest::{MoreConfig, StackMode};
use crate::more_config::ringbuf_size;
use crate::source::Span;

/// The page size the ring buffer is counted in (x86-64).
const PAGE_SIZE: u64 = 4096;

/// Stores a checked value of `key`; keys without an effect are ignored.
pub(super) fn apply(m: &mut MoreConfig, key: &str, v: Value) {
    match (key, v) {
        ("max_cat_bytes", Value::Int(n)) => m.max_cat_bytes = n,
        ("perf_rb_pages", Value::Int(n)) => m.perf_rb_pages = Some(n),
        ("log_size", Value::Int(n)) => m.log_size = n,
        ("max_probes", Value::Int(n)) => m.max_probes = n,
        ("max_bpf_progs", Value::Int(n)) => m.max_bpf_progs = n,
        ("cpp_demangle", Value::Bool(b)) => m.cpp_demangle = b,
        ("stack_mode", Value::Text(t)) => {
            if let Some(mode) = StackMode::lookup(&t) {
                m.stack_mode = mode;
            }
        }
        ("str_trunc_trailer", Value::Text(t)) => m.str_trunc_trailer = t,
        ("license", Value::Text(t)) => m.license = t,
        ("cache_user_symbols", Value::Text(t)) => m.cache_user_symbols = t,
        _ => {}
    }
}

/// An error for a well-typed value ferrotrace cannot honour.
pub(super) fn check(key: &str, value: Option<&Value>, span: Span) -> Option<Diagnostic> {
    match (key, value?) {
        ("stack_mode", Value::Text(t)) if StackMode::lookup(t).is_none() => Some(
            Diagnostic::error(
                "E0440",
                format!("stack mode `{t}` is not supported by ferrotrace"),
                span,
            )
            .label("unsupported stack mode")
            .help("use `bpftrace`, `perf` or `raw`"),
        ),
        ("license", Value::Text(t)) if t.is_empty() || t.contains('\0') => Some(
            Diagnostic::error("E0440", "the license must be a non-empty string", span)
                .label("empty license"),
        ),
        ("max_probes" | "max_bpf_progs" | "perf_rb_pages" | "log_size", Value::Int(0)) => Some(
            Diagnostic::error("E0440", format!("`{key}` must be at least 1"), span).label("zero"),
        ),
        _ => None,
    }
}

/// The ring buffer size for the configured `perf_rb_pages` on `cpus` CPUs.
pub(super) fn size_ringbuf(m: &mut MoreConfig, cpus: u32) {
    m.ringbuf_bytes = m
        .perf_rb_pages
        .map(|pages| ringbuf_size(pages, PAGE_SIZE, cpus));
}

/// bpftrace 0.26's error when the expanded probes need more programs than
/// `max_bpf_progs` allows, at the first attach point over the limit.
pub(super) fn check_bpf_progs(m: &MoreConfig, probes: &[Probe]) -> Option<Diagnostic> {
    let limit = usize::try_from(m.max_bpf_progs).unwrap_or(usize::MAX);
    let over = probes.get(limit)?;
    Some(
        Diagnostic::error(
            "E0441",
            format!(
                "Your program is trying to generate more than {} BPF programs, which exceeds the current limit of {}",
                probes.len(),
                m.max_bpf_progs
            ),
            over.span,
        )
        .label("over the limit")
        .help("You can increase the limit through the BPFTRACE_MAX_BPF_PROGS environment variable."),
    )
}

/// `ty` with the configured default `stack_mode` when it is a stack.
pub(super) fn stack_mode(ty: crate::ir::Type, mode: StackMode) -> crate::ir::Type {
    match ty {
        crate::ir::Type::Stack(mut st) => {
            st.mode = mode;
            crate::ir::Type::Stack(st)
        }
        other => other,
    }
}
