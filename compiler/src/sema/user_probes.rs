//! Resolves user-space attach points — `uprobe`, `uretprobe` and `usdt` —
//! into concrete probes, and the names their action blocks can read
//! (`argN`, `retval`, `func`). Binaries, symbols and USDT notes come from
//! `KernelInfo`; one attach point with a wildcard becomes one probe per
//! matching function or note, each attached at a file offset.

#![allow(
    clippy::result_large_err,
    reason = "a Diagnostic is returned at most once per attach point, on the error path only"
)]

use super::probes::Resolved;
use super::{Checker, ProbeScope, Target};
use crate::diagnostics::Diagnostic;
use crate::ir::{Attach, BinaryOp, Expr, ExprKind, Type};
use crate::kernel::KernelInfo;
use crate::source::Span;
use crate::syntax::ast::{AttachPart, AttachPoint};
use crate::user_space::{
    library_matches, parse_usdt_arg, UsdtArg, UsdtLocation, UserObject, UserSymbol, ARG_REGISTERS,
    RETURN_REGISTER, STACK_POINTER,
};
use ferrotrace_stdlib::builtins::arg_index;
use ferrotrace_stdlib::{nearest, Builtin, ProbeKind};

/// What a user-space probe's body can read besides the common builtins.
#[derive(Debug, Clone)]
pub(super) struct UserContext {
    kind: ProbeKind,
    /// The function (or USDT probe) name, for `func`.
    func: String,
    /// The USDT probe's arguments, decoded or why they cannot be (an error
    /// only when the script reads that argument).
    usdt_args: Vec<Result<UsdtArg, String>>,
}

/// Whether `ap` is a user-space attach point this module resolves.
pub(super) fn is_user(ap: &AttachPoint) -> bool {
    ap.parts
        .first()
        .and_then(|p| ProbeKind::lookup(&p.text))
        .is_some_and(|(k, _)| {
            matches!(
                k,
                ProbeKind::Uprobe | ProbeKind::Uretprobe | ProbeKind::Usdt
            )
        })
}

/// Resolves a user-space attach point into its concrete probes.
pub(super) fn resolve(
    ap: &AttachPoint,
    kernel: &dyn KernelInfo,
    target: &Target,
) -> Result<Vec<(Resolved, UserContext)>, Diagnostic> {
    let kind = ap
        .parts
        .first()
        .and_then(|p| ProbeKind::lookup(&p.text))
        .map(|(k, _)| k)
        .unwrap_or(ProbeKind::Uprobe);
    if kind == ProbeKind::Usdt {
        return usdt(ap, kernel, target);
    }
    uprobe(ap, kind, kernel, target)
}

fn malformed(ap: &AttachPoint, shape: &str) -> Diagnostic {
    Diagnostic::error(
        "E0102",
        format!("malformed attach point `{}`", ap.raw),
        ap.span,
    )
    .label("not a valid attach point for this kind")
    .help(format!("write it as `{shape}`"))
}

/// Resolves the binary part to an absolute path.
fn binary(
    part: &AttachPart,
    kernel: &dyn KernelInfo,
    target: &Target,
) -> Result<String, Diagnostic> {
    let linked_by_command = || {
        let command = target.command.as_deref()?;
        if part.text.contains('/') {
            return None;
        }
        let libs = kernel.linked_libraries(command).ok()?;
        libs.into_iter()
            .find(|lib| library_matches(lib.rsplit('/').next().unwrap_or(lib), &part.text))
    };
    match kernel.user_binary(&part.text, target.pid) {
        Ok(Some(path)) => Ok(path),
        Ok(None) => linked_by_command().ok_or_else(|| {
            Diagnostic::error(
                "E0106",
                format!("binary `{}` does not exist", part.text),
                part.span,
            )
            .label("no such file or library")
            .help("give a path to an ELF file, or a library's short name such as `libc`")
        }),
        Err(reason) => Err(Diagnostic::error(
            "E0105",
            format!("cannot resolve binary `{}`", part.text),
            part.span,
        )
        .label("needed to resolve this probe")
        .note(reason)),
    }
}

