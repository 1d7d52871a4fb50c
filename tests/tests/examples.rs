//! The example tools in `examples/`: every one is compiled against the
//! fixture kernel in every test run (its ELF parsed back and summarized in
//! a snapshot), and each is run for real against the kernel for a few
//! seconds while the test triggers what it traces, and its output is checked
//! for the lines it must print. Tools that need a feature not implemented
//! yet are listed in `PENDING` with that feature, and a test checks that
//! they still fail for that reason (so the list never goes stale).

use ferrotrace_tests::elf_summary::summarize;
use ferrotrace_tests::harness::{kernel_available, line_reader, spawn};
use ferrotrace_tests::stages::{check, compile, load, rendered};
use regex_lite::Regex;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// Examples that do not compile yet: (tool, missing feature, a piece of
/// the error they fail with today).
const PENDING: &[(&str, &str, &str)] = &[];

/// Examples with a run test below (`run_<tool>`).
const RUN: &[&str] = &[
    "bashreadline",
    "biolatency",
    "biosnoop",
    "bitesize",
    "cpuwalk",
    "execsnoop",
    "exitsnoop",
    "forksnoop",
    "gethostlatency",
    "hardirqs",
    "killsnoop",
    "mmapsnoop",
    "naptime",
    "oomkill",
    "opensnoop",
    "pagefaults",
    "pidpersec",
    "runqlat",
    "runqlen",
    "setuids",
    "signals",
    "softirqs",
    "ssllatency",
    "sslsnoop",
    "statsnoop",
    "syncsnoop",
    "syscount",
    "tcpconnect",
    "tcpdrop",
    "tcplife",
    "tcpretrans",
    "threadsnoop",
    "vfsstat",
    "writeback",
];

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn example_path(tool: &str) -> PathBuf {
    examples_dir().join(format!("{tool}.bt"))
}

/// Every tool name in `examples/`, sorted.
fn all_examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".bt").map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn pending(tool: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    PENDING.iter().find(|p| p.0 == tool)
}

// --- compiled in every run -------------------------------------------------

#[test]
fn examples_compile_to_elf() {
    insta::glob!("../../examples", "*.bt", |path| {
        let source = load(path);
        let tool = source.name.trim_end_matches(".bt").to_string();
        if pending(&tool).is_some() {
            return;
        }
        let artifact = match compile(&source) {
            Ok(a) => a,
            Err(e) => panic!("examples/{} failed to compile:\n{e}", source.name),
        };
        insta::assert_snapshot!(summarize(&artifact));
    });
}

#[test]
fn pending_examples_still_miss_their_feature() {
    for (tool, feature, error) in PENDING {
        let source = load(&example_path(tool));
        assert!(!source.text.is_empty(), "examples/{tool}.bt is missing");
        let (program, diags) = check(&source);
        assert!(
            program.is_none(),
            "examples/{tool}.bt compiles now ({feature} landed): take it out of PENDING and \
             give it a run_{tool} test"
        );
        let text = rendered(&source, &diags);
        assert!(
            text.contains(error),
            "examples/{tool}.bt (pending on {feature}) fails for another reason:\n{text}"
        );
    }
}

#[test]
fn every_example_has_a_header_a_run_test_and_a_readme_line() {
    let readme = std::fs::read_to_string(examples_dir().join("README.md")).unwrap_or_default();
    let tools = all_examples();
    assert!(tools.len() >= 33, "examples/ lost tools: {tools:?}");
    for tool in &tools {
        let text = std::fs::read_to_string(example_path(tool)).unwrap_or_default();
        let opening = format!("#!/usr/bin/env ferrotrace\n/*\n * {tool} — ");
        assert!(
            text.starts_with(&opening),
            "examples/{tool}.bt must open with the shebang and ` * {tool} — what it shows`"
        );
        for section in [" * Hooks: ", " * Example output"] {
            assert!(
                text.contains(section),
                "examples/{tool}.bt's header has no `{section}` section"
            );
        }
        assert!(
            pending(tool).is_some() || RUN.contains(&tool.as_str()),
            "examples/{tool}.bt has neither a run test nor a PENDING entry"
        );
        assert!(
            readme.contains(&format!("[{tool}]({tool}.bt)")),
            "examples/README.md does not list {tool}"
        );
    }
    for tool in RUN {
        assert!(
            tools.iter().any(|t| t == tool),
            "RUN names {tool}, which is not in examples/"
        );
    }
}

// --- run for real ------------------------------------------------------------

/// At most this long is spent triggering a tool once it is attached.
const RUN_FOR: Duration = Duration::from_secs(3);
/// After each trigger, output is read for this long before checking it.
const SETTLE: Duration = Duration::from_millis(300);

/// An example tool running in the background, its output read line by line.
struct Traced {
    tool: String,
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    lines: Vec<String>,
    errors: Vec<String>,
}

