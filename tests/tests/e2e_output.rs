//! End-to-end tests of aggregations, map functions and output formats
//! against the real kernel: each runs the ferrotrace binary on a script
//! whose values are fixed (BEGIN blocks, or syscalls the test makes) and
//! asserts the exact output, in text and in JSON.

use ferrotrace_tests::harness::{kernel_available, run};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a quiet session of `script` with extra arguments; checks it
/// succeeded and returns stdout.
fn quiet(extra: &[&str], script: &str) -> String {
    let mut args = vec!["-q"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-e", script]);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    stdout(&o)
}

const HIST_SCRIPT: &str = "BEGIN { @h = hist(-3); @h = hist(0); @h = hist(1); @h = hist(2); \
     @h = hist(3); @h = hist(600); @l = lhist(-5, 0, 100, 10); @l = lhist(35, 0, 100, 10); \
     @l = lhist(33, 0, 100, 10); @l = lhist(250, 0, 100, 10); exit(); }";

#[test]
fn hist_and_lhist_text() {
    if !kernel_available() {
        return;
    }
    let bar = |n: usize| format!("|{:<52}|", "@".repeat(n));
    let mut want = String::from("\n\n@h:\n");
    for (label, count, width) in [
        ("(..., 0)", 1, 26),
        ("[0]", 1, 26),
        ("[1]", 1, 26),
        ("[2, 4)", 2, 52),
        ("[4, 8)", 0, 0),
        ("[8, 16)", 0, 0),
        ("[16, 32)", 0, 0),
        ("[32, 64)", 0, 0),
        ("[64, 128)", 0, 0),
        ("[128, 256)", 0, 0),
        ("[256, 512)", 0, 0),
        ("[512, 1K)", 1, 26),
    ] {
        want.push_str(&format!("{label:<16}{count:>8} {}\n", bar(width)));
    }
    want.push_str("\n@l:\n");
    for (label, count, width) in [
        ("(..., 0)", 1, 26),
        ("[0, 10)", 0, 0),
        ("[10, 20)", 0, 0),
        ("[20, 30)", 0, 0),
        ("[30, 40)", 2, 52),
        ("[40, 50)", 0, 0),
        ("[50, 60)", 0, 0),
        ("[60, 70)", 0, 0),
        ("[70, 80)", 0, 0),
        ("[80, 90)", 0, 0),
        ("[90, 100)", 0, 0),
        ("[100, ...)", 1, 26),
    ] {
        want.push_str(&format!("{label:<16}{count:>8} {}\n", bar(width)));
    }
    want.push('\n');
    assert_eq!(quiet(&[], HIST_SCRIPT), want);
}

#[test]
fn hist_sub_buckets_and_keys() {
    if !kernel_available() {
        return;
    }
    let out = quiet(
        &[],
        "BEGIN { @[\"b\"] = hist(5, 1); @[\"b\"] = hist(7, 1); @[\"a\"] = hist(12, 1); exit(); }",
    );
    let bar52 = format!("|{}|", "@".repeat(52));
    assert_eq!(
        out,
        format!(
            "\n\n@[a]:\n{:<16}{:>8} {bar52}\n\n@[b]:\n{:<16}{:>8} {bar52}\n{:<16}{:>8} {bar52}\n\n",
            "[12, 16)", 1, "[4, 6)", 1, "[6, 8)", 1
        )
    );
}

#[test]
fn avg_min_max_stats_text() {
    if !kernel_available() {
        return;
    }
    let out = quiet(
        &[],
        "BEGIN { @avg = avg(10); @avg = avg(3); @min = min(-2); @min = min(5); \
         @max = max(70); @max = max(3); @st[1] = stats(10); @st[1] = stats(20); \
         @st[2] = stats(7); @neg = avg(-7); @neg = avg(2); exit(); }",
    );
    assert_eq!(
        out,
        "\n\n@avg: 6\n@max: 70\n@min: -2\n@neg: -2\n\
         @st[2]: { .count = 1, .average = 7, .total = 7 }\n\
         @st[1]: { .count = 2, .average = 15, .total = 30 }\n"
    );
}

#[test]
fn aggregations_read_as_values() {
    if !kernel_available() {
        return;
    }
    let out = quiet(
        &[],
        "BEGIN { @c = count(); @c = count(); @s = sum(-5); @a = avg(9); @a = avg(4); \
         @lo = min(3); @lo = min(-8); @hi = max(3); @hi = max(11); \
         if (@c > 1) { printf(\"%d %d %d %d %d\\n\", @c, @s, @a, @lo, @hi); } \
         clear(@c); clear(@s); clear(@a); clear(@lo); clear(@hi); exit(); }",
    );
    assert_eq!(out, "2 -5 6 -8 11\n\n\n");
}

#[test]
fn map_functions_in_event_order() {
    if !kernel_available() {
        return;
    }
    // print/clear/zero run in user space in event order, like bpftrace's
    // asynchronous actions; delete and has_key act at once.
    let out = quiet(
        &[],
        "BEGIN { @x[1] = 3; @x[2] = 5; @x[3] = 4; print(@x); print(@x, 1); print(@x, 0, 2); \
         print(42); print(\"text\"); printf(\"%d %d\\n\", has_key(@x, 2), has_key(@x, 9)); \
         printf(\"%d %d\\n\", delete(@x, 2), delete(@x, 2)); @n[\"k\"] = count(); zero(@n); \
         print(@n); exit(); }",
    );
    assert_eq!(
        out,
        "@x[1]: 3\n@x[3]: 4\n@x[3]: 4\n@x[1]: 1\n@x[3]: 2\n42\ntext\n1 0\n1 0\n@n[k]: 0\n\n\n@n[k]: 0\n@x[1]: 3\n@x[3]: 4\n"
    );
}

#[test]
fn old_delete_spelling_warns() {
    if !kernel_available() {
        return;
    }
    let o = run(&["-q", "-e", "BEGIN { @x[1] = 1; delete(@x[1]); exit(); }"]);
    assert_eq!(stdout(&o), "\n\n");
    let err = stderr(&o);
    assert!(
        err.contains("`delete(@map[key])` is the old spelling") && err.contains("delete(@x, 1)"),
        "{err}"
    );
}

#[test]
fn json_records() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "-f",
        "json",
        "-e",
        "BEGIN { printf(\"hi %d\\n\", 5); print(123); @x = 1; @cnt[\"a\"] = count(); \
         @cnt[\"b\"] = count(); @cnt[\"b\"] = count(); @avg = avg(10); @avg = avg(3); \
         @st[2] = stats(7); @h = hist(0); @h = hist(3); @h = hist(-1); print(@x); exit(); }",
    ]);
    assert_eq!(stderr(&o), "");
    assert_eq!(
        stdout(&o),
        "{\"type\": \"attached_probes\", \"count\": 1, \"data\": {\"probes\": 1}}\n\
         {\"type\": \"printf\", \"data\": \"hi 5\\n\"}\n\
         {\"type\": \"value\", \"data\": 123}\n\
         {\"type\": \"map\", \"data\": {\"@x\": 1}}\n\
         {\"type\": \"stats\", \"data\": {\"@avg\": 6}}\n\
         {\"type\": \"map\", \"data\": {\"@cnt\": {\"a\": 1, \"b\": 2}}}\n\
         {\"type\": \"hist\", \"data\": {\"@h\": [{\"max\": -1, \"count\": 1},{\"min\": 0, \"max\": 0, \"count\": 1},{\"min\": 1, \"max\": 1, \"count\": 0},{\"min\": 2, \"max\": 3, \"count\": 1}]}}\n\
         {\"type\": \"stats\", \"data\": {\"@st\": {\"2\": {\"count\": 1, \"average\": 7, \"total\": 7}}}}\n\
         {\"type\": \"map\", \"data\": {\"@x\": 1}}\n"
    );
}

