//! The kernel functions (kfuncs) generated code may call. A kfunc call is
//! emitted as a helper call whose immediate is a placeholder from this
//! table; the runtime, which can read the running kernel's BTF, rewrites
//! each such call into a kfunc call (`src_reg = BPF_PSEUDO_KFUNC_CALL`,
//! `imm` = the function's BTF id) before loading. The compiler itself
//! never learns a BTF id.

/// `struct task_struct *bpf_task_from_pid(s32 pid)`: a counted reference
/// to the task, or NULL (`comm(pid)`).
pub const TASK_FROM_PID: i32 = 0x7ff0_0001;
/// `void bpf_task_release(struct task_struct *p)`.
pub const TASK_RELEASE: i32 = 0x7ff0_0002;

/// Every placeholder with the kernel function it stands for.
pub const KFUNCS: &[(i32, &str)] = &[
    (TASK_FROM_PID, "bpf_task_from_pid"),
    (TASK_RELEASE, "bpf_task_release"),
];
