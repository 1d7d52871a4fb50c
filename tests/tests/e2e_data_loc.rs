//! `__data_loc char[]` tracepoint fields against the real kernel: the
//! string lives after the record's fixed part, and ferrotrace must find it
//! through the offset/length word at the field's position.

use ferrotrace_tests::harness::{kernel_available, Session};
use std::process::Command;

#[test]
fn exec_filename_is_read_as_a_string() {
    if !kernel_available() {
        return;
    }
    // A symlink with a unique name: the exec'd path is the name given to
    // execve, and the new comm is its basename, which the predicate uses so
    // no other exec on the machine is printed.
    let name = format!("ftdl{}", std::process::id());
    let path = format!("/tmp/{name}");
    let _ = std::fs::remove_file(&path);
    if let Err(e) = std::os::unix::fs::symlink("/bin/true", &path) {
        panic!("cannot create {path}: {e}");
    }
    let script = format!(
        r#"tracepoint:sched:sched_process_exec /comm == "{name}"/ {{ printf("%d %s %s\n", pid, args.filename, str(args.filename)); }}"#
    );
    let session = Session::start(&["-e", &script]);
    let mut child = match Command::new(&path).spawn() {
        Ok(c) => c,
        Err(e) => panic!("cannot run {path}: {e}"),
    };
    let pid = child.id();
    assert!(child.wait().is_ok_and(|s| s.success()), "{path} failed");
    std::thread::sleep(std::time::Duration::from_millis(200));
    session.signal(libc::SIGINT);
    let (code, stdout, stderr) = session.finish();
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(stdout, format!("{pid} {path} {path}\n\n\n"));
}
