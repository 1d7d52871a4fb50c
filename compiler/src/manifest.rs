//! The versioned contract between the compiler and the runtime.
//!
//! An `Artifact` is the BPF ELF object plus this `Manifest`, which tells the
//! runtime everything it must know without understanding the language: which
//! ELF function is which probe and how to attach it, each map's kind, sizes
//! and how to decode and print it, and the layout of every event record sent
//! through the ring buffer. Event records start with a `u64` index into
//! `events`. Bump `MANIFEST_VERSION` on any incompatible change.

use serde::{Deserialize, Serialize};

pub const MANIFEST_VERSION: u32 = 2;

/// The compiler's output: an ELF object for the BPF target and its manifest.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub elf: Vec<u8>,
    pub manifest: Manifest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub programs: Vec<ProgramSpec>,
    pub maps: Vec<MapSpec>,
    pub events: Vec<EventSpec>,
    /// Settings from the script's `config` block and `BPFTRACE_*` variables
    /// that the runtime acts on.
    #[serde(default)]
    pub config: RunConfig,
}

/// The runtime's share of the script's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Print every non-empty map when tracing stops.
    pub print_maps_on_exit: bool,
    /// `error`, `warn` or `ignore`: what to do when a probe cannot attach.
    pub missing_probes: String,
    /// Entries of maps not declared with a size.
    pub max_map_keys: u32,
    /// Capacity of strings read with `str()`, NUL included.
    pub max_strlen: u32,
}

