//! A normalized, deterministic text summary of a compiled artifact for
//! snapshot tests: the ELF is parsed back with aya-obj (as the runtime
//! does), its map references are relocated to made-up descriptors so each
//! program's map loads can be attributed to map names, and the result is
//! printed in sorted order — each program (function, section kind,
//! instruction count, map relocations), each map (name, type, key and value
//! size, max entries), the license — followed by the manifest as pretty
//! JSON. No raw LLVM text, so LLVM upgrades that keep the shape keep the
//! snapshot.

use aya_obj::Object;
use ferrotrace_compiler::manifest::Artifact;
use std::collections::BTreeMap;
use std::fmt::Write;

/// `BPF_LD | BPF_IMM | BPF_DW`: the first slot of a 64-bit immediate load.
const LD_IMM64: u8 = 0x18;
/// `src_reg` of an `ld_imm64` that loads a map by file descriptor.
const PSEUDO_MAP_FD: u8 = 1;
/// The fake descriptor of the first map (in name order).
const FIRST_FD: i32 = 1000;

/// Summarizes `artifact`; parse or relocation failures are part of the text.
pub fn summarize(artifact: &Artifact) -> String {
    let mut out = String::new();
    match summarize_elf(artifact, &mut out) {
        Ok(()) => {}
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
        }
    }
    out.push_str("manifest:\n");
    match serde_json::to_string_pretty(&artifact.manifest) {
        Ok(json) => out.push_str(&json),
        Err(e) => {
            let _ = write!(out, "error: the manifest does not serialize: {e}");
        }
    }
    out.push('\n');
    out
}

fn summarize_elf(artifact: &Artifact, out: &mut String) -> Result<(), String> {
    let mut obj =
        Object::parse(&artifact.elf).map_err(|e| format!("the ELF does not parse: {e}"))?;
    let maps: BTreeMap<String, aya_obj::Map> = obj
        .maps
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let fds: BTreeMap<i32, &str> = maps
        .keys()
        .enumerate()
        .map(|(i, n)| (FIRST_FD + i as i32, n.as_str()))
        .collect();
    // Every section holding functions, as the runtime passes it, so map
    // references in `.text` subprograms are relocated too.
    let text_sections: std::collections::HashSet<usize> =
        obj.functions.keys().map(|(section, _)| *section).collect();
    obj.relocate_maps(
        maps.iter()
            .enumerate()
            .map(|(i, (n, m))| (n.as_str(), FIRST_FD + i as i32, m)),
        &text_sections,
    )
    .map_err(|e| format!("map relocation failed: {e}"))?;

    let _ = writeln!(out, "license: {}", obj.license.to_string_lossy());
    let programs: BTreeMap<&String, &aya_obj::Program> = obj.programs.iter().collect();
    for (name, prog) in programs {
        let _ = writeln!(out, "program {name}: {:?}", prog.section);
        let Some(func) = obj.functions.get(&prog.function_key()) else {
            let _ = writeln!(out, "  error: no function for this program");
            continue;
        };
        describe_function(out, "function", func, &fds);
    }
    // Functions called from programs (BPF-to-BPF) rather than loaded alone.
    let program_keys: std::collections::HashSet<_> =
        obj.programs.values().map(|p| p.function_key()).collect();
    let subprograms: BTreeMap<&String, &aya_obj::Function> = obj
        .functions
        .iter()
        .filter(|(key, _)| !program_keys.contains(key))
        .map(|(_, f)| (&f.name, f))
        .collect();
    for func in subprograms.values() {
        describe_function(out, "subprogram", func, &fds);
    }
    for (name, map) in &maps {
        let _ = writeln!(
            out,
            "map {name}: type {} key {} value {} max_entries {}",
            map.map_type(),
            map.key_size(),
            map.value_size(),
            map.max_entries()
        );
    }
    Ok(())
}

/// One function's instruction count and map references by map name.
fn describe_function(
    out: &mut String,
    what: &str,
    func: &aya_obj::Function,
    fds: &BTreeMap<i32, &str>,
) {
    let indent = if what == "function" { "  " } else { "" };
    let _ = writeln!(
        out,
        "{indent}{what} {}: {} instructions",
        func.name,
        func.instructions.len()
    );
    let mut targets: BTreeMap<&str, usize> = BTreeMap::new();
    for insn in &func.instructions {
        if insn.code == LD_IMM64 && insn.src_reg() == PSEUDO_MAP_FD {
            let target = fds.get(&insn.imm).copied().unwrap_or("<unknown fd>");
            *targets.entry(target).or_default() += 1;
        }
    }
    let total: usize = targets.values().sum();
    let list: Vec<String> = targets.iter().map(|(m, n)| format!("{m} x{n}")).collect();
    let _ = writeln!(out, "  map relocations: {total} ({})", list.join(", "));
}

#[cfg(test)]
mod tests {
    use super::summarize;
    use crate::stages::check;
    use ferrotrace_compiler::{codegen, SourceFile};

    #[test]
    fn summary_lists_programs_maps_and_manifest() {
        let source = SourceFile::new(
            "stdin",
            "BEGIN { @n[comm] = count(); printf(\"%d\\n\", pid); exit(); }\ninterval:s:1 { @s = sum(3); }",
        );
        let (program, diags) = check(&source);
        let Some(program) = program else {
            panic!("the sample does not check: {diags:?}");
        };
        let artifact = match codegen::generate(&program, &source) {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        let text = summarize(&artifact);
        assert!(!text.contains("error:"), "{text}");
        for needle in [
            "license: GPL",
            "program p0: RawTracePoint",
            "program p1: PerfEvent",
            "map m0: type 5",
            "map events: type 27",
            "map scratch: type 6",
            "map lost: type 6",
            "\"version\": 2",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert_eq!(
            text,
            summarize(&artifact),
            "the summary must be deterministic"
        );
    }
}
