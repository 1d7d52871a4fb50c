//! Unit tests of the code generator: small `ir::Program`s built by hand are
//! generated, and the ELF is parsed back with aya-obj to check that every
//! program and map is where the runtime expects it and that map relocations
//! resolve.

use super::*;
use crate::ir::*;
use crate::manifest::{EventSpec, MapKind, MapRole};
use crate::source::Span;
use ferrotrace_stdlib::Builtin;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn e(kind: ExprKind, ty: Type) -> Expr {
    Expr {
        kind,
        ty,
        span: Span::default(),
    }
}

fn s(kind: StmtKind) -> Stmt {
    Stmt {
        kind,
        span: Span::default(),
    }
}

fn int(v: u64, ty: Type) -> Expr {
    e(ExprKind::Int(v), ty)
}

fn lit(text: &str) -> Expr {
    e(ExprKind::Str(text.into()), Type::Str(text.len() as u32 + 1))
}

fn builtin(b: Builtin, ty: Type) -> Expr {
    e(ExprKind::Builtin(b), ty)
}

fn bin(op: BinaryOp, l: Expr, r: Expr, ty: Type) -> Expr {
    e(
        ExprKind::Binary {
            op,
            lhs: Box::new(l),
            rhs: Box::new(r),
        },
        ty,
    )
}

fn probe(
    name: &str,
    attach: Attach,
    predicate: Option<Expr>,
    body: Vec<Stmt>,
    locals: Vec<Type>,
) -> Probe {
    Probe {
        name: name.into(),
        attach,
        predicate,
        body,
        locals,
        span: Span::new(0, 5),
    }
}

/// `BEGIN { printf("hello %d %s\n", pid, comm); exit(); }`
fn hello() -> Program {
    let fmt = Format {
        text: "hello %d %s\n".into(),
        args: vec![Type::U32, Type::Str(16)],
    };
    let body = vec![
        s(StmtKind::Printf {
            format: 0,
            args: vec![
                builtin(Builtin::Pid, Type::U32),
                builtin(Builtin::Comm, Type::Str(16)),
            ],
        }),
        s(StmtKind::Exit { code: None }),
    ];
    Program {
        probes: vec![probe("BEGIN", Attach::Begin, None, body, vec![])],
        maps: vec![],
        formats: vec![fmt],
        settings: Default::default(),
        actions: vec![],
    }
}

