//! Per-thread slot magazines and free batches: fewer trips to the pool lock.
//!
//! With 8 threads on 2 cores the lock's real cost is not its tiny critical
//! sections but the holder being preempted inside one: every other thread
//! then waits a time slice. Each thread therefore takes up to `MAG` slots of
//! a pool in one critical section and uses them one by one, and queues freed
//! slots `FREE_BATCH` at a time. A freed block is trapped (or poisoned) before
//! it enters the batch, so batching only delays its reuse. Pools with few
//! slots (huge classes, or a small RLIMIT_AS) are not cached.
//!
//! The state is initial-exec TLS (sys/tls.c). A signal handler that allocates
//! while its thread is in the middle of a cache update finds `busy` set and
//! goes straight to the lock instead of corrupting the cache; a thread's
//! cache is flushed by the thread-exit destructor.

use core::sync::atomic::{compiler_fence, Ordering::SeqCst};

use crate::heap::layout::NPOOLS;
use crate::heap::pool::{self, arena};
use crate::heap::quarantine::NO_SLOT;
use crate::sys::thread::{self, Key};
use crate::sys::tls;
use crate::util::global::Global;

pub const MAG: usize = 8;
pub const FREE_BATCH: usize = 16;
/// Pools with fewer slots than this are not cached.
const MIN_CAPACITY_TO_CACHE: u32 = 1 << 16;

#[repr(C)]
struct ThreadCache {
    busy: u32,
    /// NOT_ARMED, ARMED, or EXITED (see `at_thread_exit`).
    registered: u32,
    free_len: u32,
    free: [(u32, u32); FREE_BATCH],
    mag_len: [u8; NPOOLS],
    mag: [[u32; MAG]; NPOOLS],
}

const _: () = assert!(core::mem::size_of::<ThreadCache>() <= 8192, "grow CACHE_BYTES in sys/tls.c");

/// The key whose destructor flushes an exiting thread's cache.
static EXIT_KEY: Global<Option<Key>> = Global::new(None);

/// # Safety
/// Constructor only.
pub unsafe fn init_exit_key() {
    *EXIT_KEY.init_mut() = thread::key_create(at_thread_exit);
}

/// glibc's PTHREAD_DESTRUCTOR_ITERATIONS.
const DESTRUCTOR_ROUNDS: usize = 4;

/// `ThreadCache::registered`: the exit destructor is not armed yet; it is;
/// it ran its last round, so nothing will flush this cache again.
const NOT_ARMED: u32 = 0;
const ARMED: u32 = 1;
const EXITED: u32 = 2;

/// glibc runs key destructors in up to four rounds while values are set; we
/// re-arm for the later rounds so frees made by other destructors are queued
/// too. After the last round the thread still frees (glibc's own strerror,
/// dlerror and resolver buffers): the cache is then bypassed, every slot
/// goes straight to the pool, and none is stranded in a batch or magazine
/// that no destructor will flush.
extern "C" fn at_thread_exit(round: *mut core::ffi::c_void) {
    flush();
    let round = round as usize;
    if let Some(key) = *EXIT_KEY.get() {
        if round < DESTRUCTOR_ROUNDS {
            thread::set_specific(key, round + 1);
            return;
        }
    }
    with_cache(|c| c.registered = EXITED);
}

/// Runs `f` on this thread's cache, or returns None if the cache is busy
/// (a signal handler interrupted an update on this very thread) or no
/// longer used (the thread is past its last exit destructor).
fn with_cache<R>(f: impl FnOnce(&mut ThreadCache) -> R) -> Option<R> {
    // SAFETY: the cache is this thread's own TLS; `busy` excludes the only
    // other code that can reach it on this thread (a signal handler).
    let c = unsafe { &mut *(tls::cache_area() as *mut ThreadCache) };
    if c.busy != 0 || c.registered == EXITED {
        return None;
    }
    c.busy = 1;
    compiler_fence(SeqCst);
    if c.registered == NOT_ARMED {
        if let Some(key) = *EXIT_KEY.get() {
            c.registered = ARMED;
            // May allocate (keys past 32): that allocation finds `busy` and
            // goes to the lock directly.
            thread::set_specific(key, 1);
        }
    }
    let r = f(c);
    compiler_fence(SeqCst);
    c.busy = 0;
    Some(r)
}

fn cached(pool: usize) -> bool {
    arena().pools[pool].capacity >= MIN_CAPACITY_TO_CACHE
}

/// A slot of `pool` for a new block, or None if the pool is exhausted.
pub fn take(pool: usize) -> Option<u32> {
    if cached(pool) {
        if let Some(r) = with_cache(|c| {
            let n = c.mag_len[pool] as usize;
            if n > 0 {
                c.mag_len[pool] -= 1;
                return Some(c.mag[pool][n - 1]);
            }
            let mut fresh = [0u32; MAG];
            let got = pool::take_slots(pool, &mut fresh);
            if got == 0 {
                return None;
            }
            // Hand out the oldest first (FIFO through the magazine).
            for (k, &s) in fresh[1..got].iter().rev().enumerate() {
                c.mag[pool][k] = s;
            }
            c.mag_len[pool] = (got - 1) as u8;
            Some(fresh[0])
        }) {
            return r;
        }
    }
    let mut one = [0u32; 1];
    (pool::take_slots(pool, &mut one) == 1).then_some(one[0])
}

/// Queues a freed slot for the quarantine.
pub fn put(pool: usize, slot: u32) {
    let queued = with_cache(|c| {
        c.free[c.free_len as usize] = (pool as u32, slot);
        c.free_len += 1;
        if c.free_len as usize == FREE_BATCH {
            pool::quarantine_slots(&c.free);
            c.free_len = 0;
        }
    });
    if queued.is_none() {
        pool::quarantine_slots(&[(pool as u32, slot)]);
    }
}

/// At thread exit (and before a leak check): queue the batch, give the
/// magazines' slots back.
pub fn flush() {
    with_cache(|c| {
        pool::quarantine_slots(&c.free[..c.free_len as usize]);
        c.free_len = 0;
        for pool in 0..NPOOLS {
            let n = c.mag_len[pool] as usize;
            if n > 0 {
                // A never-used slot's record may be on an untouched page:
                // write it here, not under the lock.
                for &slot in &c.mag[pool][..n] {
                    arena().pools[pool].meta(slot).next.store(NO_SLOT, core::sync::atomic::Ordering::Relaxed);
                }
                pool::return_slots(pool, &c.mag[pool][..n]);
                c.mag_len[pool] = 0;
            }
        }
    });
}
