//! `--test` and `--bench`: run the script's `test:` probes once each (a
//! test fails when it returns a non-zero value (`return 1;`), calls
//! `exit()` with a non-zero code or cannot run;
//! its output is shown only when it fails) or its `bench:` probes many
//! times each, with BPF_PROG_TEST_RUN, and report the results in bpftrace
//! 0.26's text layout or as `test_result` / `benchmark_result` JSON
//! records. Nothing is attached and no other probe runs.

use std::time::{Duration, Instant};

use ferrotrace_compiler::manifest::AttachSpec;

use crate::bpf::{BpfError, LoadedObject};
use crate::cli::Cli;
use crate::output::json::{record, Json};
use crate::output::{Captured, Format, Printer};
use crate::session::EventSink;
use crate::symbolize::StackResolver;

/// How long each benchmark runs, about.
const BENCH_TIME: Duration = Duration::from_millis(200);
/// Runs of one benchmark at most.
const BENCH_MAX_ITERS: u64 = 1_000_000;

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// Runs the tests (or benchmarks) and returns the exit code: 1 when a test
/// failed.
pub fn run(object: &LoadedObject, cli: &Cli, mut out: Printer<'static>) -> Result<i32, BpfError> {
    let wanted: Vec<(usize, String)> = object
        .manifest()
        .programs
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match &p.attach {
            AttachSpec::Test { name, bench } if *bench == cli.bench => Some((i, name.clone())),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        let (flag, kind) = if cli.bench {
            ("--bench", "bench")
        } else {
            ("--test", "test")
        };
        return Err(BpfError::Object(format!(
            "{flag} found no `{kind}:` probes in the script; add one, such as `{kind}:NAME {{ ... }}`."
        )));
    }
    let names: Vec<String> = wanted.iter().map(|(_, n)| n.clone()).collect();
    let json = out.is_json();
    let mut passed = Vec::new();
    for (at, (index, _)) in wanted.iter().enumerate() {
        if cli.bench {
            let (average, iters) = bench(object, *index)?;
            out.raw(&if json {
                bench_json(&names[at], average, iters)
            } else {
                bench_text(&names, at, average, iters)
            });
        } else {
            let (ok, duration, output) = test(object, *index)?;
            passed.push(ok);
            out.raw(&if json {
                test_json(&names[at], duration, ok, &output)
            } else {
                test_text(&names, at, duration, &passed, &output)
            });
        }
        out.flush();
    }
    Ok(i32::from(passed.contains(&false)))
}

/// Runs test program `index` once; returns whether it passed, how long it
/// took and the text it printed.
fn test(object: &LoadedObject, index: usize) -> Result<(bool, Duration, String), BpfError> {
    let captured = Captured::default();
    let printer = Printer::new(
        Format::Text,
        Box::new(captured.clone()),
        Box::new(captured.clone()),
    );
    let stacks = StackResolver::new(object.stack_maps()?);
    let mut sink = EventSink::new(object.manifest(), printer, stacks);
    let mut events = object.event_reader()?;
    let start = Instant::now();
    let ran = object.run_once(index);
    events.poll(Duration::ZERO, &mut |r| sink.record(r, object))?;
    let duration = start.elapsed();
    sink.flush();
    let exit_code = sink.exit.unwrap_or(0);
    drop(sink);
    let mut output = captured.text();
    if let Err(e) = &ran {
        output.push_str(&format!("ERROR: {e}\n"));
    }
    Ok((
        ran.is_ok_and(|code| code == 0) && exit_code == 0,
        duration,
        output,
    ))
}

/// Runs bench program `index` repeatedly for about `BENCH_TIME`; returns the
/// average time per run and the number of runs.
fn bench(object: &LoadedObject, index: usize) -> Result<(Duration, u64), BpfError> {
    let stacks = StackResolver::new(object.stack_maps()?);
    let printer = Printer::new(
        Format::Text,
        Box::new(std::io::sink()),
        Box::new(std::io::sink()),
    );
    let mut sink = EventSink::new(object.manifest(), printer, stacks);
    let mut events = object.event_reader()?;
    let mut iters = 0u64;
    let mut spent = Duration::ZERO;
    let mut batch = 1u64;
    while spent < BENCH_TIME && iters < BENCH_MAX_ITERS {
        let start = Instant::now();
        for _ in 0..batch {
            object.run_once(index)?;
        }
        spent += start.elapsed();
        iters += batch;
        // What the benchmark printed is read and dropped, so the ring
        // buffer never fills.
        events.poll(Duration::ZERO, &mut |r| sink.record(r, object))?;
        batch = (batch * 2)
            .min(BENCH_MAX_ITERS - iters.min(BENCH_MAX_ITERS))
            .max(1);
    }
    let average = spent / u32::try_from(iters.max(1)).unwrap_or(u32::MAX);
    Ok((average, iters))
}

/// A duration as bpftrace shows it: a whole number of the largest unit
/// (s, ms, us, ns) it has at least one of.
fn human(d: Duration) -> String {
    let ns = d.as_nanos();
    let (scale, unit) = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")]
        .into_iter()
        .find(|(scale, _)| ns >= *scale)
        .unwrap_or((1, "ns"));
    format!("{} {unit}", ns / scale)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "test"
    } else {
        "tests"
    }
}

