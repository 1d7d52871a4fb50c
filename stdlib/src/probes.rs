//! Probe kinds: their names, short aliases, attach-point shape, the context
//! they offer, and a paragraph explaining the hook for people learning eBPF.

/// Every probe kind of the language. Names are matched case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProbeKind {
    Begin,
    End,
    Tracepoint,
    RawTracepoint,
    Kprobe,
    Kretprobe,
    Uprobe,
    Uretprobe,
    Usdt,
    Profile,
    Interval,
    Software,
    Hardware,
    Watchpoint,
    Fentry,
    Fexit,
    Iter,
    SelfSignal,
    Test,
    Bench,
}

/// The catalogue entry of one probe kind.
#[derive(Debug, Clone, Copy)]
pub struct ProbeKindInfo {
    pub kind: ProbeKind,
    /// The canonical (current dialect) name.
    pub name: &'static str,
    /// Other accepted spellings: short aliases and old names.
    pub aliases: &'static [&'static str],
    /// Old spellings that are accepted with a warning naming `name`.
    pub deprecated: &'static [&'static str],
    /// The attach-point shape after the kind, for help and docs.
    pub shape: &'static str,
    /// What the probe's action block can read.
    pub context: &'static str,
    /// Whether this kernel-independent catalogue considers the kind
    /// implemented end to end (compiled and attachable where the kernel allows).
    pub implemented: bool,
    /// One paragraph for the teaching guide.
    pub explain: &'static str,
}

pub const PROBE_KINDS: &[ProbeKindInfo] = &[
    ProbeKindInfo {
        kind: ProbeKind::Begin,
        name: "begin",
        aliases: &["BEGIN"],
        deprecated: &[],
        shape: "begin",
        context: "none: pid and comm are the tracer's own",
        implemented: true,
        explain: "Runs once, before any other probe fires. ferrotrace runs it itself \
                  with BPF_PROG_TEST_RUN before the other probes are attached.",
    },
    ProbeKindInfo {
        kind: ProbeKind::End,
        name: "end",
        aliases: &["END"],
        deprecated: &[],
        shape: "end",
        context: "none: pid and comm are the tracer's own",
        implemented: true,
        explain: "Runs once when tracing stops (exit(), Ctrl-C or SIGTERM), before the \
                  maps are printed.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Tracepoint,
        name: "tracepoint",
        aliases: &["t"],
        deprecated: &[],
        shape: "tracepoint:CATEGORY:NAME",
        context: "args: the tracepoint's fields, typed from its format",
        implemented: true,
        explain: "A static hook compiled into the kernel at a stable place (a syscall \
                  entry, a scheduler switch, a block I/O completion). Its fields are a \
                  stable interface, listed in /sys/kernel/tracing/events/*/*/format.",
    },
    ProbeKindInfo {
        kind: ProbeKind::RawTracepoint,
        name: "rawtracepoint",
        aliases: &["rt"],
        deprecated: &[],
        shape: "rawtracepoint:[CATEGORY:]NAME",
        context: "args.NAME and arg0..argN: the tracepoint's raw arguments, named from BTF, as u64",
        implemented: true,
        explain: "The same kernel hooks as tracepoints, but the program receives the raw \
                  arguments before the tracepoint formats them: cheaper, less stable.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Kprobe,
        name: "kprobe",
        aliases: &["k"],
        deprecated: &[],
        shape: "kprobe:[MODULE:]FUNCTION[+OFFSET] | kprobe:0xADDR (--unsafe)",
        context: "arg0..arg5: the function's arguments from its registers, as u64; func",
        implemented: true,
        explain: "A dynamic hook on entry to almost any kernel function, placed by \
                  patching the instruction. Needs a kernel built with CONFIG_KPROBES.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Kretprobe,
        name: "kretprobe",
        aliases: &["kr"],
        deprecated: &[],
        shape: "kretprobe:[MODULE:]FUNCTION",
        context: "retval: the return value, as u64; func",
        implemented: true,
        explain: "A dynamic hook on return from a kernel function. Needs CONFIG_KPROBES.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Uprobe,
        name: "uprobe",
        aliases: &["u"],
        deprecated: &[],
        shape: "uprobe:BINARY:FUNCTION",
        context: "arg0..argN, func",
        implemented: true,
        explain: "A dynamic hook on a function of a user-space binary or library: the \
                  kernel places a breakpoint in the file's mapped text.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Uretprobe,
        name: "uretprobe",
        aliases: &["ur"],
        deprecated: &[],
        shape: "uretprobe:BINARY:FUNCTION",
        context: "retval, func",
        implemented: true,
        explain: "A dynamic hook on return from a user-space function.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Usdt,
        name: "usdt",
        aliases: &["U"],
        deprecated: &[],
        shape: "usdt:BINARY:[PROVIDER:]NAME",
        context: "arg0..argN as declared by the probe's note",
        implemented: true,
        explain: "A static hook a program declared for tracers (a .note.stapsdt entry); \
                  attached as a uprobe at the note's address.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Profile,
        name: "profile",
        aliases: &["p"],
        deprecated: &[],
        shape: "profile:hz:N | profile:s|ms|us:N | profile:DURATION",
        context: "the interrupted task: pid, comm, cpu, stacks",
        implemented: true,
        explain: "A timer on every CPU (a perf cpu-clock event): samples whatever is \
                  running, the basis of CPU profiling.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Interval,
        name: "interval",
        aliases: &["i"],
        deprecated: &[],
        shape: "interval:s|ms|us|hz:N | interval:DURATION",
        context: "none worth reading: it fires on one CPU",
        implemented: true,
        explain: "A timer on one CPU (a perf cpu-clock event), for periodic output \
                  such as printing and clearing a map every second.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Software,
        name: "software",
        aliases: &["s"],
        deprecated: &[],
        shape: "software:EVENT[:COUNT]",
        context: "the task that triggered the event",
        implemented: true,
        explain: "A perf software event counted by the kernel (page faults, context \
                  switches, ...), sampled every COUNT occurrences.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Hardware,
        name: "hardware",
        aliases: &["h"],
        deprecated: &[],
        shape: "hardware:EVENT[:COUNT]",
        context: "the task that triggered the event",
        implemented: true,
        explain: "A CPU performance counter (cycles, cache misses, ...), sampled every \
                  COUNT events. Needs a hardware PMU visible to the kernel.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Watchpoint,
        name: "watchpoint",
        aliases: &["w"],
        deprecated: &[],
        shape: "watchpoint:ADDR:LEN:MODE",
        context: "the task touching the address",
        implemented: true,
        explain: "A hardware breakpoint on a memory address: fires when it is read, \
                  written or executed.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Fentry,
        name: "fentry",
        aliases: &["f"],
        deprecated: &["kfunc"],
        shape: "fentry:[MODULE:]FUNCTION",
        context: "args.NAME and arg0..argN: the function's arguments, named from BTF, as u64; func",
        implemented: true,
        explain: "A BPF trampoline on entry to a kernel function: cheaper than a kprobe \
                  and typed from BTF. Needs BPF tracing programs in the kernel.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Fexit,
        name: "fexit",
        aliases: &["fr"],
        deprecated: &["kretfunc"],
        shape: "fexit:[MODULE:]FUNCTION",
        context: "args.NAME, arg0..argN and retval, as u64; func",
        implemented: true,
        explain: "A BPF trampoline on return from a kernel function, seeing both the \
                  arguments and the return value.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Iter,
        name: "iter",
        aliases: &["it"],
        deprecated: &[],
        shape: "iter:ITERATOR[:PIN]",
        context: "ctx: a `struct bpf_iter__ITERATOR *` (`ctx.task`, ...)",
        implemented: true,
        explain: "A BPF iterator walks a kernel object list (tasks, files, ...) once, \
                  when read.",
    },
    ProbeKindInfo {
        kind: ProbeKind::SelfSignal,
        name: "self",
        aliases: &[],
        deprecated: &[],
        shape: "self:signal:SIGUSR1",
        context: "none",
        implemented: true,
        explain: "Runs when the tracer itself receives the signal.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Test,
        name: "test",
        aliases: &[],
        deprecated: &[],
        shape: "test:NAME",
        context: "none",
        implemented: true,
        explain: "Runs once under --test; passes unless it returns or exits with a non-zero code.",
    },
    ProbeKindInfo {
        kind: ProbeKind::Bench,
        name: "bench",
        aliases: &[],
        deprecated: &[],
        shape: "bench:NAME",
        context: "none",
        implemented: true,
        explain: "Runs repeatedly under --bench and reports the average time per run.",
    },
];

