//! Functions: name, argument count, where a call is valid, whether it is an
//! aggregation (only assignable to a map) or unsafe, and a doc line.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Stats,
    Hist,
    Lhist,
    Printf,
    Str,
    Exit,
    Kstack,
    Ustack,
    Ksym,
    Usym,
    Kaddr,
    Print,
    Clear,
    Zero,
    Delete,
    HasKey,
    Time,
    Join,
    Strlen,
    Strncmp,
    Bswap,
    System,
    Cat,
    Signal,
    Getopt,
}

#[derive(Debug, Clone, Copy)]
pub struct FunctionInfo {
    pub function: Function,
    pub name: &'static str,
    /// The signature as users read it in docs and help lines.
    pub signature: &'static str,
    pub min_args: usize,
    /// `None` means variadic.
    pub max_args: Option<usize>,
    /// Aggregations can only be the value of a map assignment: `@m = count()`.
    pub aggregation: bool,
    /// Needs `--unsafe`.
    pub unsafe_: bool,
    pub doc: &'static str,
}

pub const FUNCTIONS: &[FunctionInfo] = &[
    FunctionInfo {
        function: Function::Count,
        name: "count",
        signature: "count()",
        min_args: 0,
        max_args: Some(0),
        aggregation: true,
        unsafe_: false,
        doc: "Counts the times it is called, per map key (per-CPU, summed on read).",
    },
    FunctionInfo {
        function: Function::Sum,
        name: "sum",
        signature: "sum(int n)",
        min_args: 1,
        max_args: Some(1),
        aggregation: true,
        unsafe_: false,
        doc: "Sums the values it is given, per map key (per-CPU, summed on read).",
    },
    FunctionInfo {
        function: Function::Avg,
        name: "avg",
        signature: "avg(int n)",
        min_args: 1,
        max_args: Some(1),
        aggregation: true,
        unsafe_: false,
        doc: "Averages the values it is given, per map key (count and total per CPU; integer division on read).",
    },
    FunctionInfo {
        function: Function::Min,
        name: "min",
        signature: "min(int n)",
        min_args: 1,
        max_args: Some(1),
        aggregation: true,
        unsafe_: false,
        doc: "Keeps the smallest value it is given, per map key.",
    },
    FunctionInfo {
        function: Function::Max,
        name: "max",
        signature: "max(int n)",
        min_args: 1,
        max_args: Some(1),
        aggregation: true,
        unsafe_: false,
        doc: "Keeps the largest value it is given, per map key.",
    },
    FunctionInfo {
        function: Function::Stats,
        name: "stats",
        signature: "stats(int n)",
        min_args: 1,
        max_args: Some(1),
        aggregation: true,
        unsafe_: false,
        doc: "Keeps the count, average and total of the values it is given, per map key.",
    },
    FunctionInfo {
        function: Function::Hist,
        name: "hist",
        signature: "hist(int n[, int k])",
        min_args: 1,
        max_args: Some(2),
        aggregation: true,
        unsafe_: false,
        doc: "A power-of-two histogram of the values it is given, each power split into 2^k buckets (0 <= k <= 5).",
    },
    FunctionInfo {
        function: Function::Lhist,
        name: "lhist",
        signature: "lhist(int n, int min, int max, int step)",
        min_args: 4,
        max_args: Some(4),
        aggregation: true,
        unsafe_: false,
        doc: "A linear histogram of the values it is given: buckets of `step` from `min` to `max`, plus under- and overflow.",
    },
    FunctionInfo {
        function: Function::Printf,
        name: "printf",
        signature: "printf(string fmt, ...)",
        min_args: 1,
        max_args: None,
        aggregation: false,
        unsafe_: false,
        doc: "Prints a formatted line; formatting happens in user space.",
    },
    FunctionInfo {
        function: Function::Str,
        name: "str",
        signature: "str(char *p[, int len])",
        min_args: 1,
        max_args: Some(2),
        aggregation: false,
        unsafe_: false,
        doc: "Reads a NUL-terminated string from kernel or user memory.",
    },
    FunctionInfo {
        function: Function::Exit,
        name: "exit",
        signature: "exit([int code])",
        min_args: 0,
        max_args: Some(1),
        aggregation: false,
        unsafe_: false,
        doc: "Stops tracing: END probes run, maps are printed, the process exits.",
    },
    FunctionInfo {
        function: Function::Kstack,
        name: "kstack",
        signature: "kstack([mode][, int limit])",
        min_args: 0,
        max_args: Some(2),
        aggregation: false,
        unsafe_: false,
        doc: "The kernel stack, printed in `mode` (`bpftrace`, `perf` or `raw`) with at most `limit` frames (default 127).",
    },
    FunctionInfo {
        function: Function::Ustack,
        name: "ustack",
        signature: "ustack([mode][, int limit])",
        min_args: 0,
        max_args: Some(2),
        aggregation: false,
        unsafe_: false,
        doc: "The user stack, printed in `mode` (`bpftrace`, `perf` or `raw`) with at most `limit` frames (default 127).",
    },
    FunctionInfo {
        function: Function::Ksym,
        name: "ksym",
        signature: "ksym(uint64 addr)",
        min_args: 1,
        max_args: Some(1),
        aggregation: false,
        unsafe_: false,
        doc: "The name of the kernel function containing `addr`, resolved in user space when printed (`0xADDR` when unknown).",
    },
    FunctionInfo {
        function: Function::Usym,
        name: "usym",
        signature: "usym(uint64 addr)",
        min_args: 1,
        max_args: Some(1),
        aggregation: false,
        unsafe_: false,
        doc: "The name of the function containing `addr` in the current process, resolved in user space when printed.",
    },
    FunctionInfo {
        function: Function::Kaddr,
        name: "kaddr",
        signature: "kaddr(string name)",
        min_args: 1,
        max_args: Some(1),
        aggregation: false,
        unsafe_: false,
        doc: "The address of kernel symbol `name`, looked up when the script is compiled.",
    },
    FunctionInfo {
        function: Function::Print,
        name: "print",
        signature: "print(@map[, int top[, int div]]) / print(value)",
        min_args: 1,
        max_args: Some(3),
        aggregation: false,
        unsafe_: false,
        doc: "Prints a map (optionally only its `top` largest entries, values divided by `div`) or a value, when the event is processed.",
    },
    FunctionInfo {
        function: Function::Clear,
        name: "clear",
        signature: "clear(@map)",
        min_args: 1,
        max_args: Some(1),
        aggregation: false,
        unsafe_: false,
        doc: "Removes every key of a map, when the event is processed.",
    },
    FunctionInfo {
        function: Function::Zero,
        name: "zero",
        signature: "zero(@map)",
        min_args: 1,
        max_args: Some(1),
        aggregation: false,
        unsafe_: false,
        doc: "Sets every value of a map to zero, when the event is processed.",
    },
    FunctionInfo {
        function: Function::Delete,
        name: "delete",
        signature: "delete(@map, key)",
        min_args: 1,
        max_args: Some(2),
        aggregation: false,
        unsafe_: false,
        doc: "Removes one key from a map; returns whether it was there.",
    },
    FunctionInfo {
        function: Function::HasKey,
        name: "has_key",
        signature: "has_key(@map, key)",
        min_args: 2,
        max_args: Some(2),
        aggregation: false,
        unsafe_: false,
        doc: "Whether a map holds a key.",
    },
    FunctionInfo {
        function: Function::Time,
        name: "time",
        signature: "time([string fmt])",
        min_args: 0,
        max_args: Some(1),
        aggregation: false,
        unsafe_: false,
        doc: "Prints the local time with a strftime format (default \"%H:%M:%S\\n\") when the event is processed.",
    },
    FunctionInfo {
        function: Function::Join,
        name: "join",
        signature: "join(char *arr[][, string sep])",
        min_args: 1,
        max_args: Some(2),
        aggregation: false,
        unsafe_: false,
        doc: "Prints the strings of a NULL-terminated array (such as execve's argv, at most 16 of 1024 bytes) joined by `sep` (default \" \").",
    },
    FunctionInfo {
        function: Function::Strlen,
        name: "strlen",
        signature: "strlen(string s)",
        min_args: 1,
        max_args: Some(1),
        aggregation: false,
        unsafe_: false,
        doc: "The number of bytes of `s` before its NUL (uint64).",
    },
    FunctionInfo {
        function: Function::Strncmp,
        name: "strncmp",
        signature: "strncmp(string a, string b, int n)",
        min_args: 3,
        max_args: Some(3),
        aggregation: false,
        unsafe_: false,
        doc: "0 when the first `n` bytes of `a` and `b` are equal (up to a NUL in both), 1 otherwise; `n` is an integer literal.",
    },
    FunctionInfo {
        function: Function::Bswap,
        name: "bswap",
        signature: "bswap(int n)",
        min_args: 1,
        max_args: Some(1),
        aggregation: false,
        unsafe_: false,
        doc: "`n` with its bytes in reverse order, at `n`'s own width (an 8-bit value is returned unchanged).",
    },
    FunctionInfo {
        function: Function::System,
        name: "system",
        signature: "system(string fmt, ...)",
        min_args: 1,
        max_args: None,
        aggregation: false,
        unsafe_: true,
        doc: "Runs a shell command, formatted like printf, in user space when the event is processed; its output is printed. Needs `--unsafe`.",
    },
    FunctionInfo {
        function: Function::Cat,
        name: "cat",
        signature: "cat(string fmt, ...)",
        min_args: 1,
        max_args: None,
        aggregation: false,
        unsafe_: false,
        doc: "Prints the contents of the file whose name is formatted like printf, read in user space when the event is processed.",
    },
    FunctionInfo {
        function: Function::Signal,
        name: "signal",
        signature: "signal(int sig | string name)",
        min_args: 1,
        max_args: Some(1),
        aggregation: false,
        unsafe_: true,
        doc: "Sends a signal (a number, or a name such as \"SIGKILL\" or \"KILL\") to the current process, from the kernel, when the probe fires. Needs `--unsafe`.",
    },
    FunctionInfo {
        function: Function::Getopt,
        name: "getopt",
        signature: "getopt(string name[, default])",
        min_args: 1,
        max_args: Some(2),
        aggregation: false,
        unsafe_: false,
        doc: "The named parameter `--name=value` given after `--` on the command line, typed like `default` (a flag without a default is a bool).",
    },
];

impl Function {
    pub fn lookup(name: &str) -> Option<Function> {
        FUNCTIONS
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.function)
    }

    pub fn info(self) -> &'static FunctionInfo {
        FUNCTIONS
            .iter()
            .find(|f| f.function == self)
            .unwrap_or(&FUNCTIONS[0])
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        FUNCTIONS.iter().map(|f| f.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_round_trips() {
        for f in FUNCTIONS {
            assert_eq!(Function::lookup(f.name), Some(f.function));
            assert_eq!(f.function.info().name, f.name);
        }
    }
}
