//! Per-thread state (initial-exec TLS defined in `tls.c`): the thread's
//! report id and whether it holds the pool lock.

use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

extern "C" {
    fn pooldbg_tls_thread_id() -> u32;
    fn pooldbg_tls_set_thread_id(id: u32);
    fn pooldbg_tls_lock_depth() -> u32;
    fn pooldbg_tls_set_lock_depth(d: u32);
}

static NEXT_THREAD: AtomicU32 = AtomicU32::new(1);

/// The calling thread's number in reports (T0 is the first thread that
/// allocated, normally `main`'s), assigned on first use.
pub fn thread_number() -> u32 {
    // SAFETY: plain initial-exec TLS reads and writes of our own variables.
    unsafe {
        let id = pooldbg_tls_thread_id();
        if id != 0 {
            return id - 1;
        }
        let id = NEXT_THREAD.fetch_add(1, Relaxed);
        pooldbg_tls_set_thread_id(id);
        id - 1
    }
}

pub fn lock_depth() -> u32 {
    // SAFETY: see thread_number.
    unsafe { pooldbg_tls_lock_depth() }
}

pub fn set_lock_depth(d: u32) {
    // SAFETY: see thread_number.
    unsafe { pooldbg_tls_set_lock_depth(d) }
}