#[test]
fn output_file_takes_program_output() {
    if !kernel_available() {
        return;
    }
    let path = format!("/tmp/ferrotrace-e2e-output-{}", std::process::id());
    let o = run(&[
        "-o",
        &path,
        "-e",
        "BEGIN { printf(\"to file\\n\"); @c = count(); exit(); }",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
    assert_eq!(stderr(&o), "Attached 1 probe\n");
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    assert_eq!(written, "to file\n\n\n@c: 1\n");
}

#[test]
fn lost_events_are_counted() {
    if !kernel_available() {
        return;
    }
    // BEGIN sends 300 records of 8 + 4 * 1024 bytes before user space
    // reads any: with its 8-byte header each takes 4112 bytes, so the 1 MiB
    // ring buffer holds 255 of them and 45 are lost. The exit comes later,
    // from a timer.
    let mut script = String::from("BEGIN {");
    for _ in 0..300 {
        script.push_str(r#" printf(".%s%s%s%s", str(0), str(0), str(0), str(0));"#);
    }
    script.push_str(" } interval:ms:200 { exit(); }");
    let path = format!("/tmp/ferrotrace-e2e-lost-{}.bt", std::process::id());
    assert!(std::fs::write(&path, &script).is_ok());
    let o = run(&[&path]);
    let json = run(&["-q", "-f", "json", &path]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stderr(&o),
        "Attached 2 probes\nLost 45 events\nWARNING: Total lost event count: 45\n"
    );
    assert_eq!(stdout(&o), format!("{}\n\n", ".".repeat(255)));
    let out = stdout(&json);
    let lost: Vec<&str> = out.lines().filter(|l| l.contains("lost_events")).collect();
    assert_eq!(
        lost,
        ["{\"type\": \"lost_events\", \"count\": 45, \"data\": {\"events\": 45}}"]
    );
}

/// Reading and printing a 100,000-key per-CPU map goes through batched
/// lookups and takes well under a second; the time per key is printed.
#[test]
fn big_map_prints_fast() {
    use ferrotrace_compiler::manifest::{
        Field, MapKind, MapRole, MapSpec, MapValueSpec, ValueKind,
    };
    use ferrotrace_runtime::bpf::{load::create_map, maps};
    use ferrotrace_runtime::output::{decode_map, print_map};
    use std::os::fd::{AsFd, AsRawFd};

    if !kernel_available() {
        return;
    }
    const KEYS: u32 = 100_000;
    let fd = match create_map("e2e_big", MapKind::PercpuHash.bpf_type(), 8, 8, KEYS) {
        Ok(fd) => fd,
        Err(e) => panic!("cannot create the map: {e}"),
    };
    let cpus = maps::possible_cpus().unwrap_or(1);
    for k in 0..u64::from(KEYS) {
        let value: Vec<u64> = (0..cpus as u64).map(|c| k + c).collect();
        // BPF_MAP_UPDATE_ELEM: map_fd, key pointer, value pointer, flags.
        let mut attr = [0u64; 4];
        attr[0] = fd.as_raw_fd() as u64;
        attr[1] = &k as *const u64 as u64;
        attr[2] = value.as_ptr() as u64;
        // SAFETY: attr is a bpf_attr prefix whose pointers outlive the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                2,
                attr.as_mut_ptr(),
                std::mem::size_of_val(&attr),
            )
        };
        assert_eq!(r, 0, "map update failed");
    }
    let spec = MapSpec {
        elf_name: "e2e_big".into(),
        kind: MapKind::PercpuHash,
        key_size: 8,
        value_size: 8,
        max_entries: KEYS,
        role: MapRole::User {
            name: "@big".into(),
            key: vec![Field {
                offset: 0,
                kind: ValueKind::Int {
                    size: 8,
                    signed: false,
                },
            }],
            value: MapValueSpec::Count,
        },
    };
    let start = std::time::Instant::now();
    let entries = match maps::read_all(fd.as_fd(), &spec) {
        Ok(e) => e,
        Err(e) => panic!("cannot read the map: {e}"),
    };
    let read = start.elapsed();
    let raw: Vec<(Vec<u8>, Vec<Vec<u8>>)> =
        entries.into_iter().map(|e| (e.key, e.values)).collect();
    let MapRole::User { name, key, value } = &spec.role else {
        return;
    };
    let snap = decode_map(name, key, value, &raw);
    let mut out = Vec::new();
    assert!(print_map(&mut out, &snap).is_ok());
    let total = start.elapsed();
    eprintln!(
        "100000-key per-CPU map ({cpus} CPUs): read {:?} ({:.2} µs/key), read+decode+sort+print {:?} ({:.2} µs/key)",
        read,
        read.as_secs_f64() * 1e6 / f64::from(KEYS),
        total,
        total.as_secs_f64() * 1e6 / f64::from(KEYS)
    );
    assert_eq!(snap.entries.len(), KEYS as usize);
    let text = String::from_utf8_lossy(&out);
    let cpus = cpus as u64;
    let sum = |k: u64| k * cpus + cpus * (cpus - 1) / 2;
    assert!(text.starts_with(&format!("@big[0]: {}\n@big[1]: {}\n", sum(0), sum(1))));
    assert!(text.ends_with(&format!("@big[99999]: {}\n", sum(99_999))));
    // Well under a second in an optimized build; unoptimized test builds on
    // a loaded machine get more room.
    let limit = if cfg!(debug_assertions) { 5 } else { 1 };
    assert!(
        total < std::time::Duration::from_secs(limit),
        "took {total:?}"
    );
}

/// The cgroup v2 id of this process: the inode of its cgroup directory.
fn own_cgroup_id() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let root = mounts.lines().find_map(|l| {
        let fields: Vec<&str> = l.split_whitespace().collect();
        let dash = fields.iter().position(|f| *f == "-")?;
        (fields.get(dash + 1) == Some(&"cgroup2")).then(|| fields.get(4).map(|s| s.to_string()))?
    })?;
    std::fs::metadata(format!("{root}{path}"))
        .ok()
        .map(|m| m.ino())
}

