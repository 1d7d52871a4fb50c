//! Teaching mode: `--explain` describes a compiled script without loading
//! it, and `--explain-hook KIND` prints one entry of the hook guide.
//!
//! For each probe `explain` prints the hook kind and what it means (from the
//! stdlib catalogue), the concrete attach target (from the Manifest), the
//! context fields the program can read (tracepoint fields through
//! `KernelInfo`), then the maps the script creates and why each has its
//! kind, and finally the program's eBPF instructions interleaved with the
//! script lines they came from. Instructions are read back from the ELF with
//! aya-obj, map references relocated to names, and matched to lines through
//! the BTF.ext line info the compiler emits. Nothing here touches the
//! kernel except through the `KernelInfo` it is given.

use ferrotrace_compiler::kernel::KernelInfo;
use ferrotrace_compiler::manifest::{
    Artifact, AttachSpec, Field, MapKind, MapRole, MapSpec, MapValueSpec, ProgramSpec, ValueKind,
};
use ferrotrace_compiler::{sema, SourceFile};
use ferrotrace_stdlib::docgen;
use ferrotrace_stdlib::probes::PROBE_KINDS;
use ferrotrace_stdlib::ProbeKind;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;

/// The text of `--explain-hook KIND`, or an error with a suggestion.
pub fn explain_hook(kind: &str) -> Result<String, String> {
    if let Some((kind, _)) = ProbeKind::lookup(kind) {
        return Ok(docgen::hook_text(kind));
    }
    let lowered = kind.to_ascii_lowercase();
    let spellings = PROBE_KINDS.iter().flat_map(|i| {
        std::iter::once(i.name)
            .chain(i.aliases.iter().copied())
            .chain(i.deprecated.iter().copied())
    });
    let mut message = format!("ERROR: there is no hook kind `{kind}`.");
    match ferrotrace_stdlib::nearest(&lowered, spellings) {
        Some(near) => {
            let _ = write!(message, "\nhelp: did you mean `{near}`?");
        }
        None => {
            let names: Vec<&str> = PROBE_KINDS.iter().map(|i| i.name).collect();
            let _ = write!(message, "\nhelp: the kinds are {}.", names.join(", "));
        }
    }
    Err(message)
}

/// Describes a compiled script: probes, maps and annotated instructions.
pub fn explain(
    artifact: &Artifact,
    source: &SourceFile,
    kernel: &dyn KernelInfo,
) -> Result<String, String> {
    let manifest = &artifact.manifest;
    let code = Code::read(artifact)?;
    let mut out = String::new();
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    docgen::wrap(
        &mut out,
        &format!(
            "This script compiles to {} and {}, described below. Nothing has been \
             loaded or attached: run it without --explain to trace.",
            plural(manifest.programs.len(), "eBPF program"),
            plural(manifest.maps.len(), "map")
        ),
        "",
    );
    out.push('\n');
    for (index, spec) in manifest.programs.iter().enumerate() {
        explain_probe(&mut out, index, spec, kernel);
    }
    explain_maps(&mut out, &manifest.maps);
    for (index, spec) in manifest.programs.iter().enumerate() {
        let _ = writeln!(
            out,
            "\nInstructions of probe {} ({}):",
            index + 1,
            spec.probe
        );
        code.listing(&mut out, spec, source)?;
    }
    Ok(out)
}

