//! User-space facts the compiler asks `KernelInfo` for: the function
//! symbols and loadable segments of an ELF object, and its USDT probes. This
//! module holds the plain data types and the pure parser of USDT argument
//! specifications (`-4@%edi`, `8@-8(%rbp)`, `4@$5`), shared by the runtime's
//! note reader and the test fixtures; it reads no file itself.

use serde::{Deserialize, Serialize};

/// A function symbol of an ELF object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSymbol {
    /// The symbol name as stored (mangled for C++).
    pub name: String,
    /// The demangled C++ name, when `name` is a mangled one.
    pub demangled: Option<String>,
    /// The symbol's virtual address.
    pub address: u64,
    pub size: u64,
}

/// One `PT_LOAD` segment: `memsz` bytes at virtual address `vaddr` come
/// from file offset `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
}

/// The symbols of one ELF object and how to turn its addresses into file
/// offsets (what the uprobe PMU wants).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserObject {
    pub symbols: Vec<UserSymbol>,
    pub segments: Vec<Segment>,
}

impl UserObject {
    /// The file offset of virtual address `vaddr`, through the segment that
    /// maps it.
    pub fn file_offset(&self, vaddr: u64) -> Option<u64> {
        self.segments
            .iter()
            .find(|s| vaddr >= s.vaddr && vaddr - s.vaddr < s.memsz.max(1))
            .map(|s| vaddr - s.vaddr + s.offset)
    }
}

/// One USDT probe of a `.note.stapsdt` section, with addresses already
/// turned into file offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtProbe {
    pub provider: String,
    pub name: String,
    /// File offset of the probe's instruction.
    pub offset: u64,
    /// File offset of the probe's semaphore, when it has one.
    pub semaphore: Option<u64>,
    /// The argument specification text, as in the note.
    pub args_text: String,
}

/// Where a USDT argument's value is, on x86-64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UsdtLocation {
    /// In a register: its byte offset in `struct pt_regs`.
    Register { pt_regs: u32 },
    /// In memory at a register plus a displacement.
    Memory { pt_regs: u32, displacement: i64 },
    /// A constant.
    Constant(i64),
}

/// One decoded USDT argument: its size in bytes, signedness and location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsdtArg {
    pub size: u8,
    pub signed: bool,
    pub location: UsdtLocation,
}

/// Whether the library file named `file` answers to the short name
/// `name`: `libc` matches `libc.so.6`, and `libc.so.6` matches itself.
pub fn library_matches(file: &str, name: &str) -> bool {
    file == name
        || file.contains(".so")
            && file
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(".so") || rest.starts_with('-'))
}

/// Byte offsets in x86-64 `struct pt_regs` of the System V argument
/// registers, in argument order.
pub const ARG_REGISTERS: [u32; 6] = [112, 104, 96, 88, 72, 64];
/// Byte offset of `ax` in `struct pt_regs`: the return value.
pub const RETURN_REGISTER: u32 = 80;
/// Byte offset of `sp` in `struct pt_regs`.
pub const STACK_POINTER: u32 = 152;

/// The `pt_regs` offset of an x86-64 register named in AT&T syntax without
/// `%` (`rdi`, `edi`, `di`, `dil`, `r8d`, ...).
pub fn register_offset(name: &str) -> Option<u32> {
    const LEGACY: [(&str, [&str; 4], u32); 9] = [
        ("ax", ["rax", "eax", "ax", "al"], 80),
        ("bx", ["rbx", "ebx", "bx", "bl"], 40),
        ("cx", ["rcx", "ecx", "cx", "cl"], 88),
        ("dx", ["rdx", "edx", "dx", "dl"], 96),
        ("si", ["rsi", "esi", "si", "sil"], 104),
        ("di", ["rdi", "edi", "di", "dil"], 112),
        ("bp", ["rbp", "ebp", "bp", "bpl"], 32),
        ("sp", ["rsp", "esp", "sp", "spl"], 152),
        ("ip", ["rip", "eip", "ip", "ip"], 128),
    ];
    if let Some((_, _, off)) = LEGACY.iter().find(|(_, names, _)| names.contains(&name)) {
        return Some(*off);
    }
    let n = name.strip_prefix('r')?;
    let digits = n.trim_end_matches(['d', 'w', 'b']);
    let suffix = &n[digits.len()..];
    if suffix.len() > 1 {
        return None;
    }
    // r8..r15 follow the legacy registers in reverse order: r15 is at 0.
    match digits.parse::<u32>().ok()? {
        r @ 8..=15 => Some(if r >= 12 {
            (15 - r) * 8
        } else {
            72 - (r - 8) * 8
        }),
        _ => None,
    }
}

