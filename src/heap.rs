//! Allocation and free of debug objects: the path of DESIGN §2.
//!
//! `allocate` takes a slot (from the thread's magazine, refilled under the
//! pool lock by `pool::take_slots`), then —
//! with the lock released — makes the block's pages usable, prefaults them,
//! writes canaries and the owner link, records the metadata and publishes the
//! slot as live. `release` decides what a pointer is from its address and our
//! own metadata only (it never dereferences a pointer it has not proven to be
//! the start of a live block), claims the block with a compare-and-swap so a
//! racing double free is caught, checks link and canaries, traps the pages
//! (one system call) and only then queues the slot for the quarantine (in
//! the thread's free batch, flushed under the lock).

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};

use crate::init::{self, GuardKind};
use crate::{cache, dense};
use crate::layout::{self, Placement, MIN_ALIGN, NCLASSES};
use crate::pool::{self, arena, state_of, state_word, kind_of, AllocKind, Pool, SlotMeta, SlotState, Where};
use crate::report::{self, say, BadPointer};
use crate::sys::{self, PAGE};
use crate::tls;

/// Byte value of the canaries around a block.
pub const CANARY: u8 = 0xca;
const CANARY_WORD: u64 = u64::from_ne_bytes([CANARY; 8]);
/// `alloc_fill` covers at most this many bytes of a block, like ASan's max_malloc_fill_size.
const MAX_FILL: usize = 4096;

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

pub fn alloc_func(k: AllocKind) -> &'static str {
    match k {
        AllocKind::Malloc => "malloc",
        AllocKind::New => "operator new",
        AllocKind::NewArray => "operator new[]",
    }
}

