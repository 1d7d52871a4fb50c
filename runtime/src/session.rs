//! One run of ferrotrace, from script text to exit code.
//!
//! The order is bpftrace's: compile (stopping early for `--emit`), check
//! privileges, load every program and map, run BEGIN, attach every other
//! probe, print `Attached N probes` on stderr, then stream events until
//! `exit()`, Ctrl-C or SIGTERM; then detach, run END, print two newlines
//! and every non-empty map. While events stream, `self:signal:` programs
//! run when their signal has arrived and the watchpoints `unwatch()` named
//! are detached. `--test`/`--bench` hand the loaded object to `testmode`
//! instead. All kernel objects are owned by one `LoadedObject`, so they
//! are released however the session ends.

use crate::bpf::{BpfError, LoadedObject};
use crate::child;
use crate::cli::{Buffering, Cli, Emit, OutputFormat, ScriptSource};
use crate::kernel_info::SystemKernel;
use crate::output::folded::folded_lines;
use crate::output::located;
use crate::output::timefmt::local_strftime;
use crate::output::{
    decode_field, decode_fields, decode_map, format_pieces, Format, MapDatum, MapSnapshot, Printer,
};
use crate::signals;
use crate::symbolize::StackResolver;
use ferrotrace_compiler::diagnostics::{has_errors, render, Diagnostic};
use ferrotrace_compiler::manifest::{Artifact, AttachSpec, EventSpec, Field, MapRole, ValueKind};
use ferrotrace_compiler::{codegen, sema, syntax, Manifest, SourceFile};
use ferrotrace_stdlib::printf::{self, Piece};
use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

/// Runs a session and returns the process exit code.
pub fn run(cli: &Cli) -> i32 {
    match run_inner(cli) {
        Ok(code) => code,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            1
        }
    }
}

fn run_inner(cli: &Cli) -> Result<i32, String> {
    if cli.list {
        let pattern = cli.args.first().map(String::as_str);
        let user = match pattern {
            Some(p) => crate::user_listing::is_user_pattern(p),
            None => cli.pid.is_some(),
        };
        if user {
            return list_user_probes(pattern, cli.pid);
        }
        crate::listing::list(pattern, cli.verbose, &mut std::io::stdout().lock())?;
        return Ok(0);
    }
    if let Some(what) = cli.generate {
        crate::generate::generate(what, &mut std::io::stdout().lock())
            .map_err(|e| format!("ERROR: cannot write to standard output: {e}."))?;
        return Ok(0);
    }
    if let Some(kind) = &cli.explain_hook {
        print!("{}", crate::explain::explain_hook(kind)?);
        return Ok(0);
    }
    if cli.no_feature.contains(&crate::cli::NoFeature::UprobeMulti) {
        crate::bpf::uprobe::disable_uprobe_multi();
    }
    let Some((script, params)) = cli.script() else {
        return Err("ERROR: no program given: pass a script file, `-` for standard input, or -e 'PROGRAM'.\n\
                    Try `ferrotrace -e 'BEGIN { printf(\"hello\\n\"); exit(); }'` or `ferrotrace --help`."
            .to_string());
    };
    let mut source = read_script(script)?;
    let read = |path: &std::path::Path| std::fs::read_to_string(path);
    let import_diags = syntax::imports::resolve(&mut source, &read);
    report(&source, &import_diags)?;
    let mut options = crate::params::options(params, &cli.named)?;
    options.allow_unsafe = cli.unsafe_;
    options.target = target(cli)?;
    let Some(artifact) = compile(&source, cli.emit, &options, cli.warnings)? else {
        return Ok(0);
    };
    if cli.explain {
        print!(
            "{}",
            crate::explain::explain(&artifact, &source, &SystemKernel)?
        );
        return Ok(0);
    }
    check_privileges()?;
    execute(&artifact, &source, cli)
}

fn read_script(script: ScriptSource) -> Result<SourceFile, String> {
    match script {
        ScriptSource::Inline(text) => Ok(SourceFile::new("stdin", text)),
        ScriptSource::Stdin => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("ERROR: cannot read the script from standard input: {e}."))?;
            Ok(SourceFile::new("stdin", text))
        }
        ScriptSource::File(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "ERROR: cannot read the script file {}: {e}.",
                    path.display()
                )
            })?;
            Ok(SourceFile::new(path.display().to_string(), text))
        }
    }
}

