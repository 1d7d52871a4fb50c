//! Reads user-space ELF files for uprobes: function symbols (from `.symtab`
//! and `.dynsym`, C++ names demangled), the `PT_LOAD` segments that turn
//! virtual addresses into file offsets, and the resolution of a binary
//! named in an attach point — a path, a library's short name looked up as
//! the dynamic linker does (the process's own mappings with `-p`, then
//! `/etc/ld.so.cache`, then the standard directories), or a program on `PATH`.

use ferrotrace_compiler::user_space::{library_matches, Segment, UserObject, UserSymbol};
use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};
use std::path::{Path, PathBuf};

/// Reads the function symbols and loadable segments of the ELF at `path`.
pub fn read_object(path: &str) -> Result<UserObject, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let file = object::File::parse(&*data)
        .map_err(|e| format!("{path} is not an ELF file ferrotrace can read ({e})"))?;
    let mut symbols: Vec<UserSymbol> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for sym in file.symbols().chain(file.dynamic_symbols()) {
        if sym.kind() != SymbolKind::Text || !sym.is_definition() || sym.address() == 0 {
            continue;
        }
        let Ok(name) = sym.name() else { continue };
        // Versioned dynamic names (`malloc@@GLIBC_2.2.5`) answer to their base name.
        let name = name.split('@').next().unwrap_or(name);
        if name.is_empty() || !seen.insert((name.to_string(), sym.address())) {
            continue;
        }
        symbols.push(UserSymbol {
            name: name.to_string(),
            demangled: demangle(name),
            address: sym.address(),
            size: sym.size(),
        });
    }
    symbols.sort_by(|a, b| a.name.cmp(&b.name).then(a.address.cmp(&b.address)));
    Ok(UserObject {
        symbols,
        segments: load_segments(&file),
    })
}

/// The `PT_LOAD` segments of a parsed ELF file.
pub fn load_segments(file: &object::File<'_>) -> Vec<Segment> {
    file.segments()
        .map(|s| Segment {
            vaddr: s.address(),
            memsz: s.size(),
            offset: s.file_range().0,
        })
        .collect()
}

/// The demangled form of a C++ (Itanium ABI) symbol name.
fn demangle(name: &str) -> Option<String> {
    if !name.starts_with("_Z") {
        return None;
    }
    cpp_demangle::Symbol::new(name)
        .ok()
        .and_then(|s| s.demangle(&cpp_demangle::DemangleOptions::default()).ok())
}

/// Resolves the binary of an attach point to an absolute path, or `None`.
pub fn resolve_binary(name: &str, pid: Option<u32>) -> Result<Option<String>, String> {
    if name.contains('/') {
        let p = Path::new(name);
        if !p.is_file() {
            return Ok(None);
        }
        let abs = std::fs::canonicalize(p).map_err(|e| format!("cannot resolve {name}: {e}"))?;
        return Ok(Some(abs.display().to_string()));
    }
    if let Some(pid) = pid {
        if let Some(found) = process_objects(pid)?
            .into_iter()
            .find(|p| library_matches(file_name(p), name))
        {
            return Ok(Some(found));
        }
    }
    if let Some(found) = ld_cache_lookup(name) {
        return Ok(Some(found));
    }
    for dir in STANDARD_DIRS {
        if let Some(found) = find_in_dir(Path::new(dir), name) {
            return Ok(Some(found));
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            let abs = std::fs::canonicalize(&candidate).unwrap_or(candidate);
            return Ok(Some(abs.display().to_string()));
        }
    }
    Ok(None)
}

/// The shared libraries `path` needs (`DT_NEEDED`), found as the dynamic
/// linker finds them: its `DT_RUNPATH`/`DT_RPATH` (with `$ORIGIN`), then
/// `/etc/ld.so.cache` and the standard directories. Unfound ones are left out.
pub fn linked_libraries(path: &str) -> Result<Vec<String>, String> {
    use object::read::elf::{Dyn, ElfFile64};
    let data = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let elf = ElfFile64::<object::Endianness>::parse(&*data)
        .map_err(|e| format!("{path} is not a 64-bit ELF file ({e})"))?;
    let endian = elf.endian();
    let sections = elf.elf_section_table();
    let Some((dyns, link)) = sections
        .dynamic(endian, elf.data())
        .map_err(|e| format!("cannot read the dynamic section of {path}: {e}"))?
    else {
        return Ok(Vec::new());
    };
    let strings = sections
        .strings(endian, elf.data(), link)
        .map_err(|e| format!("cannot read the dynamic strings of {path}: {e}"))?;
    let (mut needed, mut search) = (Vec::new(), Vec::new());
    for d in dyns {
        let text = || {
            d.string(endian, strings)
                .ok()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        };
        match d.tag32(endian) {
            Some(object::elf::DT_NEEDED) => needed.extend(text()),
            Some(object::elf::DT_RUNPATH | object::elf::DT_RPATH) => search.extend(text()),
            _ => {}
        }
    }
    let origin = Path::new(path).parent().unwrap_or(Path::new("/"));
    let dirs: Vec<PathBuf> = search
        .iter()
        .flat_map(|s| s.split(':'))
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d.replace("$ORIGIN", &origin.display().to_string())))
        .collect();
    Ok(needed
        .iter()
        .filter_map(|lib| {
            dirs.iter()
                .map(|d| d.join(lib))
                .find(|p| p.is_file())
                .and_then(|p| std::fs::canonicalize(p).ok())
                .map(|p| p.display().to_string())
                .or_else(|| ld_cache_lookup(lib))
                .or_else(|| {
                    STANDARD_DIRS
                        .iter()
                        .find_map(|d| find_in_dir(Path::new(d), lib))
                })
        })
        .collect())
}