/// What a stopped tool printed.
struct Printed {
    tool: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Traced {
    /// Starts `examples/<tool>.bt` and waits until its probes are attached.
    fn start(tool: &str) -> Traced {
        let mut child = spawn(&[&example_path(tool).to_string_lossy()]);
        let stdout = line_reader(child.stdout.take().expect("stdout is piped"));
        let stderr = line_reader(child.stderr.take().expect("stderr is piped"));
        let mut t = Traced {
            tool: tool.to_string(),
            child,
            stdout,
            stderr,
            lines: Vec::new(),
            errors: Vec::new(),
        };
        // Compiling under a loaded machine can take a while.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match t.stderr.recv_timeout(left) {
                Ok(line) => {
                    let attached = line.starts_with("Attached ");
                    t.errors.push(line);
                    if attached {
                        return t;
                    }
                }
                Err(_) => panic!(
                    "examples/{tool}.bt never attached; stderr: {}",
                    t.errors.join("\n")
                ),
            }
        }
    }

    /// Reads the tool's output for `d`.
    fn read_for(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while let Ok(line) = self
            .stdout
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            self.lines.push(line);
        }
    }

    /// Runs `trigger` again and again, reading output for a moment after
    /// each, until `done` finds what it wants in the lines so far or
    /// `RUN_FOR` has passed. Retrying matters on a busy machine, where a
    /// system-wide tool can lose events when its ring buffer fills.
    fn drive<S>(
        &mut self,
        state: &mut S,
        mut trigger: impl FnMut(&mut S),
        done: impl Fn(&S, &[String]) -> bool,
    ) {
        let start = Instant::now();
        loop {
            trigger(state);
            self.read_for(SETTLE);
            if done(state, &self.lines) || start.elapsed() >= RUN_FOR {
                return;
            }
        }
    }

    /// Stops the tool with SIGINT and collects everything it printed.
    fn stop(mut self) -> Printed {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let code = self.child.wait().ok().and_then(|s| s.code()).unwrap_or(-1);
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(30)) {
            self.lines.push(line);
        }
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(200)) {
            self.errors.push(line);
        }
        let mut stdout = self.lines.join("\n");
        stdout.push('\n');
        Printed {
            tool: self.tool,
            code,
            stdout,
            stderr: self.errors.join("\n"),
        }
    }
}

fn regex(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(r) => r,
        Err(e) => panic!("bad pattern {pattern:?}: {e}"),
    }
}

/// Whether some line matches the whole `pattern`.
fn has_line(lines: &[String], pattern: &str) -> bool {
    let re = regex(&format!("^{pattern}$"));
    lines.iter().any(|l| re.is_match(l))
}

impl Printed {
    fn lines(&self) -> Vec<String> {
        self.stdout.lines().map(str::to_string).collect()
    }

    fn context(&self) -> String {
        format!(
            "examples/{}.bt printed (exit {}):\n{}\n--- stderr:\n{}",
            self.tool, self.code, self.stdout, self.stderr
        )
    }

    /// The tool exited cleanly on SIGINT and its first line is `header`.
    fn starts_with_header(&self, header: &str) -> &Self {
        assert_eq!(self.code, 0, "{}", self.context());
        assert_eq!(
            self.stdout.lines().next(),
            Some(header),
            "{}",
            self.context()
        );
        self
    }

    /// Some line matches the whole `pattern`.
    fn has(&self, pattern: &str) -> &Self {
        assert!(
            has_line(&self.lines(), pattern),
            "no line matches /^{pattern}$/ in {}",
            self.context()
        );
        self
    }

    /// Every non-empty line after the header matches one of `patterns`.
    fn all_lines_match(&self, patterns: &[&str]) -> &Self {
        let res: Vec<Regex> = patterns.iter().map(|p| regex(&format!("^{p}$"))).collect();
        for line in self.stdout.lines().skip(1).filter(|l| !l.is_empty()) {
            assert!(
                res.iter().any(|r| r.is_match(line)),
                "line {line:?} matches none of {patterns:?} in {}",
                self.context()
            );
        }
        self
    }

    /// The line after the one equal to `line` matches `pattern`.
    fn followed_by(&self, line: &str, pattern: &str) -> &Self {
        let lines = self.lines();
        let at = lines.iter().position(|l| l == line);
        let next = at
            .and_then(|i| lines.get(i + 1))
            .cloned()
            .unwrap_or_default();
        assert!(
            regex(&format!("^{pattern}$")).is_match(&next),
            "expected {line:?} followed by /{pattern}/ in {}",
            self.context()
        );
        self
    }
}

/// Runs a command to completion and returns its pid.
fn run_cmd(argv: &[&str]) -> u32 {
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    spawn_wait(&mut cmd)
}

fn spawn_wait(cmd: &mut Command) -> u32 {
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("cannot run {cmd:?}: {e}"),
    };
    let pid = child.id();
    let _ = child.wait();
    pid
}

