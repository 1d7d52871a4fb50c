//! Stacks: the stack-trace maps a program needs and the lowering of
//! `kstack`/`ustack`. A stack value is `bpf_get_stackid`'s id into the
//! `BPF_MAP_TYPE_STACK_TRACE` map of its kind and frame limit (the kernel
//! stores each distinct stack once, so map keys stay 8 or 16 bytes), and
//! for user stacks the pid whose address space the frames belong to. The
//! runtime reads the frames by id and symbolizes them when it prints.
//! `ksym`/`usym` values are lowered here too: the address (and the pid).

use super::maps::USER_MAX_ENTRIES;
use super::stmt::{ProbeGen, Val};
use super::CodegenError;
use crate::ir::{Action, Expr, MapValue, Program, StackType, Type};
use crate::manifest::{MapKind, MapRole, MapSpec, StackKind};
use inkwell::values::PointerValue;

type R<T> = Result<T, CodegenError>;

/// `bpf_get_stackid` flag: walk the user stack instead of the kernel's.
const BPF_F_USER_STACK: u64 = 1 << 8;

/// The ELF name of the stack-trace map for `kind` and `limit`.
fn stack_map_name(kind: StackKind, limit: u8) -> String {
    match kind {
        StackKind::Kernel => format!("stack_k{limit}"),
        StackKind::User => format!("stack_u{limit}"),
    }
}

/// Every stack type a value of the program can have: in map keys and
/// values, printf arguments, `print()`ed values and scratch variables.
fn stack_types(program: &Program) -> Vec<(StackKind, u8)> {
    let maps = program.maps.iter().flat_map(|m| {
        let value = match &m.value {
            MapValue::Plain(t) => Some(t),
            _ => None,
        };
        m.key.iter().chain(value)
    });
    let formats = program.formats.iter().flat_map(|f| f.args.iter());
    let locals = program.probes.iter().flat_map(|p| p.locals.iter());
    let printed = program.actions.iter().filter_map(|a| match a {
        Action::PrintValue(t) => Some(t),
        _ => None,
    });
    let mut found: Vec<(StackKind, u8)> = maps
        .chain(formats)
        .chain(locals)
        .chain(printed)
        .filter_map(|t| match t {
            Type::Stack(s) => Some((s.kind, s.limit)),
            _ => None,
        })
        .collect();
    found.sort_by_key(|(k, l)| (*k == StackKind::User, *l));
    found.dedup();
    found
}

/// One stack-trace map per stack kind and frame limit the program uses.
pub(crate) fn stack_map_specs(program: &Program) -> Vec<MapSpec> {
    stack_types(program)
        .into_iter()
        .map(|(kind, limit)| MapSpec {
            elf_name: stack_map_name(kind, limit),
            kind: MapKind::StackTrace,
            key_size: 4,
            value_size: u32::from(limit) * 8,
            max_entries: USER_MAX_ENTRIES,
            role: MapRole::Stacks { kind, limit },
        })
        .collect()
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// Records the current stack: its id (and, for user stacks, the pid)
    /// in a scratch buffer of the stack value's size.
    pub fn stack(&mut self, st: &StackType) -> R<Val<'ctx>> {
        let buf = self.alloc(Type::Stack(*st).size())?;
        let map = self
            .maps
            .stacks
            .iter()
            .find(|(k, l, _)| *k == st.kind && *l == st.limit)
            .map(|(_, _, g)| *g);
        // A stack that is never stored or printed has no map; its id is
        // then never read, and -ENOENT keeps it recognisably invalid.
        let id = match map {
            Some(m) => {
                let flags = match st.kind {
                    StackKind::Kernel => 0,
                    StackKind::User => BPF_F_USER_STACK,
                };
                self.em.get_stackid(self.ctx_arg, m, flags)?
            }
            None => self.em.u64c((-2i64) as u64),
        };
        self.em.store(buf, id, 8)?;
        if st.kind == StackKind::User {
            let pid_tgid = self.em.get_current_pid_tgid()?;
            let pid =
                self.em
                    .builder
                    .build_right_shift(pid_tgid, self.em.u64c(32), false, "pid")?;
            let at = self.em.offset(buf, 8)?;
            self.em.store(at, pid, 8)?;
        }
        Ok(Val::Str(buf))
    }
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// `ksym(addr)`/`usym(addr)`: the address (and for `usym` the pid) in
    /// a scratch buffer of the symbol value's size.
    pub fn symbol_of(&mut self, addr: &Expr, ty: &Type) -> R<Val<'ctx>> {
        let a = self.expr(addr)?.int()?;
        let a = self.em.resize(a, 64, false)?;
        let buf = self.alloc(ty.size())?;
        self.em.store(buf, a, 8)?;
        if *ty == Type::Symbol(StackKind::User) {
            self.store_pid(buf)?;
        }
        Ok(Val::Str(buf))
    }

    /// Stores the current pid (the tgid) as a u64 at `buf + 8`.
    fn store_pid(&mut self, buf: PointerValue<'ctx>) -> R<()> {
        let pid_tgid = self.em.get_current_pid_tgid()?;
        let pid = self
            .em
            .builder
            .build_right_shift(pid_tgid, self.em.u64c(32), false, "pid")?;
        let at = self.em.offset(buf, 8)?;
        self.em.store(at, pid, 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::MapDef;
    use crate::manifest::StackMode;

    fn stack(kind: StackKind, limit: u8) -> Type {
        Type::Stack(StackType {
            kind,
            mode: StackMode::Bpftrace,
            limit,
        })
    }

    #[test]
    fn one_map_per_kind_and_limit() {
        let program = Program {
            probes: vec![],
            maps: vec![
                MapDef {
                    name: "@a".into(),
                    key: vec![stack(StackKind::User, 127), Type::U64],
                    value: MapValue::Count,
                },
                MapDef {
                    name: "@b".into(),
                    key: vec![stack(StackKind::Kernel, 127)],
                    value: MapValue::Plain(stack(StackKind::Kernel, 127)),
                },
            ],
            formats: vec![],
            actions: vec![],
            settings: Default::default(),
        };
        let specs = stack_map_specs(&program);
        let names: Vec<&str> = specs.iter().map(|s| s.elf_name.as_str()).collect();
        assert_eq!(names, ["stack_k127", "stack_u127"]);
        assert_eq!((specs[0].key_size, specs[0].value_size), (4, 1016));
        assert_eq!(specs[0].kind, MapKind::StackTrace);
    }
}