impl Default for RunConfig {
    fn default() -> RunConfig {
        RunConfig {
            print_maps_on_exit: true,
            missing_probes: "error".to_string(),
            max_map_keys: 4096,
            max_strlen: 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramSpec {
    /// The ELF symbol of the program's function.
    pub function: String,
    /// The ELF section holding it.
    pub section: String,
    /// The probe's display name (`tracepoint:syscalls:sys_enter_openat`).
    pub probe: String,
    pub attach: AttachSpec,
    /// 1-based line and column of the attach point, for attach errors.
    pub line: usize,
    pub column: usize,
}

/// How to attach a program. The runtime picks the BPF program type from this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachSpec {
    /// Run once with BPF_PROG_TEST_RUN after everything is attached.
    Begin,
    /// Run once with BPF_PROG_TEST_RUN when tracing stops.
    End,
    /// A tracefs tracepoint, attached through a perf event.
    Tracepoint { category: String, name: String },
    /// A perf event of `event_type`/`config` sampling every `period`
    /// (nanoseconds for clocks), on CPU 0 only (`interval`, never scoped to
    /// a process) or on every online CPU (`profile`, `software`,
    /// `hardware`: scoped to the target process of `-p`/`-c` when there is
    /// one, as in bpftrace 0.24).
    PerfEvent {
        event_type: u32,
        config: u64,
        period: u64,
        every_cpu: bool,
    },
    /// A raw tracepoint by its kernel name, attached with one BPF link.
    RawTracepoint { name: String },
    /// The one program running every `syscalls:sys_enter_*` (or
    /// `sys_exit_*`) probe of the script, dispatching on the syscall number;
    /// attached to the raw tracepoint `raw_tracepoint` (`sys_enter` or
    /// `sys_exit`) with one BPF link. `probes` names the probes it runs.
    SyscallDispatch {
        raw_tracepoint: String,
        probes: Vec<String>,
    },
    /// A kprobe at `function+offset`, or a kretprobe; with an empty
    /// `function`, at the kernel address `offset` (`kprobe:0xADDR`).
    Kprobe {
        function: String,
        offset: u64,
        retprobe: bool,
    },
    /// An fentry or fexit BPF trampoline on a kernel function.
    Fentry { function: String, fexit: bool },
    /// A BPF iterator (`task`, `task_file`, ...).
    Iter { name: String },
    /// A uprobe (or uretprobe) through the uprobe PMU, at file offset
    /// `offset` of `binary`, in every process or only the one the session
    /// targets (`-p`, `-c`). `ref_ctr_offset` is the file offset of a USDT
    /// semaphore the kernel increments while the probe is attached.
    Uprobe {
        binary: String,
        offset: u64,
        retprobe: bool,
        ref_ctr_offset: Option<u64>,
    },
    /// A hardware breakpoint (`PERF_TYPE_BREAKPOINT`) on `len` bytes at
    /// `addr` with `bp_type` (`HW_BREAKPOINT_R|W|X` bits): in the target
    /// process (`-p`, `-c`) when there is one, else a kernel address on
    /// every online CPU.
    Watchpoint { addr: u64, len: u8, bp_type: u32 },
    /// `self:signal:SIG`: run with BPF_PROG_TEST_RUN each time the tracer
    /// receives signal number `signal`.
    SelfSignal { signal: u32 },
    /// `test:NAME` (run once under `--test`) or `bench:NAME` (run
    /// repeatedly under `--bench`); never attached otherwise.
    Test { name: String, bench: bool },
}

impl Manifest {
    /// How many probes the programs implement, as `Attached N probes` counts
    /// them: a syscall dispatcher counts every probe it runs; `test:` and
    /// `bench:` probes, which are never attached, do not count.
    pub fn probe_count(&self) -> usize {
        self.programs
            .iter()
            .map(|p| match &p.attach {
                AttachSpec::SyscallDispatch { probes, .. } => probes.len(),
                // Run only under `--test`/`--bench`, never attached.
                AttachSpec::Test { .. } => 0,
                _ => 1,
            })
            .sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapKind {
    Hash,
    Array,
    PercpuHash,
    PercpuArray,
    Ringbuf,
    LruHash,
    LruPercpuHash,
    /// `BPF_MAP_TYPE_STACK_TRACE`: stack id → frame addresses.
    StackTrace,
}

impl MapKind {
    /// The kernel's `enum bpf_map_type` value.
    pub fn bpf_type(self) -> u32 {
        match self {
            MapKind::Hash => 1,
            MapKind::Array => 2,
            MapKind::PercpuHash => 5,
            MapKind::PercpuArray => 6,
            MapKind::Ringbuf => 27,
            MapKind::LruHash => 9,
            MapKind::LruPercpuHash => 10,
            MapKind::StackTrace => 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapSpec {
    /// The ELF symbol naming the map (also its kernel name).
    pub elf_name: String,
    pub kind: MapKind,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub role: MapRole,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MapRole {
    /// A script map: printed at exit under `name` (`@x`, or `@`).
    User {
        name: String,
        key: Vec<Field>,
        value: MapValueSpec,
    },
    /// The ring buffer carrying events to user space.
    Events,
    /// Per-CPU scratch memory for temporaries too large for the BPF stack.
    Scratch,
    /// One u64 at key 0: the pid of the `-c` command, written by the
    /// runtime before attaching (`cpid`).
    Cpid,
    /// A one-entry per-CPU array of u64: event records the ring buffer
    /// refused (it was full), summed over CPUs for `Lost N events`.
    Lost,
    /// A one-entry hash (key `u64 0`, value u64) the runtime sets to the
    /// CLOCK_BOOTTIME nanoseconds at which tracing started, before BEGIN
    /// runs; `elapsed` subtracts it. Present only when `elapsed` is used.
    Start,
    /// The stack-trace map of every `kstack`/`ustack` of this kind and
    /// frame limit: `bpf_get_stackid` stores frames here, and values of
    /// `ValueKind::Stack` hold the ids to look up.
    Stacks { kind: StackKind, limit: u8 },
}

/// Whose stack a `kstack`/`ustack` value records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StackKind {
    Kernel,
    User,
}

/// Which table turns a `ValueKind::Named` integer into text when printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NameTable {
    /// `syscall_name(nr)`: the x86-64 syscall table.
    Syscall,
    /// `signal_name(sig)`: `SIGKILL` and so on.
    Signal,
    /// `strerror(errno)`: the C library's error descriptions.
    Errno,
    /// `username`: the uid's name in /etc/passwd.
    User,
    /// `cgroup_path(id)`: the cgroup v2 directory with that id, as
    /// `unified:/PATH`.
    CgroupPath,
}

/// The data values made by `buf`, `ntop`, `pton`, `macaddr` and
/// `strftime`: bytes recorded in BPF, turned into text in user space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataKind {
    /// `buf(p, len)`, `pton(..)`: a `u32` byte count at 0, then up to
    /// `cap` bytes from offset 8.
    Buffer { cap: u32 },
    /// `ntop(addr)`: a `u64` address family at 0 (2 IPv4, 10 IPv6), then
    /// the address bytes (4 or 16) from offset 8.
    Inet,
    /// `macaddr(addr)`: 6 bytes, printed `AA:BB:CC:DD:EE:FF`.
    MacAddr,
    /// `strftime(fmt, nsecs)`: a `u64` of CLOCK_BOOTTIME nanoseconds,
    /// printed as local time with the strftime `format` (`%f`: microseconds).
    Timestamp { format: String },
}

impl DataKind {
    /// Bytes of a value of this kind.
    pub fn size(&self) -> u32 {
        match self {
            DataKind::Buffer { cap } => cap.saturating_add(8),
            DataKind::Inet => 24,
            DataKind::MacAddr => 6,
            DataKind::Timestamp { .. } => 8,
        }
    }
}

/// How a stack is printed (bpftrace's `stack_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StackMode {
    /// `    sym+off` per frame.
    Bpftrace,
    /// `\tADDR sym+off (module)` per frame, as `perf script` prints.
    Perf,
    /// Bare hexadecimal addresses.
    Raw,
}

impl StackMode {
    pub fn lookup(name: &str) -> Option<StackMode> {
        match name {
            "bpftrace" => Some(StackMode::Bpftrace),
            "perf" => Some(StackMode::Perf),
            "raw" => Some(StackMode::Raw),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StackMode::Bpftrace => "bpftrace",
            StackMode::Perf => "perf",
            StackMode::Raw => "raw",
        }
    }
}

/// How to combine and print a map's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MapValueSpec {
    Plain(ValueKind),
    /// Per-CPU u64 counters: sum over CPUs, print as unsigned.
    Count,
    /// Per-CPU 64-bit sums: sum over CPUs.
    Sum {
        signed: bool,
    },
    /// `avg()`: per CPU a u64 count at 0 and a 64-bit total at 8; the
    /// average is total / count over all CPUs (integer division).
    Avg {
        signed: bool,
    },
    /// `min()`: per CPU a 64-bit value at 0 and a u64 "set" flag at 8; CPUs
    /// whose flag is 0 never saw a value and are not counted.
    Min {
        signed: bool,
    },
    /// `max()`: laid out like `Min`.
    Max {
        signed: bool,
    },
    /// `stats()`: laid out like `Avg`; prints count, average and total.
    Stats {
        signed: bool,
    },
    /// `hist(n, bits)`: per CPU one u64 counter per log2 bucket: bucket 0
    /// counts negative values, then each power of two has 2^bits buckets
    /// (see the runtime's `output::hist`). Counters are summed over CPUs.
    Hist {
        bits: u8,
    },
    /// `lhist(n, min, max, step)`: per CPU one u64 counter per bucket:
    /// bucket 0 counts values below `min`, bucket i ≥ 1 counts
    /// `[min + (i-1)·step, min + i·step)`, the last counts values ≥ `max`.
    Lhist {
        min: i64,
        max: i64,
        step: i64,
    },
    /// `tseries(n, interval_ns, num_intervals[, agg])`: per CPU
    /// `num_intervals` slots of 24 bytes, slot `epoch % num_intervals`
    /// holding a 64-bit value at 0, a u64 `meta` at 8 (the CLOCK_TAI time
    /// of the last store without `agg`, the count of values for `avg`) and
    /// the u64 epoch (`CLOCK_TAI ns / interval_ns`) at 16; epoch 0 is an
    /// unused slot. See the runtime's `output::tseries`.
    Tseries {
        interval_ns: u64,
        num_intervals: u32,
        agg: TseriesAgg,
        signed: bool,
    },
}

/// How `tseries()` combines the values given in one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TseriesAgg {
    /// No fourth argument: the value stored last wins.
    Last,
    Avg,
    Max,
    Min,
    Sum,
}

impl TseriesAgg {
    /// The fourth argument's spelling, or `None` for `Last`.
    pub fn name(self) -> Option<&'static str> {
        match self {
            TseriesAgg::Last => None,
            TseriesAgg::Avg => Some("avg"),
            TseriesAgg::Max => Some("max"),
            TseriesAgg::Min => Some("min"),
            TseriesAgg::Sum => Some("sum"),
        }
    }
}

/// One value at a byte offset inside a key or an event record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub offset: u32,
    pub kind: ValueKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ValueKind {
    Int {
        size: u8,
        signed: bool,
    },
    Bool,
    /// A NUL-terminated string in `len` bytes.
    Str {
        len: u32,
    },
    Pointer,
    /// A tuple: its elements at offsets relative to the tuple's start.
    Tuple {
        fields: Vec<Field>,
    },
    /// A record (named tuple): laid out like a tuple, `names[i]` naming
    /// `fields[i]`; printed `(name = x, size = 2)`, a JSON object.
    Record {
        fields: Vec<Field>,
        names: Vec<String>,
    },
    /// A stack recorded by `kstack`/`ustack`: an `i64` stack id into the
    /// `MapRole::Stacks` map of this kind and limit, followed for user
    /// stacks by the `u64` pid whose address space the frames belong to.
    Stack {
        kind: StackKind,
        mode: StackMode,
        limit: u8,
    },
    /// `ksym(addr)`/`usym(addr)`: a `u64` address printed as the name of
    /// the function containing it; user symbols are followed by the `u64`
    /// pid of the process whose address space it is in.
    Symbol {
        kind: StackKind,
    },
    /// `syscall_name(n)`, `signal_name(n)`, `strerror(n)`: like `Symbol`,
    /// an integer (`u64`) in BPF that the runtime prints as its name in
    /// `table`.
    Named {
        table: NameTable,
    },
    /// A buffer, an IP or MAC address, or a timestamp (see `DataKind`).
    Data {
        kind: DataKind,
    },
    /// A C struct or union of `size` bytes, printed `{ .a = 1, .b = 2 }`
    /// by its named fields at their offsets.
    Struct {
        size: u32,
        fields: Vec<NamedField>,
    },
}

/// A struct field: its name, offset from the struct's start, and kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedField {
    pub name: String,
    pub offset: u32,
    pub kind: ValueKind,
}

