//! The kernel-facing layer: load a compiled `Artifact`, attach its programs,
//! run BEGIN/END, stream events and read maps.
//!
//! `LoadedObject::load` parses the ELF with aya-obj, creates every map the
//! manifest lists (plus any `.data`/`.rodata`/`.bss` data maps the object
//! carries), relocates map references and BPF-to-BPF calls, and loads one
//! program per manifest `ProgramSpec`. It owns every kernel object as an
//! `OwnedFd`; dropping it (or the process dying) releases links, perf events,
//! programs and maps in that order, so nothing outlives ferrotrace.
//! Submodules: `load` (bpf() wrappers), `attach` (perf events and links),
//! `ringbuf` (`EventReader`), `maps` (`read_map`), `error` (`BpfError`).

pub mod attach;
pub mod btf;
pub mod error;
pub mod kfunc;
pub mod kinds;
pub mod load;
pub mod maps;
pub mod ringbuf;
pub mod stackmap;
#[cfg(test)]
mod tests;
pub mod uprobe;
pub mod watchpoint;

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use ferrotrace_compiler::manifest::{
    Artifact, AttachSpec, Manifest, MapKind, MapRole, MapSpec, MANIFEST_VERSION,
};

pub use attach::Attachment;
pub use error::BpfError;
pub use load::ProbeSite;
pub use maps::MapEntry;
pub use ringbuf::EventReader;

/// Bytes of zeroed context handed to BEGIN/END programs (raw tracepoint
/// arguments: 12 u64s, the kernel's maximum).
const RUN_CTX_LEN: usize = 8 * 12;

/// A loaded artifact: its maps and programs, and the hooks attached so far.
/// Fields drop in declaration order: attachments, programs, then maps.
#[derive(Debug)]
pub struct LoadedObject {
    /// Per manifest program index, its BPF links that need no perf event
    /// (raw tracepoints, syscall dispatchers, fentry/fexit).
    links: Vec<Vec<OwnedFd>>,
    /// Per manifest program index, the hooks it is attached to.
    attachments: Vec<Vec<Attachment>>,
    /// One program fd per manifest program.
    programs: Vec<OwnedFd>,
    /// Maps by ELF name, with their manifest entry (None for data maps).
    maps: HashMap<String, (OwnedFd, Option<MapSpec>)>,
    manifest: Manifest,
    /// The process uprobes are scoped to (`-p`, `-c`), or every process.
    target_pid: Option<u32>,
    /// Per program: loaded for a uprobe_multi link (see `uprobe.rs`).
    uprobe_multi: Vec<bool>,
}

