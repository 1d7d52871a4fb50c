//! Symbolization of stack frames, once per session: kernel addresses
//! through blazesym's kernel source (vmlinux when present, else
//! `/proc/kallsyms`), user addresses through the process's
//! `/proc/PID/maps` and the mapped ELF files' symbols and DWARF. One
//! blazesym `Symbolizer` lives for the whole session, so each ELF file and
//! the kallsyms table are parsed once, and every resolved address is kept
//! in a cache of our own, so a frame seen in thousands of stacks is
//! symbolized once. `StackResolver` fills in the frames of the `Stack`
//! values decoded from maps and events.

use std::collections::HashMap;
use std::os::fd::AsFd;

use blazesym::symbolize::source::{Kernel, Process, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer};
use blazesym::Pid;
use ferrotrace_compiler::manifest::{StackKind, StackMode};

use crate::bpf::stackmap::{stack_frames, StackMapFd};
use crate::output::stack::{Frame, Stack, Symbol};
use crate::output::Value;

/// Which address space an address belongs to: the kernel's, or a process's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Space {
    Kernel,
    Process(u32),
}

/// A session's symbolizer with its address cache.
pub struct Symbols {
    inner: Symbolizer,
    cache: HashMap<(Space, u64), Option<Symbol>>,
}

impl Default for Symbols {
    fn default() -> Self {
        Symbols::new()
    }
}

impl Symbols {
    pub fn new() -> Symbols {
        Symbols::demangling(true)
    }

    /// A symbolizer that demangles C++ names or not (`cpp_demangle`).
    pub fn demangling(demangle: bool) -> Symbols {
        // Only names and offsets are printed: skipping source lines and
        // inlined functions keeps the lookups to the symbol tables.
        let inner = Symbolizer::builder()
            .enable_code_info(false)
            .enable_inlined_fns(false)
            .enable_demangling(demangle)
            .build();
        Symbols {
            inner,
            cache: HashMap::new(),
        }
    }

    /// The symbols of kernel addresses, in order.
    pub fn kernel(&mut self, addrs: &[u64]) -> Vec<Option<Symbol>> {
        self.lookup(Space::Kernel, addrs)
    }

    /// The symbols of addresses in process `pid`, in order. A process that
    /// has exited can no longer be symbolized: its frames stay addresses.
    pub fn user(&mut self, pid: u32, addrs: &[u64]) -> Vec<Option<Symbol>> {
        self.lookup(Space::Process(pid), addrs)
    }

    /// The number of distinct addresses symbolized so far.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    fn lookup(&mut self, space: Space, addrs: &[u64]) -> Vec<Option<Symbol>> {
        let mut missing: Vec<u64> = addrs
            .iter()
            .copied()
            .filter(|a| !self.cache.contains_key(&(space, *a)))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let resolved = self.symbolize(space, &missing);
            for (addr, sym) in missing.into_iter().zip(resolved) {
                self.cache.insert((space, addr), sym);
            }
        }
        addrs
            .iter()
            .map(|a| self.cache.get(&(space, *a)).cloned().flatten())
            .collect()
    }

    /// Asks blazesym about `addrs` in one batch; failures leave the
    /// addresses unresolved.
    fn symbolize(&self, space: Space, addrs: &[u64]) -> Vec<Option<Symbol>> {
        let src = match space {
            Space::Kernel => Source::Kernel(Kernel::default()),
            Space::Process(pid) => Source::Process(Process::new(Pid::from(pid))),
        };
        let Ok(results) = self.inner.symbolize(&src, Input::AbsAddr(addrs)) else {
            return vec![None; addrs.len()];
        };
        let mut out: Vec<Option<Symbol>> = results
            .into_iter()
            .map(|r| match r {
                Symbolized::Sym(s) => Some(Symbol {
                    name: s.name.into_owned(),
                    offset: s.offset as u64,
                    module: s.module.map(|m| m.to_string_lossy().into_owned()),
                }),
                Symbolized::Unknown(_) => None,
            })
            .collect();
        out.resize(addrs.len(), None);
        out
    }
}

/// Fills in stacks: reads their frames from the stack maps by id and
/// symbolizes them.
pub struct StackResolver {
    maps: Vec<StackMapFd>,
    symbols: Symbols,
    /// Stack values whose id says the kernel could not store the stack
    /// (hash collision or full map), counted for one warning at exit.
    unrecorded: u64,
}

/// `bpf_get_stackid`'s error when another stack holds the hash bucket.
const EEXIST: i64 = 17;
/// Its error when the stack map has no free entry.
const ENOMEM: i64 = 12;

impl StackResolver {
    pub fn new(maps: Vec<StackMapFd>) -> StackResolver {
        StackResolver {
            maps,
            symbols: Symbols::new(),
            unrecorded: 0,
        }
    }

    /// This resolver with C++ demangling on or off (`cpp_demangle`).
    pub fn demangle(mut self, on: bool) -> StackResolver {
        if !on {
            self.symbols = Symbols::demangling(false);
        }
        self
    }

    /// The warning to print when some stacks could not be recorded, so
    /// their entries show no frames (nothing is lost silently).
    pub fn unrecorded_warning(&self) -> Option<String> {
        (self.unrecorded > 0).then(|| {
            format!(
                "WARNING: {} stack value{} could not be recorded by the kernel (its stack map \
                 was full or another stack had the same hash) and print{} without frames; \
                 fewer distinct stacks (e.g. a predicate on comm or pid) make this less likely",
                self.unrecorded,
                if self.unrecorded == 1 { "" } else { "s" },
                if self.unrecorded == 1 { "s" } else { "" },
            )
        })
    }

