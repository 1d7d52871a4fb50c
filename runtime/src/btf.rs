//! A minimal reader of the kernel's BTF (`/sys/kernel/btf/vmlinux`) for
//! the facts the compiler asks and aya-obj does not expose: the parameter
//! names of a kernel function (fentry's `args.NAME`; fexit's `retval`
//! follows the arguments in the program's context). It walks the type
//! section once and keeps, per type, its kind, name, the type or count it
//! refers to and where its extra data starts.

use std::sync::OnceLock;

mod fields;

const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";
const BTF_MAGIC: u16 = 0xeb9f;
const KIND_PTR: u32 = 2;
const KIND_TYPEDEF: u32 = 8;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;

/// One BTF type, reduced to what the lookups need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Type {
    pub(crate) kind: u32,
    pub(crate) name_off: u32,
    /// The raw info word (kind flag in the top bit).
    pub(crate) info: u32,
    /// The referenced type id (FUNC → its FUNC_PROTO), or the size.
    pub(crate) type_id: u32,
    pub(crate) vlen: u32,
    /// Offset in `data` of the kind-specific data after the 12-byte header.
    pub(crate) extra_at: usize,
}

/// A parsed BTF blob: its types (index = type id - 1) and string section.
#[derive(Debug)]
pub struct Btf {
    pub(crate) types: Vec<Type>,
    strings: Vec<u8>,
    data: Vec<u8>,
    /// Struct and union ids by name, built on first use (`btf_types`).
    pub(crate) record_index: OnceLock<std::collections::HashMap<String, u32>>,
    /// Function ids by name, built on first use (`btf_types`).
    pub(crate) func_index: OnceLock<std::collections::HashMap<String, u32>>,
}

