//! The typed IR: the checker's output and the code generator's only input.
//!
//! Every expression carries its resolved `Type`; names are resolved to ids
//! (`MapId`, `VarId`, `FormatId`) and builtins to catalogue enums. Attach
//! points are expanded: one `Probe` per concrete attach point, so each probe
//! has exactly one context layout. Implicit conversions are explicit `Cast`
//! nodes, so the code generator never decides a language rule.
//! `Display` prints the IR in the compact form used by snapshots and
//! `--emit ir`.

use crate::manifest::{stack_value_size, DataKind, NameTable, StackKind, StackMode};
use crate::source::Span;
use crate::user_space::UsdtArg;
use ferrotrace_stdlib::Builtin;
use std::fmt::{self, Write};

pub use crate::syntax::ast::{BinaryOp, UnaryOp};

pub type MapId = usize;
pub type VarId = usize;
pub type FormatId = usize;

#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub probes: Vec<Probe>,
    pub maps: Vec<MapDef>,
    pub formats: Vec<Format>,
    /// The `config = { ... }` block and map declarations, resolved.
    pub settings: Settings,
    /// Asynchronous map and print actions (`print`, `clear`, `zero`), each
    /// sent as an event record and performed by the runtime in event order.
    pub actions: Vec<Action>,
}

/// Program-wide settings from the `config` block (and `BPFTRACE_*`
/// environment variables, which win) and from map declarations.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Entries of a map that is not declared with a size.
    pub max_map_keys: u32,
    /// Capacity of strings read with `str()`, NUL included.
    pub max_strlen: u32,
    pub print_maps_on_exit: bool,
    /// `error`, `warn` or `ignore`: what to do when a probe cannot attach.
    pub missing_probes: String,
    /// `enable`, `warn` or `error`: the `unstable_tseries` gate.
    pub unstable_tseries: String,
    /// Maps declared with `let @name = kind(N);`, by full name (`@name`).
    pub declared_maps: Vec<DeclaredMap>,
    /// The other keys of the config block (`sema/config.rs`).
    pub more: crate::manifest::MoreConfig,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_map_keys: 4096,
            max_strlen: 1024,
            print_maps_on_exit: true,
            missing_probes: "error".to_string(),
            unstable_tseries: "warn".to_string(),
            declared_maps: Vec::new(),
            more: crate::manifest::MoreConfig::default(),
        }
    }
}

/// A map declared with `let @name = kind(max_entries);`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredMap {
    pub name: String,
    pub kind: DeclaredKind,
    pub max_entries: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclaredKind {
    Hash,
    LruHash,
    PercpuHash,
    PercpuLruHash,
}

impl Settings {
    /// The declaration of map `name`, if any.
    pub fn declared(&self, name: &str) -> Option<&DeclaredMap> {
        self.declared_maps.iter().find(|d| d.name == name)
    }
}

pub type ActionId = usize;