/// Compiles the script, printing diagnostics. Returns `None` when an
/// `--emit` stage was printed instead.
fn compile(
    source: &SourceFile,
    emit: Option<Emit>,
    options: &sema::Options,
    helper_warnings: bool,
) -> Result<Option<Artifact>, String> {
    let (ast, diags) = syntax::parse(source);
    report(source, &diags)?;
    if emit == Some(Emit::Ast) {
        print!("{}", syntax::print::print(&ast));
        return Ok(None);
    }
    let (program, diags) = sema::analyze_with(&ast, &SystemKernel, options);
    report(source, &diags)?;
    let internal = |e: codegen::CodegenError| format!("ERROR: {e}");
    match emit {
        Some(Emit::Ir) => print!("{program}"),
        Some(Emit::Llvm) => print!("{}", codegen::emit_llvm(&program).map_err(internal)?),
        Some(Emit::Asm) => print!("{}", codegen::emit_asm(&program).map_err(internal)?),
        Some(Emit::Ast) | None => {
            let options = codegen::Options {
                helper_warnings,
                ..codegen_options()
            };
            return codegen::generate_with(&program, source, &options)
                .map(Some)
                .map_err(internal);
        }
    }
    Ok(None)
}

/// Code generation choices from the environment: `FERROTRACE_SYSCALL_DISPATCH=0`
/// gives every syscall tracepoint probe its own perf event, as bpftrace does
/// (slow to attach and release; for comparison and debugging). The
/// dispatcher knows the x86-64 syscall table and `pt_regs` only, so other
/// architectures always use one perf event per tracepoint. Kernels from
/// 6.6 on get BPF CPU v4 code, whose long jumps large probes need
/// (`FERROTRACE_BPF_CPU=v3` keeps v3, for comparison and debugging).
fn codegen_options() -> codegen::Options {
    codegen::Options {
        syscall_dispatch: cfg!(target_arch = "x86_64")
            && std::env::var("FERROTRACE_SYSCALL_DISPATCH").as_deref() != Ok("0"),
        cpu_v4: std::env::var("FERROTRACE_BPF_CPU").as_deref() != Ok("v3")
            && crate::kernel_info::supports_cpu_v4(),
        helper_warnings: false,
    }
}

/// Prints diagnostics on stderr; fails (with nothing more to say) on errors.
fn report(source: &SourceFile, diags: &[Diagnostic]) -> Result<(), String> {
    if !diags.is_empty() {
        eprint!("{}", render(diags, source, std::io::stderr().is_terminal()));
    }
    if has_errors(diags) {
        return Err(String::new());
    }
    Ok(())
}

/// Loading BPF needs root, or CAP_BPF with CAP_PERFMON (or CAP_SYS_ADMIN).
fn check_privileges() -> Result<(), String> {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let has = |c: u32| caps & (1 << c) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    Err("ERROR: ferrotrace needs root (or the CAP_BPF and CAP_PERFMON capabilities) to load BPF programs; run it with sudo.".to_string())
}