/// A file of a few bytes in /tmp, unique to this test process and tag.
fn temp_file(tag: &str) -> String {
    let path = format!("/tmp/ferrotrace-ex-{tag}-{}", std::process::id());
    if let Err(e) = std::fs::write(&path, b"ferrotrace\n") {
        panic!("cannot write {path}: {e}");
    }
    path
}

/// Writes `count` blocks of 4 KiB with O_DIRECT, so each is one block I/O
/// request issued by `dd` itself. Returns dd's pid.
fn direct_writes(tag: &str, count: u32) -> u32 {
    let path = format!("/tmp/ferrotrace-ex-{tag}-{}", std::process::id());
    let pid = run_cmd(&[
        "dd",
        "if=/dev/zero",
        &format!("of={path}"),
        "bs=4k",
        &format!("count={count}"),
        "oflag=direct",
        "status=none",
    ]);
    let _ = std::fs::remove_file(&path);
    pid
}

/// A histogram bucket line as the text output prints it.
const HIST_LINE: &str = r"(\[\d+[KMG]?, \d+[KMG]?\)|\[\d+\])\s+\d+ \|@*\s*\|";

macro_rules! kernel_test {
    ($name:ident, $body:block) => {
        #[test]
        fn $name() {
            if !kernel_available() {
                return;
            }
            $body
        }
    };
}

/// Starts `tool`, drives it with `trigger` until `done` finds the lines it
/// must print (see `Traced::drive`), stops it, and checks that `done` holds
/// for everything it printed. Returns the output and the trigger's state
/// (the pids or ports it used).
fn run_driven<S>(
    tool: &str,
    mut state: S,
    trigger: impl FnMut(&mut S),
    done: impl Fn(&S, &[String]) -> bool,
) -> (Printed, S) {
    let mut t = Traced::start(tool);
    t.drive(&mut state, trigger, &done);
    let out = t.stop();
    assert!(
        done(&state, &out.lines()),
        "the lines the trigger should cause are missing: {}",
        out.context()
    );
    (out, state)
}

/// Whether some pid in `pids` has a line `line(pid)`.
fn any_pid(pids: &[u32], lines: &[String], line: impl Fn(u32) -> String) -> bool {
    pids.iter().any(|p| has_line(lines, &line(*p)))
}

/// For tools printing one line per path lookup (opensnoop, statsnoop):
/// runs `cmd FILE` on a file that exists and `cmd MISSING` on a path that
/// does not, until the tool printed `ok(pid, FILE)` and `missing(pid,
/// MISSING)` lines for them.
fn path_lookups(
    tool: &str,
    cmd: &str,
    ok: impl Fn(u32, &str) -> String,
    missing: impl Fn(u32, &str) -> String,
) -> Printed {
    let file = temp_file(tool);
    let absent = format!("/nonexistent/ferrotrace-{}", std::process::id());
    let (out, _) = run_driven(
        tool,
        (Vec::new(), Vec::new()),
        |(found, failed)| {
            found.push(run_cmd(&[cmd, &file]));
            failed.push(run_cmd(&[cmd, &absent]));
        },
        |(found, failed), lines| {
            any_pid(found, lines, |p| ok(p, &file))
                && any_pid(failed, lines, |p| missing(p, &absent))
        },
    );
    let _ = std::fs::remove_file(&file);
    out
}

kernel_test!(run_biolatency, {
    let mut t = Traced::start("biolatency");
    direct_writes("biolatency", 8);
    t.read_for(SETTLE);
    t.stop()
        .starts_with_header("Tracing block device I/O... Hit Ctrl-C to end.")
        .has("@usecs:")
        .has(HIST_LINE)
        .all_lines_match(&["@usecs:", HIST_LINE]);
});

kernel_test!(run_cpuwalk, {
    // profile:hz:99 samples every CPU; something is always running here.
    let mut t = Traced::start("cpuwalk");
    t.read_for(Duration::from_millis(500));
    t.stop()
        .starts_with_header("Sampling CPU at 99hz... Hit Ctrl-C to end.")
        .has("@cpu:")
        .has(HIST_LINE)
        .all_lines_match(&["@cpu:", HIST_LINE]);
});

kernel_test!(run_runqlen, {
    // profile:hz:99 samples every CPU; the queue length is read through
    // curtask's BTF types (task_struct → cfs_rq → rq).
    let mut t = Traced::start("runqlen");
    t.read_for(Duration::from_millis(500));
    t.stop()
        .starts_with_header("Sampling run queue length at 99 Hertz... Hit Ctrl-C to end.")
        .has("@runqlen:")
        .has(HIST_LINE)
        .all_lines_match(&["@runqlen:", HIST_LINE]);
});