impl ProbeKind {
    /// Resolves a probe kind name, case-insensitively, including aliases and
    /// deprecated names. Returns the kind and whether the spelling is deprecated.
    pub fn lookup(name: &str) -> Option<(ProbeKind, bool)> {
        // Exact spellings first: `U` (usdt) and `u` (uprobe) differ only in case.
        if let Some(info) = PROBE_KINDS
            .iter()
            .find(|i| i.name == name || i.aliases.contains(&name))
        {
            return Some((info.kind, false));
        }
        for info in PROBE_KINDS {
            if info.name.eq_ignore_ascii_case(name)
                || info.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
            {
                return Some((info.kind, false));
            }
            if info.deprecated.iter().any(|a| a.eq_ignore_ascii_case(name)) {
                return Some((info.kind, true));
            }
        }
        None
    }

    /// The catalogue entry of this kind.
    pub fn info(self) -> &'static ProbeKindInfo {
        // The table has exactly one entry per variant; `all_kinds_have_entries` checks it.
        PROBE_KINDS
            .iter()
            .find(|i| i.kind == self)
            .unwrap_or(&PROBE_KINDS[0])
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Every spelling a user may type, for "did you mean" help.
    pub fn all_spellings() -> impl Iterator<Item = &'static str> {
        PROBE_KINDS
            .iter()
            .flat_map(|i| std::iter::once(i.name).chain(i.aliases.iter().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_kinds_have_entries() {
        assert_eq!(PROBE_KINDS.len(), 20);
        for (i, a) in PROBE_KINDS.iter().enumerate() {
            assert_eq!(a.kind.info().name, a.name);
            for b in &PROBE_KINDS[i + 1..] {
                assert_ne!(a.kind, b.kind);
            }
        }
    }

    #[test]
    fn lookup_is_case_insensitive_and_knows_aliases() {
        assert_eq!(ProbeKind::lookup("BEGIN"), Some((ProbeKind::Begin, false)));
        assert_eq!(
            ProbeKind::lookup("Tracepoint"),
            Some((ProbeKind::Tracepoint, false))
        );
        assert_eq!(ProbeKind::lookup("t"), Some((ProbeKind::Tracepoint, false)));
        assert_eq!(ProbeKind::lookup("kfunc"), Some((ProbeKind::Fentry, true)));
        assert_eq!(ProbeKind::lookup("nope"), None);
        assert_eq!(ProbeKind::lookup("U"), Some((ProbeKind::Usdt, false)));
        assert_eq!(ProbeKind::lookup("u"), Some((ProbeKind::Uprobe, false)));
    }
}
