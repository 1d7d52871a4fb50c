//! Renders documentation from the catalogue, as pure functions of its
//! tables: the whole of `docs/hooks.md`, the generated sections of
//! `docs/language.md` (builtins, functions, probe kinds), and the plain-text
//! entry `ferrotrace --explain-hook KIND` prints.
//!
//! Generated sections sit between `<!-- generated:NAME -->` and
//! `<!-- end generated:NAME -->` markers in a hand-written file; `splice`
//! replaces what is between them, so prose and generated tables live in one
//! document and a test can tell when the committed file is stale.

use crate::builtins::{ValueType, BUILTINS};
use crate::functions::FUNCTIONS;
use crate::hooks::HookGuide;
use crate::probes::{ProbeKind, ProbeKindInfo, PROBE_KINDS};
use std::fmt::Write;

/// The command that rewrites every generated document, quoted in their headers.
pub const REGENERATE: &str = "UPDATE_DOCS=1 cargo test -p ferrotrace-tests --test docs";

/// The plain-text guide entry of one kind, wrapped for a terminal.
pub fn hook_text(kind: ProbeKind) -> String {
    let info = kind.info();
    let mut out = String::new();
    let _ = writeln!(out, "{}", title_line(info));
    let _ = writeln!(out, "  {}", info.shape);
    out.push('\n');
    wrap(&mut out, info.explain, "");
    if let Some(g) = kind.guide() {
        for (heading, text) in guide_paragraphs(g) {
            let _ = writeln!(out, "\n{heading}:");
            wrap(&mut out, &text.replace('`', ""), "  ");
        }
        // The one-liner stays on one line so it can be copied.
        let _ = writeln!(out, "\nTry:\n  {}", g.try_it);
    }
    out
}

/// The whole of `docs/hooks.md`.
pub fn hooks_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Hooks: where a probe attaches, and what it costs\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from stdlib/src/hooks.rs and stdlib/src/probes.rs; do not edit. \
         Regenerate with `{REGENERATE}`. -->\n"
    );
    out.push_str(
        "An eBPF program is a small function the kernel runs when something happens. \
         It is checked by the kernel's *verifier* (it must terminate and may only touch \
         memory it is allowed to), compiled to machine code, and then *attached* to a \
         hook: a place in the kernel or in a program where the kernel calls it. Every \
         probe in a ferrotrace script names one hook, like \
         `tracepoint:syscalls:sys_enter_openat`: the part before the first colon is the \
         hook's *kind*. This guide explains each kind: what it is in the kernel, when it \
         fires, what the program can see, what it costs per event, which kernel options \
         it needs, how to find names to attach to, and a one-liner to try.\n\n\
         Run `ferrotrace --explain-hook KIND` for one entry in the terminal, and \
         `ferrotrace --explain -e 'PROGRAM'` to see what a script attaches to, which maps \
         it creates and the eBPF instructions each line became.\n\n\
         Kinds marked *not yet supported* are recognised by the parser but not yet \
         compiled by ferrotrace; their entries describe the kernel mechanism.\n\n",
    );
    out.push_str("| kind | aliases | attach point | supported |\n| --- | --- | --- | --- |\n");
    for info in PROBE_KINDS {
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | `{}` | {} |",
            info.name,
            info.name,
            spellings(info),
            info.shape.replace('|', "\\|"),
            if info.implemented { "yes" } else { "not yet" }
        );
    }
    for info in PROBE_KINDS {
        let _ = writeln!(out, "\n## {}\n", info.name);
        let _ = writeln!(
            out,
            "`{}`{}{}\n",
            info.shape,
            if spellings(info) == "—" {
                String::new()
            } else {
                format!(" · also spelled {}", spellings(info))
            },
            if info.implemented {
                ""
            } else {
                " · **not yet supported by ferrotrace**"
            }
        );
        let _ = writeln!(out, "{}", info.explain);
        if let Some(g) = info.kind.guide() {
            for (heading, text) in guide_paragraphs(g) {
                let _ = writeln!(out, "\n**{heading}.** {text}");
            }
            let _ = writeln!(out, "\n**Try:**\n\n```sh\n{}\n```", g.try_it);
        }
    }
    out
}

/// The generated sections of `docs/language.md`, by marker name.
pub fn language_sections() -> Vec<(&'static str, String)> {
    vec![
        ("builtins", builtins_table()),
        ("functions", functions_table()),
        ("probe-kinds", probe_kinds_table()),
    ]
}

/// The generated section of `docs/migrating-from-bpftrace.md`: which probe
/// kinds the catalogue does not yet mark as implemented, and which functions
/// exist at all.
pub fn migrating_sections() -> Vec<(&'static str, String)> {
    let mut kinds = String::new();
    for info in PROBE_KINDS.iter().filter(|i| !i.implemented) {
        let _ = writeln!(kinds, "- `{}` (`{}`)", info.name, info.shape);
    }
    if kinds.is_empty() {
        kinds.push_str("- none: every probe kind of the catalogue is implemented.\n");
    }
    let names: Vec<String> = FUNCTIONS.iter().map(|f| format!("`{}`", f.name)).collect();
    let functions = format!(
        "ferrotrace knows these functions: {}. A call of any other bpftrace function \
         is a compile error (E0203) naming the closest known one.\n",
        names.join(", ")
    );
    vec![("unsupported-kinds", kinds), ("known-functions", functions)]
}

