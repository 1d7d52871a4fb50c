//! Listing user-space probes for `-l`: the function symbols of a binary as
//! `uprobe:PATH:FUNCTION` lines and its USDT notes as
//! `usdt:PATH:PROVIDER:NAME` lines, for a pattern such as
//! `uprobe:/bin/bash:read*` or `usdt:libc:*`, or for every object mapped by
//! a process (`-p PID` with the binary `*` or no pattern at all).

use crate::elf_symbols::{process_objects, read_object, resolve_binary};
use crate::usdt::read_probes;
use ferrotrace_stdlib::ProbeKind;

/// Whether `pattern` names a user-space probe kind this module lists.
pub fn is_user_pattern(pattern: &str) -> bool {
    let kind = pattern.split(':').next().and_then(ProbeKind::lookup);
    matches!(
        kind,
        Some((
            ProbeKind::Uprobe | ProbeKind::Uretprobe | ProbeKind::Usdt,
            _
        ))
    )
}

/// The probes matching `pattern` (or, with `pid` and no pattern, every
/// uprobe and USDT probe of the process), one line each, sorted per object.
pub fn list(pattern: Option<&str>, pid: Option<u32>) -> Result<Vec<String>, String> {
    let Some(pattern) = pattern else {
        let mut out = list(Some("uprobe:*:*"), pid)?;
        out.extend(list(Some("usdt:*:*"), pid)?);
        return Ok(out);
    };
    let parts: Vec<&str> = pattern.split(':').collect();
    let kind = parts
        .first()
        .and_then(|k| ProbeKind::lookup(k))
        .map(|(k, _)| k)
        .ok_or_else(|| format!("`{pattern}` is not a uprobe or usdt pattern."))?;
    let binary = parts.get(1).copied().unwrap_or("*");
    let objects = objects(binary, pid)?;
    let mut out = Vec::new();
    for path in &objects {
        match kind {
            ProbeKind::Usdt => {
                // `usdt:BIN:NAME` or `usdt:BIN:PROVIDER:NAME`.
                let (provider, name) = match parts.len() {
                    0..=2 => ("*", "*"),
                    3 => ("*", parts[2]),
                    _ => (parts[2], parts[3]),
                };
                let (pm, nm) = (matcher(provider)?, matcher(name)?);
                let Ok(probes) = read_probes(path) else {
                    continue;
                };
                let mut lines: Vec<String> = probes
                    .iter()
                    .filter(|p| pm.is_match(&p.provider) && nm.is_match(&p.name))
                    .map(|p| format!("usdt:{path}:{}:{}", p.provider, p.name))
                    .collect();
                lines.sort();
                lines.dedup();
                out.extend(lines);
            }
            _ => {
                let fm = matcher(parts.get(2..).map_or("*".into(), |p| p.join(":")).as_str())?;
                let Ok(object) = read_object(path) else {
                    if objects.len() == 1 {
                        return Err(format!("cannot read the symbols of {path}."));
                    }
                    continue;
                };
                let mut lines: Vec<String> = object
                    .symbols
                    .iter()
                    .filter(|s| fm.is_match(&s.name))
                    .map(|s| format!("{}:{path}:{}", kind.name(), s.name))
                    .collect();
                lines.dedup();
                out.extend(lines);
            }
        }
    }
    Ok(out)
}

/// The objects a binary part names: `*` is every object of `pid`.
fn objects(binary: &str, pid: Option<u32>) -> Result<Vec<String>, String> {
    if binary == "*" || binary.is_empty() {
        let pid = pid.ok_or_else(|| {
            "listing every binary needs a process: give -p PID, or name the binary.".to_string()
        })?;
        return process_objects(pid);
    }
    match resolve_binary(binary, pid)? {
        Some(path) => Ok(vec![path]),
        None => Err(format!(
            "binary `{binary}` does not exist; give a path or a library's short name such as `libc`."
        )),
    }
}

fn matcher(glob: &str) -> Result<globset::GlobMatcher, String> {
    let glob = if glob.is_empty() { "*" } else { glob };
    globset::GlobBuilder::new(glob)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("`{glob}` is not a valid wildcard pattern: {e}."))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lists_libc_functions_by_short_name() {
        let lines = list(Some("uprobe:libc:mallo?"), None).unwrap();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("uprobe:/") && l.ends_with("libc.so.6:malloc")),
            "{lines:?}"
        );
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{lines:?}");
    }

    #[test]
    fn knows_its_patterns() {
        assert!(is_user_pattern("uprobe:/bin/sh:*"));
        assert!(is_user_pattern("U:/bin/sh:*"));
        assert!(!is_user_pattern("tracepoint:syscalls:*"));
        assert!(list(Some("uprobe:*:*"), None).is_err());
    }
}
