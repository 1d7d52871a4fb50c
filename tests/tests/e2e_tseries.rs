//! `tseries()` against the real kernel: every aggregation's value in one
//! interval asserted exactly (chart, markers, bounds and the interval's
//! wall-clock start), a series over several intervals from an interval
//! probe in text and JSON (row count, header, footer, markers, rising
//! values, the spacing of the rows), keyed series printed least recently
//! updated first, and the `unstable_tseries` warning and error. Also
//! `comm(pid)` (the same issue's task function): another task's name in a
//! perf event program, the sentence where the kernel refuses the kfunc, and
//! `ppid(task)`/`pcomm(task)`.

use ferrotrace_tests::harness::{kernel_available, run, run_ok};
use regex_lite::Regex;

const ENABLE: &str = "config = { unstable_tseries = enable } ";

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The chart of one interval holding `v`, the bounds widened by one.
fn single(name: &str, v: i64) -> String {
    let pad = " ".repeat(19);
    format!(
        "{name}:\n{pad}{:<21}{:>32}\nhh:mm:ss.ns        |{}|\nTS |{}*{}| {v}\n{pad}v{}v\n{pad}{:<21}{:>32}\n\n",
        v - 1,
        v + 1,
        "_".repeat(51),
        " ".repeat(25),
        " ".repeat(25),
        "_".repeat(51),
        v - 1,
        v + 1,
    )
}

#[test]
fn every_aggregation_of_one_interval_is_exact() {
    if !kernel_available() {
        return;
    }
    // Intervals of 10^15 ns (about 11.6 days): both stores fall in one
    // interval, whose start is a whole second of wall-clock time.
    let script = format!(
        "{ENABLE}BEGIN {{ \
         @avg = tseries(5, 1000000s, 3, \"avg\"); @avg = tseries(7, 1000000s, 3, \"avg\"); \
         @last = tseries(5, 1000000s, 3); @last = tseries(7, 1000000s, 3); \
         @max = tseries(5, 1000000s, 3, \"max\"); @max = tseries(7, 1000000s, 3, \"max\"); \
         @min = tseries(5, 1000000s, 3, \"min\"); @min = tseries(-7, 1000000s, 3, \"min\"); \
         @sum = tseries(5, 1000000s, 3, \"sum\"); @sum = tseries(7, 1000000s, 3, \"sum\"); \
         exit(); }}"
    );
    let out = run_ok(&["-e", &script]);
    let ts = Regex::new(r"(?m)^(\d\d:\d\d:\d\d)\.000000000 ").unwrap_or_else(|e| panic!("{e}"));
    let stamps: Vec<String> = ts.captures_iter(&out).map(|c| c[1].to_string()).collect();
    assert_eq!(stamps.len(), 5, "{out}");
    assert!(stamps.iter().all(|s| *s == stamps[0]), "{out}");
    let normalized = ts.replace_all(&out, "TS ");
    let want = format!(
        "\n\n{}{}{}{}{}",
        single("@avg", 6),
        single("@last", 7),
        single("@max", 7),
        single("@min", -7),
        single("@sum", 12)
    );
    assert_eq!(normalized, want);
}

/// The values of a chart's rows, `None` for `-`, after checking each row's
/// shape: a time, a space, the 53-column plot with one `*`, the value.
fn chart_rows(chart: &[&str], time: &Regex) -> Vec<(String, Option<i64>)> {
    chart
        .iter()
        .map(|row| {
            let m = time
                .find(row)
                .unwrap_or_else(|| panic!("row without a time: {row:?}"));
            let rest = &row[m.end()..];
            let plot = &rest[..53];
            let value = rest[53..].trim();
            if value == "-" {
                assert_eq!(plot, format!("|{}|", " ".repeat(51)), "{row:?}");
                (m.as_str().to_string(), None)
            } else {
                assert_eq!(plot.matches('*').count(), 1, "{row:?}");
                let v = value
                    .parse()
                    .unwrap_or_else(|e| panic!("value of {row:?}: {e}"));
                (m.as_str().to_string(), Some(v))
            }
        })
        .collect()
}