    /// Resolves every stack inside `value` (recursing into tuples).
    pub fn resolve(&mut self, value: &mut Value) {
        match value {
            Value::Stack(s) => self.resolve_stack(s),
            Value::Symbol(s) if s.name.is_none() => {
                let found = match s.kind {
                    StackKind::Kernel => self.symbols.kernel(&[s.addr]),
                    StackKind::User => self.symbols.user(s.pid, &[s.addr]),
                };
                s.name = found.into_iter().next().flatten().map(|sym| sym.name);
            }
            Value::Tuple(items) => items.iter_mut().for_each(|v| self.resolve(v)),
            Value::Record(fields) => fields.iter_mut().for_each(|(_, v)| self.resolve(v)),
            _ => {}
        }
    }

    /// Resolves every stack in `values`.
    pub fn resolve_all(&mut self, values: &mut [Value]) {
        values.iter_mut().for_each(|v| self.resolve(v));
    }

    fn resolve_stack(&mut self, stack: &mut Stack) {
        if !stack.frames.is_empty() {
            return;
        }
        // A negative id means the kernel recorded no stack (e.g. -EFAULT
        // for a user stack of a kernel thread): it prints as no frames.
        let Ok(id) = u32::try_from(stack.id) else {
            if stack.id == -EEXIST || stack.id == -ENOMEM {
                self.unrecorded += 1;
            }
            return;
        };
        let map = self
            .maps
            .iter()
            .find(|m| m.kind == stack.kind && m.limit == stack.limit);
        let Some(addrs) = map.and_then(|m| stack_frames(m.fd.as_fd(), id, m.limit)) else {
            return;
        };
        let symbols = match (stack.mode, stack.kind) {
            (StackMode::Raw, _) => vec![None; addrs.len()],
            (_, StackKind::Kernel) => self.symbols.kernel(&addrs),
            (_, StackKind::User) => self.symbols.user(stack.pid, &addrs),
        };
        stack.frames = addrs
            .into_iter()
            .zip(symbols)
            .map(|(addr, symbol)| Frame { addr, symbol })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A function of this test binary, to symbolize in our own process.
    #[inline(never)]
    fn marker_function_for_symbolization() -> u64 {
        std::hint::black_box(7)
    }

    /// Symbolizes thousands of kernel addresses twice; the second pass is
    /// answered from the cache. Prints the times (`--nocapture`) for
    /// docs/performance.md; asserts no timing.
    #[test]
    fn thousands_of_kernel_frames_are_cached() {
        let Ok(text) = std::fs::read_to_string("/proc/kallsyms") else {
            return;
        };
        let mut addrs: Vec<u64> = text
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("T"))
            .filter_map(|l| u64::from_str_radix(l.split_whitespace().next()?, 16).ok())
            .filter(|&a| a != 0)
            .take(5000)
            .map(|a| a + 1)
            .collect();
        // Aliases share addresses.
        addrs.sort_unstable();
        addrs.dedup();
        if addrs.len() < 1000 {
            // Addresses are hidden from unprivileged users.
            return;
        }
        let mut symbols = Symbols::new();
        let t0 = std::time::Instant::now();
        let cold = symbols.kernel(&addrs);
        let t1 = std::time::Instant::now();
        let warm = symbols.kernel(&addrs);
        let t2 = std::time::Instant::now();
        println!(
            "{} kernel frames: first {:?}, cached {:?}",
            addrs.len(),
            t1 - t0,
            t2 - t1
        );
        assert_eq!(cold, warm);
        assert_eq!(symbols.cached(), addrs.len());
        let named = cold.iter().filter(|s| s.is_some()).count();
        assert!(named * 10 >= addrs.len() * 9, "only {named} named");
    }

    #[test]
    fn collisions_are_reported() {
        let mut r = StackResolver::new(Vec::new());
        assert_eq!(r.unrecorded_warning(), None);
        let mut v = Value::Stack(Box::new(Stack::unresolved(
            StackKind::Kernel,
            StackMode::Bpftrace,
            127,
            -EEXIST,
            0,
        )));
        r.resolve(&mut v);
        // -EFAULT (no user stack, e.g. in a kernel thread) is not a loss.
        let mut fault = Value::Stack(Box::new(Stack::unresolved(
            StackKind::User,
            StackMode::Bpftrace,
            127,
            -14,
            1,
        )));
        r.resolve(&mut fault);
        assert_eq!(
            r.unrecorded_warning().as_deref(),
            Some(
                "WARNING: 1 stack value could not be recorded by the kernel (its stack map was \
                 full or another stack had the same hash) and prints without frames; fewer \
                 distinct stacks (e.g. a predicate on comm or pid) make this less likely"
            )
        );
    }

    #[test]
    fn symbolizes_own_process_and_caches() {
        let addr = marker_function_for_symbolization as fn() -> u64 as usize as u64;
        let mut symbols = Symbols::new();
        let pid = std::process::id();
        let got = symbols.user(pid, &[addr, addr + 1]);
        let first = got[0].as_ref().map(|s| s.name.clone()).unwrap_or_default();
        assert!(
            first.contains("marker_function_for_symbolization"),
            "resolved to {first:?}"
        );
        assert_eq!(got[1].as_ref().map(|s| s.offset), Some(1));
        assert_eq!(symbols.cached(), 2);
        // A second lookup is answered from the cache.
        let again = symbols.user(pid, &[addr]);
        assert_eq!(again[0], got[0]);
        assert_eq!(symbols.cached(), 2);
    }
}
