//! The free path (docs/ARCHITECTURE.md, "free"), realloc and
//! malloc_usable_size. `release` decides what a pointer is from its address
//! and our own metadata only (it never dereferences a pointer it has not
//! proven to be the start of a live block), claims the block with a
//! compare-and-swap so a racing double free is caught, checks link and
//! canaries, traps the pages (one system call) and only then queues the slot
//! for the quarantine (in the thread's free batch, flushed under the lock).

use core::sync::atomic::Ordering::*;

use super::alloc::{allocate, skip_stacks, MAX_FILL};
use super::cache;
use crate::config::state;
use crate::diag::{describe, operators};
use crate::heap::block::Block;
use crate::heap::layout::{self, PLAIN};
use crate::heap::pool::{self, arena, Where};
use crate::heap::slot::{AllocKind, SlotState, OPENED};
use crate::heap::{budget, canary, dense, depot, guard, start};
use crate::sys::{self, mem, tls, PAGE};

/// How a block is being released, to check it against how it was allocated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FreeKind {
    Free,
    Realloc,
    Delete,
    DeleteArray,
}

impl FreeKind {
    fn func(self) -> &'static str {
        match self {
            FreeKind::Free => "free",
            FreeKind::Realloc => "realloc",
            FreeKind::Delete => "operator delete",
            FreeKind::DeleteArray => "operator delete[]",
        }
    }

    fn expects(self) -> AllocKind {
        match self {
            FreeKind::Free | FreeKind::Realloc => AllocKind::Malloc,
            FreeKind::Delete => AllocKind::New,
            FreeKind::DeleteArray => AllocKind::NewArray,
        }
    }
}

/// Decides what `addr` is, from arithmetic and metadata only. Returns the live
/// block that starts at `addr`, or reports what it is instead (and returns
/// None if the report lets the program continue).
fn find_live(addr: usize, func: &str) -> Option<Block> {
    let Where::Slot { pool, slot } = pool::locate(addr) else {
        describe::foreign_pointer(addr, func);
        return None;
    };
    let b = Block::read(pool, slot);
    match b.state() {
        SlotState::Live if addr == b.user() => return Some(b),
        SlotState::Live if addr > b.user() && b.contains(addr) => describe::interior_pointer(addr, func, &b),
        SlotState::Quarantined if addr == b.user() => describe::double_free(addr, func, &b),
        _ => describe::not_a_block(addr, func, &b),
    }
    None
}

/// Checks the owner link and both canaries of a block this thread owns.
/// Reports if any is damaged and returns false (when on_error=continue lets
/// the program go on).
fn check_block(b: &Block, func: &str) -> bool {
    match canary::check(b) {
        None => true,
        Some(damage) => {
            describe::damaged(func, b, damage);
            false
        }
    }
}

/// free / delete / the free half of realloc. `sized` is the size a sized
/// delete was given.
pub fn release(addr: usize, how: FreeKind, sized: Option<usize>) {
    if addr == 0 {
        return;
    }
    if !state::ready() {
        // Nothing was allocated by us yet, so this cannot be our block.
        start::ensure();
        describe::foreign_pointer(addr, how.func());
        return;
    }
    let Some(b) = claim(addr, how) else { return };
    check_kind(&b, how, sized);
    check_block(&b, how.func());
    finish_release(&b);
}

/// Reports a block released by the wrong family (or sized delete with the
/// wrong size). With on_error=continue the release goes on. Not reported:
/// every family mismatch with `alloc_dealloc_mismatch=0`, and a pairing made
/// by another library's operator new or delete (diag/operators.rs).
fn check_kind(b: &Block, how: FreeKind, sized: Option<usize>) {
    if b.kind() != how.expects() {
        if state::options().alloc_dealloc_mismatch
            && !(how != FreeKind::Realloc && operators::foreign_operator(b, how.expects()))
        {
            describe::kind_mismatch(how.func(), b);
        }
    } else if let Some(s) = sized.filter(|&s| s != b.size) {
        describe::size_mismatch(how.func(), b, s);
    }
}

/// The second half of a free, for a block this thread has claimed: record
/// who freed it, give its pages back and trap them (a poisoned dense slot
/// stays mapped), then queue the slot.
fn finish_release(b: &Block) {
    let p = &arena().pools[b.pool];
    b.meta.free_tid.store(tls::thread_number(), Relaxed);
    b.meta.free_stack.store(if skip_stacks(p) { 0 } else { depot::record_caller() }, Relaxed);
    if p.dense {
        dense::poison(b.user(), b.pl.run_end);
    } else {
        if b.word & OPENED != 0 {
            // on_error=continue opened a page of this slot: trap all of it again.
            guard::trap(p.slot_addr(b.slot), p.slot_bytes);
        } else {
            guard::trap(b.pl.run_start, b.pl.run_len());
        }
        dense::run_unmapped();
    }
    budget::uncharge(b.size);
    pool::count_free(b.pool, b.size);
    // Queue it only now, so the slot cannot be reused before its pages are trapped.
    cache::put(b.pool, b.slot);
}

