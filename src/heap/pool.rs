//! Pools and their address space, and the one global pool lock over the
//! quarantine lists.
//!
//! # What the lock protects, and what never happens under it
//! `HEAP` (heap/lock.rs: spins briefly, then sleeps on a futex) protects each
//! pool's slot lists: the FIFO quarantine of freed slots, and — kept as atomics so statistics read them
//! without the lock — the bump index of never-used slots and the
//! quarantine's length and bytes. The other counters are updated outside it.
//! A critical section is a few loads and stores, or a loop bounded by a
//! thread's magazine (8) or free batch (16): **no system call, no page
//! fault, no unbounded loop** (the seed's rule, docs/ARCHITECTURE.md, invariant 1).
//! Everything expensive — mapping and trapping pages, the first write to
//! each page, headers, owner links, canaries, metadata records — happens
//! before the lock is taken or after it is released. Pages the critical
//! sections touch are prefaulted: the `HEAP`, `COUNTERS` and `Q_BYTES`
//! statics at start-up, and a slot's metadata record is first written by its
//! allocating thread outside the lock, so the quarantine links written under
//! the lock always land on touched pages.
//!
//! The `lockstat` feature measures hold and wait times per section; with
//! `lockstat_faults` also the page faults taken under the lock.

use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

use super::layout::{self, Placement, HUGE, NCLASSES, NPOOLS, PLAIN};
use super::lock::{self, Depth, Lock, HOLDS_POOL};
use super::quarantine::{self, Bounds, Fifo, Fill, Source};
use super::slot::{SlotMeta, SlotState};
use crate::config::state;
use crate::out;
use crate::sys::{self, mem, PAGE};
use crate::util::global::Global;

/// Immutable geometry of one pool, fixed at start-up.
pub struct Pool {
    /// Size class index (see `layout`).
    pub class: usize,
    /// A dense pool: blocks packed in always-accessible pages, no guard.
    pub dense: bool,
    /// Address of slot 0 (one trapped page after the pool's region start).
    pub first_slot: usize,
    pub slot_bytes: usize,
    pub capacity: u32,
    pub meta: usize,
    /// Marker mode: bytes from `first_slot` made read-write and guarded.
    pub committed: AtomicUsize,
}

impl Pool {
    /// The huge class's pool: its runs are opened and trapped by protection
    /// whatever the guard mechanism (heap/guard/mod.rs), never committed.
    pub fn huge(&self) -> bool {
        !self.dense && self.class == HUGE
    }

    pub fn slot_addr(&self, slot: u32) -> usize {
        self.first_slot + slot as usize * self.slot_bytes
    }

    /// Where a block of `size` bytes goes in `slot`: against the guard page
    /// above (default), or against the trapped page below (`protect_below`).
    /// Plain blocks (`align == PLAIN`) take the `alignment` and
    /// `protect_below` options; an explicit alignment is always honoured.
    pub fn placement(&self, slot: u32, size: usize, align: usize) -> Placement {
        if self.dense {
            return layout::place_dense(self.slot_addr(slot), self.class);
        }
        if align != PLAIN {
            return layout::place(self.slot_addr(slot), self.class, size, align);
        }
        let opts = state::options();
        if opts.protect_below {
            return layout::place_below(self.slot_addr(slot), size);
        }
        layout::place(self.slot_addr(slot), self.class, size, opts.alignment)
    }

    /// The block recorded in `slot`'s metadata: its size and where it lies.
    pub fn recorded_block(&self, slot: u32) -> (usize, Placement) {
        let (size, align) = self.meta(slot).block();
        (size, self.placement(slot, size, align))
    }

    pub fn meta(&self, slot: u32) -> &SlotMeta {
        debug_assert!(slot < self.capacity);
        // SAFETY: the metadata mapping holds `capacity` records, lazily committed
        // read-write memory; reading an untouched record yields zeros (Unused).
        unsafe { &*(self.meta as *const SlotMeta).add(slot as usize) }
    }
}

/// The address-space map, written once by `init`.
pub struct Arena {
    pub base: usize,
    pub end: usize,
    /// Bytes of address space per pool, but the huge one.
    pub span: usize,
    /// The huge pool's address space: after the other guarded pools, before
    /// the dense ones.
    pub huge_start: usize,
    pub huge_end: usize,
    /// The metadata mapping (all pools' SlotMeta arrays).
    pub meta_base: usize,
    pub meta_end: usize,
    pub pools: [Pool; NPOOLS],
}

