//! Layer 5: diagnostics. Everything a person reads about a bug: the report
//! life cycle and `on_error` (report), the wording about blocks and bad
//! pointers (describe), stacks (frames), the fault handler (fault) and its
//! instruction decoder (insn), the leak check (leaks) and the
//! stopping of every other thread while it runs (world), statistics (stats),
//! the buffers a program hands to the kernel (syscall),
//! and whether a family mismatch is another library's operators at work
//! (operators).

pub mod describe;
pub mod fault;
pub mod frames;
pub mod insn;
pub mod leaks;
pub mod operators;
pub mod report;
pub mod stats;
pub mod syscall;
pub mod world;
