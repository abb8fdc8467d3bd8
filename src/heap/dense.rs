//! Dense pools: the fallback when guard pages run out.
//!
//! With `guard=mprotect` every live guarded block costs about two memory
//! maps, and Linux allows `vm.max_map_count` (65530) per process. Before that
//! wall, new blocks up to 64 KiB go to dense pools: blocks packed in pages that
//! stay accessible (one growing mapping per pool), each still with its head
//! and tail canaries and owner link, and freed blocks filled with a poison
//! byte and kept in the same FIFO quarantine; the poison is checked when the
//! slot is reused, so a write after free is reported then. Reads after free
//! and overflows into a neighbour are no longer caught at the instruction:
//! the switch is announced once, with how to raise the limit. Guard markers
//! (Linux 6.13+) never need this.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};

use super::block::Block;
use super::canary::first_mismatch;
use super::guard;
use super::layout::{MIN_ALIGN, NCLASSES, NDENSE};
use crate::config::state;
use crate::out::say;
use crate::sys::{self, tls};
use crate::util::global::Global;

/// Live guarded runs in mprotect mode (each costs about two memory maps).
static LIVE_RUNS: AtomicUsize = AtomicUsize::new(0);
/// New small blocks go dense while set.
static DENSE_ON: AtomicBool = AtomicBool::new(false);
static ANNOUNCED: AtomicBool = AtomicBool::new(false);
/// (live runs that switch to dense, vm.max_map_count in force)
static BUDGET: Global<(usize, usize)> = Global::new((usize::MAX, 0));

/// Sets the live-run budget from the map limit (the `map_limit` option, or
/// /proc/sys/vm/max_map_count) and the maps the process already has: half of
/// what is left, minus an eighth of the limit for the program's own growth.
///
/// # Safety
/// Init only.
pub unsafe fn init_budget(map_limit: usize) {
    let limit = if map_limit != 0 { map_limit } else { sys::proc::max_map_count().unwrap_or(65530) };
    let used = sys::proc::count_maps();
    *BUDGET.init_mut() = (limit.saturating_sub(used + limit / 8) / 2, limit);
}

fn mprotect_mode() -> bool {
    guard::costs_maps()
}

/// The pool for a new block of `class`: its dense twin while dense mode is
/// on, or — with `sample=N` — for all but one block in N (GWP-ASan's idea:
/// a random few get guard pages, the rest stay cheap but still checked).
#[inline]
pub fn choose_pool(class: usize, align: usize) -> usize {
    if class >= NDENSE || align > MIN_ALIGN {
        return class;
    }
    if DENSE_ON.load(Relaxed) || !sampled() {
        NCLASSES + class
    } else {
        class
    }
}

/// With `sample=N`, true for one allocation in N on average (a per-thread
/// xorshift, seeded from the thread number and the process secret).
#[inline]
fn sampled() -> bool {
    let n = state::options().sample;
    n <= 1 || next_random().is_multiple_of(n)
}

/// The next value of this thread's xorshift64 generator.
fn next_random() -> u64 {
    let mut x = tls::rng();
    if x == 0 {
        x = (state::secret() ^ (tls::thread_number() as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    tls::set_rng(x);
    x
}

/// A guarded allocation of `class` failed: true if the block may go dense
/// instead (mprotect mode ran out of maps before the budget said so).
pub fn fall_back(class: usize, align: usize) -> bool {
    if !mprotect_mode() || class >= NDENSE || align > MIN_ALIGN {
        return false;
    }
    switch_on();
    true
}

/// A guarded run was opened (mprotect mode): count it, and go dense at the budget.
pub fn run_mapped() {
    let live = LIVE_RUNS.fetch_add(1, Relaxed) + 1;
    if live >= BUDGET.get().0 && !DENSE_ON.load(Relaxed) {
        switch_on();
    }
}

/// A guarded run was trapped again on free.
pub fn run_unmapped() {
    if !mprotect_mode() {
        return;
    }
    let live = LIVE_RUNS.fetch_sub(1, Relaxed) - 1;
    // Hysteresis: guard new blocks again once well below the budget.
    if DENSE_ON.load(Relaxed) && live < BUDGET.get().0 / 4 * 3 {
        DENSE_ON.store(false, Relaxed);
    }
}

fn switch_on() {
    DENSE_ON.store(true, Relaxed);
    if !ANNOUNCED.swap(true, Relaxed) {
        let (_, limit) = *BUDGET.get();
        say!(
            "libpooldbg: NOTICE: {} live guarded blocks are close to vm.max_map_count ({}) with guard=mprotect; \
new blocks up to 64 KiB now go to dense pools (canaries, owner links, poisoned quarantine; no guard page). \
To keep every block guarded: sysctl -w vm.max_map_count=1048576, or a kernel with guard markers (Linux 6.13+).",
            LIVE_RUNS.load(Relaxed),
            limit
        );
    }
}

pub fn dense_on() -> bool {
    DENSE_ON.load(Relaxed)
}

pub fn live_guarded_runs() -> usize {
    LIVE_RUNS.load(Relaxed)
}

/// Fills a freed dense block (and its tail canary) with the free poison.
pub fn poison(from: usize, to: usize) {
    // SAFETY: the block was just claimed by this thread; [from, to) is its slot.
    unsafe { core::ptr::write_bytes(from as *mut u8, state::options().free_fill, to - from) };
}

/// Before a quarantined dense slot is reused: its poison must be intact, or
/// the program wrote to the block after freeing it. Returns the first
/// overwritten byte.
pub fn poison_damage(b: &Block) -> Option<usize> {
    // SAFETY: dense slots stay mapped; this slot was just taken by this thread.
    unsafe { first_mismatch(b.user(), b.pl.run_end, state::options().free_fill) }
}