/// Loads, attaches, runs and tears down a compiled script.
fn execute(artifact: &Artifact, source: &SourceFile, cli: &Cli) -> Result<i32, String> {
    let manifest = &artifact.manifest;
    let fail = |e: BpfError| bpf_error(&e, source);
    crate::config_effects::apply(manifest)?;
    // Before anything is attached, so a signal arriving right after
    // "Attached" is already seen as a request to stop.
    signals::install();
    for spec in &manifest.programs {
        if let AttachSpec::SelfSignal { signal } = spec.attach {
            signals::install_self_signal(signal);
        }
    }
    let mut object = LoadedObject::load(artifact).map_err(fail)?;
    if cli.test || cli.bench {
        return crate::testmode::run(&object, cli, printer(cli)?).map_err(fail);
    }
    let mut child = match &cli.cmd {
        Some(cmd) => Some(
            child::Child::spawn_held(
                &child::command_words(cmd).map_err(|e| format!("ERROR: {e}"))?,
            )
            .map_err(|e| format!("ERROR: {e}"))?,
        ),
        None => None,
    };
    if let Some(reason) = child.as_ref().and_then(|c| c.ptrace_refused.as_ref()) {
        eprintln!("WARNING: the -c command could not be held with ptrace ({reason}); it is held before exec instead, so probes also see the kernel loading it.");
    }
    object.set_target_pid(child.as_ref().map(|c| c.pid).or(cli.pid));
    if let Some(c) = &child {
        object.set_cpid(c.pid).map_err(fail)?;
    }
    // BEGIN runs before the other probes are attached (as in bpftrace), so
    // what it prints and the maps it sets come before any event.
    if !cli.dry_run {
        object.set_start_time().map_err(fail)?;
        run_special(&object, &AttachSpec::Begin).map_err(fail)?;
    }
    for index in 0..manifest.programs.len() {
        object.attach(index).map_err(fail)?;
    }
    let mut printer = printer(cli)?;
    if !cli.quiet {
        printer.attached(manifest.probe_count() as u64);
        printer.flush();
    }
    if cli.dry_run {
        return Ok(0);
    }
    let stacks = StackResolver::new(object.stack_maps().map_err(fail)?)
        .demangle(manifest.config.more.cpp_demangle);
    let mut sink = EventSink::new(manifest, printer, stacks);
    sink.source = Some(source);
    let mut events = object.event_reader().map_err(fail)?;

    if let Some(c) = &mut child {
        c.release().map_err(|e| format!("ERROR: {e}"))?;
    }
    if object.has_iterators() {
        // An iterator walks its objects once while it is read; then the
        // session ends, as in bpftrace.
        object.run_iterators().map_err(fail)?;
        sink.exit.get_or_insert(0);
    }
    while sink.exit.is_none() && !signals::stop_requested() && !target_gone(&mut child, cli.pid) {
        events
            .poll(POLL_INTERVAL, &mut |r| sink.record(r, &object))
            .map_err(fail)?;
        sink.report_lost(&object);
        for signal in signals::take_self_signals() {
            run_special(&object, &AttachSpec::SelfSignal { signal }).map_err(fail)?;
        }
        for addr in std::mem::take(&mut sink.unwatch) {
            object.unwatch(addr);
        }
        if cli.buffering != Some(Buffering::Full) {
            sink.flush();
        }
    }
    object.detach_all();
    // Events already in the buffer when tracing stopped are still shown.
    events
        .poll(Duration::ZERO, &mut |r| sink.record(r, &object))
        .map_err(fail)?;
    run_special(&object, &AttachSpec::End).map_err(fail)?;
    events
        .poll(Duration::ZERO, &mut |r| sink.record(r, &object))
        .map_err(fail)?;
    sink.report_lost(&object);
    let code = sink.exit.unwrap_or(0);
    let maps = read_maps(&object, &mut sink.stacks).map_err(fail)?;
    if object.manifest().config.print_maps_on_exit {
        match cli.format {
            OutputFormat::Folded => {
                for line in folded_lines(&maps) {
                    sink.out.printf(&format!("{line}\n"));
                }
            }
            _ => sink.out.maps_at_exit(&maps),
        }
    }
    if let Some(w) = sink.stacks.unrecorded_warning() {
        eprintln!("{w}");
    }
    sink.out.lost_total(sink.lost);
    sink.flush();
    if let Some(path) = &cli.flamegraph {
        let title = format!("ferrotrace {}", source.name);
        let drawn = crate::flamegraph::write_flamegraph(path, &title, &maps)?;
        if !cli.quiet {
            eprintln!(
                "Wrote a flame graph of {drawn} stacks to {}",
                path.display()
            );
        }
    }
    Ok(code)
}

/// `-l` for `uprobe:`/`uretprobe:`/`usdt:` patterns, or a `-p` process's
/// user-space probes.
fn list_user_probes(pattern: Option<&str>, pid: Option<u32>) -> Result<i32, String> {
    let lines = crate::user_listing::list(pattern, pid).map_err(|e| format!("ERROR: {e}"))?;
    let mut out = std::io::stdout().lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    Ok(0)
}

