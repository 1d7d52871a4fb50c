//! `comm(pid)` (bpftrace 0.25+: the name of another task, by pid). bpftrace
//! finds the task with the `bpf_task_from_pid` kernel function (a kfunc,
//! called with a BTF id of the running kernel and released with
//! `bpf_task_release`); ferrotrace's programs call BPF helpers only, so the
//! call is refused here with a sentence saying so and what to use instead.

use super::Checker;
use crate::diagnostics::Diagnostic;
use crate::source::Span;

impl Checker<'_> {
    /// E0434 for `comm(pid)`.
    pub(super) fn comm_of_pid(&mut self, span: Span) {
        self.error(
            Diagnostic::error(
                "E0434",
                "`comm(pid)` is not supported yet: finding another task by pid needs the kernel function `bpf_task_from_pid` (a kfunc), and ferrotrace's programs call BPF helpers only",
                span,
            )
            .label("the name of another task")
            .help("use `comm` in a probe that fires in that task (e.g. with `-p PID`), or `pcomm` for the parent's name"),
        );
    }
}
