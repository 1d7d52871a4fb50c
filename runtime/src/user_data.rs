//! Finds any defined symbol of a user-space ELF file by name, data objects
//! included, for `uaddr("sym")` (the uprobe readers keep only functions).

use ferrotrace_compiler::user_space::UserSymbol;
use object::{Object, ObjectSymbol};

/// The defined symbol `name` of the ELF at `path` (`.symtab` first, then
/// `.dynsym`), or `None` when it has none.
pub fn find_symbol(path: &str, name: &str) -> Result<Option<UserSymbol>, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let file = object::File::parse(&*data)
        .map_err(|e| format!("{path} is not an ELF file ferrotrace can read ({e})"))?;
    let found = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.is_definition() && s.address() != 0)
        .find(|s| {
            s.name()
                .is_ok_and(|n| n.split('@').next().unwrap_or(n) == name)
        });
    Ok(found.map(|s| UserSymbol {
        name: name.to_string(),
        demangled: None,
        address: s.address(),
        size: s.size(),
    }))
}
