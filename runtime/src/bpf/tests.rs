//! Tests of the kernel-facing layer against the real kernel.
//!
//! They need root and a kernel that accepts BPF. When BPF is refused they
//! fail under `CI=true` and otherwise print why and pass (`kernel_or_skip`).
//! Hand-assembled programs bypass aya-obj; `testdata/fixture.o` (built from
//! `testdata/fixture.c` with clang) exercises the full ELF path.

#![allow(clippy::unwrap_used)]

use std::os::fd::AsFd;
use std::time::Duration;

use ferrotrace_compiler::manifest::{
    Artifact, AttachSpec, Field, Manifest, MapKind, MapRole, MapSpec, MapValueSpec, ProgramSpec,
    ValueKind, MANIFEST_VERSION,
};

use super::attach;
use super::load::{self, load_raw_program};
use super::*;

/// `r0 = 0; exit`
const RETURN_ZERO: [u64; 2] = [0x0000_0000_0000_00b7, 0x0000_0000_0000_0095];
/// `exit` without setting r0: the verifier must reject it.
const INVALID: [u64; 1] = [0x0000_0000_0000_0095];

/// True when the kernel accepts BPF; otherwise fails under CI=true or
/// prints the reason and returns false.
fn kernel_or_skip() -> bool {
    match load::create_map("probe_check", 2, 4, 8, 1) {
        Ok(_) => true,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the kernel refuses BPF: {e}"
            );
            eprintln!("skipping: the kernel refuses BPF: {e}");
            false
        }
    }
}

fn getpid_n(n: usize) {
    for _ in 0..n {
        // SAFETY: getpid has no preconditions.
        unsafe { libc::syscall(libc::SYS_getpid) };
    }
}

#[test]
fn ring_buffer_polls_zero_records() {
    if !kernel_or_skip() {
        return;
    }
    let map = load::create_map("rb_test", 27, 0, 0, 4096 * 4).unwrap();
    let mut reader = EventReader::new(map.as_fd()).unwrap();
    drop(map); // the reader holds its own fd
    let mut seen = 0;
    let n = reader
        .poll(Duration::from_millis(10), &mut |_| seen += 1)
        .unwrap();
    assert_eq!((n, seen), (0, 0));
}

#[test]
fn raw_program_runs_with_test_run() {
    if !kernel_or_skip() {
        return;
    }
    let prog = load_raw_program(load::BPF_PROG_TYPE_RAW_TRACEPOINT, &RETURN_ZERO).unwrap();
    assert_eq!(load::test_run(prog.as_fd(), 96), Ok(0));
}

#[test]
fn invalid_program_reports_verifier_log() {
    if !kernel_or_skip() {
        return;
    }
    match load_raw_program(load::BPF_PROG_TYPE_RAW_TRACEPOINT, &INVALID) {
        Err(BpfError::Verifier {
            probe,
            line,
            column,
            log_tail,
        }) => {
            assert_eq!((probe.as_str(), line, column), ("test", 1, 1));
            assert!(!log_tail.is_empty());
            assert!(log_tail.iter().any(|l| l.contains("R0")), "{log_tail:?}");
        }
        other => panic!("expected a verifier error, got {other:?}"),
    }
}

#[test]
fn tracepoint_program_attaches_and_releases() {
    if !kernel_or_skip() {
        return;
    }
    let prog = load_raw_program(load::BPF_PROG_TYPE_TRACEPOINT, &RETURN_ZERO).unwrap();
    let hook = attach::attach_tracepoint(
        prog.as_fd(),
        "tracepoint:syscalls:sys_enter_getpid",
        "syscalls",
        "sys_enter_getpid",
    )
    .unwrap();
    getpid_n(3);
    drop(hook);
    let err =
        attach::attach_tracepoint(prog.as_fd(), "tracepoint:syscalls:nope", "syscalls", "nope")
            .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("tracepoint syscalls:nope does not exist"),
        "{text}"
    );
    assert!(text.contains("ls /sys/kernel/tracing/events/"), "{text}");
}

#[test]
fn perf_events_attach_or_explain() {
    if !kernel_or_skip() {
        return;
    }
    let prog = load_raw_program(load::BPF_PROG_TYPE_PERF_EVENT, &RETURN_ZERO).unwrap();
    // cpu-clock every 10 ms on every CPU: a software event, always there.
    // On every CPU, and only while this process runs there (`-p`).
    for pid in [None, Some(std::process::id())] {
        let hooks = attach::attach_perf_event(
            prog.as_fd(),
            "profile:hz:100",
            (1, 0),
            10_000_000,
            true,
            pid,
        )
        .unwrap();
        assert_eq!(hooks.len(), attach::online_cpus().unwrap().len());
    }
    // CPU cycles: hardware; this machine may have none.
    match attach::attach_perf_event(
        prog.as_fd(),
        "hardware:cycles:1000000",
        (0, 0),
        1_000_000,
        false,
        None,
    ) {
        Ok(_) => {}
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.starts_with("could not attach probe hardware:cycles:1000000: "),
                "{text}"
            );
            assert!(!text.contains("os error"), "{text}");
        }
    }
}