/// The process the command line targets, checked before compiling.
fn target(cli: &Cli) -> Result<sema::Target, String> {
    if cli.pid.is_some() && cli.cmd.is_some() {
        return Err(
            "ERROR: -p and -c cannot be used together: trace a running process or start one."
                .into(),
        );
    }
    if let Some(pid) = cli.pid {
        if !child::process_alive(pid) {
            return Err(format!(
                "ERROR: process {pid} does not exist; check the pid given with -p."
            ));
        }
    }
    let command = match &cli.cmd {
        Some(cmd) => {
            let words = child::command_words(cmd).map_err(|e| format!("ERROR: {e}"))?;
            // Checked before compiling, so a typo costs no BPF load.
            Some(child::program_path(&words[0]).ok_or_else(|| {
                format!(
                    "ERROR: the command `{}` given with -c was not found; give its path or put it on PATH.",
                    words[0]
                )
            })?)
        }
        None => None,
    };
    Ok(sema::Target {
        pid: cli.pid,
        has_child: cli.cmd.is_some(),
        command,
        ..Default::default()
    })
}

/// Whether the `-c` command or the `-p` process has exited, which ends tracing.
fn target_gone(child: &mut Option<child::Child>, pid: Option<u32>) -> bool {
    match (child, pid) {
        (Some(c), _) => c.has_exited(),
        (None, Some(pid)) => !child::process_alive(pid),
        (None, None) => false,
    }
}

/// The printer for `-f` and `-o`: program output to the file or stdout,
/// informational lines to stderr.
pub(crate) fn printer(cli: &Cli) -> Result<Printer<'static>, String> {
    let format = match cli.format {
        // Folded stacks replace the maps at exit; the rest is text.
        OutputFormat::Text | OutputFormat::Folded => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    let out: Box<dyn Write> = match &cli.output {
        Some(path) => crate::buffering::wrap(
            std::fs::File::create(path).map_err(|e| {
                format!(
                    "ERROR: cannot create the output file {}: {e}.",
                    path.display()
                )
            })?,
            cli.buffering.unwrap_or(Buffering::Full),
        ),
        None => crate::buffering::wrap(std::io::stdout(), cli.buffering.unwrap_or(Buffering::Line)),
    };
    let mut printer = Printer::new(format, out, Box::new(std::io::stderr()));
    if cli.no_warnings {
        printer.silence_warnings();
    }
    Ok(printer)
}

/// How long one wait for events may block; signals interrupt it sooner.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Runs every BEGIN (or END, or `self:signal:` probe of one signal)
/// program once, in declaration order.
fn run_special(object: &LoadedObject, which: &AttachSpec) -> Result<(), BpfError> {
    let indexes: Vec<usize> = object
        .manifest()
        .programs
        .iter()
        .enumerate()
        .filter(|(_, p)| &p.attach == which)
        .map(|(i, _)| i)
        .collect();
    for i in indexes {
        object.run_once(i)?;
    }
    Ok(())
}

/// Turns event records into output and map actions, following the
/// manifest's layouts.
pub(crate) struct EventSink<'m, 'w> {
    manifest: &'m Manifest,
    /// Each event's printf format, parsed once (empty for other events).
    formats: Vec<Vec<Piece<'m>>>,
    out: Printer<'w>,
    pub(crate) exit: Option<i32>,
    /// Addresses `unwatch()` asked to stop watching, for the event loop.
    pub(crate) unwatch: Vec<u64>,
    /// Lost events already reported.
    lost: u64,
    /// Reads and symbolizes the stacks in records and maps.
    stacks: StackResolver,
    /// The script, for the location of `assert` failures and helper errors.
    source: Option<&'m SourceFile>,
}

