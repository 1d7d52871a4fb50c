//! `ferrotrace -l [PATTERN]` and `-lv`: lists the probes this machine
//! offers, one full probe name per line, in bpftrace's format
//! (`tracepoint:CAT:NAME`, `rawtracepoint:NAME`, `software:EVENT:`,
//! `hardware:EVENT:`); `-lv` adds each tracepoint's fields, and each raw
//! tracepoint's BTF-typed arguments, indented, as `TYPE NAME`.
//!
//! The pattern's kind prefix (any spelling the catalogue accepts: `t:`,
//! `tracepoint:`, ...) picks one lister; without a kind every lister runs.
//! Listers read only what they need: tracepoints come from readdir of
//! tracefs (format files are opened only for `-lv`), raw tracepoints from
//! the `btf_trace_*` typedefs of the kernel's BTF, kprobe/fentry functions
//! (only when the pattern names the kind) from `available_filter_functions`
//! or the kernel's BTF functions. To list
//! another kind, add its `ProbeKind` arm to `lister` and a function
//! producing its entries.

use std::io::Write;

use ferrotrace_compiler::kernel::{glob_match, is_pattern, TracepointFormat};
use ferrotrace_stdlib::perf_events::{self, PerfEventInfo};
use ferrotrace_stdlib::ProbeKind;

use crate::tracefs;

/// One listed probe: its full name and, for `-lv`, its argument lines.
struct Entry {
    name: String,
    details: Vec<String>,
}

/// Prints every probe matching `pattern` (all of them when `None`).
pub fn list(pattern: Option<&str>, verbose: bool, out: &mut dyn Write) -> Result<(), String> {
    let pattern = pattern.unwrap_or("*");
    if crate::type_listing::is_type_pattern(pattern) {
        let text = crate::type_listing::definition(pattern)?;
        return out
            .write_all(text.as_bytes())
            .map_err(|e| format!("ERROR: could not write the listing: {e}."));
    }
    // `probe_kind:rest`; a pattern without a known kind searches every kind.
    let (kinds, full_pattern): (Vec<ProbeKind>, String) = match pattern.split_once(':') {
        Some((kind, rest)) if !is_pattern(kind) => {
            let Some((kind, _)) = ProbeKind::lookup(kind) else {
                return Err(format!(
                    "ERROR: `{kind}` is not a probe kind; list everything with `ferrotrace -l`."
                ));
            };
            (vec![kind], format!("{}:{rest}", kind.name()))
        }
        _ if !pattern.contains(':') && !is_pattern(pattern) => {
            (LISTED.to_vec(), format!("*{pattern}*"))
        }
        _ => (LISTED.to_vec(), pattern.to_string()),
    };
    // `fentry:vfs_*` matches every module's functions, as bpftrace's does.
    let full_pattern = match kinds.as_slice() {
        [ProbeKind::Fentry | ProbeKind::Fexit] if full_pattern.matches(':').count() == 1 => {
            full_pattern.replacen(':', ":*:", 1)
        }
        _ => full_pattern,
    };
    let mut entries = Vec::new();
    for kind in kinds {
        entries.extend(lister(kind, verbose)?);
    }
    let mut text = String::new();
    for e in entries
        .iter()
        .filter(|e| matches_probe(&full_pattern, &e.name))
    {
        text.push_str(&e.name);
        text.push('\n');
        let typed_args;
        let details = match e.name.strip_prefix("rawtracepoint:") {
            Some(name) if verbose => {
                typed_args = raw_tracepoint_args(name);
                &typed_args
            }
            // `fentry:vmlinux:NAME`, `kprobe:NAME`: the function's BTF
            // parameters (bpftrace 0.24+ lists them for kprobes too).
            _ if verbose
                && ["fentry:", "fexit:", "kprobe:", "kretprobe:"]
                    .iter()
                    .any(|k| e.name.starts_with(k)) =>
            {
                let name = e.name.rsplit(':').next().unwrap_or_default();
                typed_args = crate::type_listing::function_params(name);
                &typed_args
            }
            _ => &e.details,
        };
        for d in details {
            text.push_str("    ");
            text.push_str(d);
            text.push('\n');
        }
    }
    out.write_all(text.as_bytes())
        .map_err(|e| format!("ERROR: could not write the listing: {e}."))
}

/// The kinds `-l` without a kind lists, in output order.
const LISTED: &[ProbeKind] = &[
    ProbeKind::Tracepoint,
    ProbeKind::RawTracepoint,
    ProbeKind::Software,
    ProbeKind::Hardware,
];

/// Whether a listed probe matches the pattern (`*` and `?` as in attach points).
fn matches_probe(pattern: &str, name: &str) -> bool {
    glob_match(pattern, name)
}

