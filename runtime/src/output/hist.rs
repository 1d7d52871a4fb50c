//! Histogram math for `hist()` and `lhist()` maps: which value range each
//! bucket counter covers, the rows bpftrace shows (from the first to the
//! last non-empty bucket), their labels (`(..., 0)`, `[0]`, `[2, 4)`,
//! `[1K, 2K)`, `[100, ...)`) and the 52-column `@` bars of the text format.
//! The bucket layout is the one the compiler documents on
//! `MapValueSpec::Hist`/`Lhist`.

use std::fmt::Write;

/// How a histogram's buckets divide the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Powers of two, each split into `2^bits` buckets.
    Log2 { bits: u8 },
    /// Fixed-width buckets from `min` to `max`.
    Linear { min: i64, max: i64, step: i64 },
}

/// One histogram: its scale and one counter per bucket (summed over CPUs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    pub scale: Scale,
    pub counts: Vec<u64>,
}

/// A bucket boundary as printed: a plain number, which can be adjacent to
/// another (making a one-value bucket `[n]`), or a scaled label such as
/// `1K` together with the number it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Int(i64),
    Scaled { text: String, value: i64 },
}

impl Bound {
    fn text(&self) -> String {
        match self {
            Bound::Int(v) => v.to_string(),
            Bound::Scaled { text, .. } => text.clone(),
        }
    }

    /// The number the bound stands for.
    pub fn value(&self) -> i64 {
        match self {
            Bound::Int(v) | Bound::Scaled { value: v, .. } => *v,
        }
    }
}

/// One printed row: the bucket's bounds and count. `lower` is `None` for
/// the underflow bucket and `upper` is `None` for the overflow bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub lower: Option<Bound>,
    pub upper: Option<Bound>,
    pub count: u64,
}

impl Row {
    /// The row's label in the text format.
    pub fn label(&self) -> String {
        match (&self.lower, &self.upper) {
            (None, Some(u)) => format!("(..., {})", u.text()),
            (Some(l), None) => format!("[{}, ...)", l.text()),
            (Some(Bound::Int(a)), Some(Bound::Int(b))) if a.checked_add(1) == Some(*b) => {
                format!("[{a}]")
            }
            (Some(l), Some(u)) => format!("[{}, {})", l.text(), u.text()),
            (None, None) => String::new(),
        }
    }
}

impl Histogram {
    /// Total of all counters (keyed histograms are sorted by it).
    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, c| a.wrapping_add(*c))
    }

    /// The rows bpftrace prints: every bucket from the first to the last
    /// non-empty one, counts divided by `div` (log2 histograms only, as in
    /// bpftrace). No rows when every bucket is empty.
    pub fn rows(&self, div: u64) -> Vec<Row> {
        let first = self.counts.iter().position(|&c| c > 0);
        let last = self.counts.iter().rposition(|&c| c > 0);
        let (Some(first), Some(last)) = (first, last) else {
            return Vec::new();
        };
        (first..=last)
            .map(|i| {
                let count = self.counts.get(i).copied().unwrap_or(0);
                let count = match self.scale {
                    Scale::Log2 { .. } => count / div.max(1),
                    Scale::Linear { .. } => count,
                };
                Row {
                    lower: if i == 0 { None } else { self.upper(i - 1) },
                    upper: self.upper(i),
                    count,
                }
            })
            .collect()
    }

    /// The exclusive upper bound of bucket `i` (`None` for the overflow).
    fn upper(&self, i: usize) -> Option<Bound> {
        let i = u32::try_from(i).ok()?;
        match self.scale {
            Scale::Log2 { bits } => Some(log2_upper(i, bits)),
            Scale::Linear { min, max, step } => {
                let v = i128::from(min) + i128::from(i) * i128::from(step);
                if v > i128::from(max) {
                    return None;
                }
                Some(linear_bound(i64::try_from(v).ok()?, step))
            }
        }
    }
}

/// The upper bound of log2 bucket `i`: `i - 1` is the single value of the
/// buckets up to `2^(bits+1)`; past them the bound is `2^p·(n + j)` for
/// power `p` and sub-bucket `j`, printed with a K/M/G/T/P/E suffix for
/// each factor of 1024.
fn log2_upper(i: u32, bits: u8) -> Bound {
    let n = 1u32 << bits;
    if i <= 2 * n {
        return Bound::Int(i64::from(i));
    }
    let sub = u64::from(i & (n - 1));
    let power = (i >> bits) - 1;
    let value = (1u128 << power) * u128::from(u64::from(n) + sub);
    let decade = (power / 10).min(6);
    let suffix = ["", "K", "M", "G", "T", "P", "E"][decade as usize];
    let shown = (1u128 << (power - 10 * decade)) * u128::from(u64::from(n) + sub);
    Bound::Scaled {
        text: format!("{shown}{suffix}"),
        value: i64::try_from(value).unwrap_or(i64::MAX),
    }
}

