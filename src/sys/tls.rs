//! Per-thread state (initial-exec TLS defined in `tls.c`): the thread's
//! report number, which of our locks it holds, whether it is unwinding or
//! reporting, its alternate signal stack and its stack of ours, its random
//! state, the fault it hands to the program's handler, and its slot cache. Plain integers: nothing here runs at thread exit.

use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

extern "C" {
    fn pooldbg_tls_thread_id() -> u32;
    fn pooldbg_tls_set_thread_id(v: u32);
    fn pooldbg_tls_lock_depth() -> u32;
    fn pooldbg_tls_set_lock_depth(v: u32);
    fn pooldbg_tls_in_capture() -> u32;
    fn pooldbg_tls_set_in_capture(v: u32);
    fn pooldbg_tls_in_report() -> u32;
    fn pooldbg_tls_in_turn() -> u32;
    fn pooldbg_tls_set_in_turn(v: u32);
    fn pooldbg_tls_set_in_report(v: u32);
    fn pooldbg_tls_altstack() -> u32;
    fn pooldbg_tls_set_altstack(v: u32);
    fn pooldbg_tls_fork_state() -> u32;
    fn pooldbg_tls_set_fork_state(v: u32);
    fn pooldbg_tls_rng() -> u64;
    fn pooldbg_tls_set_rng(v: u64);
    fn pooldbg_tls_cache() -> *mut core::ffi::c_void;
    fn pooldbg_tls_flight() -> *mut [u64; FLIGHT_WORDS];
    fn pooldbg_tls_own_stack() -> u64;
    fn pooldbg_tls_set_own_stack(v: u64);
}

/// Words of the per-thread record of a fault being handed to the program's
/// handler (diag/fault.rs says what they hold).
pub const FLIGHT_WORDS: usize = 8;

/// The next thread number + 1 (the TLS value of a numbered thread).
static NEXT_THREAD: AtomicU32 = AtomicU32::new(1);

/// The calling thread's number in reports. A thread made by our
/// pthread_create was given its number by its creator (`claim_thread_number`,
/// `set_thread_number`); any other thread (the main thread, normally T0;
/// threads made by clone() or inside libc) takes the next one here, the
/// first time it allocates, frees, faults or creates a thread.
pub fn thread_number() -> u32 {
    // SAFETY (this and the accessors below): plain initial-exec TLS reads and
    // writes of our own integers.
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

/// The next thread number, for a thread about to be created, if it is below
/// `limit` (None once every number below it is taken: nothing is taken then).
pub fn claim_thread_number(limit: u32) -> Option<u32> {
    NEXT_THREAD.fetch_update(Relaxed, Relaxed, |id| (id <= limit).then_some(id + 1)).ok().map(|id| id - 1)
}

/// Gives back `number`, claimed for a thread that could not be created, if
/// no later number was taken meanwhile (else it stays unused).
pub fn give_back_thread_number(number: u32) {
    let _ = NEXT_THREAD.compare_exchange(number + 2, number + 1, Relaxed, Relaxed);
}

/// Makes `number` the calling thread's (a new thread, before it runs the
/// program's code).
pub fn set_thread_number(number: u32) {
    // SAFETY: a plain initial-exec TLS write of our own integer.
    unsafe { pooldbg_tls_set_thread_id(number + 1) }
}

pub fn lock_depth() -> u32 {
    unsafe { pooldbg_tls_lock_depth() }
}

pub fn set_lock_depth(v: u32) {
    unsafe { pooldbg_tls_set_lock_depth(v) }
}

pub fn in_capture() -> bool {
    unsafe { pooldbg_tls_in_capture() != 0 }
}

pub fn set_in_capture(v: bool) {
    unsafe { pooldbg_tls_set_in_capture(v as u32) }
}

pub fn in_report() -> bool {
    unsafe { pooldbg_tls_in_report() != 0 }
}

pub fn set_in_report(v: bool) {
    unsafe { pooldbg_tls_set_in_report(v as u32) }
}

pub fn in_turn() -> bool {
    unsafe { pooldbg_tls_in_turn() != 0 }
}

pub fn set_in_turn(v: bool) {
    unsafe { pooldbg_tls_set_in_turn(v as u32) }
}

pub fn altstack_state() -> u32 {
    unsafe { pooldbg_tls_altstack() }
}

pub fn set_altstack_state(v: u32) {
    unsafe { pooldbg_tls_set_altstack(v) }
}

pub fn fork_state() -> u32 {
    unsafe { pooldbg_tls_fork_state() }
}

pub fn set_fork_state(v: u32) {
    unsafe { pooldbg_tls_set_fork_state(v) }
}

/// This thread's xorshift64 state (0: not seeded yet).
pub fn rng() -> u64 {
    unsafe { pooldbg_tls_rng() }
}

pub fn set_rng(v: u64) {
    unsafe { pooldbg_tls_set_rng(v) }
}

/// The size of each thread's stack of ours.
pub const OWN_STACK_BYTES: usize = 64 * 1024;

/// This thread's stack of ours (front/thread.rs) as (base, size), if any.
pub fn own_stack() -> Option<(usize, usize)> {
    let base = unsafe { pooldbg_tls_own_stack() as usize };
    (base != 0).then_some((base, OWN_STACK_BYTES))
}

pub fn set_own_stack(base: usize) {
    unsafe { pooldbg_tls_set_own_stack(base as u64) }
}

/// This thread's record of the fault it hands to the program's handler.
pub fn flight() -> [u64; FLIGHT_WORDS] {
    unsafe { *pooldbg_tls_flight() }
}

pub fn set_flight(v: [u64; FLIGHT_WORDS]) {
    unsafe { *pooldbg_tls_flight() = v }
}

/// This thread's slot cache: `CACHE_BYTES` (8 KiB) of zero-initialised,
/// 64-byte-aligned initial-exec TLS.
pub fn cache_area() -> *mut core::ffi::c_void {
    unsafe { pooldbg_tls_cache() }
}