/// Parses a note's argument specification (`-4@%edi 8@-8(%rbp) 4@$5`).
/// Returns a sentence saying what is wrong on failure.
pub fn parse_usdt_args(text: &str) -> Result<Vec<UsdtArg>, String> {
    text.split_whitespace().map(parse_usdt_arg).collect()
}

/// Parses one argument specification (`-4@%edi`).
pub fn parse_usdt_arg(spec: &str) -> Result<UsdtArg, String> {
    let bad = |why: &str| format!("USDT argument `{spec}` is not understood: {why}");
    let (size_text, operand) = spec
        .split_once('@')
        .ok_or_else(|| bad("expected SIZE@OPERAND"))?;
    let size: i32 = size_text
        .parse()
        .map_err(|_| bad("the size is not a number"))?;
    let signed = size < 0;
    let size = match size.unsigned_abs() {
        s @ (1 | 2 | 4 | 8) => s as u8,
        _ => return Err(bad("the size must be 1, 2, 4 or 8 bytes")),
    };
    let location = if let Some(c) = operand.strip_prefix('$') {
        UsdtLocation::Constant(parse_int(c).ok_or_else(|| bad("the constant is not a number"))?)
    } else if let Some(reg) = operand.strip_prefix('%') {
        UsdtLocation::Register {
            pt_regs: register_offset(reg).ok_or_else(|| bad("unknown register"))?,
        }
    } else if let Some((disp, rest)) = operand.split_once('(') {
        let reg = rest
            .strip_suffix(')')
            .and_then(|r| r.strip_prefix('%'))
            .ok_or_else(|| bad("expected DISP(%REG)"))?;
        if reg.contains(',') {
            return Err(bad("indexed memory operands are not supported"));
        }
        let displacement = if disp.is_empty() {
            0
        } else {
            parse_int(disp).ok_or_else(|| bad("the displacement is not a number"))?
        };
        UsdtLocation::Memory {
            pt_regs: register_offset(reg).ok_or_else(|| bad("unknown register"))?,
            displacement,
        }
    } else {
        return Err(bad("expected a register, memory or constant operand"));
    };
    Ok(UsdtArg {
        size,
        signed,
        location,
    })
}

/// A decimal or `0x` hexadecimal integer with an optional sign.
fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok()? as i64,
        None => digits.parse::<u64>().ok()? as i64,
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn registers_map_to_pt_regs() {
        assert_eq!(register_offset("rdi"), Some(112));
        assert_eq!(register_offset("edi"), Some(112));
        assert_eq!(register_offset("r8"), Some(72));
        assert_eq!(register_offset("r9d"), Some(64));
        assert_eq!(register_offset("r11"), Some(48));
        assert_eq!(register_offset("r12"), Some(24));
        assert_eq!(register_offset("r15w"), Some(0));
        assert_eq!(register_offset("r16"), None);
        assert_eq!(register_offset("xmm0"), None);
    }

    #[test]
    fn parses_argument_specs() {
        let args = parse_usdt_args("-4@%edi 8@-8(%rbp) 4@$5 -8@$-3 2@(%rax)").unwrap();
        assert_eq!(
            args,
            [
                UsdtArg {
                    size: 4,
                    signed: true,
                    location: UsdtLocation::Register { pt_regs: 112 }
                },
                UsdtArg {
                    size: 8,
                    signed: false,
                    location: UsdtLocation::Memory {
                        pt_regs: 32,
                        displacement: -8
                    }
                },
                UsdtArg {
                    size: 4,
                    signed: false,
                    location: UsdtLocation::Constant(5)
                },
                UsdtArg {
                    size: 8,
                    signed: true,
                    location: UsdtLocation::Constant(-3)
                },
                UsdtArg {
                    size: 2,
                    signed: false,
                    location: UsdtLocation::Memory {
                        pt_regs: 80,
                        displacement: 0
                    }
                },
            ]
        );
        assert!(parse_usdt_args("3@%edi").is_err());
        assert!(parse_usdt_args("8@(%rax,%rbx,8)").is_err());
        assert_eq!(parse_usdt_args("").unwrap(), []);
    }

    #[test]
    fn file_offsets_follow_segments() {
        let o = UserObject {
            symbols: vec![],
            segments: vec![Segment {
                vaddr: 0x401000,
                memsz: 0x1000,
                offset: 0x1000,
            }],
        };
        assert_eq!(o.file_offset(0x401234), Some(0x1234));
        assert_eq!(o.file_offset(0x500000), None);
    }
}