pub static ARENA: Global<Arena> = Global::new(Arena {
    base: 0,
    end: 0,
    span: 0,
    huge_start: 0,
    huge_end: 0,
    meta_base: 0,
    meta_end: 0,
    pools: [const {
        Pool {
            class: 0,
            dense: false,
            first_slot: 0,
            slot_bytes: 0,
            capacity: 0,
            meta: 0,
            committed: AtomicUsize::new(0),
        }
    }; NPOOLS],
});

pub fn arena() -> &'static Arena {
    ARENA.get()
}

/// Shows a pool the way reports and statistics name it: its size class in
/// bytes, with "(dense)" for a dense pool.
pub struct PoolName(usize);

pub fn name(pool: usize) -> PoolName {
    PoolName(pool)
}

impl core::fmt::Display for PoolName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0 < NCLASSES {
            write!(f, "{}", layout::class_size(self.0))
        } else {
            write!(f, "{} (dense)", layout::class_size(self.0 - NCLASSES))
        }
    }
}

/// Where an address falls in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// Not in our address space at all.
    Foreign,
    /// In our space but not in any slot (a pool's leading page, or past its slots).
    Gap,
    Slot {
        pool: usize,
        slot: u32,
    },
}

/// Finds the pool and slot of `addr` by arithmetic alone (never dereferences it).
pub fn locate(addr: usize) -> Where {
    let a = arena();
    if addr < a.base || addr >= a.end {
        return Where::Foreign;
    }
    let pool = pool_of(addr);
    let p = &a.pools[pool];
    if addr < p.first_slot {
        return Where::Gap;
    }
    let slot = (addr - p.first_slot) / p.slot_bytes;
    if slot >= p.capacity as usize {
        return Where::Gap;
    }
    Where::Slot { pool, slot: slot as u32 }
}

/// The pool whose span holds `addr`, an address in the arena.
pub fn pool_of(addr: usize) -> usize {
    let a = arena();
    if addr < a.huge_start {
        (addr - a.base) / a.span
    } else if addr < a.huge_end {
        HUGE
    } else {
        HUGE + 1 + (addr - a.huge_end) / a.span
    }
}

/// Reserves the arena and the metadata, and lays out the pools. Tries the
/// largest span first and halves it while the kernel refuses (RLIMIT_AS,
/// strict overcommit). Returns false if even the smallest span is refused.
///
/// # Safety
/// Init only (see `Global::init_mut`).
pub unsafe fn reserve_arena() -> bool {
    const MAX_SPAN: usize = 1 << 36; // 64 GiB per pool
    const MIN_SPAN: usize = 1 << 21; // 2 MiB per pool
                                     // The huge pool: 16 TiB of address space, room for 7 blocks of up to
                                     // 2 TiB (none under RLIMIT_AS, where every pool's room is short).
    const HUGE_SPANS: usize = 256;
    let a = ARENA.init_mut();
    // Under RLIMIT_AS, start from a span that leaves the program half of it.
    let limit = mem::address_space_limit();
    let mut span = MAX_SPAN;
    let mut huge_spans = HUGE_SPANS;
    if limit != usize::MAX {
        let room = limit.saturating_sub(sys::proc::vm_bytes()) / 2;
        span = (room / NPOOLS / MIN_SPAN * MIN_SPAN).clamp(MIN_SPAN, MAX_SPAN);
        huge_spans = 1;
    }
    while span >= MIN_SPAN {
        let huge_span = span * huge_spans;
        let spans = |i: usize| if i == HUGE { huge_span } else { span };
        let total = span * (NPOOLS - 1) + huge_span;
        let meta_bytes: usize = (0..NPOOLS).map(|i| meta_len(capacity(i, spans(i)))).sum();
        if let Some(base) = mem::reserve(total) {
            if let Some(meta) = mem::map_rw_undumped(meta_bytes) {
                a.base = base;
                a.end = base + total;
                a.span = span;
                a.huge_start = base + HUGE * span;
                a.huge_end = a.huge_start + huge_span;
                a.meta_base = meta;
                a.meta_end = meta + meta_bytes;
                let mut m = meta;
                for (i, p) in a.pools.iter_mut().enumerate() {
                    p.class = if i < NCLASSES { i } else { i - NCLASSES };
                    p.dense = i >= NCLASSES;
                    p.first_slot = match i {
                        _ if i < HUGE => base + i * span,
                        HUGE => a.huge_start,
                        _ => a.huge_end + (i - HUGE - 1) * span,
                    } + PAGE;
                    p.slot_bytes = slot_bytes(i);
                    p.capacity = capacity(i, spans(i));
                    p.meta = m;
                    m += meta_len(p.capacity);
                }
                return true;
            }
            mem::unmap(base, total);
        }
        span = (span / 2).next_multiple_of(PAGE);
    }
    false
}