impl LoadedObject {
    /// Parses the ELF, creates the maps, relocates and loads every program.
    pub fn load(artifact: &Artifact) -> Result<LoadedObject, BpfError> {
        let manifest = &artifact.manifest;
        if manifest.version != MANIFEST_VERSION {
            return Err(BpfError::Object(format!(
                "internal error: the compiled object has manifest version {} but this runtime understands version {}.",
                manifest.version, MANIFEST_VERSION
            )));
        }
        kinds::preflight(manifest)?;
        let mut obj = aya_obj::Object::parse(&artifact.elf).map_err(|e| {
            BpfError::Object(format!(
                "internal error: the compiled BPF object could not be parsed: {e}."
            ))
        })?;

        // Maps: the manifest's, then any data sections the object carries.
        let mut maps: HashMap<String, (OwnedFd, Option<MapSpec>)> = HashMap::new();
        for spec in &manifest.maps {
            if !obj.maps.contains_key(&spec.elf_name) {
                return Err(BpfError::Object(format!(
                    "internal error: map {} is in the manifest but not in the compiled object.",
                    spec.elf_name
                )));
            }
            let (key_size, value_size) = match spec.kind {
                MapKind::Ringbuf => (0, 0),
                _ => (spec.key_size, spec.value_size),
            };
            let fd = load::create_map(
                &spec.elf_name,
                spec.kind.bpf_type(),
                key_size,
                value_size,
                spec.max_entries,
            )?;
            maps.insert(spec.elf_name.clone(), (fd, Some(spec.clone())));
        }
        for (name, map) in &obj.maps {
            if maps.contains_key(name) {
                continue;
            }
            let kind = map.section_kind();
            if !matches!(
                kind,
                aya_obj::EbpfSectionKind::Data
                    | aya_obj::EbpfSectionKind::Rodata
                    | aya_obj::EbpfSectionKind::Bss
            ) {
                return Err(BpfError::Object(format!(
                    "internal error: the compiled object has a map {name} that its manifest does not describe."
                )));
            }
            let fd = create_data_map(name, map, kind == aya_obj::EbpfSectionKind::Rodata)?;
            maps.insert(name.clone(), (fd, None));
        }

        // Relocations, as aya's loader does them.
        let text_sections: HashSet<usize> =
            obj.functions.keys().map(|(section, _)| *section).collect();
        // aya-obj takes `&mut self` and an iterator borrowing map
        // definitions, so relocate against a copy of the map table.
        let map_table = obj.maps.clone();
        let refs = maps.iter().filter_map(|(name, (fd, _))| {
            map_table
                .get(name)
                .map(|m| (name.as_str(), fd.as_raw_fd(), m))
        });
        obj.relocate_maps(refs, &text_sections).map_err(|e| {
            BpfError::Object(format!(
                "internal error: relocating map references failed: {e}."
            ))
        })?;
        obj.relocate_calls(&text_sections).map_err(|e| {
            BpfError::Object(format!(
                "internal error: relocating function calls failed: {e}."
            ))
        })?;

        // BTF only when some program has a callback (more than one function).
        let needs_btf = obj
            .functions
            .values()
            .any(|f| f.func_info.func_info.len() > 1);
        let btf_fd = if needs_btf { btf::load(&mut obj) } else { None };
        let mut programs = Vec::with_capacity(manifest.programs.len());
        let mut vmlinux_btf = None;
        let mut uprobe_multi = Vec::with_capacity(manifest.programs.len());
        for spec in &manifest.programs {
            let program = obj.programs.get(&spec.function).ok_or_else(|| {
                BpfError::Object(format!(
                    "internal error: program {} ({}) is in the manifest but not in the compiled object.",
                    spec.function, spec.probe
                ))
            })?;
            let function = obj.functions.get(&program.function_key()).ok_or_else(|| {
                BpfError::Object(format!(
                    "internal error: the code of program {} is missing from the compiled object.",
                    spec.function
                ))
            })?;
            let mut insns: Vec<u64> = function.instructions.iter().map(load::insn_word).collect();
            kfunc::resolve(&mut insns, &spec.probe)?;
            let prog_type = match spec.attach {
                AttachSpec::Begin
                | AttachSpec::End
                | AttachSpec::SelfSignal { .. }
                | AttachSpec::Test { .. } => load::BPF_PROG_TYPE_RAW_TRACEPOINT,
                AttachSpec::Tracepoint { .. } => load::BPF_PROG_TYPE_TRACEPOINT,
                AttachSpec::PerfEvent { .. } | AttachSpec::Watchpoint { .. } => {
                    load::BPF_PROG_TYPE_PERF_EVENT
                }
                ref other => kinds::prog_type(other).unwrap_or(load::BPF_PROG_TYPE_RAW_TRACEPOINT),
            };
            let target = kinds::load_target(spec, &mut vmlinux_btf)?;
            // BTF.ext line info (instruction offsets are in instructions):
            // line in the upper 22 bits of `line_col`, column in the lower 10.
            let mut lines: Vec<(u32, usize, usize)> = function
                .line_info
                .line_info
                .iter()
                .map(|l| {
                    (
                        l.insn_off,
                        (l.line_col >> 10) as usize,
                        (l.line_col & 0x3ff) as usize,
                    )
                })
                .collect();
            lines.sort_by_key(|&(insn, _, _)| insn);
            let site = ProbeSite {
                probe: &spec.probe,
                line: spec.line,
                column: spec.column,
                lines: &lines,
                license: &manifest.config.more.license,
                log_size: usize::try_from(manifest.config.more.log_size)
                    .unwrap_or(load::DEFAULT_LOG),
            };
            let prog_btf = btf_fd
                .as_ref()
                .filter(|_| function.func_info.func_info.len() > 1)
                .map(|fd| btf::ProgBtf {
                    btf_fd: fd.as_raw_fd(),
                    func_info: &function.func_info.func_info,
                    line_info: &function.line_info.line_info,
                });
            let (fd, multi) = match spec.attach {
                AttachSpec::Uprobe { .. } => {
                    uprobe::load_program(&spec.function, &insns, &site, prog_btf.as_ref())?
                }
                _ => (
                    load::load_program_with(
                        prog_type,
                        target,
                        &spec.function,
                        &insns,
                        &site,
                        prog_btf.as_ref(),
                    )
                    .map_err(|e| kinds::explain_load_error(spec, e))?,
                    false,
                ),
            };
            programs.push(fd);
            uprobe_multi.push(multi);
        }

        Ok(LoadedObject {
            links: manifest.programs.iter().map(|_| Vec::new()).collect(),
            attachments: manifest.programs.iter().map(|_| Vec::new()).collect(),
            programs,
            maps,
            manifest: manifest.clone(),
            target_pid: None,
            uprobe_multi,
        })
    }

