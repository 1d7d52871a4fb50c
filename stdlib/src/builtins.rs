//! Builtin variables: name, value type, meaning. Each is also callable with
//! empty parentheses (`pid()`), as in the current bpftrace dialect.

/// The catalogue's view of a value type. The compiler maps it to its own
/// type system; this keeps the catalogue free of compiler types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    U32,
    U64,
    I64,
    /// A NUL-terminated string of at most this many bytes, NUL included.
    Str(u32),
    /// A kernel stack (`kstack`), printed symbolized.
    KStack,
    /// A user stack of the current process (`ustack`), printed symbolized.
    UStack,
    /// A user id printed as the user's name from /etc/passwd.
    Username,
    U8,
    Bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    Pid,
    Tid,
    Uid,
    Gid,
    Comm,
    Nsecs,
    Cpu,
    /// The pid of the `-c` command.
    Cpid,
    /// The traced function's name, in uprobes and uretprobes.
    Func,
    Kstack,
    Ustack,
    Rand,
    Jiffies,
    Numaid,
    Cgroup,
    Ncpus,
    Elapsed,
    Curtask,
    Ctx,
    /// `uid`, printed as the user's name.
    Username,
    /// The concrete probe's full name, as bpftrace prints it.
    Probe,
    /// `arg0`..`arg11`: the probe's N-th raw argument.
    Arg(u8),
    /// The probed function's return value.
    Retval,
    /// 1 when the probe interrupted user-space code (x86-64 `pt_regs`).
    Usermode,
    /// The pid of the current task's parent (`real_parent`).
    Ppid,
    /// The name of the current task's parent (`real_parent`).
    Pcomm,
    /// The thread id of the current thread group's leader.
    LeaderTid,
    /// The name of the current thread group's leader.
    LeaderComm,
    /// The kind of the probe that fired (`tracepoint`, `uprobe`, `special`).
    Probetype,
    /// Whether `-c` started a command (so `cpid` has a value).
    HasCpid,
}

/// The highest `argN` the language accepts (raw tracepoints pass at most 12).
pub const MAX_ARG: u8 = 11;

#[derive(Debug, Clone, Copy)]
pub struct BuiltinInfo {
    pub builtin: Builtin,
    pub name: &'static str,
    pub ty: ValueType,
    pub doc: &'static str,
}