fn slot_bytes(pool: usize) -> usize {
    if pool < NCLASSES {
        layout::slot_bytes(pool)
    } else {
        layout::dense_slot_bytes(pool - NCLASSES)
    }
}

fn capacity(pool: usize, span: usize) -> u32 {
    ((span - PAGE) / slot_bytes(pool)).min(u32::MAX as usize - 1) as u32
}

/// The guarded pools' address space that the guard mechanism traps (the
/// huge pool and then the dense pools lie after it).
pub fn guarded_range() -> (usize, usize) {
    let a = arena();
    (a.base, a.huge_start - a.base)
}

/// True if `addr` lies in the huge pool's address space.
pub fn in_huge(addr: usize) -> bool {
    let a = arena();
    addr >= a.huge_start && addr < a.huge_end
}

/// With a small span (RLIMIT_AS), say once how little room each pool has.
pub fn span_notice() {
    let a = arena();
    if a.span < 1 << 30 {
        out::line(format_args!(
            "libpooldbg: NOTICE: RLIMIT_AS leaves {} MiB of address space per pool; large or numerous blocks will fail with ENOMEM",
            a.span >> 20
        ));
    }
}

fn meta_len(capacity: u32) -> usize {
    (capacity as usize * core::mem::size_of::<SlotMeta>()).next_multiple_of(PAGE)
}

/// What the pool lock protects: each pool's quarantine list (the links
/// live in the slots' metadata records) and the quarantine's bounds.
pub struct Heap {
    pub pools: [Fifo; NPOOLS],
    pub bounds: Bounds,
}

static HEAP: Lock<Heap> =
    Lock::new(Heap { pools: [Fifo::EMPTY; NPOOLS], bounds: Bounds { bytes: 0, slots: 0, dense_slots: 0 } });

/// Per-pool figures as relaxed atomics, so statistics and the leak check
/// read them without the lock (never a copy loop under it, and safe from a
/// signal handler). `bump`, `q_len` and `failed` are written only under the
/// lock, together with the list; the others outside it: HAProxy's used and
/// peak, frees and live bytes (allocations are frees + used). Every atomic
/// read-modify-write costs on the allocation path, so peak is a plain load
/// and store (racing threads may lower it by a block: statistics only).
struct Counters {
    /// Next never-used slot; slots below it have been handed out at least once.
    bump: AtomicU32,
    q_len: AtomicU32,
    failed: AtomicU64,
    used: AtomicU64,
    used_bytes: AtomicU64,
    peak: AtomicU64,
    frees: AtomicU64,
}

static COUNTERS: [Counters; NPOOLS] = [const {
    Counters {
        bump: AtomicU32::new(0),
        q_len: AtomicU32::new(0),
        failed: AtomicU64::new(0),
        used: AtomicU64::new(0),
        used_bytes: AtomicU64::new(0),
        peak: AtomicU64::new(0),
        frees: AtomicU64::new(0),
    }
}; NPOOLS];

/// Address space held by quarantined slots, bytes (written under the lock).
static Q_BYTES: AtomicU64 = AtomicU64::new(0);

/// A block of `size` bytes went live in `pool`.
pub fn count_alloc(pool: usize, size: usize) {
    let c = &COUNTERS[pool];
    let used = c.used.fetch_add(1, Relaxed) + 1;
    if used > c.peak.load(Relaxed) {
        c.peak.store(used, Relaxed);
    }
    c.used_bytes.fetch_add(size as u64, Relaxed);
}

/// A block of `size` bytes was freed from `pool`.
pub fn count_free(pool: usize, size: usize) {
    let c = &COUNTERS[pool];
    c.used.fetch_sub(1, Relaxed);
    c.used_bytes.fetch_sub(size as u64, Relaxed);
    c.frees.fetch_add(1, Relaxed);
}

