//! The command line, defined once with clap's derive API. Flags follow
//! bpftrace's spelling so existing muscle memory works.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;

/// A bpftrace-compatible tracer: compiles probe scripts to eBPF, attaches
/// them to kernel and user-space hooks, and prints what they record.
#[derive(Debug, Parser)]
#[command(name = "ferrotrace", version, about, long_about = None)]
pub struct Cli {
    /// The program to run, given on the command line.
    #[arg(short = 'e', value_name = "PROGRAM")]
    pub program: Option<String>,

    /// A script file to run (`-` reads the script from standard input),
    /// followed by the script's positional parameters.
    #[arg(value_name = "FILENAME")]
    pub args: Vec<String>,

    /// How the program's output is buffered: `line` (written at each
    /// newline), `full` (in large blocks, and at exit) or `none` (written at
    /// once). Without it: lines on standard output, blocks for `-o`.
    #[arg(short = 'B', value_enum, value_name = "MODE")]
    pub buffering: Option<Buffering>,

    /// Allow unsafe functions, which change the system rather than only
    /// observe it (`system`, `signal`).
    #[arg(long = "unsafe")]
    pub unsafe_: bool,
    /// Named parameters for `getopt()`, as `--name=value` (or `--flag`)
    /// after `--`.
    #[arg(last = true, value_name = "NAMED")]
    pub named: Vec<String>,

    /// Compile, load and attach everything, then release it all and exit
    /// without running the script.
    #[arg(long)]
    pub dry_run: bool,

    /// Run only the script's `test:` probes, each once, and report which
    /// passed (a test fails on `return N` or `exit(N)` with N not 0).
    #[arg(long, conflicts_with = "bench")]
    pub test: bool,

    /// Run only the script's `bench:` probes, each many times, and report
    /// the average time per run.
    #[arg(long)]
    pub bench: bool,

    /// Print one compiler stage and exit (needs no root).
    #[arg(long, value_enum, value_name = "STAGE")]
    pub emit: Option<Emit>,

    /// List the probes matching the pattern given as the first argument
    /// (e.g. 'tracepoint:syscalls:*', 'uprobe:/bin/bash:*'), or every probe
    /// (with -p, the process's user-space probes), and exit.
    #[arg(short = 'l', long = "list")]
    pub list: bool,

    /// Verbose: with -l, also list each probe's arguments and their types.
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// Also write the maps keyed by kstack/ustack as an interactive SVG
    /// flame graph to this file when tracing ends.
    #[arg(long, value_name = "FILE.svg")]
    pub flamegraph: Option<PathBuf>,

    /// Do not print informational lines such as "Attached N probes".
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Warn, with the script location, when a probe fails to read kernel or
    /// user memory (str(), ppid, USDT arguments). Failed map updates, such
    /// as a full map, are always reported.
    #[arg(short = 'k', long = "warnings")]
    pub warnings: bool,

    /// Do not print warnings (`warnf()` messages among them).
    #[arg(long = "no-warnings")]
    pub no_warnings: bool,

    /// Trace only this process: uprobes and USDT probes attach to it alone,
    /// libraries resolve through its mappings, and tracing stops when it exits.
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pub pid: Option<u32>,

    /// Run this command, held until every probe is attached; its probes are
    /// scoped to it, `cpid` is its pid, and tracing stops when it exits.
    #[arg(short = 'c', long = "cmd", value_name = "CMD")]
    pub cmd: Option<String>,

    /// Do not use these kernel features even where they exist (here:
    /// `uprobe_multi`, so each uprobe gets a perf event of its own).
    #[arg(long = "no-feature", value_name = "FEATURE", value_delimiter = ',')]
    pub no_feature: Vec<NoFeature>,

    /// The output format: bpftrace's text, one JSON object per line, or
    /// `folded` (the maps keyed by kstack/ustack as folded stacks,
    /// `root;caller;callee COUNT`, for flame graph tools).
    #[arg(short = 'f', value_enum, value_name = "FORMAT", default_value = "text")]
    pub format: OutputFormat,

    /// Write the program's output to this file instead of standard output
    /// (informational lines still go to standard error).
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Explain the program instead of running it: each probe's hook and
    /// attach target, its context fields, the maps and why, and the eBPF
    /// instructions under the script lines they came from (needs no root
    /// unless the kernel must be asked about tracepoints).
    #[arg(long)]
    pub explain: bool,

    /// Print the teaching guide's entry for one hook kind (`tracepoint`,
    /// `uprobe`, `profile`, ...) and exit.
    #[arg(long, value_name = "KIND")]
    pub explain_hook: Option<String>,

    /// Print the man page (roff) or a shell completion script on stdout
    /// and exit; `scripts/setup` installs them.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub generate: Option<Generate>,
}

/// A kernel feature `--no-feature` can turn off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NoFeature {
    /// uprobe_multi links (Linux 6.6+) for uprobes and USDT probes.
    #[value(name = "uprobe_multi")]
    UprobeMulti,
}

/// What `--generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    /// The ferrotrace.8 man page (roff).
    Man,
    /// bash completions.
    Bash,
    /// zsh completions.
    Zsh,
    /// fish completions.
    Fish,
}

/// What `-B` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Buffering {
    /// Written at each newline.
    Line,
    /// Written in large blocks, and at exit.
    Full,
    /// Written at once.
    None,
}

/// What `-f` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// bpftrace's text output.
    Text,
    /// One JSON object per line, as bpftrace writes them.
    Json,
    /// Folded stacks of the maps keyed by kstack/ustack (printf output
    /// and other maps are printed as text).
    Folded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// The syntax tree.
    Ast,
    /// The typed IR.
    Ir,
    /// The LLVM IR.
    Llvm,
    /// The BPF assembly.
    Asm,
}

/// Where the script comes from.
pub enum ScriptSource {
    Inline(String),
    Stdin,
    File(PathBuf),
}

impl Cli {
    /// The script source and its positional parameters.
    pub fn script(&self) -> Option<(ScriptSource, &[String])> {
        if let Some(p) = &self.program {
            return Some((ScriptSource::Inline(p.clone()), &self.args));
        }
        let (first, rest) = self.args.split_first()?;
        let source = if first == "-" {
            ScriptSource::Stdin
        } else {
            ScriptSource::File(PathBuf::from(first))
        };
        Some((source, rest))
    }
}
