//! The kernel's C types from BTF, in the compiler's `ctypes` model: a
//! struct or union by name (or by `#ID` for an anonymous one a field
//! refers to), and the typed arguments of raw tracepoints and kernel
//! functions. Typedefs, `const`/`volatile` and enums are resolved here;
//! records a field refers to are only named, and resolved when asked, so
//! recursive types stay finite. The name index is built on first use, so a
//! script that uses no kernel type costs nothing more.

use crate::btf::Btf;
use ferrotrace_compiler::ctypes::{CField, CRecord, CType};

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_FLOAT: u32 = 16;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

impl Btf {
    /// The struct or union `key`: a name, or `#ID`.
    pub fn record(&self, key: &str) -> Option<CRecord> {
        let id = match key.strip_prefix('#') {
            Some(id) => id.parse().ok()?,
            None => self.record_id(key)?,
        };
        let t = self.type_by_id(id)?;
        if t.kind != KIND_STRUCT && t.kind != KIND_UNION {
            return None;
        }
        let kind_flag = t.info >> 31 == 1;
        let fields = (0..t.vlen)
            .map(|i| {
                let at = t.extra_at + 12 * usize::try_from(i).ok()?;
                let (name_off, ty, off) =
                    (self.u32_at(at)?, self.u32_at(at + 4)?, self.u32_at(at + 8)?);
                let (bit_offset, width) = if kind_flag {
                    (off & 0x00ff_ffff, off >> 24)
                } else {
                    (off, 0)
                };
                Some(CField {
                    name: String::from_utf8_lossy(self.name(name_off)).into_owned(),
                    bit_offset,
                    bitfield_width: width,
                    ty: self.ctype(ty, 0),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(CRecord {
            name: String::from_utf8_lossy(self.name(t.name_off)).into_owned(),
            union: t.kind == KIND_UNION,
            size: t.type_id,
            fields,
        })
    }

    /// The value of the enum constant `name`, from the first enum of the
    /// kernel's that declares it (a linear scan: only names that are
    /// nothing else in a script are looked up).
    pub fn enum_value(&self, name: &str) -> Option<i64> {
        self.types
            .iter()
            .filter(|t| t.kind == KIND_ENUM || t.kind == KIND_ENUM64)
            .find_map(|t| {
                self.enum_entries(t)?
                    .into_iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v)
            })
    }

    /// The constants of the enum named `name`, in declaration order.
    pub fn enum_members(&self, name: &str) -> Option<Vec<(String, i64)>> {
        let want = name.as_bytes();
        let t = self.types.iter().find(|t| {
            (t.kind == KIND_ENUM || t.kind == KIND_ENUM64) && self.name(t.name_off) == want
        })?;
        self.enum_entries(t)
    }

    /// The `(name, value)` constants of an enum type (32- or 64-bit).
    fn enum_entries(&self, t: &crate::btf::Type) -> Option<Vec<(String, i64)>> {
        let (entry, wide) = if t.kind == KIND_ENUM64 {
            (12, true)
        } else {
            (8, false)
        };
        let signed = t.info >> 31 == 1;
        (0..usize::try_from(t.vlen).ok()?)
            .map(|i| {
                let at = t.extra_at + entry * i;
                let name = String::from_utf8_lossy(self.name(self.u32_at(at)?)).into_owned();
                let lo = self.u32_at(at + 4)?;
                let v = if wide {
                    (u64::from(self.u32_at(at + 8)?) << 32 | u64::from(lo)) as i64
                } else if signed {
                    i64::from(lo as i32)
                } else {
                    i64::from(lo)
                };
                Some((name, v))
            })
            .collect()
    }

    /// Every named struct and union.
    pub fn record_names(&self) -> Vec<String> {
        let _ = self.record_id("");
        self.record_index
            .get()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The id of the (non-forward) struct or union named `name`, from an
    /// index built on first use.
    fn record_id(&self, name: &str) -> Option<u32> {
        let index = self.record_index.get_or_init(|| {
            let mut m = std::collections::HashMap::new();
            for (i, t) in self.types.iter().enumerate() {
                if (t.kind == KIND_STRUCT || t.kind == KIND_UNION) && t.name_off != 0 {
                    let n = String::from_utf8_lossy(self.name(t.name_off)).into_owned();
                    if let Ok(id) = u32::try_from(i + 1) {
                        m.entry(n).or_insert(id);
                    }
                }
            }
            m
        });
        index.get(name).copied()
    }

    /// The C type with id `id` (typedefs and qualifiers resolved).
    pub(crate) fn ctype(&self, id: u32, depth: u32) -> CType {
        if id == 0 {
            return CType::Void;
        }
        let Some(t) = self.type_by_id(id) else {
            return CType::Opaque;
        };
        if depth > 32 {
            return CType::Opaque;
        }
        match t.kind {
            KIND_INT => {
                let enc = self.u32_at(t.extra_at).unwrap_or(0);
                CType::Int {
                    size: t.type_id,
                    signed: (enc >> 24) & 1 == 1,
                }
            }
            KIND_ENUM | KIND_ENUM64 => CType::Int {
                size: t.type_id,
                signed: t.info >> 31 == 1,
            },
            KIND_FLOAT => CType::Opaque,
            KIND_PTR => CType::Ptr(Box::new(self.ctype(t.type_id, depth + 1))),
            KIND_ARRAY => {
                let elem = self.u32_at(t.extra_at).unwrap_or(0);
                let len = self.u32_at(t.extra_at + 8).unwrap_or(0);
                CType::Array {
                    elem: Box::new(self.ctype(elem, depth + 1)),
                    len,
                }
            }
            KIND_STRUCT | KIND_UNION => CType::Record {
                key: if t.name_off == 0 {
                    format!("#{id}")
                } else {
                    String::from_utf8_lossy(self.name(t.name_off)).into_owned()
                },
                union: t.kind == KIND_UNION,
                size: t.type_id,
            },
            KIND_FWD => {
                let name = String::from_utf8_lossy(self.name(t.name_off)).into_owned();
                match self.record_id(&name).and_then(|i| self.type_by_id(i)) {
                    Some(r) => CType::Record {
                        key: name,
                        union: r.kind == KIND_UNION,
                        size: r.type_id,
                    },
                    None => CType::Opaque,
                }
            }
            KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                self.ctype(t.type_id, depth + 1)
            }
            _ => CType::Opaque,
        }
    }

    /// The parameters of a function prototype, named (`argN` when unnamed).
    fn proto_params(&self, proto_id: u32) -> Option<Vec<(String, CType)>> {
        let proto = self.type_by_id(proto_id)?;
        if proto.kind != KIND_FUNC_PROTO {
            return None;
        }
        (0..usize::try_from(proto.vlen).ok()?)
            .map(|i| {
                let at = proto.extra_at + 8 * i;
                let name = self.name(self.u32_at(at)?);
                let name = if name.is_empty() {
                    format!("arg{i}")
                } else {
                    String::from_utf8_lossy(name).into_owned()
                };
                Some((name, self.ctype(self.u32_at(at + 4)?, 0)))
            })
            .collect()
    }

    /// The typed arguments of raw tracepoint `name`: those of the kernel's
    /// BPF entry function `__bpf_trace_NAME` (which has the names), else
    /// its `btf_trace_NAME` typedef's prototype, each without the leading
    /// `void *__data`.
    pub fn raw_tracepoint_args(&self, name: &str) -> Option<Vec<(String, CType)>> {
        if let Some(mut params) = self.function_param_types(&format!("__bpf_trace_{name}")) {
            if !params.is_empty() {
                params.remove(0);
            }
            return Some(params);
        }
        let mut params = self.proto_params(self.raw_tracepoint_proto(name)?)?;
        if !params.is_empty() {
            params.remove(0);
        }
        Some(params)
    }

    /// The typed parameters of the kernel function `name`.
    pub fn function_param_types(&self, name: &str) -> Option<Vec<(String, CType)>> {
        let index = self.func_index.get_or_init(|| {
            let mut m = std::collections::HashMap::new();
            for (i, t) in self.types.iter().enumerate() {
                if t.kind == KIND_FUNC {
                    let n = String::from_utf8_lossy(self.name(t.name_off)).into_owned();
                    if let Ok(id) = u32::try_from(i + 1) {
                        m.entry(n).or_insert(id);
                    }
                }
            }
            m
        });
        let func = self.type_by_id(*index.get(name)?)?;
        self.proto_params(func.type_id)
    }
}
