//! `tseries()` maps: combining each key's per-CPU rings of (value, meta,
//! epoch) slots into one value per interval, and printing them as bpftrace
//! 0.26 does — the ASCII chart of the text format (a header with the
//! smallest and largest value, one `hh:mm:ss[.fraction]` row per interval
//! with a `*` at the value, `.` at zero when zero is inside the range, `-`
//! for an interval without a value, and a `v___v` footer) and the JSON list
//! of `{"interval_start": "...", "value": N}`. Intervals are counted in
//! CLOCK_TAI nanoseconds; the runtime supplies the offset to wall-clock
//! time when it reads the map, so everything here stays pure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ferrotrace_compiler::manifest::TseriesAgg;

use super::json::Json;
use super::timefmt::local_strftime;
use super::value::Value;

/// Width of the chart between and including its two `|` borders.
const GRAPH_WIDTH: usize = 53;
/// Width of the left-aligned smallest value in the header and footer.
const PADDING: usize = 21;

/// One `tseries()` map entry after combining its per-CPU rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tseries {
    pub interval_ns: u64,
    pub num_intervals: u32,
    pub signed: bool,
    /// The value of every interval that holds one, by epoch
    /// (`CLOCK_TAI ns / interval_ns`).
    pub points: BTreeMap<u64, i128>,
    /// The latest epoch over all the map's keys: every key prints the
    /// `num_intervals` intervals that end there.
    pub last_epoch: u64,
    /// Nanoseconds from CLOCK_TAI to wall-clock (CLOCK_REALTIME) time.
    pub wall_offset_ns: i64,
}

/// Bytes of one slot: the value at 0, `meta` at 8, the epoch at 16.
const SLOT: usize = 24;

