//! Member offsets of kernel structs from BTF (`task_struct.real_parent`
//! for `ppid`), looking through anonymous struct and union members the way
//! C field access does.

use super::Btf;

const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
/// Anonymous members nest at most this deep in practice; the bound keeps a
/// malformed blob from recursing forever.
const MAX_DEPTH: u32 = 8;

impl Btf {
    /// The byte offset of member `field` of struct `strct`, or `None` when
    /// BTF has no such struct or member.
    pub fn field_offset(&self, strct: &str, field: &str) -> Option<u32> {
        let id = self.types.iter().position(|t| {
            t.kind == KIND_STRUCT && t.vlen > 0 && self.name(t.name_off) == strct.as_bytes()
        })?;
        let bits = self.member_bits(u32::try_from(id + 1).ok()?, field, 0)?;
        Some(bits / 8)
    }

    /// The bit offset of `field` in the struct or union with id `id`.
    fn member_bits(&self, id: u32, field: &str, depth: u32) -> Option<u32> {
        let t = self.by_id(id)?;
        if !matches!(t.kind, KIND_STRUCT | KIND_UNION) || depth > MAX_DEPTH {
            return None;
        }
        let info_at = t.extra_at.checked_sub(8)?;
        let info = self.u32_at(info_at)?;
        let kind_flag = info >> 31 == 1;
        // Each member is `{ name_off: u32, type: u32, offset: u32 }`; with
        // the kind flag set, the offset's low 24 bits are the bit offset.
        let mut anonymous = Vec::new();
        for i in 0..usize::try_from(t.vlen).ok()? {
            let at = t.extra_at + 12 * i;
            let (name_off, ty, raw) =
                (self.u32_at(at)?, self.u32_at(at + 4)?, self.u32_at(at + 8)?);
            let offset = if kind_flag { raw & 0x00ff_ffff } else { raw };
            let name = self.name(name_off);
            if name == field.as_bytes() {
                return Some(offset);
            }
            if name.is_empty() {
                anonymous.push((ty, offset));
            }
        }
        anonymous
            .into_iter()
            .find_map(|(ty, offset)| Some(offset + self.member_bits(ty, field, depth + 1)?))
    }
}
