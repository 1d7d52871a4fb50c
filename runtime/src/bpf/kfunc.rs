//! Kernel function (kfunc) calls: the compiler emits each as a helper call
//! whose immediate is a placeholder (`ferrotrace_compiler::kfuncs`); before
//! a program is loaded, every such call becomes a kfunc call of the running
//! kernel (`src_reg = BPF_PSEUDO_KFUNC_CALL`, `imm` = the function's BTF id
//! in vmlinux).

use super::error::BpfError;
use crate::btf::Btf;
use ferrotrace_compiler::kfuncs::KFUNCS;

/// `BPF_JMP | BPF_CALL`.
const CALL: u64 = 0x85;
/// `src_reg` of a call to a kernel function named by BTF id.
const PSEUDO_KFUNC_CALL: u64 = 2;

/// Rewrites the placeholder calls of `insns` (probe `probe`) into kfunc
/// calls; a kernel without the function is an error saying which.
pub fn resolve(insns: &mut [u64], probe: &str) -> Result<(), BpfError> {
    for word in insns.iter_mut() {
        let (code, regs, imm) = (
            *word & 0xff,
            (*word >> 8) & 0xff,
            (*word >> 32) as u32 as i32,
        );
        if code != CALL || regs >> 4 != 0 {
            continue;
        }
        let Some(&(_, name)) = KFUNCS.iter().find(|(p, _)| *p == imm) else {
            continue;
        };
        let id = Btf::vmlinux()
            .map_err(|why| BpfError::Load {
                probe: probe.to_string(),
                reason: why,
            })?
            .function_id(name)
            .ok_or_else(|| BpfError::Load {
                probe: probe.to_string(),
                reason: format!(
                    "this kernel has no kernel function `{name}` (Linux 6.2 and later have it), which `comm(pid)` needs."
                ),
            })?;
        let regs = (regs & 0x0f) | (PSEUDO_KFUNC_CALL << 4);
        *word = (*word & 0x0000_0000_ffff_00ff) | (regs << 8) | (u64::from(id) << 32);
    }
    Ok(())
}

/// The sentence for a verifier log that refuses one of our kfunc calls in
/// this program type (Linux allows them in fewer program types than
/// helpers), or `None`.
pub fn refused(log_tail: &[String]) -> Option<String> {
    let name = KFUNCS.iter().map(|(_, n)| *n).find(|n| {
        log_tail
            .iter()
            .any(|l| l.contains(&format!("calling kernel function {n} is not allowed")))
    })?;
    Some(format!(
        "this kernel does not let programs of this probe kind call the kernel function {name}, \
         which comm(pid) needs; here comm(pid) works in profile, interval and software probes \
         (perf event programs). Use `comm` in a probe that fires in that task instead."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_calls_are_left_alone() {
        // call bpf_map_lookup_elem (helper 1) and a bpf-to-bpf call.
        let mut insns = [CALL | (1u64 << 32), CALL | (1 << 12) | (5u64 << 32)];
        let before = insns;
        assert!(resolve(&mut insns, "p").is_ok());
        assert_eq!(insns, before);
    }

    #[test]
    fn refused_kfunc_gets_a_sentence() {
        let log = vec!["calling kernel function bpf_task_from_pid is not allowed".to_string()];
        let why = refused(&log).unwrap_or_default();
        assert!(why.contains("comm(pid)"), "{why}");
        assert_eq!(refused(&["R1 invalid mem access".to_string()]), None);
    }
}
