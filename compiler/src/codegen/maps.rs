//! Map definitions and the byte layout of map keys and values.
//!
//! Every map is a global of aya-obj's legacy `bpf_map_def` shape (seven
//! `i32`s) in the `maps` section, named by its `elf_name`: user map `i` is
//! `m{i}`, then come `events` (the ring buffer), `lost` (per-CPU count of
//! records the ring buffer refused) and `scratch` (a one-entry per-CPU
//! array holding every large temporary). Keys lay their elements out
//! at 8-aligned offsets (ints as 8 bytes, strings as N bytes, bools as one);
//! a scalar map has a `u64 0` key. The same functions produce the manifest's
//! `MapSpec`s so the ELF and the manifest cannot disagree.

use super::builder::round8;
use super::CodegenError;
use crate::ir::{tuple_layout, DeclaredKind, MapDef, MapValue, Program, Settings, Type};
use crate::manifest::{Field, MapKind, MapRole, MapSpec, StackKind, ValueKind};
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::values::GlobalValue;

/// Entries of each stack-trace map (bpftrace's default `max_map_keys`;
/// script maps take theirs from `Settings`).
pub(crate) const USER_MAX_ENTRIES: u32 = 4096;
/// Bytes of the event ring buffer.
pub(crate) const EVENTS_SIZE: u32 = 1 << 20;
/// Largest value of a per-CPU map (the kernel's `PCPU_MIN_UNIT_SIZE`).
pub(crate) const MAX_SCRATCH: u32 = 32 * 1024;
/// Smallest scratch area.
pub(crate) const MIN_SCRATCH: u32 = 8;

/// Where each key element lives and how big the whole key is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyLayout {
    pub offsets: Vec<u32>,
    pub size: u32,
    /// True when some byte is not written by the element stores, so the key
    /// buffer must be zeroed first.
    pub has_padding: bool,
}

/// Key layout of a map with these key element types.
pub(crate) fn key_layout(key: &[Type]) -> KeyLayout {
    if key.is_empty() {
        return KeyLayout {
            offsets: Vec::new(),
            size: 8,
            has_padding: false,
        };
    }
    let mut offsets = Vec::with_capacity(key.len());
    let mut off = 0;
    let mut has_padding = false;
    for t in key {
        offsets.push(off);
        let slot = slot_size(t);
        has_padding |= !matches!(t, Type::Int { .. } | Type::Ptr { .. });
        off += slot;
    }
    KeyLayout {
        offsets,
        size: round8(off).max(8),
        has_padding,
    }
}

/// Bytes reserved for one value of `t` in a key, value, record or scratch.
pub(crate) fn slot_size(t: &Type) -> u32 {
    t.slot_size()
}

/// Size of a map's value.
pub(crate) fn value_size(v: &MapValue) -> u32 {
    match v {
        MapValue::Plain(t) => slot_size(t).max(8),
        agg => super::aggregate::value_size(agg).unwrap_or(8),
    }
}

/// How the manifest describes a stored value of `t` (ints are 8 bytes).
pub(crate) fn value_kind(t: &Type) -> ValueKind {
    match t {
        Type::Int { signed, .. } => ValueKind::Int {
            size: 8,
            signed: *signed,
        },
        Type::Bool => ValueKind::Bool,
        Type::Str(n) => ValueKind::Str { len: *n },
        Type::Ptr { .. } => ValueKind::Pointer,
        Type::Tuple(elems) => ValueKind::Tuple {
            fields: tuple_fields(elems),
        },
        Type::Record { names, elems } => ValueKind::Record {
            fields: tuple_fields(elems),
            names: names.clone(),
        },
        Type::Stack(s) => ValueKind::Stack {
            kind: s.kind,
            mode: s.mode,
            limit: s.limit,
        },
        Type::Symbol(kind) => ValueKind::Symbol { kind: *kind },
        Type::Named(table) => ValueKind::Named { table: *table },
        Type::Data(kind) => ValueKind::Data { kind: kind.clone() },
        Type::Struct(st) => ValueKind::Struct {
            size: st.size,
            fields: st
                .fields
                .iter()
                .map(|(name, offset, t)| crate::manifest::NamedField {
                    name: name.clone(),
                    offset: *offset,
                    kind: field_kind(t),
                })
                .collect(),
        },
    }
}

