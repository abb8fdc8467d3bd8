//! The thread table: where each thread came from, for reports. Entry `n` is
//! thread Tn's: the number of the thread that created it and the depot id of
//! the stack that called pthread_create, written by the creator just before
//! the thread exists (front/thread.rs); and, until the new thread starts,
//! its start routine and argument, which it takes on its way in.
//!
//! One mapping of `CAPACITY` entries, made at start-up, committed as entries
//! are written and never freed: 24 bytes per thread created, at most 24 MiB.
//! Numbers are never reused, so a program that creates more than `CAPACITY`
//! threads in its life gets no record for the later ones (their creation
//! is not interposed: they take numbers as other unrecorded threads do, and
//! reports say the record is missing and why).
//!
//! Lock-free and allocation-free: an origin is one word, stored with release
//! before its thread exists and loaded with acquire, so a report can read it
//! from a signal handler at any time.
//!
//! The leak check scans this mapping as a root: a thread that has not
//! started yet holds its argument only here (natively glibc's thread
//! descriptor would hold it). So a thread clears its argument when it takes
//! it, and an origin word carries bit 63, which no heap pointer has.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};

use crate::sys::mem;
use crate::util::global::Global;

/// Threads T0 to T`CAPACITY - 1` can be recorded.
pub const CAPACITY: u32 = 1 << 20;

#[repr(C)]
struct Entry {
    /// `RECORDED | creator << 32 | stack id`, or 0: no record.
    origin: AtomicU64,
    /// The start routine and argument, until the thread takes them.
    start: AtomicUsize,
    arg: AtomicUsize,
}

const RECORDED: u64 = 1 << 63;
const TABLE_BYTES: usize = CAPACITY as usize * core::mem::size_of::<Entry>();

static TABLE: Global<usize> = Global::new(0);

/// Maps the table; false if the kernel refuses (then nothing is recorded).
///
/// # Safety
/// Start-up only.
pub unsafe fn init_table() -> bool {
    let Some(base) = mem::map_rw_undumped(TABLE_BYTES) else { return false };
    *TABLE.init_mut() = base;
    true
}

/// Creations can be recorded (the table is mapped).
pub fn recording() -> bool {
    *TABLE.get() != 0
}

fn entry(n: u32) -> Option<&'static Entry> {
    let base = *TABLE.get();
    // SAFETY: n < CAPACITY: inside the mapping, which is never unmapped.
    (base != 0 && n < CAPACITY).then(|| unsafe { &*(base as *const Entry).add(n as usize) })
}

/// Thread `child` is about to be created by thread `creator`, called from
/// stack `stack` (a depot id, 0 if none), to run `start(arg)`. Nothing for a
/// number past the table.
pub fn record(child: u32, creator: u32, stack: u32, start: usize, arg: usize) {
    let Some(e) = entry(child) else { return };
    e.start.store(start, Relaxed);
    e.arg.store(arg, Relaxed);
    e.origin.store(RECORDED | u64::from(creator) << 32 | u64::from(stack), Release);
}

/// Thread `child` could not be created after all.
pub fn forget(child: u32) {
    let Some(e) = entry(child) else { return };
    e.origin.store(0, Relaxed);
    e.start.store(0, Relaxed);
    e.arg.store(0, Relaxed);
}

/// The start routine and argument of the new thread `n`, which it takes:
/// they are cleared. (0, 0) if there is no record.
pub fn take_start(n: u32) -> (usize, usize) {
    let Some(e) = entry(n) else { return (0, 0) };
    // The creation itself orders the creator's stores before this thread;
    // the acquire load says so here too.
    let _ = e.origin.load(Acquire);
    (e.start.swap(0, Relaxed), e.arg.swap(0, Relaxed))
}

/// Where thread `n` came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Origin {
    /// Created by thread `by` from the depot's stack `stack`.
    Created { by: u32, stack: u32 },
    /// No record, though the table has room for one: the thread was not
    /// made by a pthread_create call we interpose (the main thread; clone();
    /// threads libc makes itself).
    Unseen,
    /// Past the table (`n >= CAPACITY`): not recorded.
    Beyond,
    /// The table could not be mapped at start-up: nothing is recorded.
    NoTable,
}

pub fn origin(n: u32) -> Origin {
    if !recording() {
        return Origin::NoTable;
    }
    let Some(e) = entry(n) else { return Origin::Beyond };
    let w = e.origin.load(Acquire);
    if w & RECORDED == 0 {
        return Origin::Unseen;
    }
    Origin::Created { by: (w >> 32) as u32 & !(1 << 31), stack: w as u32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_read_back_and_its_start_taken_once() {
        assert_eq!(origin(5), Origin::NoTable);
        // SAFETY: the only test that maps the table.
        assert!(unsafe { init_table() });
        assert_eq!(origin(5), Origin::Unseen);
        record(5, 2, 0x1234, 0xabc, 0xdef);
        record(6, CAPACITY - 1, 7, 1, 2);
        assert_eq!(origin(5), Origin::Created { by: 2, stack: 0x1234 });
        // The tag bit never shows in the creator's number.
        assert_eq!(origin(6), Origin::Created { by: CAPACITY - 1, stack: 7 });
        assert_eq!(take_start(5), (0xabc, 0xdef));
        assert_eq!(take_start(5), (0, 0));
        assert_eq!(origin(5), Origin::Created { by: 2, stack: 0x1234 });
        forget(6);
        assert_eq!(origin(6), Origin::Unseen);
        record(CAPACITY, 1, 1, 1, 1);
        assert_eq!(origin(CAPACITY), Origin::Beyond);
    }
}
