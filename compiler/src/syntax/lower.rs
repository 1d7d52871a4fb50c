//! Lowering of pest pairs to the AST. The grammar guarantees the shape of
//! every pair, but nothing here relies on it with a panic: each function
//! returns `Option` and a missing child makes the caller report an internal
//! syntax error instead. Binary operators are folded by precedence climbing;
//! literal decoding lives in `literal`.

use super::ast::*;
use super::literal;
use super::parser::Rule;
use crate::diagnostics::Diagnostic;
use crate::source::Span;
use pest::iterators::Pair;

/// Lowers the pairs of one probe; `offset` is where its text starts in the file.
pub struct Lower<'d> {
    pub offset: usize,
    pub diags: &'d mut Vec<Diagnostic>,
    /// The text being lowered (starting at `offset`).
    pub source: &'d str,
}

impl Lower<'_> {
    /// The pair's span in the file, without the trailing whitespace pest's
    /// implicit whitespace rule may have consumed after it.
    fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let start = p.as_span().start() + self.offset;
        let len = p.as_str().trim_end_matches([' ', '\t', '\r', '\n']).len();
        Span::new(start, start + len)
    }

    /// Lowers one top-level item.
    pub fn item(&mut self, p: Pair<'_, Rule>) -> Option<Item> {
        match p.as_rule() {
            Rule::probe => self.probe(p).map(Item::Probe),
            Rule::config_block => self.config_block(p).map(Item::Config),
            Rule::map_decl => self.map_decl(p).map(Item::MapDecl),
            Rule::macro_def => self.macro_def(p).map(Item::Macro),
            Rule::c_definition => Some(Item::CDefinition {
                text: p.as_str().to_string(),
                span: self.span(&p),
            }),
            Rule::import_stmt => {
                let span = self.span(&p);
                let lit = p.into_inner().nth(1)?;
                let bytes = literal::parse_str(lit.as_str(), self.span(&lit).start, self.diags);
                Some(Item::Import {
                    path: String::from_utf8_lossy(&bytes).into_owned(),
                    span,
                })
            }
            _ => None,
        }
    }

    pub fn probe(&mut self, p: Pair<'_, Rule>) -> Option<Probe> {
        let span = self.span(&p);
        let mut attach_points = Vec::new();
        let mut predicate = None;
        let mut body = None;
        for child in p.into_inner() {
            match child.as_rule() {
                Rule::attach_list => {
                    for ap in child.into_inner() {
                        attach_points.push(self.attach_point(ap));
                    }
                }
                Rule::predicate => predicate = Some(self.expr(child.into_inner().next()?)?),
                Rule::block => body = Some(self.block(child)?),
                _ => return None,
            }
        }
        Some(Probe {
            attach_points,
            predicate,
            body: body?,
            span,
        })
    }

    fn attach_point(&mut self, p: Pair<'_, Rule>) -> AttachPoint {
        let span = self.span(&p);
        let raw = p.as_str().to_string();
        let parts = p
            .into_inner()
            .map(|part| {
                let quoted = part.as_rule() == Rule::attach_quoted;
                let s = part.as_str();
                let text = if quoted {
                    s.get(1..s.len().saturating_sub(1)).unwrap_or("")
                } else {
                    s
                };
                AttachPart {
                    text: text.to_string(),
                    quoted,
                    span: self.span(&part),
                }
            })
            .collect();
        AttachPoint { parts, raw, span }
    }

    fn macro_def(&mut self, p: Pair<'_, Rule>) -> Option<MacroDef> {
        let span = self.span(&p);
        let mut it = p.into_inner().skip(1);
        let name = it.next()?.as_str().to_string();
        let mut params = Vec::new();
        let mut body = None;
        let mut value = None;
        for c in it {
            match c.as_rule() {
                Rule::macro_param => {
                    let inner = c.into_inner().next()?;
                    let text = inner.as_str();
                    params.push(match inner.as_rule() {
                        Rule::var => MacroParam::Var(text.get(1..)?.to_string()),
                        Rule::map_name => MacroParam::Map(text.get(1..)?.to_string()),
                        _ => MacroParam::Expr(text.to_string()),
                    });
                }
                _ => {
                    let block_span = self.span(&c);
                    if let ExprKind::Block { stmts, value: v } = self.block_expr(c)? {
                        body = Some(Block {
                            stmts,
                            span: block_span,
                        });
                        value = v.map(|b| *b);
                    }
                }
            }
        }
        Some(MacroDef {
            name,
            params,
            body: body?,
            value,
            span,
        })
    }

    fn config_block(&mut self, p: Pair<'_, Rule>) -> Option<ConfigBlock> {
        let span = self.span(&p);
        let mut entries = Vec::new();
        for e in p.into_inner().filter(|c| c.as_rule() == Rule::config_entry) {
            let mut it = e.into_inner();
            let key = it.next()?;
            let value = it.next()?;
            let value_span = self.span(&value);
            let v = match value.as_rule() {
                Rule::int_lit => match literal::parse_int(value.as_str(), value_span) {
                    Ok(v) => ConfigValue::Int(v),
                    Err(d) => {
                        self.diags.push(*d);
                        ConfigValue::Int(0)
                    }
                },
                Rule::str_lit => {
                    let bytes = literal::parse_str(value.as_str(), value_span.start, self.diags);
                    ConfigValue::Str(String::from_utf8_lossy(&bytes).into_owned())
                }
                _ => ConfigValue::Word(value.as_str().to_string()),
            };
            entries.push(ConfigEntry {
                key: key.as_str().to_string(),
                key_span: self.span(&key),
                value: v,
                value_span,
            });
        }
        Some(ConfigBlock { entries, span })
    }

    fn map_decl(&mut self, p: Pair<'_, Rule>) -> Option<MapDecl> {
        let span = self.span(&p);
        let mut it = p.into_inner().filter(|c| c.as_rule() != Rule::kw_let);
        let name = it.next()?.as_str().get(1..)?.to_string();
        let kind = it.next()?;
        let size = it.next()?;
        let size_span = self.span(&size);
        let size = match literal::parse_int(size.as_str(), size_span) {
            Ok(v) => v,
            Err(d) => {
                self.diags.push(*d);
                0
            }
        };
        Some(MapDecl {
            name,
            kind: kind.as_str().to_string(),
            kind_span: self.span(&kind),
            size,
            span,
        })
    }

    fn type_name(&self, p: &Pair<'_, Rule>) -> TypeName {
        let text = p.as_str();
        let pointer_depth = text.chars().filter(|&c| c == '*').count();
        let name = text
            .trim_end_matches(['*', ' ', '\t', '\r', '\n'])
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        TypeName {
            name,
            pointer_depth: u8::try_from(pointer_depth).unwrap_or(u8::MAX),
            span: self.span(p),
            of: None,
        }
    }

    /// `type_spec`: a type name, or `typeof(type)` / `typeof(expr)`.
    fn type_spec(&mut self, p: Pair<'_, Rule>) -> Option<TypeName> {
        let span = self.span(&p);
        let inner = p.into_inner().next()?;
        if inner.as_rule() == Rule::type_name {
            return Some(self.type_name(&inner));
        }
        let arg = inner.into_inner().nth(1)?;
        if arg.as_rule() == Rule::type_name {
            return Some(self.type_name(&arg));
        }
        Some(TypeName {
            name: "typeof".to_string(),
            pointer_depth: 0,
            span,
            of: Some(Box::new(self.expr(arg)?)),
        })
    }

    /// A block used as a value: its statements and, when the last statement
    /// is an expression not followed by `;`, that expression as the value.
    fn block_expr(&mut self, p: Pair<'_, Rule>) -> Option<ExprKind> {
        let text_end = p.as_span().end() + self.offset;
        let block = self.block(p)?;
        let mut stmts = block.stmts;
        let ends_with_value = match stmts.last() {
            Some(Stmt {
                kind: StmtKind::Expr(_),
                span,
            }) => self.tail_is_brace(span.end, text_end),
            _ => false,
        };
        let value = if ends_with_value {
            match stmts.pop() {
                Some(Stmt {
                    kind: StmtKind::Expr(e),
                    ..
                }) => Some(Box::new(e)),
                _ => None,
            }
        } else {
            None
        };
        Some(ExprKind::Block { stmts, value })
    }

    /// Whether only whitespace and the closing `}` lie between `from` and `to`.
    fn tail_is_brace(&self, from: usize, to: usize) -> bool {
        self.source
            .get(from.saturating_sub(self.offset)..to.saturating_sub(self.offset))
            .is_some_and(|t| t.trim() == "}")
    }

    fn block(&mut self, p: Pair<'_, Rule>) -> Option<Block> {
        let span = self.span(&p);
        let list = p.into_inner().next()?;
        let stmts = list
            .into_inner()
            .map(|s| self.stmt(s))
            .collect::<Option<Vec<_>>>()?;
        Some(Block { stmts, span })
    }

    fn stmt(&mut self, p: Pair<'_, Rule>) -> Option<Stmt> {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::if_stmt => self.if_stmt(p)?,
            Rule::block => StmtKind::Block(self.block(p)?),
            Rule::while_stmt => {
                let mut it = p.into_inner().skip(1);
                let cond = self.expr(it.next()?)?;
                let body = self.block(it.next()?)?;
                StmtKind::While { cond, body }
            }
            Rule::unroll_stmt => {
                let mut it = p.into_inner().skip(1);
                let count = self.expr(it.next()?)?;
                let body = self.block(it.next()?)?;
                StmtKind::Unroll { count, body }
            }
            Rule::for_stmt => self.for_stmt(p)?,
            Rule::simple_stmt => {
                let inner = p.into_inner().next()?;
                match inner.as_rule() {
                    Rule::assign => self.assign(inner)?,
                    Rule::let_stmt => self.let_stmt(inner)?,
                    Rule::jump_stmt => {
                        let mut parts = inner.into_inner();
                        match parts.next()?.as_rule() {
                            Rule::kw_break => StmtKind::Break,
                            Rule::kw_continue => StmtKind::Continue,
                            _ => match parts.next() {
                                Some(value) => StmtKind::ReturnValue(self.expr(value)?),
                                None => StmtKind::Return,
                            },
                        }
                    }
                    _ => StmtKind::Expr(self.expr(inner)?),
                }
            }
            _ => return None,
        };
        Some(Stmt { kind, span })
    }

    fn for_stmt(&mut self, p: Pair<'_, Rule>) -> Option<StmtKind> {
        let mut it = p.into_inner().skip(1);
        let var = it.next()?;
        let var_span = self.span(&var);
        let var = var.as_str().get(1..)?.to_string();
        let source = it.next()?;
        let source_span = self.span(&source);
        let body = self.block(it.next()?)?;
        if source.as_rule() == Rule::for_range {
            let mut r = source.into_inner();
            let start = self.binary(r.next()?)?;
            let end = self.binary(r.next()?)?;
            return Some(StmtKind::ForRange {
                var,
                var_span,
                start,
                end,
                body,
            });
        }
        let map = self.map(source, source_span)?;
        Some(StmtKind::ForMap {
            var,
            var_span,
            map,
            body,
        })
    }

    fn let_stmt(&mut self, p: Pair<'_, Rule>) -> Option<StmtKind> {
        let mut it = p.into_inner().skip(1);
        let var = it.next()?;
        let name_span = self.span(&var);
        let name = var.as_str().get(1..)?.to_string();
        let mut ty = None;
        let mut value = None;
        for c in it {
            match c.as_rule() {
                Rule::type_spec => ty = Some(self.type_spec(c)?),
                _ => value = Some(self.expr(c)?),
            }
        }
        Some(StmtKind::Let {
            name,
            name_span,
            ty,
            value,
        })
    }

    fn if_stmt(&mut self, p: Pair<'_, Rule>) -> Option<StmtKind> {
        let mut it = p
            .into_inner()
            .filter(|c| !matches!(c.as_rule(), Rule::kw_if | Rule::kw_else));
        let cond = self.expr(unparen(it.next()?))?;
        let then = self.block(it.next()?)?;
        let otherwise = match it.next() {
            None => None,
            Some(e) if e.as_rule() == Rule::if_stmt => {
                let stmt = self.stmt(e)?;
                Some(Block {
                    span: stmt.span,
                    stmts: vec![stmt],
                })
            }
            Some(e) => Some(self.block(e)?),
        };
        Some(StmtKind::If {
            cond,
            then,
            otherwise,
        })
    }

    fn assign(&mut self, p: Pair<'_, Rule>) -> Option<StmtKind> {
        let mut it = p.into_inner();
        let target = self.unary(it.next()?)?;
        let op = match it.next()?.as_str() {
            "=" => None,
            s => Some(binary_op(s.strip_suffix('=')?)?),
        };
        let value = self.expr(it.next()?)?;
        // `_ = e;` evaluates `e` and discards its value.
        if op.is_none() && matches!(&target.kind, ExprKind::Ident(n) if n == "_") {
            return Some(StmtKind::Expr(value));
        }
        Some(StmtKind::Assign { target, op, value })
    }

    /// `expr = binary (? expr : expr)?`
    fn expr(&mut self, p: Pair<'_, Rule>) -> Option<Expr> {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let cond = self.binary(it.next()?)?;
        let Some(then) = it.next() else {
            return Some(cond);
        };
        let then = self.expr(then)?;
        let otherwise = self.expr(it.next()?)?;
        let kind = ExprKind::Ternary {
            cond: Box::new(cond),
            then: Box::new(then),
            otherwise: Box::new(otherwise),
        };
        Some(Expr { kind, span })
    }

    /// Folds `unary (op unary)*` by precedence (all binary operators are
    /// left-associative).
    fn binary(&mut self, p: Pair<'_, Rule>) -> Option<Expr> {
        let mut it = p.into_inner();
        let mut operands = vec![self.unary(it.next()?)?];
        let mut ops: Vec<BinaryOp> = Vec::new();
        while let Some(op_pair) = it.next() {
            let op = binary_op(op_pair.as_str())?;
            let rhs = self.unary(it.next()?)?;
            while ops
                .last()
                .is_some_and(|&top| precedence(top) >= precedence(op))
            {
                reduce(&mut operands, &mut ops)?;
            }
            ops.push(op);
            operands.push(rhs);
        }
        while !ops.is_empty() {
            reduce(&mut operands, &mut ops)?;
        }
        operands.pop()
    }

    /// `prefix_op* postfix`; the innermost operator applies first.
    fn unary(&mut self, p: Pair<'_, Rule>) -> Option<Expr> {
        let mut prefixes = Vec::new();
        let mut operand = None;
        for child in p.into_inner() {
            match child.as_rule() {
                Rule::postfix => operand = Some(self.postfix(child)?),
                Rule::cast_op => {
                    let span = self.span(&child);
                    let ty = self.type_spec(child.into_inner().next()?)?;
                    prefixes.push((Rule::cast_op, span, Some(ty)));
                }
                rule => prefixes.push((rule, self.span(&child), None)),
            }
        }
        let mut e = operand?;
        for (rule, op_span, cast_ty) in prefixes.into_iter().rev() {
            let span = op_span.to(e.span);
            let operand = Box::new(e);
            let kind = match rule {
                Rule::cast_op => ExprKind::Cast {
                    ty: cast_ty?,
                    operand,
                },
                Rule::op_preinc => ExprKind::IncDec {
                    target: operand,
                    increment: true,
                    prefix: true,
                },
                Rule::op_predec => ExprKind::IncDec {
                    target: operand,
                    increment: false,
                    prefix: true,
                },
                Rule::op_neg => ExprKind::Unary {
                    op: UnaryOp::Neg,
                    operand,
                },
                Rule::op_not => ExprKind::Unary {
                    op: UnaryOp::Not,
                    operand,
                },
                Rule::op_bitnot => ExprKind::Unary {
                    op: UnaryOp::BitNot,
                    operand,
                },
                Rule::op_deref => ExprKind::Deref(operand),
                Rule::op_addr => ExprKind::AddrOf(operand),
                _ => return None,
            };
            e = Expr { kind, span };
        }
        Some(e)
    }

    fn postfix(&mut self, p: Pair<'_, Rule>) -> Option<Expr> {
        let mut it = p.into_inner();
        let mut e = self.primary(it.next()?)?;
        for op in it {
            let span = e.span.to(self.span(&op));
            let base = Box::new(e);
            let kind = match op.as_rule() {
                Rule::tuple_index => {
                    let pos = op.into_inner().next()?;
                    let index = match pos.as_str().parse::<u32>() {
                        Ok(i) => i,
                        Err(_) => {
                            self.diags.push(
                                Diagnostic::error("E0002", "tuple index is too large", span)
                                    .label("not a valid tuple position"),
                            );
                            0
                        }
                    };
                    ExprKind::TupleIndex { base, index }
                }
                Rule::field_dot | Rule::field_arrow => {
                    let arrow = op.as_rule() == Rule::field_arrow;
                    let name = op.into_inner().next()?;
                    let field_span = self.span(&name);
                    ExprKind::Field {
                        base,
                        field: name.as_str().to_string(),
                        field_span,
                        arrow,
                    }
                }
                Rule::index_op => ExprKind::Index {
                    base,
                    index: Box::new(self.expr(op.into_inner().next()?)?),
                },
                Rule::op_postinc => ExprKind::IncDec {
                    target: base,
                    increment: true,
                    prefix: false,
                },
                Rule::op_postdec => ExprKind::IncDec {
                    target: base,
                    increment: false,
                    prefix: false,
                },
                _ => return None,
            };
            e = Expr { kind, span };
        }
        Some(e)
    }

    fn primary(&mut self, p: Pair<'_, Rule>) -> Option<Expr> {
        let span = self.span(&p);
        let text = p.as_str();
        let kind = match p.as_rule() {
            Rule::int_lit => match literal::parse_int(text, span) {
                Ok(v) => ExprKind::Int(v),
                Err(d) => {
                    self.diags.push(*d);
                    ExprKind::Int(0)
                }
            },
            Rule::str_lit => {
                match String::from_utf8(literal::parse_str(text, span.start, self.diags)) {
                    Ok(s) => ExprKind::Str(s),
                    Err(e) => ExprKind::Bytes(e.into_bytes()),
                }
            }
            Rule::ident if text == "true" || text == "false" => ExprKind::Bool(text == "true"),
            Rule::ident => ExprKind::Ident(text.to_string()),
            Rule::param_count => ExprKind::ParamCount,
            Rule::var => {
                let name = text.get(1..)?;
                match name.parse::<u32>() {
                    Ok(n) if name.bytes().all(|b| b.is_ascii_digit()) => ExprKind::Positional(n),
                    _ => ExprKind::Var(name.to_string()),
                }
            }
            Rule::tuple => {
                let elems = p
                    .into_inner()
                    .map(|e| self.expr(e))
                    .collect::<Option<Vec<_>>>()?;
                ExprKind::Tuple(elems)
            }
            Rule::record => {
                let fields = p
                    .into_inner()
                    .map(|f| {
                        let mut inner = f.into_inner();
                        let name = inner.next()?;
                        let name_span = self.span(&name);
                        Some(super::ast::RecordField {
                            name: name.as_str().to_string(),
                            name_span,
                            value: self.expr(inner.next()?)?,
                        })
                    })
                    .collect::<Option<Vec<_>>>()?;
                ExprKind::Record(fields)
            }
            Rule::sizeof_expr => {
                let arg = p.into_inner().nth(1)?;
                if arg.as_rule() == Rule::type_spec {
                    ExprKind::SizeofType(self.type_spec(arg)?)
                } else {
                    ExprKind::SizeofExpr(Box::new(self.expr(arg)?))
                }
            }
            Rule::offsetof_expr => {
                let mut it = p.into_inner().skip(1);
                let ty = self.type_spec(it.next()?)?;
                ExprKind::Offsetof {
                    ty,
                    path: it.map(|f| f.as_str().to_string()).collect(),
                }
            }
            Rule::block => self.block_expr(p)?,
            Rule::paren => {
                let inner = self.expr(p.into_inner().next()?)?;
                return Some(Expr { span, ..inner });
            }
            Rule::call => return self.call(p, span),
            Rule::map => return self.map(p, span),
            _ => return None,
        };
        Some(Expr { kind, span })
    }

    fn call(&mut self, p: Pair<'_, Rule>, span: Span) -> Option<Expr> {
        let mut it = p.into_inner();
        let name = it.next()?;
        let name_span = self.span(&name);
        let args = it.map(|a| self.expr(a)).collect::<Option<Vec<_>>>()?;
        Some(Expr {
            kind: ExprKind::Call {
                name: name.as_str().to_string(),
                name_span,
                args,
            },
            span,
        })
    }

    fn map(&mut self, p: Pair<'_, Rule>, span: Span) -> Option<Expr> {
        let mut it = p.into_inner();
        let name = it.next()?.as_str().get(1..)?.to_string();
        let keys = match it.next() {
            Some(k) => k
                .into_inner()
                .map(|e| self.expr(e))
                .collect::<Option<Vec<_>>>()?,
            None => Vec::new(),
        };
        Some(Expr {
            kind: ExprKind::Map { name, keys },
            span,
        })
    }
}