/// A live block changed size in place (realloc).
pub fn resized(pool: usize, old: usize, new: usize) {
    let c = &COUNTERS[pool];
    c.used_bytes.fetch_add(new as u64, Relaxed);
    c.used_bytes.fetch_sub(old as u64, Relaxed);
}

/// Takes up to `out.len()` slots of `pool` in one critical section: for
/// each, the oldest quarantined slot once the quarantine is over its bounds
/// (or the pool has no unused slot left), else a never-used one. Returns how
/// many it took (0: the pool is exhausted). A bounded loop: `out` is a
/// thread's magazine, at most `cache::MAG` long.
pub fn take_slots(pool: usize, out: &mut [u32]) -> usize {
    let p = &arena().pools[pool];
    let c = &COUNTERS[pool];
    let (n, first_new, end_new) = with_heap(|h| {
        let slot_bytes = p.slot_bytes as u64;
        let q_max = if p.dense { h.bounds.dense_slots } else { h.bounds.slots };
        let q = &mut h.pools[pool];
        let (mut bump, mut q_len, mut q_bytes) = (c.bump.load(Relaxed), c.q_len.load(Relaxed), Q_BYTES.load(Relaxed));
        let mut n = 0;
        while n < out.len() {
            let fill = Fill { q_len, q_bytes, bump, capacity: p.capacity };
            match quarantine::source(fill, h.bounds.bytes, q_max) {
                Source::Quarantine => {
                    // The record was written when the slot was freed: its page is touched.
                    let Some(slot) = q.pop_front(|s| &p.meta(s).next) else { break };
                    q_len -= 1;
                    q_bytes -= slot_bytes;
                    out[n] = slot;
                }
                Source::Fresh => {
                    out[n] = bump;
                    bump += 1;
                }
                Source::Exhausted => {
                    if n == 0 {
                        c.failed.store(c.failed.load(Relaxed) + 1, Relaxed);
                    }
                    break;
                }
            }
            n += 1;
        }
        let first_new = c.bump.load(Relaxed);
        c.bump.store(bump, Relaxed);
        c.q_len.store(q_len, Relaxed);
        Q_BYTES.store(q_bytes, Relaxed);
        (n, first_new, bump)
    });
    // Never-used slots: their records may sit on untouched pages. Make the
    // first touch a write (a record that reads as Unused stays Unused), or
    // the allocating thread's first read maps the zero page and its first
    // write faults a second time.
    for slot in first_new..end_new {
        p.meta(slot).state.store(SlotState::Unused as u32, Relaxed);
    }
    n
}

/// Appends freed slots (pages already released and trapped, or poisoned) to
/// their pools' quarantine tails, in one critical section. `slots` is a
/// thread's free batch: at most `cache::FREE_BATCH` entries.
pub fn quarantine_slots(slots: &[(u32, u32)]) {
    with_heap(|h| {
        for &(pool, slot) in slots {
            let pool = pool as usize;
            let p = &arena().pools[pool];
            h.pools[pool].push_back(slot, |s| &p.meta(s).next);
            add_quarantined(pool, 1);
        }
    })
}

/// Gives slots back unused (a failed set-up, or a magazine at thread exit):
/// they join the quarantine head so they are handed out first. Their records
/// were touched when they were taken (the state was written).
pub fn return_slots(pool: usize, slots: &[u32]) {
    let p = &arena().pools[pool];
    with_heap(|h| {
        for &slot in slots {
            h.pools[pool].push_front(slot, |s| &p.meta(s).next);
        }
        add_quarantined(pool, slots.len() as u32);
    })
}

/// Counts `n` slots joining `pool`'s quarantine. Under the lock only.
fn add_quarantined(pool: usize, n: u32) {
    let c = &COUNTERS[pool];
    c.q_len.store(c.q_len.load(Relaxed) + n, Relaxed);
    let bytes = arena().pools[pool].slot_bytes as u64 * n as u64;
    Q_BYTES.store(Q_BYTES.load(Relaxed) + bytes, Relaxed);
}

