//! The text of a `ValueKind::Named` value: an integer recorded in BPF and
//! printed as its name in a table (`syscall_name`, `signal_name`,
//! `strerror`, `username`). Unknown numbers print as the number itself.

use std::collections::HashMap;
use std::sync::OnceLock;

use ferrotrace_compiler::manifest::NameTable;
use ferrotrace_stdlib::signals::signal_name;
use ferrotrace_stdlib::syscalls::syscall_name;

/// `n`'s name in `table`.
pub fn name_of(table: NameTable, n: u64) -> String {
    let found = match table {
        NameTable::Syscall => syscall_name(n).map(str::to_string),
        NameTable::Signal => signal_name(n).map(|s| format!("SIG{s}")),
        NameTable::Errno => error_text(n),
        NameTable::User => user_name(n),
        NameTable::CgroupPath => return crate::cgroups::cgroup_path(n),
    };
    found.unwrap_or_else(|| n.to_string())
}

/// The C library's description of errno `n`, without Rust's
/// ` (os error N)` suffix.
fn error_text(n: u64) -> Option<String> {
    let code = i32::try_from(n).ok()?;
    let text = std::io::Error::from_raw_os_error(code).to_string();
    let bare = text.strip_suffix(&format!(" (os error {code})"))?;
    (!bare.starts_with("Unknown error")).then(|| bare.to_string())
}

/// The name of user `uid` in /etc/passwd, read once per session.
fn user_name(uid: u64) -> Option<String> {
    static USERS: OnceLock<HashMap<u64, String>> = OnceLock::new();
    let users = USERS.get_or_init(|| {
        let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        parse_passwd(&text)
    });
    users.get(&uid).cloned()
}

/// `uid → name` from passwd(5) lines `name:x:uid:gid:...`; the first
/// name of a uid wins.
fn parse_passwd(text: &str) -> HashMap<u64, String> {
    let mut users = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let Ok(uid) = uid.parse::<u64>() {
            users.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_unknown_numbers() {
        assert_eq!(name_of(NameTable::Syscall, 0), "read");
        assert_eq!(name_of(NameTable::Signal, 9), "SIGKILL");
        assert_eq!(name_of(NameTable::Signal, 0), "0");
        assert_eq!(name_of(NameTable::Errno, 2), "No such file or directory");
        assert_eq!(name_of(NameTable::Errno, 99999), "99999");
    }

    #[test]
    fn passwd_lines() {
        let users = parse_passwd("root:x:0:0:root:/root:/bin/sh\n# x\nbad\nroot2:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n");
        assert_eq!(users.get(&0).map(String::as_str), Some("root"));
        assert_eq!(users.get(&65534).map(String::as_str), Some("nobody"));
        assert_eq!(users.len(), 2);
    }
}