    /// Attaches program `index` of `manifest().programs` to its hook.
    /// BEGIN/END and the other programs the tracer runs itself (self,
    /// test, bench) have no hook: this is a no-op for them, as is attaching
    /// an already attached program.
    pub fn attach(&mut self, index: usize) -> Result<(), BpfError> {
        let (spec, prog) = self.program(index)?;
        if !self.attachments[index].is_empty() || !self.links[index].is_empty() {
            return Ok(());
        }
        let new = match &spec.attach {
            AttachSpec::Begin
            | AttachSpec::End
            | AttachSpec::SelfSignal { .. }
            | AttachSpec::Test { .. } => return Ok(()),
            AttachSpec::Watchpoint { addr, len, bp_type } => watchpoint::attach_watchpoint(
                prog.as_fd(),
                watchpoint::WatchTarget {
                    probe: &spec.probe,
                    addr: *addr,
                    len: *len,
                    bp_type: *bp_type,
                    pid: self.target_pid,
                },
            )?,
            AttachSpec::Tracepoint { category, name } => {
                vec![attach::attach_tracepoint(
                    prog.as_fd(),
                    &spec.probe,
                    category,
                    name,
                )?]
            }
            AttachSpec::PerfEvent {
                event_type,
                config,
                period,
                every_cpu,
            } => attach::attach_perf_event(
                prog.as_fd(),
                &spec.probe,
                (*event_type, *config),
                *period,
                *every_cpu,
                self.target_pid,
            )?,
            AttachSpec::RawTracepoint { name }
            | AttachSpec::SyscallDispatch {
                raw_tracepoint: name,
                ..
            } => {
                let link = kinds::attach_raw_tracepoint(prog.as_fd(), &spec.probe, name)?;
                self.links[index].push(link);
                return Ok(());
            }
            AttachSpec::Kprobe {
                function,
                offset,
                retprobe,
            } => vec![kinds::attach_kprobe(
                prog.as_fd(),
                &spec.probe,
                function,
                *offset,
                *retprobe,
            )?],
            AttachSpec::Fentry { .. } => {
                let link = kinds::attach_tracing(prog.as_fd(), &spec.probe)?;
                self.links[index].push(link);
                return Ok(());
            }
            AttachSpec::Iter { .. } => {
                let link = kinds::attach_iter(prog.as_fd(), &spec.probe)?;
                self.links[index].push(link);
                return Ok(());
            }
            AttachSpec::Uprobe {
                binary,
                offset,
                retprobe,
                ref_ctr_offset,
            } => vec![uprobe::attach_uprobe(
                prog.as_fd(),
                uprobe::UprobeTarget {
                    probe: &spec.probe,
                    binary,
                    offset: *offset,
                    retprobe: *retprobe,
                    ref_ctr_offset: *ref_ctr_offset,
                    pid: self.target_pid,
                    multi: self.uprobe_multi.get(index).copied().unwrap_or(false),
                },
            )?],
        };
        self.attachments[index] = new;
        Ok(())
    }

