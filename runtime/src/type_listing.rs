//! `ferrotrace -l 'struct NAME'` / `'union NAME'` / `'enum NAME'` (and
//! `-lv`): prints a kernel type from BTF as a C definition (an enum's
//! constants with their values), one member a line
//! with its type in ferrotrace's names (`uint32 __state;`, `int8 comm[16];`,
//! `uint32 flag : 1;`); anonymous members are expanded in place, as C
//! writes them. Also the typed parameters of a kernel function for
//! `-lv 'fentry:NAME'`.

use crate::btf::Btf;
use ferrotrace_compiler::ctypes::{CRecord, CType};

/// Whether a listing pattern names a C type rather than probes.
pub fn is_type_pattern(pattern: &str) -> bool {
    pattern.starts_with("struct ") || pattern.starts_with("union ") || pattern.starts_with("enum ")
}

/// `enum NAME { A = 0, ... };`, one constant a line.
fn enum_definition(btf: &Btf, name: &str) -> Result<String, String> {
    let members = btf.enum_members(name).ok_or_else(|| {
        format!("ERROR: the kernel's BTF has no `enum {name}`; check the spelling (e.g. `enum bpf_map_type`).")
    })?;
    let mut out = format!("enum {name} {{\n");
    for (constant, value) in members {
        out.push_str(&format!("\t{constant} = {value},\n"));
    }
    out.push_str("};\n");
    Ok(out)
}

/// The C definition of `struct NAME` / `union NAME`, or a sentence saying
/// why there is none.
pub fn definition(pattern: &str) -> Result<String, String> {
    let (kw, name) = pattern.split_once(' ').unwrap_or(("struct", pattern));
    let name = name.trim();
    let btf = Btf::vmlinux().map_err(|e| format!("ERROR: {e} Kernel types are read from BTF."))?;
    if kw == "enum" {
        return enum_definition(btf, name);
    }
    let rec = btf
        .record(name)
        .filter(|r| r.union == (kw == "union"))
        .ok_or_else(|| {
            format!("ERROR: the kernel's BTF has no `{kw} {name}`; check the spelling (types are listed by their C names, e.g. `struct task_struct`).")
        })?;
    let mut out = format!("{kw} {name} {{\n");
    members(btf, &rec, 1, &mut out);
    out.push_str("};\n");
    Ok(out)
}

/// The member lines of `rec`, indented `depth` tabs.
fn members(btf: &Btf, rec: &CRecord, depth: usize, out: &mut String) {
    let indent = "\t".repeat(depth);
    for f in &rec.fields {
        out.push_str(&indent);
        match (&f.ty, f.name.is_empty()) {
            (CType::Record { key, union, .. }, _) if key.starts_with('#') && depth < 8 => {
                let kw = if *union { "union" } else { "struct" };
                out.push_str(&format!("{kw} {{\n"));
                if let Some(inner) = btf.record(key) {
                    members(btf, &inner, depth + 1, out);
                }
                out.push_str(&indent);
                out.push('}');
                if !f.name.is_empty() {
                    out.push(' ');
                    out.push_str(&f.name);
                }
            }
            (ty, _) => out.push_str(&declaration(ty, &f.name)),
        }
        if f.bitfield_width > 0 {
            out.push_str(&format!(" : {}", f.bitfield_width));
        }
        out.push_str(";\n");
    }
}

/// `TYPE NAME` as C declares it: arrays after the name, pointers to
/// functions as `void *`.
pub fn declaration(ty: &CType, name: &str) -> String {
    let mut dims = String::new();
    let mut t = ty;
    while let CType::Array { elem, len } = t {
        dims.push_str(&format!("[{len}]"));
        t = elem;
    }
    let base = match t {
        CType::Ptr(inner) if matches!(**inner, CType::Opaque) => "void *".to_string(),
        other => other.to_string(),
    };
    let sep = if base.ends_with('*') { "" } else { " " };
    format!("{base}{sep}{name}{dims}")
}

/// `TYPE NAME` lines of a kernel function's parameters (for `-lv
/// 'fentry:NAME'`), empty when BTF does not describe it.
pub fn function_params(name: &str) -> Vec<String> {
    Btf::vmlinux()
        .ok()
        .and_then(|btf| btf.function_param_types(name))
        .unwrap_or_default()
        .into_iter()
        .map(|(arg, ty)| declaration(&ty, &arg))
        .collect()
}