#[test]
fn rand_jiffies_numaid_cgroup() {
    if !kernel_available() {
        return;
    }
    let out = quiet(
        &[],
        "BEGIN { printf(\"%u %u %u %llu\\n\", rand, rand, numaid, cgroup); @j = jiffies; } \
         interval:ms:50 { printf(\"%d\\n\", jiffies > @j); clear(@j); exit(); }",
    );
    let mut lines = out.lines();
    let first: Vec<u64> = lines
        .next()
        .unwrap_or_default()
        .split(' ')
        .filter_map(|v| v.parse().ok())
        .collect();
    assert_eq!(first.len(), 4, "{out}");
    // Two 32-bit random numbers are equal once in four billion runs.
    assert_ne!(first[0], first[1]);
    assert!(first[0] <= u64::from(u32::MAX) && first[1] <= u64::from(u32::MAX));
    if !std::path::Path::new("/sys/devices/system/node/node1").exists() {
        assert_eq!(first[2], 0);
    }
    if let Some(id) = own_cgroup_id() {
        assert_eq!(first[3], id);
    }
    assert_eq!(lines.next(), Some("1"), "{out}");
}

#[test]
fn time_prints_local_time() {
    if !kernel_available() {
        return;
    }
    let year = |fmt: &str| {
        std::process::Command::new("date")
            .arg(fmt)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let before = year("+%Y-%m-%d");
    let out = quiet(&[], "BEGIN { time(\"%Y-%m-%d\\n\"); time(); exit(); }");
    let after = year("+%Y-%m-%d");
    let mut lines = out.lines();
    let date = lines.next().unwrap_or_default();
    assert!(before.trim() == date || after.trim() == date, "{out}");
    // The default format is %H:%M:%S and a newline.
    let clock = lines.next().unwrap_or_default();
    assert!(
        clock.len() == 8
            && clock
                .split(':')
                .all(|p| p.len() == 2 && p.parse::<u8>().is_ok()),
        "{out}"
    );
    assert_eq!(&out[out.len() - 2..], "\n\n");
    let json = quiet(&["-f", "json"], "BEGIN { time(\"%Y\\n\"); exit(); }");
    assert_eq!(
        json,
        format!("{{\"type\": \"time\", \"data\": \"{}\\n\"}}\n", &after[..4])
    );
}

/// The CPUs listed in /sys/devices/system/cpu/possible (`0-3,5`).
fn possible_cpus() -> Option<u64> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").ok()?;
    let mut n = 0;
    for part in text.trim().split(',') {
        n += match part.split_once('-') {
            Some((a, b)) => b.parse::<u64>().ok()? - a.parse::<u64>().ok()? + 1,
            None => 1,
        };
    }
    Some(n)
}

