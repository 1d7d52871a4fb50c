//! The offset from CLOCK_TAI, which `tseries()` intervals are counted in
//! (`bpf_ktime_get_tai_ns`), to wall-clock time, read from the system when
//! a map is read and stored on its `tseries` entries for printing.

use crate::output::{MapDatum, MapSnapshot};

/// Nanoseconds of `clock`, or `None` when the clock cannot be read.
fn clock_ns(clock: libc::clockid_t) -> Option<i128> {
    // SAFETY: `ts` is plain old data, fully written by clock_gettime.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is a valid, writable timespec for the call.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return None;
    }
    Some(i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec))
}

/// CLOCK_REALTIME minus CLOCK_TAI, in nanoseconds (0 if unreadable). The
/// two clocks differ by whole leap seconds, so the difference of two reads
/// a moment apart is rounded to the second.
pub fn tai_to_realtime_ns() -> i64 {
    const SEC: i128 = 1_000_000_000;
    match (clock_ns(libc::CLOCK_REALTIME), clock_ns(libc::CLOCK_TAI)) {
        (Some(real), Some(tai)) => {
            let secs = (real - tai + SEC / 2).div_euclid(SEC);
            i64::try_from(secs * SEC).unwrap_or(0)
        }
        _ => 0,
    }
}

/// Gives every `tseries` entry of `map` the current TAI → wall-clock offset.
pub fn to_wall_clock(map: &mut MapSnapshot) {
    let mut offset = None;
    for (_, datum) in &mut map.entries {
        if let MapDatum::Tseries(t) = datum {
            t.wall_offset_ns = *offset.get_or_insert_with(tai_to_realtime_ns);
        }
    }
}