/// A tracepoint probe touching most constructs: maps with string keys,
/// aggregations, locals, string reads and compares, signed arithmetic.
fn busy() -> Program {
    let maps = vec![
        MapDef {
            name: "@count".into(),
            key: vec![Type::Str(16)],
            value: MapValue::Count,
        },
        MapDef {
            name: "@sum".into(),
            key: vec![Type::U64, Type::Bool],
            value: MapValue::Sum { signed: true },
        },
        MapDef {
            name: "@last".into(),
            key: vec![],
            value: MapValue::Plain(Type::Str(64)),
        },
        MapDef {
            name: "@n".into(),
            key: vec![Type::U64],
            value: MapValue::Plain(Type::I64),
        },
    ];
    let comm = || builtin(Builtin::Comm, Type::Str(16));
    let field = |off, ty| e(ExprKind::TracepointField { offset: off }, ty);
    let fname = e(
        ExprKind::StrRead {
            ptr: Box::new(field(
                24,
                Type::Ptr {
                    pointee: Box::new(Type::Int {
                        bits: 8,
                        signed: true,
                    }),
                    space: AddrSpace::User,
                },
            )),
            space: AddrSpace::User,
            len: Some(Box::new(int(10, Type::U64))),
        },
        Type::Str(64),
    );
    let local0 = || e(ExprKind::Local(0), Type::I64);
    let signed_div = bin(
        BinaryOp::Div,
        local0(),
        int(-3i64 as u64, Type::I64),
        Type::I64,
    );
    let signed_mod = bin(BinaryOp::Mod, local0(), int(7, Type::I64), Type::I64);
    let pred = bin(BinaryOp::Ne, comm(), lit("sshd"), Type::Bool);
    let body = vec![
        s(StmtKind::Aggregate {
            map: 0,
            key: vec![comm()],
            op: AggregateOp::Count,
        }),
        s(StmtKind::Store {
            target: LValue::Local(0),
            value: e(ExprKind::Cast(Box::new(field(16, Type::I32))), Type::I64),
        }),
        s(StmtKind::Aggregate {
            map: 1,
            key: vec![
                int(1, Type::U64),
                bin(BinaryOp::Gt, local0(), int(0, Type::I64), Type::Bool),
            ],
            op: AggregateOp::Sum(signed_div),
        }),
        s(StmtKind::Store {
            target: LValue::Local(1),
            value: fname,
        }),
        s(StmtKind::Store {
            target: LValue::Map {
                map: 2,
                key: vec![],
            },
            value: e(ExprKind::Local(1), Type::Str(64)),
        }),
        s(StmtKind::If {
            cond: bin(BinaryOp::Lt, signed_mod, int(3, Type::I64), Type::Bool),
            then: vec![s(StmtKind::Expr(e(
                ExprKind::IncDec {
                    target: Box::new(LValue::Map {
                        map: 3,
                        key: vec![builtin(Builtin::Tid, Type::U64)],
                    }),
                    delta: 1,
                    prefix: false,
                },
                Type::I64,
            )))],
            otherwise: vec![s(StmtKind::Printf {
                format: 0,
                args: vec![
                    e(
                        ExprKind::MapLoad {
                            map: 2,
                            key: vec![],
                        },
                        Type::Str(64),
                    ),
                    e(
                        ExprKind::Ternary {
                            cond: Box::new(bin(
                                BinaryOp::And,
                                e(ExprKind::Bool(true), Type::Bool),
                                bin(BinaryOp::Eq, local0(), int(5, Type::I64), Type::Bool),
                                Type::Bool,
                            )),
                            then: Box::new(e(
                                ExprKind::MapLoad {
                                    map: 3,
                                    key: vec![int(2, Type::U64)],
                                },
                                Type::I64,
                            )),
                            otherwise: Box::new(int(-1i64 as u64, Type::I64)),
                        },
                        Type::I64,
                    ),
                ],
            })],
        }),
        s(StmtKind::Exit {
            code: Some(int(3, Type::I64)),
        }),
    ];
    // Not a syscall tracepoint, so it keeps a program of its own.
    let tp = Attach::Tracepoint {
        category: "sched".into(),
        name: "sched_process_exec".into(),
    };
    let fmt = Format {
        text: "%s %d\n".into(),
        args: vec![Type::Str(64), Type::I64],
    };
    let interval = probe(
        "interval:s:1",
        Attach::Interval {
            period_ns: 1_000_000_000,
        },
        None,
        vec![s(StmtKind::Aggregate {
            map: 0,
            key: vec![lit("tick")],
            op: AggregateOp::Count,
        })],
        vec![],
    );
    Program {
        probes: vec![
            probe(
                "tracepoint:sched:sched_process_exec",
                tp,
                Some(pred),
                body,
                vec![Type::I64, Type::Str(64)],
            ),
            interval,
        ],
        maps,
        formats: vec![fmt],
        settings: Default::default(),
        actions: vec![],
    }
}

/// Parses the ELF and relocates its maps with made-up fds.
fn parse(artifact: &Artifact) -> Result<aya_obj::Object, Box<dyn std::error::Error>> {
    let mut obj = aya_obj::Object::parse(&artifact.elf)?;
    let maps: Vec<(String, aya_obj::Map)> = obj
        .maps
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    obj.relocate_maps(
        maps.iter()
            .enumerate()
            .map(|(i, (n, m))| (n.as_str(), 100 + i as i32, m)),
        &Default::default(),
    )?;
    Ok(obj)
}

fn src() -> SourceFile {
    SourceFile::new("stdin", "BEGIN { }")
}

#[test]
fn hello_has_program_maps_and_events() -> TestResult {
    let art = generate(&hello(), &src())?;
    let obj = parse(&art)?;
    assert!(
        obj.programs.contains_key("p0"),
        "programs: {:?}",
        obj.programs.keys()
    );
    for name in ["events", "scratch"] {
        assert!(obj.maps.contains_key(name), "maps: {:?}", obj.maps.keys());
    }
    assert_eq!(obj.license.to_str()?, "GPL");
    let m = &art.manifest;
    assert_eq!(m.programs[0].section, "raw_tracepoint/p0");
    assert_eq!((m.programs[0].line, m.programs[0].column), (1, 1));
    assert_eq!(m.events.len(), 2);
    assert_eq!(m.events[1], EventSpec::Exit);
    let scratch = m
        .maps
        .iter()
        .find(|s| s.role == MapRole::Scratch)
        .ok_or("no scratch")?;
    assert!(scratch.value_size >= 40, "scratch {}", scratch.value_size);
    Ok(())
}

