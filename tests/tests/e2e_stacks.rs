//! End-to-end tests of stacks against the real kernel: `kstack` and
//! `ustack` as map keys and printf values in every mode, symbolized frame
//! names in bpftrace's exact layout, `-f folded` and `--flamegraph`. Each
//! test triggers its own events and filters on its own pid or comm, so
//! other tests loading BPF programs at the same time do not disturb it.

use ferrotrace_tests::harness::{kernel_available, Session};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Makes `n` getpid() system calls from this thread.
fn call_getpid(n: usize) {
    for _ in 0..n {
        // SAFETY: getpid has no preconditions.
        unsafe { libc::syscall(libc::SYS_getpid) };
    }
}

/// Runs `script` (which may use `{TID}` for the calling thread's id, as
/// tests run in parallel threads of one process), calls `trigger` on this
/// thread once probes are attached, stops ferrotrace with SIGINT and
/// returns its stdout.
fn trace(args: &[&str], script: &str, trigger: impl FnOnce()) -> String {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let script = script.replace("{TID}", &tid.to_string());
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-e", &script]);
    let s = Session::start(&all);
    trigger();
    s.signal(libc::SIGINT);
    let (code, stdout, stderr) = s.finish();
    assert_eq!(code, 0, "stderr: {stderr}");
    stdout
}

/// Checks that `line` is a `bpftrace`-mode frame: four spaces, then
/// `name+offset`; returns the name.
fn frame_name(line: &str) -> &str {
    let body = line
        .strip_prefix("    ")
        .unwrap_or_else(|| panic!("frame line without 4-space indent: {line:?}"));
    let (name, off) = body
        .rsplit_once('+')
        .unwrap_or_else(|| panic!("frame without +offset: {line:?}"));
    assert!(
        !name.is_empty() && off.chars().all(|c| c.is_ascii_digit()) && !off.is_empty(),
        "frame is not sym+off: {line:?}"
    );
    name
}

/// Splits the output of a one-entry map whose first key is a stack: the
/// frames' names (each checked for bpftrace's layout) and what follows
/// the frames after `after` (the rest of the key, or the value).
fn single_stack_entry<'a>(out: &'a str, after: &str) -> (Vec<&'a str>, &'a str) {
    let body = out
        .strip_prefix("\n\n@[\n")
        .unwrap_or_else(|| panic!("unexpected start: {out:?}"));
    let (frames, rest) = body
        .split_once(after)
        .unwrap_or_else(|| panic!("no {after:?} in {out:?}"));
    (frames.lines().map(frame_name).collect(), rest)
}

/// The system-call entry path every stack of a system call ends with.
const SYSCALL_ROOT: [&str; 2] = ["do_syscall_64", "entry_SYSCALL_64_after_hwframe"];

#[test]
fn kstack_map_key_layout() {
    if !kernel_available() {
        return;
    }
    let out = trace(
        &[],
        "tracepoint:syscalls:sys_enter_getpid /tid == {TID}/ { @[kstack] = count(); }",
        || call_getpid(5),
    );
    // "\n\n", then "@[", the frames, "]: 5".
    let (names, rest) = single_stack_entry(&out, "]: ");
    assert_eq!(rest, "5\n", "whole output: {out:?}");
    assert!(names.len() >= 3, "{out}");
    assert_eq!(names[names.len() - 2..], SYSCALL_ROOT, "{out}");
    assert!(
        names.contains(&"syscall_trace_enter"),
        "the tracepoint fires from syscall_trace_enter: {out}"
    );
}

#[test]
fn kstack_modes_in_printf() {
    if !kernel_available() {
        return;
    }
    let out = trace(
        &[],
        r#"tracepoint:syscalls:sys_enter_getppid /tid == {TID}/ {
             printf("perf:%s", kstack(perf, 2));
             printf("raw:%s", kstack(raw, 2));
             printf("limit:%s", kstack(1));
           }"#,
        || {
            // SAFETY: getppid has no preconditions.
            unsafe { libc::getppid() };
        },
    );
    let lines: Vec<&str> = out.lines().collect();
    // perf:, two frames, raw:, two frames, limit:, one frame, then the
    // two blank lines printed before the (empty) maps.
    assert_eq!(lines.len(), 10, "{out:?}");
    assert_eq!(lines[0], "perf:");
    for l in &lines[1..3] {
        let rest = l.strip_prefix('\t').unwrap_or_else(|| panic!("{l:?}"));
        let (addr, sym) = rest.split_once(' ').unwrap_or_else(|| panic!("{l:?}"));
        assert!(
            addr.len() == 16 && u64::from_str_radix(addr, 16).is_ok(),
            "{l:?}"
        );
        assert!(sym.ends_with(" ([kernel.kallsyms])"), "{l:?}");
        assert!(sym.contains('+'), "{l:?}");
    }
    assert_eq!(lines[3], "raw:");
    for l in &lines[4..6] {
        assert!(l.len() == 16 && u64::from_str_radix(l, 16).is_ok(), "{l:?}");
    }
    // The raw addresses are the perf addresses.
    assert!(lines[1].starts_with(&format!("\t{} ", lines[4])), "{out}");
    assert_eq!(lines[6], "limit:");
    // The one frame of kstack(1) is the innermost frame of the others.
    let innermost = lines[1].split(' ').nth(1).unwrap_or_default();
    assert_eq!(lines[7], format!("    {innermost}"), "{out}");
    assert_eq!(lines[8..], ["", ""]);
}

