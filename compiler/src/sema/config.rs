//! The `config = { ... }` block, `BPFTRACE_*` environment overrides and
//! top-level map declarations (`let @a = lruhash(100);`), resolved into the
//! program's `Settings`. Every key of bpftrace 0.26's config table is
//! known with its value type; the ones ferrotrace acts on are carried in
//! `Settings`, the others are checked and accepted. Unknown keys are E0217
//! with the nearest known key; the keys renamed in bpftrace 0.20 say so.

use super::Options;
use crate::diagnostics::Diagnostic;
use crate::ir::{DeclaredKind, DeclaredMap, Settings};
use crate::source::Span;
use crate::syntax::ast::{ConfigEntry, ConfigValue, Item, MapDecl, Script};
use ferrotrace_stdlib::nearest;

/// What kind of value a config key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Str,
    /// One of a fixed list of bare words.
    Word(&'static [&'static str]),
}

const STACK_MODES: &[&str] = &["bpftrace", "perf", "raw", "build_id"];
const MISSING: &[&str] = &["error", "warn", "ignore"];
const SYMBOL_CACHE: &[&str] = &["PER_PID", "PER_PROGRAM", "NONE"];
const UNSTABLE: &[&str] = &["enable", "warn", "error"];

/// bpftrace 0.26's config keys.
const KEYS: &[(&str, Kind)] = &[
    ("max_map_keys", Kind::Int),
    ("max_strlen", Kind::Int),
    ("max_cat_bytes", Kind::Int),
    ("max_probes", Kind::Int),
    ("max_bpf_progs", Kind::Int),
    ("log_size", Kind::Int),
    ("perf_rb_pages", Kind::Int),
    ("on_stack_limit", Kind::Int),
    ("cpp_demangle", Kind::Bool),
    ("lazy_symbolication", Kind::Bool),
    ("show_debug_info", Kind::Bool),
    ("use_blazesym", Kind::Bool),
    ("print_maps_on_exit", Kind::Bool),
    ("cache_user_symbols", Kind::Word(SYMBOL_CACHE)),
    ("stack_mode", Kind::Word(STACK_MODES)),
    ("missing_probes", Kind::Word(MISSING)),
    ("str_trunc_trailer", Kind::Str),
    ("license", Kind::Str),
    ("unstable_tseries", Kind::Word(UNSTABLE)),
    ("unstable_dw_ustack", Kind::Word(UNSTABLE)),
    ("unstable_typeinfo", Kind::Word(UNSTABLE)),
    ("unstable_import_statement", Kind::Word(UNSTABLE)),
];

/// Keys renamed in bpftrace 0.20, with their new names.
const RENAMED: &[(&str, &str)] = &[
    ("strlen", "max_strlen"),
    ("map_keys_max", "max_map_keys"),
    ("cat_bytes_max", "max_cat_bytes"),
    ("no_cpp_demangle", "cpp_demangle"),
];

/// A checked value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(u64),
    Bool(bool),
    Text(String),
}

/// Resolves the config block, the environment and map declarations.
pub(super) fn settings(script: &Script, options: &Options) -> (Settings, Vec<Diagnostic>) {
    let mut s = Settings::default();
    let mut diags = Vec::new();
    let mut seen_block: Option<Span> = None;
    for item in &script.items {
        match item {
            Item::Config(block) => {
                if let Some(first) = seen_block {
                    diags.push(
                        Diagnostic::error(
                            "E0217",
                            "the script has two `config` blocks",
                            block.span,
                        )
                        .label("second block")
                        .secondary(first, "first block")
                        .help("merge them into one `config = { ... }`"),
                    );
                }
                seen_block = Some(block.span);
                for e in &block.entries {
                    if let Some(v) = check_entry(e, &mut diags) {
                        apply(&mut s, &e.key, v);
                    }
                }
            }
            Item::MapDecl(d) => declare(&mut s, d, &mut diags),
            _ => {}
        }
    }
    for (name, raw) in &options.env {
        let Some(key) = name.strip_prefix("BPFTRACE_").map(str::to_ascii_lowercase) else {
            continue;
        };
        let Some(&(_, kind)) = KEYS.iter().find(|(k, _)| *k == key) else {
            continue;
        };
        match parse_env(raw, kind) {
            Some(v) => apply(&mut s, &key, v),
            None => diags.push(
                Diagnostic::error(
                    "E0217",
                    format!(
                        "environment variable {name}={raw:?} is not {}",
                        describe(kind)
                    ),
                    Span::new(0, 0),
                )
                .help(format!("set {name} to {}, or unset it", describe(kind))),
            ),
        }
    }
    (s, diags)
}