impl ValueKind {
    pub fn size(&self) -> u32 {
        match self {
            ValueKind::Int { size, .. } => u32::from(*size),
            ValueKind::Bool => 1,
            ValueKind::Str { len } => *len,
            ValueKind::Pointer | ValueKind::Named { .. } => 8,
            ValueKind::Tuple { fields } | ValueKind::Record { fields, .. } => fields
                .iter()
                .map(|f| f.offset + f.kind.size().div_ceil(8) * 8)
                .max()
                .unwrap_or(0),
            ValueKind::Stack { kind, .. } | ValueKind::Symbol { kind } => stack_value_size(*kind),
            ValueKind::Data { kind } => kind.size(),
            ValueKind::Struct { size, .. } => *size,
        }
    }
}

/// Bytes of a stack value: the stack id, and for user stacks the pid.
pub fn stack_value_size(kind: StackKind) -> u32 {
    match kind {
        StackKind::Kernel => 8,
        StackKind::User => 16,
    }
}

/// An event record's meaning and layout. Offsets count from the record's
/// start, whose first 8 bytes are the event index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventSpec {
    Printf {
        format: String,
        args: Vec<Field>,
    },
    /// `exit(code)`: the code is an i64 at offset 8.
    Exit,
    /// `print(@map, top, div)`: print the map (by its ELF name) now, only
    /// its `top` largest entries when `top` is not 0, values divided by
    /// `div`. The record holds only the event index.
    PrintMap {
        map: String,
        top: u64,
        div: u64,
    },
    /// `clear(@map)`: remove every key of the map now.
    ClearMap {
        map: String,
    },
    /// `zero(@map)`: set every value of the map to zero now.
    ZeroMap {
        map: String,
    },
    /// `print(value)`: print the one value described by `value`.
    PrintValue {
        value: Field,
    },
    /// `time(fmt)`: print the local time, formatted by strftime(3).
    Time {
        format: String,
    },
    /// `join(arr, sep)`: a u64 count at offset 8, then `count` (at most
    /// `max_args`) NUL-terminated strings in slots of `arg_size` bytes
    /// from offset 16; print them joined by `sep`.
    Join {
        sep: String,
        max_args: u32,
        arg_size: u32,
    },
    /// `system(fmt, ...)`: a record laid out like `Printf`'s; format it and
    /// run the text with `sh -c`, printing the command's output.
    System {
        format: String,
        args: Vec<Field>,
    },
    /// `cat(fmt, ...)`: a record laid out like `Printf`'s; format it and
    /// print the contents of the file it names.
    Cat {
        format: String,
        args: Vec<Field>,
    },
    /// `errorf(fmt, ...)`/`warnf(fmt, ...)`: a record laid out like
    /// `Printf`'s; print its text as an error (or a warning) located at
    /// bytes `start..end` of the script (the call).
    Message {
        error: bool,
        format: String,
        args: Vec<Field>,
        start: usize,
        end: usize,
    },
    /// `assert(cond, msg)` failed at bytes `start..end` of the script:
    /// print `assert failed: MSG` as an error located there (the exit
    /// event follows). The record holds only the event index.
    AssertFailed {
        message: String,
        start: usize,
        end: usize,
    },
    /// A BPF helper failed at bytes `start..end` of the script: an i64
    /// return code at offset 8. Map updates report a full map; with `-k`,
    /// failed reads of kernel or user memory report too.
    HelperError {
        helper: String,
        start: usize,
        end: usize,
    },
    /// `unwatch(addr)`: remove the watchpoints on the u64 address at offset 8.
    Unwatch,
}