    /// Runs a BEGIN/END (or self, test or bench) program once with
    /// BPF_PROG_TEST_RUN; returns the program's return code (`return N`).
    pub fn run_once(&self, index: usize) -> Result<u32, BpfError> {
        let (spec, prog) = self.program(index)?;
        if !matches!(
            spec.attach,
            AttachSpec::Begin
                | AttachSpec::End
                | AttachSpec::SelfSignal { .. }
                | AttachSpec::Test { .. }
        ) {
            return Err(BpfError::Object(format!(
                "internal error: probe {} is not one ferrotrace runs itself (BEGIN, END, self, test or bench).",
                spec.probe
            )));
        }
        let result = load::test_run(prog.as_fd(), RUN_CTX_LEN).or_else(|errno| {
            if errno == libc::EINVAL {
                load::test_run(prog.as_fd(), 0)
            } else {
                Err(errno)
            }
        });
        match result {
            Ok(retval) => Ok(retval),
            Err(errno) if error::is_permission(errno) => Err(BpfError::NotPermitted),
            Err(errno) => Err(BpfError::Run {
                probe: spec.probe.clone(),
                reason: format!(
                    "the kernel could not run it with BPF_PROG_TEST_RUN ({}); this kernel may be too old for BEGIN/END probes.",
                    error::errno_text(errno)
                ),
            }),
        }
    }

    /// A reader over the events ring buffer (the map whose role is `Events`).
    pub fn event_reader(&self) -> Result<EventReader, BpfError> {
        let fd = self
            .maps
            .values()
            .find(|(_, spec)| spec.as_ref().is_some_and(|s| s.role == MapRole::Events))
            .map(|(fd, _)| fd)
            .ok_or_else(|| {
                BpfError::Object(
                    "internal error: the compiled object has no events ring buffer.".into(),
                )
            })?;
        EventReader::new(fd.as_fd())
    }

