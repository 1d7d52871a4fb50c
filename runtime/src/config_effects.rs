//! The run-time effects of config keys that act before tracing starts:
//! `max_probes` refuses to attach more probes than allowed (bpftrace
//! 0.26's exact message) and `str_trunc_trailer` is handed to the value
//! decoder. The values come from the manifest; nothing is re-derived.

use ferrotrace_compiler::manifest::Manifest;

/// Applies the manifest's pre-attach settings, or the error to print.
pub fn apply(manifest: &Manifest) -> Result<(), String> {
    let more = &manifest.config.more;
    let count = manifest.probe_count() as u64;
    if count > more.max_probes {
        return Err(too_many_probes(count, more.max_probes));
    }
    crate::output::trailer::set(&more.str_trunc_trailer, manifest.config.max_strlen);
    Ok(())
}

fn too_many_probes(count: u64, limit: u64) -> String {
    format!(
        "ERROR: Can't attach to {count} probes because it exceeds the current limit of {limit} probes.\nYou can increase the limit through the BPFTRACE_MAX_PROBES environment variable, but BE CAREFUL since a high number of probes attached can cause your system to crash."
    )
}

/// The error for a program the kernel refused because the script's
/// `license` is not GPL-compatible and the program calls a GPL-only helper.
pub fn license_refusal(e: &crate::bpf::BpfError) -> Option<String> {
    let crate::bpf::BpfError::Verifier {
        probe, log_tail, ..
    } = e
    else {
        return None;
    };
    let line = log_tail.iter().rev().find(|l| l.contains(") call "))?;
    if !log_tail
        .iter()
        .any(|l| l.contains("cannot call GPL-restricted function"))
    {
        return None;
    }
    let helper = line
        .split(") call ")
        .nth(1)
        .and_then(|h| h.split('#').next())
        .unwrap_or("a GPL-only helper");
    Some(format!(
        "ERROR: the kernel refused to load probe {probe}: it calls {helper}, which only programs with a GPL-compatible license may call, and the script's `license` config is not GPL-compatible; use `config = {{ license = \"GPL\" }}` (the default) or a dual license such as \"Dual BSD/GPL\"."
    ))
}
