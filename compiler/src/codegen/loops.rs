//! Lowering of loops and jumps: `while` (a plain loop), `unroll` (the body
//! emitted N times), `for` loops over ranges and maps (callbacks, in
//! `foreach`), nested blocks, `break`, `continue` and `return`. A `while`
//! loop must be one the verifier can walk to its end (kernel 5.3+). After a
//! jump the builder continues in a fresh unreachable block, which LLVM removes.

use super::stmt::ProbeGen;
use super::CodegenError;
use crate::ir::{Expr, Stmt, StmtKind};
use inkwell::basic_block::BasicBlock;

type R<T> = Result<T, CodegenError>;

/// Where `continue` and `break` jump in one loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopTargets<'ctx> {
    continue_to: BasicBlock<'ctx>,
    break_to: BasicBlock<'ctx>,
}

impl<'ctx> LoopTargets<'ctx> {
    pub fn new(continue_to: BasicBlock<'ctx>, break_to: BasicBlock<'ctx>) -> LoopTargets<'ctx> {
        LoopTargets {
            continue_to,
            break_to,
        }
    }
}

impl<'ctx> ProbeGen<'_, 'ctx> {
    /// Lowers a loop, jump or nested block statement.
    pub(super) fn loop_stmt(&mut self, s: &StmtKind, span: crate::source::Span) -> R<()> {
        match s {
            StmtKind::ForEach { map, var, body } => self.for_each(*map, *var, body, span),
            StmtKind::Loop { cond, body } => self.lower_loop(cond, body),
            StmtKind::ForRange {
                var,
                start,
                end,
                body,
            } => self.for_range(*var, start, end, body, span),
            StmtKind::Unroll { count, body } => {
                for _ in 0..*count {
                    self.stmts(body)?;
                }
                Ok(())
            }
            StmtKind::Block(body) => self.stmts(body),
            StmtKind::Break | StmtKind::Continue => {
                let targets = self.loops.last().copied().ok_or_else(|| {
                    CodegenError::Internal("`break` or `continue` outside a loop.".into())
                })?;
                let to = if matches!(s, StmtKind::Break) {
                    targets.break_to
                } else {
                    targets.continue_to
                };
                self.em.br(to)?;
                self.em.at(self.em.block("after_jump"));
                Ok(())
            }
            StmtKind::Return => {
                if let Some(cb) = self.callback {
                    return self.return_from_callback(cb);
                }
                self.em.ret0()?;
                self.em.at(self.em.block("after_return"));
                Ok(())
            }
            // The checker allows a value only outside `for` callbacks.
            StmtKind::ReturnValue(value) => {
                let v = self.expr(value)?.int()?;
                let code = self.em.resize(v, 32, true)?;
                self.em.builder.build_return(Some(&code))?;
                self.em.at(self.em.block("after_return"));
                Ok(())
            }
            other => Err(CodegenError::Internal(format!(
                "Statement {other:?} reached the loop lowering."
            ))),
        }
    }

    /// `while`: a plain loop the verifier must see terminate.
    fn lower_loop(&mut self, cond: &Expr, body: &[Stmt]) -> R<()> {
        let (head, body_bb, done) = (
            self.em.block("loop_cond"),
            self.em.block("loop_body"),
            self.em.block("loop_done"),
        );
        self.em.br(head)?;
        self.em.at(head);
        let mark = self.bump;
        let c = self.expr(cond)?.int()?;
        let c = self.em.truthy(c)?;
        self.bump = mark;
        self.em.cond_br(c, body_bb, done)?;
        self.em.at(body_bb);
        self.loops.push(LoopTargets {
            continue_to: head,
            break_to: done,
        });
        let result = self.stmts(body);
        self.loops.pop();
        result?;
        self.em.br(head)?;
        self.em.at(done);
        Ok(())
    }
}