fn word(bytes: &[u8], off: usize) -> u64 {
    off.checked_add(8)
        .and_then(|end| bytes.get(off..end))
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

/// Combines the per-CPU rings of one key. Each slot keeps, over the CPUs,
/// only its latest epoch; copies of the same epoch are combined as the
/// aggregation says (without one, the copy stored last wins).
pub fn combine(
    values: &[Vec<u8>],
    interval_ns: u64,
    num_intervals: u32,
    agg: TseriesAgg,
    signed: bool,
) -> Tseries {
    let as_int = |bits: u64| -> i128 {
        if signed {
            i128::from(bits as i64)
        } else {
            i128::from(bits)
        }
    };
    let mut points = BTreeMap::new();
    for i in 0..num_intervals as usize {
        let off = i * SLOT;
        // (epoch, value, meta) of the latest epoch seen in this slot.
        let mut best: Option<(u64, i128, u64)> = None;
        for cpu in values {
            let (val, meta, epoch) = (
                as_int(word(cpu, off)),
                word(cpu, off + 8),
                word(cpu, off + 16),
            );
            if epoch == 0 {
                continue;
            }
            best = match best {
                Some((e, _, _)) if e > epoch => best,
                Some((e, v, m)) if e == epoch => Some(match agg {
                    TseriesAgg::Last if meta > m => (e, val, meta),
                    TseriesAgg::Last => (e, v, m),
                    TseriesAgg::Avg => (e, v + val, m.wrapping_add(meta)),
                    TseriesAgg::Sum => (e, v + val, m),
                    TseriesAgg::Min => (e, v.min(val), m),
                    TseriesAgg::Max => (e, v.max(val), m),
                }),
                _ => Some((epoch, val, meta)),
            };
        }
        if let Some((epoch, val, meta)) = best {
            let val = if agg == TseriesAgg::Avg && meta > 0 {
                val / i128::from(meta)
            } else {
                val
            };
            // Sums wrap like the kernel's 64-bit values.
            let val = if signed {
                i128::from(val as i64)
            } else {
                i128::from(val as u64)
            };
            points.insert(epoch, val);
        }
    }
    let last_epoch = points.keys().next_back().copied().unwrap_or(0);
    Tseries {
        interval_ns,
        num_intervals,
        signed,
        points,
        last_epoch,
        wall_offset_ns: 0,
    }
}

impl Tseries {
    /// The epoch of the latest interval with a value (0 when none).
    pub fn latest(&self) -> u64 {
        self.points.keys().next_back().copied().unwrap_or(0)
    }

    /// The value of the latest interval, as a `Value`.
    pub fn latest_value(&self) -> Value {
        let v = self.points.values().next_back().copied().unwrap_or(0);
        self.value(v)
    }

    fn value(&self, v: i128) -> Value {
        if self.signed {
            Value::Int(i64::try_from(v).unwrap_or_default())
        } else {
            Value::UInt(u64::try_from(v).unwrap_or_default())
        }
    }

    /// The printed intervals: from this key's first interval inside the
    /// window to the map's last epoch, `None` where there is no value.
    fn rows(&self) -> Vec<(u64, Option<i128>)> {
        let window_start = self
            .last_epoch
            .saturating_sub(u64::from(self.num_intervals.max(1)) - 1);
        let Some(first) = self.points.range(window_start..).next().map(|(e, _)| *e) else {
            return Vec::new();
        };
        (first..=self.last_epoch)
            .map(|e| (e, self.points.get(&e).copied()))
            .collect()
    }

    /// Wall-clock nanoseconds since the Unix epoch at the start of `epoch`.
    fn wall_ns(&self, epoch: u64) -> i128 {
        i128::from(epoch) * i128::from(self.interval_ns) + i128::from(self.wall_offset_ns)
    }

    /// The chart bpftrace prints for this entry, each line ending in a
    /// newline (`<no data>` without one when nothing is in the window).
    pub fn chart(&self) -> String {
        let rows = self.rows();
        let Some(&(_, Some(front))) = rows.first() else {
            return "<no data>".to_string();
        };
        let (mut min, mut max) = (front, front);
        for v in rows.iter().filter_map(|(_, v)| *v) {
            min = min.min(v);
            max = max.max(v);
        }
        if min == max {
            // Room on both sides of the points, within the value's type.
            let lowest = if self.signed { i128::from(i64::MIN) } else { 0 };
            let highest = if self.signed {
                i128::from(i64::MAX)
            } else {
                i128::from(u64::MAX)
            };
            if min > lowest {
                min -= 1;
            }
            if max < highest {
                max += 1;
            }
        }
        let span_ns = match (rows.first(), rows.last()) {
            (Some((a, _)), Some((b, _))) => self.wall_ns(*b) - self.wall_ns(*a),
            _ => 0,
        };
        let steps = i128::try_from(rows.len().saturating_sub(1).max(1)).unwrap_or(1);
        let unit = Unit::of(span_ns / steps);
        let mut time_fmt = "hh:mm:ss".to_string();
        let mut time_size = time_fmt.len();
        if unit != Unit::S {
            time_fmt.push('.');
            time_fmt.push_str(unit.name());
            time_size += 1 + unit.digits();
        }
        let (lo, hi) = (self.value(min).to_string(), self.value(max).to_string());
        let mut out = String::new();
        let bounds = |out: &mut String| {
            let _ = writeln!(
                out,
                "{lo:<PADDING$}{hi:>width$}",
                width = GRAPH_WIDTH - PADDING
            );
        };
        out.push_str(&" ".repeat(time_size + 1));
        bounds(&mut out);
        out.push_str(&time_fmt);
        out.push_str(&" ".repeat((time_size + 1).saturating_sub(time_fmt.len())));
        let _ = writeln!(out, "|{}|", "_".repeat(GRAPH_WIDTH - 2));
        let range = (max - min) as f32;
        let zero = if min < 0 && max > 0 {
            (GRAPH_WIDTH as f32 * (-min) as f32 / range) as usize
        } else {
            0
        };
        for (epoch, v) in &rows {
            let mut line = vec![b' '; GRAPH_WIDTH];
            line[0] = b'|';
            line[GRAPH_WIDTH - 1] = b'|';
            if zero > 0 && zero < GRAPH_WIDTH {
                line[zero] = b'.';
            }
            out.push_str(&timestamp(self.wall_ns(*epoch), "%H:%M:%S", unit));
            out.push(' ');
            match v {
                Some(v) => {
                    let at = if min == max {
                        GRAPH_WIDTH / 2
                    } else {
                        ((GRAPH_WIDTH - 1) as f32 * (v - min) as f32 / range) as usize
                    };
                    line[at.min(GRAPH_WIDTH - 1)] = b'*';
                    out.push_str(&String::from_utf8_lossy(&line));
                    let _ = writeln!(out, " {}", self.value(*v));
                }
                None => {
                    out.push_str(&String::from_utf8_lossy(&line));
                    out.push_str(" -\n");
                }
            }
        }
        let mut bottom = vec![b'_'; GRAPH_WIDTH];
        bottom[0] = b'v';
        bottom[GRAPH_WIDTH - 1] = b'v';
        out.push_str(&" ".repeat(time_size + 1));
        out.push_str(&String::from_utf8_lossy(&bottom));
        out.push('\n');
        out.push_str(&" ".repeat(time_size + 1));
        bounds(&mut out);
        out
    }

    /// The JSON list: one `{"interval_start", "value"}` per printed
    /// interval, the start in local ISO 8601 time with nanoseconds, a
    /// missing value as `null`.
    pub fn json(&self) -> Json {
        Json::Array(
            self.rows()
                .into_iter()
                .map(|(epoch, v)| {
                    let start = timestamp(self.wall_ns(epoch), "%Y-%m-%dT%H:%M:%S", Unit::Ns);
                    Json::Object(vec![
                        ("interval_start".to_string(), Json::Str(start)),
                        (
                            "value".to_string(),
                            match v {
                                Some(v) if self.signed => Json::Int(v as i64),
                                Some(v) => Json::UInt(v as u64),
                                None => Json::Null,
                            },
                        ),
                    ])
                })
                .collect(),
        )
    }
}

/// The unit the interval between rows is shown in (bpftrace's
/// `DisplayUnit`): whole seconds, or a fraction of milli-, micro- or
/// nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    S,
    Ms,
    Us,
    Ns,
}

