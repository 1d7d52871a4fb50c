//! Stage 2: AST → typed IR. Resolves every attach point (through the stdlib
//! catalogue and `KernelInfo`), expands each action block into one IR probe
//! per concrete attach point, resolves names, checks types and makes every
//! conversion explicit.
//!
//! Map types are global and may be assigned in a later probe than the one
//! that reads them, so checking runs twice over the script: the first pass
//! only infers each map's key and value types from its assignments (its
//! diagnostics are dropped); the second pass checks everything against that
//! fixed table and builds the IR. Both passes are linear in script size.

mod aggregate;
mod args_value;
mod cast;
mod config;
mod context;
mod ctypes;
mod datafns;
mod debugf;
mod expr;
mod int_ops;
mod lenfind;
mod loops;
mod macros;
mod mapfns;
mod more_config;
mod named;
mod params;
mod probes;
mod records;
mod scope;
mod special_probes;
mod stacks;
mod stmt;
mod strfns;
mod sysfns;
mod task_comm;
mod tseries;
mod tuples;
mod types;
mod unsafe_fns;
mod user_probes;
mod widths;

use crate::diagnostics::{has_errors, Diagnostic};
use crate::ir::{self, Format, MapDef, MapId, Type};
use crate::kernel::{KernelInfo, TracepointFormat};
use crate::source::Span;
use crate::syntax::ast::{Item, Script};
use std::collections::HashMap;

pub use probes::MissingProbes;
pub use types::tracepoint_field_type;
pub use types::MAX_STRLEN;

/// What the session traces, when the command line names a process: it
/// changes how user-space binaries resolve and whether `cpid` exists.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `-p PID`: libraries resolve through this process's mappings, and
    /// `usdt:*` means its mapped objects.
    pub pid: Option<u32>,
    /// `-c CMD` was given, so `cpid` has a value.
    pub has_child: bool,
    /// The `-c` command's program (absolute path): library short names
    /// also resolve through the libraries it links.
    pub command: Option<String>,
    /// `config = { cpp_demangle = false }`: `func` of a C++ uprobe is the
    /// mangled name (set by the checker from the config block).
    pub mangled_func: bool,
}

/// What the command line gives the checker besides the script.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Positional parameters `$1`..`$N`, in order.
    pub positional: Vec<String>,
    /// Named parameters (`--name=value` after `--`), read by `getopt()`.
    pub named: Vec<(String, String)>,
    /// `BPFTRACE_*` environment variables (full names), which override the
    /// script's `config` block.
    pub env: Vec<(String, String)>,
    /// `--unsafe`: functions that change the system (`system`, `signal`)
    /// may be used.
    pub allow_unsafe: bool,
    /// The process `-p` or `-c` names, for user-space probes and `cpid`.
    pub target: Target,
}

/// Checks a script and produces its typed IR, with every diagnostic found.
/// When any diagnostic is an error the program must not be passed on to
/// code generation.
pub fn analyze(script: &Script, kernel: &dyn KernelInfo) -> (ir::Program, Vec<Diagnostic>) {
    analyze_with(script, kernel, &Options::default())
}

/// `analyze` with positional parameters, named parameters and environment.
pub fn analyze_with(
    script: &Script,
    kernel: &dyn KernelInfo,
    options: &Options,
) -> (ir::Program, Vec<Diagnostic>) {
    let (mut settings, mut config_diags) = config::settings(script, options);
    more_config::size_ringbuf(&mut settings.more, kernel.possible_cpus());
    let (macro_defs, mut macro_diags) = macros::collect(script);
    config_diags.append(&mut macro_diags);
    let ctx = Context {
        options,
        settings: &settings,
        macros: &macro_defs,
    };
    let (preamble, mut c_diags) = ctypes::preamble(script);
    config_diags.append(&mut c_diags);
    let mut infer = Checker::new(kernel, Pass::Infer, MapTable::default(), &ctx);
    infer.c_preamble = preamble.records.clone();
    infer.c_constants = preamble.constants.clone();
    infer.script(script);
    let mut check = Checker::new(kernel, Pass::Check, infer.maps, &ctx);
    check.c_preamble = preamble.records;
    check.c_constants = preamble.constants;
    check.inferred_locals = infer.inferred_locals;
    check.diags.append(&mut config_diags);
    let probes = check.script(script);
    check.unique_test_names(&probes);
    if let Some(d) = more_config::check_bpf_progs(&settings.more, &probes) {
        check.diags.push(d);
    }
    if probes.is_empty() && !has_errors(&check.diags) {
        check.diags.push(
            Diagnostic::error("E0100", "the script has no probes", script.span)
                .help("add an action block, e.g. `BEGIN { printf(\"hello\\n\"); }`"),
        );
    }
    let program = ir::Program {
        probes,
        maps: check.maps.defs,
        formats: check.formats,
        settings: settings.clone(),
        actions: check.actions,
    };
    (program, check.diags)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Learn map types from assignments; diagnostics are discarded.
    Infer,
    /// Check against the learned map types and build the IR.
    Check,
}

