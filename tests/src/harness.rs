//! Running the real `ferrotrace` binary in end-to-end tests: finding it,
//! deciding whether the kernel can run BPF here (fail under `CI=true`,
//! skip with a printed reason elsewhere), and driving a traced session
//! (wait for attachment, trigger, stop with a signal, collect output).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `ferrotrace` binary built next to this test executable.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> → target/<profile>/ferrotrace
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .map(PathBuf::from)
        .unwrap_or_default();
    let bin = dir.join("ferrotrace");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --bins` before the tests (the README's test command does)",
        bin.display()
    );
    bin
}

/// Runs ferrotrace to completion with the given arguments.
pub fn run(args: &[&str]) -> Output {
    let out = Command::new(binary())
        .args(args)
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => o,
        Err(e) => panic!("cannot run {}: {e}", binary().display()),
    }
}

/// Runs ferrotrace to completion and returns its stdout, asserting that
/// it exited with status 0 (its stderr is in the failure message).
pub fn run_ok(args: &[&str]) -> String {
    let o = run(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Whether BPF programs can be loaded here. Under `CI=true` a refusal is a
/// test failure; elsewhere the reason is printed and the test is skipped.
pub fn kernel_available() -> bool {
    let reason = match probe_bpf() {
        Ok(()) => return true,
        Err(reason) => reason,
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the kernel refuses BPF under CI=true: {reason}");
    }
    eprintln!("SKIPPED: kernel test needs BPF: {reason}");
    false
}

fn probe_bpf() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not running as root".into());
    }
    // BPF_MAP_CREATE of a 1-entry array map.
    let mut attr = [0u32; 32];
    attr[0] = 2; // BPF_MAP_TYPE_ARRAY
    attr[1] = 4; // key size
    attr[2] = 8; // value size
    attr[3] = 1; // max entries
                 // SAFETY: attr is a valid, zero-padded bpf_attr of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            0,
            attr.as_mut_ptr(),
            std::mem::size_of_val(&attr),
        )
    };
    if fd < 0 {
        return Err(format!(
            "bpf(BPF_MAP_CREATE) failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: fd was just returned by the kernel and is owned here.
    unsafe { libc::close(fd as i32) };
    Ok(())
}

/// A traced session running in the background.
pub struct Session {
    child: Child,
    stderr_lines: mpsc::Receiver<String>,
    stderr_seen: Vec<String>,
}

impl Session {
    /// Starts ferrotrace and waits until it reports its probes attached.
    pub fn start(args: &[&str]) -> Session {
        let mut child = spawn(args);
        let rx = match child.stderr.take() {
            Some(stderr) => line_reader(stderr),
            None => mpsc::channel().1,
        };
        let mut s = Session {
            child,
            stderr_lines: rx,
            stderr_seen: Vec::new(),
        };
        s.wait_for_stderr("Attached");
        s
    }

    fn wait_for_stderr(&mut self, needle: &str) {
        loop {
            match self.stderr_lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.stderr_seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!(
                    "ferrotrace never printed {needle:?}; stderr so far: {:?}",
                    self.stderr_seen
                ),
            }
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends a signal (SIGINT, SIGTERM) to ferrotrace.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Waits for ferrotrace to exit (at most 30 s) and returns its exit
    /// code, stdout and stderr.
    pub fn finish(mut self) -> (i32, String, String) {
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        let status = self.child.wait().ok().and_then(|s| s.code()).unwrap_or(-1);
        while let Ok(line) = self.stderr_lines.recv_timeout(Duration::from_millis(200)) {
            self.stderr_seen.push(line);
        }
        (status, stdout, self.stderr_seen.join("\n"))
    }
}

/// Starts ferrotrace in the background with stdout and stderr piped.
pub fn spawn(args: &[&str]) -> Child {
    match Command::new(binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot start ferrotrace: {e}"),
    }
}

/// Reads `from` line by line on a thread; the lines arrive on the
/// returned channel, which closes at end of input.
pub fn line_reader(from: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Runs a shell snippet with `sh` (dash on Debian), so the traced `comm` is `sh`.
pub fn sh(script: &str) {
    let status = Command::new("sh").arg("-c").arg(script).status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "trigger failed: {script}"
    );
}

/// A unique path in /tmp for a test to open.
pub fn temp_path(tag: &str) -> String {
    let path = format!("/tmp/ferrotrace-e2e-{tag}-{}", std::process::id());
    if let Ok(mut f) = std::fs::File::create(&path) {
        let _ = f.write_all(b"x");
    }
    path
}