/// Finds the live block at `addr` and marks it quarantined with a
/// compare-and-swap: of two racing frees, exactly one wins and the other is
/// reported as a double free.
fn claim(addr: usize, how: FreeKind) -> Option<Block> {
    loop {
        let b = find_live(addr, how.func())?;
        if b.meta.claim_for_free(b.word) {
            return Some(b);
        }
    }
}

/// realloc(p, n) for p != NULL and n != 0.
pub fn reallocate(addr: usize, size: usize) -> *mut u8 {
    if !state::ready() {
        describe::foreign_pointer(addr, "realloc");
        sys::set_errno(libc::ENOMEM);
        return core::ptr::null_mut();
    }
    let Some(b) = find_live(addr, "realloc") else {
        sys::set_errno(libc::ENOMEM);
        return core::ptr::null_mut();
    };
    // Checked once here; the release below does not check again.
    let intact = check_block(&b, "realloc");
    if intact && b.kind() == AllocKind::Malloc && resize_in_place(&b, size) {
        return addr as *mut u8;
    }
    let new = allocate(size, PLAIN, AllocKind::Malloc);
    if new.is_null() {
        return new; // errno is ENOMEM; the old block stays valid
    }
    // SAFETY: both blocks are live; the old one has b.size readable bytes.
    unsafe { copy_contents(addr, new as usize, b.size.min(size)) };
    if let Some(b) = claim(addr, FreeKind::Realloc) {
        check_kind(&b, FreeKind::Realloc, None);
        finish_release(&b);
    }
    new
}

/// Keeps a block where it is when the new size ends at the same place
/// (same 16-byte rounding): only the size and the tail canary change.
fn resize_in_place(b: &Block, size: usize) -> bool {
    let p = &arena().pools[b.pool];
    if size > layout::class_size(p.class) {
        return false; // beyond the slot (a dense slot places every size alike)
    }
    let pl = p.placement(b.slot, size, PLAIN);
    if pl != b.pl {
        return false;
    }
    // SAFETY: the run is live; [user+size, run_end) lies in it.
    unsafe {
        if size > b.size {
            // New bytes were canary; show them as the fill (or zero) like fresh memory.
            let fill = state::options().alloc_fill.unwrap_or(0);
            core::ptr::write_bytes((b.user() + b.size) as *mut u8, fill, size - b.size);
        }
        canary::fill(b.user() + size, pl.run_end);
    }
    // Recorded as plain, which places it where it is.
    b.meta.set_block(size, PLAIN);
    pool::resized(b.pool, b.size, size);
    budget::resized(b.size, size);
    true
}

/// malloc_usable_size: exactly the requested size (writing past it would be
/// an overflow into the canary).
pub fn usable_size(addr: usize) -> usize {
    if addr == 0 {
        return 0;
    }
    if !state::ready() {
        describe::foreign_pointer(addr, "malloc_usable_size");
        return 0;
    }
    find_live(addr, "malloc_usable_size").map_or(0, |b| b.size)
}

/// Copies `n` bytes of a block into the new block realloc made for it.
/// Beyond its fill, a new block of over 64 KiB is fresh from the kernel and
/// reads as zeros, so the pages of a large block that were never touched,
/// or hold only zeros, are not copied: growing a sparse 20 GiB table costs
/// the pages it uses, not 20 GiB (glibc moves such blocks with mremap,
/// which cannot keep our right-aligned placement).
///
/// # Safety
/// `[src, src + n)` is readable and `[dst, dst + n)` writable; above 1 MiB,
/// `dst` is a new guarded block whose bytes past `MAX_FILL` are zeros.
unsafe fn copy_contents(src: usize, dst: usize, n: usize) {
    const SPARSE_MIN: usize = 1 << 20;
    const WINDOW: usize = 512; // pages per mincore call
    if n <= SPARSE_MIN {
        core::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, n);
        return;
    }
    // The fill, and up to the next page of the source: copied whole.
    let dense_end = (src + MAX_FILL).next_multiple_of(PAGE);
    core::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, dense_end - src);
    let end = src + n;
    let mut resident = [0u8; WINDOW];
    let mut window = dense_end;
    while window < end {
        let pages = (end - window).div_ceil(PAGE).min(WINDOW);
        let known = mem::resident(window, &mut resident[..pages]);
        for (i, &r) in resident[..pages].iter().enumerate() {
            let lo = window + i * PAGE;
            let hi = (lo + PAGE).min(end);
            // A page never touched reads as zeros: nothing to copy.
            if known && r & 1 == 0 {
                continue;
            }
            let bytes = core::slice::from_raw_parts(lo as *const u8, hi - lo);
            if all_zero(bytes) {
                continue;
            }
            core::ptr::copy_nonoverlapping(lo as *const u8, (dst + (lo - src)) as *mut u8, hi - lo);
        }
        window += pages * PAGE;
    }
}

/// True if every byte is zero (whole words at vector speed: no early exit).
fn all_zero(bytes: &[u8]) -> bool {
    // SAFETY: any bit pattern is a valid u64.
    let (head, words, tail) = unsafe { bytes.align_to::<u64>() };
    let or = |acc: u8, &b: &u8| acc | b;
    words.iter().fold(0, |acc, &w| acc | w) == 0 && head.iter().fold(0, or) == 0 && tail.iter().fold(0, or) == 0
}
