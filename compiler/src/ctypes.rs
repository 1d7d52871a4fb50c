//! C types as the compiler sees them: structs and unions with their fields
//! (byte offsets, bitfields), arrays, pointers, integers. The kernel's BTF
//! (through `KernelInfo::c_record`) and a script's C preamble (through
//! `parse_c_records`, also used by the test fixtures) both describe their
//! types in this one model; typedefs and enums are already resolved to the
//! integer or record they stand for.

use std::collections::HashMap;

/// A C type. Records are referred to by key and resolved lazily, so
/// recursive types (`task_struct->parent`) are finite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CType {
    Void,
    /// An integer (also `bool`, `char`, an enum) of `size` bytes.
    Int {
        size: u32,
        signed: bool,
    },
    Ptr(Box<CType>),
    Array {
        elem: Box<CType>,
        len: u32,
    },
    /// A struct or union, by the key `KernelInfo::c_record` answers for
    /// (its name; `#ID` for an anonymous kernel type), and its size.
    Record {
        key: String,
        union: bool,
        size: u32,
    },
    /// A function (only ever behind a pointer) or a type we do not model.
    Opaque,
}

impl CType {
    /// The size in bytes (a pointer's is 8, `void`'s 1 as in GNU C).
    pub fn size(&self) -> u32 {
        match self {
            CType::Void | CType::Opaque => 1,
            CType::Int { size, .. } => *size,
            CType::Ptr(_) => 8,
            CType::Array { elem, len } => elem.size().saturating_mul(*len),
            CType::Record { size, .. } => *size,
        }
    }

    /// The alignment C gives the type (records: their largest field's,
    /// approximated by the largest power of two up to 8 dividing the size).
    fn align(&self) -> u32 {
        match self {
            CType::Int { size, .. } => (*size).clamp(1, 8),
            CType::Ptr(_) => 8,
            CType::Array { elem, .. } => elem.align(),
            CType::Record { size, .. } => {
                let mut a = 8;
                while a > 1 && size % a != 0 {
                    a /= 2;
                }
                a
            }
            CType::Void | CType::Opaque => 1,
        }
    }
}

impl std::fmt::Display for CType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CType::Void => f.write_str("void"),
            CType::Int { size, signed } => {
                write!(f, "{}int{}", if *signed { "" } else { "u" }, size * 8)
            }
            CType::Ptr(t) => write!(f, "{t} *"),
            CType::Array { elem, len } => write!(f, "{elem}[{len}]"),
            CType::Record { key, union, .. } => {
                let kw = if *union { "union" } else { "struct" };
                match key.strip_prefix('#') {
                    Some(_) => write!(f, "{kw} (anonymous)"),
                    None => write!(f, "{kw} {key}"),
                }
            }
            CType::Opaque => f.write_str("(function)"),
        }
    }
}

/// A struct or union definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CRecord {
    /// The record's name (empty for an anonymous one).
    pub name: String,
    pub union: bool,
    pub size: u32,
    pub fields: Vec<CField>,
}

/// One member of a record. An anonymous struct or union member has an
/// empty name; its fields are reached as if they were the parent's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CField {
    pub name: String,
    /// Offset from the record's start in bits (a multiple of 8 unless a bitfield).
    pub bit_offset: u32,
    /// Width of a bitfield in bits; 0 for an ordinary member.
    pub bitfield_width: u32,
    pub ty: CType,
}

/// The C integer type names the preamble parser knows (kernel spellings too).
fn int_named(words: &[&str]) -> Option<CType> {
    let int = |size, signed| Some(CType::Int { size, signed });
    let unsigned = words.contains(&"unsigned");
    let rest: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !matches!(*w, "unsigned" | "signed" | "const" | "volatile"))
        .collect();
    match rest.as_slice() {
        ["char"] => int(1, !unsigned),
        ["short"] | ["short", "int"] => int(2, !unsigned),
        [] | ["int"] => int(4, !unsigned),
        ["long"] | ["long", "int"] | ["long", "long"] | ["long", "long", "int"] => {
            int(8, !unsigned)
        }
        ["bool"] | ["_Bool"] => int(1, false),
        ["u8"] | ["__u8"] | ["uint8_t"] | ["uint8"] => int(1, false),
        ["s8"] | ["__s8"] | ["int8_t"] | ["int8"] => int(1, true),
        ["u16"] | ["__u16"] | ["uint16_t"] | ["uint16"] => int(2, false),
        ["s16"] | ["__s16"] | ["int16_t"] | ["int16"] => int(2, true),
        ["u32"] | ["__u32"] | ["uint32_t"] | ["uint32"] | ["uid_t"] | ["gid_t"] => int(4, false),
        ["s32"] | ["__s32"] | ["int32_t"] | ["int32"] | ["pid_t"] => int(4, true),
        ["u64"] | ["__u64"] | ["uint64_t"] | ["uint64"] | ["size_t"] => int(8, false),
        ["s64"] | ["__s64"] | ["int64_t"] | ["int64"] | ["ssize_t"] => int(8, true),
        _ => None,
    }
}

