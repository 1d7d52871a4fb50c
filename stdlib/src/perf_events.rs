//! The perf events `software:` and `hardware:` probes name: each event's
//! spellings, its `perf_event_attr` type and config, and the sampling count
//! used when the script gives none (bpftrace's defaults).

/// `perf_event_attr.type` of software events.
pub const PERF_TYPE_SOFTWARE: u32 = 1;
/// `perf_event_attr.type` of hardware events.
pub const PERF_TYPE_HARDWARE: u32 = 0;

#[derive(Debug, Clone, Copy)]
pub struct PerfEventInfo {
    /// The canonical name.
    pub name: &'static str,
    /// Other accepted spellings.
    pub aliases: &'static [&'static str],
    /// `perf_event_attr.config`.
    pub config: u64,
    /// Sample every this many events when the probe gives no count.
    pub default_count: u64,
}

const fn ev(
    name: &'static str,
    aliases: &'static [&'static str],
    config: u64,
    default_count: u64,
) -> PerfEventInfo {
    PerfEventInfo {
        name,
        aliases,
        config,
        default_count,
    }
}

/// Every perf software event (`PERF_COUNT_SW_*`).
pub const SOFTWARE_EVENTS: &[PerfEventInfo] = &[
    ev("cpu-clock", &["cpu"], 0, 1_000_000),
    ev("task-clock", &[], 1, 1_000_000),
    ev("page-faults", &["faults"], 2, 100),
    ev("context-switches", &["cs"], 3, 1_000),
    ev("cpu-migrations", &[], 4, 1),
    ev("minor-faults", &[], 5, 100),
    ev("major-faults", &[], 6, 1),
    ev("alignment-faults", &[], 7, 1),
    ev("emulation-faults", &[], 8, 1),
    ev("dummy", &[], 9, 1),
    ev("bpf-output", &[], 10, 1),
];

/// Every generic perf hardware event (`PERF_COUNT_HW_*`).
pub const HARDWARE_EVENTS: &[PerfEventInfo] = &[
    ev("cpu-cycles", &["cycles"], 0, 1_000_000),
    ev("instructions", &[], 1, 1_000_000),
    ev("cache-references", &[], 2, 1_000_000),
    ev("cache-misses", &[], 3, 1_000_000),
    ev("branch-instructions", &["branches"], 4, 100_000),
    ev("branch-misses", &[], 5, 100_000),
    ev("bus-cycles", &[], 6, 100_000),
    ev("frontend-stalls", &[], 7, 1_000_000),
    ev("backend-stalls", &[], 8, 1_000_000),
    ev("ref-cycles", &[], 9, 1_000_000),
];

/// Finds an event by any of its spellings in `table`.
pub fn lookup<'a>(table: &'a [PerfEventInfo], name: &str) -> Option<&'a PerfEventInfo> {
    table
        .iter()
        .find(|e| e.name == name || e.aliases.contains(&name))
}

/// Every spelling in `table`, for "did you mean" help.
pub fn spellings(table: &[PerfEventInfo]) -> impl Iterator<Item = &'static str> + '_ {
    table
        .iter()
        .flat_map(|e| std::iter::once(e.name).chain(e.aliases.iter().copied()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve() {
        assert_eq!(lookup(SOFTWARE_EVENTS, "cs").map(|e| e.config), Some(3));
        assert_eq!(lookup(HARDWARE_EVENTS, "cycles").map(|e| e.config), Some(0));
        assert!(lookup(SOFTWARE_EVENTS, "nope").is_none());
    }
}
