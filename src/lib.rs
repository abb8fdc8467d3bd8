//! libpooldbg: a memory-debugging allocator for Linux, loaded with LD_PRELOAD.
//!
//! Every heap object gets its own page run from an mmap-backed debug pool,
//! ending against a trapped guard page; freed runs go back to the kernel and
//! stay trapped in a FIFO quarantine. See DESIGN.md for the architecture.
//!
//! The library never allocates through itself: it is `no_std` outside tests,
//! keeps metadata in its own mappings and formats text on the stack.

#![cfg_attr(not(test), no_std)]

#[cfg(all(not(test), not(panic = "abort")))]
compile_error!("libpooldbg must be built with panic = \"abort\": no unwinding across extern \"C\"");

mod cache;
mod dense;
mod fault;
mod fmt;
mod global;
mod init;
mod insn;
mod layout;
mod leaks;
mod lock;
mod options;
mod pool;
mod report;
mod stack;
mod stats;
mod sys;
mod tls;
mod turn;
mod unwind;

pub mod api;
mod heap;

/// Called by cxx.c when operator new fails and no C++ runtime is loaded to
/// throw std::bad_alloc.
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn pooldbg_out_of_memory(size: usize) -> ! {
    report::begin_raw(format_args!("out-of-memory in operator new({})", size));
    report::say!("  the allocation failed and no C++ runtime is loaded to throw std::bad_alloc");
    report::finish();
    sys::abort()
}

/// Prints the pool statistics table to the report stream (stderr or log_path).
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn pooldbg_print_stats() {
    sys::keep_errno(stats::print)
}

/// Runs the leak check now and prints what leaked; returns 1 if anything
/// did, 0 otherwise. Never exits. Call it while other threads are quiet: a
/// block freed during the scan may be read after its pages were trapped.
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn pooldbg_check_leaks() -> i32 {
    if !init::ready() {
        return 0;
    }
    sys::keep_errno(|| {
        let found = leaks::check();
        if found {
            report::end_without_stopping();
        }
        found as i32
    })
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    report::line(format_args!("libpooldbg: ERROR: internal error (panic) in libpooldbg"));
    sys::abort()
}

/// A `no_std` cdylib with panic=abort still references this symbol; it is
/// never called (nothing unwinds).
#[cfg(not(test))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}