/// A linear bound: scaled to K or M only when the step is a multiple of
/// 1024 and the bound a multiple of the unit.
fn linear_bound(v: i64, step: i64) -> Bound {
    const KILO: i64 = 1024;
    const MEGA: i64 = 1024 * 1024;
    if step % KILO != 0 {
        return Bound::Int(v);
    }
    let text = if v == 0 {
        "0".to_string()
    } else if v % MEGA == 0 {
        format!("{}M", v / MEGA)
    } else if v % KILO == 0 {
        format!("{}K", v / KILO)
    } else {
        v.to_string()
    };
    Bound::Scaled { text, value: v }
}

/// Bar width of the text format.
const BAR_WIDTH: usize = 52;

/// Writes the rows in bpftrace's text layout: label left-justified in 16
/// columns, count right-justified in 8, then ` |`, the `@` bar scaled to
/// the largest count over 52 columns, and `|`.
pub fn write_rows(out: &mut String, rows: &[Row]) {
    let max = rows.iter().map(|r| r.count).max().unwrap_or(0);
    for r in rows {
        let bar = if max == 0 {
            0
        } else {
            // bpftrace computes this in single precision and truncates.
            ((r.count as f32 / max as f32) * BAR_WIDTH as f32) as usize
        };
        let _ = writeln!(
            out,
            "{:<16}{:>8} |{:<width$}|",
            r.label(),
            r.count,
            "@".repeat(bar.min(BAR_WIDTH)),
            width = BAR_WIDTH
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log2(counts: &[(usize, u64)], bits: u8) -> Histogram {
        let n = (65 - usize::from(bits)) * (1 << bits) + 1;
        let mut c = vec![0; n];
        for (i, v) in counts {
            c[*i] = *v;
        }
        Histogram {
            scale: Scale::Log2 { bits },
            counts: c,
        }
    }

    fn labels(h: &Histogram) -> Vec<String> {
        h.rows(1).iter().map(Row::label).collect()
    }

    #[test]
    fn log2_labels() {
        let h = log2(&[(0, 1), (12, 1)], 0);
        let l = labels(&h);
        assert_eq!(l[0], "(..., 0)");
        assert_eq!(l[1], "[0]");
        assert_eq!(l[2], "[1]");
        assert_eq!(l[3], "[2, 4)");
        assert_eq!(l[4], "[4, 8)");
        assert_eq!(l[11], "[512, 1K)");
        assert_eq!(l[12], "[1K, 2K)");
        let h = log2(&[(22, 1), (65, 1)], 0);
        let l = labels(&h);
        assert_eq!(l[0], "[1M, 2M)");
        assert_eq!(l.last().map(String::as_str), Some("[8E, 16E)"));
    }

    #[test]
    fn log2_sub_buckets() {
        // k = 1: values 0..3 each have a bucket, then [4, 6), [6, 8), [8, 12) ...
        let h = log2(&[(1, 1), (8, 1)], 1);
        assert_eq!(
            labels(&h),
            ["[0]", "[1]", "[2]", "[3]", "[4, 6)", "[6, 8)", "[8, 12)", "[12, 16)"]
        );
        // A histogram starting past the single-value buckets.
        let h = log2(&[(9, 2)], 1);
        assert_eq!(labels(&h), ["[16, 24)"]);
    }

    #[test]
    fn linear_labels() {
        let mut counts = vec![0; 12];
        counts[0] = 1;
        counts[1] = 1;
        counts[4] = 2;
        counts[11] = 1;
        let h = Histogram {
            scale: Scale::Linear {
                min: 0,
                max: 100,
                step: 10,
            },
            counts,
        };
        let l = labels(&h);
        assert_eq!(l[0], "(..., 0)");
        assert_eq!(l[1], "[0, 10)");
        assert_eq!(l[4], "[30, 40)");
        assert_eq!(l[10], "[90, 100)");
        assert_eq!(l[11], "[100, ...)");
        let h = Histogram {
            scale: Scale::Linear {
                min: 0,
                max: 3,
                step: 1,
            },
            counts: vec![0, 0, 1, 0, 0],
        };
        assert_eq!(labels(&h), ["[1]"]);
        let h = Histogram {
            scale: Scale::Linear {
                min: 0,
                max: 4096,
                step: 1024,
            },
            counts: vec![0, 1, 1, 0, 0, 0],
        };
        assert_eq!(labels(&h), ["[0, 1K)", "[1K, 2K)"]);
    }

    #[test]
    fn bars() {
        let h = log2(&[(1, 1), (3, 2), (4, 0)], 0);
        let mut s = String::new();
        write_rows(&mut s, &h.rows(1));
        assert_eq!(
            s,
            "[0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
             [1]                    0 |                                                    |\n\
             [2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        );
        assert!(log2(&[], 0).rows(1).is_empty());
    }
}