impl<'m, 'w> EventSink<'m, 'w> {
    pub(crate) fn new(manifest: &'m Manifest, out: Printer<'w>, stacks: StackResolver) -> Self {
        let formats = manifest
            .events
            .iter()
            .map(|e| match e {
                EventSpec::Printf { format, .. }
                | EventSpec::System { format, .. }
                | EventSpec::Cat { format, .. }
                | EventSpec::Message { format, .. } => printf::parse(format),
                _ => Vec::new(),
            })
            .collect();
        EventSink {
            manifest,
            formats,
            out,
            exit: None,
            unwatch: Vec::new(),
            lost: 0,
            stacks,
            source: None,
        }
    }

    /// Reports events lost since the last report (`Lost N events`).
    fn report_lost(&mut self, object: &LoadedObject) {
        let total = object.lost_events();
        if total > self.lost {
            self.out.lost(total - self.lost);
            self.lost = total;
        }
    }

    pub(crate) fn record(&mut self, record: &[u8], object: &LoadedObject) {
        let Some(index) = record
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
        else {
            return;
        };
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        match self.manifest.events.get(index) {
            Some(
                spec @ (EventSpec::Printf { args, .. }
                | EventSpec::System { args, .. }
                | EventSpec::Cat { args, .. }
                | EventSpec::Message { args, .. }),
            ) => {
                let pieces = self.formats.get(index).map_or(&[][..], Vec::as_slice);
                let mut values = decode_fields(record, args);
                self.stacks.resolve_all(&mut values);
                let text = format_pieces(pieces, &values);
                match spec {
                    EventSpec::System { .. } => {
                        self.out.flush();
                        match crate::unsafe_actions::run_system(&text) {
                            Ok(output) => self.out.system(&output),
                            Err(e) => eprintln!("{e}"),
                        }
                    }
                    EventSpec::Cat { .. } => match crate::unsafe_actions::read_file(
                        &text,
                        self.manifest.config.more.max_cat_bytes,
                    ) {
                        Ok(contents) => self.out.cat(&contents),
                        Err(e) => eprintln!("{e}"),
                    },
                    EventSpec::Message {
                        error, start, end, ..
                    } => {
                        if *error || !self.out.warnings_silenced() {
                            let at = self.location(*start, *end);
                            let (text, json) = located::message(&at, *error, &text);
                            self.out.located(&text, &json);
                        }
                    }
                    _ => self.out.printf(&text),
                }
            }
            Some(EventSpec::Time { format }) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                self.out.time(&local_strftime(format, now));
            }
            Some(EventSpec::Join {
                sep,
                max_args,
                arg_size,
            }) => {
                let count = decode_field(record, &u64_at(8))
                    .as_bits()
                    .min(u64::from(*max_args));
                let args: Vec<String> = (0..count)
                    .map(|i| {
                        let field = Field {
                            offset: 16 + u32::try_from(i).unwrap_or(0) * arg_size,
                            kind: ValueKind::Str { len: *arg_size },
                        };
                        decode_field(record, &field).to_string()
                    })
                    .collect();
                self.out.join(&args, sep);
            }
            Some(EventSpec::PrintValue { value }) => {
                let mut v = decode_field(record, value);
                self.stacks.resolve(&mut v);
                self.out.value(&v);
            }
            Some(EventSpec::PrintMap { map, top, div }) => {
                match read_map(object, map, &mut self.stacks) {
                    Ok(Some(snapshot)) => self.out.map(&snapshot, *top, *div),
                    Ok(None) => {}
                    Err(e) => eprintln!("WARNING: print() could not read a map: {e}"),
                }
            }
            Some(EventSpec::ClearMap { map }) => {
                if let Err(e) = object.clear_map(map) {
                    eprintln!("WARNING: clear() failed: {e}");
                }
            }
            Some(EventSpec::ZeroMap { map }) => {
                if let Err(e) = object.zero_map(map) {
                    eprintln!("WARNING: zero() failed: {e}");
                }
            }
            Some(EventSpec::AssertFailed {
                message,
                start,
                end,
            }) => {
                let at = self.location(*start, *end);
                let (text, json) = located::assert_failed(&at, message);
                self.out.located(&text, &json);
            }
            Some(EventSpec::HelperError { helper, start, end }) => {
                let retcode = record
                    .get(8..16)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, i64::from_le_bytes);
                let at = self.location(*start, *end);
                let (text, json) = located::helper_error(&at, helper, retcode);
                self.out.located(&text, &json);
            }
            Some(EventSpec::DivideByZero { start, end }) => {
                let at = self.location(*start, *end);
                let (text, json) = located::divide_by_zero(&at);
                self.out.located(&text, &json);
            }
            Some(EventSpec::Unwatch) => {
                self.unwatch
                    .push(decode_field(record, &u64_at(8)).as_bits());
            }
            Some(EventSpec::Exit) => {
                let code = record
                    .get(8..16)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, i64::from_le_bytes);
                // The first exit() wins; END's own output still follows it.
                self.exit.get_or_insert(i32::try_from(code).unwrap_or(1));
            }
            None => eprintln!("WARNING: ignored an event record of unknown kind {index}"),
        }
    }

    pub(crate) fn flush(&mut self) {
        self.out.flush();
    }

    /// Where bytes `start..end` of the script are.
    fn location(&self, start: usize, end: usize) -> located::Location {
        let empty = SourceFile::new("stdin", "");
        located::Location::of(self.source.unwrap_or(&empty), start, end)
    }
}