fn explain_probe(out: &mut String, index: usize, spec: &ProgramSpec, kernel: &dyn KernelInfo) {
    let _ = writeln!(
        out,
        "Probe {}: {} (line {})",
        index + 1,
        spec.probe,
        spec.line
    );
    // The probe's display name starts with its kind as the user spelled it
    // in the canonical form (`BEGIN`, `tracepoint:...`, `interval:...`).
    let kind_name = spec.probe.split(':').next().unwrap_or_default();
    if let Some((kind, _)) = ProbeKind::lookup(kind_name) {
        let info = kind.info();
        let _ = writeln!(out, "  hook kind: {}", info.name);
        docgen::wrap(out, info.explain, "    ");
        let _ = writeln!(out, "    (more: ferrotrace --explain-hook {})", info.name);
    }
    docgen::wrap(
        out,
        &format!("attaches to: {}", attach_text(&spec.attach)),
        "  ",
    );
    let _ = writeln!(out, "  context:");
    match &spec.attach {
        AttachSpec::Tracepoint { category, name } => {
            tracepoint_fields(out, category, name, kernel);
        }
        AttachSpec::SyscallDispatch { probes, .. } => {
            for probe in probes {
                let name = probe.rsplit(':').next().unwrap_or_default();
                let _ = writeln!(out, "    {probe}:");
                tracepoint_fields(out, "syscalls", name, kernel);
            }
        }
        AttachSpec::RawTracepoint { name } if typed_args(out, kernel.raw_tracepoint_args(name)) => {
        }
        AttachSpec::Fentry { function, .. }
            if typed_args(out, kernel.function_param_types(function)) => {}
        _ => {
            let context = ProbeKind::lookup(kind_name).map_or("", |(k, _)| k.info().context);
            let _ = writeln!(out, "    {context}");
        }
    }
    // `probe`, `argN`, `retval` and `func` depend on the probe, `cpid` on -c,
    // not on the task.
    let builtins: Vec<&str> = ferrotrace_stdlib::Builtin::names()
        .filter(|n| {
            !matches!(
                ferrotrace_stdlib::Builtin::lookup(n),
                None | Some(
                    ferrotrace_stdlib::Builtin::Probe
                        | ferrotrace_stdlib::Builtin::Arg(_)
                        | ferrotrace_stdlib::Builtin::Retval
                        | ferrotrace_stdlib::Builtin::Func
                        | ferrotrace_stdlib::Builtin::Cpid
                )
            )
        })
        .collect();
    docgen::wrap(
        out,
        &format!(
            "and the builtins of the current task and CPU: {}",
            builtins.join(", ")
        ),
        "    ",
    );
    out.push('\n');
}

