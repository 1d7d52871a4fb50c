//! Runtime reports of failed BPF helpers, located in the script: a map
//! update that fails (a full map: `-E2BIG`) always sends a `HelperError`
//! event, as bpftrace 0.23+ does; with `Options::helper_warnings` (`-k`)
//! failed reads of kernel and user memory (`str()`, `ppid`, USDT
//! arguments) do too. Each (helper, statement) pair is one event of the
//! manifest, numbered after the printf formats, the exit event and the
//! actions, in the order code generation meets them.
//!
//! A check costs three branches, and the verifier refuses a path with more
//! than 8,192 branches still to explore, so a probe checks only its first
//! `MAX_CHECKS_PER_PROBE` helper calls: a probe of thousands of map
//! updates (`tests/e2e_scaling.rs`) still loads.

use super::stmt::ProbeGen;
use super::CodegenError;
use crate::ir::AddrSpace;
use crate::manifest::EventSpec;
use crate::source::Span;
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use std::cell::RefCell;

type R<T> = Result<T, CodegenError>;

/// `-EEXIST`: another CPU created the entry first; not a failure.
const EEXIST: i64 = -17;

/// Bytes of a helper-error record: the event index and the i64 code.
const RECORD_SIZE: u32 = 16;

/// The helper calls one probe checks at most (see the module comment).
const MAX_CHECKS_PER_PROBE: u32 = 64;

/// The helper-error events of one module.
pub(crate) struct HelperSites {
    /// The event index of the first site.
    base: u64,
    /// Report failed memory reads too (`-k`).
    pub warn_reads: bool,
    sites: RefCell<Vec<(&'static str, Span)>>,
}

impl HelperSites {
    pub fn new(base: usize, warn_reads: bool) -> HelperSites {
        HelperSites {
            base: base as u64,
            warn_reads,
            sites: RefCell::new(Vec::new()),
        }
    }

    /// The event index of `helper` failing at `span`.
    fn index(&self, helper: &'static str, span: Span) -> u64 {
        let mut sites = self.sites.borrow_mut();
        let i = match sites.iter().position(|s| *s == (helper, span)) {
            Some(i) => i,
            None => {
                sites.push((helper, span));
                sites.len() - 1
            }
        };
        self.base + i as u64
    }

    /// The manifest's events for the sites, in index order.
    pub fn specs(&self) -> Vec<EventSpec> {
        self.sites
            .borrow()
            .iter()
            .map(|(helper, span)| EventSpec::HelperError {
                helper: (*helper).to_string(),
                start: span.start,
                end: span.end,
            })
            .collect()
    }
}

/// The name bpftrace prints for a probe read of `space`.
fn read_helper(space: AddrSpace, string: bool) -> &'static str {
    match (space, string) {
        (AddrSpace::Kernel, false) => "probe_read_kernel",
        (AddrSpace::User, false) => "probe_read_user",
        (AddrSpace::Kernel, true) => "probe_read_kernel_str",
        (AddrSpace::User, true) => "probe_read_user_str",
    }
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// Sends a helper-error event when `rc` (a helper's i64 result) is
    /// negative, other than `-EEXIST` when `racy` (an insert another CPU
    /// may win).
    fn report_failure(&mut self, helper: &'static str, rc: IntValue<'ctx>, racy: bool) -> R<()> {
        if self.helper_checks >= MAX_CHECKS_PER_PROBE {
            return Ok(());
        }
        self.helper_checks += 1;
        let index = self.helper_sites.index(helper, self.span);
        let b = &self.em.builder;
        let zero = self.em.u64c(0);
        let mut failed = b.build_int_compare(IntPredicate::SLT, rc, zero, "hfail")?;
        if racy {
            let exists = self.em.i64t().const_int(EEXIST as u64, true);
            let other = b.build_int_compare(IntPredicate::NE, rc, exists, "hrace")?;
            failed = b.build_and(failed, other, "hreport")?;
        }
        let (report, done) = (self.em.block("helper_err"), self.em.block("helper_ok"));
        self.em.cond_br(failed, report, done)?;
        self.em.at(report);
        let mark = self.bump;
        let rec = self.alloc(RECORD_SIZE)?;
        self.em.store(rec, self.em.u64c(index), 8)?;
        let code = self.em.offset(rec, 8)?;
        self.em.store(code, rc, 8)?;
        self.send(rec, RECORD_SIZE)?;
        self.bump = mark;
        self.em.br(done)?;
        self.em.at(done);
        Ok(())
    }

    /// `bpf_map_update_elem`, reporting a failure (a full map).
    pub(super) fn checked_map_update(
        &mut self,
        map: inkwell::values::GlobalValue<'ctx>,
        key: PointerValue<'ctx>,
        value: PointerValue<'ctx>,
        flags: u64,
    ) -> R<()> {
        let rc = self.em.map_update_elem(map, key, value, flags)?;
        self.report_failure("map_update_elem", rc, flags != super::builder::BPF_ANY)
    }

    /// `bpf_probe_read_{user,kernel}`, reporting a failure under `-k`.
    pub(super) fn checked_probe_read(
        &mut self,
        space: AddrSpace,
        dst: PointerValue<'ctx>,
        size: u32,
        src: PointerValue<'ctx>,
    ) -> R<()> {
        let size = self.em.u64c(size.into());
        self.checked_read(space, dst, size, src, false)
    }

    /// A memory read of a run-time `size` the caller has bounded by `dst`'s
    /// capacity (`str` selects the NUL-terminated helper), reporting a
    /// failure under `-k`.
    pub(super) fn checked_read(
        &mut self,
        space: AddrSpace,
        dst: PointerValue<'ctx>,
        size: IntValue<'ctx>,
        src: PointerValue<'ctx>,
        str: bool,
    ) -> R<()> {
        let rc = if str {
            self.em.probe_read_str(space, dst, size, src)?
        } else {
            self.em.probe_read_dyn(space, dst, size, src)?
        };
        if self.helper_sites.warn_reads {
            self.report_failure(read_helper(space, str), rc, false)?;
        }
        Ok(())
    }
}