/// The script's maps: definitions in first-assignment order, by name.
#[derive(Default)]
struct MapTable {
    defs: Vec<MapDef>,
    by_name: HashMap<String, MapId>,
}

/// What a probe's body can see while it is checked.
struct ProbeScope {
    tracepoint: Option<(String, TracepointFormat)>,
    /// The concrete probe's name (the `probe` builtin).
    probe_name: String,
    /// Where `argN` and `retval` are read from.
    args: probes::ArgContext,
    /// Set in uprobe, uretprobe and usdt probes.
    user: Option<user_probes::UserContext>,
    /// Types of the probe's scratch variables, indexed by `VarId`.
    locals: Vec<Type>,
    vars: scope::Scopes,
    /// In the check pass, the inference pass's types of the same locals:
    /// strings there have grown to the longest value assigned.
    inferred: Vec<Type>,
    /// Byte comparisons of the probe's `strstr`/`strcontains` calls so far
    /// (their buffer sizes multiplied), against the verifier's budget.
    strstr_cost: u64,
    /// Where the probe attaches (what `usermode`, `reg()` and `uaddr()`
    /// read; `path()` needs an fentry or iter probe).
    attach: ir::Attach,
}

/// What every pass reads besides the script: parameters, settings, macros.
struct Context<'k> {
    options: &'k Options,
    settings: &'k ir::Settings,
    macros: &'k HashMap<String, crate::syntax::ast::MacroDef>,
}

struct Checker<'k> {
    kernel: &'k dyn KernelInfo,
    pass: Pass,
    maps: MapTable,
    formats: Vec<Format>,
    actions: Vec<ir::Action>,
    diags: Vec<Diagnostic>,
    options: &'k Options,
    settings: &'k ir::Settings,
    macros: &'k HashMap<String, crate::syntax::ast::MacroDef>,
    /// Macro expansions so far (names each expansion's private variables).
    macro_calls: u32,
    /// Macro expansions enclosing the current one.
    macro_depth: u32,
    /// Per probe (in output order), the local types the inference pass
    /// ended with.
    inferred_locals: Vec<Vec<Type>>,
    /// C records looked up so far, by key (`None`: unknown).
    c_records: HashMap<String, Option<std::rc::Rc<crate::ctypes::CRecord>>>,
    /// The script's own C struct and union definitions, by name.
    c_preamble: HashMap<String, crate::ctypes::CRecord>,
    /// Enum constants of the script's C preamble.
    c_constants: HashMap<String, i64>,
    /// Printable layouts of struct values built so far, by record key.
    struct_types: HashMap<String, std::rc::Rc<ir::StructType>>,
}