pub const BUILTINS: &[BuiltinInfo] = &[
    BuiltinInfo {
        builtin: Builtin::Pid,
        name: "pid",
        ty: ValueType::U32,
        doc: "Process id (thread group id) of the current task.",
    },
    BuiltinInfo {
        builtin: Builtin::Tid,
        name: "tid",
        ty: ValueType::U32,
        doc: "Thread id of the current task.",
    },
    BuiltinInfo {
        builtin: Builtin::Uid,
        name: "uid",
        ty: ValueType::U64,
        doc: "User id of the current task.",
    },
    BuiltinInfo {
        builtin: Builtin::Gid,
        name: "gid",
        ty: ValueType::U64,
        doc: "Group id of the current task.",
    },
    BuiltinInfo {
        builtin: Builtin::Comm,
        name: "comm",
        ty: ValueType::Str(16),
        doc: "Name of the current task (at most 15 characters); `comm(pid)` names the task with that pid (perf event probes only on kernels that refuse kfuncs elsewhere).",
    },
    BuiltinInfo {
        builtin: Builtin::Nsecs,
        name: "nsecs",
        ty: ValueType::U64,
        doc: "Nanoseconds since boot (CLOCK_BOOTTIME); `nsecs(monotonic)`, `nsecs(tai)` and `nsecs(sw_tai)` read those clocks instead.",
    },
    BuiltinInfo {
        builtin: Builtin::Cpu,
        name: "cpu",
        ty: ValueType::U32,
        doc: "Id of the CPU the probe runs on.",
    },
    BuiltinInfo {
        builtin: Builtin::Cpid,
        name: "cpid",
        ty: ValueType::U32,
        doc: "Process id of the command started with -c.",
    },
    BuiltinInfo {
        builtin: Builtin::Func,
        name: "func",
        ty: ValueType::Str(64),
        doc: "Name of the traced function (uprobe, uretprobe, kprobe, kretprobe, fentry, fexit).",
    },
    BuiltinInfo {
        builtin: Builtin::Kstack,
        name: "kstack",
        ty: ValueType::KStack,
        doc: "The kernel stack, as a map key or printf `%s` value; `kstack(mode, limit)` chooses the print mode (`bpftrace`, `perf`, `raw`) and frame limit.",
    },
    BuiltinInfo {
        builtin: Builtin::Ustack,
        name: "ustack",
        ty: ValueType::UStack,
        doc: "The user stack of the current thread, symbolized against its process; `ustack(mode, limit)` as for `kstack`.",
    },
    BuiltinInfo {
        builtin: Builtin::Rand,
        name: "rand",
        ty: ValueType::U32,
        doc: "A pseudo-random 32-bit number.",
    },
    BuiltinInfo {
        builtin: Builtin::Jiffies,
        name: "jiffies",
        ty: ValueType::U64,
        doc: "The kernel's 64-bit jiffies counter (timer ticks since boot, offset as the kernel starts it).",
    },
    BuiltinInfo {
        builtin: Builtin::Numaid,
        name: "numaid",
        ty: ValueType::U32,
        doc: "Id of the NUMA node the probe runs on.",
    },
    BuiltinInfo {
        builtin: Builtin::Cgroup,
        name: "cgroup",
        ty: ValueType::U64,
        doc: "Id of the current task's cgroup (v2): the inode number of its directory in cgroupfs.",
    },
    BuiltinInfo {
        builtin: Builtin::Ncpus,
        name: "ncpus",
        ty: ValueType::U64,
        doc: "Number of possible CPUs, fixed when the script is compiled.",
    },
    BuiltinInfo {
        builtin: Builtin::Elapsed,
        name: "elapsed",
        ty: ValueType::U64,
        doc: "Nanoseconds since tracing started (just before BEGIN runs).",
    },
    BuiltinInfo {
        builtin: Builtin::Username,
        name: "username",
        ty: ValueType::Username,
        doc: "Name of the current task's user, looked up in /etc/passwd when printed (the uid when absent).",
    },
    BuiltinInfo {
        builtin: Builtin::Curtask,
        name: "curtask",
        ty: ValueType::U64,
        doc: "The current task's `struct task_struct` in the kernel: typed `struct task_struct *` when the kernel's BTF has it (so `$t = curtask; $t->pid` works and it prints in hex), a uint64 address otherwise.",
    },
    BuiltinInfo {
        builtin: Builtin::Ctx,
        name: "ctx",
        ty: ValueType::U64,
        doc: "The probe's context: in `iter` probes a `struct bpf_iter__NAME *` (`ctx.task`, `ctx.meta`, ... from BTF), elsewhere the context's address as a uint64 (the `pt_regs` of kprobes and uprobes, the tracepoint record, the raw tracepoint argument array).",
    },
    BuiltinInfo {
        builtin: Builtin::Probe,
        name: "probe",
        // The checker gives it the length of the concrete probe's name.
        ty: ValueType::Str(64),
        doc: "The full name of the probe that fired, e.g. \
              `tracepoint:syscalls:sys_enter_openat`.",
    },
    BuiltinInfo {
        builtin: Builtin::Arg(0),
        name: "argN",
        ty: ValueType::U64,
        doc: "`arg0`, `arg1`, ...: the N-th argument of a kprobe, uprobe, raw tracepoint \
              or fentry probe, as a 64-bit integer.",
    },
    BuiltinInfo {
        builtin: Builtin::Retval,
        name: "retval",
        ty: ValueType::U64,
        doc: "The return value of the function a kretprobe, uretprobe or fexit probe \
              fires on, as a 64-bit integer.",
    },
    BuiltinInfo {
        builtin: Builtin::Usermode,
        name: "usermode",
        ty: ValueType::U8,
        doc: "1 when the probe interrupted code running in user mode, 0 in kernel mode (x86-64; probes with registers: kprobe, uprobe, usdt, profile, software, hardware).",
    },
    BuiltinInfo {
        builtin: Builtin::Ppid,
        name: "ppid",
        ty: ValueType::U32,
        doc: "Process id of the current task's parent (`real_parent`), as `getppid()` returns it; `ppid(task)` that of a `struct task_struct *` or `curtask`.",
    },
    BuiltinInfo {
        builtin: Builtin::Pcomm,
        name: "pcomm",
        ty: ValueType::Str(16),
        doc: "Name of the current task's parent (`real_parent`); `pcomm(task)` that of a `struct task_struct *` or `curtask`.",
    },
    BuiltinInfo {
        builtin: Builtin::LeaderTid,
        name: "leader_tid",
        ty: ValueType::U32,
        doc: "Thread id of the current thread group's leader (its main thread).",
    },
    BuiltinInfo {
        builtin: Builtin::LeaderComm,
        name: "leader_comm",
        ty: ValueType::Str(16),
        doc: "Name of the current thread group's leader (the process name when threads rename themselves).",
    },
    BuiltinInfo {
        builtin: Builtin::Probetype,
        name: "probetype",
        ty: ValueType::Str(16),
        doc: "The kind of the probe that fired, e.g. `tracepoint` or `uprobe`; `special` for BEGIN and END.",
    },
    BuiltinInfo {
        builtin: Builtin::HasCpid,
        name: "has_cpid",
        ty: ValueType::Bool,
        doc: "Whether a command was started with -c, so that `cpid` has a value.",
    },
];

