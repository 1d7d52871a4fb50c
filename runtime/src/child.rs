//! The `-c CMD` child: forked before the probes are attached and held
//! until every probe is attached, so even its first instructions are
//! traced; then released, and watched so the session ends when it exits.
//! As in bpftrace, the child asks to be traced (`PTRACE_TRACEME`) and
//! execs at once: the kernel stops it with SIGTRAP right after `exec`, so
//! it is held in its new image (the kernel's own writes while loading it
//! are over, and its mappings are real); releasing it detaches. Where
//! ptrace is refused (Yama `ptrace_scope` 3, seccomp), the child is held
//! before `exec` instead, blocking on a pipe, with a warning. The `-p PID`
//! target is watched the same way. A command still running when the
//! session ends is terminated.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A command started held.
#[derive(Debug)]
pub struct Child {
    pub pid: u32,
    /// How the child is held; `None` once released.
    gate: Option<Gate>,
    exited: bool,
    /// Why ptrace could not hold the child (the fallback's warning).
    pub ptrace_refused: Option<String>,
}

/// How a held child waits.
#[derive(Debug)]
enum Gate {
    /// Stopped by ptrace right after `exec`.
    Traced,
    /// Blocked before `exec` reading this pipe's other end.
    Pipe(OwnedFd),
}

/// What the child tells the parent before it execs.
const TRACED: u8 = b'T';
const PIPE_HELD: u8 = b'P';

/// Splits `CMD ARGS` into words on whitespace, honouring single and double
/// quotes; the first word is looked up on `PATH` when it has no `/`.
pub fn command_words(cmd: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in cmd.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(format!("the command `{cmd}` has an unclosed quote."));
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("the command given with -c is empty.".into());
    }
    Ok(words)
}