/// The binary `*`: every ELF object the `-p` process maps, with its pid.
fn process_binaries(
    bin: &AttachPart,
    kind: ProbeKind,
    kernel: &dyn KernelInfo,
    target: &Target,
) -> Result<(u32, Vec<String>), Diagnostic> {
    let Some(pid) = target.pid else {
        return Err(Diagnostic::error(
            "E0102",
            format!("`{}:*` needs a process to look in", kind.name()),
            bin.span,
        )
        .label("every binary")
        .help("give a process with `-p PID`, or name the binary"));
    };
    let objects = kernel.process_objects(pid).map_err(|reason| {
        Diagnostic::error(
            "E0105",
            format!("cannot read the memory map of process {pid}"),
            bin.span,
        )
        .note(reason)
    })?;
    Ok((pid, objects))
}

fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// A case-sensitive glob over whole names, where `*` also matches `:`.
fn glob(pattern: &str, span: Span) -> Result<globset::GlobMatcher, Diagnostic> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| {
            Diagnostic::error(
                "E0102",
                format!("invalid wildcard pattern `{pattern}`"),
                span,
            )
            .label("this pattern")
            .note(e.to_string())
        })
}

/// A demangled C++ name without its parameter list: `ns::f(int)` → `ns::f`.
fn without_params(demangled: &str) -> &str {
    demangled.find('(').map_or(demangled, |i| &demangled[..i])
}

/// The names a symbol answers to: its own and, for C++, the demangled
/// name with and without parameters.
fn names_of(sym: &UserSymbol, cpp: bool) -> impl Iterator<Item = &str> {
    let own = (!cpp).then_some(sym.name.as_str());
    let demangled = sym.demangled.as_deref();
    own.into_iter()
        .chain(demangled)
        .chain(demangled.map(without_params))
}

/// Splits `func+off`; the offset is decimal or `0x` hex.
fn split_offset(text: &str) -> Option<(&str, u64)> {
    let (name, off) = text.rsplit_once('+')?;
    let off = match off.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => off.parse().ok()?,
    };
    Some((name, off))
}

fn parse_address(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None if text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        None => None,
    }
}

fn uprobe(
    ap: &AttachPoint,
    kind: ProbeKind,
    kernel: &dyn KernelInfo,
    target: &Target,
) -> Result<Vec<(Resolved, UserContext)>, Diagnostic> {
    let shape = format!("{}:BINARY:FUNCTION[+OFFSET]", kind.name());
    let retprobe = kind == ProbeKind::Uretprobe;
    // `uprobe:BIN:cpp:NAME` names a C++ function by its demangled name;
    // the name may itself contain `:`, so the rest of the parts is rejoined.
    let (func_text, func_span, cpp) = match ap.parts.len() {
        3 => (ap.parts[2].text.clone(), ap.parts[2].span, false),
        n if n >= 4 && ap.parts[2].text == "cpp" => {
            let rest: Vec<&str> = ap.parts[3..].iter().map(|p| p.text.as_str()).collect();
            (
                rest.join(":"),
                ap.parts[3].span.to(ap.parts[n - 1].span),
                true,
            )
        }
        _ => return Err(malformed(ap, &shape)),
    };
    if func_text.is_empty() || ap.parts[1].text.is_empty() {
        return Err(malformed(ap, &shape));
    }
    let f = FuncSpec {
        ap,
        kind,
        text: func_text,
        span: func_span,
        cpp,
        shape,
        retprobe,
        mangled_func: target.mangled_func,
    };
    let bin = &ap.parts[1];
    if bin.text != "*" {
        return f.resolve_in(binary(bin, kernel, target)?, kernel);
    }
    // `uprobe:*:FUNCTION` with -p: every object the process maps.
    let (pid, objects) = process_binaries(bin, kind, kernel, target)?;
    let mut out = Vec::new();
    for path in objects {
        // Objects without the function are skipped; only no match at all is an error.
        if let Ok(found) = f.resolve_in(path, kernel) {
            out.extend(found);
        }
    }
    if out.is_empty() {
        return Err(Diagnostic::error(
            "E0103",
            format!("no object of process {pid} has a function `{}`", f.text),
            f.span,
        )
        .label("matches nothing"));
    }
    Ok(out)
}

