//! The C programs of the uprobe and USDT tests (`tests/fixtures/user/`),
//! built once per test process with `gcc` (and `<sys/sdt.h>` from
//! systemtap-sdt-dev) into a private temporary directory: `demo`, which
//! links `libdemolib.so` found through its `$ORIGIN` run path, and the C++
//! program `cppdemo` (built with `g++`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Paths of the built test programs.
#[derive(Debug)]
pub struct UserPrograms {
    pub dir: PathBuf,
    /// The executable.
    pub demo: PathBuf,
    /// Its shared library.
    pub lib: PathBuf,
    /// The C++ program.
    pub cpp: PathBuf,
}

impl UserPrograms {
    pub fn demo_str(&self) -> &str {
        self.demo.to_str().unwrap_or_default()
    }

    pub fn lib_str(&self) -> &str {
        self.lib.to_str().unwrap_or_default()
    }

    pub fn cpp_str(&self) -> &str {
        self.cpp.to_str().unwrap_or_default()
    }
}

/// Builds the programs on first use; panics with gcc's message on failure.
pub fn user_programs() -> &'static UserPrograms {
    static BUILT: OnceLock<UserPrograms> = OnceLock::new();
    BUILT.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/user");
        let dir = std::env::temp_dir().join(format!("ferrotrace-user-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        let lib = dir.join("libdemolib.so");
        let demo = dir.join("demo");
        gcc(&[
            "-O0",
            "-shared",
            "-fPIC",
            "-o",
            path(&lib),
            path(&src.join("demolib.c")),
        ]);
        gcc(&[
            "-O0",
            "-o",
            path(&demo),
            path(&src.join("demo.c")),
            "-L",
            path(&dir),
            "-ldemolib",
            "-Wl,-rpath,$ORIGIN",
        ]);
        let cpp = dir.join("cppdemo");
        compile(
            "g++",
            &["-O0", "-o", path(&cpp), path(&src.join("cppdemo.cpp"))],
        );
        UserPrograms {
            dir,
            demo,
            lib,
            cpp,
        }
    })
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// Runs gcc with `args`; panics with its message on failure.
pub fn gcc(args: &[&str]) {
    compile("gcc", args);
}

fn compile(compiler: &str, args: &[&str]) {
    let out = Command::new(compiler).args(args).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "{compiler} {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("cannot run {compiler} (scripts/setup installs it): {e}"),
    }
}
