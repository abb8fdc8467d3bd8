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
//!
//! # Lock depth: which of our locks this thread holds
//! A signal handler may interrupt a thread inside one of our critical
//! sections and call malloc. Waiting for a lock its own thread holds would
//! deadlock, so every lock marks the thread's *depth* (initial-exec TLS)
//! with `Depth::mark` *before* each attempt to take it and restores it only
//! after the release: a handler can never find a lock held by its own thread
//! with the mark clear. Taking a lock with a mark already set is reported
//! (`reentered`) instead of waited for. The fork handlers (init.rs) read the
//! mark to decide which locks the forking thread can take.
//!
//! # Lock order
//! The pool lock and the commit lock are never held together, and the
//! page-table turn (heap/turn.rs) guards no data: it may be held across the
//! commit lock, never under the pool lock. Only fork_prepare takes both
//! locks, all or nothing, with try-locks.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, Ordering::*};

use crate::out::{self, say};
use crate::sys::{self, futex, tls};

/// Depth marks: what the thread holds (or is taking).
pub const HOLDS_NOTHING: u32 = 0;
pub const HOLDS_POOL: u32 = 1;
pub const HOLDS_COMMIT: u32 = 2;
/// Both locks, taken by fork_prepare for the fork in progress: other
/// libraries' fork handlers that run while we hold them (before ours in the
/// child and parent, after ours in prepare) may allocate on this thread,
/// which then uses the locks it already holds.
pub const HOLDS_FOR_FORK: u32 = 3;

/// The calling thread's depth mark.
pub fn held() -> u32 {
    tls::lock_depth()
}

/// Sets the calling thread's depth mark (fork handlers only; locks use `Depth`).
pub fn set_held(v: u32) {
    tls::set_lock_depth(v)
}

/// A depth mark in force: restores the previous mark when dropped.
pub struct Depth {
    prev: u32,
}

impl Depth {
    /// Marks this thread as taking (then holding) a lock at `level`.
    pub fn mark(level: u32) -> Depth {
        let prev = tls::lock_depth();
        tls::set_lock_depth(level);
        Depth { prev }
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        tls::set_lock_depth(self.prev);
    }
}

/// A signal handler called the allocator while this thread held one of our
/// locks: stop with a report instead of deadlocking.
pub fn reentered() -> ! {
    out::take_report_token();
    tls::set_in_report(true);
    out::headline(format_args!("allocator re-entered while holding one of its locks"));
    say!("  a signal handler called malloc/free while this thread was inside the allocator;");
    say!("  malloc and free are not async-signal-safe (signal-safety(7)). Stopping instead of deadlocking.");
    sys::abort()
}

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
        futex::wait(&self.state, CONTENDED, timeout_ns);
    }

    /// Releases the lock; returns true if a sleeper must be woken with `wake`
    /// (kept separate so the caller can first leave its critical state).
    pub fn release(&self) -> bool {
        self.state.swap(FREE, Release) == CONTENDED
    }

    pub fn wake(&self) {
        futex::wake_one(&self.state);
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