/// Runs `f` holding the pool lock: only for the `lock_prefault` ablation,
/// which reproduces the seed's bug on purpose to measure it.
#[cfg(feature = "lock_prefault")]
pub fn under_lock(f: impl FnOnce()) {
    with_heap(|_| f())
}

pub fn set_quarantine_bounds(bounds: Bounds) {
    with_heap(|h| h.bounds = bounds)
}

/// One pool's figures for statistics and the leak check.
#[derive(Clone, Copy, Default)]
pub struct PoolState {
    pub bump: u32,
    pub q_len: u32,
    pub failed: u64,
    pub used: u64,
    pub used_bytes: u64,
    pub peak: u64,
    pub allocs: u64,
    pub frees: u64,
}

/// Every pool's figures and the quarantine's address space, read without
/// the lock (each figure is current; together they may be a moment apart).
/// Safe in a signal handler.
pub fn snapshot() -> ([PoolState; NPOOLS], u64) {
    let mut out = [PoolState::default(); NPOOLS];
    for (o, c) in out.iter_mut().zip(COUNTERS.iter()) {
        let (used, frees) = (c.used.load(Relaxed), c.frees.load(Relaxed));
        *o = PoolState {
            bump: c.bump.load(Relaxed),
            q_len: c.q_len.load(Relaxed),
            failed: c.failed.load(Relaxed),
            used,
            used_bytes: c.used_bytes.load(Relaxed),
            peak: c.peak.load(Relaxed).max(used),
            allocs: frees + used,
            frees,
        };
    }
    (out, Q_BYTES.load(Relaxed))
}

/// Where the state written under the lock lives, so init can prefault its pages.
pub fn lock_state_ranges() -> [(usize, usize); 3] {
    [
        (HEAP.as_mut_ptr() as usize, core::mem::size_of::<Heap>()),
        (COUNTERS.as_ptr() as usize, core::mem::size_of_val(&COUNTERS)),
        (&Q_BYTES as *const AtomicU64 as usize, core::mem::size_of::<AtomicU64>()),
    ]
}

/// Runs `f` under the pool lock (see heap/lock.rs: spin briefly, then sleep).
#[inline]
fn with_heap<R>(f: impl FnOnce(&mut Heap) -> R) -> R {
    if lock::held() == lock::HOLDS_FOR_FORK {
        // This thread took the lock for a fork, and another library's fork
        // handler allocates: the lock is ours already. Marked as held, so a
        // signal handler arriving now is reported, not let in.
        let _depth = Depth::mark(HOLDS_POOL);
        // SAFETY: fork_prepare took the lock on this thread; nobody else can.
        return f(unsafe { HEAP.data() });
    }
    if lock::held() != lock::HOLDS_NOTHING {
        // A signal handler interrupted this thread inside a critical section
        // and called into the allocator: waiting would deadlock.
        lock::reentered();
    }
    touch_stack();
    #[cfg(feature = "lockstat")]
    let wait_start = sys::now_ns();
    let (depth, slept_ns) = acquire();
    #[cfg(feature = "lockstat")]
    let section = lockstat::enter(wait_start, slept_ns);
    // SAFETY: acquire() took the lock; the reference ends before release.
    let r = f(unsafe { HEAP.data() });
    #[cfg(not(feature = "lockstat"))]
    let _ = slept_ns;
    #[cfg(feature = "lockstat")]
    lockstat::leave(section);
    let wake = HEAP.release();
    drop(depth);
    if wake {
        HEAP.wake();
    }
    r
}

/// Spin attempts before sleeping: each waits for the lock to look free
/// (a few hundred ns of `pause` at most), enough for a section in progress.
const SPINS: u32 = 100;

/// Takes the lock, marking this thread's depth before each attempt so a
/// signal handler can never find the lock held by its own thread unmarked
/// (it would wait forever). The mark is cleared while waiting; the caller
/// drops it only after releasing (and wakes a sleeper after that). A handler
/// arriving in those few instructions is reported rather than served.
/// Returns the mark and the nanoseconds spent asleep (lockstat builds; 0
/// otherwise).
fn acquire() -> (Depth, u64) {
    let mut slept = false;
    let mut slept_ns = 0u64;
    loop {
        for _ in 0..SPINS {
            let depth = Depth::mark(HOLDS_POOL);
            if HEAP.try_lock(slept) {
                return (depth, slept_ns);
            }
            drop(depth);
            let mut n = 0;
            while !HEAP.is_free() && n < 16 {
                core::hint::spin_loop();
                n += 1;
            }
        }
        let depth = Depth::mark(HOLDS_POOL);
        if HEAP.try_lock_or_mark() {
            return (depth, slept_ns);
        }
        drop(depth);
        // Woken by a release (or spuriously): spin again before sleeping, as
        // a thread arriving now would, but taking the lock marked contended.
        slept_ns += sleep_on_lock();
        slept = true;
    }
}