/// The in-band owner link stored in the 8 bytes before a block: ties the
/// block's address to its pool under a per-process secret, so a corrupted
/// header, a block of another pool or a forged copy elsewhere do not match.
pub fn owner_link(user: usize, pool: usize) -> u64 {
    (init::secret() ^ (user as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).rotate_left(29) ^ pool as u64
}

/// Allocates `size` bytes aligned to `align` (a power of two, at least 16),
/// filled per `alloc_fill`. Returns null with errno = ENOMEM when the size is
/// impossible or the kernel refuses memory.
pub fn allocate(size: usize, align: usize, kind: AllocKind) -> *mut u8 {
    allocate_filled(size, align, kind, init::options().alloc_fill)
}

/// calloc: a block's pages are always fresh from the kernel (never used, or
/// discarded when last freed), so skipping the fill leaves zeros.
pub fn allocate_zeroed(size: usize) -> *mut u8 {
    allocate_filled(size, MIN_ALIGN, AllocKind::Malloc, None)
}

fn allocate_filled(size: usize, align: usize, kind: AllocKind, fill: Option<u8>) -> *mut u8 {
    if !init::ensure() {
        sys::set_errno(libc::ENOMEM);
        return core::ptr::null_mut();
    }
    debug_assert!(align.is_power_of_two());
    crate::fault::ensure_altstack();
    let Some(class) = layout::class_for_request(size, align) else {
        sys::set_errno(libc::ENOMEM);
        return core::ptr::null_mut();
    };
    if !charge(size) {
        sys::set_errno(libc::ENOMEM);
        return core::ptr::null_mut();
    }
    let mut pool = dense::choose_pool(class, align);
    loop {
        match allocate_in(pool, size, align, kind, fill) {
            Ok(p) => return p,
            // Out of memory maps (mprotect mode): small blocks go dense.
            Err(()) if pool == class && dense::fall_back(class, align) => pool = NCLASSES + class,
            Err(()) => {
                uncharge(size);
                sys::set_errno(libc::ENOMEM);
                return core::ptr::null_mut();
            }
        }
    }
}

// ---- RLIMIT_AS ----
//
// Our arena is reserved address space, so a limit the program sets after
// start-up (setrlimit(RLIMIT_AS)) would never make mmap fail: memory would
// grow until the OOM killer came. We account live blocks ourselves and check
// them against the limit whenever the total crosses a MiB boundary (or for a
// block of a MiB or more): an allocation beyond it fails with ENOMEM.

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Bytes a block of `size` counts for: its run, roughly.
fn footprint(size: usize) -> usize {
    size.saturating_add(PAGE)
}

fn charge(size: usize) -> bool {
    let n = footprint(size);
    let old = LIVE_BYTES.fetch_add(n, Relaxed);
    if n < 1 << 20 && old >> 20 == (old + n) >> 20 {
        return true;
    }
    let limit = sys::address_space_limit();
    if limit == usize::MAX || init::base_vm().saturating_add(old).saturating_add(n) <= limit {
        return true;
    }
    LIVE_BYTES.fetch_sub(n, Relaxed);
    static ONCE: AtomicBool = AtomicBool::new(false);
    if !ONCE.swap(true, Relaxed) {
        say!(
            "libpooldbg: NOTICE: RLIMIT_AS ({} bytes) reached: allocations beyond it fail with ENOMEM",
            limit
        );
    }
    false
}

fn uncharge(size: usize) {
    LIVE_BYTES.fetch_sub(footprint(size), Relaxed);
}

fn allocate_in(pool: usize, size: usize, align: usize, kind: AllocKind, fill: Option<u8>) -> Result<*mut u8, ()> {
    let slot = cache::take(pool).ok_or(())?;
    // No lock is held: everything below may fault and call the kernel.
    let p = &arena().pools[pool];
    let pl = placement(p, slot, size, align);
    let meta = p.meta(slot);
    let old = meta.state.load(Relaxed); // first touch of the record, for a new slot
    let fresh = state_of(old) == SlotState::Unused;
    if !fresh && p.dense {
        dense::check_poison(p, slot); // before the old record is overwritten
    }
    if !p.dense && old & pool::OPENED != 0 {
        // on_error=continue opened a page of this slot: trap all of it again.
        trap_freed(p.slot_addr(slot), p.slot_bytes);
    }
    meta.state.store(state_word(SlotState::Claimed, kind), Relaxed);
    // A dense slot needs no page-table change (beyond a rare commit).
    let turn = (!p.dense).then(crate::turn::take);
    if !make_usable(p, &pl) {
        drop(turn);
        // Back as it was: a never-used slot stays Unused (no poison to check).
        meta.state.store(if fresh { 0 } else { state_word(SlotState::Quarantined, kind) }, Relaxed);
        pool::return_slots(pool, &[slot]);
        return Err(());
    }
    pool::count_alloc(pool, size);
    let prefault_and_guards = || {
        // Guarded runs come back from the kernel untouched every time; dense
        // slots only the first time.
        if init::options().prefault && (fresh || !p.dense) {
            prefault(&pl);
        }
        write_guards(&pl, size, pool);
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
    meta.alloc_stack.store(if skip_stacks(p) { 0 } else { record_stack() }, Relaxed);
    meta.state.store(state_word(SlotState::Live, kind), Release);
    Ok(pl.user as *mut u8)
}

/// Where a block of `size` bytes goes in `slot`: against the guard page above
/// (default), or against the trapped page below (`protect_below`). Plain
/// malloc blocks take the `alignment` option (1 = byte-exact end).
pub(crate) fn placement(p: &Pool, slot: u32, size: usize, align: usize) -> Placement {
    if p.dense {
        return layout::place_dense(p.slot_addr(slot), p.class);
    }
    let opts = init::options();
    if opts.protect_below {
        return layout::place_below(p.slot_addr(slot), size);
    }
    let align = if align == MIN_ALIGN { opts.alignment } else { align };
    layout::place(p.slot_addr(slot), p.class, size, align)
}

/// Where the block recorded in `slot`'s metadata lies, and its size.
pub(crate) fn recorded_block(p: &Pool, slot: u32) -> (usize, Placement) {
    let (size, align) = p.meta(slot).block();
    (size, placement(p, slot, size, align))
}

/// With `sample=N`, unsampled (dense) blocks record no stacks: capture is
/// most of their cost, and always-on use is the point of sampling.
fn skip_stacks(p: &Pool) -> bool {
    p.dense && init::options().sample > 1
}

/// The caller's stack, interned; 0 when disabled or when the unwinder itself
/// called malloc (it must not recurse into itself).
fn record_stack() -> u32 {
    let depth = init::options().stack_depth;
    if depth == 0 || tls::in_capture() {
        return 0;
    }
    tls::set_in_capture(true);
    let id = crate::stack::record(depth);
    tls::set_in_capture(false);
    id
}

/// Makes a block's run of pages accessible (the slot's guard page and its
/// unused leading pages stay trapped).
fn make_usable(p: &Pool, pl: &Placement) -> bool {
    if p.dense {
        return commit(p, pl.run_end, false);
    }
    match init::guard_kind() {
        GuardKind::Marker => {
            if !commit(p, pl.run_end, true) {
                return false;
            }
            sys::advise(pl.run_start, pl.run_len(), sys::MADV_GUARD_REMOVE).is_ok()
        }
        GuardKind::Mprotect => {
            let ok = sys::protect(pl.run_start, pl.run_len(), libc::PROT_READ | libc::PROT_WRITE).is_ok();
            if ok {
                dense::run_mapped();
            }
            ok
        }
    }
}

/// Serialises commits of pool address space (marker mode). A separate lock
/// from the pool lock on purpose: it is held across mprotect/madvise, which
/// the pool lock never is. Taken about once per MiB of fresh slots.
static COMMIT_LOCK: spin::mutex::SpinMutex<()> = spin::mutex::SpinMutex::new(());
const COMMIT_CHUNK: usize = 1 << 20;

/// Makes the pool's address space up to `end` read-write — with a guard
/// marker on every page for a guarded pool (marker mode) — extending the
/// committed prefix in chunks. Dense pools and marker-mode guarded pools
/// commit; mprotect-mode guarded pools open each run on its own.
fn commit(p: &Pool, end: usize, guard: bool) -> bool {
    let need = end - p.first_slot;
    if p.committed.load(Acquire) >= need {
        return true;
    }
    // A signal handler that allocates while we hold this lock must not wait
    // for it: lock_commit marks the depth before it takes the lock, and it is
    // cleared only after the release, so the re-entry checks see it.
    // (A handler that interrupted a pool-lock section comes here with depth 1:
    // it is restored afterwards.)
    let prev = tls::lock_depth();
    let g = lock_commit(prev);
    let ok = commit_locked(p, need, guard);
    drop(g);
    tls::set_lock_depth(prev);
    ok
}

fn commit_locked(p: &Pool, need: usize, guard: bool) -> bool {
    let have = p.committed.load(Acquire);
    if have >= need {
        return true;
    }
    let limit = p.capacity as usize * p.slot_bytes;
    let new = need.next_multiple_of(COMMIT_CHUNK.max(p.slot_bytes)).min(limit);
    let (start, len) = (p.first_slot + have, new - have);
    if sys::protect(start, len, libc::PROT_READ | libc::PROT_WRITE).is_err() {
        return false;
    }
    if guard && sys::advise(start, len, sys::MADV_GUARD_INSTALL).is_err() {
        let _ = sys::protect(start, len, libc::PROT_NONE);
        return false;
    }
    p.committed.store(new, Release);
    true
}

/// lock_depth value while this thread holds the commit lock.
pub const DEPTH_COMMIT: u32 = 2;

fn lock_commit(prev_depth: u32) -> spin::mutex::SpinMutexGuard<'static, ()> {
    if prev_depth == DEPTH_COMMIT {
        // A signal handler interrupted this thread's own commit.
        report::reentrant_lock();
    }
    loop {
        tls::set_lock_depth(DEPTH_COMMIT);
        if let Some(g) = COMMIT_LOCK.try_lock() {
            return g;
        }
        tls::set_lock_depth(prev_depth);
        sys::yield_now();
    }
}

/// fork: the commit lock is taken around the fork without waiting (see
/// init::fork_prepare).
pub fn try_commit_lock_for_fork() -> bool {
    match COMMIT_LOCK.try_lock() {
        Some(g) => {
            core::mem::forget(g);
            true
        }
        None => false,
    }
}

pub fn commit_unlock_after_fork() {
    // SAFETY: try_commit_lock_for_fork took it on this thread and leaked the guard.
    unsafe { COMMIT_LOCK.force_unlock() };
}

/// The first write to each page of the run: the kernel's real allocation
/// happens here, outside the lock (the seed's fix).
fn prefault(pl: &Placement) {
    // One MADV_POPULATE_WRITE for a page-aligned run: cheaper than taking the
    // fault (+4% churn operations at one thread), and one call for any length.
    if pl.run_start % PAGE == 0 && sys::advise(pl.run_start, pl.run_len(), sys::MADV_POPULATE_WRITE).is_ok() {
        return;
    }
    // A dense run need not start on a page: touch its own first byte, then
    // each page it spans (every address stays inside the run).
    let mut a = pl.run_start;
    while a < pl.run_end {
        // SAFETY: the page is ours and read-write; a zero page stays zero to
        // the user (the fresh contents are zeros already).
        unsafe { core::ptr::write_volatile(a as *mut u8, 0) };
        a = (a & !(PAGE - 1)) + PAGE;
    }
}

/// Head canary, owner link and tail canary of a block (a block placed
/// against the page below has neither head canary nor in-band link; its
/// metadata alone vouches for it).
fn write_guards(pl: &Placement, size: usize, class: usize) {
    // SAFETY: all ranges lie in the run made usable by make_usable.
    unsafe {
        if pl.user >= pl.run_start + 8 {
            fill_canary(pl.run_start, pl.user - 8);
            ((pl.user - 8) as *mut u64).write_unaligned(owner_link(pl.user, class));
        }
        fill_canary(pl.user + size, pl.run_end);
    }
}

unsafe fn fill_canary(mut a: usize, end: usize) {
    while a < end && a % 8 != 0 {
        (a as *mut u8).write(CANARY);
        a += 1;
    }
    while a + 8 <= end {
        (a as *mut u64).write(CANARY_WORD);
        a += 8;
    }
    while a < end {
        (a as *mut u8).write(CANARY);
        a += 1;
    }
}

/// The first byte in `[a, end)` that is not canary, scanning up (or down).
unsafe fn first_bad_canary(a: usize, end: usize, downwards: bool) -> Option<usize> {
    if all_bytes(a, end, CANARY) {
        return None; // the common case, at memory speed
    }
    if downwards {
        (a..end).rev().find(|&x| (x as *const u8).read() != CANARY)
    } else {
        first_mismatch(a, end, CANARY)
    }
}

/// The first byte in `[a, end)` that is not `byte`.
pub(crate) unsafe fn first_mismatch(a: usize, end: usize, byte: u8) -> Option<usize> {
    if all_bytes(a, end, byte) {
        return None;
    }
    (a..end).find(|&x| (x as *const u8).read() != byte)
}

/// True if every byte of `[a, end)` is `byte`: 64 bytes per step, in a form
/// the compiler turns into vector compares.
unsafe fn all_bytes(a: usize, end: usize, byte: u8) -> bool {
    let word = u64::from_ne_bytes([byte; 8]);
    let mut x = a;
    while x < end && x % 8 != 0 {
        if (x as *const u8).read() != byte {
            return false;
        }
        x += 1;
    }
    while x + 64 <= end {
        let p = x as *const u64;
        let mut acc = 0;
        for i in 0..8 {
            acc |= p.add(i).read() ^ word;
        }
        if acc != 0 {
            return false;
        }
        x += 64;
    }
    while x + 8 <= end {
        if (x as *const u64).read() != word {
            return false;
        }
        x += 8;
    }
    while x < end {
        if (x as *const u8).read() != byte {
            return false;
        }
        x += 1;
    }
    true
}

/// A live block found from a user pointer.
struct Block {
    pool: usize,
    slot: u32,
    word: u32,
    meta: &'static SlotMeta,
    user: usize,
    size: usize,
    /// Its pages: `run_start..run_end` (user == pl.user).
    pl: Placement,
}

/// Decides what `addr` is, from arithmetic and metadata only. Returns the live
/// block that starts at `addr`, or reports what it is instead (and returns
/// None if the report lets the program continue).
fn find_live(addr: usize, func: &str) -> Option<Block> {
    let Where::Slot { pool, slot } = pool::locate(addr) else {
        report_foreign(addr, func);
        return None;
    };
    let p = &arena().pools[pool];
    let meta = p.meta(slot);
    let word = meta.state.load(Acquire);
    let (size, pl) = recorded_block(p, slot);
    let user = pl.user;
    match state_of(word) {
        SlotState::Live if addr == user => {
            return Some(Block { pool, slot, word, meta, user, size, pl });
        }
        SlotState::Live if addr > user && addr < user + size.max(1) => {
            report::begin(BadPointer::InteriorPointerFree, func, addr);
            say!(
                "  {:#x} is {} bytes inside the {}-byte block [{:#x},{:#x}) in pool {}",
                addr, addr - user, size, user, user + size, pool::name(pool)
            );
            say_history(meta, word);
        }
        SlotState::Quarantined if addr == user => {
            report::begin(BadPointer::DoubleFree, func, addr);
            say!(
                "  {:#x} is the {}-byte block [{:#x},{:#x}) in pool {}, already freed by thread T{}",
                addr, size, user, user + size, pool::name(pool), meta.free_tid.load(Relaxed)
            );
            say_history(meta, word);
        }
        state => {
            report::begin(BadPointer::InvalidFree, func, addr);
            let what = match state {
                SlotState::Live => "a live block's slot, outside the block",
                SlotState::Quarantined => "a freed block's slot",
                _ => "a slot that holds no block",
            };
            say!("  {:#x} is not the start of a heap block: it lies in {} (pool {})", addr, what, pool::name(pool));
            if state != SlotState::Unused && state != SlotState::Claimed {
                say!("  nearest block: {}-byte block [{:#x},{:#x})", size, user, user + size);
            }
            say_stack_here();
        }
    }
    report::finish();
    None
}

/// The stack of the bad call, then the block's free and allocation stacks.
fn say_history(meta: &SlotMeta, word: u32) {
    say_stack_here();
    say_block_stacks(meta, word);
}

/// A block's free stack (when it is freed) and its allocation stack: the
/// tail of every report about a block.
pub(crate) fn say_block_stacks(meta: &SlotMeta, word: u32) {
    if state_of(word) == SlotState::Quarantined {
        say!("  freed by thread T{} here:", meta.free_tid.load(Relaxed));
        crate::stack::print_id(meta.free_stack.load(Relaxed));
    }
    say!("  allocated by {} in thread T{} here:", alloc_func(kind_of(word)), meta.alloc_tid.load(Relaxed));
    crate::stack::print_id(meta.alloc_stack.load(Relaxed));
}

/// "ADDR is located N bytes to the right of / to the left of / inside of
/// [freed ]SIZE-byte block [USER,END) in pool P": where an access fell.
pub(crate) fn say_located(addr: usize, user: usize, size: usize, freed: bool, pool: usize) {
    let what = if freed { "freed " } else { "" };
    let (n, rel) = if addr >= user + size {
        (addr - (user + size), "to the right of")
    } else if addr < user {
        (user - addr, "to the left of")
    } else {
        (addr - user, "inside of")
    };
    say!("  {:#x} is located {} bytes {} {}{}-byte block [{:#x},{:#x}) in pool {}",
        addr, n, rel, what, size, user, user + size, pool::name(pool));
}

/// The caller's stack, from the first frame outside libpooldbg.
fn say_stack_here() {
    let mut frames = [0usize; crate::stack::MAX_DEPTH];
    let depth = init::options().stack_depth.clamp(1, crate::stack::MAX_DEPTH);
    let n = crate::stack::capture(&mut frames[..depth], true);
    crate::stack::print(&frames[..n]);
}

fn report_foreign(addr: usize, func: &str) {
    report::begin(BadPointer::InvalidFree, func, addr);
    match pool::locate(addr) {
        Where::Foreign => say!(
            "  {:#x} was not returned by malloc: it is outside libpooldbg's heap (stack, global, mmap'ed or wild pointer)",
            addr
        ),
        _ => say!("  {:#x} was not returned by malloc: it lies in libpooldbg's heap but in no block", addr),
    }
    say_stack_here();
    report::finish();
}

/// Checks the owner link and both canaries of a block this thread owns.
/// Reports if any is damaged and returns false (when on_error=continue lets
/// the program go on).
fn check_block(b: &Block, func: &str) -> bool {
    let (run_start, run_end) = (b.pl.run_start, b.pl.run_end);
    // SAFETY: the block is live and claimed by this thread: its run is mapped.
    let has_header = b.user >= run_start + 8;
    let (link, head_bad, tail_bad) = unsafe {
        if has_header {
            (
                ((b.user - 8) as *const u64).read_unaligned(),
                first_bad_canary(run_start, b.user - 8, true),
                first_bad_canary(b.user + b.size, run_end, false),
            )
        } else {
            (owner_link(b.user, b.pool), None, first_bad_canary(b.user + b.size, run_end, false))
        }
    };
    let class = pool::name(b.pool);
    if let Some(bad) = tail_bad {
        report::begin(BadPointer::HeapBufferOverflow, func, b.user);
        say!(
            "  the canary after the {}-byte block [{:#x},{:#x}) in pool {} was overwritten:",
            b.size, b.user, b.user + b.size, class
        );
        say!("  first corrupted byte {:#x} is {} bytes to the right of the block (found by {})", bad, bad - (b.user + b.size), func);
        say_history(b.meta, b.word);
        report::finish();
        return false;
    }
    let link_ok = link == owner_link(b.user, b.pool);
    if let Some(bad) = head_bad {
        report::begin(BadPointer::HeapBufferUnderflow, func, b.user);
        say!(
            "  the canary before the {}-byte block [{:#x},{:#x}) in pool {} was overwritten:",
            b.size, b.user, b.user + b.size, class
        );
        say!("  last corrupted byte {:#x} is {} bytes to the left of the block (found by {})", bad, b.user - bad, func);
        say_history(b.meta, b.word);
        report::finish();
        return false;
    }
    if !link_ok {
        report::begin(BadPointer::CorruptedOwnerLink, func, b.user);
        say!(
            "  the owner link at {:#x}, 8 bytes before the {}-byte block [{:#x},{:#x}) in pool {}, holds {:#x}; expected {:#x}",
            b.user - 8, b.size, b.user, b.user + b.size, class, link, owner_link(b.user, b.pool)
        );
        say!("  (an underflow or a wild write hit the block's header)");
        say_history(b.meta, b.word);
        report::finish();
        return false;
    }
    true
}

/// free / delete / the free half of realloc. `sized` is the size a sized
/// delete was given.
pub fn release(addr: usize, how: FreeKind, sized: Option<usize>) {
    if addr == 0 {
        return;
    }
    if !init::ready() {
        // Nothing was allocated by us yet, so this cannot be our block.
        init::ensure();
        report_foreign(addr, how.func());
        return;
    }
    let Some(b) = claim(addr, how) else { return };
    check_kind(&b, how, sized);
    check_block(&b, how.func());
    finish_release(&b);
}

/// Reports a block released by the wrong family (or sized delete with the
/// wrong size). With on_error=continue the release goes on.
fn check_kind(b: &Block, how: FreeKind, sized: Option<usize>) {
    let kind = kind_of(b.word);
    if kind != how.expects() {
        report::begin(BadPointer::AllocDeallocMismatch, how.func(), b.user);
        say!("  the {}-byte block [{:#x},{:#x}) was allocated by {} and is released by {}",
            b.size, b.user, b.user + b.size, alloc_func(kind), how.func());
        say!("  (pair malloc/free, new/delete, new[]/delete[])");
        say_history(b.meta, b.word);
        report::finish();
    } else if let Some(s) = sized.filter(|&s| s != b.size) {
        report::begin(BadPointer::NewDeleteSizeMismatch, how.func(), b.user);
        say!("  the block was allocated with {} bytes, sized delete was given {} bytes", b.size, s);
        say_history(b.meta, b.word);
        report::finish();
    }
}

/// The second half of a free, for a block this thread has claimed: record
/// who freed it, give its pages back and trap them (a poisoned dense slot
/// stays mapped), then queue the slot.
fn finish_release(b: &Block) {
    b.meta.free_tid.store(tls::thread_number(), Relaxed);
    b.meta.free_stack.store(if skip_stacks(&arena().pools[b.pool]) { 0 } else { record_stack() }, Relaxed);
    let (run_start, run_len) = (b.pl.run_start, b.pl.run_len());
    let p = &arena().pools[b.pool];
    if p.dense {
        dense::poison(b.user, b.pl.run_end);
    } else {
        if b.word & pool::OPENED != 0 {
            // on_error=continue opened a page of this slot: trap all of it again.
            trap_freed(p.slot_addr(b.slot), p.slot_bytes);
        } else {
            trap_freed(run_start, run_len);
        }
        dense::run_unmapped();
    }
    uncharge(b.size);
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
        let freed = state_word(SlotState::Quarantined, kind_of(b.word));
        if b.meta.state.compare_exchange(b.word, freed, AcqRel, Acquire).is_ok() {
            return Some(b);
        }
    }
}

