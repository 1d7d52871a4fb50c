//! The print order of a map's entries, computed fast. bpftrace sorts a map
//! by value (ties by key) when every datum is numeric, otherwise by key;
//! `cmp_values` defines that order on generic `Value`s. Here each entry's
//! sort value and key are reduced once, before sorting, to a 128-bit integer
//! whenever they are numbers, so sorting a 100,000-key map compares machine
//! integers and falls back to `cmp_values` only for strings, tuples, stacks
//! and symbols. The order is exactly the one `cmp_values` gives.

use std::cmp::Ordering;

use super::decode::{MapDatum, MapSnapshot};
use super::value::{cmp_value_lists, cmp_values, Value};

/// One entry while sorting: the key and datum it stands for, and its sort
/// value and key reduced to integers when they are numeric.
struct Entry<'m> {
    key: &'m [Value],
    datum: &'m MapDatum,
    /// The sort value for maps sorted by value (`None` for maps sorted by
    /// key); never built when `fast_value` holds it.
    value: Option<Value>,
    fast_value: Option<i128>,
    fast_key: Option<i128>,
}

/// A key made of one number compares as that number (`cmp_value_lists` of
/// two one-element lists is `cmp_values` of the elements).
fn numeric_key(key: &[Value]) -> Option<i128> {
    match key {
        [single] => single.as_i128(),
        _ => None,
    }
}

/// The sort value of a datum as an integer, without building a `Value`
/// for the common integer cases.
fn numeric_datum(d: &MapDatum) -> Option<i128> {
    match d {
        MapDatum::Count(c) => Some(i128::from(*c)),
        MapDatum::MinMax(v) => Some(i128::from(v.as_bits())),
        MapDatum::Value(v) | MapDatum::Sum(v) | MapDatum::Avg(v) => v.as_i128(),
        MapDatum::Stats { average, .. } => average.as_i128(),
        MapDatum::Hist(h) => Some(i128::from(h.total())),
        MapDatum::Tseries(t) => Some(i128::from(t.latest())),
    }
}

fn cmp_entries(a: &Entry<'_>, b: &Entry<'_>) -> Ordering {
    let by_value = match (a.fast_value, b.fast_value) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let slow = |e: &Entry<'_>| {
                e.value
                    .clone()
                    .or_else(|| e.fast_value.map(|_| e.datum.sort_value()))
            };
            match (slow(a), slow(b)) {
                (Some(x), Some(y)) => cmp_values(&x, &y),
                _ => Ordering::Equal,
            }
        }
    };
    by_value.then_with(|| match (a.fast_key, b.fast_key) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => cmp_value_lists(a.key, b.key),
    })
}

/// Returns the map's entries in print order: by value ascending when every
/// datum sorts by value (ties broken by key), otherwise by key.
pub fn sorted_entries(map: &MapSnapshot) -> Vec<(&[Value], &MapDatum)> {
    let by_value = map.entries.iter().all(|(_, d)| d.sorts_by_value());
    if let Some(order) = integer_order(map, by_value) {
        return order;
    }
    let mut entries: Vec<Entry<'_>> = map
        .entries
        .iter()
        .map(|(k, d)| {
            let fast_value = if by_value { numeric_datum(d) } else { None };
            Entry {
                key: k.as_slice(),
                datum: d,
                value: (by_value && fast_value.is_none()).then(|| d.sort_value()),
                fast_value,
                fast_key: numeric_key(k),
            }
        })
        .collect();
    entries.sort_by(cmp_entries);
    entries.into_iter().map(|e| (e.key, e.datum)).collect()
}

/// The common case, every key one number and (for maps sorted by value)
/// every sort value a number: sorts plain integer triples. A map's keys are
/// distinct, so the unstable sort gives the same order as a stable one.
/// `None` when some key or value is not a number.
fn integer_order(map: &MapSnapshot, by_value: bool) -> Option<Vec<(&[Value], &MapDatum)>> {
    let mut keys = Vec::with_capacity(map.entries.len());
    for (i, (k, d)) in map.entries.iter().enumerate() {
        let value = if by_value { numeric_datum(d)? } else { 0 };
        keys.push((value, numeric_key(k)?, i));
    }
    keys.sort_unstable();
    keys.into_iter()
        .map(|(_, _, i)| map.entries.get(i).map(|(k, d)| (k.as_slice(), d)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order of the old implementation: `cmp_values` on the sort
    /// values, then `cmp_value_lists` on the keys, stable.
    fn reference(map: &MapSnapshot) -> Vec<(&[Value], &MapDatum)> {
        let by_value = map.entries.iter().all(|(_, d)| d.sorts_by_value());
        let mut e: Vec<(&[Value], &MapDatum)> =
            map.entries.iter().map(|(k, d)| (k.as_slice(), d)).collect();
        e.sort_by(|(ka, da), (kb, db)| {
            let v = if by_value {
                cmp_values(&da.sort_value(), &db.sort_value())
            } else {
                Ordering::Equal
            };
            v.then_with(|| cmp_value_lists(ka, kb))
        });
        e
    }

    fn check(entries: Vec<(Vec<Value>, MapDatum)>) {
        let map = MapSnapshot {
            name: "@m".into(),
            entries,
        };
        assert_eq!(sorted_entries(&map), reference(&map));
    }

    /// A small deterministic generator, so the test needs no crate.
    fn next(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn same_order_as_cmp_values() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        let mut ints = Vec::new();
        let mut mixed = Vec::new();
        let mut strs = Vec::new();
        let mut minmax = Vec::new();
        for i in 0..500u64 {
            let r = next(&mut seed);
            let small = (r % 7) as i64 - 3;
            ints.push((
                vec![Value::Int(small * 1000 + i as i64)],
                MapDatum::Count(r % 5),
            ));
            mixed.push((
                vec![Value::Int(small), Value::Str(format!("s{}", r % 11))],
                MapDatum::Value(Value::Int(small)),
            ));
            strs.push((
                vec![Value::Str(format!("k{i}"))],
                MapDatum::Value(Value::Str(format!("v{}", r % 13))),
            ));
            minmax.push((vec![Value::UInt(i)], MapDatum::MinMax(Value::Int(small))));
        }
        check(ints);
        check(mixed);
        check(strs);
        check(minmax);
    }
}