/// Parses C struct and union definitions (`struct foo { int a; char
/// name[16]; struct foo *next; unsigned int flag : 1; };`), laying their
/// fields out as C does on x86-64. Records may refer to each other in any
/// order. Returns the records by name, or the first error as
/// `(byte offset, message)`.
pub fn parse_c_records(text: &str) -> Result<HashMap<String, CRecord>, (usize, String)> {
    parse_c_definitions(text).map(|d| d.records)
}

/// The records and enum constants of a C preamble.
#[derive(Debug, Clone, Default)]
pub struct CDefinitions {
    pub records: HashMap<String, CRecord>,
    /// `enum e { A, B = 5 };` constants by name.
    pub constants: HashMap<String, i64>,
}

/// Parses C struct, union and enum definitions (see `parse_c_records`).
pub fn parse_c_definitions(text: &str) -> Result<CDefinitions, (usize, String)> {
    let toks = tokenize(text);
    let mut p = Parser {
        toks,
        at: 0,
        sizes: HashMap::new(),
        out: HashMap::new(),
        constants: HashMap::new(),
    };
    // Sizes first, so a record may embed one defined later in the text.
    p.run(true)?;
    p.at = 0;
    p.out.clear();
    p.run(false)?;
    Ok(CDefinitions {
        records: p.out,
        constants: p.constants,
    })
}

/// A decimal or `0x` hexadecimal C integer.
fn parse_c_int(s: &str) -> Option<i64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn tokenize(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if text[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if text[i..].starts_with("/*") {
            i = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((start, text[start..i].to_string()));
        } else {
            out.push((i, (c as char).to_string()));
            i += 1;
        }
    }
    out
}

struct Parser {
    toks: Vec<(usize, String)>,
    at: usize,
    /// Sizes of the records seen (filled by the first pass).
    sizes: HashMap<String, (bool, u32)>,
    out: HashMap<String, CRecord>,
    constants: HashMap<String, i64>,
}