/// The absolute path of the program `name` (searched on `PATH` without `/`).
pub fn program_path(name: &str) -> Option<String> {
    if name.contains('/') {
        let p = std::path::Path::new(name);
        return p
            .is_file()
            .then(|| std::fs::canonicalize(p).ok())
            .flatten()
            .map(|p| p.display().to_string());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
        .map(|p| p.display().to_string())
}

impl Child {
    /// Forks `words` held before exec.
    pub fn spawn_held(words: &[String]) -> Result<Child, String> {
        let program = program_path(&words[0]).ok_or_else(|| {
            format!(
                "the command `{}` given with -c was not found; give its path or put it on PATH.",
                words[0]
            )
        })?;
        let c_program = CString::new(program.clone())
            .map_err(|_| "the command contains a NUL byte.".to_string())?;
        let c_args: Vec<CString> = words
            .iter()
            .map(|w| CString::new(w.as_str()))
            .collect::<Result<_, _>>()
            .map_err(|_| "the command contains a NUL byte.".to_string())?;
        let mut argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let (gate_read, gate_write) = pipe()?;
        let (status_read, status_write) = pipe()?;
        // SAFETY: the child only calls async-signal-safe functions (close,
        // ptrace, write, read, execv, _exit) on memory prepared before the
        // fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!(
                "could not start the command: {}.",
                std::io::Error::last_os_error()
            ));
        }
        if pid == 0 {
            // SAFETY: see above; the child never returns from this block.
            unsafe {
                libc::close(gate_write.as_raw_fd());
                libc::close(status_read.as_raw_fd());
                let traced = libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) == 0;
                let (tag, errno) = if traced {
                    (TRACED, 0)
                } else {
                    (PIPE_HELD, *libc::__errno_location())
                };
                let msg = [tag, errno.clamp(0, 255) as u8];
                libc::write(status_write.as_raw_fd(), msg.as_ptr().cast(), 2);
                libc::close(status_write.as_raw_fd());
                if !traced {
                    let mut byte = 0u8;
                    // Blocks until the parent releases (or abandons) the child.
                    let n = libc::read(gate_read.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
                    if n != 1 {
                        libc::_exit(127);
                    }
                }
                // Traced: the kernel stops the child with SIGTRAP once the
                // new image is in place.
                libc::execv(c_program.as_ptr(), argv.as_ptr());
                libc::_exit(127);
            }
        }
        drop(gate_read);
        drop(status_write);
        let mut child = Child {
            pid: pid as u32,
            gate: None,
            exited: false,
            ptrace_refused: None,
        };
        let mut msg = [0u8; 2];
        // SAFETY: reads two bytes into a live local buffer.
        let n = unsafe { libc::read(status_read.as_raw_fd(), msg.as_mut_ptr().cast(), 2) };
        if n != 2 {
            return Err("could not start the command: it exited before it could run.".into());
        }
        if msg[0] == TRACED {
            child.gate = Some(Gate::Traced);
            child.wait_exec_stop(&program)?;
        } else {
            child.gate = Some(Gate::Pipe(gate_write));
            let errno = i32::from(msg[1]);
            let text = std::io::Error::from_raw_os_error(errno).to_string();
            child.ptrace_refused = Some(
                text.strip_suffix(&format!(" (os error {errno})"))
                    .unwrap_or(&text)
                    .to_string(),
            );
        }
        Ok(child)
    }

    /// Waits for the traced child's stop after `exec`.
    fn wait_exec_stop(&mut self, program: &str) -> Result<(), String> {
        let mut status = 0;
        loop {
            // SAFETY: a blocking wait on our own child.
            let r = unsafe { libc::waitpid(self.pid as libc::pid_t, &mut status, 0) };
            if r < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            if r < 0 {
                return Err(format!(
                    "could not start the command: {}.",
                    std::io::Error::last_os_error()
                ));
            }
            if libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGTRAP {
                return Ok(());
            }
            if libc::WIFSTOPPED(status) {
                // Another signal before exec: deliver it and wait on.
                // SAFETY: our stopped tracee.
                unsafe {
                    libc::ptrace(
                        libc::PTRACE_CONT,
                        self.pid as libc::pid_t,
                        0,
                        libc::WSTOPSIG(status),
                    )
                };
                continue;
            }
            self.exited = true;
            self.gate = None;
            return Err(format!(
                "the command `{program}` given with -c could not be executed; check that it is a program you may run."
            ));
        }
    }

    /// Lets the held child run its command.
    pub fn release(&mut self) -> Result<(), String> {
        match self.gate.take() {
            None => Ok(()),
            Some(Gate::Traced) => {
                // SAFETY: detaches our stopped tracee, suppressing the
                // exec SIGTRAP.
                let r = unsafe { libc::ptrace(libc::PTRACE_DETACH, self.pid as libc::pid_t, 0, 0) };
                if r != 0 {
                    return Err(format!(
                        "could not start the command: {}.",
                        std::io::Error::last_os_error()
                    ));
                }
                Ok(())
            }
            Some(Gate::Pipe(gate)) => {
                let byte = 1u8;
                // SAFETY: writes one byte from a live local to a live pipe fd.
                let n = unsafe { libc::write(gate.as_raw_fd(), (&byte as *const u8).cast(), 1) };
                if n != 1 {
                    return Err(format!(
                        "could not start the command: {}.",
                        std::io::Error::last_os_error()
                    ));
                }
                Ok(())
            }
        }
    }

    /// Whether the child has exited (reaping it when it has).
    pub fn has_exited(&mut self) -> bool {
        if self.exited {
            return true;
        }
        let mut status = 0;
        // SAFETY: a non-blocking wait on our own child.
        let r = unsafe { libc::waitpid(self.pid as libc::pid_t, &mut status, libc::WNOHANG) };
        self.exited = r == self.pid as libc::pid_t || r < 0;
        self.exited
    }
}

impl Drop for Child {
    /// A child never released was never meant to run: it is killed. A
    /// running command outlives no session either (Ctrl-C, `exit()`): it
    /// gets SIGTERM, and SIGKILL if it has not exited a second later.
    fn drop(&mut self) {
        let pid = self.pid as libc::pid_t;
        let mut signal = if self.gate.take().is_some() {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        for _ in 0..2 {
            if self.has_exited() {
                return;
            }
            // SAFETY: signals our own child, which is not reaped yet.
            unsafe { libc::kill(pid, signal) };
            for _ in 0..100 {
                if self.has_exited() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            signal = libc::SIGKILL;
        }
    }
}

/// A pipe whose ends are closed on `exec`.
fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!(
            "could not create a pipe to start the command: {}.",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: pipe2 returned two fresh fds that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Whether process `pid` still exists (a zombie counts as gone).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_commands() {
        assert_eq!(
            command_words("./prog a 'b c' \"d\"").unwrap(),
            ["./prog", "a", "b c", "d"]
        );
        assert!(command_words("  ").is_err());
        assert!(command_words("x 'y").is_err());
    }

    #[test]
    fn held_child_runs_only_when_released() {
        let mut child = Child::spawn_held(&["true".to_string()]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!child.has_exited());
        child.release().unwrap();
        for _ in 0..200 {
            if child.has_exited() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the released child did not exit");
    }
}
