//! The config keys of issue 5 taking effect against the real kernel, each
//! from the `config` block and from its `BPFTRACE_*` variable (which wins):
//! `max_cat_bytes` cuts `cat()` output, `perf_rb_pages` sizes the ring
//! buffer (read back from ferrotrace's own map fd in /proc), `max_probes`
//! and `max_bpf_progs` refuse oversized scripts with bpftrace's words,
//! `str_trunc_trailer` marks strings `str()` cut at `max_strlen`,
//! `stack_mode` sets the default stack format, `license` reaches the kernel,
//! and `cpp_demangle = false` leaves C++ names mangled. Also `-k`'s
//! warnings for missing map keys, and the `-c` command held under ptrace
//! after its exec (or before it, with a warning, when ptrace is refused).

use ferrotrace_tests::harness::{binary, kernel_available};
use ferrotrace_tests::user_programs::gcc;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs ferrotrace with `env` set, to completion (without cargo's
/// `LD_LIBRARY_PATH`, so a `-c` command loads its libraries as usual).
fn run_env(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(binary())
        .env_remove("LD_LIBRARY_PATH")
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run ferrotrace: {e}"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn first_line(o: &Output) -> String {
    stdout(o).lines().next().unwrap_or_default().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A file of this test process with `text` in it.
fn file_with(tag: &str, text: &str) -> String {
    let path = format!("/tmp/ferrotrace-e2e-config-{tag}-{}", std::process::id());
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {path}: {e}"));
    path
}

#[test]
fn max_cat_bytes_cuts_cat_output_and_the_environment_wins() {
    if !kernel_available() {
        return;
    }
    let path = file_with("cat", "hello world\n");
    let script = format!(
        "config = {{ max_cat_bytes = 5 }} BEGIN {{ cat(\"{path}\"); printf(\"|\\n\"); exit(); }}"
    );
    let o = run_env(&[], &["-e", &script]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "hello|\n\n\n");
    let o = run_env(&[("BPFTRACE_MAX_CAT_BYTES", "3")], &["-e", &script]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "hel|\n\n\n");
    // The default (10240) prints the whole file.
    let whole = format!("BEGIN {{ cat(\"{path}\"); printf(\"|\\n\"); exit(); }}");
    let o = run_env(&[], &["-e", &whole]);
    assert_eq!(stdout(&o), "hello world\n|\n\n\n");
    let _ = std::fs::remove_file(&path);
}

/// The possible CPUs, counted from /sys like the kernel info does.
fn possible_cpus() -> u64 {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
    text.trim()
        .split(',')
        .map(|r| match r.split_once('-') {
            Some((a, b)) => b.parse::<u64>().unwrap_or(0) - a.parse::<u64>().unwrap_or(0) + 1,
            None => 1,
        })
        .sum::<u64>()
        .max(1)
}

/// The `max_entries` of the ring buffer map (type 27) ferrotrace `pid`
/// holds open, read from its fdinfo while it runs.
fn ringbuf_max_entries(pid: u32) -> Option<u64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) {
            for entry in dir.flatten() {
                let info = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let field = |name: &str| {
                    info.lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim().to_string())
                };
                if field("map_type:").as_deref() == Some("27") {
                    return field("max_entries:").and_then(|v| v.parse().ok());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn ringbuf_size_of(env: &[(&str, &str)], script: &str) -> Option<u64> {
    let mut child = Command::new(binary())
        .envs(env.iter().copied())
        .args(["-e", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start ferrotrace: {e}"));
    let size = ringbuf_max_entries(child.id());
    let _ = child.wait();
    size
}

#[test]
fn perf_rb_pages_sizes_the_ring_buffer_per_cpu() {
    if !kernel_available() {
        return;
    }
    let pow2 = |pages: u64| (pages * 4096 * possible_cpus()).next_power_of_two();
    let script = "config = { perf_rb_pages = 8 } interval:ms:1500 { exit(); }";
    assert_eq!(ringbuf_size_of(&[], script), Some(pow2(8)));
    assert_eq!(
        ringbuf_size_of(&[("BPFTRACE_PERF_RB_PAGES", "32")], script),
        Some(pow2(32))
    );
    // Unset, ferrotrace keeps its 1 MiB ring buffer.
    assert_eq!(
        ringbuf_size_of(&[], "interval:ms:1500 { exit(); }"),
        Some(1 << 20)
    );
}

#[test]
fn max_probes_refuses_before_attaching() {
    if !kernel_available() {
        return;
    }
    let script = "config = { max_probes = 5 } BEGIN { exit(); } END { }";
    let o = run_env(&[("BPFTRACE_MAX_PROBES", "1")], &["-e", script]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    assert_eq!(
        stderr(&o),
        "ERROR: Can't attach to 2 probes because it exceeds the current limit of 1 probes.\n\
         You can increase the limit through the BPFTRACE_MAX_PROBES environment variable, \
         but BE CAREFUL since a high number of probes attached can cause your system to crash.\n"
    );
    let o = run_env(&[], &["-e", script]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn max_bpf_progs_from_the_environment_is_a_compile_error() {
    let o = run_env(
        &[("BPFTRACE_MAX_BPF_PROGS", "1")],
        &["-e", "BEGIN { } END { }"],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("error[E0441]: Your program is trying to generate more than 2 BPF programs, which exceeds the current limit of 1"),
        "{err}"
    );
    assert!(
        err.contains("help: You can increase the limit through the BPFTRACE_MAX_BPF_PROGS environment variable."),
        "{err}"
    );
}

/// The first file the `-c` command opens (the dynamic loader's cache);
/// events already in flight when `exit()` runs may print more lines.
const FIRST_OPEN: &str = "tracepoint:syscalls:sys_enter_openat /pid == cpid/ \
                          { printf(\"P: %s\\n\", str(args.filename)); exit(); }";

#[test]
fn str_trunc_trailer_marks_strings_cut_at_max_strlen() {
    if !kernel_available() {
        return;
    }
    let script =
        format!("config = {{ max_strlen = 5; str_trunc_trailer = \"_xxx\" }} {FIRST_OPEN}");
    let cmd = ["-c", "/bin/cat /dev/null"];
    let o = run_env(&[], &[&["-e", script.as_str()][..], &cmd].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Five bytes of the path, then the trailer (bpftrace's own runtime
    // test expects `P: /...._xxx`).
    assert_eq!(first_line(&o), "P: /etc/_xxx");
    // The environment wins over the script.
    let o = run_env(
        &[("BPFTRACE_STR_TRUNC_TRAILER", "..")],
        &[&["-e", script.as_str()][..], &cmd].concat(),
    );
    assert_eq!(first_line(&o), "P: /etc/..");
    // A string that fits is printed as it is.
    let o = run_env(&[], &[&["-e", FIRST_OPEN][..], &cmd].concat());
    assert_eq!(first_line(&o), "P: /etc/ld.so.cache");
}

#[test]
fn stack_mode_sets_the_default_stack_format() {
    if !kernel_available() {
        return;
    }
    let o = run_env(
        &[],
        &[
            "-e",
            "config = { stack_mode = raw } BEGIN { print(kstack); exit(); }",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let frames: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    assert!(!frames.is_empty(), "{out:?}");
    for f in &frames {
        assert!(
            f.len() == 16 && f.chars().all(|c| c.is_ascii_hexdigit()),
            "raw frames are bare addresses: {out:?}"
        );
    }
    // The environment wins: perf mode prints a tab, address and symbol.
    let o = run_env(
        &[("BPFTRACE_STACK_MODE", "perf")],
        &[
            "-e",
            "config = { stack_mode = raw } BEGIN { print(kstack); exit(); }",
        ],
    );
    let out = stdout(&o);
    assert!(
        out.lines().any(|l| l.starts_with('\t') && l.contains(' ')),
        "{out:?}"
    );
}

#[test]
fn license_reaches_the_kernel() {
    if !kernel_available() {
        return;
    }
    let script = |license: &str| format!("config = {{ license = \"{license}\" }} {FIRST_OPEN}");
    let cmd = ["-c", "/bin/cat /dev/null"];
    let o = run_env(
        &[],
        &[&["-e", script("Proprietary").as_str()][..], &cmd].concat(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "ERROR: the kernel refused to load probe tracepoint:syscalls:sys_enter_openat: \
         it calls bpf_probe_read_kernel, which only programs with a GPL-compatible license may call, \
         and the script's `license` config is not GPL-compatible; use `config = { license = \"GPL\" }` \
         (the default) or a dual license such as \"Dual BSD/GPL\".\n"
    );
    let o = run_env(
        &[],
        &[&["-e", script("Dual BSD/GPL").as_str()][..], &cmd].concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(first_line(&o), "P: /etc/ld.so.cache");
}

#[test]
fn dash_k_warns_about_missing_map_keys_on_read_and_delete() {
    if !kernel_available() {
        return;
    }
    let script = "BEGIN { @x[1] = 1; @c[1] = count(); $a = @c[2]; @y = @x[2]; delete(@x, 3); delete(@x, 1); exit(); }";
    let o = run_env(&[], &["-k", "-e", script]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "\n\n@c[1]: 1\n@y: 0\n");
    // The aggregation read (`@c[2]`) is not reported, as in bpftrace.
    assert_eq!(
        stderr(&o),
        format!(
            "Attached 1 probe\n\
             stdin:1:49-59: WARNING: Can't lookup map element because it does not exist.\n\
             Additional Info - helper: map_lookup_elem, retcode: 0\n\
             {script}\n\
             {}~~~~~~~~~~\n\
             stdin:1:61-74: WARNING: Can't delete map element because it does not exist.\n\
             Additional Info - helper: map_delete_elem, retcode: -2\n\
             {script}\n\
             {}~~~~~~~~~~~~~\n",
            " ".repeat(48),
            " ".repeat(60)
        )
    );
    // Without -k, nothing is reported.
    let o = run_env(&[], &["-e", script]);
    assert_eq!(stderr(&o), "Attached 1 probe\n");
}

/// A scratch directory of this test process.
fn scratch_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrotrace-e2e-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    dir
}

/// A program whose `counter` is in `.bss` (which the kernel zeroes while
/// loading it), built with -no-pie so `nm` gives its address.
fn bss_program() -> (String, String) {
    let dir = scratch_dir();
    let src = dir.join("bss.c");
    let exe = dir.join("bss");
    std::fs::write(
        &src,
        "#include <stdlib.h>\nvolatile long counter;\n\
         int main(int argc, char **argv) { long n = atol(argv[1]);\n\
         for (long i = 0; i < n; i++) counter = i + 1; return 0; }\n",
    )
    .unwrap_or_else(|e| panic!("write {}: {e}", src.display()));
    gcc(&[
        "-O0",
        "-no-pie",
        "-o",
        &exe.display().to_string(),
        &src.display().to_string(),
    ]);
    let nm = Command::new("nm")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("nm: {e}"));
    let symbols = stdout(&nm);
    let addr = symbols
        .lines()
        .find(|l| l.ends_with(" counter"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no counter in {symbols}"));
    assert!(
        symbols.lines().any(|l| l.ends_with(" B counter")),
        "counter is not in .bss: {symbols}"
    );
    (
        exe.display().to_string(),
        format!("0x{}", addr.trim_start_matches('0')),
    )
}

#[test]
fn a_dash_c_command_is_held_after_exec_so_its_loading_is_not_traced() {
    if !kernel_available() {
        return;
    }
    let (exe, addr) = bss_program();
    let o = run_env(
        &[],
        &[
            "-c",
            &format!("{exe} 3"),
            "-e",
            &format!("watchpoint:{addr}:8:w {{ @writes = count(); }}"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Exactly the program's three writes: the kernel zeroing `.bss` during
    // exec happened before the watchpoint was set.
    assert_eq!(stdout(&o), "\n\n@writes: 3\n");
    assert_eq!(stderr(&o), "Attached 1 probe\n");
}

#[test]
fn cpp_demangle_false_leaves_func_and_frames_mangled() {
    if !kernel_available() {
        return;
    }
    // A C++ program that lives on after the call, so its frames can still
    // be symbolized when the event is printed.
    let dir = scratch_dir();
    let src = dir.join("mangled.cpp");
    let exe = dir.join("mangled");
    std::fs::write(
        &src,
        "#include <unistd.h>\nnamespace ns { __attribute__((noinline)) int f(int x) { return x + 1; } }\n\
         int main() { int r = ns::f(1); usleep(300000); return r == 2 ? 0 : 1; }\n",
    )
    .unwrap_or_else(|e| panic!("write {}: {e}", src.display()));
    let o = Command::new("g++")
        .args(["-O0", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("g++: {e}"));
    assert!(o.status.success(), "g++: {}", stderr(&o));
    let exe = exe.display().to_string();
    let script = |demangle: bool| {
        format!(
            "config = {{ cpp_demangle = {demangle} }} uprobe:{exe}:\"ns::f\" \
             {{ printf(\"%s|%s\", func, ustack(1)); }}"
        )
    };
    let o = run_env(&[], &["-c", &exe, "-e", &script(true)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "ns::f|\n    ns::f(int)+0\n\n\n");
    let o = run_env(&[], &["-c", &exe, "-e", &script(false)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "_ZN2ns1fEi|\n    _ZN2ns1fEi+0\n\n\n");
    // The environment wins over the script.
    let o = run_env(
        &[("BPFTRACE_CPP_DEMANGLE", "0")],
        &["-c", &exe, "-e", &script(true)],
    );
    assert_eq!(stdout(&o), "_ZN2ns1fEi|\n    _ZN2ns1fEi+0\n\n\n");
}

#[test]
fn a_dash_c_command_is_held_before_exec_when_ptrace_is_refused() {
    if !kernel_available() {
        return;
    }
    // Under `strace -f` the child is already traced, so its
    // PTRACE_TRACEME fails as it would under Yama's ptrace_scope 3.
    let Ok(o) = Command::new("strace")
        .env_remove("LD_LIBRARY_PATH")
        .args(["-f", "-o", "/dev/null"])
        .arg(binary())
        .args([
            "-c",
            "/bin/true",
            "-e",
            "tracepoint:syscalls:sys_enter_execve /pid == cpid/ { printf(\"exec seen\\n\"); }",
        ])
        .stdin(Stdio::null())
        .output()
    else {
        eprintln!("SKIPPED: strace is not installed");
        return;
    };
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Held before its exec, the command's own execve is traced.
    assert_eq!(stdout(&o), "exec seen\n\n\n");
    assert_eq!(
        stderr(&o),
        "WARNING: the -c command could not be held with ptrace (Operation not permitted); \
         it is held before exec instead, so probes also see the kernel loading it.\n\
         Attached 1 probe\n"
    );
}