impl<'k> Checker<'k> {
    fn new(
        kernel: &'k dyn KernelInfo,
        pass: Pass,
        maps: MapTable,
        ctx: &Context<'k>,
    ) -> Checker<'k> {
        Checker {
            kernel,
            pass,
            maps,
            formats: Vec::new(),
            actions: Vec::new(),
            diags: Vec::new(),
            options: ctx.options,
            settings: ctx.settings,
            macros: ctx.macros,
            macro_calls: 0,
            macro_depth: 0,
            inferred_locals: Vec::new(),
            c_records: HashMap::new(),
            c_preamble: HashMap::new(),
            c_constants: HashMap::new(),
            struct_types: HashMap::new(),
        }
    }

    fn error(&mut self, d: Diagnostic) {
        if self.pass == Pass::Check {
            self.diags.push(d);
        }
    }

    fn script(&mut self, script: &Script) -> Vec<ir::Probe> {
        let mut out = Vec::new();
        for item in &script.items {
            let Item::Probe(probe) = item else {
                continue;
            };
            let missing = probes::MissingProbes::from_setting(&self.settings.missing_probes);
            let mut resolved_all = Vec::new();
            for ap in &probe.attach_points {
                let ap = self.substitute_params(ap);
                if user_probes::is_user(&ap) {
                    let target = Target {
                        mangled_func: !self.settings.more.cpp_demangle,
                        ..self.options.target.clone()
                    };
                    match user_probes::resolve(&ap, self.kernel, &target) {
                        Ok(all) => {
                            resolved_all.extend(all.into_iter().map(|(r, u)| (ap.span, r, Some(u))))
                        }
                        Err(d) => {
                            if let Some(d) = probes::missing_policy(d, missing) {
                                self.error(d);
                            }
                        }
                    }
                    continue;
                }
                let (resolved, diags) = probes::resolve_all(&ap, self.kernel, missing);
                for d in diags {
                    self.error(d);
                }
                resolved_all.extend(resolved.into_iter().map(|r| (ap.span, r, None)));
            }
            for (span, resolved, user) in resolved_all {
                self.check_unsafe_attach(&resolved.attach, span);
                let mut scope = ProbeScope {
                    tracepoint: resolved.tracepoint,
                    probe_name: resolved.name.clone(),
                    args: resolved.context,
                    user,
                    locals: Vec::new(),
                    vars: scope::Scopes::new(),
                    inferred: self
                        .inferred_locals
                        .get(out.len())
                        .cloned()
                        .unwrap_or_default(),
                    strstr_cost: 0,
                    attach: resolved.attach.clone(),
                };
                let predicate = probe
                    .predicate
                    .as_ref()
                    .and_then(|p| self.condition(p, &mut scope));
                let predicate = user_probes::pid_filter(
                    &self.options.target,
                    &resolved.attach,
                    predicate,
                    span,
                );
                let body = self.block(&probe.body.stmts, &mut scope);
                if self.pass == Pass::Infer {
                    self.inferred_locals.push(scope.locals.clone());
                }
                out.push(ir::Probe {
                    name: resolved.name,
                    attach: resolved.attach,
                    predicate,
                    body,
                    locals: scope.locals,
                    span,
                });
            }
        }
        if self.pass == Pass::Check {
            self.iterators_alone(&out);
        }
        out
    }

    /// An `iter` probe runs once and ends the session, so it cannot share a
    /// script with probes that wait for events (BEGIN and END may stay).
    fn iterators_alone(&mut self, probes: &[ir::Probe]) {
        let Some(iter) = probes
            .iter()
            .find(|p| matches!(p.attach, ir::Attach::Iter { .. }))
        else {
            return;
        };
        let waits = |p: &&ir::Probe| {
            !matches!(
                p.attach,
                ir::Attach::Iter { .. } | ir::Attach::Begin | ir::Attach::End
            )
        };
        if let Some(other) = probes.iter().find(waits) {
            self.error(
                Diagnostic::error(
                    "E0480",
                    format!("`{}` cannot be combined with `{}`", iter.name, other.name),
                    other.span,
                )
                .label("waits for events")
                .help("an iter probe walks its objects once and ends the run: put it in a script of its own (BEGIN and END may stay)"),
            );
        }
    }

    /// Finds a map by name, or reports that it is never assigned.
    fn map_id(&mut self, name: &str, span: Span) -> Option<MapId> {
        let id = self.maps.by_name.get(name).copied();
        if id.is_none() {
            self.error(
                Diagnostic::error(
                    "E0214",
                    format!("map `{name}` is read but never assigned"),
                    span,
                )
                .label("unknown map")
                .help(format!("assign it somewhere, e.g. `{name} = 0;`")),
            );
        }
        id
    }
}
