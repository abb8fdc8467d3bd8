//! libpooldbg: a memory-debugging allocator for Linux, loaded with LD_PRELOAD.
//!
//! Every heap object gets its own page run from an mmap-backed debug pool,
//! ending against a trapped guard page; freed runs go back to the kernel and
//! stay trapped in a FIFO quarantine. docs/ARCHITECTURE.md describes the
//! layers below, each allowed to use only the ones listed before it:
//!
//! `util` → `sys` → `config` → `out` → `heap` → `diag` → `front` → `init`
//!
//! The library never allocates through itself: it is `no_std` outside tests,
//! keeps metadata in its own mappings and formats text on the stack.

#![cfg_attr(not(test), no_std)]
// The constructor, the fault handler and the fork handlers are left out of
// test builds (they would interpose the test binary); what only they call is
// unused there.
#![cfg_attr(test, allow(dead_code))]

#[cfg(all(not(test), not(panic = "abort")))]
compile_error!("libpooldbg must be built with panic = \"abort\": no unwinding across extern \"C\"");

mod config;
mod diag;
pub mod front;
mod heap;
mod out;
mod sys;
mod util;
// Only the cdylib runs the constructor and the fork handlers.
#[cfg(not(test))]
mod init;

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    out::line(format_args!("libpooldbg: ERROR: internal error (panic) in libpooldbg"));
    sys::abort()
}

// `rust_eh_personality`, which a no_std cdylib still references, is defined
// hidden in front/cxx.c: exported, it would interpose on other Rust code.
