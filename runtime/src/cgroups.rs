//! cgroup v2 ids and paths, as bpftrace resolves them: a cgroup's id is the
//! inode number of its directory in a `cgroup2` mount (what
//! `bpf_get_current_cgroup_id` returns), so `cgroupid("PATH")` is a `stat`
//! of the directory and `cgroup_path(ID)` a walk of each mount for the
//! directory with that inode, printed `unified:/PATH` (several mounts are
//! joined by `,`). Paths found are cached per session and re-checked before
//! reuse, since ids can be reused after a cgroup is removed.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The mount points of every `cgroup2` filesystem, from /proc/mounts.
pub fn cgroup2_mounts() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (_, dir, fstype) = (words.next()?, words.next()?, words.next()?);
            (fstype == "cgroup2").then(|| PathBuf::from(unescape_mount(dir)))
        })
        .filter(|p| p.is_dir())
        .collect()
}

/// /proc/mounts writes spaces and a few other bytes as `\NNN` octal.
fn unescape_mount(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                out.push(char::from(c));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `cgroupid(path)`: the id of the cgroup v2 directory at `path`, `None`
/// when nothing is there.
pub fn cgroup_id(path: &str) -> Result<Option<u64>, String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("could not read {path}: {e}")),
    };
    if !meta.is_dir() || !is_cgroup2(Path::new(path)) {
        return Err(format!(
            "{path} is not a directory of a cgroup v2 filesystem (cgroup2 is mounted at {})",
            mounts_text()
        ));
    }
    Ok(Some(meta.ino()))
}

fn mounts_text() -> String {
    let mounts: Vec<String> = cgroup2_mounts()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if mounts.is_empty() {
        "no mount point".to_string()
    } else {
        mounts.join(", ")
    }
}

fn is_cgroup2(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated path and `buf` a zeroed statfs the
    // call fills in.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut buf) };
    // `CGROUP2_SUPER_MAGIC` is the `f_type` of a cgroup v2 filesystem.
    rc == 0 && buf.f_type == libc::CGROUP2_SUPER_MAGIC
}

/// `cgroup_path(id)` as printed: `unified:/PATH` per cgroup2 mount holding
/// the cgroup, joined by `,`; empty when no mount holds it.
pub fn cgroup_path(id: u64) -> String {
    let found: Vec<String> = cgroup2_mounts()
        .iter()
        .filter_map(|root| path_in(root, id))
        .map(|p| format!("unified:{p}"))
        .collect();
    found.join(",")
}

/// The path of the directory with inode `id` under `root`, relative to it
/// (`/` for the root itself).
fn path_in(root: &Path, id: u64) -> Option<String> {
    static CACHE: Mutex<Option<HashMap<(PathBuf, u64), PathBuf>>> = Mutex::new(None);
    let cached = CACHE
        .lock()
        .ok()
        .and_then(|c| c.as_ref()?.get(&(root.to_path_buf(), id)).cloned());
    let still_there = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.ino() == id);
    let full = match cached.filter(|p| still_there(p)) {
        Some(p) => p,
        None => {
            let p = find_dir(root, id)?;
            if let Ok(mut c) = CACHE.lock() {
                c.get_or_insert_with(HashMap::new)
                    .insert((root.to_path_buf(), id), p.clone());
            }
            p
        }
    };
    let rel = full.strip_prefix(root).ok()?;
    Some(format!("/{}", rel.display()))
}

/// Breadth-first search of `root` for the directory whose inode is `id`.
fn find_dir(root: &Path, id: u64) -> Option<PathBuf> {
    let mut queue = std::collections::VecDeque::from([root.to_path_buf()]);
    while let Some(dir) = queue.pop_front() {
        if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.ino() == id) {
            return Some(dir);
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                queue.push_back(entry.path());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(unescape_mount("/a\\040b"), "/a b");
        assert_eq!(unescape_mount("/plain"), "/plain");
    }
}
