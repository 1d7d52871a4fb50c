//! Stack values and their printers: a `kstack`/`ustack` decoded from a map
//! key, map value or event record (its stack id, and the pid for user
//! stacks), the frames the symbolizer filled in, and bpftrace 0.26's text
//! layout for each stack mode (JSON: the frame texts as an array, in
//! `json::value`). Pure: frames are looked
//! up and symbolized elsewhere (`crate::symbolize`).

use std::cmp::Ordering;
use std::fmt;

use ferrotrace_compiler::manifest::{StackKind, StackMode};

/// The module name perf and bpftrace give kernel frames in `perf` mode.
const KERNEL_MODULE: &str = "[kernel.kallsyms]";

/// One recorded stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub kind: StackKind,
    pub mode: StackMode,
    pub limit: u8,
    /// The id `bpf_get_stackid` returned (negative: no stack was recorded).
    pub id: i64,
    /// The process whose address space user frames belong to (0 for
    /// kernel stacks).
    pub pid: u32,
    /// The frames, innermost first; empty until resolved.
    pub frames: Vec<Frame>,
}

/// One frame: its address and, when known, the symbol containing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub addr: u64,
    pub symbol: Option<Symbol>,
}

/// A resolved symbol: its name, the address's offset into it, and the
/// file it came from (user frames).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Symbol {
    pub name: String,
    pub offset: u64,
    pub module: Option<String>,
}

/// A `ksym(addr)`/`usym(addr)` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolValue {
    pub kind: StackKind,
    pub addr: u64,
    /// The process of a user address (0 for kernel addresses).
    pub pid: u32,
    /// The function's name, once symbolized.
    pub name: Option<String>,
}

/// bpftrace prints the function's name alone, or the address in hex when
/// it has no symbol.
impl fmt::Display for SymbolValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:x}", self.addr),
        }
    }
}

impl Frame {
    /// `sym+off`, or `0xADDR` when the address has no symbol.
    pub fn sym_off(&self) -> String {
        match &self.symbol {
            Some(s) => format!("{}+{}", s.name, s.offset),
            None => format!("0x{:x}", self.addr),
        }
    }

    /// The function name alone (no offset), as flame graphs want it so
    /// that samples in one function merge; `0xADDR` when unknown.
    pub fn function(&self) -> String {
        match &self.symbol {
            Some(s) => s.name.clone(),
            None => format!("0x{:x}", self.addr),
        }
    }

    /// The frame's text without indentation, in `mode` (`kind` picks the
    /// module name of perf mode).
    pub fn text(&self, kind: StackKind, mode: StackMode) -> String {
        match mode {
            StackMode::Raw => format!("{:x}", self.addr),
            StackMode::Bpftrace => self.sym_off(),
            StackMode::Perf => {
                let module = match (kind, &self.symbol) {
                    (StackKind::Kernel, _) => KERNEL_MODULE.to_string(),
                    (
                        StackKind::User,
                        Some(Symbol {
                            module: Some(m), ..
                        }),
                    ) => m.clone(),
                    (StackKind::User, _) => "[unknown]".to_string(),
                };
                let sym = match &self.symbol {
                    Some(s) => format!("{}+{}", s.name, s.offset),
                    None => "[unknown]".to_string(),
                };
                format!("{:x} {sym} ({module})", self.addr)
            }
        }
    }
}

impl Stack {
    /// A stack as decoded from bytes, before its frames are read.
    pub fn unresolved(kind: StackKind, mode: StackMode, limit: u8, id: i64, pid: u32) -> Stack {
        Stack {
            kind,
            mode,
            limit,
            id,
            pid,
            frames: Vec::new(),
        }
    }

    /// The frames' texts, innermost first, without indentation.
    pub fn frame_texts(&self) -> Vec<String> {
        self.frames
            .iter()
            .map(|f| f.text(self.kind, self.mode))
            .collect()
    }

    /// Orders stacks deterministically (by id, then pid).
    pub fn cmp_key(&self, other: &Stack) -> Ordering {
        (self.id, self.pid).cmp(&(other.id, other.pid))
    }
}

/// bpftrace's text form, used in map keys and for printf `%s`: a newline,
/// then one line per frame, each ending in a newline. `bpftrace` mode
/// indents frames by four spaces, `perf` mode by a tab, `raw` not at all.
impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let indent = match self.mode {
            StackMode::Bpftrace => "    ",
            StackMode::Perf => "\t",
            StackMode::Raw => "",
        };
        f.write_str("\n")?;
        for text in self.frame_texts() {
            writeln!(f, "{indent}{text}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str, offset: u64, module: Option<&str>) -> Option<Symbol> {
        Some(Symbol {
            name: name.into(),
            offset,
            module: module.map(String::from),
        })
    }

    pub(crate) fn kernel_stack(mode: StackMode) -> Stack {
        Stack {
            kind: StackKind::Kernel,
            mode,
            limit: 127,
            id: 3,
            pid: 0,
            frames: vec![
                Frame {
                    addr: 0xffffffff81234565,
                    symbol: sym("__x64_sys_getpid", 5, None),
                },
                Frame {
                    addr: 0xffffffff81c0a0a2,
                    symbol: sym("do_syscall_64", 130, None),
                },
                Frame {
                    addr: 0xffffffff81e00076,
                    symbol: None,
                },
            ],
        }
    }

    #[test]
    fn bpftrace_mode() {
        assert_eq!(
            kernel_stack(StackMode::Bpftrace).to_string(),
            "\n    __x64_sys_getpid+5\n    do_syscall_64+130\n    0xffffffff81e00076\n"
        );
    }

    #[test]
    fn perf_mode() {
        assert_eq!(
            kernel_stack(StackMode::Perf).to_string(),
            "\n\tffffffff81234565 __x64_sys_getpid+5 ([kernel.kallsyms])\n\
             \tffffffff81c0a0a2 do_syscall_64+130 ([kernel.kallsyms])\n\
             \tffffffff81e00076 [unknown] ([kernel.kallsyms])\n"
        );
        let user = Stack {
            kind: StackKind::User,
            mode: StackMode::Perf,
            limit: 127,
            id: 1,
            pid: 42,
            frames: vec![Frame {
                addr: 0x401136,
                symbol: sym("main", 22, Some("/tmp/prog")),
            }],
        };
        assert_eq!(user.to_string(), "\n\t401136 main+22 (/tmp/prog)\n");
    }

    #[test]
    fn raw_mode() {
        assert_eq!(
            kernel_stack(StackMode::Raw).to_string(),
            "\nffffffff81234565\nffffffff81c0a0a2\nffffffff81e00076\n"
        );
    }

    #[test]
    fn symbols_print_name_or_address() {
        let mut s = SymbolValue {
            kind: StackKind::Kernel,
            addr: 0xffffffff81379cc0,
            pid: 0,
            name: None,
        };
        assert_eq!(s.to_string(), "0xffffffff81379cc0");
        s.name = Some("__x64_sys_getpid".into());
        assert_eq!(s.to_string(), "__x64_sys_getpid");
    }

    #[test]
    fn empty_stack_is_one_newline() {
        let s = Stack::unresolved(StackKind::Kernel, StackMode::Bpftrace, 127, -14, 0);
        assert_eq!(s.to_string(), "\n");
    }

    #[test]
    fn json_lists_frames() {
        let v = crate::output::Value::Stack(Box::new(kernel_stack(StackMode::Bpftrace)));
        assert_eq!(
            crate::output::json::to_text(&crate::output::json::value(&v)),
            r#"["__x64_sys_getpid+5","do_syscall_64+130","0xffffffff81e00076"]"#
        );
    }
}
