//! `ferrotrace -l [PATTERN]` and `-lv`: lists the probes this machine
//! offers, one full probe name per line, in bpftrace's format
//! (`tracepoint:CAT:NAME`, `rawtracepoint:NAME`, `software:EVENT:`,
//! `hardware:EVENT:`); `-lv` adds each tracepoint's fields, indented, as
//! `TYPE NAME`.
//!
//! The pattern's kind prefix (any spelling the catalogue accepts: `t:`,
//! `tracepoint:`, ...) picks one lister; without a kind every lister runs.
//! Listers read only what they need: tracepoints come from readdir of
//! tracefs (format files are opened only for `-lv`), raw tracepoints from
//! the `btf_trace_*` names in the kernel's BTF string table. To list
//! another kind, add its `ProbeKind` arm to `lister` and a function
//! producing its entries.

use std::io::Write;

use ferrotrace_compiler::kernel::{glob_match, is_pattern, TracepointFormat};
use ferrotrace_stdlib::perf_events::{self, PerfEventInfo};
use ferrotrace_stdlib::ProbeKind;

use crate::tracefs;

/// Where the kernel's BTF is read from for raw tracepoint names.
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// One listed probe: its full name and, for `-lv`, its argument lines.
struct Entry {
    name: String,
    details: Vec<String>,
}

/// Prints every probe matching `pattern` (all of them when `None`).
pub fn list(pattern: Option<&str>, verbose: bool, out: &mut dyn Write) -> Result<(), String> {
    let pattern = pattern.unwrap_or("*");
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
        for d in &e.details {
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
    let data = std::fs::read(VMLINUX_BTF).map_err(|e| {
        format!(
            "ERROR: could not read the kernel's BTF at {VMLINUX_BTF} ({e}); raw tracepoints are listed \
             from it, so this kernel needs CONFIG_DEBUG_INFO_BTF."
        )
    })?;
    let mut names: Vec<String> = btf_strings(&data)
        .filter_map(|s| s.strip_prefix("btf_trace_"))
        .map(|s| format!("rawtracepoint:{s}"))
        .collect();
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .map(|name| Entry {
            name,
            details: Vec::new(),
        })
        .collect())
}

/// The strings of a BTF blob's string section (header: magic u16, version
/// u8, flags u8, hdr_len u32, type_off u32, type_len u32, str_off u32,
/// str_len u32; offsets count from the end of the header).
fn btf_strings(data: &[u8]) -> impl Iterator<Item = &str> {
    let u32_at = |off: usize| -> Option<usize> {
        let bytes: [u8; 4] = data.get(off..off + 4)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(bytes)).ok()
    };
    let section = (|| {
        if data.get(0..2)? != [0x9f, 0xeb] {
            return None;
        }
        let hdr_len = u32_at(4)?;
        let (str_off, str_len) = (u32_at(16)?, u32_at(20)?);
        let start = hdr_len.checked_add(str_off)?;
        data.get(start..start.checked_add(str_len)?)
    })()
    .unwrap_or(&[]);
    section
        .split(|&b| b == 0)
        .filter_map(|s| std::str::from_utf8(s).ok())
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

    #[test]
    fn reads_btf_strings() {
        let mut blob = vec![0x9f, 0xeb, 1, 0];
        blob.extend(24u32.to_le_bytes()); // hdr_len
        blob.extend(0u32.to_le_bytes()); // type_off
        blob.extend(0u32.to_le_bytes()); // type_len
        blob.extend(0u32.to_le_bytes()); // str_off
        let strings = b"\0int\0btf_trace_sched_switch\0";
        blob.extend(u32::try_from(strings.len()).unwrap_or(0).to_le_bytes());
        blob.extend(strings);
        let names: Vec<_> = btf_strings(&blob).filter(|s| !s.is_empty()).collect();
        assert_eq!(names, ["int", "btf_trace_sched_switch"]);
    }
}