/// A struct field's kind: integers keep their own width (`value_kind`
/// widens them to the 8-byte slots of keys and records).
fn field_kind(t: &Type) -> ValueKind {
    match t {
        Type::Int { bits, signed } => ValueKind::Int {
            size: bits / 8,
            signed: *signed,
        },
        t => value_kind(t),
    }
}

/// The manifest fields of a tuple's (or a record's) elements.
fn tuple_fields(elems: &[Type]) -> Vec<Field> {
    tuple_layout(elems)
        .0
        .into_iter()
        .zip(elems)
        .map(|(offset, t)| Field {
            offset,
            kind: value_kind(t),
        })
        .collect()
}

/// The kernel map type of a user map: per-CPU for aggregations, plain
/// otherwise, LRU when declared `lruhash`/`percpulruhash`.
fn user_kind(m: &MapDef, settings: &Settings) -> MapKind {
    let lru = settings
        .declared(&m.name)
        .is_some_and(|d| matches!(d.kind, DeclaredKind::LruHash | DeclaredKind::PercpuLruHash));
    match (&m.value, lru) {
        (MapValue::Plain(_), false) => MapKind::Hash,
        (MapValue::Plain(_), true) => MapKind::LruHash,
        (_, false) => MapKind::PercpuHash,
        (_, true) => MapKind::LruPercpuHash,
    }
}

fn user_spec(i: usize, m: &MapDef, settings: &Settings) -> MapSpec {
    let layout = key_layout(&m.key);
    let key = layout
        .offsets
        .iter()
        .zip(&m.key)
        .map(|(off, t)| Field {
            offset: *off,
            kind: value_kind(t),
        })
        .collect();
    let value = super::aggregate::value_spec(&m.value);
    MapSpec {
        elf_name: format!("m{i}"),
        kind: user_kind(m, settings),
        key_size: layout.size,
        value_size: value_size(&m.value),
        max_entries: settings
            .declared(&m.name)
            .map_or(settings.max_map_keys, |d| d.max_entries),
        role: MapRole::User {
            name: m.name.clone(),
            key,
            value,
        },
    }
}

/// Every map of the program, user maps first, then `events` and `scratch`.
pub(crate) fn map_specs(program: &Program, scratch_size: u32) -> Vec<MapSpec> {
    let mut specs: Vec<MapSpec> = program
        .maps
        .iter()
        .enumerate()
        .map(|(i, m)| user_spec(i, m, &program.settings))
        .collect();
    specs.extend(super::stacks::stack_map_specs(program));
    specs.push(MapSpec {
        elf_name: "events".into(),
        kind: MapKind::Ringbuf,
        key_size: 0,
        value_size: 0,
        max_entries: EVENTS_SIZE,
        role: MapRole::Events,
    });
    specs.extend(super::globals::start_spec(program));
    specs.extend(super::user::cpid_spec(program));
    specs.push(MapSpec {
        elf_name: "lost".into(),
        kind: MapKind::PercpuArray,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        role: MapRole::Lost,
    });
    specs.push(MapSpec {
        elf_name: "scratch".into(),
        kind: MapKind::PercpuArray,
        key_size: 4,
        value_size: scratch_size.max(MIN_SCRATCH),
        max_entries: 1,
        role: MapRole::Scratch,
    });
    specs
}

/// The map globals of one module.
pub(crate) struct MapGlobals<'ctx> {
    pub user: Vec<GlobalValue<'ctx>>,
    pub events: GlobalValue<'ctx>,
    pub scratch: GlobalValue<'ctx>,
    /// The `cpid` map, when the program reads `cpid` (see `user.rs`).
    pub cpid: Option<GlobalValue<'ctx>>,
    /// The stack-trace maps, by stack kind and frame limit.
    pub stacks: Vec<(StackKind, u8, GlobalValue<'ctx>)>,
    /// Per-CPU count of records the ring buffer refused.
    pub lost: GlobalValue<'ctx>,
    /// The start time behind `elapsed`, when the program uses it.
    pub start: Option<GlobalValue<'ctx>>,
}