type PResult<T> = Result<T, (usize, String)>;

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.at).map(|(_, t)| t.as_str())
    }

    fn pos(&self) -> usize {
        self.toks
            .get(self.at)
            .or(self.toks.last())
            .map_or(0, |(p, _)| *p)
    }

    fn next(&mut self) -> PResult<String> {
        let t = self.toks.get(self.at).map(|(_, t)| t.clone()).ok_or((
            self.pos(),
            "unexpected end of the C definitions".to_string(),
        ))?;
        self.at += 1;
        Ok(t)
    }

    fn expect(&mut self, want: &str) -> PResult<()> {
        let pos = self.pos();
        let got = self.next()?;
        if got == want {
            Ok(())
        } else {
            Err((pos, format!("expected `{want}`, found `{got}`")))
        }
    }

    fn run(&mut self, sizing: bool) -> PResult<()> {
        while self.peek().is_some() {
            let pos = self.pos();
            let kw = self.next()?;
            if kw == "enum" {
                self.enum_body()?;
                continue;
            }
            if kw != "struct" && kw != "union" {
                return Err((
                    pos,
                    format!("expected `struct`, `union` or `enum`, found `{kw}`"),
                ));
            }
            let name = self.next()?;
            let record = self.body(kw == "union", &name, sizing)?;
            self.expect(";")?;
            self.sizes.insert(name.clone(), (record.union, record.size));
            self.out.insert(name, record);
        }
        Ok(())
    }

    /// `NAME { A, B = 5, ... };` after `enum`: each constant is the given
    /// value or one more than the previous.
    fn enum_body(&mut self) -> PResult<()> {
        self.next()?;
        self.expect("{")?;
        let mut next = 0i64;
        while self.peek() != Some("}") {
            let name = self.next()?;
            if self.peek() == Some("=") {
                self.at += 1;
                let pos = self.pos();
                let negative = self.peek() == Some("-");
                if negative {
                    self.at += 1;
                }
                let v = self.next()?;
                let n =
                    parse_c_int(&v).ok_or((pos, format!("enum value `{v}` is not an integer")))?;
                next = if negative { n.wrapping_neg() } else { n };
            }
            self.constants.insert(name, next);
            next = next.wrapping_add(1);
            if self.peek() == Some(",") {
                self.at += 1;
            }
        }
        self.expect("}")?;
        self.expect(";")
    }

    /// `{ member; ... }` after `struct NAME`.
    fn body(&mut self, union: bool, name: &str, sizing: bool) -> PResult<CRecord> {
        self.expect("{")?;
        let mut fields = Vec::new();
        let (mut bits, mut align) = (0u32, 1u32);
        while self.peek() != Some("}") {
            let pos = self.pos();
            let base = self.base_type(sizing)?;
            loop {
                let mut ty = base.clone();
                while self.peek() == Some("*") {
                    self.at += 1;
                    ty = CType::Ptr(Box::new(ty));
                }
                let fname = self.next()?;
                let mut dims = Vec::new();
                while self.peek() == Some("[") {
                    self.at += 1;
                    let n = self.next()?;
                    let n: u32 = n
                        .parse()
                        .map_err(|_| (pos, format!("array length `{n}` is not a number")))?;
                    self.expect("]")?;
                    dims.push(n);
                }
                for n in dims.into_iter().rev() {
                    ty = CType::Array {
                        elem: Box::new(ty),
                        len: n,
                    };
                }
                let mut width = 0;
                if self.peek() == Some(":") {
                    self.at += 1;
                    let w = self.next()?;
                    width = w
                        .parse()
                        .map_err(|_| (pos, format!("bitfield width `{w}` is not a number")))?;
                }
                if matches!(ty, CType::Void) {
                    return Err((pos, format!("field `{fname}` cannot be void")));
                }
                let a = ty.align();
                align = align.max(a);
                let bit_offset = if union {
                    0
                } else if width > 0 {
                    // A bitfield goes in the current unit when it fits.
                    let unit = ty.size() * 8;
                    if (bits % unit) + width > unit {
                        bits.div_ceil(unit) * unit
                    } else {
                        bits
                    }
                } else {
                    bits.div_ceil(a * 8) * a * 8
                };
                let size_bits = if width > 0 { width } else { ty.size() * 8 };
                bits = if union {
                    bits.max(size_bits)
                } else {
                    bit_offset + size_bits
                };
                fields.push(CField {
                    name: fname,
                    bit_offset,
                    bitfield_width: width,
                    ty,
                });
                if self.peek() == Some(",") {
                    self.at += 1;
                    continue;
                }
                break;
            }
            self.expect(";")?;
        }
        self.expect("}")?;
        let size = (bits.div_ceil(8)).div_ceil(align) * align;
        Ok(CRecord {
            name: name.to_string(),
            union,
            size,
            fields,
        })
    }

    /// A member's type before its declarator: `struct foo`, `unsigned int`, `u64`.
    fn base_type(&mut self, sizing: bool) -> PResult<CType> {
        let pos = self.pos();
        let first = self.next()?;
        if first == "struct" || first == "union" {
            let name = self.next()?;
            let (union, size) = match self.sizes.get(&name) {
                Some(s) => *s,
                // Behind a pointer the size does not matter yet; when
                // embedded, the second pass knows it.
                None if sizing => (first == "union", 0),
                None if self.peek() == Some("*") => (first == "union", 0),
                None => return Err((pos, format!("`{first} {name}` is not defined"))),
            };
            return Ok(CType::Record {
                key: name,
                union,
                size,
            });
        }
        if first == "void" {
            return Ok(CType::Void);
        }
        if first == "enum" {
            self.next()?;
            return Ok(CType::Int {
                size: 4,
                signed: false,
            });
        }
        let mut words = vec![first];
        while let Some(w) = self.peek() {
            let w = w.to_string();
            let is_word = matches!(
                w.as_str(),
                "unsigned" | "signed" | "int" | "long" | "short" | "char" | "const" | "volatile"
            );
            if !is_word {
                break;
            }
            self.at += 1;
            words.push(w);
        }
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        int_named(&refs).ok_or((pos, format!("unknown C type `{}`", words.join(" "))))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_fields_like_c() {
        let recs = parse_c_records(
            "struct b { char c; struct a inner; struct b *next; unsigned int x : 3, y : 5; };
             struct a { int i; long l; char name[16]; };",
        )
        .unwrap();
        let a = &recs["a"];
        assert_eq!(a.size, 32);
        assert_eq!(a.fields[1].bit_offset, 64);
        let b = &recs["b"];
        assert_eq!(b.fields[1].bit_offset, 64);
        assert_eq!(b.fields[2].bit_offset, 64 + 256);
        assert_eq!(b.fields[3].bit_offset, 64 + 256 + 64);
        assert_eq!(b.fields[4].bit_offset, 64 + 256 + 64 + 3);
        assert_eq!(b.fields[4].bitfield_width, 5);
        assert_eq!(b.size, 56);
        assert!(parse_c_records("struct x { struct nope n; };").is_err());
        let d = parse_c_definitions("enum e { A, B = 0x10, C, D = -2, E };").unwrap();
        assert_eq!(
            [
                d.constants["A"],
                d.constants["B"],
                d.constants["C"],
                d.constants["D"],
                d.constants["E"]
            ],
            [0, 16, 17, -2, -1]
        );
    }
}