/// bpftrace's text report of test `at` of `names`: a header before the
/// first, `RUN` and `OK`/`FAILED` lines (a failed test's output between
/// them), and a summary after the last.
fn test_text(
    names: &[String],
    at: usize,
    duration: Duration,
    passed: &[bool],
    output: &str,
) -> String {
    let mut s = String::new();
    let name = &names[at];
    if at == 0 {
        s.push_str(&format!(
            "{GREEN}[==========]{RESET} Running {} tests.\n",
            names.len()
        ));
    }
    s.push_str(&format!("{GREEN}[ RUN      ]{RESET} {name}\n"));
    if passed.get(at).copied().unwrap_or(false) {
        s.push_str(&format!("{GREEN}[       OK ]{RESET} {name}"));
    } else {
        for line in output.lines().filter(|l| !l.is_empty()) {
            s.push_str(line);
            s.push('\n');
        }
        s.push_str(&format!("{RED}[  FAILED  ]{RESET} {name}"));
    }
    s.push_str(&format!(" ({})\n", human(duration)));
    if at + 1 == names.len() {
        let failed = passed.iter().filter(|p| !**p).count();
        let ok = passed.len() - failed;
        s.push_str(&format!(
            "{GREEN}[==========]{RESET} {} {} ran.\n",
            names.len(),
            plural(names.len())
        ));
        s.push_str(&format!(
            "{GREEN}[  PASSED  ]{RESET} {ok} {}.\n",
            plural(ok)
        ));
        if failed > 0 {
            s.push_str(&format!(
                "{RED}[  FAILED  ]{RESET} {failed} {}, listed below:\n",
                plural(failed)
            ));
            for (n, p) in names.iter().zip(passed) {
                if !p {
                    s.push_str(&format!("{RED}[  FAILED  ]{RESET} {n}\n"));
                }
            }
        }
    }
    s
}

/// `{"type": "test_result", "data": {"NAME": {"duration": NS, "passed": B, "output": "..."}}}`.
fn test_json(name: &str, duration: Duration, passed: bool, output: &str) -> String {
    named_record(
        "test_result",
        name,
        vec![
            ("duration", nanos(duration)),
            ("passed", Json::Bool(passed)),
            ("output", Json::Str(output.to_string())),
        ],
    )
}

/// A JSON record whose data is one object named `name`.
fn named_record(kind: &str, name: &str, fields: Vec<(&str, Json)>) -> String {
    let fields = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    record(
        kind,
        Json::Object(vec![(name.to_string(), Json::Object(fields))]),
    )
}

fn nanos(d: Duration) -> Json {
    Json::UInt(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// bpftrace's benchmark table: a header and rule before the first row,
/// then one row per benchmark (name, average ns, iterations).
fn bench_text(names: &[String], at: usize, average: Duration, iters: u64) -> String {
    const TIME_WIDTH: usize = 15;
    let width = names.iter().map(String::len).fold(40, usize::max) + 1;
    let mut s = String::new();
    if at == 0 {
        s.push_str(&format!(
            "{:<width$}{:<TIME_WIDTH$}Iterations\n",
            "Benchmark", "Time(ns)"
        ));
        s.push_str(&"-".repeat(width + TIME_WIDTH + "Iterations".len()));
        s.push('\n');
    }
    s.push_str(&format!(
        "{:<width$}{:<TIME_WIDTH$}{iters}\n",
        names[at],
        average.as_nanos()
    ));
    s
}

/// `{"type": "benchmark_result", "data": {"NAME": {"average": NS, "iters": N}}}`.
fn bench_json(name: &str, average: Duration, iters: u64) -> String {
    named_record(
        "benchmark_result",
        name,
        vec![("average", nanos(average)), ("iters", Json::UInt(iters))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_largest_whole_unit() {
        assert_eq!(human(Duration::from_nanos(999)), "999 ns");
        assert_eq!(human(Duration::from_micros(56)), "56 us");
        assert_eq!(human(Duration::from_millis(1500)), "1 s");
    }

    #[test]
    fn test_report_lists_failures_with_their_output() {
        let names = vec!["a".to_string(), "b".to_string()];
        let d = Duration::from_micros(3);
        let first = test_text(&names, 0, d, &[true], "hidden\n");
        assert_eq!(
            first,
            format!(
                "{GREEN}[==========]{RESET} Running 2 tests.\n\
                 {GREEN}[ RUN      ]{RESET} a\n{GREEN}[       OK ]{RESET} a (3 us)\n"
            )
        );
        let last = test_text(&names, 1, d, &[true, false], "why\n\n");
        assert_eq!(
            last,
            format!(
                "{GREEN}[ RUN      ]{RESET} b\nwhy\n{RED}[  FAILED  ]{RESET} b (3 us)\n\
                 {GREEN}[==========]{RESET} 2 tests ran.\n\
                 {GREEN}[  PASSED  ]{RESET} 1 test.\n\
                 {RED}[  FAILED  ]{RESET} 1 test, listed below:\n\
                 {RED}[  FAILED  ]{RESET} b\n"
            )
        );
    }

    #[test]
    fn bench_table_widens_for_long_names() {
        let long = "x".repeat(45);
        let names = vec![long.clone()];
        let text = bench_text(&names, 0, Duration::from_nanos(120), 1000);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("{:<46}{:<15}Iterations", "Benchmark", "Time(ns)")
        );
        assert_eq!(lines[1].len(), 46 + 15 + 10);
        assert_eq!(lines[2], format!("{long} {:<15}1000", 120));
    }

    #[test]
    fn json_records_name_the_test() {
        assert_eq!(
            bench_json("b", Duration::from_nanos(7), 9),
            "{\"type\": \"benchmark_result\", \"data\": {\"b\": {\"average\": 7, \"iters\": 9}}}\n"
        );
        assert_eq!(
            test_json("t", Duration::from_nanos(5), false, "x\n"),
            "{\"type\": \"test_result\", \"data\": {\"t\": {\"duration\": 5, \"passed\": false, \"output\": \"x\\n\"}}}\n"
        );
    }
}