#[test]
fn ncpus_counts_possible_cpus() {
    if !kernel_available() {
        return;
    }
    let out = quiet(&[], "BEGIN { printf(\"%d\\n\", ncpus); exit(); }");
    let want = possible_cpus().map(|n| format!("{n}\n\n\n"));
    assert_eq!(Some(out), want);
}

#[test]
fn join_prints_argv() {
    use ferrotrace_tests::harness::Session;
    if !kernel_available() {
        return;
    }
    // A private copy of `true`, so only this test's exec matches.
    let exe = format!("/tmp/ferrotrace-e2e-join-{}", std::process::id());
    assert!(std::fs::copy("/bin/true", &exe).is_ok());
    let script = format!(
        r#"tracepoint:syscalls:sys_enter_execve /str(args.filename) == "{exe}"/ {{
               join(args.argv); join(args.argv, ","); exit(); }}"#
    );
    let s = Session::start(&["-e", &script]);
    let status = std::process::Command::new(&exe)
        .args(["a", "b c", "", "d"])
        .status();
    let (code, out, _) = s.finish();
    let _ = std::fs::remove_file(&exe);
    assert!(status.is_ok_and(|s| s.success()));
    assert_eq!(code, 0);
    assert_eq!(out, format!("{exe} a b c  d\n{exe},a,b c,,d\n\n\n"));
}

