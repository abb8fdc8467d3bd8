//! Per-thread set-up: every thread that allocates gets a stack of ours,
//! made on its first allocation (outside the pool lock) and released by a
//! thread-specific-key destructor when the thread exits. It is the thread's
//! alternate signal stack unless the thread has one already, so the fault
//! handler (diag/fault.rs) can report a stack overflow into a guard page, or
//! a fault on a thread whose stack is nearly full. A thread with its own
//! alternate stack keeps it — set before its first allocation or after, as
//! Python's faulthandler and Rust's runtime do; we never disable it — and
//! the fault handler then moves to our stack to write a report (theirs may
//! be too small: Rust's is 8 KiB).

use core::ffi::c_void;

use crate::sys::thread::{self, Key};
use crate::sys::{mem, signal, tls};
use crate::util::global::Global;

const ALTSTACK_BYTES: usize = tls::OWN_STACK_BYTES;
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
    let Some(base) = mem::map_rw(ALTSTACK_BYTES) else { return };
    if !signal::has_altstack() && !signal::set_altstack(base, ALTSTACK_BYTES) {
        mem::unmap(base, ALTSTACK_BYTES);
        return;
    }
    tls::set_own_stack(base);
    thread::set_specific(key, base);
}

extern "C" fn drop_altstack(base: *mut c_void) {
    tls::set_own_stack(0);
    if signal::altstack().is_some_and(|(b, _, _)| b == base as usize) {
        signal::disable_altstack(); // ours; one the program set is its own
    }
    mem::unmap(base as usize, ALTSTACK_BYTES);
    tls::set_altstack_state(2);
}
