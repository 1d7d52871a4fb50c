//! Reads the USDT probes of an ELF file from its `.note.stapsdt` section,
//! following the SystemTap SDT note layout: each note (type 3, owner
//! `stapsdt`) holds the probe's address, the link-time address of
//! `.stapsdt.base`, the semaphore's address, then provider, name and
//! argument text. Addresses are adjusted by how far `.stapsdt.base` moved
//! (prelink) and turned into file offsets through the `PT_LOAD` segments,
//! which is what the uprobe PMU wants for both the probe and its semaphore.

use ferrotrace_compiler::user_space::{UsdtProbe, UserObject};
use object::{Object, ObjectSection};

const NT_STAPSDT: u32 = 3;

/// The USDT probes of the ELF at `path` (none when it has no notes).
pub fn read_probes(path: &str) -> Result<Vec<UsdtProbe>, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let file = object::File::parse(&*data)
        .map_err(|e| format!("{path} is not an ELF file ferrotrace can read ({e})"))?;
    let Some(notes) = file.section_by_name(".note.stapsdt") else {
        return Ok(Vec::new());
    };
    let notes = notes
        .data()
        .map_err(|e| format!("cannot read the USDT notes of {path}: {e}"))?;
    let base = file.section_by_name(".stapsdt.base").map(|s| s.address());
    let object = UserObject {
        symbols: Vec::new(),
        segments: crate::elf_symbols::load_segments(&file),
    };
    let mut out = Vec::new();
    for note in parse_notes(notes) {
        // Prelink may have moved the object: shift by how far
        // `.stapsdt.base` moved from the address the note recorded.
        let shift = |addr: u64| match base {
            Some(actual) if note.base != 0 => addr.wrapping_add(actual).wrapping_sub(note.base),
            _ => addr,
        };
        let pc = shift(note.pc);
        let Some(offset) = object.file_offset(pc) else {
            return Err(format!(
                "USDT probe {}:{} of {path} is at {pc:#x}, outside every loadable segment",
                note.provider, note.name
            ));
        };
        let semaphore = match note.semaphore {
            0 => None,
            s => Some(object.file_offset(shift(s)).ok_or_else(|| {
                format!(
                    "the semaphore of USDT probe {}:{} of {path} is outside every loadable segment",
                    note.provider, note.name
                )
            })?),
        };
        out.push(UsdtProbe {
            provider: note.provider,
            name: note.name,
            offset,
            semaphore,
            args_text: note.args,
        });
    }
    Ok(out)
}

/// One raw stapsdt note.
#[derive(Debug, PartialEq, Eq)]
struct Note {
    pc: u64,
    base: u64,
    semaphore: u64,
    provider: String,
    name: String,
    args: String,
}

/// Walks ELF notes (4-byte aligned name and descriptor) and decodes the
/// stapsdt ones of a 64-bit object.
fn parse_notes(mut data: &[u8]) -> Vec<Note> {
    let align4 = |n: usize| n.div_ceil(4) * 4;
    let mut out = Vec::new();
    while data.len() >= 12 {
        let word = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
        let (namesz, descsz, kind) = (word(0) as usize, word(4) as usize, word(8));
        let name_end = 12 + align4(namesz);
        let desc_end = name_end + align4(descsz);
        if desc_end > data.len() {
            break;
        }
        let owner = &data[12..12 + namesz];
        let desc = &data[name_end..name_end + descsz];
        if kind == NT_STAPSDT && owner.starts_with(b"stapsdt") {
            if let Some(note) = decode(desc) {
                out.push(note);
            }
        }
        data = &data[desc_end..];
    }
    out
}

fn decode(desc: &[u8]) -> Option<Note> {
    let addr = |i: usize| Some(u64::from_le_bytes(desc.get(i..i + 8)?.try_into().ok()?));
    let (pc, base, semaphore) = (addr(0)?, addr(8)?, addr(16)?);
    let mut strings = desc.get(24..)?.split(|b| *b == 0);
    let mut text = || {
        strings
            .next()
            .map(|s| String::from_utf8_lossy(s).into_owned())
    };
    Some(Note {
        pc,
        base,
        semaphore,
        provider: text()?,
        name: text()?,
        args: text().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_note() {
        let mut desc = Vec::new();
        for v in [0x1139u64, 0x2004, 0x4010] {
            desc.extend_from_slice(&v.to_le_bytes());
        }
        desc.extend_from_slice(b"demo\0tick\0-4@%edi 8@-8(%rbp)\0");
        let mut note = Vec::new();
        note.extend_from_slice(&8u32.to_le_bytes());
        note.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        note.extend_from_slice(&3u32.to_le_bytes());
        note.extend_from_slice(b"stapsdt\0");
        note.extend_from_slice(&desc);
        while note.len() % 4 != 0 {
            note.push(0);
        }
        let notes = parse_notes(&note);
        assert_eq!(
            notes,
            [Note {
                pc: 0x1139,
                base: 0x2004,
                semaphore: 0x4010,
                provider: "demo".into(),
                name: "tick".into(),
                args: "-4@%edi 8@-8(%rbp)".into(),
            }]
        );
    }
}