fn fixture_artifact() -> Artifact {
    let u64_field = |offset| Field {
        offset,
        kind: ValueKind::Int {
            size: 8,
            signed: false,
        },
    };
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        programs: vec![
            ProgramSpec {
                function: "p0".into(),
                section: "raw_tracepoint/p0".into(),
                probe: "BEGIN".into(),
                attach: AttachSpec::Begin,
                line: 1,
                column: 1,
            },
            ProgramSpec {
                function: "p1".into(),
                section: "tracepoint/p1".into(),
                probe: "tracepoint:syscalls:sys_enter_getpid".into(),
                attach: AttachSpec::Tracepoint {
                    category: "syscalls".into(),
                    name: "sys_enter_getpid".into(),
                },
                line: 2,
                column: 1,
            },
        ],
        maps: vec![
            MapSpec {
                elf_name: "events".into(),
                kind: MapKind::Ringbuf,
                key_size: 0,
                value_size: 0,
                max_entries: 65536,
                role: MapRole::Events,
            },
            MapSpec {
                elf_name: "counts".into(),
                kind: MapKind::Hash,
                key_size: 8,
                value_size: 8,
                max_entries: 64,
                role: MapRole::User {
                    name: "@c".into(),
                    key: vec![u64_field(0)],
                    value: MapValueSpec::Count,
                },
            },
            MapSpec {
                elf_name: "pc".into(),
                kind: MapKind::PercpuArray,
                key_size: 4,
                value_size: 8,
                max_entries: 1,
                role: MapRole::Scratch,
            },
        ],
        events: vec![],
        config: Default::default(),
    };
    Artifact {
        elf: include_bytes!("testdata/fixture.o").to_vec(),
        manifest,
    }
}

#[test]
fn loads_runs_attaches_and_reads_an_elf_object() {
    if !kernel_or_skip() {
        return;
    }
    let mut obj = LoadedObject::load(&fixture_artifact()).unwrap();
    assert_eq!(obj.manifest().programs.len(), 2);
    let mut reader = obj.event_reader().unwrap();

    obj.attach(0).unwrap(); // BEGIN: nothing to attach
    obj.run_once(0).unwrap();
    let mut records = Vec::new();
    let n = reader
        .poll(Duration::from_millis(100), &mut |r| {
            records.push(r.to_vec())
        })
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].len(), 16);
    assert_eq!(
        u64::from_ne_bytes(records[0][8..16].try_into().unwrap()),
        42
    );

    let counts = obj.read_map("counts").unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].key, 7u64.to_ne_bytes());
    assert_eq!(counts[0].values, vec![99u64.to_ne_bytes().to_vec()]);

    let pc = obj.read_map("pc").unwrap();
    assert_eq!(pc.len(), 1);
    assert_eq!(pc[0].values.len(), maps::possible_cpus().unwrap());
    let total: u64 = pc[0]
        .values
        .iter()
        .map(|v| u64::from_ne_bytes(v[..8].try_into().unwrap()))
        .sum();
    assert_eq!(total, 5);

    obj.attach(1).unwrap();
    getpid_n(10);
    obj.detach_all();
    let hits = |obj: &LoadedObject| {
        obj.read_map("counts")
            .unwrap()
            .into_iter()
            .find(|e| e.key == 1u64.to_ne_bytes())
            .map_or(0, |e| {
                u64::from_ne_bytes(e.values[0][..8].try_into().unwrap())
            })
    };
    let after_detach = hits(&obj);
    assert!(after_detach >= 10, "{after_detach}");
    getpid_n(10);
    assert_eq!(
        hits(&obj),
        after_detach,
        "the program still runs after detach_all"
    );

    obj.run_once(0).unwrap(); // END-like run after detaching still works
    assert!(obj.run_once(1).is_err());
    assert!(matches!(obj.read_map("nope"), Err(BpfError::Map(_))));
    assert!(matches!(obj.read_map("events"), Err(BpfError::Map(_))));
}

#[test]
fn manifest_mismatches_are_internal_errors() {
    let mut artifact = fixture_artifact();
    artifact.manifest.programs[0].function = "missing".into();
    if !kernel_or_skip() {
        return;
    }
    let err = LoadedObject::load(&artifact).unwrap_err();
    assert!(
        matches!(&err, BpfError::Object(m) if m.starts_with("internal error: program missing")),
        "{err}"
    );
    let mut artifact = fixture_artifact();
    artifact.elf = b"not an elf".to_vec();
    assert!(matches!(
        LoadedObject::load(&artifact),
        Err(BpfError::Object(_))
    ));
}

#[test]
fn verifier_rejection_points_at_the_failing_line() {
    if !kernel_or_skip() {
        return;
    }
    let mut artifact = fixture_artifact();
    artifact.manifest.programs = vec![ProgramSpec {
        function: "p2".into(),
        section: "raw_tracepoint/p2".into(),
        probe: "BEGIN".into(),
        attach: AttachSpec::Begin,
        line: 3,
        column: 1,
    }];
    let bad_line = include_str!("testdata/fixture.c")
        .lines()
        .position(|l| l.contains("// BAD_LINE"))
        .unwrap()
        + 1;
    match LoadedObject::load(&artifact) {
        Err(BpfError::Verifier {
            probe,
            line,
            log_tail,
            ..
        }) => {
            assert_eq!(probe, "BEGIN");
            assert_eq!(line, bad_line, "{log_tail:#?}");
            assert!(
                log_tail.iter().any(|l| l.contains("invalid mem access")),
                "{log_tail:#?}"
            );
        }
        other => panic!("expected a verifier error, got {other:?}"),
    }
}