/// An unsigned 64-bit field at `offset` of an event record.
fn u64_at(offset: u32) -> Field {
    Field {
        offset,
        kind: ValueKind::Int {
            size: 8,
            signed: false,
        },
    }
}

/// Reads and decodes the script map named `elf_name` (`None` for a map
/// that is not a script map).
fn read_map(
    object: &LoadedObject,
    elf_name: &str,
    stacks: &mut StackResolver,
) -> Result<Option<MapSnapshot>, BpfError> {
    let Some(spec) = object
        .manifest()
        .maps
        .iter()
        .find(|m| m.elf_name == elf_name)
    else {
        return Ok(None);
    };
    let MapRole::User { name, key, value } = &spec.role else {
        return Ok(None);
    };
    let raw: Vec<(Vec<u8>, Vec<Vec<u8>>)> = object
        .read_map(&spec.elf_name)?
        .into_iter()
        .map(|e| (e.key, e.values))
        .collect();
    let mut map = decode_map(name, key, value, &raw);
    crate::tai::to_wall_clock(&mut map);
    // Stacks and symbols in keys and plain values are read and symbolized.
    for (key, datum) in &mut map.entries {
        stacks.resolve_all(key);
        if let MapDatum::Value(v) = datum {
            stacks.resolve(v);
        }
    }
    Ok(Some(map))
}

/// Reads every script map, for printing at exit.
fn read_maps(
    object: &LoadedObject,
    stacks: &mut StackResolver,
) -> Result<Vec<MapSnapshot>, BpfError> {
    let mut maps = Vec::new();
    for spec in &object.manifest().maps {
        if let Some(m) = read_map(object, &spec.elf_name, stacks)? {
            maps.push(m);
        }
    }
    Ok(maps)
}

/// Renders a load or attach failure as a user-facing message.
fn bpf_error(e: &BpfError, source: &SourceFile) -> String {
    if let Some(msg) = crate::config_effects::license_refusal(e) {
        return msg;
    }
    if let (Some(reason), BpfError::Verifier { probe, .. }) =
        (crate::bpf::kinds::refused_helper(e), e)
    {
        return format!("ERROR: the kernel refused to load probe {probe}: {reason}");
    }
    match e {
        BpfError::Verifier {
            probe,
            line,
            column,
            log_tail,
        } => {
            let text = source
                .text
                .lines()
                .nth(line.saturating_sub(1))
                .unwrap_or("");
            let mut msg = format!(
                "{}:{line}:{column}: ERROR: the kernel's verifier rejected the program of probe {probe}\n{text}\n{}^\n",
                source.name,
                " ".repeat(column.saturating_sub(1))
            );
            msg.push_str("note: the verifier's last lines were:\n");
            for l in log_tail {
                msg.push_str(&format!("    {l}\n"));
            }
            msg.push_str("help: this is a ferrotrace bug if the script is valid; please report it with the script.");
            msg
        }
        other => format!("ERROR: {other}"),
    }
}
