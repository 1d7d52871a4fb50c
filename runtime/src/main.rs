//! The `ferrotrace` binary: parses the command line and runs a session.
fn main() {}