/// Gives a freed block's pages back to the kernel and leaves them trapped.
pub(crate) fn trap_freed(run_start: usize, run_len: usize) {
    let _turn = crate::turn::take();
    match init::guard_kind() {
        // Installing markers over populated pages discards them: one call.
        GuardKind::Marker => {
            if sys::advise(run_start, run_len, sys::MADV_GUARD_INSTALL).is_ok() {
                return;
            }
        }
        // A fresh PROT_NONE mapping over the run: frees, traps, and merges
        // with the neighbouring inaccessible ranges, in one call.
        GuardKind::Mprotect => {
            if sys::remap_none(run_start, run_len) {
                return;
            }
        }
    }
    // The kernel refused (memory pressure): still make the range trap.
    let _ = sys::advise(run_start, run_len, libc::MADV_DONTNEED);
    if sys::protect(run_start, run_len, libc::PROT_NONE).is_err() {
        warn_untrapped();
    }
}

fn warn_untrapped() {
    static ONCE: AtomicBool = AtomicBool::new(false);
    if !ONCE.swap(true, Relaxed) {
        say!("libpooldbg: WARNING: the kernel refused to trap a freed block (out of memory maps?); some use-after-free may go unnoticed");
    }
}

/// realloc(p, n) for p != NULL and n != 0.
pub fn reallocate(addr: usize, size: usize) -> *mut u8 {
    if !init::ready() {
        report_foreign(addr, "realloc");
        sys::set_errno(libc::ENOMEM);
        return core::ptr::null_mut();
    }
    let Some(b) = find_live(addr, "realloc") else {
        sys::set_errno(libc::ENOMEM);
        return core::ptr::null_mut();
    };
    // Checked once here; the release below does not check again.
    let intact = check_block(&b, "realloc");
    if intact && kind_of(b.word) == AllocKind::Malloc && resize_in_place(&b, size) {
        return addr as *mut u8;
    }
    let new = allocate(size, MIN_ALIGN, AllocKind::Malloc);
    if new.is_null() {
        return new; // errno is ENOMEM; the old block stays valid
    }
    // SAFETY: both blocks are live; the old one has b.size readable bytes.
    unsafe { core::ptr::copy_nonoverlapping(addr as *const u8, new, b.size.min(size)) };
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
    let pl = placement(p, b.slot, size, MIN_ALIGN);
    if pl != b.pl {
        return false;
    }
    // SAFETY: the run is live; [user+size, run_end) lies in it.
    unsafe {
        if size > b.size {
            // New bytes were canary; show them as the fill (or zero) like fresh memory.
            let fill = init::options().alloc_fill.unwrap_or(0);
            core::ptr::write_bytes((b.user + b.size) as *mut u8, fill, size - b.size);
        }
        fill_canary(b.user + size, pl.run_end);
    }
    // Recorded with the default alignment, which places it where it is.
    b.meta.set_block(size, MIN_ALIGN);
    pool::resized(b.pool, b.size, size);
    LIVE_BYTES.fetch_add(size, Relaxed);
    LIVE_BYTES.fetch_sub(b.size, Relaxed);
    true
}

/// malloc_usable_size: exactly the requested size (writing past it would be
/// an overflow into the canary).
pub fn usable_size(addr: usize) -> usize {
    if addr == 0 {
        return 0;
    }
    if !init::ready() {
        report_foreign(addr, "malloc_usable_size");
        return 0;
    }
    find_live(addr, "malloc_usable_size").map_or(0, |b| b.size)
}
