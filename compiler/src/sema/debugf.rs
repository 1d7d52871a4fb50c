//! Checking `debugf(fmt, ...)`, which the kernel's `bpf_trace_printk`
//! formats, so its format may use only the conversions the kernel knows,
//! on at most 3 integers. (`errorf`/`warnf` are printf-shaped actions,
//! checked with `system` and `cat` in `unsafe_fns`.)

use super::types::{convert, describe};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{Expr, ExprKind, Type};
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::printf::{parse, ConversionKind, Count, Piece};

impl Checker<'_> {
    /// `debugf(fmt, ...)`: a literal format whose conversions the kernel's
    /// `bpf_trace_printk` understands, matched by integer arguments.
    pub(super) fn debugf(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let (fmt_arg, rest) = args.split_first()?;
        let ast::ExprKind::Str(format) = &fmt_arg.kind else {
            self.error(
                Diagnostic::error(
                    "E0380",
                    "`debugf()`'s format must be a string literal",
                    fmt_arg.span,
                )
                .label("not a literal"),
            );
            return None;
        };
        let mut conversions = 0usize;
        for piece in parse(format) {
            let bad = match piece {
                Piece::Conversion(c) => {
                    conversions += 1;
                    let kernel_knows = matches!(
                        c.kind,
                        ConversionKind::Signed
                            | ConversionKind::Unsigned
                            | ConversionKind::LowerHex
                            | ConversionKind::Pointer
                            | ConversionKind::Char
                    ) && c.width != Count::FromArg
                        && c.precision.is_none()
                        && matches!(c.bits, 32 | 64);
                    (!kernel_knows).then(|| conversion_text(format, c.offset))
                }
                Piece::Invalid { text, .. } => Some(text.to_string()),
                _ => None,
            };
            if let Some(bad) = bad {
                self.error(
                    Diagnostic::error(
                        "E0381",
                        "`debugf()` formats in the kernel, which does not know this conversion",
                        fmt_arg.span,
                    )
                    .label(format!("`{bad}` is not supported"))
                    .help("use `%d %i %u %x %p %c` (with `l` or `ll`), or `printf()` for anything else"),
                );
                return None;
            }
        }
        if conversions != rest.len() {
            self.error(
                Diagnostic::error(
                    "E0382",
                    format!(
                        "`debugf()`'s format has {conversions} conversion{} but {} argument{} {} given",
                        if conversions == 1 { "" } else { "s" },
                        rest.len(),
                        if rest.len() == 1 { "" } else { "s" },
                        if rest.len() == 1 { "was" } else { "were" }
                    ),
                    span,
                )
                .label("mismatched arguments"),
            );
            return None;
        }
        let mut values = Vec::with_capacity(rest.len());
        for a in rest {
            let v = self.expr(a, scope)?;
            let v = match &v.ty {
                Type::Int { signed, .. } => {
                    let to = if *signed { Type::I64 } else { Type::U64 };
                    convert(v, &to)
                }
                Type::Bool | Type::Ptr { .. } => convert(v, &Type::U64),
                other => {
                    self.error(
                        Diagnostic::error(
                            "E0383",
                            format!("`debugf()` prints integers only, not {}", describe(other)),
                            a.span,
                        )
                        .label("not an integer")
                        .help("print strings and other values with `printf()`"),
                    );
                    return None;
                }
            };
            values.push(v);
        }
        Some(Expr {
            kind: ExprKind::TracePrintk {
                format: format.clone(),
                args: values,
            },
            ty: Type::I64,
            span,
        })
    }
}

/// The conversion starting at byte `offset` of `format`, up to and
/// including its conversion letter.
fn conversion_text(format: &str, offset: usize) -> String {
    let rest = format.get(offset..).unwrap_or("");
    let end = rest
        .char_indices()
        .skip(1)
        .find(|(_, ch)| ch.is_ascii_alphabetic() && !matches!(ch, 'l' | 'h' | 'j' | 'z' | 't'))
        .map_or(rest.len(), |(i, ch)| i + ch.len_utf8());
    rest.get(..end).unwrap_or(rest).to_string()
}
