//! The allocation path (docs/ARCHITECTURE.md, "malloc"): take a slot from
//! the thread's magazine (refilled under the pool lock by
//! `pool::take_slots`), then — with the lock released — make the block's
//! pages usable, prefault them, write canaries and the owner link, record
//! the metadata and publish the slot as live.

use core::sync::atomic::Ordering::*;

use super::{cache, thread};
use crate::config::state;
use crate::diag::describe;
use crate::heap::block::Block;
use crate::heap::layout::{self, Placement, MIN_ALIGN, NCLASSES, PLAIN};
use crate::heap::pool::{self, arena, Pool};
use crate::heap::slot::{state_of, state_word, AllocKind, SlotState, OPENED};
use crate::heap::{budget, canary, commit, dense, depot, guard, start, turn};
use crate::sys::{self, mem, tls, PAGE};

/// `alloc_fill` covers at most this many bytes of a block, like ASan's max_malloc_fill_size.
pub(super) const MAX_FILL: usize = 4096;

/// Allocates `size` bytes aligned to `align` (`PLAIN`, or an explicit power
/// of two of at least 16),
/// filled per `alloc_fill`. Returns null with errno = ENOMEM when the size is
/// impossible or the kernel refuses memory.
pub fn allocate(size: usize, align: usize, kind: AllocKind) -> *mut u8 {
    allocate_from(size, align, kind, 0)
}

/// `allocate` for malloc and the aligned allocators, given their return
/// address `caller`: where no stack is recorded (`stack_depth=0`, a block
/// `sample=N` leaves unguarded), the caller alone is, for
/// diag/operators.rs to tell a block made by another library's operator new.
pub fn allocate_from(size: usize, align: usize, kind: AllocKind, caller: usize) -> *mut u8 {
    allocate_filled(size, align, kind, state::options().alloc_fill, caller)
}

/// calloc: a block's pages are always fresh from the kernel (never used, or
/// discarded when last freed), so skipping the fill leaves zeros.
pub fn allocate_zeroed(size: usize) -> *mut u8 {
    allocate_filled(size, PLAIN, AllocKind::Malloc, None, 0)
}

fn allocate_filled(size: usize, align: usize, kind: AllocKind, fill: Option<u8>, caller: usize) -> *mut u8 {
    if !start::ensure() {
        sys::set_errno(libc::ENOMEM);
        return core::ptr::null_mut();
    }
    debug_assert!(align.is_power_of_two());
    thread::ensure_altstack();
    let Some(class) = layout::class_for_request(size, align) else {
        sys::set_errno(libc::ENOMEM);
        return core::ptr::null_mut();
    };
    // What glibc would map for it: the size, and the alignment's slack.
    if !budget::overcommit_allows(size.saturating_add(if align > MIN_ALIGN { align } else { 0 }))
        || !budget::charge(size)
    {
        sys::set_errno(libc::ENOMEM);
        return core::ptr::null_mut();
    }
    let mut pool = dense::choose_pool(class, align);
    loop {
        match allocate_in(pool, size, align, kind, fill, caller) {
            Ok(p) => return p,
            // Out of memory maps (mprotect mode): small blocks go dense.
            Err(()) if pool == class && dense::fall_back(class, align) => pool = NCLASSES + class,
            Err(()) => {
                budget::uncharge(size);
                sys::set_errno(libc::ENOMEM);
                return core::ptr::null_mut();
            }
        }
    }
}

