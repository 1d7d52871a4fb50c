//! What the command line and environment give the compiler besides the
//! script: positional parameters (`$1`..`$N`), named parameters for
//! `getopt()` (`--name=value` or `--flag` after `--`), and the
//! `BPFTRACE_*` environment variables that override the `config` block.

use ferrotrace_compiler::sema::Options;

/// Builds the checker's options; a malformed named parameter is an error
/// sentence.
pub fn options(positional: &[String], named: &[String]) -> Result<Options, String> {
    let mut out = Options {
        positional: positional.to_vec(),
        ..Options::default()
    };
    for arg in named {
        let Some(body) = arg.strip_prefix("--").filter(|b| !b.is_empty()) else {
            return Err(format!(
                "ERROR: named parameter {arg:?} must be written --name=value or --name (after `--`)."
            ));
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (body.to_string(), String::new()),
        };
        out.named.push((name, value));
    }
    out.env = std::env::vars()
        .filter(|(k, _)| k.starts_with("BPFTRACE_"))
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_split_on_equals() {
        let o = options(&["7".into()], &["--n=3".into(), "--verbose".into()]);
        let o = o.unwrap_or_default();
        assert_eq!(o.positional, ["7"]);
        assert_eq!(
            o.named,
            [
                ("n".to_string(), "3".to_string()),
                ("verbose".to_string(), String::new())
            ]
        );
        assert!(options(&[], &["x".into()]).is_err());
    }
}
