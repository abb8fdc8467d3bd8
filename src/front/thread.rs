//! Per-thread set-up: every thread that allocates gets an alternate signal
//! stack, so the fault handler (diag/fault.rs) can report a stack overflow
//! into a guard page, or a fault on a thread whose stack is nearly full. It
//! is made on the thread's first allocation (outside the pool lock) and
//! released by a thread-specific-key destructor when the thread exits.

use core::ffi::c_void;

use crate::sys::thread::{self, Key};
use crate::sys::{mem, signal, tls};
use crate::util::global::Global;

const ALTSTACK_BYTES: usize = 64 * 1024;
static ALTSTACK_KEY: Global<Option<Key>> = Global::new(None);

/// # Safety
/// Constructor only.
pub unsafe fn init_altstacks() {
    *ALTSTACK_KEY.init_mut() = thread::key_create(drop_altstack);
}

/// Gives the calling thread an alternate signal stack if it has none (called
/// on its first allocation; outside the pool lock). A thread that set up its
/// own alternate stack keeps it.
pub fn ensure_altstack() {
    if tls::altstack_state() != 0 {
        return;
    }
    let Some(key) = *ALTSTACK_KEY.get() else { return };
    tls::set_altstack_state(1); // also stops re-entry from pthread_setspecific
    if signal::has_altstack() {
        return; // the program has its own
    }
    let Some(base) = mem::map_rw(ALTSTACK_BYTES) else { return };
    if !signal::set_altstack(base, ALTSTACK_BYTES) {
        mem::unmap(base, ALTSTACK_BYTES);
        return;
    }
    thread::set_specific(key, base);
}

extern "C" fn drop_altstack(base: *mut c_void) {
    signal::disable_altstack();
    mem::unmap(base as usize, ALTSTACK_BYTES);
    tls::set_altstack_state(2);
}