impl<'ctx> MapGlobals<'ctx> {
    pub fn user(&self, id: usize) -> Result<GlobalValue<'ctx>, CodegenError> {
        self.user.get(id).copied().ok_or_else(|| {
            CodegenError::Internal(format!("The IR refers to map #{id}, which does not exist."))
        })
    }
}

/// Declares every map of `specs` (as made by `map_specs`) in `module`.
pub(crate) fn declare<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    specs: &[MapSpec],
) -> Result<MapGlobals<'ctx>, CodegenError> {
    let mut user = Vec::new();
    let mut events = None;
    let mut scratch = None;
    let mut stacks = Vec::new();
    let mut lost = None;
    let mut start = None;
    let mut cpid = None;
    for spec in specs {
        let g = declare_one(ctx, module, spec);
        match spec.role {
            MapRole::User { .. } => user.push(g),
            MapRole::Events => events = Some(g),
            MapRole::Scratch => scratch = Some(g),
            MapRole::Cpid => cpid = Some(g),
            MapRole::Stacks { kind, limit } => stacks.push((kind, limit, g)),
            MapRole::Lost => lost = Some(g),
            MapRole::Start => start = Some(g),
        }
    }
    let missing = || CodegenError::Internal("The map list lacks the events or scratch map.".into());
    Ok(MapGlobals {
        user,
        events: events.ok_or_else(missing)?,
        scratch: scratch.ok_or_else(missing)?,
        cpid,
        stacks,
        lost: lost.ok_or_else(missing)?,
        start,
    })
}

fn declare_one<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    spec: &MapSpec,
) -> GlobalValue<'ctx> {
    let g = module.add_global(def_type(ctx), None, &spec.elf_name);
    set_def(ctx, g, spec);
    g.set_section(Some("maps"));
    g.set_linkage(Linkage::External);
    g.set_alignment(4);
    g
}

fn def_type(ctx: &Context) -> inkwell::types::StructType<'_> {
    let i32t = ctx.i32_type();
    ctx.struct_type(&[i32t.into(); 7], false)
}

/// Writes the `bpf_map_def` initializer of `g` from `spec`.
pub(crate) fn set_def<'ctx>(ctx: &'ctx Context, g: GlobalValue<'ctx>, spec: &MapSpec) {
    let i32t = ctx.i32_type();
    let fields = [
        spec.kind.bpf_type(),
        spec.key_size,
        spec.value_size,
        spec.max_entries,
        0,
        0,
        0,
    ]
    .map(|v| i32t.const_int(u64::from(v), false).into());
    g.set_initializer(&def_type(ctx).const_named_struct(&fields));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_layout_aligns_elements() {
        let l = key_layout(&[Type::U64, Type::Str(5), Type::Bool]);
        assert_eq!(l.offsets, [0, 8, 16]);
        assert_eq!(l.size, 24);
        assert!(l.has_padding);
        assert_eq!(key_layout(&[]).size, 8);
        assert!(!key_layout(&[Type::I64, Type::U64]).has_padding);
    }

    #[test]
    fn specs_end_with_events_and_scratch() {
        let program = Program {
            probes: vec![],
            maps: vec![MapDef {
                name: "@".into(),
                key: vec![],
                value: MapValue::Plain(Type::Str(13)),
            }],
            formats: vec![],
            settings: Settings::default(),
            actions: vec![],
        };
        let specs = map_specs(&program, 3);
        let names: Vec<&str> = specs.iter().map(|s| s.elf_name.as_str()).collect();
        assert_eq!(names, ["m0", "events", "lost", "scratch"]);
        assert_eq!(
            (specs[0].kind, specs[0].key_size, specs[0].value_size),
            (MapKind::Hash, 8, 16)
        );
        assert_eq!(specs[3].value_size, MIN_SCRATCH);
    }
}
