//! The unsafe actions the runtime performs for a script run with
//! `--unsafe`: `system()` runs its formatted command with `/bin/sh -c`,
//! waits for it, and hands back its standard output to print in event
//! order (its standard error goes to ours).

use std::process::{Command, Stdio};

/// Runs `command` with `/bin/sh -c` and returns its standard output.
pub fn run_system(command: &str) -> Result<String, String> {
    let output = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| {
            format!("WARNING: system() could not run `{command}` with /bin/sh: {e}. Check that /bin/sh exists and is executable.")
        })?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_through_the_shell() {
        assert_eq!(run_system("echo a; echo b").as_deref(), Ok("a\nb\n"));
    }
}