/// Milliseconds since midnight of `hh:mm:ss.mmm `.
fn millis(t: &str) -> i64 {
    let p: Vec<i64> = t
        .trim()
        .split([':', '.'])
        .map(|x| x.parse().unwrap_or_else(|e| panic!("{t:?}: {e}")))
        .collect();
    ((p[0] * 60 + p[1]) * 60 + p[2]) * 1000 + p[3]
}

const SERIES: &str = "interval:ms:100 { @n = @n + 1; @ = tseries(@n, 200ms, 5, \"max\"); \
                      if (@n == 16) { exit(); } }";

#[test]
fn a_series_of_intervals_prints_the_last_num_intervals() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&["-e", &format!("{ENABLE}{SERIES}")]);
    let lines: Vec<&str> = out.lines().collect();
    // Two blank lines, the name, two header lines, 5 rows, two footer
    // lines, a blank line and `@n`.
    assert_eq!(lines.len(), 14, "{out}");
    assert_eq!(lines[..3], ["", "", "@:"], "{out}");
    let pad = " ".repeat(13);
    assert_eq!(
        lines[4],
        format!("hh:mm:ss.ms  |{}|", "_".repeat(51)),
        "{out}"
    );
    assert_eq!(lines[10], format!("{pad}v{}v", "_".repeat(51)), "{out}");
    assert_eq!(lines[11], lines[3], "the footer repeats the bounds\n{out}");
    assert_eq!(lines[12..], ["", "@n: 16"], "{out}");
    let time = Regex::new(r"^\d\d:\d\d:\d\d\.\d\d\d ").unwrap_or_else(|e| panic!("{e}"));
    let rows = chart_rows(&lines[5..10], &time);
    // Two ticks per interval: no interval of the window is empty, the
    // values (the larger tick of each interval) rise, the last is 16.
    let values: Vec<i64> = rows
        .iter()
        .map(|(_, v)| v.unwrap_or_else(|| panic!("empty interval\n{out}")))
        .collect();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{out}");
    assert_eq!(values.last(), Some(&16), "{out}");
    let (lo, hi) = (values[0], 16);
    assert_eq!(lines[3], format!("{pad}{lo:<21}{hi:>32}"), "{out}");
    // The smallest value sits on the left border, the largest on the right.
    assert!(
        lines[5].ends_with(&format!(" *{}| {lo}", " ".repeat(51))),
        "{out}"
    );
    assert!(
        lines[9].ends_with(&format!("|{}* 16", " ".repeat(51))),
        "{out}"
    );
    // Rows are 200 ms apart and start on a multiple of 200 ms.
    let starts: Vec<i64> = rows.iter().map(|(t, _)| millis(t)).collect();
    assert!(
        starts
            .windows(2)
            .all(|w| (w[1] - w[0]).rem_euclid(86_400_000) == 200),
        "{out}"
    );
    assert!(starts.iter().all(|s| s % 200 == 0), "{out}");
}

#[test]
fn a_series_in_json() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&["-f", "json", "-e", &format!("{ENABLE}{SERIES}")]);
    let record = out
        .lines()
        .find(|l| l.contains("\"tseries\""))
        .unwrap_or_else(|| panic!("no tseries record\n{out}"));
    let v: serde_json::Value =
        serde_json::from_str(record).unwrap_or_else(|e| panic!("{e}: {record}"));
    assert_eq!(v["type"], "tseries", "{record}");
    let points = v["data"]["@"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {record}"));
    assert_eq!(points.len(), 5, "{record}");
    let iso = Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d00000000$")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut last = 0;
    for p in points {
        let obj = p.as_object().unwrap_or_else(|| panic!("{record}"));
        assert_eq!(obj.len(), 2, "{record}");
        let start = p["interval_start"].as_str().unwrap_or_default();
        assert!(iso.is_match(start), "{start:?} in {record}");
        let value = p["value"].as_i64().unwrap_or_else(|| panic!("{record}"));
        assert!(value > last, "{record}");
        last = value;
    }
    assert_eq!(last, 16, "{record}");
}

