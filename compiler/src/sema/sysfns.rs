//! Builtins and functions about the traced task, its registers and its
//! addresses, lowered here into plain IR: `ppid`, `pcomm`, `leader_tid`,
//! `leader_comm` (`task_struct` members read at offsets `KernelInfo` finds
//! in BTF), `pid`/`tid` relative to ferrotrace's pid namespace (and
//! `pid(init)`), `usermode` and `reg("name")` (`pt_regs` reads),
//! `probetype`, `has_cpid`, `uaddr`, `kptr`/`uptr`, `cgroupid`,
//! `cgroup_path`, `percpu_kaddr`, `socket_cookie`, `is_err`, `write_user`,
//! and the statements `assert`, `static_assert`, `signal_thread` and
//! `override`.

use super::types::{convert, describe};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{
    Action, AddrSpace, Attach, BinaryOp, Expr, ExprKind, Stmt, StmtKind, Type, UnaryOp,
};
use crate::kernel::glob_match;
use crate::manifest::NameTable;
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::{Builtin, Function};

/// Byte offsets of x86-64 `struct pt_regs` members, by the names
/// bpftrace's `reg()` takes.
const PT_REGS: [(&str, u32); 21] = [
    ("r15", 0),
    ("r14", 8),
    ("r13", 16),
    ("r12", 24),
    ("bp", 32),
    ("bx", 40),
    ("r11", 48),
    ("r10", 56),
    ("r9", 64),
    ("r8", 72),
    ("ax", 80),
    ("cx", 88),
    ("dx", 96),
    ("si", 104),
    ("di", 112),
    ("orig_ax", 120),
    ("ip", 128),
    ("cs", 136),
    ("flags", 144),
    ("sp", 152),
    ("ss", 160),
];

/// `pt_regs` offset of `ip`: where a uprobe fired.
const IP: u32 = 128;
/// `pt_regs` offset of `cs`: its low two bits are the privilege level.
const CS: u32 = 136;
/// `IS_ERR_VALUE`: addresses from `-MAX_ERRNO` (4095) up are error codes.
const FIRST_ERR_PTR: u64 = 0u64.wrapping_sub(4095);

fn typed(kind: ExprKind, ty: Type, span: Span) -> Expr {
    Expr { kind, ty, span }
}

fn u8_type() -> Type {
    Type::Int {
        bits: 8,
        signed: false,
    }
}

/// The type `uaddr` gives a symbol of `size` bytes: a pointer to an
/// unsigned integer of that width (`uint64 *` when it is not 1, 2, 4 or 8).
fn sized_pointee(size: u64) -> Type {
    let bits = match size {
        1 => 8,
        2 => 16,
        4 => 32,
        _ => 64,
    };
    Type::Int {
        bits,
        signed: false,
    }
}

/// Whether the probe's BPF context is a `struct pt_regs` (or, for perf
/// events, starts with one).
fn has_registers(attach: &Attach) -> bool {
    matches!(
        attach,
        Attach::Kprobe { .. }
            | Attach::Uprobe { .. }
            | Attach::Perf { .. }
            | Attach::Interval { .. }
    )
}