kernel_test!(run_biosnoop, {
    // dd issues each O_DIRECT request from its own context; the line is
    // printed at completion with the issuer remembered.
    let (out, _) = run_driven(
        "biosnoop",
        Vec::new(),
        |pids| pids.push(direct_writes("biosnoop", 4)),
        |pids, lines| {
            any_pid(pids, lines, |p| {
                format!(r"\d+\s+dd\s+{p}\s+\d+:\d+\s+W\S*\s+4096\s+\d+")
            })
        },
    );
    out.starts_with_header(
        "TIME(ms)     COMM             PID    DEV      RWBS   BYTES     LAT(us)",
    )
    .all_lines_match(&[r"\d+\s+.{1,16}\s+\d+\s+\d+:\d+\s+\S+\s+\d+\s+\d+"]);
});

kernel_test!(run_bitesize, {
    let mut t = Traced::start("bitesize");
    direct_writes("bitesize", 8);
    t.read_for(SETTLE);
    t.stop()
        .starts_with_header("Tracing block device I/O... Hit Ctrl-C to end.")
        .has("I/O size \\(bytes\\) histograms by process name:")
        .followed_by("@[dd]:", r"\[4K, 8K\)\s+\d+ \|@+\s*\|");
});

kernel_test!(run_execsnoop, {
    let (out, _) = run_driven(
        "execsnoop",
        Vec::new(),
        |pids| pids.push(run_cmd(&["/bin/true"])),
        |pids, lines| any_pid(pids, lines, |p| format!(r"\d+\s+{p}\s+true\s+/bin/true")),
    );
    out.starts_with_header("TIME(ms)   PID    COMM             PATH")
        .all_lines_match(&[r"\d+\s+\d+\s+.{1,16}\s+\S.*"]);
});

kernel_test!(run_forksnoop, {
    // sh forks a child for the background job; both are `sh`.
    let (out, _) = run_driven(
        "forksnoop",
        Vec::new(),
        |pids| pids.push(run_cmd(&["sh", "-c", "true & wait"])),
        |pids, lines| any_pid(pids, lines, |p| format!(r"{p}\s+sh\s+\d+\s+sh")),
    );
    out.starts_with_header("PPID   PARENT           PID    CHILD")
        .all_lines_match(&[r"\d+\s+.{1,16}\s+\d+\s+.{1,16}"]);
});

kernel_test!(run_killsnoop, {
    let me = std::process::id();
    // kill(self, 0) succeeds; a pid above pid_max does not exist (ESRCH).
    let ok = format!(r"\d+\s+{me}\s+\S+\s+0\s+{me}\s+0");
    let esrch = format!(r"\d+\s+{me}\s+\S+\s+0\s+2147483647\s+-3");
    let (out, _) = run_driven(
        "killsnoop",
        (),
        |_| {
            // SAFETY: signal 0 only checks that the target exists.
            unsafe {
                libc::kill(me as i32, 0);
                libc::kill(i32::MAX, 0);
            }
        },
        |_, lines| has_line(lines, &ok) && has_line(lines, &esrch),
    );
    out.starts_with_header("TIME(ms)   PID    COMM             SIG  TPID   RESULT")
        .all_lines_match(&[r"\d+\s+\d+\s+.{1,16}\s+\d+\s+-?\d+\s+-?\d+"]);
});

kernel_test!(run_mmapsnoop, {
    // cat maps anonymous memory (fd -1) and its shared libraries (an fd).
    let (out, _) = run_driven(
        "mmapsnoop",
        Vec::new(),
        |pids| pids.push(run_cmd(&["cat", "/etc/hostname"])),
        |pids, lines| {
            any_pid(pids, lines, |p| {
                format!(r"{p}\s+cat\s+\d+\s+\d+ 0x[0-9a-f]+\s+-1")
            }) && any_pid(pids, lines, |p| {
                format!(r"{p}\s+cat\s+\d+\s+\d+ 0x[0-9a-f]+\s+[3-9]")
            })
        },
    );
    out.starts_with_header("PID    COMM                   LEN PROT FLAGS   FD")
        .all_lines_match(&[r"\d+\s+.{1,16}\s+\d+\s+\d+ 0x[0-9a-f]+\s+-?\d+"]);
});

kernel_test!(run_naptime, {
    let line = |p: u32| format!(r"{p}\s+sleep\s+\d+");
    let (out, pids) = run_driven(
        "naptime",
        Vec::new(),
        |pids| pids.push(run_cmd(&["sleep", "0.2"])),
        |pids, lines| any_pid(pids, lines, line),
    );
    out.starts_with_header("PID    COMM             SLEPT(ms)")
        .all_lines_match(&[r"\d+\s+.{1,16}\s+\d+"]);
    // `sleep 0.2` slept at least 200 ms, and not absurdly longer.
    let slept: Vec<u64> = out
        .lines()
        .into_iter()
        .filter(|l| any_pid(&pids, std::slice::from_ref(l), line))
        .filter_map(|l| l.split_whitespace().last().and_then(|v| v.parse().ok()))
        .collect();
    assert!(
        slept.iter().any(|ms| (200..2000).contains(ms)),
        "sleep's nap {slept:?} is not 200 ms in {}",
        out.context()
    );
});