#[test]
fn keys_print_least_recently_updated_first() {
    if !kernel_available() {
        return;
    }
    // "b" is updated before "a": it prints first although "a" < "b", and
    // its rows run on to the map's latest interval with `-`.
    let script = format!(
        "{ENABLE}interval:ms:100 {{ @n = @n + 1; \
         if (@n == 2) {{ @[\"b\"] = tseries(1, 100ms, 10); }} \
         if (@n == 5) {{ @[\"a\"] = tseries(2, 100ms, 10); exit(); }} }}"
    );
    let out = run_ok(&["-e", &script]);
    let b = out.find("@[b]:").unwrap_or_else(|| panic!("{out}"));
    let a = out.find("@[a]:").unwrap_or_else(|| panic!("{out}"));
    assert!(b < a, "{out}");
    let time = Regex::new(r"^\d\d:\d\d:\d\d\.\d\d\d ").unwrap_or_else(|e| panic!("{e}"));
    let b_rows: Vec<&str> = out[b..a].lines().filter(|l| time.is_match(l)).collect();
    // A single row has no spacing to measure: its time is in nanoseconds.
    let ns = Regex::new(r"^\d\d:\d\d:\d\d\.\d{9} ").unwrap_or_else(|e| panic!("{e}"));
    let a_rows: Vec<&str> = out[a..].lines().filter(|l| ns.is_match(l)).collect();
    assert_eq!(a_rows.len(), 1, "{out}");
    assert!(a_rows[0].ends_with(" 2"), "{out}");
    let b_values = chart_rows(&b_rows, &time);
    assert!(b_values.len() >= 2, "{out}");
    assert_eq!(b_values[0].1, Some(1), "{out}");
    assert_eq!(b_values.last().map(|r| r.1), Some(None), "{out}");
    // Both keys end on the same, latest interval.
    assert_eq!(
        b_values.last().map(|r| r.0[..12].to_string()),
        a_rows.first().map(|r| r[..12].to_string()),
        "{out}"
    );
}

#[test]
fn unstable_by_default_and_refused_on_error() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-e", "BEGIN { @ = tseries(3, 1000000s, 2); exit(); }"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("Script is using an unstable feature: tseries. To prevent this warning you must explicitly enable it in the config e.g. unstable_tseries=enable"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("| 3\n"));
    let o = run(&[
        "-e",
        "config = { unstable_tseries = error } BEGIN { @ = tseries(3, 1s, 2); exit(); }",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("tseries feature is not enabled by default."),
        "{}",
        stderr(&o)
    );
}

/// `comm(pid)` in a perf event program (interval): the name of a `sleep`
/// started here, of `kthreadd` (pid 2), and `""` for a pid no task has.
#[test]
fn comm_of_pid_names_another_task() {
    if !kernel_available() {
        return;
    }
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run sleep: {e}"));
    let script = format!(
        "interval:ms:10 {{ printf(\"[%s] [%s] [%s]\\n\", comm({}), comm(2), comm(2147483647)); exit(); }}",
        sleeper.id()
    );
    let out = run_ok(&["-e", &script]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert_eq!(out, "[sleep] [kthreadd] []\n\n\n");
}

/// Linux lets only some program types call kernel functions: in a BEGIN
/// (raw tracepoint) program `comm(pid)` is refused with a sentence.
#[test]
fn comm_of_pid_where_the_kernel_refuses_it() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-e", "BEGIN { printf(\"%s\\n\", comm(2)); exit(); }"]);
    let err = stderr(&o);
    if o.status.code() == Some(0) {
        // A kernel that allows kfuncs in raw tracepoints prints the name.
        assert_eq!(String::from_utf8_lossy(&o.stdout), "kthreadd\n\n\n");
        return;
    }
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "does not let programs of this probe kind call the kernel function bpf_task_from_pid, which comm(pid) needs"
        ),
        "{err}"
    );
}

/// `ppid(task)`/`pcomm(task)` in BEGIN, which runs in ferrotrace itself:
/// the parent of `curtask` is this test process, and the parent of
/// `curtask->real_parent` is this test process's parent; the task argument
/// agrees with the plain builtins.
#[test]
fn ppid_and_pcomm_of_a_task() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&[
        "-e",
        "BEGIN { printf(\"%d %d %d %d\\n\", ppid(curtask), ppid(curtask->real_parent), \
         ppid((struct task_struct *)curtask) == ppid, pcomm(curtask) == pcomm); exit(); }",
    ]);
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    assert_eq!(out, format!("{} {parent} 1 1\n\n\n", std::process::id()));
}
