//! `--generate man|bash|zsh|fish`: the man page and shell completions,
//! rendered from the same clap definition that parses the command line
//! (clap_mangen, clap_complete), so they cannot list a flag that does not
//! exist or miss one that does. `scripts/setup` installs their output.

use crate::cli::{Cli, Generate};
use clap::CommandFactory;
use clap_complete::Shell;

/// Writes the requested document to `out`.
pub fn generate(what: Generate, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    let shell = match what {
        Generate::Man => {
            return clap_mangen::Man::new(command)
                .section("8")
                .title("FERROTRACE")
                .render(out);
        }
        Generate::Bash => Shell::Bash,
        Generate::Zsh => Shell::Zsh,
        Generate::Fish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut command, name, out);
    Ok(())
}
