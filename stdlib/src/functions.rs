//! Functions: name, argument count, where a call is valid, whether it is an
//! aggregation (only assignable to a map) or unsafe, and a doc line.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Count,
    Sum,
    Printf,
    Str,
    Exit,
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