fn check_entry(e: &ConfigEntry, diags: &mut Vec<Diagnostic>) -> Option<Value> {
    let Some(&(_, kind)) = KEYS.iter().find(|(k, _)| *k == e.key) else {
        let mut d = Diagnostic::error(
            "E0217",
            format!("unknown config key `{}`", e.key),
            e.key_span,
        )
        .label("not a config key");
        if let Some((_, new)) = RENAMED.iter().find(|(old, _)| *old == e.key) {
            d = d.help(format!(
                "`{}` was renamed to `{new}` in bpftrace 0.20",
                e.key
            ));
        } else if let Some(n) = nearest(&e.key, KEYS.iter().map(|(k, _)| *k)) {
            d = d.help(format!("did you mean `{n}`?"));
        }
        diags.push(d);
        return None;
    };
    let value = match (&e.value, kind) {
        (ConfigValue::Int(v), Kind::Int) => Some(Value::Int(*v)),
        (ConfigValue::Int(v @ (0 | 1)), Kind::Bool) => Some(Value::Bool(*v == 1)),
        (ConfigValue::Word(w), Kind::Bool) if w == "true" || w == "false" => {
            Some(Value::Bool(w == "true"))
        }
        (ConfigValue::Str(t), Kind::Str) => Some(Value::Text(t.clone())),
        (ConfigValue::Word(w) | ConfigValue::Str(w), Kind::Word(allowed))
            if allowed.contains(&w.as_str()) =>
        {
            Some(Value::Text(w.clone()))
        }
        _ => None,
    };
    if value.is_none() {
        diags.push(
            Diagnostic::error(
                "E0217",
                format!("config key `{}` takes {}", e.key, describe(kind)),
                e.value_span,
            )
            .label("wrong kind of value")
            .secondary(e.key_span, "this key"),
        );
    }
    if let (Some(Value::Int(0)), "max_strlen" | "max_map_keys") = (&value, e.key.as_str()) {
        diags.push(
            Diagnostic::error(
                "E0217",
                format!("`{}` must be at least 1", e.key),
                e.value_span,
            )
            .label("zero"),
        );
        return None;
    }
    value
}

fn parse_env(raw: &str, kind: Kind) -> Option<Value> {
    match kind {
        Kind::Int => raw.trim().parse().ok().filter(|&v| v > 0).map(Value::Int),
        Kind::Bool => match raw.trim() {
            "1" | "true" => Some(Value::Bool(true)),
            "0" | "false" => Some(Value::Bool(false)),
            _ => None,
        },
        Kind::Str => Some(Value::Text(raw.to_string())),
        Kind::Word(allowed) => allowed
            .contains(&raw.trim())
            .then(|| Value::Text(raw.trim().to_string())),
    }
}

fn apply(s: &mut Settings, key: &str, v: Value) {
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    match (key, v) {
        ("max_map_keys", Value::Int(n)) => s.max_map_keys = clamp(n),
        ("max_strlen", Value::Int(n)) => s.max_strlen = clamp(n),
        ("print_maps_on_exit", Value::Bool(b)) => s.print_maps_on_exit = b,
        ("missing_probes", Value::Text(t)) => s.missing_probes = t,
        ("unstable_tseries", Value::Text(t)) => s.unstable_tseries = t,
        _ => {}
    }
}

fn describe(kind: Kind) -> String {
    match kind {
        Kind::Int => "a positive integer".to_string(),
        Kind::Bool => "`true` or `false`".to_string(),
        Kind::Str => "a string".to_string(),
        Kind::Word(w) => format!("one of {}", w.join(", ")),
    }
}

const MAP_KINDS: &[(&str, DeclaredKind)] = &[
    ("hash", DeclaredKind::Hash),
    ("lruhash", DeclaredKind::LruHash),
    ("percpuhash", DeclaredKind::PercpuHash),
    ("percpulruhash", DeclaredKind::PercpuLruHash),
];

fn declare(s: &mut Settings, d: &MapDecl, diags: &mut Vec<Diagnostic>) {
    let name = format!("@{}", d.name);
    let Some(&(_, kind)) = MAP_KINDS.iter().find(|(k, _)| *k == d.kind) else {
        let mut diag = Diagnostic::error(
            "E0218",
            format!("unknown map type `{}`", d.kind),
            d.kind_span,
        )
        .label("not a map type")
        .note("map types are hash, lruhash, percpuhash and percpulruhash");
        if let Some(n) = nearest(&d.kind, MAP_KINDS.iter().map(|(k, _)| *k)) {
            diag = diag.help(format!("did you mean `{n}`?"));
        }
        diags.push(diag);
        return;
    };
    let Some(max_entries) = u32::try_from(d.size).ok().filter(|&n| n > 0) else {
        diags.push(
            Diagnostic::error(
                "E0218",
                format!("map `{name}` must hold between 1 and 4294967295 entries"),
                d.span,
            )
            .label("invalid size"),
        );
        return;
    };
    if s.declared(&name).is_some() {
        diags.push(
            Diagnostic::error("E0218", format!("map `{name}` is declared twice"), d.span)
                .label("second declaration"),
        );
        return;
    }
    s.declared_maps.push(DeclaredMap {
        name,
        kind,
        max_entries,
    });
}
