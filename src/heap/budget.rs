//! RLIMIT_AS, kept by us. Our arena is reserved address space, so a limit
//! the program sets after start-up (setrlimit(RLIMIT_AS)) would never make
//! mmap fail: memory would grow until the OOM killer came. We account live
//! blocks ourselves and check them against the limit whenever the total
//! crosses a MiB boundary (or for a block of a MiB or more): an allocation
//! beyond it fails with ENOMEM.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use crate::config::state;
use crate::out::say;
use crate::sys::{mem, PAGE};

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Bytes a block of `size` counts for: its run, roughly.
fn footprint(size: usize) -> usize {
    size.saturating_add(PAGE)
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
