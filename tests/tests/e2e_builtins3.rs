//! The task, register and address builtins and functions of issue 5
//! against the real kernel: `ppid`/`pcomm`/`leader_*` read through BTF
//! offsets, `pid` relative to ferrotrace's pid namespace (run under
//! `unshare --pid`), `usermode` and `reg()` in a uprobe, `uaddr()` compared
//! with the address the traced program prints itself, `cgroup_path()` and
//! `cgroupid()` of a cgroup made for the test, `assert()` failing with its
//! location, `signal_thread()` killing a traced sleep, `write_user()`
//! (or the kernel's refusal of it), and the map-full warning.

use ferrotrace_tests::harness::{binary, kernel_available, run, run_ok};
use ferrotrace_tests::user_programs::user_programs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `cmd` to completion; returns its pid and output.
fn run_with_pid(cmd: &mut Command) -> (u32, std::process::Output) {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id();
    let o = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (pid, o)
}

/// A scratch directory of this test process.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ft_b3_{}_{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    dir
}

/// Builds a C program with gcc (position independent, as Debian's gcc
/// makes by default) and returns its path.
fn build_c(name: &str, source: &str) -> PathBuf {
    let dir = scratch_dir(name);
    let src = dir.join(format!("{name}.c"));
    let bin = dir.join(name);
    std::fs::write(&src, source).unwrap_or_else(|e| panic!("write {}: {e}", src.display()));
    let o = Command::new("gcc")
        .args(["-O1", "-g", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("gcc: {e}"));
    assert!(o.status.success(), "gcc failed: {}", stderr(&o));
    bin
}

#[test]
fn task_builtins_name_the_parent_and_the_leader() {
    if !kernel_available() {
        return;
    }
    // BEGIN runs in ferrotrace itself: its parent is this test's thread.
    let (me, o) = run_with_pid(Command::new(binary()).args([
        "-q",
        "-e",
        r#"BEGIN { printf("%d %d %d %d %d|%s|%s|%s|%d\n", pid, pid(init), tid, leader_tid, ppid, pcomm, leader_comm, probetype, has_cpid); exit(); }"#,
    ])
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The comm of the thread that spawned ferrotrace (a test thread named
    // after the test, cut to 15 bytes by the kernel).
    let parent_comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap_or_default();
    let parent_comm = parent_comm.trim_end();
    let test_pid = std::process::id();
    assert_eq!(
        stdout(&o),
        format!("{me} {me} {me} {me} {test_pid}|{parent_comm}|ferrotrace|special|0\n\n\n")
    );
}

#[test]
fn has_cpid_and_probetype_in_a_tracepoint() {
    if !kernel_available() {
        return;
    }
    let out = run_ok(&[
        "-q",
        "-c",
        "/bin/true",
        "-e",
        r#"tracepoint:syscalls:sys_enter_exit_group /pid == cpid/ { printf("%s %d %d\n", probetype, has_cpid, ppid == pid(init)); }"#,
    ]);
    // The traced command's parent is ferrotrace, not itself.
    assert_eq!(out, "tracepoint 1 0\n\n\n");
}

#[test]
fn pid_is_relative_to_ferrotraces_pid_namespace() {
    if !kernel_available() {
        return;
    }
    // In a new pid namespace ferrotrace (forked by unshare) is pid 1;
    // `pid(init)` and `ppid` stay in the initial namespace, where
    // ferrotrace's parent is unshare.
    let (unshare, o) = run_with_pid(
        Command::new("unshare")
            .args(["--pid", "--fork"])
            .arg(binary())
            .args([
                "-q",
                "-e",
                r#"BEGIN { printf("%d %d %d %d %d\n", pid, tid(curr_ns), pid(curr_ns), pid(init) != 1, ppid); exit(); }"#,
            ]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("1 1 1 1 {unshare}\n\n\n"));
}

#[test]
fn usermode_and_registers_in_a_uprobe() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    // `add_ints(i, 10)` in round 0: di = 0, si = 10, and a uprobe always
    // interrupts user code.
    let script = format!(
        r#"uprobe:{demo}:add_ints {{ printf("%d %d %d %d\n", usermode, reg("di"), reg("si"), reg("ip") > 0); }}"#
    );
    let out = run_ok(&["-q", "-c", &format!("{demo} 1"), "-e", &script]);
    assert_eq!(out, "1 0 10 1\n\n\n");
}

const ADDRESS_PROGRAM: &str = r#"
#include <stdio.h>
char message[16] = "original";
__attribute__((noinline)) void touch(char *m) { __asm__ volatile("" : : "r"(m) : "memory"); }
int main(void) {
    message[0] = 'o';
    touch(message);
    printf("%p %s\n", (void *)message, message);
    return 0;
}
"#;

#[test]
fn uaddr_is_the_address_the_program_sees() {
    if !kernel_available() {
        return;
    }
    let bin = build_c("uaddr", ADDRESS_PROGRAM);
    let bin = bin.to_string_lossy();
    let script = format!(r#"uprobe:{bin}:touch {{ printf("uaddr 0x%lx\n", uaddr("message")); }}"#);
    let out = run_ok(&["-q", "-c", &bin, "-e", &script]);
    let traced = out
        .lines()
        .find_map(|l| l.strip_prefix("uaddr "))
        .unwrap_or_else(|| panic!("no uaddr line in {out:?}"));
    let printed = out
        .lines()
        .find_map(|l| l.strip_suffix(" original"))
        .unwrap_or_else(|| panic!("the program printed no address in {out:?}"));
    // A position-independent binary: the address moved with the load bias.
    assert!(
        traced.starts_with("0x5") || traced.starts_with("0x7"),
        "{traced}"
    );
    assert_eq!(traced, printed);
}

#[test]
fn write_user_changes_the_programs_memory_or_names_the_refusal() {
    if !kernel_available() {
        return;
    }
    let bin = build_c("write_user", ADDRESS_PROGRAM);
    let bin = bin.to_string_lossy();
    let script =
        format!(r#"uprobe:{bin}:touch {{ @ok = write_user(uaddr("message"), "changed", 8); }}"#);
    let o = run(&["-q", "--unsafe", "-c", &bin, "-e", &script]);
    let err = stderr(&o);
    if err.contains("does not let BPF programs write user memory") {
        // This kernel is locked down: the helper is refused at load time,
        // with a sentence rather than the verifier's log.
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(
            err,
            format!(
                "ERROR: the kernel refused to load probe uprobe:{bin}:touch: this kernel does not let \
                 BPF programs write user memory, which write_user() needs (bpf_probe_write_user is \
                 refused: the kernel is locked down, see `man kernel_lockdown.7`, or BPF is \
                 restricted); remove write_user() from the script.\n"
            )
        );
    } else {
        assert_eq!(o.status.code(), Some(0), "{err}");
        let out = stdout(&o);
        assert!(out.contains(" changed\n"), "{out:?}");
        assert!(out.ends_with("@ok: true\n"), "{out:?}");
    }
}

/// A cgroup v2 directory made for one test, removed when dropped.
struct TestCgroup(PathBuf);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn cgroup_path_and_cgroupid_of_a_cgroup_made_for_the_test() {
    if !kernel_available() {
        return;
    }
    let Some(root) = ferrotrace_runtime::cgroups::cgroup2_mounts()
        .into_iter()
        .next()
    else {
        eprintln!("SKIPPED: no cgroup2 filesystem is mounted");
        return;
    };
    let name = format!("ft_b3_{}", std::process::id());
    let cg = TestCgroup(root.join(&name));
    std::fs::create_dir(&cg.0).unwrap_or_else(|e| panic!("mkdir {}: {e}", cg.0.display()));
    let id = std::fs::metadata(&cg.0).map(|m| m.ino()).unwrap_or(0);
    let dir = cg.0.to_string_lossy();
    // ferrotrace joins the cgroup before it starts, so BEGIN's `cgroup`
    // (its own) is the new one; /proc/self/cgroup agrees.
    let script = format!(
        r#"BEGIN {{ printf("%s %d %d\n", cgroup_path(cgroup), cgroup, cgroupid("{dir}")); cat("/proc/self/cgroup"); exit(); }}"#
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {dir}/cgroup.procs && exec \"$0\" -q -e \"$1\""
        ))
        .arg(binary())
        .arg(&script)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("sh: {e}"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(format!("unified:/{name} {id} {id}").as_str())
    );
    assert!(
        out.lines().any(|l| l == format!("0::/{name}")),
        "/proc/self/cgroup does not name the cgroup: {out:?}"
    );
    let root_id = std::fs::metadata(&root).map(|m| m.ino()).unwrap_or(0);
    let root_out = run_ok(&[
        "-q",
        "-e",
        &format!(
            r#"BEGIN {{ printf("%d %s\n", cgroupid("{}"), cgroup_path({root_id}, "*")); exit(); }}"#,
            root.display()
        ),
    ]);
    assert_eq!(root_out, format!("{root_id} unified:/\n\n\n"));
}

#[test]
fn failed_assert_prints_its_location_and_exits_1() {
    if !kernel_available() {
        return;
    }
    let script = r#"BEGIN { $x = 2; assert($x > 3, "x is small"); printf("not reached\n"); }"#;
    let o = run(&["-q", "-e", script]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "\n\n");
    assert_eq!(
        stderr(&o),
        format!(
            "stdin:1:17-45: ERROR: assert failed: x is small\n{script}\n{}{}\n",
            " ".repeat(16),
            "~".repeat(28)
        )
    );
    let o = run(&["-q", "-f", "json", "-e", script]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "{\"type\": \"errorf\", \"msg\": \"assert failed: x is small\", \"filename\": \"stdin\", \"line\": 1, \"col\": 17}\n"
    );
    let ok = run_ok(&[
        "-q",
        "-e",
        r#"BEGIN { assert(1 < 2, "holds"); printf("passed\n"); exit(); }"#,
    ]);
    assert_eq!(ok, "passed\n\n\n");
}

#[test]
fn signal_thread_kills_the_traced_sleep() {
    if !kernel_available() {
        return;
    }
    // The sleep is the child of the traced shell (`ppid == cpid`); killed,
    // it makes the shell print 128 + 9.
    let o = run(&[
        "-q",
        "--unsafe",
        "-c",
        "/bin/sh -c '/bin/sleep 5; echo status=$?'",
        "-e",
        r#"tracepoint:syscalls:sys_enter_nanosleep,tracepoint:syscalls:sys_enter_clock_nanosleep /ppid == cpid/ { signal_thread("SIGKILL"); printf("sent\n"); }"#,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    lines.sort_unstable();
    assert_eq!(lines, ["sent", "status=137"], "{out:?}");
}

#[test]
fn a_full_map_warns_with_the_script_location() {
    if !kernel_available() {
        return;
    }
    let script =
        r#"config = { max_map_keys = 2 } BEGIN { @a[1] = 1; @a[2] = 2; @a[3] = 3; exit(); }"#;
    let o = run(&["-q", "-e", script]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "\n\n@a[1]: 1\n@a[2]: 2\n");
    let col = script.find("@a[3]").map_or(0, |i| i + 1);
    assert_eq!(
        stderr(&o),
        format!(
            "stdin:1:{col}-{}: WARNING: Map full; can't update element. Try increasing \
             max_map_keys config or manually setting the max entries in a map declaration e.g. \
             `let @a = hash(5000)`\nAdditional Info - helper: map_update_elem, retcode: -7\n\
             {script}\n{}{}\n",
            col + 9,
            " ".repeat(col - 1),
            "~".repeat(9)
        )
    );
}

#[test]
fn a_full_count_map_warns_once_per_failed_update() {
    if !kernel_available() {
        return;
    }
    let script =
        r#"config = { max_map_keys = 1 } BEGIN { @c[1] = count(); @c[2] = count(); exit(); }"#;
    let o = run(&["-q", "-e", script]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "\n\n@c[1]: 1\n");
    let err = stderr(&o);
    assert_eq!(err.matches("WARNING: Map full").count(), 1, "{err}");
    assert!(err.contains("Additional Info - helper: map_update_elem, retcode: -7\n"));
}

#[test]
fn k_reports_failed_reads_with_their_location() {
    if !kernel_available() {
        return;
    }
    // Reading a string at kernel address 0 fails (-ERANGE: below the
    // kernel's addresses); only `-k` reports it.
    let script = r#"BEGIN { printf("[%s]\n", str(0)); exit(); }"#;
    let quiet = run(&["-q", "-e", script]);
    assert_eq!(stdout(&quiet), "[]\n\n\n");
    assert_eq!(stderr(&quiet), "");
    let o = run(&["-q", "-k", "-e", script]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "[]\n\n\n");
    assert_eq!(
        stderr(&o),
        format!(
            "stdin:1:9-33: WARNING: Numerical result out of range\nAdditional Info - helper: \
             probe_read_kernel_str, retcode: -34\n{script}\n{}{}\n",
            " ".repeat(8),
            "~".repeat(24)
        )
    );
    let json = run_ok(&[
        "-q",
        "-k",
        "-f",
        "json",
        "-e",
        r#"BEGIN { $s = str(0); exit(); }"#,
    ]);
    assert_eq!(
        json,
        "{\"type\": \"helper_error\", \"msg\": \"Numerical result out of range\", \"helper\": \
         \"probe_read_kernel_str\", \"retcode\": -34, \"filename\": \"stdin\", \"line\": 1, \"col\": 9}\n"
    );
}

#[test]
fn address_spaces_and_error_pointers() {
    if !kernel_available() {
        return;
    }
    let demo = user_programs().demo_str();
    // `greet(name)` gets a user pointer: read as user memory it is the
    // string, read as kernel memory the read fails and gives "".
    let script = format!(
        r#"uprobe:{demo}:greet {{ printf("%s|%s|%d %d %d\n", str(uptr(arg0)), str(kptr(arg0)), is_err(-22), is_err(-4095), is_err(-4096)); }}"#
    );
    let out = run_ok(&["-q", "-c", &format!("{demo} 1"), "-e", &script]);
    assert_eq!(out, "ferrotrace||1 1 0\n\n\n");
}

/// `ctx` is the context's address: a tracepoint's record, where the
/// syscall number sits at offset 8 of `sys_enter_*` (after the common
/// header), and a raw tracepoint's argument array, whose second slot is
/// `sys_enter`'s syscall id.
#[test]
fn ctx_is_the_context_address() {
    if !kernel_available() {
        return;
    }
    let o = run(&[
        "-q",
        "-e",
        "tracepoint:syscalls:sys_enter_openat /pid == cpid/ { printf(\"%d %d\\n\", ctx != 0, *(int32 *)(ctx + 8) == args.__syscall_nr); exit(); }",
        "-c",
        "/bin/cat /dev/null",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().next(),
        Some("1 1")
    );
    let o = run(&[
        "-q",
        "-e",
        "rawtracepoint:sys_enter /pid == cpid/ { printf(\"%d\\n\", *(uint64 *)(ctx + 8) == arg1); exit(); }",
        "-c",
        "/bin/true",
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().next(), Some("1"));
}