/// The entries of one probe kind; kinds without a lister list nothing.
fn lister(kind: ProbeKind, verbose: bool) -> Result<Vec<Entry>, String> {
    match kind {
        ProbeKind::Tracepoint => tracepoints(verbose),
        ProbeKind::RawTracepoint => raw_tracepoints(),
        ProbeKind::Software => Ok(perf(kind, perf_events::SOFTWARE_EVENTS)),
        ProbeKind::Hardware => Ok(perf(kind, perf_events::HARDWARE_EVENTS)),
        ProbeKind::Kprobe | ProbeKind::Kretprobe | ProbeKind::Fentry | ProbeKind::Fexit => {
            kernel_functions(kind)
        }
        _ => Ok(Vec::new()),
    }
}

fn tracepoints(verbose: bool) -> Result<Vec<Entry>, String> {
    let mut names = tracefs::tracepoints().map_err(|e| format!("ERROR: {e}"))?;
    // Sorted by full name, as bpftrace does (`fib6:` before `fib:`).
    names.sort_by_cached_key(|(cat, name)| format!("{cat}:{name}"));
    Ok(names
        .into_iter()
        .map(|(cat, name)| Entry {
            details: if verbose {
                tracepoint_fields(&cat, &name)
            } else {
                Vec::new()
            },
            name: format!("tracepoint:{cat}:{name}"),
        })
        .collect())
}

/// `TYPE NAME` lines of a tracepoint's own fields, as its format declares them.
fn tracepoint_fields(category: &str, name: &str) -> Vec<String> {
    let Ok(Some(dir)) = tracefs::tracepoint_dir(category, name) else {
        return Vec::new();
    };
    let Ok(text) = std::fs::read_to_string(dir.join("format")) else {
        return Vec::new();
    };
    TracepointFormat::parse(&text)
        .fields
        .iter()
        .map(|f| match f.array_len {
            // `char[16]` is declared `char comm[16]`.
            Some(n) => format!(
                "{} {}[{n}]",
                f.c_type.trim_end_matches(&format!("[{n}]")),
                f.name
            ),
            None => format!("{} {}", f.c_type, f.name),
        })
        .collect()
}

/// Raw tracepoints, named by the `btf_trace_NAME` typedefs of the kernel's BTF.
fn raw_tracepoints() -> Result<Vec<Entry>, String> {
    let btf = crate::btf::Btf::vmlinux()
        .map_err(|e| format!("ERROR: {e} Raw tracepoints are listed from the kernel's BTF."))?;
    Ok(btf
        .raw_tracepoints()
        .into_iter()
        .map(|n| Entry {
            name: format!("rawtracepoint:{n}"),
            details: Vec::new(),
        })
        .collect())
}

/// `TYPE NAME` lines of a raw tracepoint's arguments, typed from BTF
/// (computed only for the entries printed).
fn raw_tracepoint_args(name: &str) -> Vec<String> {
    crate::btf::Btf::vmlinux()
        .ok()
        .and_then(|btf| btf.raw_tracepoint_args(name))
        .unwrap_or_default()
        .into_iter()
        .map(|(arg, ty)| format!("{ty} {arg}"))
        .collect()
}

/// Kernel functions, for `-l 'kprobe:...'` and `-l 'fentry:...'`: the
/// traceable functions of tracefs's `available_filter_functions` when it
/// can be read, else every function of the kernel's BTF (this kernel, for
/// one, refuses to show the file). kprobes are listed as `kprobe:NAME`,
/// fentry/fexit as `fentry:vmlinux:NAME` (the module part bpftrace shows).
fn kernel_functions(kind: ProbeKind) -> Result<Vec<Entry>, String> {
    let traceable = tracefs::tracefs_root()
        .ok()
        .and_then(|dir| std::fs::read_to_string(dir.join("available_filter_functions")).ok());
    let names = match traceable {
        Some(text) => {
            let mut names: Vec<String> = text
                .lines()
                .filter(|l| !l.contains('['))
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_string)
                .collect();
            names.sort();
            names.dedup();
            names
        }
        None => crate::btf::Btf::vmlinux()
            .map_err(|e| format!("ERROR: {e} Kernel functions are listed from the kernel's BTF."))?
            .functions(),
    };
    let module = match kind {
        ProbeKind::Fentry | ProbeKind::Fexit => "vmlinux:",
        _ => "",
    };
    Ok(names
        .into_iter()
        .map(|n| Entry {
            name: format!("{}:{module}{n}", kind.name()),
            details: Vec::new(),
        })
        .collect())
}

fn perf(kind: ProbeKind, table: &[PerfEventInfo]) -> Vec<Entry> {
    let mut names: Vec<&str> = table.iter().map(|e| e.name).collect();
    names.sort_unstable();
    names
        .into_iter()
        .map(|n| Entry {
            name: format!("{}:{n}:", kind.name()),
            details: Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_names() {
        assert!(matches_probe(
            "tracepoint:sched:*",
            "tracepoint:sched:sched_switch"
        ));
        assert!(!matches_probe(
            "tracepoint:sched",
            "tracepoint:sched:sched_switch"
        ));
        assert!(matches_probe(
            "*sleep*",
            "tracepoint:syscalls:sys_enter_nanosleep"
        ));
        assert!(!matches_probe("software:cs*", "software:cpu-clock:"));
    }
}