/// Replaces the body of every `<!-- generated:NAME -->` section of `doc`
/// with its generated text. Fails when a section has no markers, so a
/// renamed or deleted marker is noticed.
pub fn splice(doc: &str, sections: &[(&str, String)]) -> Result<String, String> {
    let mut out = doc.to_string();
    for (name, body) in sections {
        let begin = format!("<!-- generated:{name} -->\n");
        let end = format!("<!-- end generated:{name} -->");
        let start = out
            .find(&begin)
            .map(|i| i + begin.len())
            .ok_or_else(|| format!("the document has no `{}` marker", begin.trim_end()))?;
        let stop = out[start..]
            .find(&end)
            .map(|i| start + i)
            .ok_or_else(|| format!("the document has no `{end}` marker"))?;
        out.replace_range(start..stop, body);
    }
    Ok(out)
}

fn builtins_table() -> String {
    let mut out = String::from("| builtin | type | meaning |\n| --- | --- | --- |\n");
    for b in BUILTINS {
        let _ = writeln!(out, "| `{}` | {} | {} |", b.name, value_type(b.ty), b.doc);
    }
    out
}

fn functions_table() -> String {
    let mut out = String::from("| function | kind | meaning |\n| --- | --- | --- |\n");
    for f in FUNCTIONS {
        let mut kind = Vec::new();
        if f.aggregation {
            kind.push("aggregation");
        }
        if f.unsafe_ {
            kind.push("unsafe");
        }
        let kind = if kind.is_empty() {
            "call".to_string()
        } else {
            kind.join(", ")
        };
        let _ = writeln!(
            out,
            "| `{}` | {kind} | {} |",
            f.signature.replace('|', "\\|"),
            f.doc
        );
    }
    out
}

fn probe_kinds_table() -> String {
    let mut out = String::from(
        "| kind | aliases | attach point | context | supported |\n| --- | --- | --- | --- | --- |\n",
    );
    for info in PROBE_KINDS {
        let _ = writeln!(
            out,
            "| [`{}`](hooks.md#{}) | {} | `{}` | {} | {} |",
            info.name,
            info.name,
            spellings(info),
            info.shape.replace('|', "\\|"),
            info.context.replace('|', "\\|"),
            if info.implemented { "yes" } else { "not yet" }
        );
    }
    out
}

fn value_type(ty: ValueType) -> String {
    match ty {
        ValueType::U32 => "uint32".to_string(),
        ValueType::U64 => "uint64".to_string(),
        ValueType::I64 => "int64".to_string(),
        ValueType::Str(n) => format!("string[{n}]"),
        ValueType::KStack => "kstack".to_string(),
        ValueType::UStack => "ustack".to_string(),
        ValueType::Username => "string".to_string(),
        ValueType::U8 => "uint8".to_string(),
        ValueType::Bool => "bool".to_string(),
    }
}

/// Aliases and deprecated spellings, as a Markdown list (or a dash).
fn spellings(info: &ProbeKindInfo) -> String {
    let mut all: Vec<String> = info.aliases.iter().map(|a| format!("`{a}`")).collect();
    all.extend(
        info.deprecated
            .iter()
            .map(|d| format!("`{d}` (deprecated)")),
    );
    if all.is_empty() {
        "—".to_string()
    } else {
        all.join(", ")
    }
}

fn title_line(info: &ProbeKindInfo) -> String {
    let mut line = info.name.to_string();
    let mut other: Vec<&str> = info.aliases.to_vec();
    other.extend(info.deprecated.iter().copied());
    if !other.is_empty() {
        let _ = write!(line, " (also {})", other.join(", "));
    }
    if !info.implemented {
        line.push_str(" — not yet supported by ferrotrace");
    }
    line
}

/// The guide's headed paragraphs, in reading order.
fn guide_paragraphs(g: &HookGuide) -> Vec<(&'static str, String)> {
    vec![
        ("In the kernel", g.kernel.to_string()),
        ("When it fires", g.fires.to_string()),
        ("What the program sees", g.context.to_string()),
        ("Cost per event", g.cost.to_string()),
        (
            "Kernel configuration",
            format!("`{}`", g.config.join("`, `")),
        ),
        ("Listing targets", g.list.to_string()),
    ]
}

/// Appends `text` wrapped at 78 columns, each line starting with `indent`.
/// A word longer than a line (a one-liner) gets a line of its own.
pub fn wrap(out: &mut String, text: &str, indent: &str) {
    const WIDTH: usize = 78;
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > WIDTH {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_between_markers() {
        let doc = "intro\n<!-- generated:a -->\nold\n<!-- end generated:a -->\nouter\n";
        let out = splice(doc, &[("a", "new\n".to_string())]);
        assert_eq!(
            out.as_deref(),
            Ok("intro\n<!-- generated:a -->\nnew\n<!-- end generated:a -->\nouter\n")
        );
        assert!(splice(doc, &[("b", String::new())]).is_err());
    }

    #[test]
    fn every_kind_is_in_the_guide_and_the_tables() {
        let hooks = hooks_markdown();
        let tables: String = language_sections().into_iter().map(|(_, t)| t).collect();
        for info in PROBE_KINDS {
            assert!(hooks.contains(&format!("\n## {}\n", info.name)));
            assert!(tables.contains(&format!("[`{}`]", info.name)));
            assert!(hook_text(info.kind).starts_with(info.name));
        }
        for b in BUILTINS {
            assert!(tables.contains(&format!("`{}`", b.name)));
        }
    }

    #[test]
    fn wrapping_keeps_every_word() {
        let mut out = String::new();
        let text = "word ".repeat(40);
        wrap(&mut out, &text, "  ");
        assert!(out.lines().all(|l| l.len() <= 78));
        assert_eq!(out.split_whitespace().count(), 40);
    }
}