kernel_test!(run_oomkill, {
    // Nothing here may trigger the OOM killer: check it attaches, prints
    // its header and that any line is a victim line.
    let mut t = Traced::start("oomkill");
    t.read_for(SETTLE);
    t.stop()
        .starts_with_header("PID    COMM             ANON_RSS(kB)")
        .all_lines_match(&[r"\d+\s+.{1,16}\s+\d+"]);
});

kernel_test!(run_opensnoop, {
    path_lookups(
        "opensnoop",
        "cat",
        |p, path| format!(r"{p}\s+cat\s+3\s+0 {path}"),
        |p, path| format!(r"{p}\s+cat\s+-1\s+2 {path}"),
    )
    .starts_with_header("Tracing open syscalls... Hit Ctrl-C to end.")
    .has("PID    COMM              FD ERR PATH");
});

kernel_test!(run_pagefaults, {
    let mut t = Traced::start("pagefaults");
    run_cmd(&["cat", "/etc/hostname"]);
    t.read_for(SETTLE);
    t.stop()
        .starts_with_header("Counting user page faults... Hit Ctrl-C to end.")
        .has(r"@faults\[cat\]: [1-9]\d*")
        .all_lines_match(&[r"@faults\[.{1,16}\]: \d+"]);
});

kernel_test!(run_pidpersec, {
    // The count is printed once a second.
    let (out, _) = run_driven(
        "pidpersec",
        (),
        |_| {
            run_cmd(&["true"]);
        },
        |_, lines| has_line(lines, "@: [1-9]\\d*"),
    );
    out.starts_with_header("Tracing new processes... Hit Ctrl-C to end.")
        .all_lines_match(&["@: \\d+"]);
});

kernel_test!(run_runqlat, {
    let mut t = Traced::start("runqlat");
    run_cmd(&["sleep", "0.05"]);
    t.read_for(SETTLE);
    t.stop()
        .starts_with_header("Tracing CPU scheduler... Hit Ctrl-C to end.")
        .has("@usecs:")
        .has(HIST_LINE)
        .all_lines_match(&["@usecs:", HIST_LINE]);
});

/// Runs /bin/true in a child that first calls setuid(0) and setfsuid(0)
/// (no-ops for root, so they succeed). The child's comm is still this
/// test's thread name when it makes the calls.
fn setuid_child() -> u32 {
    let mut cmd = Command::new("/bin/true");
    // SAFETY: the closure runs in the forked child before exec and only
    // makes two async-signal-safe system calls.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::setuid(0);
            libc::setfsuid(0);
            Ok(())
        });
    }
    spawn_wait(&mut cmd)
}

kernel_test!(run_setuids, {
    let (out, _) = run_driven(
        "setuids",
        (Vec::new(), Vec::new()),
        |(children, setprivs)| {
            children.push(setuid_child());
            setprivs.push(run_cmd(&[
                "setpriv",
                "--reuid=0",
                "--regid=0",
                "--clear-groups",
                "true",
            ]));
        },
        |(children, setprivs), lines| {
            // setfsuid returns the previous fsuid: 0.
            any_pid(children, lines, |p| {
                format!(r"{p}\s+\S+\s+0\s+setuid\s+uid=0 \(0\)")
            }) && any_pid(children, lines, |p| {
                format!(r"{p}\s+\S+\s+0\s+setfsuid\s+uid=0 \(0\)")
            }) && any_pid(setprivs, lines, |p| {
                format!(r"{p}\s+setpriv\s+0\s+setresuid\s+ruid=-?\d+ euid=-?\d+ suid=-?\d+ \(0\)")
            })
        },
    );
    out.starts_with_header("PID    COMM             UID    SYSCALL          ARGS (RET)")
        .all_lines_match(&[r"\d+\s+.{1,16}\s+\d+\s+set\w+\s+.*\(-?\d+\)"]);
});

kernel_test!(run_signals, {
    let me = std::process::id();
    // SIGUSR1 (10) from this process to a `sleep`, which it kills; the
    // dying sleep then sends SIGCHLD (17) to the thread that started it
    // (whose pid there is its thread id).
    let (out, _) = run_driven(
        "signals",
        Vec::new(),
        |pids| {
            let mut child = match Command::new("sleep").arg("5").spawn() {
                Ok(c) => c,
                Err(e) => panic!("cannot run sleep: {e}"),
            };
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
            let _ = child.wait();
            pids.push(child.id());
        },
        |pids, lines| {
            any_pid(pids, lines, |p| {
                format!(r"{me}\s+\S+\s+10\s+{p}\s+sleep\s+0")
            }) && any_pid(pids, lines, |p| {
                format!(r"{p}\s+sleep\s+17\s+\d+\s+\S+\s+\d")
            })
        },
    );
    out.starts_with_header("PID    COMM             SIG  TPID   TCOMM            RESULT")
        .all_lines_match(&[r"\d+\s+.{1,16}\s+\d+\s+\d+\s+.{0,16}\s+\d"]);
});