/// An action the BPF program asks user space to perform.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `print(@m[, top[, div]])`: prints the map now; `top` 0 means all.
    PrintMap { map: MapId, top: u64, div: u64 },
    /// `clear(@m)`: removes every key.
    ClearMap { map: MapId },
    /// `zero(@m)`: sets every value to zero.
    ZeroMap { map: MapId },
    /// `print(value)`: prints one value of this type.
    PrintValue(Type),
    /// `time(fmt)`: prints the local time in this strftime format.
    Time(String),
    /// `join(arr, sep)`: prints the strings of the NULL-terminated pointer
    /// array (the action's one argument, read from `space`) joined by `sep`.
    Join { sep: String, space: AddrSpace },
    /// `system(fmt, ...)`: runs the command formatted by `format` (the
    /// action's arguments are the format's, as for printf) with `sh -c`.
    System { format: FormatId },
    /// `cat(fmt, ...)`: prints the file named by `format`'s text.
    Cat { format: FormatId },
    /// `errorf(fmt, ...)` (`error`) or `warnf(fmt, ...)`: prints `format`'s
    /// text as a message located at the call's `span`.
    Message {
        format: FormatId,
        error: bool,
        span: Span,
    },
    /// `assert(cond, msg)` failed: prints `assert failed: MSG` as an error
    /// located at `span` (the runtime exits with code 1 after it).
    AssertFailed { message: String, span: Span },
    /// `unwatch(addr)`: the tracer removes the watchpoints on the address
    /// (the action's one argument, a u64).
    Unwatch,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The concrete attach point as bpftrace names it (the `probe` builtin):
    /// `BEGIN`, `tracepoint:syscalls:sys_enter_openat`, `interval:s:1`.
    pub name: String,
    pub attach: Attach,
    pub predicate: Option<Expr>,
    pub body: Vec<Stmt>,
    /// Types of the probe's scratch variables, indexed by `VarId`.
    pub locals: Vec<Type>,
    /// The attach point's span, for attach-time errors.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attach {
    Begin,
    End,
    Tracepoint {
        category: String,
        name: String,
    },
    /// A timer on one CPU firing every `period_ns` nanoseconds.
    Interval {
        period_ns: u64,
    },
    /// A raw tracepoint by its kernel name (`sched_switch`).
    RawTracepoint {
        name: String,
    },
    /// A sampling perf event (`profile`, `software`, `hardware`):
    /// `perf_event_attr` type and config, sampled every `period` events
    /// (nanoseconds for clocks), on every online CPU or on CPU 0 only.
    Perf {
        event_type: u32,
        config: u64,
        period: u64,
        every_cpu: bool,
    },
    /// A kprobe (`ret == false`, at `function+offset`) or a kretprobe;
    /// `kprobe:0xADDR` (`--unsafe`) has an empty `function` and the
    /// address in `offset`.
    Kprobe {
        function: String,
        offset: u64,
        ret: bool,
    },
    /// An fentry (`exit == false`) or fexit trampoline on a kernel function.
    Fentry {
        function: String,
        exit: bool,
    },
    /// A BPF iterator over a kernel object list (`task`, `task_file`, ...).
    Iter {
        name: String,
    },
    /// A uprobe (or uretprobe) at file offset `offset` of `binary`; a USDT
    /// probe with a semaphore also has its file offset in `ref_ctr_offset`.
    Uprobe {
        binary: String,
        offset: u64,
        retprobe: bool,
        ref_ctr_offset: Option<u64>,
    },
    /// A hardware breakpoint on `len` bytes at `addr`; `bp_type` is the
    /// kernel's `HW_BREAKPOINT_R|W|X` bits of the mode (`rw` is 3).
    Watchpoint {
        addr: u64,
        len: u8,
        bp_type: u32,
    },
    /// `self:signal:SIGUSR1`: run by the tracer when it receives `signal`.
    SelfSignal {
        signal: u32,
    },
    /// `test:NAME` (`bench == false`) or `bench:NAME`: run by the tracer
    /// under `--test` / `--bench` only.
    Test {
        name: String,
        bench: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct MapDef {
    /// The user-visible name including `@` (`@` alone for the anonymous map).
    pub name: String,
    /// Key element types; empty for a scalar map. Integers are 64-bit.
    pub key: Vec<Type>,
    pub value: MapValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MapValue {
    /// A value stored with `=`; integers are 64-bit.
    Plain(Type),
    /// `count()`: per-CPU u64 counters summed on read.
    Count,
    /// `sum(n)`: per-CPU 64-bit sums.
    Sum { signed: bool },
    /// `avg(n)`: per-CPU count and total; the average is taken on read.
    Avg { signed: bool },
    /// `min(n)`: per-CPU smallest value and a was-set flag.
    Min { signed: bool },
    /// `max(n)`: per-CPU largest value and a was-set flag.
    Max { signed: bool },
    /// `stats(n)`: per-CPU count and total.
    Stats { signed: bool },
    /// `hist(n, bits)`: per-CPU log2 bucket counters, 2^bits per power.
    Hist { bits: u8 },
    /// `lhist(n, min, max, step)`: per-CPU linear bucket counters.
    Lhist { min: i64, max: i64, step: i64 },
    /// `tseries(n, interval_ns, num_intervals[, agg])`: per-CPU rings of
    /// `num_intervals` (value, meta, epoch) slots.
    Tseries {
        interval_ns: u64,
        num_intervals: u32,
        agg: crate::manifest::TseriesAgg,
        signed: bool,
    },
}

impl MapValue {
    /// The name of the aggregation, or `None` for plain values.
    pub fn aggregation_name(&self) -> Option<&'static str> {
        Some(match self {
            MapValue::Plain(_) => return None,
            MapValue::Count => "count",
            MapValue::Sum { .. } => "sum",
            MapValue::Avg { .. } => "avg",
            MapValue::Min { .. } => "min",
            MapValue::Max { .. } => "max",
            MapValue::Stats { .. } => "stats",
            MapValue::Hist { .. } => "hist",
            MapValue::Lhist { .. } => "lhist",
            MapValue::Tseries { .. } => "tseries",
        })
    }
}

/// A printf format string and the types of its arguments, which fix the
/// layout of the event record.
#[derive(Debug, Clone, PartialEq)]
pub struct Format {
    pub text: String,
    pub args: Vec<Type>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int {
        bits: u8,
        signed: bool,
    },
    /// A NUL-terminated string in a buffer of this many bytes (NUL included).
    Str(u32),
    Ptr {
        pointee: Box<Type>,
        space: AddrSpace,
    },
    /// `(a, b, ...)`: elements at the offsets of `tuple_layout`.
    Tuple(Vec<Type>),
    /// `(name = a, size = b)`: a record (named tuple), laid out like the
    /// tuple of its `elems`; `names[i]` names `elems[i]`. Two records are
    /// the same type only with the same names in the same order.
    Record {
        names: Vec<String>,
        elems: Vec<Type>,
    },
    /// A stack recorded by `kstack`/`ustack` (see `ValueKind::Stack`).
    Stack(StackType),
    /// An address printed as a symbol: `ksym(addr)` (kernel) or
    /// `usym(addr)` (user, with the pid; see `ValueKind::Symbol`).
    Symbol(StackKind),
    /// An integer printed as its name in a table (`syscall_name(n)`, ...;
    /// see `ValueKind::Named`).
    Named(NameTable),
    /// Bytes turned into text in user space: a buffer, an IP or MAC
    /// address, a timestamp (see `DataKind` for each layout).
    Data(DataKind),
    /// A C struct or union value (the bytes of a kernel object, read with
    /// `*p`), printed `{ .a = 1, .b = 2 }` by its printable fields.
    Struct(std::rc::Rc<StructType>),
}

/// A C struct or union as a value: its size and the fields that can be
/// printed (integers, pointers, char arrays as strings, nested records),
/// each at its byte offset. Two struct types are equal when their names
/// and sizes are.
#[derive(Debug, Clone, Eq)]
pub struct StructType {
    /// `struct task_struct`, `union (anonymous)`.
    pub name: String,
    pub size: u32,
    pub fields: Vec<(String, u32, Type)>,
}

impl PartialEq for StructType {
    fn eq(&self, other: &StructType) -> bool {
        self.name == other.name && self.size == other.size
    }
}

/// The byte offsets of a tuple's elements and its total size: each element
/// takes an 8-aligned slot (integers, bools and pointers 8 bytes, strings
/// their capacity rounded up to 8, tuples their own size).
pub fn tuple_layout(elems: &[Type]) -> (Vec<u32>, u32) {
    let mut offsets = Vec::with_capacity(elems.len());
    let mut off = 0u32;
    for t in elems {
        offsets.push(off);
        off = off.saturating_add(t.slot_size());
    }
    (offsets, off)
}

/// A stack value's kind, print mode and frame limit; values of different
/// `StackType`s are different types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StackType {
    pub kind: StackKind,
    pub mode: StackMode,
    pub limit: u8,
}

