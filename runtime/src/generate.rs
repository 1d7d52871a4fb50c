//! `--generate man|bash|zsh|fish`: the man page and shell completions,
//! rendered from the same clap definition that parses the command line
//! (clap_mangen, clap_complete), so they cannot list a flag that does not
//! exist or miss one that does. `scripts/setup` installs their output.
//! `options_markdown` renders the options table of `docs/cli.md` the same way.

use crate::cli::{Cli, Generate};
use clap::CommandFactory;
use clap_complete::Shell;

/// The man page's hand-written sections (roff), after the options.
const MAN_EXTRA: &str = r#".SH EXAMPLES
.TP
\fBferrotrace \-e 'tracepoint:syscalls:sys_enter_openat { printf("%s %s\en", comm, str(args.filename)); }'\fR
Print every file opened, with the name of the process opening it.
.TP
\fBferrotrace \-e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'\fR
Count system calls by process until Ctrl\-C, then print the counts.
.TP
\fBferrotrace \-\-explain \-e 'tracepoint:sched:sched_switch { @[args.prev_comm] = count(); }'\fR
Show what the program attaches to, the maps it creates and the eBPF instructions of each line, without running it.
.TP
\fBferrotrace \-\-explain\-hook uprobe\fR
Explain what a uprobe is in the kernel, what it costs and how to try one.
.SH EXIT STATUS
0 on success or the code given to \fBexit(\fIcode\fB)\fR; 1 on any error (a compile error, missing privileges, a kernel refusal).
.SH FILES
Documentation: \fIdocs/language.md\fR, \fIdocs/hooks.md\fR, \fIdocs/cli.md\fR and \fIdocs/migrating\-from\-bpftrace.md\fR in the source tree.
.SH SEE ALSO
\fBbpftrace\fR(8), \fBbpf\fR(2), \fBperf_event_open\fR(2)
"#;

/// Writes the requested document to `out`.
pub fn generate(what: Generate, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    let shell = match what {
        Generate::Man => {
            let man = clap_mangen::Man::new(command)
                .section("8")
                .title("FERROTRACE");
            man.render_title(out)?;
            man.render_name_section(out)?;
            man.render_synopsis_section(out)?;
            man.render_description_section(out)?;
            man.render_options_section(out)?;
            out.write_all(MAN_EXTRA.as_bytes())?;
            return man.render_version_section(out);
        }
        Generate::Bash => Shell::Bash,
        Generate::Zsh => Shell::Zsh,
        Generate::Fish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut command, name, out);
    Ok(())
}

/// The options table of `docs/cli.md`, from the same clap definition.
pub fn options_markdown() -> String {
    let command = Cli::command();
    let mut out = String::from("| option | meaning |\n| --- | --- |\n");
    for arg in command.get_arguments() {
        if arg.is_hide_set() {
            continue;
        }
        let takes_value = arg.get_action().takes_values();
        let value = arg
            .get_value_names()
            .and_then(|v| v.first())
            .filter(|_| takes_value)
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        let mut names = Vec::new();
        if let Some(s) = arg.get_short() {
            names.push(format!("`-{s}{value}`"));
        }
        if let Some(l) = arg.get_long() {
            names.push(format!("`--{l}{value}`"));
        }
        if names.is_empty() {
            names.push(format!("`{}`", value.trim()));
        }
        let help = arg
            .get_long_help()
            .or_else(|| arg.get_help())
            .map(|h| h.to_string().replace('\n', " "))
            .unwrap_or_default();
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| format!("`{}`", v.get_name()))
            .collect();
        let help = if help.is_empty() || help.ends_with('.') {
            help
        } else {
            format!("{help}.")
        };
        let possible = if possible.is_empty() || !takes_value {
            String::new()
        } else {
            format!(" One of {}.", possible.join(", "))
        };
        let _ = std::fmt::Write::write_fmt(
            &mut out,
            format_args!(
                "| {} | {}{possible} |\n",
                names.join(", "),
                help.replace('|', "\\|")
            ),
        );
    }
    out
}