kernel_test!(run_statsnoop, {
    path_lookups(
        "statsnoop",
        "stat",
        |p, path| format!(r"{p}\s+stat\s+0 {path}"),
        |p, path| format!(r"{p}\s+stat\s+2 {path}"),
    )
    .starts_with_header("PID    COMM             ERR PATH")
    .all_lines_match(&[r"\d+\s+.{1,16}\s+\d+ ?.*"]);
});

kernel_test!(run_syncsnoop, {
    // sync(1) calls sync(2), seen through the syscall dispatcher, named by
    // the `probe` builtin.
    let (out, _) = run_driven(
        "syncsnoop",
        Vec::new(),
        |pids| pids.push(run_cmd(&["sync"])),
        |pids, lines| {
            any_pid(pids, lines, |p| {
                format!(r"\d+\s+{p}\s+sync\s+tracepoint:syscalls:sys_enter_sync")
            })
        },
    );
    out.starts_with_header("TIME(ms)   PID    COMM             EVENT")
        .all_lines_match(&[r"\d+\s+\d+\s+.{1,16}\s+tracepoint:syscalls:sys_enter_\w+"]);
});

kernel_test!(run_syscount, {
    let mut t = Traced::start("syscount");
    run_cmd(&["true"]);
    t.read_for(SETTLE);
    let out = t.stop();
    out.starts_with_header("Counting syscalls... Hit Ctrl-C to end.")
        .followed_by("Top 10 syscalls IDs:", r"@syscall\[\d+\]: \d+")
        .followed_by("Top 10 processes:", r"@process\[.{1,16}\]: \d+")
        .all_lines_match(&[
            "Top 10 syscalls IDs:",
            "Top 10 processes:",
            r"@syscall\[\d+\]: \d+",
            r"@process\[.{1,16}\]: \d+",
        ]);
    let lines = out.lines();
    for map in ["@syscall[", "@process["] {
        let n = lines.iter().filter(|l| l.starts_with(map)).count();
        assert!(
            (1..=10).contains(&n),
            "{n} {map} lines in {}",
            out.context()
        );
    }
});