/// The inner expression of a condition written entirely in parentheses
/// (`if (c)`), so its span is that of `c` as in the parenthesized grammar
/// of older versions; any other expression unchanged.
fn unparen(p: Pair<'_, Rule>) -> Pair<'_, Rule> {
    fn only_child<'i>(p: &Pair<'i, Rule>, rule: Rule) -> Option<Pair<'i, Rule>> {
        let mut it = p.clone().into_inner();
        let c = it.next()?;
        (it.next().is_none() && c.as_rule() == rule).then_some(c)
    }
    let inner = only_child(&p, Rule::binary)
        .and_then(|b| only_child(&b, Rule::unary))
        .and_then(|u| only_child(&u, Rule::postfix))
        .and_then(|pf| only_child(&pf, Rule::paren))
        .and_then(|paren| paren.into_inner().next());
    inner.unwrap_or(p)
}

fn reduce(operands: &mut Vec<Expr>, ops: &mut Vec<BinaryOp>) -> Option<()> {
    let op = ops.pop()?;
    let rhs = operands.pop()?;
    let lhs = operands.pop()?;
    let span = lhs.span.to(rhs.span);
    operands.push(Expr {
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span,
    });
    Some(())
}

fn binary_op(s: &str) -> Option<BinaryOp> {
    use BinaryOp::*;
    Some(match s {
        "+" => Add,
        "-" => Sub,
        "*" => Mul,
        "/" => Div,
        "%" => Mod,
        "&" => BitAnd,
        "|" => BitOr,
        "^" => BitXor,
        "<<" => Shl,
        ">>" => Shr,
        "==" => Eq,
        "!=" => Ne,
        "<" => Lt,
        "<=" => Le,
        ">" => Gt,
        ">=" => Ge,
        "&&" => And,
        "||" => Or,
        _ => return None,
    })
}

/// C precedence; higher binds tighter.
fn precedence(op: BinaryOp) -> u8 {
    use BinaryOp::*;
    match op {
        Or => 1,
        And => 2,
        BitOr => 3,
        BitXor => 4,
        BitAnd => 5,
        Eq | Ne => 6,
        Lt | Le | Gt | Ge => 7,
        Shl | Shr => 8,
        Add | Sub => 9,
        Mul | Div | Mod => 10,
    }
}