/// Sleeps until the lock is released; returns the time asleep in lockstat
/// builds (0 otherwise: no clock reads on the normal path).
fn sleep_on_lock() -> u64 {
    #[cfg(feature = "lockstat")]
    let t = sys::now_ns();
    HEAP.sleep(None);
    #[cfg(feature = "lockstat")]
    return sys::now_ns() - t;
    #[cfg(not(feature = "lockstat"))]
    0
}

/// Writes 2 KiB of stack before a critical section so that the section itself
/// never takes a stack page fault.
#[inline(never)]
fn touch_stack() {
    let mut buf = [0u8; 2048];
    // SAFETY: writing our own local array; volatile keeps the stores.
    unsafe { core::ptr::write_volatile(&mut buf, [0u8; 2048]) };
    core::hint::black_box(&buf);
}

/// fork: the pool lock is taken around the fork (see init.rs, fork_prepare)
/// without waiting, so no other thread holds it at the moment of the fork.
pub fn try_lock_for_fork() -> bool {
    HEAP.try_lock(false)
}

pub fn unlock_after_fork() {
    // try_lock_for_fork took the lock on this thread. In the parent, threads
    // that came meanwhile may sleep on it; in a child the wake finds nobody.
    if HEAP.release() {
        HEAP.wake();
    }
}

/// Counters for the `lockstat` build: per critical section, page faults taken
/// and hold time, plus the time spent waiting for the lock (spinning or asleep).
#[cfg(feature = "lockstat")]
pub mod lockstat {
    use super::*;

    pub static SECTIONS: AtomicU64 = AtomicU64::new(0);
    pub static FAULTS_UNDER_LOCK: AtomicU64 = AtomicU64::new(0);
    pub static MAX_HOLD_NS: AtomicU64 = AtomicU64::new(0);
    pub static HOLD_NS: AtomicU64 = AtomicU64::new(0);
    /// Waiting on a CPU (spinning), and asleep on the futex: together the
    /// whole wait for the lock.
    pub static SPIN_NS: AtomicU64 = AtomicU64::new(0);
    pub static SLEEP_NS: AtomicU64 = AtomicU64::new(0);
    pub static SLEEPS: AtomicU64 = AtomicU64::new(0);
    pub static MAX_WAIT_NS: AtomicU64 = AtomicU64::new(0);

    pub struct Section {
        start: u64,
        faults: u64,
    }

    pub fn enter(wait_start: u64, slept_ns: u64) -> Section {
        let start = sys::now_ns();
        let wait = start - wait_start;
        SPIN_NS.fetch_add(wait - slept_ns.min(wait), Relaxed);
        if slept_ns != 0 {
            SLEEP_NS.fetch_add(slept_ns, Relaxed);
            SLEEPS.fetch_add(1, Relaxed);
        }
        MAX_WAIT_NS.fetch_max(wait, Relaxed);
        Section { start: sys::now_ns(), faults: faults_now() }
    }

    pub fn leave(s: Section) {
        let faults = faults_now() - s.faults;
        let hold = sys::now_ns() - s.start;
        SECTIONS.fetch_add(1, Relaxed);
        FAULTS_UNDER_LOCK.fetch_add(faults, Relaxed);
        HOLD_NS.fetch_add(hold, Relaxed);
        MAX_HOLD_NS.fetch_max(hold, Relaxed);
    }

    /// The thread's minor faults (`lockstat_faults`): getrusage is a system
    /// call under the lock, the price of measuring, paid only in that build;
    /// it lengthens every hold about tenfold, so lock-wait figures come from
    /// the time-only `lockstat` build.
    #[cfg(feature = "lockstat_faults")]
    fn faults_now() -> u64 {
        sys::thread_minor_faults()
    }

    #[cfg(not(feature = "lockstat_faults"))]
    fn faults_now() -> u64 {
        0
    }
}