/// The function part of a uprobe attach point.
struct FuncSpec<'a> {
    ap: &'a AttachPoint,
    kind: ProbeKind,
    text: String,
    span: Span,
    cpp: bool,
    shape: String,
    retprobe: bool,
    /// `cpp_demangle = false`: `func` is the mangled name.
    mangled_func: bool,
}

impl FuncSpec<'_> {
    /// The probes this function part names in the ELF file at `path`.
    fn resolve_in(
        &self,
        path: String,
        kernel: &dyn KernelInfo,
    ) -> Result<Vec<(Resolved, UserContext)>, Diagnostic> {
        let FuncSpec {
            ap,
            kind,
            span: func_span,
            cpp,
            retprobe,
            ..
        } = *self;
        let (func_text, shape) = (&self.text, &self.shape);
        let object = kernel.user_object(&path).map_err(|reason| {
            Diagnostic::error(
                "E0105",
                format!("cannot read the symbols of `{path}`"),
                ap.parts[1].span,
            )
            .label("needed to resolve this probe")
            .note(reason)
        })?;
        let make = |name: String, func: String, offset: u64| {
            (
                Resolved {
                    name: format!("{}:{path}:{name}", kind.name()),
                    attach: Attach::Uprobe {
                        binary: path.clone(),
                        offset,
                        retprobe,
                        ref_ctr_offset: None,
                    },
                    tracepoint: None,
                    context: Default::default(),
                },
                UserContext {
                    kind,
                    func,
                    usdt_args: Vec::new(),
                },
            )
        };
        let not_mapped = |what: &str| {
            Diagnostic::error(
                "E0103",
                format!("{what} is not in a loadable segment of `{path}`"),
                func_span,
            )
            .label("cannot be turned into a file offset")
        };
        if let Some(addr) = parse_address(func_text) {
            let offset = object
                .file_offset(addr)
                .ok_or_else(|| not_mapped(&format!("address {addr:#x}")))?;
            let func = containing(&object, addr).unwrap_or_else(|| format!("{addr:#x}"));
            return Ok(vec![make(format!("{addr:#x}"), func, offset)]);
        }
        let (pattern, extra) = split_offset(func_text).unwrap_or((func_text, 0));
        if has_wildcard(pattern) {
            if extra != 0 {
                return Err(malformed(ap, shape).note("an offset cannot follow a wildcard"));
            }
            let matcher = glob(pattern, func_span)?;
            let mut matches: Vec<&UserSymbol> = object
                .symbols
                .iter()
                .filter(|s| names_of(s, cpp).any(|n| matcher.is_match(n)))
                .collect();
            matches.sort_by(|a, b| a.name.cmp(&b.name));
            // Aliases (several names at one address) are attached once.
            let mut seen = std::collections::HashSet::new();
            matches.retain(|s| seen.insert(s.address));
            if matches.is_empty() {
                return Err(Diagnostic::error(
                    "E0103",
                    format!("no function of `{path}` matches `{pattern}`"),
                    func_span,
                )
                .label("matches nothing")
                .help(format!(
                    "list the functions with `ferrotrace -l 'uprobe:{path}:*'`"
                )));
            }
            return matches
                .into_iter()
                .map(|s| {
                    let offset = object
                        .file_offset(s.address)
                        .ok_or_else(|| not_mapped(&format!("function `{}`", s.name)))?;
                    Ok(make(
                        display_name(s),
                        func_name(s, self.mangled_func),
                        offset,
                    ))
                })
                .collect();
        }
        let Some(sym) = object
            .symbols
            .iter()
            .find(|s| names_of(s, cpp).any(|n| n == pattern))
        else {
            let mut d = Diagnostic::error(
                "E0103",
                format!("function `{pattern}` does not exist in `{path}`"),
                func_span,
            )
            .label("no such function");
            let candidates = object.symbols.iter().flat_map(|s| names_of(s, cpp));
            if let Some(n) = nearest(pattern, candidates) {
                d = d.help(format!("did you mean `{n}`?"));
            } else {
                d = d.help(format!(
                    "list the functions with `ferrotrace -l 'uprobe:{path}:*'`"
                ));
            }
            return Err(d);
        };
        if extra > 0 && sym.size > 0 && extra >= sym.size {
            return Err(Diagnostic::error(
                "E0103",
                format!(
                    "offset {extra} is past the end of `{pattern}` ({} bytes)",
                    sym.size
                ),
                func_span,
            )
            .label("outside the function"));
        }
        let offset = object
            .file_offset(sym.address)
            .ok_or_else(|| not_mapped(&format!("function `{pattern}`")))?;
        let name = if extra > 0 {
            format!("{pattern}+{extra}")
        } else {
            pattern.to_string()
        };
        Ok(vec![make(
            name,
            func_name(sym, self.mangled_func),
            offset + extra,
        )])
    }
}