fn attach_text(attach: &AttachSpec) -> String {
    match attach {
        AttachSpec::Begin => "nothing: ferrotrace runs the program once with \
                              BPF_PROG_TEST_RUN before tracing starts"
            .to_string(),
        AttachSpec::End => "nothing: ferrotrace runs the program once with \
                            BPF_PROG_TEST_RUN when tracing stops"
            .to_string(),
        AttachSpec::Tracepoint { category, name } => format!(
            "tracepoint {category}:{name}, through a perf event \
             (/sys/kernel/tracing/events/{category}/{name})"
        ),
        AttachSpec::PerfEvent {
            event_type,
            config,
            period,
            every_cpu,
        } => format!(
            "perf event type {event_type} ({}), config {config}, every {period} {}, on {}",
            perf_type_name(*event_type),
            if *event_type == 1 && *config == 0 {
                "ns"
            } else {
                "events"
            },
            if *every_cpu {
                "every online CPU"
            } else {
                "CPU 0 only"
            }
        ),
        AttachSpec::RawTracepoint { name } => {
            format!("raw tracepoint {name}, through one BPF link")
        }
        AttachSpec::SyscallDispatch {
            raw_tracepoint,
            probes,
        } => format!(
            "raw tracepoint {raw_tracepoint}, through one BPF link: one program runs {} \
             syscall tracepoint probe{}, dispatching on the syscall number",
            probes.len(),
            if probes.len() == 1 { "" } else { "s" }
        ),
        AttachSpec::Kprobe {
            function,
            offset,
            retprobe,
        } => match (retprobe, offset) {
            (true, _) => {
                format!("the return of kernel function {function}, through the kprobe PMU")
            }
            (false, 0) => {
                format!("the entry of kernel function {function}, through the kprobe PMU")
            }
            (false, off) => {
                format!("kernel function {function} at offset {off}, through the kprobe PMU")
            }
        },
        AttachSpec::Fentry { function, fexit } => format!(
            "a BPF trampoline at the {} of kernel function {function}",
            if *fexit { "return" } else { "entry" }
        ),
        AttachSpec::Iter { name } => format!("the BPF iterator {name}"),
        AttachSpec::Uprobe {
            binary,
            offset,
            retprobe,
            ref_ctr_offset,
        } => format!(
            "{} at file offset {offset:#x} of {binary}, through the uprobe PMU{}",
            if *retprobe { "uretprobe" } else { "uprobe" },
            match ref_ctr_offset {
                Some(r) => format!(" (the kernel sets the USDT semaphore at file offset {r:#x})"),
                None => String::new(),
            }
        ),
        AttachSpec::Watchpoint { addr, len, bp_type } => format!(
            "a hardware breakpoint on {len} byte{} at {addr:#x} ({}), in the -p/-c process \
             when there is one, else a kernel address on every online CPU",
            if *len == 1 { "" } else { "s" },
            [(1, "reads"), (2, "writes"), (4, "execution")]
                .iter()
                .filter(|(bit, _)| bp_type & bit != 0)
                .map(|(_, what)| *what)
                .collect::<Vec<_>>()
                .join(" and ")
        ),
        AttachSpec::SelfSignal { signal } => format!(
            "nothing: ferrotrace runs the program with BPF_PROG_TEST_RUN each time it \
             receives signal {signal} (SIG{})",
            ferrotrace_stdlib::signals::signal_name(u64::from(*signal)).unwrap_or("?")
        ),
        AttachSpec::Test { name, bench: false } => format!(
            "nothing: `ferrotrace --test` runs the program once as test {name}; otherwise \
             it is ignored"
        ),
        AttachSpec::Test { name, bench: true } => format!(
            "nothing: `ferrotrace --bench` runs the program many times as benchmark \
             {name}; otherwise it is ignored"
        ),
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

fn perf_type_name(t: u32) -> &'static str {
    match t {
        0 => "hardware",
        1 => "software",
        2 => "tracepoint",
        5 => "breakpoint",
        _ => "other",
    }
}

/// The BTF-typed arguments of a raw tracepoint or kernel function, one
/// 64-bit context slot each; false (nothing written) when BTF has none.
fn typed_args(
    out: &mut String,
    args: Result<Option<Vec<(String, ferrotrace_compiler::ctypes::CType)>>, String>,
) -> bool {
    let Ok(Some(args)) = args else {
        return false;
    };
    for (i, (name, ty)) in args.iter().enumerate() {
        let _ = writeln!(
            out,
            "    args.{name:<14} {:<24} arg{i}, offset {:>3}, 8 bytes",
            ty.to_string(),
            8 * i
        );
    }
    true
}

fn tracepoint_fields(out: &mut String, category: &str, name: &str, kernel: &dyn KernelInfo) {
    match kernel.tracepoint_format(category, name) {
        Ok(Some(format)) => {
            for field in &format.fields {
                let ty = sema::tracepoint_field_type(category, field)
                    .map_or_else(|why| format!("not readable: {why}"), |t| t.to_string());
                let _ = writeln!(
                    out,
                    "    args.{:<14} {:<20} offset {:>3}, {} bytes -> {ty}",
                    field.name, field.c_type, field.offset, field.size
                );
            }
        }
        Ok(None) => {
            let _ = writeln!(out, "    (the kernel has no tracepoint {category}:{name})");
        }
        Err(e) => {
            let _ = writeln!(out, "    (cannot read the tracepoint's format: {e})");
        }
    }
}

fn explain_maps(out: &mut String, maps: &[MapSpec]) {
    let _ = writeln!(out, "Maps:");
    for map in maps {
        let kind = map_kind_name(map.kind);
        match &map.role {
            MapRole::User { name, key, value } => {
                let _ = writeln!(
                    out,
                    "  {name}: {kind}, key {}, value {}, at most {} entries",
                    key_text(key),
                    value_text(value),
                    map.max_entries
                );
                let why = match value {
                    v if !matches!(v, MapValueSpec::Plain(_)) => {
                        "why: an aggregation; each CPU updates its own copy of the \
                         value without locks, and ferrotrace adds the copies up when it \
                         reads the map"
                    }
                    _ if map.kind == MapKind::Hash => {
                        "why: a value assigned with `=`; one copy shared by all CPUs, \
                         so every probe reads the last value written"
                    }
                    _ => "why: chosen by the compiler for this value",
                };
                docgen::wrap(out, why, "    ");
            }
            MapRole::Events => {
                let _ = writeln!(
                    out,
                    "  {} (events): {kind}, {} bytes",
                    map.elf_name, map.max_entries
                );
                docgen::wrap(
                    out,
                    "why: carries printf() and exit() records to ferrotrace in the \
                     order they happened, shared by all CPUs",
                    "    ",
                );
            }
            MapRole::Start => {
                let _ = writeln!(out, "  {} (start time): {kind}", map.elf_name);
                docgen::wrap(
                    out,
                    "why: holds the moment tracing started, written by ferrotrace \
                     before BEGIN, so `elapsed` can count from it",
                    "    ",
                );
            }
            MapRole::Lost => {
                let _ = writeln!(out, "  {} (lost events): {kind}", map.elf_name);
                docgen::wrap(
                    out,
                    "why: counts, per CPU, the records the events buffer had no room \
                     for, so ferrotrace can report `Lost N events`",
                    "    ",
                );
            }
            MapRole::Scratch => {
                let _ = writeln!(
                    out,
                    "  {} (scratch): {kind}, {} bytes per CPU",
                    map.elf_name, map.value_size
                );
                docgen::wrap(
                    out,
                    "why: working memory for strings, keys and event records, which \
                     do not fit on the 512-byte BPF stack; per CPU so probes on \
                     different CPUs never share it",
                    "    ",
                );
            }
            MapRole::Stacks { limit, .. } => {
                let _ = writeln!(
                    out,
                    "  {} (stacks): {kind}, up to {limit} frames, at most {} stacks",
                    map.elf_name, map.max_entries
                );
                docgen::wrap(
                    out,
                    "why: bpf_get_stackid stores each distinct stack once and \
                     returns its id, so map keys and events carry a small id; \
                     ferrotrace reads the frames by id and symbolizes them when it prints",
                    "    ",
                );
            }
            MapRole::Cpid => {
                let _ = writeln!(out, "  {} (cpid): {kind}, one value", map.elf_name);
                docgen::wrap(
                    out,
                    "why: holds the pid of the command started with -c, written by \
                     ferrotrace before the probes are attached, for `cpid`",
                    "    ",
                );
            }
        }
    }
}

fn map_kind_name(kind: MapKind) -> &'static str {
    match kind {
        MapKind::Hash => "hash",
        MapKind::PercpuHash => "per-CPU hash",
        MapKind::PercpuArray => "per-CPU array",
        MapKind::Ringbuf => "ring buffer",
        MapKind::Array => "array",
        MapKind::StackTrace => "stack trace",
        #[allow(unreachable_patterns)]
        _ => "map",
    }
}