impl Checker<'_> {
    /// The IR of a builtin this module lowers (`arg` is the argument of the
    /// call form, `pid(init)`), `Some(None)` after reporting an error, or
    /// `None` for every other builtin.
    pub(super) fn sys_builtin(
        &mut self,
        b: Builtin,
        arg: Option<&ast::Expr>,
        span: Span,
        scope: &ProbeScope,
    ) -> Option<Option<Expr>> {
        match b {
            Builtin::Pid | Builtin::Tid => Some(self.namespaced_pid(b == Builtin::Tid, arg, span)),
            Builtin::Usermode => Some(self.usermode(span, scope)),
            Builtin::Ppid => Some(self.task_member(b, "real_parent", "tgid", Type::U32, span)),
            Builtin::Pcomm => Some(self.task_member(b, "real_parent", "comm", Type::Str(16), span)),
            Builtin::LeaderTid => Some(self.task_member(b, "group_leader", "pid", Type::U32, span)),
            Builtin::LeaderComm => {
                Some(self.task_member(b, "group_leader", "comm", Type::Str(16), span))
            }
            Builtin::Probetype => {
                let kind = match scope.probe_name.split_once(':') {
                    Some((kind, _)) => kind.to_string(),
                    None => "special".to_string(),
                };
                let len = u32::try_from(kind.len() + 1).unwrap_or(u32::MAX);
                Some(Some(typed(ExprKind::Str(kind), Type::Str(len), span)))
            }
            Builtin::HasCpid => Some(Some(typed(
                ExprKind::Bool(self.options.target.has_child),
                Type::Bool,
                span,
            ))),
            _ => None,
        }
    }

    /// A builtin called with parentheses: `pid()`, `pid(init)`, `comm()`.
    pub(super) fn builtin_call(
        &mut self,
        b: Builtin,
        name: &str,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        match (b, args) {
            (_, []) => self.ident(name, span, scope),
            (Builtin::Pid | Builtin::Tid, [arg]) => self.sys_builtin(b, Some(arg), span, scope)?,
            (Builtin::Comm, [arg]) => self.comm_of_pid(arg, span, scope),
            (Builtin::Nsecs, [arg]) => self.clock(arg, span),
            (Builtin::Ppid | Builtin::Pcomm, [arg]) => self.parent_of_task(b, arg, span, scope),
            _ => {
                let takes = if matches!(b, Builtin::Pid | Builtin::Tid) {
                    "at most one argument (`curr_ns` or `init`)"
                } else if b == Builtin::Nsecs {
                    "at most one argument (`boot`, `monotonic`, `tai` or `sw_tai`)"
                } else if b == Builtin::Comm {
                    "at most one argument (a pid)"
                } else if matches!(b, Builtin::Ppid | Builtin::Pcomm) {
                    "at most one argument (a `struct task_struct *`)"
                } else {
                    "no arguments"
                };
                self.error(
                    Diagnostic::error("E0390", format!("`{name}()` takes {takes}"), span)
                        .label("unexpected arguments")
                        .help(format!("write `{name}`")),
                );
                None
            }
        }
    }

    /// `nsecs(boot|monotonic|tai|sw_tai)`: the named clock (`sw_tai`,
    /// bpftrace's stand-in for kernels without a TAI helper, reads the
    /// kernel's TAI clock).
    fn clock(&mut self, arg: &ast::Expr, span: Span) -> Option<Expr> {
        let clock = match &arg.kind {
            ast::ExprKind::Ident(mode) if mode == "boot" => crate::ir::Clock::Boot,
            ast::ExprKind::Ident(mode) if mode == "monotonic" => crate::ir::Clock::Monotonic,
            ast::ExprKind::Ident(mode) if mode == "tai" || mode == "sw_tai" => {
                crate::ir::Clock::Tai
            }
            _ => {
                self.error(
                    Diagnostic::error("E0390", "`nsecs()` takes a clock name", arg.span)
                        .label("not a clock")
                        .help("use `boot` (the default), `monotonic`, `tai` or `sw_tai`"),
                );
                return None;
            }
        };
        Some(typed(ExprKind::Clock(clock), Type::U64, span))
    }

    /// `pid`/`tid`, as seen from ferrotrace's pid namespace (`curr_ns`,
    /// the default) or from the initial one (`init`).
    fn namespaced_pid(
        &mut self,
        thread: bool,
        arg: Option<&ast::Expr>,
        span: Span,
    ) -> Option<Expr> {
        let builtin = if thread { Builtin::Tid } else { Builtin::Pid };
        let init = match arg.map(|a| &a.kind) {
            None => false,
            Some(ast::ExprKind::Ident(mode)) if mode == "curr_ns" => false,
            Some(ast::ExprKind::Ident(mode)) if mode == "init" => true,
            Some(_) => {
                let name = builtin.info().name;
                self.error(
                    Diagnostic::error(
                        "E0390",
                        format!("`{name}()` takes `curr_ns` or `init`"),
                        arg.map_or(span, |a| a.span),
                    )
                    .label("not a pid namespace mode")
                    .help(format!(
                        "`{name}(curr_ns)` (the default) is relative to ferrotrace's pid namespace, \
                         `{name}(init)` to the initial one"
                    )),
                );
                return None;
            }
        };
        let kind = match self.kernel.pid_namespace() {
            Some((dev, ino)) if !init => ExprKind::NsPid { thread, dev, ino },
            _ => ExprKind::Builtin(builtin),
        };
        Some(typed(kind, Type::U32, span))
    }

    /// `usermode`: 1 when the interrupted code ran in user mode (`cs & 3`).
    fn usermode(&mut self, span: Span, scope: &ProbeScope) -> Option<Expr> {
        self.needs_registers("usermode", span, scope)?;
        let cs = typed(ExprKind::Register { offset: CS }, Type::U64, span);
        let three = || typed(ExprKind::Int(3), Type::U64, span);
        let rpl = typed(
            ExprKind::Binary {
                op: BinaryOp::BitAnd,
                lhs: Box::new(cs),
                rhs: Box::new(three()),
            },
            Type::U64,
            span,
        );
        let user = typed(
            ExprKind::Binary {
                op: BinaryOp::Eq,
                lhs: Box::new(rpl),
                rhs: Box::new(three()),
            },
            Type::Bool,
            span,
        );
        Some(convert(user, &u8_type()))
    }

    /// Reports `what` used in a probe whose context holds no registers.
    fn needs_registers(&mut self, what: &str, span: Span, scope: &ProbeScope) -> Option<()> {
        if has_registers(&scope.attach) {
            return Some(());
        }
        self.error(
            Diagnostic::error(
                "E0391",
                format!("`{what}` needs the registers of the interrupted code, which `{}` does not have", scope.probe_name),
                span,
            )
            .label("no registers in this probe")
            .help("registers exist in kprobe, uprobe, usdt, profile, interval, software and hardware probes"),
        );
        None
    }

    /// `MEMBER->FIELD` of the current task: `ppid`, `pcomm`, `leader_*`.
    fn task_member(
        &mut self,
        b: Builtin,
        member: &str,
        field: &str,
        ty: Type,
        span: Span,
    ) -> Option<Expr> {
        let task = typed(ExprKind::Builtin(Builtin::Curtask), Type::U64, span);
        self.task_member_of(b, task, member, field, ty, span)
    }

    /// `MEMBER->FIELD` of the task at address `task` (`ppid(task)`).
    pub(super) fn task_member_of(
        &mut self,
        b: Builtin,
        task: Expr,
        member: &str,
        field: &str,
        ty: Type,
        span: Span,
    ) -> Option<Expr> {
        let member_off = self.task_offset(b, member, span)?;
        let field_off = self.task_offset(b, field, span)?;
        let other = typed(
            ExprKind::KernelRead {
                addr: Box::new(task),
                offset: member_off,
            },
            Type::U64,
            span,
        );
        Some(typed(
            ExprKind::KernelRead {
                addr: Box::new(other),
                offset: field_off,
            },
            ty,
            span,
        ))
    }

    fn task_offset(&mut self, b: Builtin, field: &str, span: Span) -> Option<u32> {
        let why = match self.kernel.field_offset("task_struct", field) {
            Ok(Some(off)) => return Some(off),
            Ok(None) => format!("the kernel's `struct task_struct` has no member `{field}`"),
            Err(why) => why,
        };
        self.error(
            Diagnostic::error(
                "E0392",
                format!("`{}` cannot be read on this kernel", b.info().name),
                span,
            )
            .label("needs `struct task_struct` from BTF")
            .note(why),
        );
        None
    }

    /// The functions of this module that return a value.
    pub(super) fn sys_call(
        &mut self,
        f: Function,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        match f {
            Function::Reg => {
                let name = self.literal_arg(f, args.first()?)?;
                self.needs_registers("reg()", span, scope)?;
                let Some((_, offset)) = PT_REGS.iter().find(|(n, _)| *n == name) else {
                    let names: Vec<&str> = PT_REGS.iter().map(|(n, _)| *n).collect();
                    let mut d = Diagnostic::error(
                        "E0393",
                        format!("`{name}` is not an x86-64 register name"),
                        args.first()?.span,
                    )
                    .label("unknown register");
                    if let Some(n) = ferrotrace_stdlib::nearest(&name, names.iter().copied()) {
                        d = d.help(format!("did you mean `{n}`?"));
                    }
                    self.error(d.note(format!("the names are: {}", names.join(", "))));
                    return None;
                };
                Some(typed(
                    ExprKind::Register { offset: *offset },
                    Type::U64,
                    span,
                ))
            }
            Function::Uaddr => self.uaddr(args.first()?, span, scope),
            Function::Kptr | Function::Uptr => {
                let space = if f == Function::Kptr {
                    AddrSpace::Kernel
                } else {
                    AddrSpace::User
                };
                let p = self.address_arg(f, args.first()?, scope)?;
                let pointee = match &p.ty {
                    Type::Ptr { pointee, .. } => pointee.clone(),
                    _ => Box::new(u8_type()),
                };
                Some(convert(p, &Type::Ptr { pointee, space }))
            }
            Function::IsErr => {
                let p = self.address_arg(f, args.first()?, scope)?;
                Some(typed(
                    ExprKind::Binary {
                        op: BinaryOp::Ge,
                        lhs: Box::new(convert(p, &Type::U64)),
                        rhs: Box::new(typed(ExprKind::Int(FIRST_ERR_PTR), Type::U64, span)),
                    },
                    Type::Bool,
                    span,
                ))
            }
            Function::Cgroupid => {
                let path = self.literal_arg(f, args.first()?)?;
                let arg_span = args.first()?.span;
                let why = match self.kernel.cgroup_id(&path) {
                    Ok(Some(id)) => return Some(typed(ExprKind::Int(id), Type::U64, span)),
                    Ok(None) => format!("there is no cgroup at `{path}`"),
                    Err(why) => why,
                };
                self.error(
                    Diagnostic::error("E0394", format!("cannot find the cgroup id of `{path}`"), arg_span)
                        .label("cgroup path")
                        .note(why)
                        .help("give the cgroup's directory in the cgroup2 mount, e.g. `/sys/fs/cgroup/system.slice`"),
                );
                None
            }
            Function::CgroupPath => {
                if let Some(filter_arg) = args.get(1) {
                    let filter = self.literal_arg(f, filter_arg)?;
                    if !glob_match(&filter, "unified") {
                        self.error(
                            Diagnostic::error(
                                "E0394",
                                format!("the filter `{filter}` matches no cgroup hierarchy ferrotrace reads"),
                                filter_arg.span,
                            )
                            .label("matches nothing")
                            .help("ferrotrace resolves cgroup v2 paths, whose hierarchy is named `unified`: use `\"*\"` or `\"unified\"`"),
                        );
                        return None;
                    }
                }
                let id = self.int_expr(args.first()?, scope)?;
                Some(typed(
                    ExprKind::SymbolOf(Box::new(convert(id, &Type::U64))),
                    Type::Named(NameTable::CgroupPath),
                    span,
                ))
            }
            Function::PercpuKaddr => {
                let name = self.literal_arg(f, args.first()?)?;
                let arg_span = args.first()?.span;
                let why = match self.kernel.kernel_symbol_address(&name) {
                    Ok(Some(_)) => "reading per-CPU variables needs their BTF variable ids \
                                    (`bpf_this_cpu_ptr`), which ferrotrace does not resolve yet"
                        .to_string(),
                    Ok(None) => format!(
                        "`{name}` is not in /proc/kallsyms: this kernel lists only functions there \
                         (it was built without CONFIG_KALLSYMS_ALL), so per-CPU variables cannot be found"
                    ),
                    Err(why) => why,
                };
                self.error(
                    Diagnostic::error(
                        "E0395",
                        format!("`percpu_kaddr(\"{name}\")` is not available"),
                        arg_span,
                    )
                    .label("per-CPU kernel variable")
                    .note(why),
                );
                None
            }
            Function::SocketCookie => {
                let sk = self.address_arg(f, args.first()?, scope)?;
                if !matches!(scope.attach, Attach::Fentry { .. }) {
                    self.error(
                        Diagnostic::error(
                            "E0396",
                            format!("`socket_cookie()` is not available in `{}`", scope.probe_name),
                            span,
                        )
                        .label("needs a BTF-typed `struct sock *`")
                        .help("the kernel accepts only a socket pointer it knows the type of: use it in an fentry or fexit probe, e.g. `fentry:tcp_rcv_established { @[socket_cookie(args.sk)] = count(); }`"),
                    );
                    return None;
                }
                Some(typed(
                    ExprKind::SocketCookie(Box::new(convert(sk, &Type::U64))),
                    Type::U64,
                    span,
                ))
            }
            Function::WriteUser => self.write_user(args, span, scope),
            _ => None,
        }
    }

    /// The statements of this module: `assert`, `static_assert`,
    /// `signal_thread`, `override`.
    pub(super) fn sys_stmt(
        &mut self,
        f: Function,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        match f {
            Function::Assert => {
                if scope.vars.in_for_loop > 0 {
                    self.error(
                        Diagnostic::error(
                            "E0400",
                            "`assert()` is not allowed inside a `for` loop",
                            span,
                        )
                        .label("inside the loop body")
                        .help("a failed assert exits, which a loop body cannot do: set a flag in the loop and assert after it"),
                    );
                    return None;
                }
                let cond = self.condition(args.first()?, scope);
                let message = self.literal_arg(f, args.get(1)?)?;
                let failed = self.action(Action::AssertFailed { message, span }, Vec::new());
                let exit = StmtKind::Exit {
                    code: Some(typed(ExprKind::Int(1), Type::I64, span)),
                };
                let not = typed(
                    ExprKind::Unary {
                        op: UnaryOp::Not,
                        operand: Box::new(cond?),
                    },
                    Type::Bool,
                    span,
                );
                Some(StmtKind::If {
                    cond: not,
                    then: vec![Stmt { kind: failed, span }, Stmt { kind: exit, span }],
                    otherwise: Vec::new(),
                })
            }
            Function::StaticAssert => {
                let cond = self.expr(args.first()?, scope);
                let message = self.literal_arg(f, args.get(1)?)?;
                let cond = cond?;
                match const_value(&cond) {
                    Some(0) => {
                        self.error(
                            Diagnostic::error("E0397", message, args.first()?.span)
                                .label("static_assert() condition is false"),
                        );
                        None
                    }
                    Some(_) => Some(StmtKind::Block(Vec::new())),
                    None => {
                        self.error(
                            Diagnostic::error(
                                "E0397",
                                "the condition of `static_assert()` is not known when the script is compiled",
                                args.first()?.span,
                            )
                            .label("depends on the probe's values")
                            .help("use `assert(cond, msg)` to check a value while tracing"),
                        );
                        None
                    }
                }
            }
            Function::SignalThread => {
                let sent = self.signal(args.first()?, span, scope)?;
                let ExprKind::Signal(sig) = sent.kind else {
                    return None;
                };
                Some(StmtKind::Expr(typed(
                    ExprKind::SignalThread(sig),
                    Type::I64,
                    span,
                )))
            }
            Function::Override => {
                let rc = self.int_expr(args.first()?, scope)?;
                if !matches!(scope.attach, Attach::Kprobe { ret: false, .. }) {
                    self.error(
                        Diagnostic::error(
                            "E0398",
                            format!("`override()` is not available in `{}`", scope.probe_name),
                            span,
                        )
                        .label("only in kprobes")
                        .help("override() replaces the return value of the kernel function a kprobe stops at"),
                    );
                    return None;
                }
                Some(StmtKind::Expr(typed(
                    ExprKind::Override(Box::new(convert(rc, &Type::U64))),
                    Type::I64,
                    span,
                )))
            }
            _ => None,
        }
    }

    /// A string literal argument of `f`.
    fn literal_arg(&mut self, f: Function, arg: &ast::Expr) -> Option<String> {
        if let ast::ExprKind::Str(s) = &arg.kind {
            return Some(s.clone());
        }
        self.error(
            Diagnostic::error(
                "E0399",
                format!("`{}()` needs a string literal here", f.info().name),
                arg.span,
            )
            .label("not a string literal")
            .help(format!("the signature is `{}`", f.info().signature)),
        );
        None
    }

    /// An integer or pointer argument of `f`.
    fn address_arg(
        &mut self,
        f: Function,
        arg: &ast::Expr,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let e = self.expr(arg, scope)?;
        if matches!(e.ty, Type::Int { .. } | Type::Ptr { .. }) {
            return Some(e);
        }
        self.error(
            Diagnostic::error(
                "E0399",
                format!(
                    "`{}()` needs an address, not {}",
                    f.info().name,
                    describe(&e.ty)
                ),
                arg.span,
            )
            .label("not an integer or a pointer"),
        );
        None
    }

    /// `uaddr("sym")`: the symbol's address in the traced binary. In a
    /// position-independent binary the symbol's link-time address is moved
    /// by the load bias, found from the probe's own address: `ip` when the
    /// probe fires minus the probe's link-time address.
    fn uaddr(&mut self, arg: &ast::Expr, span: Span, scope: &ProbeScope) -> Option<Expr> {
        let name = self.literal_arg(Function::Uaddr, arg)?;
        let Attach::Uprobe {
            binary,
            offset,
            retprobe,
            ..
        } = &scope.attach
        else {
            self.error(
                Diagnostic::error(
                    "E0393",
                    format!("`uaddr()` is not available in `{}`", scope.probe_name),
                    span,
                )
                .label("not a user-space probe")
                .help(
                    "uaddr() names a symbol of the binary a uprobe, uretprobe or usdt probe traces",
                ),
            );
            return None;
        };
        let found = self
            .kernel
            .user_symbol(binary, &name)
            .and_then(|s| Ok((s, self.kernel.user_object(binary)?)));
        let (symbol, object) = match found {
            Ok((Some(s), object)) => (s, object),
            Ok((None, _)) => {
                self.error(
                    Diagnostic::error(
                        "E0393",
                        format!("`{binary}` has no symbol `{name}`"),
                        arg.span,
                    )
                    .label("unknown symbol")
                    .help(format!(
                        "`nm -D {binary}` or `nm {binary}` lists its symbols"
                    )),
                );
                return None;
            }
            Err(why) => {
                self.error(
                    Diagnostic::error(
                        "E0393",
                        format!("cannot read the symbols of `{binary}`"),
                        arg.span,
                    )
                    .label("symbol lookup")
                    .note(why),
                );
                return None;
            }
        };
        let ty = Type::Ptr {
            pointee: Box::new(sized_pointee(symbol.size)),
            space: AddrSpace::User,
        };
        let position_independent = object.segments.iter().map(|s| s.vaddr).min() == Some(0);
        if !position_independent {
            return Some(typed(ExprKind::Int(symbol.address), ty, span));
        }
        let probe_vaddr = object
            .segments
            .iter()
            .find(|s| *offset >= s.offset && *offset - s.offset < s.memsz.max(1))
            .map(|s| *offset - s.offset + s.vaddr);
        let (Some(probe_vaddr), false) = (probe_vaddr, *retprobe) else {
            self.error(
                Diagnostic::error(
                    "E0393",
                    format!("`uaddr()` cannot place `{name}` in `{}`", scope.probe_name),
                    span,
                )
                .label("load address unknown here")
                .help("in a position-independent binary the address is found from where the probe fired; use a uprobe (not a uretprobe) on the same binary"),
            );
            return None;
        };
        let ip = typed(ExprKind::Register { offset: IP }, Type::U64, span);
        let delta = symbol.address.wrapping_sub(probe_vaddr);
        let sum = typed(
            ExprKind::Binary {
                op: BinaryOp::Add,
                lhs: Box::new(ip),
                rhs: Box::new(typed(ExprKind::Int(delta), Type::U64, span)),
            },
            Type::U64,
            span,
        );
        Some(convert(sum, &ty))
    }

    /// `write_user(dst, src, len)`: `len` is an integer literal no larger
    /// than `src`.
    fn write_user(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let dst = self.address_arg(Function::WriteUser, args.first()?, scope);
        let src = self.expr(args.get(1)?, scope);
        let len_arg = args.get(2)?;
        let (dst, src) = (dst?, src?);
        let capacity = match &src.ty {
            Type::Str(n) => *n,
            Type::Int { .. } | Type::Bool | Type::Ptr { .. } => 8,
            other => {
                self.error(
                    Diagnostic::error(
                        "E0399",
                        format!(
                            "`write_user()` writes a string or an integer, not {}",
                            describe(other)
                        ),
                        args.get(1)?.span,
                    )
                    .label("cannot be written"),
                );
                return None;
            }
        };
        let len = match &len_arg.kind {
            ast::ExprKind::Int(n) if *n >= 1 && *n <= u64::from(capacity) => *n as u32,
            _ => {
                self.error(
                    Diagnostic::error(
                        "E0399",
                        format!("the length of `write_user()` must be an integer literal from 1 to {capacity}"),
                        len_arg.span,
                    )
                    .label("not a length the source can give")
                    .help(format!("the source holds {capacity} bytes")),
                );
                return None;
            }
        };
        let src = if src.ty.is_int() || matches!(src.ty, Type::Bool | Type::Ptr { .. }) {
            convert(src, &Type::U64)
        } else {
            src
        };
        Some(typed(
            ExprKind::WriteUser {
                dst: Box::new(convert(dst, &Type::U64)),
                src: Box::new(src),
                len,
            },
            Type::Bool,
            span,
        ))
    }
}

