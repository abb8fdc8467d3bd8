//! Layer 5: diagnostics. Everything a person reads about a bug: the report
//! life cycle and `on_error` (report), the wording about blocks and bad
//! pointers (describe), stacks (frames), the fault handler (fault), its
//! instruction decoder (insn) and the program's own fault handlers kept
//! behind it (chain), the leak check (leaks) and the
//! stopping of every other thread while it runs (world), statistics (stats),
//! the check of every live block's canaries (heapcheck), the buffers a
//! program hands to the kernel (syscall), and whether a family mismatch is
//! another library's operators at work
//! (operators).

pub mod chain;
pub mod describe;
pub mod fault;
pub mod frames;
pub mod heapcheck;
pub mod insn;
pub mod json;
pub mod leaks;
pub mod operators;
pub mod picture;
pub mod report;
pub mod stats;
pub mod suppress;
pub mod syscall;
pub mod world;