impl Unit {
    fn of(ns: i128) -> Unit {
        if ns >= 1_000_000_000 {
            Unit::S
        } else if ns >= 1_000_000 {
            Unit::Ms
        } else if ns >= 1_000 {
            Unit::Us
        } else {
            Unit::Ns
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::S => "s",
            Unit::Ms => "ms",
            Unit::Us => "μs",
            Unit::Ns => "ns",
        }
    }

    /// Digits of the fraction of a second.
    fn digits(self) -> usize {
        match self {
            Unit::S => 0,
            Unit::Ms => 3,
            Unit::Us => 6,
            Unit::Ns => 9,
        }
    }
}

/// `wall_ns` in local time with a strftime format, then the fraction of
/// the second to the unit's digits.
fn timestamp(wall_ns: i128, format: &str, unit: Unit) -> String {
    let secs = wall_ns.div_euclid(1_000_000_000);
    let frac = wall_ns.rem_euclid(1_000_000_000);
    let mut s = local_strftime(format, i64::try_from(secs).unwrap_or_default());
    let digits = unit.digits();
    if digits > 0 {
        let scaled = frac / 10i128.pow(9 - digits as u32);
        let _ = write!(s, ".{scaled:0digits$}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Local-time fields of a wall-clock instant, as the chart prints them.
    fn hms(wall_ns: i128, unit: Unit) -> String {
        timestamp(wall_ns, "%H:%M:%S", unit)
    }

    fn series(interval_ns: u64, num: u32, signed: bool, points: &[(u64, i128)]) -> Tseries {
        let points: BTreeMap<u64, i128> = points.iter().copied().collect();
        let last_epoch = points.keys().next_back().copied().unwrap_or(0);
        Tseries {
            interval_ns,
            num_intervals: num,
            signed,
            points,
            last_epoch,
            wall_offset_ns: 0,
        }
    }

    /// bpftrace's `tests/runtime/outputs/tseries_zigzag.txt`: -5..5 and
    /// back, one value every 100 ms.
    #[test]
    fn zigzag_chart_matches_bpftrace() {
        let base = 17_000_000_000u64; // epochs of 100 ms
        let values: Vec<i128> = (-5..=5).chain((-4..=4).rev()).collect();
        let pts: Vec<(u64, i128)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (base + i as u64, *v))
            .collect();
        let t = series(100_000_000, 20, true, &pts);
        let mut want = String::new();
        want.push_str("             -5                                                  5\n");
        want.push_str("hh:mm:ss.ms  |___________________________________________________|\n");
        let expected_rows = [
            "*                         .                         | -5",
            "|    *                    .                         | -4",
            "|         *               .                         | -3",
            "|              *          .                         | -2",
            "|                   *     .                         | -1",
            "|                         *                         | 0",
            "|                         .    *                    | 1",
            "|                         .         *               | 2",
            "|                         .              *          | 3",
            "|                         .                   *     | 4",
            "|                         .                         * 5",
            "|                         .                   *     | 4",
            "|                         .              *          | 3",
            "|                         .         *               | 2",
            "|                         .    *                    | 1",
            "|                         *                         | 0",
            "|                   *     .                         | -1",
            "|              *          .                         | -2",
            "|         *               .                         | -3",
            "|    *                    .                         | -4",
        ];
        for (i, row) in expected_rows.iter().enumerate() {
            let wall = i128::from(base + i as u64) * 100_000_000;
            want.push_str(&hms(wall, Unit::Ms));
            want.push(' ');
            want.push_str(row);
            want.push('\n');
        }
        want.push_str("             v___________________________________________________v\n");
        want.push_str("             -5                                                  5\n");
        assert_eq!(t.chart(), want);
    }

    /// bpftrace's `tests/runtime/outputs/tseries.txt` (a constant 9): the
    /// bounds widen by one on each side and the point sits in the middle.
    #[test]
    fn constant_series_is_centred() {
        let t = series(1_000_000_000, 5, false, &[(100, 9), (101, 9), (102, 9)]);
        let chart = t.chart();
        let lines: Vec<&str> = chart.lines().collect();
        assert_eq!(lines.len(), 7, "{chart}");
        let bounds = format!("{}{:<21}{:>32}", " ".repeat(9), 8, 10);
        assert_eq!(lines[0], bounds);
        assert_eq!(
            lines[1],
            "hh:mm:ss |___________________________________________________|"
        );
        let row = format!(
            "{} |                         *                         | 9",
            hms(100_000_000_000, Unit::S)
        );
        assert_eq!(lines[2], row);
        assert_eq!(lines[5], format!("         v{}v", "_".repeat(51)));
        assert_eq!(lines[6], lines[0]);
    }

    #[test]
    fn missing_intervals_print_a_dash_and_json_null() {
        let t = series(1_000_000, 10, false, &[(50, 1), (52, 3)]);
        let chart = t.chart();
        let lines: Vec<&str> = chart.lines().collect();
        assert_eq!(lines.len(), 7, "{chart}");
        assert!(lines[1].starts_with("hh:mm:ss.ms  |"), "{chart}");
        assert!(
            lines[3].ends_with("|                                                   | -"),
            "{chart}"
        );
        let json = serde_json::to_string(&t.json()).unwrap_or_default();
        assert_eq!(json.matches("\"interval_start\"").count(), 3, "{json}");
        assert!(json.contains("\"value\":null"), "{json}");
        assert!(json.contains(".052000000\",\"value\":3}"), "{json}");
    }

    #[test]
    fn window_keeps_the_last_num_intervals() {
        let mut t = series(
            1_000_000_000,
            3,
            true,
            &[(10, -1), (11, 2), (12, 3), (13, 4)],
        );
        t.last_epoch = 14;
        let rows = t.rows();
        assert_eq!(rows, vec![(12, Some(3)), (13, Some(4)), (14, None)]);
    }

    fn ring(slots: &[(usize, u64, u64, u64)], n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n * SLOT];
        for &(i, val, meta, epoch) in slots {
            b[i * SLOT..i * SLOT + 8].copy_from_slice(&val.to_le_bytes());
            b[i * SLOT + 8..i * SLOT + 16].copy_from_slice(&meta.to_le_bytes());
            b[i * SLOT + 16..i * SLOT + 24].copy_from_slice(&epoch.to_le_bytes());
        }
        b
    }

    #[test]
    fn combines_cpus_per_aggregation() {
        // Slot 1 holds epoch 7 on both CPUs; slot 0 an older epoch 4 on
        // CPU 0 and epoch 6 on CPU 1 (the latest wins).
        let cpus = vec![
            ring(&[(1, 10, 2, 7), (0, 99, 1, 4)], 3),
            ring(&[(1, 4, 1, 7), (0, 5, 1, 6)], 3),
        ];
        let sum = combine(&cpus, 10, 3, TseriesAgg::Sum, false);
        assert_eq!(sum.points.get(&7), Some(&14));
        assert_eq!(sum.points.get(&6), Some(&5));
        assert_eq!(sum.points.get(&4), None);
        assert_eq!(sum.last_epoch, 7);
        let avg = combine(&cpus, 10, 3, TseriesAgg::Avg, false);
        assert_eq!(avg.points.get(&7), Some(&4)); // (10 + 4) / (2 + 1)
        let last = combine(&cpus, 10, 3, TseriesAgg::Last, false);
        assert_eq!(last.points.get(&7), Some(&10)); // stored at time 2 > 1
        let min = combine(&cpus, 10, 3, TseriesAgg::Min, false);
        assert_eq!(min.points.get(&7), Some(&4));
        let neg = vec![
            ring(&[(0, (-3i64) as u64, 0, 9)], 1),
            ring(&[(0, 2, 0, 9)], 1),
        ];
        let max = combine(&neg, 10, 1, TseriesAgg::Max, true);
        assert_eq!(max.points.get(&9), Some(&2));
        let min = combine(&neg, 10, 1, TseriesAgg::Min, true);
        assert_eq!(min.points.get(&9), Some(&-3));
    }

    /// A keyed map as `print_map` and `json::map` print it: entries least
    /// recently updated first, each chart after `@name[key]:` and a blank
    /// line; JSON type `tseries` with one list per key.
    #[test]
    fn keyed_map_text_and_json_records() {
        use crate::output::decode::{MapDatum, MapSnapshot};
        let mut newer = series(1_000_000_000, 2, false, &[(11, 4)]);
        let mut older = series(1_000_000_000, 2, false, &[(10, 7)]);
        newer.last_epoch = 11;
        older.last_epoch = 11;
        let map = MapSnapshot {
            name: "@ts".into(),
            entries: vec![
                (
                    vec![Value::Str("a".into())],
                    MapDatum::Tseries(Box::new(newer.clone())),
                ),
                (
                    vec![Value::Str("b".into())],
                    MapDatum::Tseries(Box::new(older.clone())),
                ),
            ],
        };
        let mut text = Vec::new();
        crate::output::print_map(&mut text, &map).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let want = format!("@ts[b]:\n{}\n@ts[a]:\n{}\n", older.chart(), newer.chart());
        assert_eq!(text, want);
        // "b" ends on the map's latest interval, which it has no value for.
        assert!(older.chart().contains("| -\n"), "{}", older.chart());
        let t10 = timestamp(10_000_000_000, "%Y-%m-%dT%H:%M:%S", Unit::Ns);
        let t11 = timestamp(11_000_000_000, "%Y-%m-%dT%H:%M:%S", Unit::Ns);
        assert_eq!(
            crate::output::json::map(&map, 0, 1),
            format!(
                "{{\"type\": \"tseries\", \"data\": {{\"@ts\": {{\"b\": [{{\"interval_start\": \"{t10}\", \"value\": 7}},{{\"interval_start\": \"{t11}\", \"value\": null}}], \"a\": [{{\"interval_start\": \"{t11}\", \"value\": 4}}]}}}}}}\n"
            )
        );
    }
}