/// A small C program whose known call chain makes a getpid system call
/// itself (inline `syscall`, so the innermost frame is ours and frame
/// pointers lead back through every caller), then stays alive so its
/// frames can still be symbolized when ferrotrace prints.
const DEMO_C: &str = r#"
#include <stdio.h>
#include <unistd.h>
__attribute__((noinline)) void ft_level_three(void) {
    long ret;
    __asm__ volatile ("syscall" : "=a"(ret) : "a"(39) : "rcx", "r11", "memory");
}
__attribute__((noinline)) void ft_level_two(void) { ft_level_three(); __asm__ volatile(""); }
__attribute__((noinline)) void ft_level_one(void) { ft_level_two(); __asm__ volatile(""); }
int main(void) {
    for (int i = 0; i < 3; i++) ft_level_one();
    printf("done\n");
    fflush(stdout);
    sleep(60);
    return 0;
}
"#;

/// Builds the demo program as `ft_ustack_demo` in a fresh directory.
fn build_demo() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ft-ustack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join("demo.c");
    std::fs::write(&src, DEMO_C).expect("write demo.c");
    let bin = dir.join("ft_ustack_demo");
    let status = Command::new("gcc")
        .args(["-O0", "-g", "-fno-omit-frame-pointer", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("gcc runs");
    assert!(status.success(), "gcc failed");
    bin
}

#[test]
fn ustack_names_user_functions() {
    if !kernel_available() {
        return;
    }
    let bin = build_demo();
    let mut demo = None;
    let out = trace(
        &[],
        r#"tracepoint:syscalls:sys_enter_getpid /comm == "ft_ustack_demo"/ { @[ustack, comm] = count(); }"#,
        || {
            let mut child = Command::new(&bin)
                .stdout(Stdio::piped())
                .spawn()
                .expect("demo starts");
            let mut line = String::new();
            if let Some(out) = child.stdout.take() {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            assert_eq!(line, "done\n");
            demo = Some(child);
        },
    );
    if let Some(mut child) = demo {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(bin.parent().unwrap_or(&bin));
    let (names, rest) = single_stack_entry(&out, "\n, ");
    assert_eq!(rest, "ft_ustack_demo]: 3\n", "{out}");
    assert_eq!(
        names[..4],
        ["ft_level_three", "ft_level_two", "ft_level_one", "main"],
        "{out}"
    );
}

#[test]
fn folded_output() {
    if !kernel_available() {
        return;
    }
    let out = trace(
        &["-f", "folded"],
        "tracepoint:syscalls:sys_enter_getpid /tid == {TID}/ { @[comm, kstack] = count(); }",
        || call_getpid(4),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out:?}");
    let (stack, count) = lines[0].rsplit_once(' ').unwrap_or(("", ""));
    assert_eq!(count, "4", "{out}");
    let frames: Vec<&str> = stack.split(';').collect();
    // Root first: the key's other element, then the entry path.
    assert_eq!(
        frames[1..3],
        ["entry_SYSCALL_64_after_hwframe", "do_syscall_64"],
        "{out}"
    );
    assert!(
        frames.iter().all(|f| !f.contains('+') && !f.is_empty()),
        "{out}"
    );
}

#[test]
fn flamegraph_svg_has_the_frames() {
    if !kernel_available() {
        return;
    }
    let svg_path = std::env::temp_dir().join(format!("ft-flame-{}.svg", std::process::id()));
    let svg_arg = svg_path.to_string_lossy().into_owned();
    let out = trace(
        &["--flamegraph", &svg_arg],
        "tracepoint:syscalls:sys_enter_getpid /tid == {TID}/ { @[kstack] = count(); }",
        || call_getpid(7),
    );
    assert!(out.ends_with("]: 7\n"), "the maps are still printed: {out}");
    let svg = std::fs::read_to_string(&svg_path).expect("the SVG was written");
    let _ = std::fs::remove_file(&svg_path);
    // Parse the SVG and collect every frame's tooltip.
    let mut reader = quick_xml::Reader::from_str(&svg);
    let mut titles = Vec::new();
    let mut in_title = false;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => in_title = e.name().as_ref() == b"title",
            Ok(quick_xml::events::Event::Text(t)) if in_title => {
                titles.push(String::from_utf8_lossy(t.as_ref()).into_owned());
            }
            Ok(quick_xml::events::Event::End(_)) => in_title = false,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("the SVG does not parse: {e}"),
        }
    }
    assert!(
        titles.contains(&"all (7 samples, 100%)".to_string()),
        "{titles:?}"
    );
    for f in SYSCALL_ROOT {
        let want = format!("{f} (7 samples, 100.00%)");
        assert!(titles.contains(&want), "no frame {want:?} in {titles:?}");
    }
}

#[test]
fn ksym_and_kaddr() {
    if !kernel_available() {
        return;
    }
    let o = ferrotrace_tests::harness::run(&[
        "-e",
        r#"BEGIN { printf("%s|%s\n", ksym(kaddr("do_syscall_64") + 5), ksym(1)); @[ksym(kaddr("do_syscall_64"))] = count(); exit(); }"#,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "do_syscall_64|0x1\n\n\n@[do_syscall_64]: 1\n"
    );
}

#[test]
fn print_of_stacks_and_symbols() {
    if !kernel_available() {
        return;
    }
    let out = trace(
        &[],
        r#"tracepoint:syscalls:sys_enter_getpid /tid == {TID}/ {
             print(kstack(raw, 1));
             print(ksym(kaddr("do_syscall_64")));
           }"#,
        || call_getpid(1),
    );
    let lines: Vec<&str> = out.lines().collect();
    // print(value) ends the stack's own lines with one more newline.
    assert_eq!(lines.len(), 6, "{out:?}");
    assert_eq!(lines[0], "");
    assert!(
        lines[1].len() == 16 && u64::from_str_radix(lines[1], 16).is_ok(),
        "{out:?}"
    );
    assert_eq!(lines[2..], ["", "do_syscall_64", "", ""], "{out:?}");
}