impl StackType {
    /// bpftrace's default frame limit (the kernel's `perf_event_max_stack`).
    pub const DEFAULT_LIMIT: u8 = 127;
}

/// The kernel clocks `nsecs(mode)` reads (`sw_tai` is `Tai`: every kernel
/// ferrotrace runs on has the TAI helper).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Boot,
    Monotonic,
    Tai,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrSpace {
    Kernel,
    User,
}

impl Type {
    pub const U64: Type = Type::Int {
        bits: 64,
        signed: false,
    };
    pub const I64: Type = Type::Int {
        bits: 64,
        signed: true,
    };
    pub const U32: Type = Type::Int {
        bits: 32,
        signed: false,
    };
    pub const I32: Type = Type::Int {
        bits: 32,
        signed: true,
    };

    pub fn is_int(&self) -> bool {
        matches!(self, Type::Int { .. })
    }

    pub fn is_signed(&self) -> bool {
        matches!(self, Type::Int { signed: true, .. })
    }

    /// Size in bytes when stored in a map, an event or scratch memory.
    pub fn size(&self) -> u32 {
        match self {
            Type::Bool => 1,
            Type::Int { bits, .. } => u32::from(*bits) / 8,
            Type::Str(n) => *n,
            Type::Ptr { .. } => 8,
            Type::Stack(s) => stack_value_size(s.kind),
            Type::Symbol(kind) => stack_value_size(*kind),
            Type::Named(_) => 8,
            Type::Tuple(elems) | Type::Record { elems, .. } => tuple_layout(elems).1,
            Type::Data(d) => d.size(),
            Type::Struct(s) => s.size,
        }
    }

    /// The elements of a tuple or a record, which share one layout.
    pub fn tuple_elems(&self) -> Option<&[Type]> {
        match self {
            Type::Tuple(elems) | Type::Record { elems, .. } => Some(elems),
            _ => None,
        }
    }