/// The value of a condition made only of constants, or `None`.
fn const_value(e: &Expr) -> Option<i128> {
    Some(match &e.kind {
        ExprKind::Int(v) => {
            if e.ty.is_signed() {
                i128::from(*v as i64)
            } else {
                i128::from(*v)
            }
        }
        ExprKind::Bool(b) => i128::from(*b),
        ExprKind::Cast(inner) => const_value(inner)?,
        ExprKind::Unary { op, operand } => {
            let v = const_value(operand)?;
            match op {
                UnaryOp::Not => i128::from(v == 0),
                UnaryOp::Neg => -v,
                UnaryOp::BitNot => !v,
            }
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let (a, b) = (const_value(lhs)?, const_value(rhs)?);
            match op {
                BinaryOp::Eq => i128::from(a == b),
                BinaryOp::Ne => i128::from(a != b),
                BinaryOp::Lt => i128::from(a < b),
                BinaryOp::Le => i128::from(a <= b),
                BinaryOp::Gt => i128::from(a > b),
                BinaryOp::Ge => i128::from(a >= b),
                BinaryOp::And => i128::from(a != 0 && b != 0),
                BinaryOp::Or => i128::from(a != 0 || b != 0),
                BinaryOp::Add => a.checked_add(b)?,
                BinaryOp::Sub => a.checked_sub(b)?,
                BinaryOp::Mul => a.checked_mul(b)?,
                _ => return None,
            }
        }
        _ => return None,
    })
}
