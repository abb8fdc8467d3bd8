//! RLIMIT_AS, kept by us. Our arena is reserved address space, so a limit
//! the program sets after start-up (setrlimit(RLIMIT_AS)) would never make
//! mmap fail: memory would grow until the OOM killer came. We account live
//! blocks ourselves and check them against the limit whenever the total
//! crosses a MiB boundary (or for a block of a MiB or more): an allocation
//! beyond it fails with ENOMEM. A single block larger than the kernel's
//! overcommit policy would grant fails too, as it does with glibc.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use crate::config::state;
use crate::out::say;
use crate::sys::{self, mem, PAGE};

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Bytes a block of `size` counts for: its run, roughly.
fn footprint(size: usize) -> usize {
    size.saturating_add(PAGE)
}

/// The overcommit policy's largest single block (0: not read yet).
static SINGLE_MAX: AtomicUsize = AtomicUsize::new(0);

/// False for a block larger than the kernel's overcommit policy would let
/// glibc map (a block of more than RAM + swap, by default). Our arena is
/// reserved without commit charge, so without this check a request that
/// fails natively (a program probing how much it may allocate) would get a
/// block the machine cannot back, and the OOM killer later.
pub fn overcommit_allows(size: usize) -> bool {
    if size < 1 << 30 {
        return true;
    }
    let mut max = SINGLE_MAX.load(Relaxed);
    if max == 0 {
        max = sys::proc::overcommit_single_max().unwrap_or(usize::MAX);
        SINGLE_MAX.store(max, Relaxed);
    }
    size <= max
}

/// Counts a new block of `size` bytes; false (nothing counted) if it would
/// take the process past its RLIMIT_AS.
pub fn charge(size: usize) -> bool {
    let n = footprint(size);
    let old = LIVE_BYTES.fetch_add(n, Relaxed);
    if n < 1 << 20 && old >> 20 == (old + n) >> 20 {
        return true;
    }
    let limit = mem::address_space_limit();
    if limit == usize::MAX || state::base_vm().saturating_add(old).saturating_add(n) <= limit {
        return true;
    }
    LIVE_BYTES.fetch_sub(n, Relaxed);
    static ONCE: AtomicBool = AtomicBool::new(false);
    if !ONCE.swap(true, Relaxed) {
        say!("libpooldbg: NOTICE: RLIMIT_AS ({} bytes) reached: allocations beyond it fail with ENOMEM", limit);
    }
    false
}

/// A block of `size` bytes is gone.
pub fn uncharge(size: usize) {
    LIVE_BYTES.fetch_sub(footprint(size), Relaxed);
}

/// What the live blocks count for: their runs, roughly (for mallinfo's
/// "system bytes").
pub fn live_footprint() -> usize {
    LIVE_BYTES.load(Relaxed)
}

/// A live block changed size in place.
pub fn resized(old: usize, new: usize) {
    LIVE_BYTES.fetch_add(new, Relaxed);
    LIVE_BYTES.fetch_sub(old, Relaxed);
}
