//! The teaching guide's entry for every probe kind, as plain data keyed by
//! `ProbeKind`: what the hook is in the kernel, when it fires, what its
//! program can see, what one event costs and why, which kernel options it
//! needs, how to list its targets and a one-liner to try.
//!
//! `docs/hooks.md` and `ferrotrace --explain-hook KIND` are both rendered
//! from this table by `docgen`, so the guide cannot drift from the catalogue.
//! Kept apart from `probes.rs` so the two tables can change independently.

use crate::probes::ProbeKind;

/// One kind's entry in the teaching guide. Every text is a full sentence or
/// paragraph written for someone who has never used eBPF.
#[derive(Debug, Clone, Copy)]
pub struct HookGuide {
    pub kind: ProbeKind,
    /// What the hook is inside the kernel and how a BPF program gets attached to it.
    pub kernel: &'static str,
    /// When the program runs.
    pub fires: &'static str,
    /// What the program can read when it runs.
    pub context: &'static str,
    /// The price of one event and where it comes from.
    pub cost: &'static str,
    /// Kernel build options the hook needs (`CONFIG_*`).
    pub config: &'static [&'static str],
    /// How to find the names you can attach to.
    pub list: &'static str,
    /// A one-liner to try.
    pub try_it: &'static str,
}

pub const HOOK_GUIDES: &[HookGuide] = &[
    HookGuide {
        kind: ProbeKind::Begin,
        kernel: "Not a kernel hook at all: a BPF program that the tracer runs by itself. \
                 ferrotrace loads it as a raw-tracepoint program and executes it once \
                 with the BPF_PROG_TEST_RUN command of the bpf() system call.",
        fires: "Once, before the other probes are attached: what it prints comes \
                before any event, and the maps it sets are ready for them.",
        context: "No event: `pid`, `comm` and friends describe ferrotrace itself. Use it \
                  to print a header or initialise maps.",
        cost: "Nothing per event; it runs once.",
        config: &["CONFIG_BPF_SYSCALL"],
        list: "There is nothing to list: a script has zero or more `BEGIN` blocks, run in order.",
        try_it: "ferrotrace -e 'BEGIN { printf(\"hello, world\\n\"); exit(); }'",
    },
    HookGuide {
        kind: ProbeKind::End,
        kernel: "Like BEGIN, a BPF program that ferrotrace runs itself with \
                 BPF_PROG_TEST_RUN; no kernel event is involved.",
        fires: "Once, when tracing stops (exit(), Ctrl-C or SIGTERM), after every probe \
                is detached and before the maps are printed.",
        context: "No event: `pid` and `comm` are ferrotrace's own. The maps still hold \
                  everything the other probes recorded.",
        cost: "Nothing per event; it runs once.",
        config: &["CONFIG_BPF_SYSCALL"],
        list: "There is nothing to list.",
        try_it: "ferrotrace -e 'interval:s:1 { exit(); } END { printf(\"bye\\n\"); }'",
    },
    HookGuide {
        kind: ProbeKind::Tracepoint,
        kernel: "A static trace point (a `TRACE_EVENT()`) that kernel developers placed \
                 in the source at a meaningful spot: syscall entry and exit, scheduler \
                 switches, block I/O issue and completion, signals. While nobody listens \
                 it is a patched-out jump (a static key), so it costs nothing. ferrotrace \
                 opens a perf event of type PERF_TYPE_TRACEPOINT for it and links the BPF \
                 program to that event; the `syscalls` ones instead share one raw \
                 tracepoint program on `sys_enter` (and one on `sys_exit`) that rebuilds \
                 the same record and dispatches on the syscall number, so hundreds of them \
                 attach and detach at once.",
        fires: "Every time execution passes the trace point, on whichever CPU and in \
                whichever task triggers it.",
        context: "`args`: the event's record, with the fields and C types listed in its \
                  tracefs `format` file (`args.filename`, `args->prev_pid`, ...). The \
                  fields are a stable interface: they rarely change between kernel \
                  versions. `pid`, `comm`, `cpu` describe the task that hit it.",
        cost: "Low: the kernel fills the event record into a per-CPU buffer, then calls \
               the program directly; no trap or exception is involved. Typically a \
               fraction of a microsecond per event, dominated by what the program does.",
        config: &[
            "CONFIG_TRACEPOINTS",
            "CONFIG_EVENT_TRACING",
            "CONFIG_PERF_EVENTS",
            "CONFIG_BPF_EVENTS",
        ],
        list: "`ferrotrace -l 'tracepoint:sched:*'`, or look in tracefs: \
               `ls /sys/kernel/tracing/events/sched/`; one event's fields are in \
               `/sys/kernel/tracing/events/sched/sched_switch/format`.",
        try_it: "ferrotrace -e 'tracepoint:syscalls:sys_enter_openat { printf(\"%s %s\\n\", comm, str(args.filename)); }'",
    },
    HookGuide {
        kind: ProbeKind::RawTracepoint,
        kernel: "The same trace points as `tracepoint`, but the BPF program \
                 (BPF_PROG_TYPE_RAW_TRACEPOINT, attached with BPF_RAW_TRACEPOINT_OPEN) is \
                 called with the trace point's raw C arguments, before the kernel builds \
                 the formatted record.",
        fires: "Every time execution passes the trace point.",
        context: "`arg0`..`argN`: the raw arguments of the trace point's prototype \
                  (`TP_PROTO`), often pointers to kernel structures such as \
                  `struct task_struct *`. Unlike `args` of `tracepoint`, these are not a \
                  stable interface.",
        cost: "Lower than `tracepoint`: no record is copied, the program receives the \
               arguments as they are.",
        config: &["CONFIG_TRACEPOINTS", "CONFIG_BPF_EVENTS"],
        list: "`ferrotrace -l 'rawtracepoint:*'` (the `btf_trace_*` names of the kernel's \
               BTF). The names are the trace point names without the category: \
               `ls /sys/kernel/tracing/events/sched/` shows `sched_switch`, usable as \
               `rawtracepoint:sched_switch` or `rawtracepoint:sched:sched_switch`.",
        try_it: "ferrotrace -e 'rawtracepoint:sched_switch { @[cpu] = count(); }'",
    },
    HookGuide {
        kind: ProbeKind::Kprobe,
        kernel: "A dynamic probe: at attach time the kernel overwrites the first byte of \
                 the instruction at a kernel function's address with a breakpoint \
                 (`int3` on x86). When the CPU hits it, the trap handler runs the BPF \
                 program, then executes the displaced instruction and resumes. Where it \
                 can, the kernel avoids the trap: on a function entry it uses the ftrace \
                 call site (CONFIG_KPROBES_ON_FTRACE), elsewhere it may replace the \
                 breakpoint by a jump (CONFIG_OPTPROBES). A tracer attaches through a \
                 perf event of the `kprobe` PMU, or one kprobe_multi link for many \
                 functions at once.",
        fires: "Every time any task enters the function.",
        context: "`arg0`..`argN`: the function's arguments as raw 64-bit registers (no \
                  types), `func`: the function's name, `kstack`: the kernel stack. \
                  Function names and arguments are not a stable interface: they change \
                  between kernel versions, and inlined functions cannot be probed.",
        cost: "Medium: a breakpoint exception and a single-step per event, around a \
               microsecond; cheaper when the ftrace or jump optimisation applies.",
        config: &[
            "CONFIG_KPROBES",
            "CONFIG_KPROBE_EVENTS",
            "CONFIG_PERF_EVENTS",
            "CONFIG_BPF_EVENTS",
        ],
        list: "`ferrotrace -l 'kprobe:vfs_*'`; the kernel's list of traceable functions is \
               `/sys/kernel/tracing/available_filter_functions`. This machine's kernel \
               has no kprobes.",
        try_it: "ferrotrace -e 'kprobe:vfs_read { @[comm] = count(); }'",
    },
    HookGuide {
        kind: ProbeKind::Kretprobe,
        kernel: "A kprobe on the function's entry that replaces the return address on the \
                 stack with the address of a trampoline; when the function returns into \
                 the trampoline, the BPF program runs and execution continues at the \
                 real return address.",
        fires: "Every time the function returns.",
        context: "`retval`: the return value as a raw 64-bit register, `func`. The \
                  arguments are gone by then: save them in a map keyed by `tid` at entry.",
        cost: "Higher than a kprobe: an entry hit plus the return trampoline per call, \
               and a little per-call bookkeeping to remember the real return address.",
        config: &["CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS", "CONFIG_BPF_EVENTS"],
        list: "The same functions as `kprobe`. This machine's kernel has no kprobes.",
        try_it: "ferrotrace -e 'kretprobe:vfs_read { @bytes = sum(retval); }'",
    },
    HookGuide {
        kind: ProbeKind::Uprobe,
        kernel: "A dynamic probe on a user-space function. The probe is registered on \
                 the file (its inode and an offset), and the kernel writes a breakpoint \
                 (`int3` on x86) into every process's mapping of that code, as a private \
                 copy of the page; processes that map the binary or library later get \
                 the breakpoint too. On a hit the trap handler runs the BPF program, then \
                 the displaced instruction is emulated or single-stepped from a \
                 per-process out-of-line slot. A tracer attaches through a perf event of \
                 the `uprobe` PMU.",
        fires: "Every time any process executes the instruction at the function's address.",
        context: "`arg0`..`argN`: the function's arguments from the calling convention's \
                  registers, `func`, `ustack`; `pid`/`comm` are the calling process.",
        cost: "High compared with kernel hooks: every hit is a trap from user space into \
               the kernel and back, around one to a few microseconds. Avoid probing \
               functions called millions of times a second (malloc) for long.",
        config: &["CONFIG_UPROBES", "CONFIG_UPROBE_EVENTS", "CONFIG_BPF_EVENTS"],
        list: "`ferrotrace -l 'uprobe:/bin/bash:*'`, or the binary's symbols: \
               `nm -D /lib/x86_64-linux-gnu/libc.so.6`.",
        try_it: "ferrotrace -e 'uprobe:/bin/bash:readline { printf(\"pid %d is reading a line\\n\", pid); }'",
    },
    HookGuide {
        kind: ProbeKind::Uretprobe,
        kernel: "A uprobe on the function's entry that replaces the return address on the \
                 user stack with the address of a trampoline page the kernel maps into \
                 the process (`[uprobes]`); returning there enters the kernel, which runs \
                 the program and resumes at the real return address. On x86-64 since \
                 Linux 6.11 the trampoline enters the kernel with a dedicated system call \
                 instead of a breakpoint, which is cheaper.",
        fires: "Every time the function returns.",
        context: "`retval`: the return value register, `func`; arguments must be saved at \
                  entry in a map keyed by `tid`.",
        cost: "Higher than a uprobe: the entry trap plus the return trip into the kernel.",
        config: &["CONFIG_UPROBES", "CONFIG_UPROBE_EVENTS", "CONFIG_BPF_EVENTS"],
        list: "The same functions as `uprobe`.",
        try_it: "ferrotrace -e 'uretprobe:/bin/bash:readline { printf(\"%s\\n\", str(retval)); }'",
    },
    HookGuide {
        kind: ProbeKind::Usdt,
        kernel: "A static probe a program's authors placed in its source for tracers \
                 (User Statically-Defined Tracing, from SystemTap's `sys/sdt.h`). The \
                 compiled probe site is a single `nop`; an ELF note in `.note.stapsdt` \
                 records its address, provider, name and where each argument lives. A \
                 tracer attaches a uprobe at that address, and for probes guarded by a \
                 semaphore asks the kernel to raise the semaphore so the program \
                 computes the arguments.",
        fires: "Every time execution passes the marked spot.",
        context: "`arg0`..`argN`, decoded from the note's argument specifications \
                  (register, memory or constant); `pid`/`comm` of the process.",
        cost: "The same as a uprobe (a trap per hit); nothing while not traced, apart \
               from the semaphore check.",
        config: &["CONFIG_UPROBES", "CONFIG_UPROBE_EVENTS", "CONFIG_BPF_EVENTS"],
        list: "`ferrotrace -l 'usdt:/usr/bin/python3.11:*'`, or read the notes: \
               `readelf -n /usr/bin/python3.11`.",
        try_it: "ferrotrace -e 'usdt:/usr/bin/python3.11:python:gc__start { @[pid] = count(); }'",
    },
    HookGuide {
        kind: ProbeKind::Profile,
        kernel: "A sampling timer: a perf event of type PERF_TYPE_SOFTWARE, config \
                 PERF_COUNT_SW_CPU_CLOCK, opened on every online CPU with the requested \
                 period or frequency. The timer interrupt runs the BPF program \
                 (BPF_PROG_TYPE_PERF_EVENT) on each CPU.",
        fires: "N times a second on every CPU, whatever that CPU is doing (including \
                idle). 99 Hz rather than 100 Hz avoids sampling in lockstep with \
                periodic work.",
        context: "The interrupted task: `pid`, `comm`, `kstack`, `ustack`; the interrupted \
                  registers are the context.",
        cost: "One timer interrupt per CPU per period: at 99 Hz negligible, at tens of \
               kHz noticeable. Cost scales with the frequency, not with system load.",
        config: &["CONFIG_PERF_EVENTS", "CONFIG_BPF_EVENTS"],
        list: "Nothing to list: the units are `hz`, `s`, `ms` and `us`.",
        try_it: "ferrotrace -e 'profile:hz:99 { @[comm] = count(); } interval:s:5 { exit(); }'",
    },
    HookGuide {
        kind: ProbeKind::Interval,
        kernel: "The same cpu-clock perf event as `profile`, opened on one CPU only.",
        fires: "Once per period, on one CPU.",
        context: "Nothing useful: whatever task happens to run on that CPU. Use it for \
                  periodic output (print and clear a map) and to stop after a while.",
        cost: "One timer interrupt per period.",
        config: &["CONFIG_PERF_EVENTS", "CONFIG_BPF_EVENTS"],
        list: "Nothing to list: the units are `s`, `ms`, `us` and `hz`.",
        try_it: "ferrotrace -e 'interval:ms:500 { printf(\"tick\\n\"); } interval:s:2 { exit(); }'",
    },
    HookGuide {
        kind: ProbeKind::Software,
        kernel: "A perf software event: a counter the kernel keeps in software \
                 (PERF_TYPE_SOFTWARE), such as page faults, context switches or CPU \
                 migrations. It is opened on every CPU with a sample period; the \
                 BPF program runs each time the counter has advanced by that many.",
        fires: "Every COUNT-th occurrence of the event (a default per event when COUNT is \
                omitted), in the task that caused it.",
        context: "The task that triggered the event: `pid`, `comm`, `kstack`, `ustack`.",
        cost: "Counting is always on in the kernel code paths; the program runs only on \
               each sample, so a larger COUNT is cheaper.",
        config: &["CONFIG_PERF_EVENTS", "CONFIG_BPF_EVENTS"],
        list: "`ferrotrace -l 'software:*'`: cpu-clock, task-clock, page-faults, \
               context-switches, cpu-migrations, minor-faults, major-faults, \
               alignment-faults, emulation-faults, dummy, bpf-output.",
        try_it: "ferrotrace -e 'software:page-faults:100 { @[comm] = count(); } interval:s:3 { exit(); }'",
    },
    HookGuide {
        kind: ProbeKind::Hardware,
        kernel: "A CPU performance-monitoring counter (PMU) such as cycles, instructions \
                 or cache misses, opened as a perf event of type PERF_TYPE_HARDWARE. \
                 When the counter overflows after COUNT events the PMU raises an \
                 interrupt (an NMI on x86) that runs the program.",
        fires: "Every COUNT-th hardware event on each CPU.",
        context: "The task running when the counter overflowed: `pid`, `comm`, stacks.",
        cost: "Counting is free (hardware); one interrupt per sample.",
        config: &["CONFIG_PERF_EVENTS", "CONFIG_BPF_EVENTS"],
        list: "`ferrotrace -l 'hardware:*'`; the PMU's own names are in \
               `/sys/bus/event_source/devices/cpu/events/`. Virtual machines often have \
               no PMU, and this machine's kernel exposes none.",
        try_it: "ferrotrace -e 'hardware:cache-misses:1000000 { @[comm] = count(); }'",
    },
    HookGuide {
        kind: ProbeKind::Watchpoint,
        kernel: "A hardware breakpoint: the CPU's debug registers (four on x86) watch one \
                 address for reads, writes or execution, opened as a perf event of type \
                 PERF_TYPE_BREAKPOINT. The CPU raises a debug exception on access and the \
                 kernel runs the program.",
        fires: "When the watched bytes are accessed in the given mode (`r`, `w`, `x`, or \
                combinations such as `rw`).",
        context: "The task that touched the address: `pid`, `comm`, stacks.",
        cost: "No cost until the address is touched, then a debug exception per access. \
               Only a handful of watchpoints can exist at once per CPU.",
        config: &["CONFIG_HAVE_HW_BREAKPOINT", "CONFIG_PERF_EVENTS", "CONFIG_BPF_EVENTS"],
        list: "Nothing to list: any address; LEN is 1, 2, 4 or 8. With -p or -c the \
               address is in that process (a global's address from `nm PROGRAM` for a \
               non-PIE program, or printed by the program); otherwise it is a kernel \
               address from `/proc/kallsyms` (data symbols only with CONFIG_KALLSYMS_ALL).",
        try_it: "ferrotrace -p $(pgrep -n myprog) -e 'watchpoint:0x404040:8:w { @[ustack] = count(); }'",
    },
    HookGuide {
        kind: ProbeKind::Fentry,
        kernel: "A BPF trampoline: every traceable kernel function starts with a 5-byte \
                 call to `__fentry__` that ftrace patches into a `nop`. Attaching an fentry \
                 program rewrites that `nop` into a call to a trampoline the kernel \
                 generates, which saves the arguments and calls the JIT-compiled BPF \
                 program directly (BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY).",
        fires: "Every time any task enters the function.",
        context: "`args`: the function's arguments with their real names and C types, read \
                  from the kernel's BTF (`args.file->f_path`).",
        cost: "Low: a direct call and a register save, no trap; several times cheaper \
               than a kprobe.",
        config: &[
            "CONFIG_BPF_JIT",
            "CONFIG_DEBUG_INFO_BTF",
            "CONFIG_FUNCTION_TRACER",
            "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS",
        ],
        list: "`ferrotrace -l 'fentry:vfs_*'`; the candidates are functions described in \
               `/sys/kernel/btf/vmlinux` that appear in \
               `/sys/kernel/tracing/available_filter_functions`. This machine's kernel \
               has no BPF trampolines.",
        try_it: "ferrotrace -e 'fentry:vfs_read { @[comm] = count(); }'",
    },
    HookGuide {
        kind: ProbeKind::Fexit,
        kernel: "The same BPF trampoline as fentry (BPF_TRACE_FEXIT): the trampoline calls \
                 the original function itself, then calls the program with both the \
                 arguments and the return value.",
        fires: "Every time the function returns.",
        context: "`args` (typed from BTF, still readable at return) and `retval`.",
        cost: "Low: like fentry, plus the trampoline's call of the original function.",
        config: &[
            "CONFIG_BPF_JIT",
            "CONFIG_DEBUG_INFO_BTF",
            "CONFIG_FUNCTION_TRACER",
            "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS",
        ],
        list: "The same functions as fentry.",
        try_it: "ferrotrace -e 'fexit:vfs_read { @bytes[comm] = sum(retval); }'",
    },
    HookGuide {
        kind: ProbeKind::Iter,
        kernel: "A BPF iterator (BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER): the kernel walks \
                 one of its object lists (tasks, open files, memory areas, ...) and calls \
                 the program once per object while user space reads the iterator's file \
                 descriptor.",
        fires: "Once per object, only while the iterator is read; then the script ends.",
        context: "`ctx`: the iterator's context, such as `ctx->task` for `iter:task`, \
                  typed from BTF.",
        cost: "Nothing while idle; one program call per object per read.",
        config: &["CONFIG_BPF_SYSCALL", "CONFIG_DEBUG_INFO_BTF"],
        list: "The kernel's iterators are the `bpf_iter_*` types in its BTF (task, \
               task_file, task_vma, tcp, ...).",
        try_it: "ferrotrace -e 'iter:task { printf(\"%d %s\\n\", ctx->task->pid, ctx->task->comm); }'",
    },
    HookGuide {
        kind: ProbeKind::SelfSignal,
        kernel: "Not a kernel hook: the tracer itself runs the program when the tracer \
                 process receives the named signal.",
        fires: "Each time ferrotrace receives the signal (for example `kill -USR1`).",
        context: "No event: the tracer's own task.",
        cost: "Nothing per event elsewhere in the system.",
        config: &["CONFIG_BPF_SYSCALL"],
        list: "Nothing to list: SIGUSR1 is the supported signal.",
        try_it: "ferrotrace -e 'self:signal:SIGUSR1 { printf(\"got USR1\\n\"); }'",
    },
    HookGuide {
        kind: ProbeKind::Test,
        kernel: "Not a kernel hook: under `--test` the tracer runs each test program once \
                 with BPF_PROG_TEST_RUN and reports whether it passed.",
        fires: "Once per run of `--test`.",
        context: "No event.",
        cost: "Nothing per event.",
        config: &["CONFIG_BPF_SYSCALL"],
        list: "The `test:` blocks of the script.",
        try_it: "ferrotrace --test -e 'test:arith { if (1 + 1 != 2) { return 1; } }'",
    },
    HookGuide {
        kind: ProbeKind::Bench,
        kernel: "Not a kernel hook: under `--bench` the tracer runs each program many times \
                 with BPF_PROG_TEST_RUN (for about 200 ms) and reports the average time per \
                 run, the system call included.",
        fires: "Repeatedly, under `--bench` only.",
        context: "No event.",
        cost: "Only the benchmark's own runs.",
        config: &["CONFIG_BPF_SYSCALL"],
        list: "The `bench:` blocks of the script.",
        try_it: "ferrotrace --bench -e 'bench:map_update { @x = 1; }'",
    },
];

impl ProbeKind {
    /// The teaching guide's entry for this kind.
    pub fn guide(self) -> Option<&'static HookGuide> {
        HOOK_GUIDES.iter().find(|g| g.kind == self)
    }
}

#[cfg(test)]
mod tests {
    use crate::probes::PROBE_KINDS;

    #[test]
    fn every_kind_has_exactly_one_guide() {
        for info in PROBE_KINDS {
            let n = super::HOOK_GUIDES
                .iter()
                .filter(|g| g.kind == info.kind)
                .count();
            assert_eq!(n, 1, "{} has {n} guide entries", info.name);
        }
        assert_eq!(super::HOOK_GUIDES.len(), PROBE_KINDS.len());
    }

    #[test]
    fn every_guide_needs_some_configuration_and_has_a_one_liner() {
        for g in super::HOOK_GUIDES {
            assert!(g.config.iter().all(|c| c.starts_with("CONFIG_")));
            assert!(g.try_it.contains("ferrotrace "), "{:?}", g.kind);
        }
    }
}
