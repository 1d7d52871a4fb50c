//! The `-c CMD` child: forked before the probes are attached and held
//! before `exec` (it blocks reading a pipe) until every probe is attached,
//! so even its first instructions are traced; then released, and watched
//! so the session ends when it exits. The `-p PID` target is watched the
//! same way. A command still running when the session ends is terminated.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A command started held before `exec`.
#[derive(Debug)]
pub struct Child {
    pub pid: u32,
    /// The write end of the pipe the child waits on; `None` once released.
    gate: Option<OwnedFd>,
    exited: bool,
}

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
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(format!(
                "could not create a pipe to start the command: {}.",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: pipe2 returned two fresh fds that nothing else owns.
        let (read_end, write_end) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: the child only calls async-signal-safe functions (close,
        // read, execv, _exit) on memory prepared before the fork.
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
                libc::close(write_end.as_raw_fd());
                let mut byte = 0u8;
                // Blocks until the parent releases (or abandons) the child.
                let n = libc::read(read_end.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
                if n == 1 {
                    libc::execv(c_program.as_ptr(), argv.as_ptr());
                }
                libc::_exit(127);
            }
        }
        drop(read_end);
        Ok(Child {
            pid: pid as u32,
            gate: Some(write_end),
            exited: false,
        })
    }

    /// Lets the held child exec its command.
    pub fn release(&mut self) -> Result<(), String> {
        let Some(gate) = self.gate.take() else {
            return Ok(());
        };
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
