//! Event records sent through the `events` ring buffer, and their manifest
//! descriptions. Every record starts with a `u64` index into
//! `manifest.events`: printf formats keep their `FormatId`, and the exit
//! event comes last. Printf arguments follow at 8-aligned offsets: integers
//! widened to 8 bytes by their own signedness, bools as 1 byte, pointers as
//! 8, `Str(N)` as N bytes. The exit record holds the i64 code at offset 8.
//! Records are assembled in scratch memory and sent with
//! `bpf_ringbuf_output`.

use super::maps::{slot_size, value_kind};
use super::stmt::{str_len, ProbeGen, Val};
use super::CodegenError;
use crate::ir::{Expr, Format, Program, Type};
use crate::manifest::{EventSpec, Field};

type R<T> = Result<T, CodegenError>;

/// Bytes of an exit record: the index and the code.
pub(crate) const EXIT_RECORD_SIZE: u32 = 16;

/// Offsets of a printf record's arguments and the record's total size.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecordLayout {
    pub offsets: Vec<u32>,
    pub size: u32,
}

pub(crate) fn printf_layout(args: &[Type]) -> RecordLayout {
    let mut off = 8;
    let mut offsets = Vec::with_capacity(args.len());
    for t in args {
        offsets.push(off);
        off += slot_size(t);
    }
    RecordLayout { offsets, size: off }
}

/// The fields of a printf-shaped record for format `f`.
pub(crate) fn format_fields(f: &Format) -> Vec<Field> {
    let layout = printf_layout(&f.args);
    layout
        .offsets
        .iter()
        .zip(&f.args)
        .map(|(off, t)| Field {
            offset: *off,
            kind: value_kind(t),
        })
        .collect()
}

/// The text and fields of format `id`, for the printf-shaped actions.
pub(crate) fn format_spec(program: &Program, id: usize) -> (String, Vec<Field>) {
    program
        .formats
        .get(id)
        .map_or_else(Default::default, |f| (f.text.clone(), format_fields(f)))
}

/// The manifest's event list: one entry per format, then the exit event.
pub(crate) fn event_specs(program: &Program) -> Vec<EventSpec> {
    let mut specs: Vec<EventSpec> = program
        .formats
        .iter()
        .map(|f| EventSpec::Printf {
            format: f.text.clone(),
            args: format_fields(f),
        })
        .collect();
    specs.push(EventSpec::Exit);
    specs.extend(super::aggregate::action_specs(program));
    specs
}

impl<'a, 'ctx> ProbeGen<'a, 'ctx> {
    /// Evaluates the arguments, assembles the record and sends it.
    pub fn printf(&mut self, format: usize, args: &[Expr]) -> R<()> {
        self.format_record(format as u64, format, args)
    }

    /// Sends a record with event `index` holding `args` laid out for
    /// `format` (printf's records, and `system()`'s).
    pub(crate) fn format_record(&mut self, index: u64, format: usize, args: &[Expr]) -> R<()> {
        let fmt = self.program.formats.get(format).ok_or_else(|| {
            CodegenError::Internal(format!(
                "The IR refers to format #{format}, which does not exist."
            ))
        })?;
        let layout = printf_layout(&fmt.args);
        let vals = args.iter().map(|e| self.expr(e)).collect::<R<Vec<_>>>()?;
        let rec = self.alloc(layout.size)?;
        self.em.store(rec, self.em.u64c(index), 8)?;
        for (((off, t), e), v) in layout.offsets.iter().zip(&fmt.args).zip(args).zip(vals) {
            let dst = self.em.offset(rec, *off)?;
            self.record_arg(dst, t, &e.ty, v)?;
        }
        self.send(rec, layout.size)
    }

    /// Writes one argument of declared type `t` (the value has type `ty`).
    pub(crate) fn record_arg(
        &mut self,
        dst: inkwell::values::PointerValue<'ctx>,
        t: &Type,
        ty: &Type,
        v: Val<'ctx>,
    ) -> R<()> {
        match (t, v) {
            (Type::Str(n), Val::Str(p)) => self.copy_str(dst, *n, p, str_len(ty)),
            (Type::Tuple(_) | Type::Record { .. } | Type::Struct(_), Val::Str(p)) => {
                self.copy_buffer(dst, t.size(), p, ty)
            }
            (Type::Stack(_) | Type::Symbol(_) | Type::Named(_), Val::Str(p)) => {
                self.em.copy(dst, p, t.size())
            }
            (Type::Data(_), Val::Str(p)) => self.em.copy(dst, p, t.slot_size()),
            (_, Val::Int(i)) => {
                let wide = self.em.resize(i, 64, ty.is_signed())?;
                self.em.store(dst, wide, 8)
            }
            _ => Err(CodegenError::Internal(
                "A printf argument does not match its format's type.".into(),
            )),
        }
    }

    /// Sends the exit record and returns 0 from the program.
    pub fn exit(&mut self, code: Option<&Expr>) -> R<()> {
        let code = match code {
            Some(e) => {
                let v = self.expr(e)?.int()?;
                self.em.resize(v, 64, e.ty.is_signed())?
            }
            None => self.em.u64c(0),
        };
        let rec = self.alloc(EXIT_RECORD_SIZE)?;
        self.em
            .store(rec, self.em.u64c(self.program.formats.len() as u64), 8)?;
        let at = self.em.offset(rec, 8)?;
        self.em.store(at, code, 8)?;
        self.send(rec, EXIT_RECORD_SIZE)?;
        self.em.ret0_and_continue()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ValueKind;

    #[test]
    fn printf_layout_widens_args() {
        let l = printf_layout(&[Type::I32, Type::Str(3), Type::Bool]);
        assert_eq!(l.offsets, [8, 16, 24]);
        assert_eq!(l.size, 32);
    }

    #[test]
    fn exit_event_comes_last() {
        let program = Program {
            probes: vec![],
            maps: vec![],
            formats: vec![Format {
                text: "%d".into(),
                args: vec![Type::I32],
            }],
            settings: Default::default(),
            actions: vec![],
        };
        let specs = event_specs(&program);
        assert_eq!(
            specs,
            [
                EventSpec::Printf {
                    format: "%d".into(),
                    args: vec![Field {
                        offset: 8,
                        kind: ValueKind::Int {
                            size: 8,
                            signed: true
                        }
                    }]
                },
                EventSpec::Exit
            ]
        );
    }
}
