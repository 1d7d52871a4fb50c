//! Lowering of loops and jumps: the IR's one `Loop` shape (init, condition,
//! body, step — `while` and `for` range loops), `unroll` (the body emitted
//! N times), nested blocks, `break`, `continue` and `return`. The loops are
//! plain bounded loops that the verifier walks (kernel 5.3+). After a jump
//! the builder continues in a fresh unreachable block, which LLVM removes.

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

impl<'ctx> ProbeGen<'_, 'ctx> {
    /// Lowers a loop, jump or nested block statement.
    pub(super) fn loop_stmt(&mut self, s: &StmtKind) -> R<()> {
        match s {
            StmtKind::Loop {
                init,
                cond,
                body,
                step,
            } => self.lower_loop(init, cond, body, step),
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
                self.em.ret0()?;
                self.em.at(self.em.block("after_return"));
                Ok(())
            }
            other => Err(CodegenError::Internal(format!(
                "Statement {other:?} reached the loop lowering."
            ))),
        }
    }

    fn lower_loop(&mut self, init: &[Stmt], cond: &Expr, body: &[Stmt], step: &[Stmt]) -> R<()> {
        self.stmts(init)?;
        let (head, body_bb, step_bb, done) = (
            self.em.block("loop_cond"),
            self.em.block("loop_body"),
            self.em.block("loop_step"),
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
            continue_to: step_bb,
            break_to: done,
        });
        let result = self.stmts(body);
        self.loops.pop();
        result?;
        self.em.br(step_bb)?;
        self.em.at(step_bb);
        self.stmts(step)?;
        self.em.br(head)?;
        self.em.at(done);
        Ok(())
    }
}