/// The dynamic linker's trusted directories on x86-64 Debian and others.
const STANDARD_DIRS: [&str; 6] = [
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn find_in_dir(dir: &Path, name: &str) -> Option<String> {
    let mut hits: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && library_matches(p.file_name().and_then(|n| n.to_str()).unwrap_or(""), name)
        })
        .collect();
    // `libc.so.6` before `libc.so.6.0.1`: the shortest name is the soname.
    hits.sort_by_key(|p| p.as_os_str().len());
    let first = hits.into_iter().next()?;
    let abs = std::fs::canonicalize(&first).unwrap_or(first);
    Some(abs.display().to_string())
}

/// Looks `name` up in `/etc/ld.so.cache` (the "glibc-ld.so.cache1.1" format).
fn ld_cache_lookup(name: &str) -> Option<String> {
    let data = std::fs::read("/etc/ld.so.cache").ok()?;
    let found = parse_ld_cache(&data)
        .into_iter()
        .filter(|(soname, path, x86_64)| {
            *x86_64 && library_matches(soname, name) && Path::new(path).is_file()
        })
        .min_by_key(|(soname, _, _)| soname.len())?;
    let abs = std::fs::canonicalize(&found.1).unwrap_or_else(|_| PathBuf::from(&found.1));
    Some(abs.display().to_string())
}

/// The (soname, path, is-x86-64) entries of an ld.so.cache image.
fn parse_ld_cache(data: &[u8]) -> Vec<(String, String, bool)> {
    const MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
    const HEADER: usize = 48;
    const ENTRY: usize = 24;
    /// `FLAG_ELF_LIBC6 | FLAG_X8664_LIB64`.
    const X86_64_LIBC6: u32 = 0x0303;
    let Some(start) = data.windows(MAGIC.len()).position(|w| w == MAGIC) else {
        return Vec::new();
    };
    let table = &data[start..];
    let u32_at = |off: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            table.get(off..off + 4)?.try_into().ok()?,
        ))
    };
    let string_at = |off: u32| -> Option<String> {
        let bytes = table.get(off as usize..)?;
        let end = bytes.iter().position(|b| *b == 0)?;
        Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
    };
    let Some(count) = u32_at(MAGIC.len()) else {
        return Vec::new();
    };
    (0..count as usize)
        .filter_map(|i| {
            let at = HEADER + i * ENTRY;
            let flags = u32_at(at)?;
            let key = string_at(u32_at(at + 4)?)?;
            let value = string_at(u32_at(at + 8)?)?;
            Some((key, value, flags & 0xffff == X86_64_LIBC6))
        })
        .collect()
}

/// The ELF files mapped executable by process `pid`, from `/proc/PID/maps`.
pub fn process_objects(pid: u32) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_err(|e| format!("cannot read the memory map of process {pid}: {e}"))?;
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(perms), Some(path)) = (fields.get(1), fields.get(5)) else {
            continue;
        };
        if perms.contains('x') && path.starts_with('/') && !out.iter().any(|p| p == path) {
            out.push((*path).to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn short_library_names() {
        assert!(library_matches("libc.so.6", "libc"));
        assert!(library_matches("libc.so.6", "libc.so.6"));
        assert!(!library_matches("libcrypt.so.1", "libc"));
        assert!(!library_matches("libc", "libcap"));
    }

    #[test]
    fn reads_own_libc() {
        let Ok(Some(libc)) = resolve_binary("libc", None) else {
            panic!("libc should resolve on a glibc system");
        };
        assert!(file_name(&libc).starts_with("libc"), "{libc}");
        let obj = read_object(&libc).unwrap();
        let malloc = obj.symbols.iter().find(|s| s.name == "malloc").unwrap();
        assert!(obj.file_offset(malloc.address).is_some());
    }

    #[test]
    fn finds_linked_libraries() {
        let sh = resolve_binary("sh", None).unwrap().unwrap();
        let libs = linked_libraries(&sh).unwrap();
        assert!(
            libs.iter().any(|l| file_name(l).starts_with("libc.so")),
            "{libs:?}"
        );
    }

    #[test]
    fn ld_cache_has_x86_64_libc() {
        let data = std::fs::read("/etc/ld.so.cache").unwrap_or_default();
        if data.is_empty() {
            return;
        }
        let entries = parse_ld_cache(&data);
        assert!(
            entries.iter().any(|(k, _, x)| k == "libc.so.6" && *x),
            "{entries:?}"
        );
    }
}