    /// Event records the BPF programs could not send so far, over all CPUs
    /// (0 when the object counts none).
    pub fn lost_events(&self) -> u64 {
        let Some((name, _)) = self
            .maps
            .iter()
            .find(|(_, (_, spec))| spec.as_ref().is_some_and(|s| s.role == MapRole::Lost))
        else {
            return 0;
        };
        let entries = self.read_map(name).unwrap_or_default();
        entries
            .iter()
            .flat_map(|e| e.values.iter())
            .map(|v| {
                v.get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u64::from_le_bytes)
            })
            .fold(0u64, u64::wrapping_add)
    }

    /// Stores the current CLOCK_BOOTTIME nanoseconds in the `start` map,
    /// when the program has one (`elapsed` counts from here).
    pub fn set_start_time(&self) -> Result<(), BpfError> {
        let Some((name, _)) = self
            .maps
            .iter()
            .find(|(_, (_, spec))| spec.as_ref().is_some_and(|s| s.role == MapRole::Start))
        else {
            return Ok(());
        };
        let (fd, spec) = self.table(name)?;
        maps::set_start_time(fd, spec)
    }

    /// Removes every key of the map named `elf_name` (`clear()`).
    pub fn clear_map(&self, elf_name: &str) -> Result<(), BpfError> {
        let (fd, spec) = self.table(elf_name)?;
        maps::clear_all(fd, spec)
    }

    /// Sets every value of the map named `elf_name` to zero (`zero()`).
    pub fn zero_map(&self, elf_name: &str) -> Result<(), BpfError> {
        let (fd, spec) = self.table(elf_name)?;
        maps::zero_all(fd, spec)
    }

    fn table(&self, elf_name: &str) -> Result<(BorrowedFd<'_>, &MapSpec), BpfError> {
        let (fd, spec) = self.maps.get(elf_name).ok_or_else(|| {
            BpfError::Map(format!("internal error: there is no map named {elf_name}."))
        })?;
        let spec = spec.as_ref().ok_or_else(|| {
            BpfError::Map(format!(
                "internal error: {elf_name} is a data section, not a table."
            ))
        })?;
        Ok((fd.as_fd(), spec))
    }

    /// All entries of the map named `elf_name` in the ELF.
    pub fn read_map(&self, elf_name: &str) -> Result<Vec<MapEntry>, BpfError> {
        let (fd, spec) = self.table(elf_name)?;
        maps::read_all(fd, spec)
    }

    /// Closes every link and perf event. Programs and maps stay, so END can
    /// still run and maps can still be read.
    /// Whether the script has `iter` probes (which run once, then end the
    /// session, as in bpftrace).
    pub fn has_iterators(&self) -> bool {
        self.manifest
            .programs
            .iter()
            .any(|s| matches!(s.attach, AttachSpec::Iter { .. }))
    }

    /// Walks every attached iterator once, in script order.
    pub fn run_iterators(&self) -> Result<(), BpfError> {
        for (spec, links) in self.manifest.programs.iter().zip(&self.links) {
            if matches!(spec.attach, AttachSpec::Iter { .. }) {
                for link in links {
                    kinds::run_iterator(link.as_fd(), &spec.probe)?;
                }
            }
        }
        Ok(())
    }

    pub fn detach_all(&mut self) {
        for links in &mut self.links {
            links.clear();
        }
        let all: Vec<Attachment> = self
            .attachments
            .iter_mut()
            .flat_map(std::mem::take)
            .collect();
        attach::close_in_parallel(all);
    }

    /// Removes the watchpoints on `addr` (`unwatch(addr)`); watchpoints
    /// already removed, and other addresses, are left as they are.
    pub fn unwatch(&mut self, addr: u64) {
        let mut closed = Vec::new();
        for (spec, attachments) in self.manifest.programs.iter().zip(&mut self.attachments) {
            if matches!(spec.attach, AttachSpec::Watchpoint { addr: a, .. } if a == addr)
                && !attachments.is_empty()
            {
                closed.push(std::mem::take(attachments));
            }
        }
        attach::close_in_parallel(closed.into_iter().flatten().collect());
    }

    /// The manifest the object was loaded from.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn program(
        &self,
        index: usize,
    ) -> Result<(&ferrotrace_compiler::manifest::ProgramSpec, &OwnedFd), BpfError> {
        match (self.manifest.programs.get(index), self.programs.get(index)) {
            (Some(spec), Some(fd)) => Ok((spec, fd)),
            _ => Err(BpfError::Object(format!(
                "internal error: there is no program number {index}."
            ))),
        }
    }
}

impl Drop for LoadedObject {
    fn drop(&mut self) {
        // Hooks first, explicitly; programs and maps follow as fields drop.
        self.detach_all();
    }
}

/// Creates the single-entry array map backing a `.data`/`.rodata`/`.bss`
/// section and fills it with the section's bytes.
fn create_data_map(name: &str, map: &aya_obj::Map, read_only: bool) -> Result<OwnedFd, BpfError> {
    let value_size = map.value_size();
    let fd = load::create_map(name, load::BPF_MAP_TYPE_ARRAY, 4, value_size, 1)?;
    let mut value = vec![0u8; value_size as usize];
    let data = map.data();
    let n = data.len().min(value.len());
    value[..n].copy_from_slice(&data[..n]);
    let key = 0u32;
    // SAFETY: key and value buffers have the map's key and value sizes and
    // outlive the call.
    let ret = unsafe {
        libbpf_sys::bpf_map_update_elem(
            fd.as_raw_fd(),
            (&key as *const u32).cast(),
            value.as_ptr().cast(),
            0,
        )
    };
    if ret < 0 {
        let errno = error::libbpf_errno(ret);
        return Err(BpfError::Map(format!(
            "could not initialise data section {name}: {}.",
            error::errno_text(errno)
        )));
    }
    if read_only {
        // SAFETY: a plain call on a live map fd.
        let ret = unsafe { libbpf_sys::bpf_map_freeze(fd.as_raw_fd()) };
        if ret < 0 {
            let errno = error::libbpf_errno(ret);
            return Err(BpfError::Map(format!(
                "could not freeze data section {name}: {}.",
                error::errno_text(errno)
            )));
        }
    }
    Ok(fd)
}