/// The number of a `enum skb_drop_reason` value, read from the symbolic
/// table in the kfree_skb tracepoint's print format.
fn drop_reason(name: &str) -> u32 {
    let format = std::fs::read_to_string("/sys/kernel/tracing/events/skb/kfree_skb/format")
        .unwrap_or_default();
    let re = regex(&format!(r#"\{{ (\d+), "{name}" \}}"#));
    match re.captures(&format).and_then(|c| c[1].parse().ok()) {
        Some(n) => n,
        None => panic!("the kfree_skb format names no drop reason {name}"),
    }
}

kernel_test!(run_tcpdrop, {
    let mut t = Traced::start("tcpdrop");
    // A SYN to a closed loopback port is dropped with NO_SOCKET (and
    // answered with a reset, so connect fails at once).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9);
    for _ in 0..3 {
        let _ = std::net::TcpStream::connect(("127.0.0.1", closed));
    }
    t.read_for(SETTLE);
    let out = t.stop();
    // ETH_P_IP is 0x0800.
    out.starts_with_header("Tracing packet drops... Hit Ctrl-C to end.")
        .has(&format!(
            r"@drops\[{}, 2048\]: [1-9]\d*",
            drop_reason("NO_SOCKET")
        ))
        .all_lines_match(&[r"@drops\[\d+, \d+\]: \d+"]);
});

/// Opens a TCP connection over loopback and closes both ends; returns
/// (client port, server port).
fn loopback_connection() -> Option<(u16, u16)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    let server = listener.local_addr().ok()?;
    let client = std::net::TcpStream::connect(server).ok()?;
    let accepted = listener.accept();
    let local = client.local_addr().ok()?;
    drop(client);
    drop(accepted);
    Some((local.port(), server.port()))
}

kernel_test!(run_tcplife, {
    // Both ends close, each printed from its own side.
    let (out, _) = run_driven(
        "tcplife",
        Vec::new(),
        |ports| ports.extend(loopback_connection()),
        |ports, lines| {
            ports.iter().any(|(c, s)| {
                has_line(lines, &format!(r"{c}\s+{s}\s+\d+"))
                    && has_line(lines, &format!(r"{s}\s+{c}\s+\d+"))
            })
        },
    );
    out.starts_with_header("LPORT  RPORT  MS")
        .all_lines_match(&[r"\d+\s+\d+\s+\d+"]);
});

kernel_test!(run_tcpretrans, {
    // Retransmissions need packet loss, which a test must not cause on a
    // shared machine: check it attaches, prints its header and that any
    // line is a retransmission line.
    let mut t = Traced::start("tcpretrans");
    t.read_for(SETTLE);
    t.stop()
        .starts_with_header("TIME(ms)   FAMILY LPORT  RPORT  STATE")
        .all_lines_match(&[r"\d+\s+\d+\s+\d+\s+\d+\s+\d+"]);
});

kernel_test!(run_vfsstat, {
    let file = temp_file("vfsstat");
    // The counts are printed once a second, after the time.
    let (out, _) = run_driven(
        "vfsstat",
        (),
        |_| {
            let _ = std::fs::read(&file);
        },
        |_, lines| has_line(lines, r"@\[openat\]: [1-9]\d*"),
    );
    let _ = std::fs::remove_file(&file);
    out.starts_with_header("Tracing file system calls... Hit Ctrl-C to end.")
        .has(r"\d\d:\d\d:\d\d")
        .has(r"@\[read\]: [1-9]\d*")
        .all_lines_match(&[
            r"\d\d:\d\d:\d\d",
            r"@\[(read|write|openat|close|fsync)\]: \d+",
        ]);
});

kernel_test!(run_writeback, {
    // Dirty some page cache, then sync(1): a writeback pass with reason
    // `sync` on the device holding /tmp.
    let file = temp_file("writeback");
    let (out, _) = run_driven(
        "writeback",
        (),
        |_| {
            let _ = std::fs::write(&file, vec![7u8; 256 * 1024]);
            run_cmd(&["sync"]);
        },
        |_, lines| has_line(lines, r"\d+\s+\S+\s+-?\d+\s+sync\s+\d+"),
    );
    let _ = std::fs::remove_file(&file);
    out.starts_with_header("TIME(ms)   DEVICE   PAGES    REASON          LAT(ms)")
        .all_lines_match(&[r"\d+\s+\S*\s+-?\d+\s+[a-z_]+\s+\d+"]);
});

kernel_test!(run_exitsnoop, {
    let (out, _) = run_driven(
        "exitsnoop",
        Vec::new(),
        |pids| pids.push(run_cmd(&["sh", "-c", "exit 3"])),
        |pids, lines| any_pid(pids, lines, |p| format!(r"\d+\s+{p}\s+sh\s+3")),
    );
    out.starts_with_header("TIME(ms)   PID    COMM             CODE")
        .all_lines_match(&[r"\d+\s+\d+\s+.{1,16}\s+-?\d+"]);
});

kernel_test!(run_hardirqs, {
    // O_DIRECT writes complete through the block device's interrupt.
    let mut t = Traced::start("hardirqs");
    direct_writes("hardirqs", 8);
    t.read_for(SETTLE);
    t.stop()
        .starts_with_header("Tracing hard interrupts... Hit Ctrl-C to end.")
        .has(r"@irqs\[\S+\]: [1-9]\d*")
        .has("@usecs:")
        .all_lines_match(&[r"@irqs\[.+\]: \d+", "@usecs:", HIST_LINE]);
});

kernel_test!(run_softirqs, {
    // Loopback TCP is received in the NET_RX softirq.
    let mut t = Traced::start("softirqs");
    for _ in 0..3 {
        loopback_connection();
    }
    t.read_for(SETTLE);
    t.stop()
        .starts_with_header("Tracing soft interrupts... Hit Ctrl-C to end.")
        .followed_by("@usecs[NET_RX]:", HIST_LINE)
        .all_lines_match(&[
            r"@usecs\[(HI|TIMER|NET_TX|NET_RX|BLOCK|IRQ_POLL|TASKLET|SCHED|HRTIMER|RCU)\]:",
            HIST_LINE,
        ]);
});

kernel_test!(run_tcpconnect, {
    // connect(2) from this process: pid is this process, comm the
    // calling thread's name.
    let me = std::process::id();
    let (out, _) = run_driven(
        "tcpconnect",
        Vec::new(),
        |ports| ports.extend(loopback_connection().map(|(_, server)| server)),
        |ports, lines| {
            ports
                .iter()
                .any(|port| has_line(lines, &format!(r"{me}\s+\S+\s+2\s+{port}\s+127\.0\.0\.1")))
        },
    );
    out.starts_with_header("PID    COMM             FAMILY DPORT  DADDR")
        .all_lines_match(&[r"\d+\s+.{1,16}\s+\d+\s+\d+\s+[0-9a-f.:]+"]);
});

// --- user-space tools (uprobes branch) -----------------------------------------

kernel_test!(run_bashreadline, {
    // An interactive bash reads its input with readline, even from a pipe.
    let (out, _) = run_driven(
        "bashreadline",
        (),
        |_| {
            let mut cmd = Command::new("bash");
            cmd.args(["-c", "echo 'echo ferrotrace-readline' | bash -i"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            spawn_wait(&mut cmd);
        },
        |_, lines| has_line(lines, r"\d+\s+echo ferrotrace-readline"),
    );
    out.starts_with_header("Tracing bash commands... Hit Ctrl-C to end.")
        .has(r"PID\s+COMMAND")
        .all_lines_match(&[r"PID\s+COMMAND", r"\d+\s+.*"]);
});

kernel_test!(run_gethostlatency, {
    let line = |p: u32| format!(r"{p}\s+getent\s+\d+ localhost");
    let (out, _) = run_driven(
        "gethostlatency",
        Vec::new(),
        |pids| pids.push(run_cmd(&["getent", "ahosts", "localhost"])),
        |pids, lines| any_pid(pids, lines, line),
    );
    out.starts_with_header("PID    COMM             LATms HOST")
        .all_lines_match(&[r"\d+\s+.{1,16}\s+\d+ .+"]);
});

kernel_test!(run_threadsnoop, {
    let line = |p: u32| format!(r"\d+\s+{p}\s+python3.11\s+0x[0-9a-f]+");
    let (out, _) = run_driven(
        "threadsnoop",
        Vec::new(),
        |pids| {
            pids.push(run_cmd(&[
                "python3.11",
                "-c",
                "import threading; t = threading.Thread(target=lambda: 0); t.start(); t.join()",
            ]))
        },
        |pids, lines| any_pid(pids, lines, line),
    );
    out.starts_with_header("TIME(ms)   PID    COMM             FUNC")
        .all_lines_match(&[r"\d+\s+\d+\s+.{1,16}\s+0x[0-9a-f]+"]);
});

/// A throwaway self-signed key and certificate in `dir` (made once):
/// their paths.
fn self_signed_cert(dir: &str) -> (String, String) {
    let key = format!("{dir}/key.pem");
    let cert = format!("{dir}/cert.pem");
    if !std::path::Path::new(&cert).exists() {
        run_cmd(&[
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &key,
            "-out",
            &cert,
        ]);
    }
    (key, cert)
}

/// A TLS handshake and one write and read between two sockets of one
/// Python process (whose `ssl` module uses libssl.so.3), with a throwaway
/// self-signed certificate.
fn tls_round_trip(dir: &str) {
    let (key, cert) = self_signed_cert(dir);
    let script = format!(
        "import socket, ssl, threading\n\
         a, b = socket.socketpair()\n\
         srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
         srv.load_cert_chain('{cert}', '{key}')\n\
         cli = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n\
         cli.check_hostname = False\n\
         cli.verify_mode = ssl.CERT_NONE\n\
         def serve():\n\
         \x20   s = srv.wrap_socket(a, server_side=True)\n\
         \x20   s.sendall(s.recv(5))\n\
         t = threading.Thread(target=serve)\n\
         t.start()\n\
         c = cli.wrap_socket(b)\n\
         c.sendall(b'hello')\n\
         c.recv(5)\n\
         t.join()\n"
    );
    run_cmd(&["python3.11", "-c", &script]);
}

kernel_test!(run_ssllatency, {
    let dir = format!("/tmp/ferrotrace-ex-tls-{}", std::process::id());
    let _ = std::fs::create_dir_all(&dir);
    let t = Traced::start("ssllatency");
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        tls_round_trip(&dir);
    }
    let out = t.stop();
    let _ = std::fs::remove_dir_all(&dir);
    // The histograms print at exit, one per SSL function called (Python's
    // ssl module reads and writes through SSL_read_ex/SSL_write_ex, which
    // the tool does not trace, so only the handshakes show here).
    out.has(r"@usecs\[SSL_do_handshake\]:").has(HIST_LINE);
});

kernel_test!(run_sslsnoop, {
    let dir = format!("/tmp/ferrotrace-ex-tls-snoop-{}", std::process::id());
    let _ = std::fs::create_dir_all(&dir);
    let (key, cert) = self_signed_cert(&dir);
    let port = 40000 + std::process::id() % 20000;
    let (out, _) = run_driven(
        "sslsnoop",
        (),
        |_| {
            // openssl's own client and server read and write with
            // SSL_read/SSL_write.
            let server = Command::new("openssl")
                .args([
                    "s_server", "-quiet", "-naccept", "1", "-cert", &cert, "-key", &key,
                ])
                .args(["-accept", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            std::thread::sleep(Duration::from_millis(300));
            let mut client = Command::new("sh");
            client
                .args([
                    "-c",
                    &format!(
                        "echo hello | timeout 3 openssl s_client -quiet -connect 127.0.0.1:{port}"
                    ),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            spawn_wait(&mut client);
            if let Ok(mut s) = server {
                let _ = s.kill();
                let _ = s.wait();
            }
        },
        |_, lines| has_line(lines, r"\d+\s+\d+\s+openssl\s+SSL_write\s+-?\d+\s+\d+"),
    );
    let _ = std::fs::remove_dir_all(&dir);
    out.starts_with_header("TIME(ms)   PID    COMM             FUNC        RET LAT(us)")
        .all_lines_match(&[r"\d+\s+\d+\s+.{1,16}\s+SSL_(read|write)\s+-?\d+\s+\d+"]);
});