/// `argN`: the Nth argument of the traced function or USDT probe, a
/// uint64. Returns N for a name of that form (N up to 255, as bpftrace).
pub fn arg_index(name: &str) -> Option<u8> {
    let digits = name.strip_prefix("arg")?;
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    digits.parse::<u8>().ok()
}

impl Builtin {
    pub fn lookup(name: &str) -> Option<Builtin> {
        if let Some(n) = name.strip_prefix("arg") {
            // `arg0`..`arg11`, without leading zeros.
            return match n.parse::<u8>() {
                Ok(i) if i <= MAX_ARG && n == i.to_string() => Some(Builtin::Arg(i)),
                _ => None,
            };
        }
        BUILTINS.iter().find(|b| b.name == name).map(|b| b.builtin)
    }

    pub fn info(self) -> &'static BuiltinInfo {
        let key = match self {
            Builtin::Arg(_) => Builtin::Arg(0),
            other => other,
        };
        BUILTINS
            .iter()
            .find(|b| b.builtin == key)
            .unwrap_or(&BUILTINS[0])
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        BUILTINS.iter().map(|b| b.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_round_trips() {
        for b in BUILTINS.iter().filter(|b| b.name != "argN") {
            assert_eq!(Builtin::lookup(b.name), Some(b.builtin));
            assert_eq!(b.builtin.info().name, b.name);
        }
        assert_eq!(Builtin::lookup("arg3"), Some(Builtin::Arg(3)));
        assert_eq!(Builtin::lookup("arg11"), Some(Builtin::Arg(11)));
        assert_eq!(Builtin::lookup("arg12"), None);
        assert_eq!(Builtin::lookup("arg01"), None);
        assert_eq!(Builtin::lookup("argN"), None);
    }

    #[test]
    fn arg_names() {
        assert_eq!(arg_index("arg0"), Some(0));
        assert_eq!(arg_index("arg12"), Some(12));
        assert_eq!(arg_index("arg01"), None);
        assert_eq!(arg_index("args"), None);
        assert_eq!(arg_index("arg256"), None);
    }
}