fn key_text(key: &[Field]) -> String {
    if key.is_empty() {
        return "none (a single value)".to_string();
    }
    let parts: Vec<String> = key.iter().map(|f| kind_text(&f.kind)).collect();
    format!("({})", parts.join(", "))
}

fn value_text(value: &MapValueSpec) -> String {
    match value {
        MapValueSpec::Plain(kind) => kind_text(kind),
        MapValueSpec::Count => "count (uint64 per CPU)".to_string(),
        MapValueSpec::Sum { signed } => {
            format!("sum ({} per CPU)", if *signed { "int64" } else { "uint64" })
        }
        MapValueSpec::Avg { .. } => "avg (count and total per CPU)".to_string(),
        MapValueSpec::Stats { .. } => "stats (count and total per CPU)".to_string(),
        MapValueSpec::Min { .. } => "min (value and a was-set flag per CPU)".to_string(),
        MapValueSpec::Max { .. } => "max (value and a was-set flag per CPU)".to_string(),
        MapValueSpec::Hist { bits } => {
            format!("hist (log2 bucket counters per CPU, 2^{bits} per power of two)")
        }
        MapValueSpec::Lhist { min, max, step } => {
            format!("lhist (bucket counters per CPU, {min} to {max} by {step})")
        }
        MapValueSpec::Tseries {
            interval_ns,
            num_intervals,
            ..
        } => format!(
            "tseries ({num_intervals} intervals of {interval_ns} ns per CPU, each value, meta and epoch)"
        ),
    }
}

