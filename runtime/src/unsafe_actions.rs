//! The unsafe actions the runtime performs for a script run with
//! `--unsafe`: `system()` runs its formatted command with `/bin/sh -c`,
//! waits for it, and hands back its standard output to print in event
//! order (its standard error goes to ours). `cat()`, which shares the
//! printf-shaped record but needs no `--unsafe`, reads its file here too.

use crate::output::rawbytes::{escape, unescape};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};

/// The first `max_bytes` bytes of `path` for `cat()` (the `max_cat_bytes`
/// config key; not unsafe: it only reads, as the user running the tracer
/// may). Path and contents are bytes, carried as `rawbytes` strings.
pub fn read_file(path: &str, max_bytes: u64) -> Result<String, String> {
    use std::io::Read;
    std::fs::File::open(OsStr::from_bytes(&unescape(path)))
        .and_then(|f| {
            let mut bytes = Vec::new();
            f.take(max_bytes).read_to_end(&mut bytes).map(|_| bytes)
        })
        .map(|b| escape(&b))
        .map_err(|e| format!("ERROR: cat() could not read file '{path}': {e}; check the path and its permissions."))
}

/// Runs `command` with `/bin/sh -c` and returns its standard output.
pub fn run_system(command: &str) -> Result<String, String> {
    let output = Command::new("/bin/sh")
        .arg("-c")
        .arg(OsStr::from_bytes(&unescape(command)))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            format!("WARNING: system() could not run `{command}` with /bin/sh: {e}. Check that /bin/sh exists and is executable.")
        })?;
    Ok(escape(&output.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_through_the_shell() {
        assert_eq!(run_system("echo a; echo b").as_deref(), Ok("a\nb\n"));
    }
}
