//! The empty-program floor: a probe whose body never touched its per-CPU
//! scratch memory loses the scratch lookup the prologue emitted (a
//! `bpf_map_lookup_elem` helper call and its null check), so an empty
//! probe compiles to `r0 = 0; exit` like bpftrace's. The lookup is emitted
//! before the body is lowered because most bodies need it; removing it
//! afterwards, when its only user is the null check, keeps that decision
//! out of every construct's lowering.

use inkwell::context::Context;
use inkwell::values::{AnyValueEnum, BasicValueEnum, Operand, PointerValue};

/// Removes the scratch lookup whose result is `scratch` when nothing but
/// the prologue's null check uses it. The check becomes `false`, so LLVM
/// folds the early-return branch away.
pub(crate) fn drop_unused_scratch<'ctx>(ctx: &'ctx Context, scratch: PointerValue<'ctx>) {
    let Some(cast) = scratch.as_instruction() else {
        return;
    };
    let Some(only) = cast.get_first_use() else {
        return;
    };
    if only.get_next_use().is_some() {
        return;
    }
    let AnyValueEnum::IntValue(is_null) = only.get_user() else {
        return;
    };
    let Some(check) = is_null.as_instruction() else {
        return;
    };
    // The lookup: the helper call whose integer result was cast to the
    // pointer; it is removed only when the cast was its one user.
    let call = match cast.get_operand(0) {
        Some(Operand::Value(BasicValueEnum::IntValue(r))) => r.as_instruction(),
        _ => None,
    };
    is_null.replace_all_uses_with(ctx.bool_type().const_zero());
    check.erase_from_basic_block();
    cast.erase_from_basic_block();
    if let Some(call) = call.filter(|c| c.get_first_use().is_none()) {
        call.erase_from_basic_block();
    }
}
