//! Checking the data functions whose values are bytes printed in user
//! space: `buf(p[, len])` (a `Data(Buffer)` of at most `max_strlen` bytes),
//! `ntop([af,] addr)` (`Data(Inet)`), `pton("ip")` (a constant buffer of 4
//! or 16 bytes), `macaddr(addr)` (`Data(MacAddr)`), `memcmp(l, r, n)` and
//! `strftime(fmt, nsecs)` (`Data(Timestamp)`), plus the `%r`/`%rx`/`%rh`
//! printf conversions, which take a buffer or a string. A byte-array
//! tracepoint field (`__u8 saddr[4]`) given to these functions is read as
//! its raw bytes.

use super::types::{convert, describe};
use super::{Checker, ProbeScope};
use crate::diagnostics::Diagnostic;
use crate::ir::{AddrSpace, Expr, ExprKind, Type};
use crate::manifest::DataKind;
use crate::source::Span;
use crate::syntax::ast;
use ferrotrace_stdlib::printf::ConversionKind;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Linux's `AF_INET` and `AF_INET6`.
const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;

impl Checker<'_> {
    /// `buf(p[, len])`.
    pub(super) fn buf_call(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let first = args.first()?;
        if let Some(bytes) = self.byte_field(first, scope) {
            // A byte array: all of it, or its first `len` bytes.
            let len = match args.get(1).map(|a| &a.kind) {
                None => return Some(bytes),
                Some(ast::ExprKind::Int(n)) => u32::try_from(*n).ok(),
                Some(_) => None,
            };
            if let (Some(len), ExprKind::FieldBytes { offset, n }) = (len, &bytes.kind) {
                let n = len.min(*n);
                return Some(Expr {
                    kind: ExprKind::FieldBytes { offset: *offset, n },
                    ty: Type::Data(DataKind::Buffer { cap: n }),
                    span,
                });
            }
        }
        let ptr = self.expr(first, scope)?;
        let space = match &ptr.ty {
            Type::Ptr { space, .. } => *space,
            Type::Int { .. } if scope.user.is_some() => AddrSpace::User,
            Type::Int { .. } => AddrSpace::Kernel,
            Type::Data(DataKind::Buffer { .. }) if args.len() == 1 => return Some(ptr),
            other => {
                self.error(
                    Diagnostic::error(
                        "E0370",
                        format!(
                            "`buf()` needs a pointer or a byte array, not {}",
                            describe(other)
                        ),
                        ptr.span,
                    )
                    .label("cannot be read as bytes"),
                );
                return None;
            }
        };
        let max = self.settings.max_strlen;
        let (cap, len) = match args.get(1) {
            None => {
                self.error(
                    Diagnostic::error("E0371", "`buf()` of a pointer needs a length", span)
                        .label("how many bytes?")
                        .help("give the number of bytes to read: `buf(p, 16)`"),
                );
                return None;
            }
            Some(ast::Expr {
                kind: ast::ExprKind::Int(n),
                ..
            }) => (u32::try_from(*n).unwrap_or(u32::MAX).min(max), None),
            Some(l) => {
                let l = self.int_expr(l, scope)?;
                (max, Some(Box::new(convert(l, &Type::I64))))
            }
        };
        let ptr = if ptr.ty.is_int() {
            convert(ptr, &Type::U64)
        } else {
            ptr
        };
        Some(Expr {
            kind: ExprKind::BufRead {
                ptr: Box::new(ptr),
                space,
                len,
            },
            ty: Type::Data(DataKind::Buffer { cap }),
            span,
        })
    }

    /// `ntop([af,] addr)`.
    pub(super) fn ntop_call(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let (af, addr) = match args {
            [addr] => (None, addr),
            [af, addr] => (Some(self.int_expr(af, scope)?), addr),
            _ => return None,
        };
        let addr = self.bytes_arg(addr, scope)?;
        let default_af = match &addr.ty {
            Type::Int { .. } => AF_INET,
            Type::Data(DataKind::Buffer { cap: 4 }) => AF_INET,
            Type::Data(DataKind::Buffer { cap: 16 }) => AF_INET6,
            other => {
                self.error(
                    Diagnostic::error(
                        "E0372",
                        format!(
                            "`ntop()` needs an IPv4 or IPv6 address, not {}",
                            describe(other)
                        ),
                        addr.span,
                    )
                    .label("not an address")
                    .help("give an integer (IPv4), or a 4- or 16-byte array such as `args.saddr`"),
                );
                return None;
            }
        };
        let af = af.unwrap_or(Expr {
            kind: ExprKind::Int(default_af),
            ty: Type::I64,
            span,
        });
        let addr = if addr.ty.is_int() {
            convert(addr, &Type::U32)
        } else {
            addr
        };
        Some(Expr {
            kind: ExprKind::Ntop {
                af: Box::new(convert(af, &Type::I64)),
                addr: Box::new(addr),
            },
            ty: Type::Data(DataKind::Inet),
            span,
        })
    }

    /// `pton("ip")`: the address's bytes, as a constant buffer.
    pub(super) fn pton_call(&mut self, args: &[ast::Expr], span: Span) -> Option<Expr> {
        let arg = args.first()?;
        let parsed = match &arg.kind {
            ast::ExprKind::Str(s) => s
                .parse::<Ipv4Addr>()
                .map(|a| a.octets().to_vec())
                .or_else(|_| s.parse::<Ipv6Addr>().map(|a| a.octets().to_vec()))
                .ok(),
            _ => None,
        };
        let Some(bytes) = parsed else {
            self.error(
                Diagnostic::error(
                    "E0373",
                    "`pton()` needs an IPv4 or IPv6 address literal",
                    arg.span,
                )
                .label("not an address literal")
                .help(
                    "write the address as a string, e.g. `pton(\"127.0.0.1\")` or `pton(\"::1\")`",
                ),
            );
            return None;
        };
        let cap = u32::try_from(bytes.len()).unwrap_or(16);
        Some(Expr {
            kind: ExprKind::ConstBytes(bytes),
            ty: Type::Data(DataKind::Buffer { cap }),
            span,
        })
    }

    /// `macaddr(addr)`: a byte array of at least 6 bytes, or a pointer.
    pub(super) fn macaddr_call(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let addr = self.bytes_arg(args.first()?, scope)?;
        let addr = match &addr.ty {
            Type::Data(DataKind::Buffer { cap }) if *cap >= 6 => addr,
            // Through a pointer: the 6 bytes it points to, read like `buf(p, 6)`.
            Type::Ptr { .. } | Type::Int { .. } => {
                let space = match &addr.ty {
                    Type::Ptr { space, .. } => *space,
                    _ if scope.user.is_some() => AddrSpace::User,
                    _ => AddrSpace::Kernel,
                };
                let span = addr.span;
                Expr {
                    kind: ExprKind::BufRead {
                        ptr: Box::new(convert(addr, &Type::U64)),
                        space,
                        len: None,
                    },
                    ty: Type::Data(DataKind::Buffer { cap: 6 }),
                    span,
                }
            }
            other => {
                self.error(
                    Diagnostic::error(
                        "E0374",
                        format!("`macaddr()` needs 6 bytes, not {}", describe(other)),
                        addr.span,
                    )
                    .label("not a MAC address")
                    .help("give a 6-byte array, or a pointer to one"),
                );
                return None;
            }
        };
        Some(Expr {
            kind: ExprKind::MacAddr(Box::new(addr)),
            ty: Type::Data(DataKind::MacAddr),
            span,
        })
    }

    /// `memcmp(l, r, n)`: `n` is a literal no larger than either side.
    pub(super) fn memcmp_call(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let lhs = self.bytes_arg(args.first()?, scope);
        let rhs = self.bytes_arg(args.get(1)?, scope);
        let n_arg = args.get(2)?;
        let (lhs, rhs) = (lhs?, rhs?);
        let mut sizes = [0u32; 2];
        for (i, side) in [&lhs, &rhs].into_iter().enumerate() {
            sizes[i] = match &side.ty {
                Type::Str(n) => *n,
                Type::Data(DataKind::Buffer { cap }) => *cap,
                other => {
                    self.error(
                        Diagnostic::error(
                            "E0375",
                            format!(
                                "`memcmp()` compares strings or buffers, not {}",
                                describe(other)
                            ),
                            side.span,
                        )
                        .label("not bytes")
                        .help("read memory first with `str(p)` or `buf(p, n)`"),
                    );
                    return None;
                }
            };
        }
        let n = match n_arg.kind {
            ast::ExprKind::Int(n) => u32::try_from(n).ok(),
            _ => None,
        };
        let Some(n) = n else {
            self.error(
                Diagnostic::error(
                    "E0376",
                    "`memcmp()`'s length must be an integer literal",
                    n_arg.span,
                )
                .label("not a literal")
                .help("write the number of bytes to compare, e.g. `memcmp(a, b, 4)`"),
            );
            return None;
        };
        let smallest = sizes[0].min(sizes[1]);
        if n > smallest {
            self.error(
                Diagnostic::error(
                    "E0377",
                    format!("`memcmp()` compares {n} bytes, but one side holds only {smallest}"),
                    n_arg.span,
                )
                .label("too many bytes")
                .help(format!("compare at most {smallest} bytes")),
            );
            return None;
        }
        Some(Expr {
            kind: ExprKind::Memcmp {
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                n,
            },
            ty: Type::I64,
            span,
        })
    }

    /// `strftime(fmt, nsecs)`: the format is a literal, kept in the type.
    pub(super) fn strftime_call(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<Expr> {
        let fmt = args.first()?;
        let format = match &fmt.kind {
            ast::ExprKind::Str(s) => Some(s.clone()),
            _ => None,
        };
        let nsecs = self.int_expr(args.get(1)?, scope)?;
        let Some(format) = format else {
            self.error(
                Diagnostic::error(
                    "E0378",
                    "`strftime()`'s format must be a string literal",
                    fmt.span,
                )
                .label("not a literal")
                .help("write the format, e.g. `strftime(\"%H:%M:%S\", nsecs)`"),
            );
            return None;
        };
        Some(Expr {
            kind: ExprKind::SymbolOf(Box::new(convert(nsecs, &Type::U64))),
            ty: Type::Data(DataKind::Timestamp { format }),
            span,
        })
    }

    /// Rejects a `%r`/`%rx`/`%rh` argument that is neither a buffer nor a
    /// string; true when `v` fits conversion `kind`.
    pub(super) fn check_buffer_conversion(&mut self, kind: ConversionKind, v: &Expr) -> bool {
        let is_bytes = matches!(v.ty, Type::Str(_) | Type::Data(DataKind::Buffer { .. }));
        if kind.takes_buffer() && !is_bytes {
            self.error(
                Diagnostic::error(
                    "E0379",
                    format!("`%r` prints a buffer, not {}", describe(&v.ty)),
                    v.span,
                )
                .label("not a buffer")
                .help("read bytes with `buf(p, n)`, or print this value with another conversion"),
            );
            return false;
        }
        if kind.takes_integer() && matches!(v.ty, Type::Data(_)) {
            self.error(
                Diagnostic::error(
                    "E0379",
                    format!(
                        "{} cannot be printed with an integer conversion",
                        describe(&v.ty)
                    ),
                    v.span,
                )
                .label("not an integer")
                .help("use `%s` (or `%r` for a buffer)"),
            );
            return false;
        }
        true
    }

    /// An argument that may be a byte-array tracepoint field (read as its
    /// raw bytes) or any other expression.
    fn bytes_arg(&mut self, e: &ast::Expr, scope: &mut ProbeScope) -> Option<Expr> {
        match self.byte_field(e, scope) {
            Some(b) => Some(b),
            None => self.expr(e, scope),
        }
    }

    /// `args.FIELD` when FIELD is an array of single bytes: its raw bytes.
    pub(super) fn byte_field(&mut self, e: &ast::Expr, scope: &ProbeScope) -> Option<Expr> {
        let ast::ExprKind::Field { base, field, .. } = &e.kind else {
            return None;
        };
        if !matches!(&base.kind, ast::ExprKind::Ident(n) if n == "args") {
            return None;
        }
        let (_, format) = scope.tracepoint.as_ref()?;
        let f = format.fields.iter().find(|f| &f.name == field)?;
        let n = f.array_len.filter(|&n| n > 0 && f.size == n)?;
        Some(Expr {
            kind: ExprKind::FieldBytes {
                offset: f.offset,
                n,
            },
            ty: Type::Data(DataKind::Buffer { cap: n }),
            span: e.span,
        })
    }
}