#[test]
fn busy_program_generates_and_relocates() -> TestResult {
    let art = generate(&busy(), &src())?;
    let obj = parse(&art)?;
    for p in ["p0", "p1"] {
        assert!(
            obj.programs.contains_key(p),
            "programs: {:?}",
            obj.programs.keys()
        );
    }
    for m in ["m0", "m1", "m2", "m3", "events", "scratch"] {
        assert!(obj.maps.contains_key(m), "maps: {:?}", obj.maps.keys());
    }
    let m0 = obj.maps.get("m0").ok_or("m0")?;
    assert_eq!(
        (m0.map_type(), m0.key_size(), m0.value_size()),
        (MapKind::PercpuHash.bpf_type(), 16, 8)
    );
    let m1 = obj.maps.get("m1").ok_or("m1")?;
    assert_eq!(m1.key_size(), 16);
    let m2 = obj.maps.get("m2").ok_or("m2")?;
    assert_eq!((m2.key_size(), m2.value_size()), (8, 64));
    let sections: Vec<&str> = art
        .manifest
        .programs
        .iter()
        .map(|p| p.section.as_str())
        .collect();
    assert_eq!(sections, ["tracepoint/p0", "perf_event/p1"]);
    Ok(())
}

#[test]
fn text_outputs_render() -> TestResult {
    let ir = emit_llvm(&busy())?;
    assert!(
        ir.contains("define") && ir.contains("section \"tracepoint/p0\""),
        "{ir}"
    );
    assert!(!ir.contains("sdiv") && !ir.contains("srem"));
    let asm = emit_asm(&hello())?;
    assert!(asm.contains("call"), "{asm}");
    Ok(())
}

/// Writes the sample objects to `$FERROTRACE_DUMP_DIR` for manual inspection
/// (`llvm-objdump -d`, `bpftool prog loadall`); does nothing otherwise.
#[test]
fn dump_samples_when_asked() -> TestResult {
    let Some(dir) = std::env::var_os("FERROTRACE_DUMP_DIR") else {
        return Ok(());
    };
    let dir = std::path::PathBuf::from(dir);
    for (name, program) in [("hello", hello()), ("busy", busy())] {
        let art = generate(&program, &src())?;
        std::fs::write(dir.join(format!("{name}.o")), &art.elf)?;
        std::fs::write(dir.join(format!("{name}.ll")), emit_llvm(&program)?)?;
        std::fs::write(
            dir.join(format!("{name}.json")),
            serde_json::to_string_pretty(&art.manifest)?,
        )?;
    }
    Ok(())
}

#[test]
fn statements_reuse_scratch_and_oversize_is_an_error() -> TestResult {
    let read = || {
        e(
            ExprKind::StrRead {
                ptr: Box::new(e(ExprKind::Builtin(Builtin::Nsecs), Type::U64)),
                space: AddrSpace::Kernel,
                len: None,
            },
            Type::Str(1024),
        )
    };
    let fmt = Format {
        text: "%s\n".into(),
        args: vec![Type::Str(1024)],
    };
    let printf = || {
        s(StmtKind::Printf {
            format: 0,
            args: vec![read()],
        })
    };
    let program = |n: usize| Program {
        probes: vec![probe(
            "BEGIN",
            Attach::Begin,
            None,
            (0..n).map(|_| printf()).collect(),
            vec![],
        )],
        maps: vec![],
        formats: vec![fmt.clone()],
        settings: Default::default(),
        actions: vec![],
    };
    let art = generate(&program(40), &src())?;
    let scratch = art
        .manifest
        .maps
        .iter()
        .find(|m| m.role == MapRole::Scratch)
        .ok_or("no scratch")?;
    // The string (with its NUL's byte past the value, rounded to 8), the
    // record (index and string) and the lost counter's key.
    assert_eq!(scratch.value_size, 1032 + 8 + 1024 + 8);
    let args: Vec<Expr> = (0..40).map(|_| read()).collect();
    let big = Program {
        probes: vec![probe(
            "BEGIN",
            Attach::Begin,
            None,
            vec![s(StmtKind::Printf { format: 0, args })],
            vec![],
        )],
        maps: vec![],
        formats: vec![Format {
            text: "%s".repeat(40),
            args: vec![Type::Str(1024); 40],
        }],
        settings: Default::default(),
        actions: vec![],
    };
    assert!(matches!(
        generate(&big, &src()),
        Err(CodegenError::ScratchTooLarge { .. })
    ));
    Ok(())
}