/// The name `func` and probe names show: C++ functions by their
/// demangled name without parameters, others as stored.
fn display_name(sym: &UserSymbol) -> String {
    match &sym.demangled {
        Some(d) => without_params(d).to_string(),
        None => sym.name.clone(),
    }
}

/// The `func` of a probe on `sym`: its display name, or the symbol as
/// stored under `cpp_demangle = false`.
fn func_name(sym: &UserSymbol, mangled: bool) -> String {
    if mangled {
        sym.name.clone()
    } else {
        display_name(sym)
    }
}

/// The name of the function containing `addr`, if any.
fn containing(object: &UserObject, addr: u64) -> Option<String> {
    object
        .symbols
        .iter()
        .find(|s| addr >= s.address && addr - s.address < s.size.max(1))
        .map(|s| s.name.clone())
}

fn usdt(
    ap: &AttachPoint,
    kernel: &dyn KernelInfo,
    target: &Target,
) -> Result<Vec<(Resolved, UserContext)>, Diagnostic> {
    const SHAPE: &str = "usdt:BINARY:[PROVIDER:]NAME";
    let (provider, name) = match ap.parts.len() {
        3 => (None, &ap.parts[2]),
        4 => (Some(&ap.parts[2]), &ap.parts[3]),
        _ => return Err(malformed(ap, SHAPE)),
    };
    if name.text.is_empty() || ap.parts[1].text.is_empty() {
        return Err(malformed(ap, SHAPE));
    }
    let bin = &ap.parts[1];
    let any_binary = bin.text == "*";
    let paths = if any_binary {
        process_binaries(bin, ProbeKind::Usdt, kernel, target)?.1
    } else {
        vec![binary(bin, kernel, target)?]
    };
    let search = UsdtSearch {
        names: glob(&name.text, name.span)?,
        providers: provider.map(|p| glob(&p.text, p.span)).transpose()?,
        bin,
    };
    let mut known = Vec::new();
    let mut out = search.collect(&paths, any_binary, kernel, &mut known)?;
    if out.is_empty() && !any_binary {
        // A named binary's probes may live in the libraries it links.
        let linked = kernel.linked_libraries(&paths[0]).unwrap_or_default();
        out = search.collect(&linked, true, kernel, &mut known)?;
    }
    if out.is_empty() {
        let wanted = match provider {
            Some(p) => format!("{}:{}", p.text, name.text),
            None => name.text.clone(),
        };
        let mut d = Diagnostic::error(
            "E0103",
            format!("no USDT probe `{wanted}` in `{}`", paths.join("`, `")),
            name.span,
        )
        .label("no such probe");
        if provider.is_none() {
            known = known
                .iter()
                .filter_map(|k| k.split_once(':').map(|(_, n)| n.to_string()))
                .collect();
        }
        if let Some(n) = nearest(&wanted, known.iter().map(String::as_str)) {
            d = d.help(format!("did you mean `{n}`?"));
        } else if !has_wildcard(&wanted) {
            d = d.help(format!(
                "list the probes with `ferrotrace -l 'usdt:{}:*'`",
                bin.text
            ));
        }
        return Err(d);
    }
    Ok(out)
}

