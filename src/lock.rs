//! The pool lock: spins briefly, then sleeps on a futex.
//!
//! A critical section lasts well under a microsecond, so a waiter normally
//! gets the lock within its spin. When the holder has been preempted
//! (8 threads on 2 cores), spinning or `sched_yield` would keep the waiter
//! on a CPU the holder needs, and the wait would last several time slices;
//! a sleeping waiter leaves the run queue instead, and the holder's release
//! wakes one sleeper. The wake is a system call made *after* the lock is
//! released, so no system call ever happens while it is held.
//!
//! Three states (Drepper, "Futexes are tricky"): free, held, and held with
//! possible sleepers. The caller drives the attempts one at a time so it can
//! keep its per-thread lock depth right around each one (see pool::acquire).

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, Ordering::*};

const FREE: u32 = 0;
const HELD: u32 = 1;
/// Held, and some thread may be asleep waiting for it.
const CONTENDED: u32 = 2;

pub struct Lock<T> {
    state: AtomicU32,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only through `data()`, whose callers hold the lock.
unsafe impl<T: Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    pub const fn new(data: T) -> Self {
        Lock { state: AtomicU32::new(FREE), data: UnsafeCell::new(data) }
    }

    pub fn is_free(&self) -> bool {
        self.state.load(Relaxed) == FREE
    }

    /// Takes the lock if it is free. A thread that has slept on the lock
    /// passes `after_sleep`: it takes it marked contended, because other
    /// sleepers may remain and its release must wake the next one (taking it
    /// as merely held would lose their wake-up forever).
    pub fn try_lock(&self, after_sleep: bool) -> bool {
        let to = if after_sleep { CONTENDED } else { HELD };
        self.state.compare_exchange(FREE, to, Acquire, Relaxed).is_ok()
    }

    /// Takes the lock if it is free; otherwise marks it contended, so that
    /// its release wakes a sleeper. Call `sleep` after a `false`.
    pub fn try_lock_or_mark(&self) -> bool {
        // Taken this way the lock is recorded as contended even if nobody
        // sleeps: at worst one needless wake, never a lost one.
        self.state.swap(CONTENDED, Acquire) == FREE
    }

    /// Sleeps while the lock is held and marked contended (returns at once
    /// if it no longer is, on a spurious wake-up, or after `timeout_ns`).
    pub fn sleep(&self, timeout_ns: Option<u64>) {
        crate::sys::futex_wait(&self.state, CONTENDED, timeout_ns);
    }

    /// Releases the lock; returns true if a sleeper must be woken with `wake`
    /// (kept separate so the caller can first leave its critical state).
    pub fn release(&self) -> bool {
        self.state.swap(FREE, Release) == CONTENDED
    }

    pub fn wake(&self) {
        crate::sys::futex_wake_one(&self.state);
    }

    /// # Safety
    /// The caller holds the lock, and does not keep the reference past its release.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn data(&self) -> &mut T {
        // SAFETY: exclusive while the lock is held (the caller's promise).
        unsafe { &mut *self.data.get() }
    }

    pub fn as_mut_ptr(&self) -> *mut T {
        self.data.get()
    }
}