fn allocate_in(
    pool: usize,
    size: usize,
    align: usize,
    kind: AllocKind,
    fill: Option<u8>,
    caller: usize,
) -> Result<*mut u8, ()> {
    let slot = cache::take(pool).ok_or(())?;
    // No lock is held: everything below may fault and call the kernel.
    let p = &arena().pools[pool];
    let pl = p.placement(slot, size, align);
    let meta = p.meta(slot);
    let old = meta.state.load(Relaxed); // first touch of the record, for a new slot
    let fresh = state_of(old) == SlotState::Unused;
    if !fresh && p.dense {
        // Before the old record is overwritten.
        let b = Block::read(pool, slot);
        if let Some(bad) = dense::poison_damage(&b) {
            describe::dense_write_after_free(&b, bad);
        }
    }
    if !p.dense && old & OPENED != 0 {
        // on_error=continue opened a page of this slot: trap all of it again.
        guard::trap(p.slot_addr(slot), p.slot_bytes);
    }
    meta.state.store(state_word(SlotState::Claimed, kind), Relaxed);
    // A dense slot needs no page-table change (beyond a rare commit).
    let turn = (!p.dense).then(turn::take);
    if !make_usable(p, &pl) {
        drop(turn);
        // Back as it was: a never-used slot stays Unused (no poison to check).
        meta.state.store(if fresh { 0 } else { state_word(SlotState::Quarantined, kind) }, Relaxed);
        pool::return_slots(pool, &[slot]);
        return Err(());
    }
    pool::count_alloc(pool, size);
    let prefault_and_guards = || {
        // Guarded runs come back from the kernel untouched every time (unless
        // the guard mechanism populated them); dense slots only the first time.
        let populated = !p.dense && !p.huge() && guard::populates();
        if state::options().prefault && (fresh || !p.dense) && !populated {
            prefault(&pl);
        }
        // SAFETY: the run was made usable above and is this thread's.
        unsafe { canary::write(&pl, size, pool) };
    };
    // The benchmark's "before" (HAProxy before the fix): first touch and
    // header writes under the pool lock. Never in a user build.
    #[cfg(feature = "lock_prefault")]
    pool::under_lock(prefault_and_guards);
    #[cfg(not(feature = "lock_prefault"))]
    prefault_and_guards();
    drop(turn);
    // SAFETY: [user, user+size) lies in the pages made usable above.
    unsafe {
        match fill {
            Some(b) => core::ptr::write_bytes(pl.user as *mut u8, b, size.min(MAX_FILL)),
            // Guarded runs come back from the kernel zeroed; a reused dense
            // slot holds the free poison.
            None if p.dense && !fresh => core::ptr::write_bytes(pl.user as *mut u8, 0, size),
            None => {}
        }
    }
    meta.set_block(size, align);
    meta.alloc_tid.store(tls::thread_number(), Relaxed);
    let stack = if skip_stacks(p) { 0 } else { depot::record_caller() };
    meta.alloc_stack.store(if stack == 0 { depot::intern_caller(caller) } else { stack }, Relaxed);
    meta.state.store(state_word(SlotState::Live, kind), Release);
    Ok(pl.user as *mut u8)
}

/// With `sample=N`, unsampled (dense) blocks record no stacks: capture is
/// most of their cost, and always-on use is the point of sampling.
pub(super) fn skip_stacks(p: &Pool) -> bool {
    p.dense && state::options().sample > 1
}

/// Makes a block's run of pages accessible (the slot's guard page and its
/// unused leading pages stay trapped).
fn make_usable(p: &Pool, pl: &Placement) -> bool {
    if p.dense {
        return commit::commit(p, pl.run_end, false);
    }
    if guard::commits() && !p.huge() {
        return commit::commit(p, pl.run_end, true) && guard::open(pl.run_start, pl.run_len());
    }
    let ok = guard::open(pl.run_start, pl.run_len());
    if ok && guard::costs_maps() {
        dense::run_mapped();
    }
    ok
}

/// The first write to each page of the run's first `prefault_kb` KiB: the
/// kernel's real allocation happens here, outside the lock (the seed's
/// fix). The rest of a large block faults in as the program touches it, as
/// glibc's mmap'd blocks do: a 1 GiB table of which the program uses a page
/// costs a page.
fn prefault(pl: &Placement) {
    let end = pl.run_start.saturating_add(state::options().prefault_bytes()).min(pl.run_end);
    if end <= pl.run_start {
        return;
    }
    // One MADV_POPULATE_WRITE for a page-aligned run: cheaper than taking the
    // fault (+4% churn operations at one thread), and one call for any length.
    if pl.run_start.is_multiple_of(PAGE)
        && mem::advise(pl.run_start, end - pl.run_start, mem::MADV_POPULATE_WRITE).is_ok()
    {
        return;
    }
    // A dense run need not start on a page: touch its own first byte, then
    // each page it spans (every address stays inside the run).
    let mut a = pl.run_start;
    while a < end {
        // SAFETY: the page is ours and read-write; a zero page stays zero to
        // the user (the fresh contents are zeros already).
        unsafe { core::ptr::write_volatile(a as *mut u8, 0) };
        a = (a & !(PAGE - 1)) + PAGE;
    }
}