fn kind_text(kind: &ValueKind) -> String {
    match kind {
        ValueKind::Int { size, signed } => {
            format!(
                "{}int{}",
                if *signed { "" } else { "u" },
                u32::from(*size) * 8
            )
        }
        ValueKind::Bool => "bool".to_string(),
        ValueKind::Str { len } => format!("string[{len}]"),
        ValueKind::Pointer => "pointer".to_string(),
        #[allow(unreachable_patterns)]
        other => format!("{other:?}"),
    }
}

/// The object's code after map relocation, with map names for the fake
/// descriptors that stand in for real ones.
struct Code {
    object: aya_obj::Object,
    /// Stand-in descriptor → map name.
    map_names: HashMap<i32, String>,
}

/// Stand-in map descriptors start here, far above any real one.
const FAKE_FD_BASE: i32 = 1 << 20;

impl Code {
    fn read(artifact: &Artifact) -> Result<Code, String> {
        let internal = |what: &str, e: &dyn std::fmt::Display| {
            format!("ERROR: internal error: {what} the compiled object failed: {e}.")
        };
        let mut object =
            aya_obj::Object::parse(&artifact.elf).map_err(|e| internal("parsing", &e))?;
        let mut names: Vec<String> = object.maps.keys().cloned().collect();
        names.sort();
        // Script maps are shown by their script name (`@count`).
        let shown = |elf: &str| {
            artifact
                .manifest
                .maps
                .iter()
                .find_map(|m| match &m.role {
                    MapRole::User { name, .. } if m.elf_name == elf => Some(name.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| elf.to_string())
        };
        let map_names: HashMap<i32, String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (FAKE_FD_BASE + i32::try_from(i).unwrap_or(0), shown(n)))
            .collect();
        let table = object.maps.clone();
        let refs = names.iter().enumerate().filter_map(|(i, n)| {
            table
                .get(n)
                .map(|m| (n.as_str(), FAKE_FD_BASE + i32::try_from(i).unwrap_or(0), m))
        });
        let text: HashSet<usize> = object.functions.keys().map(|(s, _)| *s).collect();
        object
            .relocate_maps(refs, &text)
            .map_err(|e| internal("relocating maps of", &e))?;
        object
            .relocate_calls(&text)
            .map_err(|e| internal("relocating calls of", &e))?;
        Ok(Code { object, map_names })
    }

    /// Writes the program's instructions, each run of them under the script
    /// line it came from.
    fn listing(
        &self,
        out: &mut String,
        spec: &ProgramSpec,
        source: &SourceFile,
    ) -> Result<(), String> {
        let missing = || {
            format!(
                "ERROR: internal error: program {} is not in the compiled object.",
                spec.function
            )
        };
        let program = self
            .object
            .programs
            .get(&spec.function)
            .ok_or_else(missing)?;
        let function = self
            .object
            .functions
            .get(&program.function_key())
            .ok_or_else(missing)?;
        let mut lines: Vec<(u32, usize)> = function
            .line_info
            .line_info
            .iter()
            .map(|l| (l.insn_off, (l.line_col >> 10) as usize))
            .filter(|&(_, line)| line > 0)
            .collect();
        lines.sort_by_key(|&(insn, _)| insn);
        let source_lines: Vec<&str> = source.text.lines().collect();
        let insns = &function.instructions;
        let mut shown_line = 0;
        let mut next_line = lines.iter().peekable();
        let mut pc = 0;
        while pc < insns.len() {
            while let Some(&&(at, line)) = next_line.peek() {
                if at as usize > pc {
                    break;
                }
                next_line.next();
                if line != shown_line {
                    shown_line = line;
                    let text = source_lines.get(line - 1).map_or("", |t| t.trim());
                    let _ = writeln!(out, "  {line:>3} | {text}");
                }
            }
            let (text, width) = disassemble(insns, pc, &self.map_names);
            let _ = writeln!(out, "        {pc:>4}: {text}");
            pc += width;
        }
        Ok(())
    }
}

/// One instruction at `pc` in the kernel verifier's notation, and how many
/// 8-byte slots it takes (2 for a 64-bit immediate load).
fn disassemble(
    insns: &[aya_obj::generated::bpf_insn],
    pc: usize,
    maps: &HashMap<i32, String>,
) -> (String, usize) {
    let Some(insn) = insns.get(pc) else {
        return (String::new(), 1);
    };
    let code = insn.code;
    let dst = insn.dst_reg();
    let src = insn.src_reg();
    let (off, imm) = (insn.off, insn.imm);
    let size = |code: u8| match code & 0x18 {
        0x00 => "u32",
        0x08 => "u16",
        0x10 => "u8",
        _ => "u64",
    };
    let text = match code & 0x07 {
        // BPF_LD: only the 64-bit immediate load is used today.
        0x00 if code == 0x18 => {
            let next = insns.get(pc + 1).map_or(0, |n| n.imm);
            let value = match (src, maps.get(&imm)) {
                (1, Some(name)) => format!("map[{name}]"),
                (2, Some(name)) => format!("map[{name}] + {next}"),
                _ => format!(
                    "{:#x}",
                    (u64::from(next as u32) << 32) | u64::from(imm as u32)
                ),
            };
            return (format!("r{dst} = {value} ll"), 2);
        }
        0x01 if code & 0xe0 == 0x60 => {
            format!("r{dst} = *({} *)(r{src} {})", size(code), signed(off))
        }
        0x02 if code & 0xe0 == 0x60 => {
            format!("*({} *)(r{dst} {}) = {imm}", size(code), signed(off))
        }
        0x03 if code & 0xe0 == 0x60 => {
            format!("*({} *)(r{dst} {}) = r{src}", size(code), signed(off))
        }
        0x03 if code & 0xe0 == 0xc0 => {
            let op = match imm & !1 {
                0x00 => "+=",
                0x40 => "|=",
                0x50 => "&=",
                0xa0 => "^=",
                0xe0 => "xchg",
                0xf0 => "cmpxchg",
                _ => "?=",
            };
            let fetch = if imm & 1 != 0 { " (fetch)" } else { "" };
            format!(
                "lock *({} *)(r{dst} {}) {op} r{src}{fetch}",
                size(code),
                signed(off)
            )
        }
        class @ (0x04 | 0x07) => alu(code, class == 0x07, dst, src, off, imm),
        class @ (0x05 | 0x06) => jump(code, class == 0x06, dst, src, off, imm, pc),
        _ => format!("(unknown instruction, opcode {code:#04x})"),
    };
    (text, 1)
}

fn alu(code: u8, wide: bool, dst: u8, src: u8, off: i16, imm: i32) -> String {
    let r = if wide { "r" } else { "w" };
    let operand = if code & 0x08 != 0 {
        format!("{r}{src}")
    } else {
        imm.to_string()
    };
    let op = match code & 0xf0 {
        0x00 => "+=",
        0x10 => "-=",
        0x20 => "*=",
        0x30 if off == 1 => "s/=",
        0x30 => "/=",
        0x40 => "|=",
        0x50 => "&=",
        0x60 => "<<=",
        0x70 => ">>=",
        0x80 => return format!("{r}{dst} = -{r}{dst}"),
        0x90 if off == 1 => "s%=",
        0x90 => "%=",
        0xa0 => "^=",
        0xb0 => "=",
        0xc0 => "s>>=",
        0xd0 => {
            let order = if code & 0x08 != 0 { "be" } else { "le" };
            return format!("r{dst} = {order}{imm} r{dst}");
        }
        _ => return format!("(unknown ALU instruction, opcode {code:#04x})"),
    };
    format!("{r}{dst} {op} {operand}")
}

fn jump(code: u8, narrow: bool, dst: u8, src: u8, off: i16, imm: i32, pc: usize) -> String {
    let r = if narrow { "w" } else { "r" };
    let target = i64::try_from(pc).unwrap_or(0) + i64::from(off) + 1;
    let op = match code & 0xf0 {
        0x00 => return format!("goto {} <{target}>", signed_plain(off)),
        0x80 if src == 1 => return format!("call pc{}", signed_plain(imm as i16)),
        0x80 => return format!("call {}#{imm}", helper_name(imm)),
        0x90 => return "exit".to_string(),
        0x10 => "==",
        0x20 => ">",
        0x30 => ">=",
        0x40 => "&",
        0x50 => "!=",
        0x60 => "s>",
        0x70 => "s>=",
        0xa0 => "<",
        0xb0 => "<=",
        0xc0 => "s<",
        0xd0 => "s<=",
        _ => return format!("(unknown jump instruction, opcode {code:#04x})"),
    };
    let operand = if code & 0x08 != 0 {
        format!("{r}{src}")
    } else {
        imm.to_string()
    };
    format!(
        "if {r}{dst} {op} {operand} goto {} <{target}>",
        signed_plain(off)
    )
}

/// `+ 8` / `- 8`, as the verifier prints memory offsets.
fn signed(off: i16) -> String {
    if off < 0 {
        format!("- {}", -i32::from(off))
    } else {
        format!("+ {off}")
    }
}

fn signed_plain(off: i16) -> String {
    if off < 0 {
        off.to_string()
    } else {
        format!("+{off}")
    }
}

/// The kernel's name for a helper id (`enum bpf_func_id`).
fn helper_name(id: i32) -> &'static str {
    match id {
        1 => "bpf_map_lookup_elem",
        2 => "bpf_map_update_elem",
        3 => "bpf_map_delete_elem",
        4 => "bpf_probe_read",
        5 => "bpf_ktime_get_ns",
        6 => "bpf_trace_printk",
        7 => "bpf_get_prandom_u32",
        8 => "bpf_get_smp_processor_id",
        14 => "bpf_get_current_pid_tgid",
        15 => "bpf_get_current_uid_gid",
        16 => "bpf_get_current_comm",
        25 => "bpf_perf_event_output",
        27 => "bpf_get_stackid",
        35 => "bpf_get_current_task",
        45 => "bpf_probe_read_str",
        67 => "bpf_get_stack",
        80 => "bpf_get_current_cgroup_id",
        109 => "bpf_send_signal",
        112 => "bpf_probe_read_user",
        113 => "bpf_probe_read_kernel",
        114 => "bpf_probe_read_user_str",
        115 => "bpf_probe_read_kernel_str",
        125 => "bpf_ktime_get_boot_ns",
        130 => "bpf_ringbuf_output",
        131 => "bpf_ringbuf_reserve",
        132 => "bpf_ringbuf_submit",
        133 => "bpf_ringbuf_discard",
        158 => "bpf_get_current_task_btf",
        195 => "bpf_map_lookup_percpu_elem",
        _ => "helper",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_hook_kinds_get_a_suggestion() {
        let err = explain_hook("tracepiont").err().unwrap_or_default();
        assert!(err.contains("did you mean `tracepoint`?"), "{err}");
        assert!(explain_hook("UPROBE").is_ok_and(|t| t.starts_with("uprobe")));
        assert!(explain_hook("kfunc").is_ok_and(|t| t.starts_with("fentry")));
    }
}