#[test]
fn elapsed_counts_from_the_start() {
    if !kernel_available() {
        return;
    }
    let out = quiet(
        &[],
        "BEGIN { @begin = elapsed; } interval:ms:200 { \
         printf(\"%d %d\\n\", @begin < 1000000000, elapsed >= 150000000 && elapsed < 10000000000); \
         clear(@begin); exit(); }",
    );
    assert_eq!(out, "1 1\n\n\n");
}

/// A probe on `write` traces ferrotrace's own output writes, so records
/// arrive as fast as they are printed; SIGTERM must still end the session
/// promptly (the event loop takes records in bounded batches).
#[test]
fn sigterm_ends_a_session_that_traces_its_own_output() {
    if !kernel_available() {
        return;
    }
    let path = ferrotrace_tests::harness::temp_path("self-trace");
    // Standard output is a file, as with `> FILE` in a shell.
    let out = std::fs::File::create(&path).expect("temporary output file");
    let mut child = std::process::Command::new(ferrotrace_tests::harness::binary())
        .args([
            "-e",
            "tracepoint:syscalls:sys_enter_write { printf(\"%s %d\\n\", comm, args.count); }",
        ])
        .stdout(out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ferrotrace starts");
    let stderr = child
        .stderr
        .take()
        .map(ferrotrace_tests::harness::line_reader);
    let attached = stderr.as_ref().is_some_and(|rx| {
        rx.recv_timeout(std::time::Duration::from_secs(30))
            .is_ok_and(|l| l.contains("Attached"))
    });
    assert!(attached, "ferrotrace did not attach");
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "ferrotrace ignored SIGTERM"
    );
    assert!(
        written.lines().any(|l| l.starts_with("ferrotrace ")),
        "its own writes were not traced: {:?}",
        written.lines().take(3).collect::<Vec<_>>()
    );
}