    /// Bytes of the 8-aligned slot a value of this type takes in a tuple,
    /// map key, map value or event record.
    pub fn slot_size(&self) -> u32 {
        match self {
            Type::Int { .. } | Type::Ptr { .. } | Type::Bool | Type::Named(_) => 8,
            Type::Str(n) => n.saturating_add(7) / 8 * 8,
            Type::Tuple(elems) | Type::Record { elems, .. } => tuple_layout(elems).1,
            Type::Stack(s) => stack_value_size(s.kind),
            Type::Symbol(kind) => stack_value_size(*kind),
            Type::Data(d) => d.size().saturating_add(7) / 8 * 8,
            Type::Struct(s) => s.size.saturating_add(7) / 8 * 8,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Int { bits, signed } => write!(f, "{}int{bits}", if *signed { "" } else { "u" }),
            Type::Str(n) => write!(f, "string[{n}]"),
            Type::Ptr { pointee, space } => {
                let s = match space {
                    AddrSpace::Kernel => "",
                    AddrSpace::User => " user",
                };
                write!(f, "{pointee} *{s}")
            }
            Type::Tuple(elems) => {
                let parts: Vec<String> = elems.iter().map(Type::to_string).collect();
                write!(f, "({})", parts.join(", "))
            }
            Type::Record { names, elems } => {
                let parts: Vec<String> = names
                    .iter()
                    .zip(elems)
                    .map(|(n, t)| format!("{n} = {t}"))
                    .collect();
                write!(f, "({})", parts.join(", "))
            }
            Type::Stack(s) => {
                let k = match s.kind {
                    StackKind::Kernel => "kstack",
                    StackKind::User => "ustack",
                };
                write!(f, "{k}({}, {})", s.mode.name(), s.limit)
            }
            Type::Symbol(StackKind::Kernel) => f.write_str("ksym"),
            Type::Symbol(StackKind::User) => f.write_str("usym"),
            Type::Named(NameTable::Syscall) => f.write_str("syscall_name"),
            Type::Named(NameTable::Signal) => f.write_str("signal_name"),
            Type::Named(NameTable::Errno) => f.write_str("strerror"),
            Type::Named(NameTable::CgroupPath) => f.write_str("cgroup_path"),
            Type::Named(NameTable::User) => f.write_str("username"),
            Type::Data(DataKind::Buffer { cap }) => write!(f, "buffer[{cap}]"),
            Type::Data(DataKind::Inet) => f.write_str("inet"),
            Type::Data(DataKind::MacAddr) => f.write_str("macaddr"),
            Type::Data(DataKind::Timestamp { format }) => write!(f, "timestamp({format:?})"),
            Type::Struct(s) => f.write_str(&s.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    Expr(Expr),
    /// Stores a value already converted to the target's type.
    Store {
        target: LValue,
        value: Expr,
    },
    /// Updates an aggregation map: `@m[k] = count()` / `sum(v)`.
    Aggregate {
        map: MapId,
        key: Vec<Expr>,
        op: AggregateOp,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        otherwise: Vec<Stmt>,
    },
    /// Sends a printf event; arguments match `formats[format].args`.
    Printf {
        format: FormatId,
        args: Vec<Expr>,
    },
    /// Sends the exit event and leaves the probe.
    Exit {
        code: Option<Expr>,
    },
    /// `while (cond) { body }`.
    Loop {
        cond: Expr,
        body: Vec<Stmt>,
    },
    /// `unroll(count) { body }`: the body emitted `count` times.
    Unroll {
        count: u32,
        body: Vec<Stmt>,
    },
    /// `for ($i : start..end) { body }`: the bounds are evaluated once and
    /// `body` runs with local `var` = start, start + 1, ..., end - 1.
    /// Lowered to `bpf_loop` with a callback, so any bounds verify.
    ForRange {
        var: VarId,
        start: Expr,
        end: Expr,
        body: Vec<Stmt>,
    },
    /// `for ($kv : @map) { body }`: runs `body` once per entry with local
    /// `var` holding the tuple `(key, value)` (a multi-key map's key is
    /// itself a tuple). Lowered to `bpf_for_each_map_elem` with a callback.
    ForEach {
        map: MapId,
        var: VarId,
        body: Vec<Stmt>,
    },
    /// A nested `{ }` block.
    Block(Vec<Stmt>),
    Break,
    Continue,
    /// Leaves the probe.
    Return,
    /// `return VALUE`: leaves the probe with this i32 return code.
    ReturnValue(Expr),
    /// Sends the event of `actions[action]`; `args` is the value of a
    /// `PrintValue` action and empty otherwise.
    Action {
        action: ActionId,
        args: Vec<Expr>,
    },
}

/// The update an aggregation statement makes; the map's `MapValue` fixes
/// the parameters (`hist` bits, `lhist` bounds). Operands are 64-bit.
#[derive(Debug, Clone, PartialEq)]
pub enum AggregateOp {
    Count,
    Sum(Expr),
    Avg(Expr),
    Min(Expr),
    Max(Expr),
    Stats(Expr),
    Hist(Expr),
    Lhist(Expr),
    Tseries(Expr),
}

impl AggregateOp {
    /// The operand, when the aggregation takes one.
    pub fn operand(&self) -> Option<&Expr> {
        match self {
            AggregateOp::Count => None,
            AggregateOp::Sum(e)
            | AggregateOp::Avg(e)
            | AggregateOp::Min(e)
            | AggregateOp::Max(e)
            | AggregateOp::Stats(e)
            | AggregateOp::Hist(e)
            | AggregateOp::Lhist(e)
            | AggregateOp::Tseries(e) => Some(e),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LValue {
    Local(VarId),
    Map { map: MapId, key: Vec<Expr> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An integer constant; its bits, read with `ty`'s width and sign.
    Int(u64),
    Bool(bool),
    /// A string literal; `ty` is `Str(len + 1)`.
    Str(String),
    /// A string literal whose bytes are not valid UTF-8; `ty` is `Str(len + 1)`.
    Bytes(Vec<u8>),
    /// `(a, b)`: elements already converted to the tuple type's elements.
    Tuple(Vec<Expr>),
    /// Element `index` of a tuple.
    TupleGet {
        base: Box<Expr>,
        index: usize,
    },
    /// `{ stmts; value }`: runs the statements, then yields the value.
    Block {
        stmts: Vec<Stmt>,
        value: Box<Expr>,
    },
    Builtin(Builtin),
    Local(VarId),
    /// Reads a map; a missing key reads as the zero value. A `count()` or
    /// `sum()` map reads as the sum of its per-CPU values.
    MapLoad {
        map: MapId,
        key: Vec<Expr>,
    },
    /// Reads a tracepoint field at `offset` bytes into the tracepoint record
    /// (more generally, into the program's context: `argN` and `retval`
    /// are such reads too). A `Str` type means a fixed `char[N]` field read
    /// as a string.
    TracepointField {
        offset: u32,
    },
    /// Reads the 64-bit register at byte `offset` of the probe's
    /// `struct pt_regs` context (uprobe `argN`, `retval`).
    Register {
        offset: u32,
    },
    /// An argument read from where its location says (a USDT note's
    /// specification, or a uprobe argument passed on the stack), extended to `ty`.
    UsdtArg(UsdtArg),
    /// Reads a `__data_loc char[]` tracepoint field as a string: the 32-bit
    /// value at `offset` holds the data's offset from the record start (low
    /// 16 bits) and its length (high 16 bits). `ty` is `Str(N)`.
    TracepointDataLoc {
        offset: u32,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    /// Both operands have the same type (the checker inserts casts), except
    /// shifts, whose right operand may differ. `And`/`Or` short-circuit.
    /// Comparisons of two `Str` compare contents.
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// Converts between integer widths and signedness, and bool ↔ integer
    /// (an integer becomes `true` when non-zero).
    Cast(Box<Expr>),
    /// `str(ptr[, len])`: reads a NUL-terminated string of at most
    /// `ty`'s length (or `len` bytes, NUL included, when smaller).
    StrRead {
        ptr: Box<Expr>,
        space: AddrSpace,
        len: Option<Box<Expr>>,
    },
    /// `delete(@m, key)`: removes the entry; true when it existed.
    MapDelete {
        map: MapId,
        key: Vec<Expr>,
    },
    /// `has_key(@m, key)`: true when the entry exists.
    MapHasKey {
        map: MapId,
        key: Vec<Expr>,
    },
    /// `x++` and friends: adds `delta` to the target and yields the old value
    /// (postfix) or the new one (prefix).
    IncDec {
        target: Box<LValue>,
        delta: i64,
        prefix: bool,
    },
    /// `ksym(addr)`/`usym(addr)`: keeps the (u64) address, plus the
    /// current pid for `usym`, to symbolize in user space; `ty` is
    /// `Type::Symbol`.
    SymbolOf(Box<Expr>),
    /// `strlen(s)`: the bytes of a `Str` before its NUL; `ty` is `U64`.
    Strlen(Box<Expr>),
    /// `strncmp(a, b, n)`: 0 when the first `n` bytes (stopping at a NUL
    /// in both) are equal, else 1; `ty` is `I64`.
    StrNcmp {
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        n: u32,
    },
    /// `strstr(hay, needle)`: the index of `needle`'s first occurrence in
    /// `hay` (both `Str`), or -1; `ty` is `I64`. `strcontains` is
    /// `strstr(..) >= 0`.
    StrStr {
        hay: Box<Expr>,
        needle: Box<Expr>,
    },
    /// `bswap(n)`: the bytes of an integer reversed, at its own width.
    Bswap(Box<Expr>),
    /// `signal(sig)`: sends the (u32) signal to the current process with
    /// `bpf_send_signal`; `ty` is `I64`, the helper's result.
    Signal(Box<Expr>),
    /// `buf(ptr, len)`: reads `len` bytes (at most the buffer type's `cap`;
    /// `cap` when `len` is absent) into a `Data(Buffer)`.
    BufRead {
        ptr: Box<Expr>,
        space: AddrSpace,
        len: Option<Box<Expr>>,
    },
    /// The raw bytes of a byte-array tracepoint field (`__u8 saddr[4]`):
    /// a `Data(Buffer { cap: n })` of exactly its `n` bytes.
    FieldBytes {
        offset: u32,
        n: u32,
    },
    /// A constant buffer (`pton("1.2.3.4")`); `ty` is `Data(Buffer)`.
    ConstBytes(Vec<u8>),
    /// `ntop(af, addr)`: `addr` is an integer (IPv4, 4 bytes in memory
    /// order) or a buffer of 4 or 16 bytes; `af` an `I64`; `ty` is
    /// `Data(Inet)`.
    Ntop {
        af: Box<Expr>,
        addr: Box<Expr>,
    },
    /// `macaddr(addr)`: the first 6 bytes of a buffer (a pointer argument
    /// is read into one); `ty` is `Data(MacAddr)`.
    MacAddr(Box<Expr>),
    /// `memcmp(l, r, n)`: compares `n` bytes of two strings or buffers;
    /// `ty` is `I64`.
    Memcmp {
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        n: u32,
    },
    /// `len(@map)`: the number of entries (`bpf_for_each_map_elem` with a
    /// callback that counts nothing else); `ty` is `I64`.
    MapLen {
        map: MapId,
    },
    /// `len(kstack)`/`len(ustack)`: the number of frames of the current
    /// stack (`bpf_get_stack` into `limit` slots); `ty` is `I64`.
    StackLen {
        kind: StackKind,
        limit: u8,
    },
    /// `path(p, size)`: `bpf_d_path` of the `struct path *` `ptr` into a
    /// string of `ty`'s size.
    DPath {
        ptr: Box<Expr>,
    },
    /// `debugf(fmt, ...)`: `bpf_trace_printk` of `format` (formatted by
    /// the kernel) with at most 3 `U64`/`I64` arguments; `ty` is `I64`.
    TracePrintk {
        format: String,
        args: Vec<Expr>,
    },
    /// Reads `ty`'s size in bytes at the (u64) address `addr` of `space`
    /// with `bpf_probe_read_{kernel,user}`: an integer or pointer, a char
    /// array as `Str(N)`, or a whole `Struct`. A failed read yields zeros.
    Deref {
        addr: Box<Expr>,
        space: AddrSpace,
    },
    /// `nsecs(mode)`: the named kernel clock.
    Clock(Clock),
    /// Byte `index` of the string value `base` as an `int8` (`$s[i]`);
    /// 0 for an index past the string's buffer.
    StrByte {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// The field at byte `offset` of a `Struct` value (`ty` is the field's).
    StructField {
        base: Box<Expr>,
        offset: u32,
    },
    /// Reads `ty` (an integer, or `Str(N)` as N bytes) at kernel address
    /// `addr + offset` with `bpf_probe_read_kernel` (`ppid`, `pcomm`:
    /// `task_struct` members at offsets found in BTF).
    KernelRead {
        addr: Box<Expr>,
        offset: u32,
    },
    /// `comm(pid)`: the `comm` (at `offset` in `task_struct`) of the task
    /// with this pid, found with the `bpf_task_from_pid` kfunc; empty when
    /// there is none. Typed `Str(16)`.
    TaskComm {
        pid: Box<Expr>,
        offset: u32,
    },
    /// `pid` (`thread == false`) or `tid` as seen from the pid namespace
    /// with device `dev` and inode `ino` (`bpf_get_ns_current_pid_tgid`).
    NsPid {
        thread: bool,
        dev: u64,
        ino: u64,
    },
    /// `signal_thread(sig)`: like `Signal`, to the current thread only
    /// (`bpf_send_signal_thread`).
    SignalThread(Box<Expr>),
    /// `override(rc)`: `bpf_override_return(ctx, rc)`, in kprobes.
    Override(Box<Expr>),
    /// `write_user(dst, src, len)`: writes the first `len` bytes of `src`
    /// (a `Str` or an integer) to user address `dst` with
    /// `bpf_probe_write_user`; `ty` is `Bool`, true on success.
    WriteUser {
        dst: Box<Expr>,
        src: Box<Expr>,
        len: u32,
    },
    /// `socket_cookie(sk)`: `bpf_get_socket_cookie`; `ty` is `U64`.
    SocketCookie(Box<Expr>),
}

// ---------------------------------------------------------------------------
// Printing

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.settings != Settings::default() {
            let s = &self.settings;
            writeln!(
                f,
                "config max_map_keys={} max_strlen={} print_maps_on_exit={} missing_probes={}",
                s.max_map_keys, s.max_strlen, s.print_maps_on_exit, s.missing_probes
            )?;
            for d in &s.declared_maps {
                writeln!(f, "declare {} {:?}({})", d.name, d.kind, d.max_entries)?;
            }
            if s.more != crate::manifest::MoreConfig::default() {
                writeln!(f, "config {:?}", s.more)?;
            }
        }
        for (i, m) in self.maps.iter().enumerate() {
            let key = m
                .key
                .iter()
                .map(Type::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let value = match &m.value {
                MapValue::Plain(t) => t.to_string(),
                MapValue::Count => "count".to_string(),
                MapValue::Sum { signed }
                | MapValue::Avg { signed }
                | MapValue::Min { signed }
                | MapValue::Max { signed }
                | MapValue::Stats { signed } => format!(
                    "{}({})",
                    m.value.aggregation_name().unwrap_or("?"),
                    if *signed { "int64" } else { "uint64" }
                ),
                MapValue::Hist { bits } => format!("hist(bits {bits})"),
                MapValue::Lhist { min, max, step } => format!("lhist({min}, {max}, {step})"),
                MapValue::Tseries {
                    interval_ns,
                    num_intervals,
                    agg,
                    signed,
                } => format!(
                    "tseries({}, {interval_ns}ns, {num_intervals}{})",
                    if *signed { "int64" } else { "uint64" },
                    agg.name().map(|a| format!(", {a}")).unwrap_or_default()
                ),
            };
            writeln!(f, "map #{i} {}[{key}]: {value}", m.name)?;
        }
        for (i, fmt_) in self.formats.iter().enumerate() {
            let args = fmt_
                .args
                .iter()
                .map(Type::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(f, "format #{i} {:?} ({args})", fmt_.text)?;
        }
        for (i, a) in self.actions.iter().enumerate() {
            match a {
                Action::PrintMap { map, top, div } => {
                    writeln!(f, "action #{i} print(map#{map}, top {top}, div {div})")?
                }
                Action::ClearMap { map } => writeln!(f, "action #{i} clear(map#{map})")?,
                Action::ZeroMap { map } => writeln!(f, "action #{i} zero(map#{map})")?,
                Action::PrintValue(t) => writeln!(f, "action #{i} print({t})")?,
                Action::Time(fmt_) => writeln!(f, "action #{i} time({fmt_:?})")?,
                Action::System { format } => writeln!(f, "action #{i} system(format #{format})")?,
                Action::Cat { format } => writeln!(f, "action #{i} cat(format #{format})")?,
                Action::Message { format, error, .. } => writeln!(
                    f,
                    "action #{i} {}(format #{format})",
                    if *error { "errorf" } else { "warnf" }
                )?,
                Action::AssertFailed { message, span } => writeln!(
                    f,
                    "action #{i} assert_failed({message:?} at {}..{})",
                    span.start, span.end
                )?,
                Action::Unwatch => writeln!(f, "action #{i} unwatch(u64)")?,
                Action::Join { sep, space } => {
                    writeln!(f, "action #{i} join(sep {sep:?}, {space:?})")?
                }
            }
        }
        for p in &self.probes {
            write!(f, "probe {} ({:?})", p.name, p.attach)?;
            if !p.locals.is_empty() {
                let locals = p
                    .locals
                    .iter()
                    .enumerate()
                    .map(|(i, t)| format!("${i}: {t}"))
                    .collect::<Vec<_>>();
                write!(f, " locals [{}]", locals.join(", "))?;
            }
            writeln!(f)?;
            if let Some(pred) = &p.predicate {
                writeln!(f, "  predicate {pred}")?;
            }
            write_stmts(f, &p.body, 1)?;
        }
        Ok(())
    }
}

fn write_stmts(f: &mut fmt::Formatter<'_>, stmts: &[Stmt], depth: usize) -> fmt::Result {
    let pad = "  ".repeat(depth);
    for s in stmts {
        match &s.kind {
            StmtKind::Expr(e) => writeln!(f, "{pad}{e}")?,
            StmtKind::Store { target, value } => writeln!(f, "{pad}{target} = {value}")?,
            StmtKind::Aggregate { map, key, op } => {
                let name = match op {
                    AggregateOp::Count => "count",
                    AggregateOp::Sum(_) => "sum",
                    AggregateOp::Avg(_) => "avg",
                    AggregateOp::Min(_) => "min",
                    AggregateOp::Max(_) => "max",
                    AggregateOp::Stats(_) => "stats",
                    AggregateOp::Hist(_) => "hist",
                    AggregateOp::Lhist(_) => "lhist",
                    AggregateOp::Tseries(_) => "tseries",
                };
                let op = match op.operand() {
                    Some(e) => format!("{name}({e})"),
                    None => format!("{name}()"),
                };
                writeln!(f, "{pad}map#{map}[{}] <- {op}", list(key))?
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                writeln!(f, "{pad}if {cond}")?;
                write_stmts(f, then, depth + 1)?;
                if !otherwise.is_empty() {
                    writeln!(f, "{pad}else")?;
                    write_stmts(f, otherwise, depth + 1)?;
                }
            }
            StmtKind::Printf { format, args } => {
                writeln!(f, "{pad}printf #{format}({})", list(args))?
            }
            StmtKind::Exit { code: Some(c) } => writeln!(f, "{pad}exit({c})")?,
            StmtKind::Exit { code: None } => writeln!(f, "{pad}exit()")?,
            StmtKind::Loop { cond, body } => {
                writeln!(f, "{pad}loop while {cond}")?;
                write_stmts(f, body, depth + 1)?;
            }
            StmtKind::Unroll { count, body } => {
                writeln!(f, "{pad}unroll {count}")?;
                write_stmts(f, body, depth + 1)?;
            }
            StmtKind::ForRange {
                var,
                start,
                end,
                body,
            } => {
                writeln!(f, "{pad}for ${var} in {start}..{end}")?;
                write_stmts(f, body, depth + 1)?;
            }
            StmtKind::ForEach { map, var, body } => {
                writeln!(f, "{pad}for ${var} in map#{map}")?;
                write_stmts(f, body, depth + 1)?;
            }
            StmtKind::Block(body) => {
                writeln!(f, "{pad}block")?;
                write_stmts(f, body, depth + 1)?;
            }
            StmtKind::Break => writeln!(f, "{pad}break")?,
            StmtKind::Continue => writeln!(f, "{pad}continue")?,
            StmtKind::Return => writeln!(f, "{pad}return")?,
            StmtKind::ReturnValue(v) => writeln!(f, "{pad}return {v}")?,
            StmtKind::Action { action, args } => {
                writeln!(f, "{pad}action #{action}({})", list(args))?
            }
        }
    }
    Ok(())
}

fn list(exprs: &[Expr]) -> String {
    let mut s = String::new();
    for (i, e) in exprs.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{e}");
    }
    s
}

impl fmt::Display for LValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LValue::Local(v) => write!(f, "${v}"),
            LValue::Map { map, key } => write!(f, "map#{map}[{}]", list(key)),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Int(v) if self.ty.is_signed() => write!(f, "{}", *v as i64)?,
            ExprKind::Int(v) => write!(f, "{v}")?,
            ExprKind::Bool(b) => write!(f, "{b}")?,
            ExprKind::Str(s) => write!(f, "{s:?}")?,
            ExprKind::Bytes(b) => write!(f, "\"{}\"", b.escape_ascii())?,
            ExprKind::Tuple(elems) => write!(f, "({})", list(elems))?,
            ExprKind::TupleGet { base, index } => write!(f, "{base}.{index}")?,
            ExprKind::Block { stmts, value } => {
                writeln!(f, "{{")?;
                write_stmts(f, stmts, 3)?;
                write!(f, "      => {value} }}")?
            }
            ExprKind::Builtin(b) => write!(f, "{}", b.info().name)?,
            ExprKind::Local(v) => write!(f, "${v}")?,
            ExprKind::MapLoad { map, key } => write!(f, "map#{map}[{}]", list(key))?,
            ExprKind::TracepointField { offset } => write!(f, "args@{offset}")?,
            ExprKind::Register { offset } => write!(f, "regs@{offset}")?,
            ExprKind::UsdtArg(a) => write!(f, "usdt_arg({a:?})")?,
            ExprKind::TracepointDataLoc { offset } => write!(f, "data_loc(args@{offset})")?,
            ExprKind::MapDelete { map, key } => write!(f, "delete(map#{map}[{}])", list(key))?,
            ExprKind::MapHasKey { map, key } => write!(f, "has_key(map#{map}[{}])", list(key))?,
            ExprKind::Unary { op, operand } => write!(f, "({}{operand})", op.symbol())?,
            ExprKind::Binary { op, lhs, rhs } => write!(f, "({lhs} {} {rhs})", op.symbol())?,
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => write!(f, "({cond} ? {then} : {otherwise})")?,
            ExprKind::Cast(e) => write!(f, "cast({e})")?,
            ExprKind::StrRead { ptr, space, len } => {
                write!(
                    f,
                    "str_{}({ptr}",
                    if *space == AddrSpace::User {
                        "user"
                    } else {
                        "kernel"
                    }
                )?;
                if let Some(l) = len {
                    write!(f, ", {l}")?;
                }
                f.write_str(")")?
            }
            ExprKind::IncDec {
                target,
                delta,
                prefix: true,
            } => write!(f, "(pre {target} += {delta})")?,
            ExprKind::IncDec {
                target,
                delta,
                prefix: false,
            } => write!(f, "(post {target} += {delta})")?,
            ExprKind::SymbolOf(addr) => write!(f, "symbol({addr})")?,
            ExprKind::Strlen(s) => write!(f, "strlen({s})")?,
            ExprKind::StrNcmp { lhs, rhs, n } => write!(f, "strncmp({lhs}, {rhs}, {n})")?,
            ExprKind::StrStr { hay, needle } => write!(f, "strstr({hay}, {needle})")?,
            ExprKind::Bswap(v) => write!(f, "bswap({v})")?,
            ExprKind::Signal(v) => write!(f, "signal({v})")?,
            ExprKind::BufRead { ptr, space, len } => {
                let s = if *space == AddrSpace::User {
                    "user"
                } else {
                    "kernel"
                };
                write!(f, "buf_{s}({ptr}")?;
                if let Some(l) = len {
                    write!(f, ", {l}")?;
                }
                f.write_str(")")?
            }
            ExprKind::FieldBytes { offset, n } => write!(f, "bytes(args@{offset}, {n})")?,
            ExprKind::ConstBytes(b) => write!(f, "bytes{b:?}")?,
            ExprKind::Ntop { af, addr } => write!(f, "ntop({af}, {addr})")?,
            ExprKind::MacAddr(a) => write!(f, "macaddr({a})")?,
            ExprKind::Memcmp { lhs, rhs, n } => write!(f, "memcmp({lhs}, {rhs}, {n})")?,
            ExprKind::MapLen { map } => write!(f, "len(map#{map})")?,
            ExprKind::DPath { ptr } => write!(f, "d_path({ptr})")?,
            ExprKind::StackLen { kind, limit } => write!(f, "len({kind:?} stack, {limit})")?,
            ExprKind::TracePrintk { format, args } => {
                write!(f, "trace_printk({format:?}")?;
                for a in args {
                    write!(f, ", {a}")?;
                }
                f.write_str(")")?
            }
            ExprKind::StructField { base, offset } => write!(f, "({base}).@{offset}")?,
            ExprKind::StrByte { base, index } => write!(f, "({base})[{index}]")?,
            ExprKind::Clock(c) => write!(f, "nsecs({})", format!("{c:?}").to_lowercase())?,
            ExprKind::Deref { addr, space } => match space {
                AddrSpace::Kernel => write!(f, "*({addr})")?,
                AddrSpace::User => write!(f, "*user({addr})")?,
            },
            ExprKind::KernelRead { addr, offset } => write!(f, "kread({addr} + {offset})")?,
            ExprKind::TaskComm { pid, offset } => write!(f, "task_comm({pid} @ {offset})")?,
            ExprKind::NsPid { thread, dev, ino } => write!(
                f,
                "ns_{}(dev {dev}, ino {ino})",
                if *thread { "tid" } else { "pid" }
            )?,
            ExprKind::SignalThread(v) => write!(f, "signal_thread({v})")?,
            ExprKind::Override(v) => write!(f, "override({v})")?,
            ExprKind::WriteUser { dst, src, len } => write!(f, "write_user({dst}, {src}, {len})")?,
            ExprKind::SocketCookie(v) => write!(f, "socket_cookie({v})")?,
        }
        write!(f, ":{}", self.ty)
    }
}
