//! Finding (and, when needed, mounting) tracefs, and reading tracepoint facts.
//!
//! tracefs is not mounted on a fresh machine, so `tracefs_root` looks for an
//! existing tracefs mount in `/proc/self/mounts` and, when there is none,
//! mounts it at `/sys/kernel/tracing` (ferrotrace runs as root). The found
//! root is cached for the life of the process. Tracepoint names are checked
//! before they are turned into paths, so a name can never escape tracefs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::bpf::BpfError;

/// Where ferrotrace mounts tracefs when it is not mounted anywhere.
const DEFAULT_MOUNT: &str = "/sys/kernel/tracing";

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Returns the tracefs mount point, mounting tracefs at /sys/kernel/tracing
/// when it is not mounted (we run as root).
pub fn tracefs_root() -> Result<PathBuf, BpfError> {
    if let Some(root) = ROOT.get() {
        return Ok(root.clone());
    }
    let root = match find_mounted() {
        Some(root) => root,
        None => {
            mount_default()?;
            find_mounted().unwrap_or_else(|| PathBuf::from(DEFAULT_MOUNT))
        }
    };
    Ok(ROOT.get_or_init(|| root).clone())
}

/// The mount point of a tracefs that has an `events` directory, preferring
/// the standard location.
fn find_mounted() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    let mut found: Vec<PathBuf> = mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _device = fields.next()?;
            let dir = fields.next()?;
            let fstype = fields.next()?;
            (fstype == "tracefs").then(|| PathBuf::from(unescape_mount_path(dir)))
        })
        .filter(|dir| dir.join("events").is_dir())
        .collect();
    found.sort_by_key(|dir| dir != Path::new(DEFAULT_MOUNT));
    found.into_iter().next()
}

/// `/proc/self/mounts` escapes spaces and a few other bytes as `\ooo`.
fn unescape_mount_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && path.is_char_boundary(i + 4) {
            if let Ok(v) = u8::from_str_radix(&path[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mount_default() -> Result<(), BpfError> {
    let target = std::ffi::CString::new(DEFAULT_MOUNT).map_err(|_| {
        BpfError::Tracefs("internal error: the tracefs mount point is not a valid path.".into())
    })?;
    let fstype = c"tracefs";
    // SAFETY: all pointers are valid NUL-terminated strings that outlive the
    // call; `data` may be null for tracefs.
    let ret = unsafe {
        libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let errno = crate::bpf::error::last_errno();
    if errno == libc::EBUSY {
        // Someone mounted it concurrently.
        return Ok(());
    }
    Err(BpfError::Tracefs(
        if crate::bpf::error::is_permission(errno) {
            format!(
            "tracefs is not mounted and ferrotrace is not allowed to mount it at {DEFAULT_MOUNT}; \
             run ferrotrace as root, or mount it yourself with `mount -t tracefs tracefs {DEFAULT_MOUNT}`."
        )
        } else if errno == libc::ENODEV {
            "this kernel has no tracefs (CONFIG_TRACING is off), so tracepoints cannot be used."
                .to_string()
        } else {
            format!(
                "tracefs is not mounted and mounting it at {DEFAULT_MOUNT} failed ({}); \
             mount it with `mount -t tracefs tracefs {DEFAULT_MOUNT}` and try again.",
                crate::bpf::error::errno_text(errno)
            )
        },
    ))
}

/// True when `part` is a plausible tracepoint category or event name, so it
/// can be joined to a path safely.
fn valid_component(part: &str) -> bool {
    !part.is_empty()
        && part != "."
        && part != ".."
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// The tracefs directory of `category:name`, or `None` when the tracepoint
/// does not exist (or the name cannot name one).
pub fn tracepoint_dir(category: &str, name: &str) -> Result<Option<PathBuf>, BpfError> {
    if !valid_component(category) || !valid_component(name) {
        return Ok(None);
    }
    let dir = tracefs_root()?.join("events").join(category).join(name);
    Ok(dir.is_dir().then_some(dir))
}

/// The perf event id of `category:name` (the number in its `id` file), or
/// `None` when the tracepoint does not exist.
pub fn tracepoint_id(category: &str, name: &str) -> Result<Option<u64>, BpfError> {
    let Some(dir) = tracepoint_dir(category, name)? else {
        return Ok(None);
    };
    let path = dir.join("id");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(BpfError::Tracefs(format!(
                "could not read {} ({e}); check that tracefs is mounted and readable.",
                path.display()
            )))
        }
    };
    text.trim().parse().map(Some).map_err(|_| {
        BpfError::Tracefs(format!(
            "{} does not hold a tracepoint id; is tracefs mounted correctly?",
            path.display()
        ))
    })
}

/// Every tracepoint as `(category, name)`, read from the directories under
/// `<tracefs>/events` with readdir alone (no file is opened), unsorted.
pub fn tracepoints() -> Result<Vec<(String, String)>, BpfError> {
    let events = tracefs_root()?.join("events");
    let read_dir = |dir: &std::path::Path| {
        std::fs::read_dir(dir).map_err(|e| {
            BpfError::Tracefs(format!(
                "could not list {} ({e}); run ferrotrace as root so it can read tracefs.",
                dir.display()
            ))
        })
    };
    let subdirs = |dir: &std::path::Path| -> Result<Vec<String>, BpfError> {
        Ok(read_dir(dir)?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect())
    };
    let mut out = Vec::new();
    for category in subdirs(&events)? {
        for name in subdirs(&events.join(&category))? {
            out.push((category.clone(), name));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_or_mounts_tracefs() {
        let root = match tracefs_root() {
            Ok(root) => root,
            Err(e) => {
                assert!(std::env::var("CI").as_deref() != Ok("true"), "{e}");
                eprintln!("skipping: {e}");
                return;
            }
        };
        assert!(root.join("events").is_dir(), "{}", root.display());
        assert!(tracepoint_id("syscalls", "sys_enter_getpid")
            .unwrap()
            .is_some());
        assert_eq!(tracepoint_id("syscalls", "nope").unwrap(), None);
        assert_eq!(tracepoint_id("..", "..").unwrap(), None);
        assert_eq!(tracepoint_id("syscalls", "a/b").unwrap(), None);
    }

    #[test]
    fn unescapes_mount_paths() {
        assert_eq!(unescape_mount_path("/a\\040b"), "/a b");
        assert_eq!(
            unescape_mount_path("/sys/kernel/tracing"),
            "/sys/kernel/tracing"
        );
        assert_eq!(unescape_mount_path("/x\\"), "/x\\");
    }
}
