//! The `ferrotrace` binary: parses the command line and runs a session.
//! The exit code is the session's: 0 on success (or the code given to
//! `exit(code)`), 1 on any error.

use clap::Parser;
use ferrotrace_runtime::{cli::Cli, session};

fn main() {
    let cli = Cli::parse();
    std::process::exit(session::run(&cli));
}
