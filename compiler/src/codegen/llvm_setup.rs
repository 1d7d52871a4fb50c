//! Process-wide LLVM settings, applied once before the first target
//! machine is made: the instruction scheduler that keeps code generation
//! linear in a probe's size, and a fatal-error handler that turns LLVM's
//! abort into an error sentence and exit status 1.

use std::ffi::{c_char, CStr};
use std::sync::Once;

/// LLVM's default (ILP) pre-register-allocation scheduler recomputes node
/// heights as it goes, quadratic in a basic block's size: a probe of 5,000
/// map stores is one block of 5,000 helper calls and took seconds. The
/// bottom-up register-reduction list scheduler is linear here and gives
/// the same instruction counts on our fixtures.
const ARGS: [&CStr; 2] = [c"ferrotrace", c"-pre-RA-sched=list-burr"];

static SETUP: Once = Once::new();

/// Applies the settings (idempotent; cheap after the first call).
pub(crate) fn setup() {
    SETUP.call_once(|| {
        let argv: Vec<*const c_char> = ARGS.iter().map(|a| a.as_ptr()).collect();
        // SAFETY: `argv` holds `ARGS.len()` pointers to NUL-terminated
        // static strings, and the overview may be null. `Once` makes this
        // the only call, so LLVM's option registry is not parsed twice.
        unsafe {
            inkwell::llvm_sys::support::LLVMParseCommandLineOptions(
                ARGS.len() as i32,
                argv.as_ptr(),
                std::ptr::null(),
            );
            inkwell::llvm_sys::error_handling::LLVMInstallFatalErrorHandler(Some(on_fatal_error));
        }
    });
}

/// LLVM calls this instead of printing `LLVM ERROR` and aborting. It cannot
/// return an error to our caller (LLVM aborts if it returns), so it says
/// what failed and exits.
extern "C" fn on_fatal_error(reason: *const c_char) {
    let reason = if reason.is_null() {
        String::from("unknown error")
    } else {
        // SAFETY: LLVM passes a NUL-terminated string that lives for the
        // duration of this call.
        unsafe { CStr::from_ptr(reason) }
            .to_string_lossy()
            .into_owned()
    };
    eprintln!("ERROR: {}", fatal_message(&reason));
    std::process::exit(1);
}

/// The sentence for one of LLVM's fatal errors.
fn fatal_message(reason: &str) -> String {
    let reason = reason.trim_end_matches('.');
    if reason.contains("out of insn range") {
        format!(
            "LLVM could not generate the BPF program ({reason}): a jump spans more than \
             32,767 instructions, which BPF allows only from CPU v4 (Linux 6.6) on. Split \
             the largest probe's statements across several probes."
        )
    } else {
        format!(
            "LLVM failed while generating the BPF program ({reason}). This is a bug in \
             ferrotrace's code generation; please report it with the script."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_range_error_says_what_to_do() {
        let m = fatal_message("Branch target out of insn range");
        assert!(m.contains("(Branch target out of insn range)"), "{m}");
        assert!(m.contains("Split the largest probe"), "{m}");
    }
}
