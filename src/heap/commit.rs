//! Committing a pool's address space: the reservation is `PROT_NONE`; a
//! pool's committed prefix grows read-write in chunks as its slots are first
//! used. Dense pools and pools of a committing guard mechanism (heap/guard)
//! commit; with the others each guarded run is opened on its own.
//!
//! The commit lock serialises the growth. It is not the pool lock and is
//! held across mprotect/madvise, which the pool lock never is; it is taken
//! about once per MiB of fresh slots, never together with the pool lock.

use core::sync::atomic::Ordering::*;

use super::guard;
use super::lock::{self, Depth, HOLDS_COMMIT};
use super::pool::Pool;
use crate::sys::{self, mem};

static COMMIT_LOCK: spin::mutex::SpinMutex<()> = spin::mutex::SpinMutex::new(());
const COMMIT_CHUNK: usize = 1 << 20;

/// Makes the pool's address space up to `end` read-write — every page
/// trapped by the guard mechanism when `trapped` — extending the committed
/// prefix in chunks.
pub fn commit(p: &Pool, end: usize, trapped: bool) -> bool {
    let need = end - p.first_slot;
    if p.committed.load(Acquire) >= need {
        return true;
    }
    // A signal handler that allocates while we hold this lock must not wait
    // for it: the depth mark is set before the lock is taken and restored
    // only after the release. (A handler that interrupted a pool-lock
    // section comes here marked HOLDS_POOL: the mark is restored afterwards.)
    if lock::held() == lock::HOLDS_FOR_FORK {
        // Taken for a fork by this very thread (see heap/lock.rs).
        let _depth = Depth::mark(HOLDS_COMMIT);
        return commit_locked(p, need, trapped);
    }
    let (g, depth) = lock_commit();
    let ok = commit_locked(p, need, trapped);
    drop(g);
    drop(depth);
    ok
}

fn commit_locked(p: &Pool, need: usize, trapped: bool) -> bool {
    let have = p.committed.load(Acquire);
    if have >= need {
        return true;
    }
    let limit = p.capacity as usize * p.slot_bytes;
    let new = need.next_multiple_of(COMMIT_CHUNK.max(p.slot_bytes)).min(limit);
    let (start, len) = (p.first_slot + have, new - have);
    if mem::protect(start, len, mem::PROT_RW).is_err() {
        return false;
    }
    if trapped && !guard::trap_fresh(start, len) {
        let _ = mem::protect(start, len, mem::PROT_NONE);
        return false;
    }
    p.committed.store(new, Release);
    true
}

fn lock_commit() -> (spin::mutex::SpinMutexGuard<'static, ()>, Depth) {
    if lock::held() == HOLDS_COMMIT {
        // A signal handler interrupted this thread's own commit.
        lock::reentered();
    }
    loop {
        let depth = Depth::mark(HOLDS_COMMIT);
        if let Some(g) = COMMIT_LOCK.try_lock() {
            return (g, depth);
        }
        drop(depth);
        sys::yield_now();
    }
}

/// fork: the commit lock is taken around the fork without waiting (see
/// init.rs, fork_prepare).
pub fn try_lock_for_fork() -> bool {
    match COMMIT_LOCK.try_lock() {
        Some(g) => {
            core::mem::forget(g);
            true
        }
        None => false,
    }
}

pub fn unlock_after_fork() {
    // SAFETY: try_lock_for_fork took it on this thread and leaked the guard.
    unsafe { COMMIT_LOCK.force_unlock() };
}