/// What a `usdt` attach point looks for.
struct UsdtSearch<'a> {
    names: globset::GlobMatcher,
    providers: Option<globset::GlobMatcher>,
    bin: &'a AttachPart,
}

impl UsdtSearch<'_> {
    /// The matching probes of `paths`; `lenient` skips unreadable files.
    /// Every probe seen is added to `known` as `provider:name`.
    fn collect(
        &self,
        paths: &[String],
        lenient: bool,
        kernel: &dyn KernelInfo,
        known: &mut Vec<String>,
    ) -> Result<Vec<(Resolved, UserContext)>, Diagnostic> {
        let mut out = Vec::new();
        for path in paths {
            let probes = match kernel.usdt_probes(path) {
                Ok(p) => p,
                Err(_) if lenient => continue,
                Err(reason) => {
                    return Err(Diagnostic::error(
                        "E0105",
                        format!("cannot read the USDT notes of `{path}`"),
                        self.bin.span,
                    )
                    .note(reason))
                }
            };
            for p in probes {
                known.push(format!("{}:{}", p.provider, p.name));
                let provider_ok = self
                    .providers
                    .as_ref()
                    .is_none_or(|m| m.is_match(&p.provider));
                if !provider_ok || !self.names.is_match(&p.name) {
                    continue;
                }
                let args = p.args_text.split_whitespace().map(parse_usdt_arg).collect();
                out.push((
                    Resolved {
                        name: format!("usdt:{path}:{}:{}", p.provider, p.name),
                        attach: Attach::Uprobe {
                            binary: path.clone(),
                            offset: p.offset,
                            retprobe: false,
                            ref_ctr_offset: p.semaphore,
                        },
                        tracepoint: None,
                        context: Default::default(),
                    },
                    UserContext {
                        kind: ProbeKind::Usdt,
                        func: p.name.clone(),
                        usdt_args: args,
                    },
                ));
            }
        }
        Ok(out)
    }
}

/// With `-p PID`, probes that cannot be scoped to a process when attached
/// (tracepoints and the like) only run for that process, as in bpftrace:
/// `pid == PID` is and-ed in front of the predicate. BEGIN/END and the
/// tracer-run probes (self, test, bench) run in the tracer anyway; uprobes,
/// watchpoints and the every-CPU perf events (profile, software, hardware)
/// are scoped by the kernel when attached; interval timers are not tied to
/// a process.
pub(super) fn pid_filter(
    target: &Target,
    attach: &Attach,
    predicate: Option<Expr>,
    span: Span,
) -> Option<Expr> {
    let Some(pid) = target.pid else {
        return predicate;
    };
    if matches!(
        attach,
        Attach::Begin
            | Attach::End
            | Attach::Uprobe { .. }
            | Attach::Interval { .. }
            | Attach::Perf { .. }
            | Attach::Watchpoint { .. }
            | Attach::SelfSignal { .. }
            | Attach::Test { .. }
    ) {
        return predicate;
    }
    let expr = |kind, ty| Expr { kind, ty, span };
    let same_pid = expr(
        ExprKind::Binary {
            op: BinaryOp::Eq,
            lhs: Box::new(expr(ExprKind::Builtin(Builtin::Pid), Type::U32)),
            rhs: Box::new(expr(ExprKind::Int(u64::from(pid)), Type::U32)),
        },
        Type::Bool,
    );
    Some(match predicate {
        None => same_pid,
        Some(p) => expr(
            ExprKind::Binary {
                op: BinaryOp::And,
                lhs: Box::new(same_pid),
                rhs: Box::new(p),
            },
            Type::Bool,
        ),
    })
}