impl Btf {
    /// Parses a BTF blob; `None` when it is not well-formed.
    pub fn parse(data: &[u8]) -> Option<Btf> {
        let u16_at = |o: usize| Some(u16::from_le_bytes(data.get(o..o + 2)?.try_into().ok()?));
        let u32_at = |o: usize| Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?));
        let usize_at = |o: usize| usize::try_from(u32_at(o)?).ok();
        if u16_at(0)? != BTF_MAGIC {
            return None;
        }
        let hdr_len = usize_at(4)?;
        let (type_off, type_len) = (usize_at(8)?, usize_at(12)?);
        let (str_off, str_len) = (usize_at(16)?, usize_at(20)?);
        let types_start = hdr_len.checked_add(type_off)?;
        let types_end = types_start.checked_add(type_len)?;
        let strings_start = hdr_len.checked_add(str_off)?;
        let strings = data
            .get(strings_start..strings_start.checked_add(str_len)?)?
            .to_vec();
        let mut types = Vec::new();
        let mut at = types_start;
        while at < types_end {
            let (name_off, info, type_id) = (u32_at(at)?, u32_at(at + 4)?, u32_at(at + 8)?);
            let kind = (info >> 24) & 0x1f;
            let vlen = info & 0xffff;
            let extra = match kind {
                1 | 14 | 17 => 4,
                3 => 12,
                4 | 5 | 15 | 19 => 12 * vlen,
                6 | 13 => 8 * vlen,
                _ => 0,
            };
            types.push(Type {
                kind,
                name_off,
                info,
                type_id,
                vlen,
                extra_at: at + 12,
            });
            at = at.checked_add(12 + usize::try_from(extra).ok()?)?;
        }
        Some(Btf {
            types,
            strings,
            data: data.to_vec(),
            record_index: OnceLock::new(),
            func_index: OnceLock::new(),
        })
    }

    /// The kernel's BTF, read and parsed once per process.
    pub fn vmlinux() -> Result<&'static Btf, String> {
        static VMLINUX: OnceLock<Result<Btf, String>> = OnceLock::new();
        VMLINUX
            .get_or_init(|| {
                let data = std::fs::read(VMLINUX_BTF).map_err(|e| {
                    format!(
                        "could not read the kernel's type information at {VMLINUX_BTF} ({e}); \
                         this needs a kernel built with CONFIG_DEBUG_INFO_BTF."
                    )
                })?;
                Btf::parse(&data).ok_or_else(|| {
                    format!("the kernel's type information at {VMLINUX_BTF} could not be parsed.")
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The little-endian u32 at byte `at` of the blob.
    pub(crate) fn u32_at(&self, at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(
            self.data.get(at..at + 4)?.try_into().ok()?,
        ))
    }

    /// The type with id `id` (ids count from 1).
    pub(crate) fn type_by_id(&self, id: u32) -> Option<&Type> {
        self.by_id(id)
    }

    pub(crate) fn name(&self, off: u32) -> &[u8] {
        let start = usize::try_from(off).unwrap_or(usize::MAX);
        let rest = self.strings.get(start..).unwrap_or(&[]);
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        &rest[..end]
    }

    /// The type id of the function `name` (a FUNC), if BTF describes it.
    pub fn function_id(&self, name: &str) -> Option<u32> {
        let index = self
            .types
            .iter()
            .position(|t| t.kind == KIND_FUNC && self.name(t.name_off) == name.as_bytes())?;
        u32::try_from(index + 1).ok()
    }

    /// Every function BTF describes, sorted.
    pub fn functions(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .types
            .iter()
            .filter(|t| t.kind == KIND_FUNC)
            .map(|t| String::from_utf8_lossy(self.name(t.name_off)).into_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every raw tracepoint, named by its `btf_trace_NAME` typedef, sorted.
    pub fn raw_tracepoints(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .types
            .iter()
            .filter(|t| t.kind == KIND_TYPEDEF)
            .filter_map(|t| self.name(t.name_off).strip_prefix(b"btf_trace_"))
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The type with id `id` (ids count from 1).
    fn by_id(&self, id: u32) -> Option<&Type> {
        self.types.get(usize::try_from(id).ok()?.checked_sub(1)?)
    }

    /// How many arguments the raw tracepoint `name` passes: its
    /// `btf_trace_NAME` typedef is a pointer to a function prototype whose
    /// first parameter (`void *__data`) is not one of them.
    pub fn raw_tracepoint_arg_count(&self, name: &str) -> Option<u32> {
        let proto = self.by_id(self.raw_tracepoint_proto(name)?)?;
        proto.vlen.checked_sub(1)
    }

    /// The id of the function prototype the raw tracepoint `name`'s
    /// `btf_trace_NAME` typedef points to.
    pub(crate) fn raw_tracepoint_proto(&self, name: &str) -> Option<u32> {
        let typedef = format!("btf_trace_{name}");
        let t = self
            .types
            .iter()
            .find(|t| t.kind == KIND_TYPEDEF && self.name(t.name_off) == typedef.as_bytes())?;
        let ptr = self.by_id(t.type_id).filter(|p| p.kind == KIND_PTR)?;
        self.by_id(ptr.type_id)
            .filter(|p| p.kind == KIND_FUNC_PROTO)
            .map(|_| ptr.type_id)
    }

    /// The parameter names of the kernel function `name` (`argN` for an
    /// unnamed one), or `None` when BTF describes no such function.
    pub fn function_params(&self, name: &str) -> Option<Vec<String>> {
        let func = self
            .types
            .iter()
            .find(|t| t.kind == KIND_FUNC && self.name(t.name_off) == name.as_bytes())?;
        let proto = self.by_id(func.type_id)?;
        if proto.kind != KIND_FUNC_PROTO {
            return None;
        }
        // Each parameter is `{ name_off: u32, type: u32 }`.
        (0..usize::try_from(proto.vlen).ok()?)
            .map(|i| {
                let at = proto.extra_at + 8 * i;
                let bytes: [u8; 4] = self.data.get(at..at + 4)?.try_into().ok()?;
                let name = self.name(u32::from_le_bytes(bytes));
                Some(if name.is_empty() {
                    format!("arg{i}")
                } else {
                    String::from_utf8_lossy(name).into_owned()
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BTF blob with `int`, `int f(int, int)` as FUNC_PROTO and FUNC.
    fn blob() -> Vec<u8> {
        let strings = b"\0int\0f\0a\0b\0btf_trace_x\0";
        let mut types = Vec::new();
        let mut ty = |name: u32, info: u32, t: u32, extra: &[u32]| {
            for v in [name, info, t].iter().chain(extra) {
                types.extend(v.to_le_bytes());
            }
        };
        ty(1, 1 << 24, 4, &[32]); // 1: int
        ty(0, (13 << 24) | 2, 1, &[7, 1, 9, 1]); // 2: proto (a int, b int) -> int
        ty(5, 12 << 24, 2, &[]); // 3: func f
        ty(0, 2 << 24, 2, &[]); // 4: pointer to the proto
        ty(11, 8 << 24, 4, &[]); // 5: typedef btf_trace_x
        let mut b = Vec::new();
        b.extend(BTF_MAGIC.to_le_bytes());
        b.extend([1u8, 0]);
        for v in [
            24u32,
            0,
            types.len() as u32,
            types.len() as u32,
            strings.len() as u32,
        ] {
            b.extend(v.to_le_bytes());
        }
        b.extend(types);
        b.extend(strings);
        b
    }

    #[test]
    fn reads_function_parameters() {
        let btf = Btf::parse(&blob());
        assert_eq!(
            btf.as_ref().and_then(|b| b.function_params("f")),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(btf.as_ref().and_then(|b| b.function_params("g")), None);
        assert_eq!(
            btf.as_ref().and_then(|b| b.raw_tracepoint_arg_count("x")),
            Some(1)
        );
        assert_eq!(
            btf.as_ref().map(|b| b.raw_tracepoints()),
            Some(vec!["x".to_string()])
        );
        assert_eq!(
            btf.as_ref().map(|b| b.functions()),
            Some(vec!["f".to_string()])
        );
    }
}