impl Checker<'_> {
    /// Resolves `argN`, `retval` and `func` in user-space probes, and
    /// rejects `retval`/`func` elsewhere. `None` means the name is not one
    /// of these and the caller goes on resolving it.
    pub(super) fn user_ident(
        &mut self,
        name: &str,
        span: Span,
        scope: &ProbeScope,
    ) -> Option<Option<Expr>> {
        if Builtin::lookup(name) == Some(Builtin::Cpid) && !self.options.target.has_child {
            self.error(
                Diagnostic::error("E0206", "`cpid` needs a command started with -c", span)
                    .label("there is no child process")
                    .help("run the script with `-c 'COMMAND ARGS'`"),
            );
            return Some(None);
        }
        let builtin =
            Builtin::lookup(name).filter(|b| matches!(b, Builtin::Retval | Builtin::Func));
        let arg = arg_index(name);
        if builtin.is_none() && arg.is_none() {
            return None;
        }
        let Some(user) = &scope.user else {
            // `argN` and `retval` of kernel probes come from their own context.
            let b = builtin.filter(|b| *b == Builtin::Func)?;
            if let Some(func) = self.kernel_func(scope, span) {
                return Some(Some(func));
            }
            self.error(
                Diagnostic::error(
                    "E0206",
                    format!("`{}` is not available in this probe", b.info().name),
                    span,
                )
                .label("no such value here")
                .note(b.info().doc),
            );
            return Some(None);
        };
        let typed = |kind, ty| Some(Some(Expr { kind, ty, span }));
        let unavailable = |what: &str, why: &str, help: &str| {
            Diagnostic::error(
                "E0206",
                format!("`{what}` is not available in {} probes", user.kind.name()),
                span,
            )
            .label(why.to_string())
            .help(help.to_string())
        };
        if let Some(n) = arg {
            let n = usize::from(n);
            return match user.kind {
                ProbeKind::Usdt => match user.usdt_args.get(n) {
                    Some(Ok(a)) => typed(
                        ExprKind::UsdtArg(*a),
                        if a.signed { Type::I64 } else { Type::U64 },
                    ),
                    Some(Err(why)) => {
                        self.error(
                            Diagnostic::error(
                                "E0107",
                                format!("cannot decode `{name}` of USDT probe `{}`", user.func),
                                span,
                            )
                            .label("its location is not understood")
                            .note(why.clone()),
                        );
                        Some(None)
                    }
                    None => {
                        self.error(
                            Diagnostic::error(
                                "E0206",
                                format!(
                                    "USDT probe `{}` has {} argument{}",
                                    user.func,
                                    user.usdt_args.len(),
                                    if user.usdt_args.len() == 1 { "" } else { "s" }
                                ),
                                span,
                            )
                            .label("no such argument"),
                        );
                        Some(None)
                    }
                },
                ProbeKind::Uretprobe => {
                    self.error(unavailable(
                        name,
                        "arguments are gone when the function returns",
                        "read it in a uprobe and keep it in a map keyed by tid",
                    ));
                    Some(None)
                }
                _ => match ARG_REGISTERS.get(n) {
                    Some(&offset) => typed(ExprKind::Register { offset }, Type::U64),
                    // Past the six argument registers, x86-64 passes
                    // arguments on the stack, above the return address.
                    None => typed(
                        ExprKind::UsdtArg(UsdtArg {
                            size: 8,
                            signed: false,
                            location: UsdtLocation::Memory {
                                pt_regs: STACK_POINTER,
                                displacement: 8 * (n as i64 - 5),
                            },
                        }),
                        Type::U64,
                    ),
                },
            };
        }
        match (builtin?, user.kind) {
            (Builtin::Retval, ProbeKind::Uretprobe) => typed(
                ExprKind::Register {
                    offset: RETURN_REGISTER,
                },
                Type::U64,
            ),
            (Builtin::Retval, _) => {
                self.error(unavailable(
                    "retval",
                    "the function has not returned yet",
                    "use a uretprobe on the same function",
                ));
                Some(None)
            }
            (Builtin::Func, ProbeKind::Uprobe | ProbeKind::Uretprobe) => {
                let len = u32::try_from(user.func.len() + 1).unwrap_or(u32::MAX);
                typed(ExprKind::Str(user.func.clone()), Type::Str(len))
            }
            (_, _) => {
                self.error(unavailable(
                    name,
                    "no function here",
                    "the `probe` name says which USDT probe fired",
                ));
                Some(None)
            }
        }
    }
}
