//! Leak check at exit (`leaks=1`): live blocks that nothing points to.
//!
//! Conservative mark and sweep, with every other thread held still
//! (diag/world.rs): roots are the held threads' registers, the checking
//! thread's callee-saved registers, and every writable mapping of the
//! process (data segments, every thread's stack and TLS, the program's own
//! mmaps) except our heap and our own metadata; only resident pages are read
//! (mincore), so huge sparse reservations cost nothing. A thread's stack is
//! read from its stack pointer (less the 128-byte red zone) up: below lie
//! dead frames, whose stale pointers would hide leaks. A word that points
//! into a live block's bytes marks it; marked blocks are scanned in turn.
//! What stays unmarked is leaked: "direct" if no other leaked block points to
//! it, "indirect" otherwise. Leaks are grouped by allocation stack.
//!
//! Everything is decided while the world is stopped — marks, sweep, groups,
//! all in our own mappings — and printed after the release, because naming
//! frames takes the loader's lock, which a stopped thread may hold. With
//! every thread held, a block's state cannot change under the scan: a Live
//! block's pages are open, and it is read only while Live. If a thread could
//! not be stopped, nothing is trusted: every read goes through the kernel
//! (a block freed meanwhile ends the read instead of faulting), stacks are
//! read whole, and a notice says the result may be off.

use core::fmt::Write;
use core::sync::atomic::Ordering::*;

use super::world::{self, Held, World};
use super::{frames, report, suppress};
use crate::config::state;
use crate::heap::block::Block;
use crate::heap::depot::{self, MAX_FRAMES};
use crate::heap::pool;
use crate::heap::slot::{state_of, SlotMeta, SlotState, INDIRECT, MARKED};
use crate::out::{self, say};
use crate::sys::{self, elf, mem, proc, thread, PAGE};
use crate::util::fmt::{Bytes, Line};

/// Ranges the scan must not read as roots: our arena and metadata, the
/// stack depot, our own writable data (statics that hold addresses in
/// the arena), and the check's own mappings. Up to 12.
struct Skip {
    ranges: [(usize, usize); 12],
    n: usize,
}

impl Skip {
    fn ours() -> Skip {
        let mut s = Skip { ranges: [(0, 0); 12], n: 0 };
        let a = pool::arena();
        s.add(a.base, a.end);
        s.add(a.meta_base, a.meta_end);
        let (d0, d1) = depot::depot_range();
        s.add(d0, d1);
        elf::own_segments(|start, end, flags| {
            if flags & elf::PF_W != 0 {
                s.add(start, end);
            }
        });
        s
    }

    fn add(&mut self, start: usize, end: usize) {
        if self.n < self.ranges.len() && end > start {
            self.ranges[self.n] = (start, end);
            self.n += 1;
        }
    }

    fn overlaps(&self, start: usize, end: usize) -> bool {
        self.ranges[..self.n].iter().any(|&(s, e)| start < e && end > s)
    }
}

/// A growable stack of (pool, slot) in its own mapping.
struct Work {
    base: usize,
    cap: usize,
    len: usize,
}

impl Work {
    fn push(&mut self, pool: usize, slot: u32) {
        if self.len == self.cap {
            return; // out of room: the block stays marked, just not scanned
        }
        // SAFETY: len < cap entries of the mapping.
        unsafe { *(self.base as *mut u64).add(self.len) = (pool as u64) << 32 | slot as u64 };
        self.len += 1;
    }

    fn pop(&mut self) -> Option<(usize, u32)> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: the entry was written by push.
        let v = unsafe { *(self.base as *const u64).add(self.len) };
        Some(((v >> 32) as usize, v as u32))
    }
}

/// How the scan reads memory: directly while every other thread is held;
/// through the kernel when one may still free blocks or unmap memory.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    Direct,
    Copied,
}

/// Marks the live block `v` points into, if any. `flag` is MARKED
/// (reachable) or INDIRECT (pointed to by a leaked block).
fn mark(v: usize, flag: u32, work: &mut Work) {
    if let Some(b) = Block::live_containing(v) {
        if !b.meta.test_and_set(flag) && flag == MARKED {
            work.push(b.pool, b.slot);
        }
    }
}

/// Marks every live block that a word of `[start, end)` points into.
fn scan(start: usize, end: usize, flag: u32, work: &mut Work, how: Read) {
    let mut a = start.next_multiple_of(8);
    if how == Read::Copied {
        let mut buf = [0u8; PAGE];
        while a + 8 <= end {
            // Up to the end of a's page: a page that cannot be read ends only itself.
            let len = ((a | (PAGE - 1)) + 1).min(end) - a;
            match mem::read_own(a, &mut buf[..len & !7]) {
                Some(n) => {
                    for w in buf[..n & !7].chunks_exact(8) {
                        mark(usize::from_ne_bytes(w.try_into().unwrap_or([0; 8])), flag, work);
                    }
                }
                None => scan(a, a + len, flag, work, Read::Direct), // the kernel refuses the copy
            }
            a += len;
        }
        return;
    }
    while a + 8 <= end {
        // SAFETY: callers pass readable ranges (resident pages of a mapping,
        // or a live block while no other thread runs).
        let v = unsafe { (a as *const usize).read_volatile() };
        a += 8;
        mark(v, flag, work);
    }
}

fn scan_block(pool: usize, slot: u32, flag: u32, work: &mut Work, how: Read) {
    let (size, pl) = pool::arena().pools[pool].recorded_block(slot);
    scan(pl.user, pl.user + size, flag, work, how);
}

/// Scans the resident pages of `[start, end)`.
fn scan_resident(start: usize, end: usize, work: &mut Work, how: Read) {
    const CHUNK: usize = 256 * PAGE;
    let mut vec = [0u8; 256];
    let mut a = start & !(PAGE - 1);
    while a < end {
        let len = CHUNK.min(end - a);
        let pages = len.div_ceil(PAGE);
        let ok = mem::resident(a, &mut vec[..pages]);
        for (i, &v) in vec[..pages].iter().enumerate() {
            if !ok || v & 1 != 0 {
                let p = a + i * PAGE;
                scan(p.max(start), (p + PAGE).min(end), MARKED, work, how);
                drain(work, how);
            }
        }
        a += len;
    }
}

fn drain(work: &mut Work, how: Read) {
    while let Some((pool, slot)) = work.pop() {
        scan_block(pool, slot, MARKED, work, how);
    }
}

/// Where the scan of a writable mapping `[start, end)` begins. A stack is
/// read from the lowest stack pointer in it less the red zone: the checking
/// thread's own (`own_sp`), and a held thread's when the mapping is that
/// thread's stack — it holds the thread's pointer too (glibc puts the
/// thread's descriptor at the top of its stack), or it is the main
/// thread's [stack]. Other mappings, and every mapping when the world could
/// not be stopped (`trusted` false: a missed thread's stack pointer is
/// unknown), are read whole.
fn scan_start(
    start: usize,
    end: usize,
    main_stack: bool,
    own_sp: usize,
    held: &[(usize, usize)],
    trusted: bool,
) -> usize {
    const RED_ZONE: usize = 128;
    let inside = |a: usize| a >= start && a < end;
    let mut low = if inside(own_sp) { own_sp } else { usize::MAX };
    if trusted {
        for &(sp, tp) in held {
            if inside(sp) && (inside(tp) || main_stack) {
                low = low.min(sp.saturating_sub(RED_ZONE));
            }
        }
    }
    if low == usize::MAX {
        start
    } else {
        (low & !7).max(start)
    }
}

/// Group of leaked blocks with one allocation stack.
#[derive(Clone, Copy)]
struct Group {
    stack: u32,
    indirect: bool,
    count: u64,
    bytes: u64,
}

const GROUPS: usize = 4096;

/// What the sweep found, in our own mapping of GROUPS entries.
struct Found {
    groups: usize,
    bytes: u64,
    count: u64,
}

/// Held threads' stack and thread pointers for `scan_start`, in a mapping.
const HELD_MAX: usize = world::MAX_THREADS;

/// Runs the check with every other thread held still, and prints the report
/// after letting them go. Returns true if leaks were found.
pub fn check() -> bool {
    let world = world::stop();
    let found = mark_and_sweep(&world);
    let outcome = world.release();
    if outcome.missed > 0 {
        let mut tids: Line<64> = Line::new();
        for (i, t) in outcome.missed_tids.iter().filter(|&&t| t != 0).enumerate() {
            let _ = write!(tids, "{}{}", if i == 0 { " (tid " } else { ", " }, t);
        }
        if !tids.as_bytes().is_empty() {
            tids.push_bytes(if outcome.missed > 4 { b", ...)" } else { b")" });
        }
        out::line(format_args!(
            "libpooldbg: NOTICE: leak check: {} of {} other thread(s) could not be stopped{}; their stacks were read whole, their registers not at all, and what they did meanwhile may show as leaks or hide them",
            outcome.missed,
            outcome.missed + outcome.stopped,
            Bytes(tids.as_bytes())
        ));
    }
    let Some(mut found) = found else { return false };
    // SAFETY: the zeroed-then-filled mapping of GROUPS entries made by mark_and_sweep.
    let groups = unsafe { core::slice::from_raw_parts_mut(found.groups as *mut Group, GROUPS) };
    // Suppressed groups (suppressions=FILE, `leak:` entries, matched against
    // the allocation stack) are counted there and left out.
    if suppress::active() {
        for g in groups.iter_mut().filter(|g| g.count > 0) {
            let mut f = [0usize; MAX_FRAMES];
            let n = depot::frames_of(depot::printable(g.stack), &mut f);
            if let Some(k) = suppress::matching("leak", &f[..n]) {
                suppress::count_leak(k, g.bytes);
                found.count -= g.count;
                found.bytes -= g.bytes;
                g.count = 0;
            }
        }
    }
    if found.count > 0 {
        report::begin_raw(format_args!("detected memory leaks"));
        // Largest groups first: repeatedly pick the biggest not yet printed.
        for _ in 0..GROUPS {
            let Some(g) = groups.iter_mut().filter(|g| g.count > 0).max_by_key(|g| (!g.indirect, g.bytes)) else {
                break;
            };
            say!(
                "  {} leak of {} byte(s) in {} object(s) allocated from:",
                if g.indirect { "Indirect" } else { "Direct" },
                g.bytes,
                g.count
            );
            frames::print_id(g.stack);
            if state::options().print_suppressions {
                let mut f = [0usize; MAX_FRAMES];
                let n = depot::frames_of(depot::printable(g.stack), &mut f);
                if let Some((name, _)) = elf::lookup(frames::first_own(&f[..n])).and_then(|s| s.name) {
                    say!("  suppression for this group: leak:{}", Bytes(name));
                }
            }
            g.count = 0;
        }
        say!("SUMMARY: libpooldbg: {} byte(s) leaked in {} allocation(s).", found.bytes, found.count);
    }
    mem::unmap(found.groups, GROUPS * core::mem::size_of::<Group>());
    found.count > 0
}

/// The check proper, while `world` holds the other threads: marks what the
/// roots reach, groups the rest by allocation stack, clears the marks. No
/// printing, no allocation, no lock. None if our mappings could not be made.
fn mark_and_sweep(world: &World) -> Option<Found> {
    // This thread's callee-saved registers: its callers' values (a caller
    // of exit() may keep its only pointer to a block there).
    let own_regs = thread::callee_saved_registers();
    let trusted = world.complete();
    let how = if trusted { Read::Direct } else { Read::Copied };
    let (states, _) = pool::snapshot();
    let live: usize = states.iter().map(|s| s.used as usize).sum();
    let cap = live + 1024;
    let base = mem::map_rw(cap * 8)?;
    let mut work = Work { base, cap, len: 0 };
    let held_bytes = HELD_MAX * 16;
    let Some(held_base) = mem::map_rw(held_bytes) else {
        mem::unmap(base, cap * 8);
        return None;
    };
    let Some(gbase) = mem::map_rw(GROUPS * core::mem::size_of::<Group>()) else {
        mem::unmap(base, cap * 8);
        mem::unmap(held_base, held_bytes);
        return None;
    };
    // SAFETY: a fresh zeroed mapping of HELD_MAX pairs.
    let held = unsafe { core::slice::from_raw_parts_mut(held_base as *mut (usize, usize), HELD_MAX) };
    let mut nheld = 0;

    // Roots: registers first.
    for &v in &own_regs {
        mark(v, MARKED, &mut work);
    }
    world.for_each_held(|h: &Held| {
        for &v in &h.regs {
            mark(v, MARKED, &mut work);
        }
        if nheld < HELD_MAX {
            held[nheld] = (h.sp, h.tp);
            nheld += 1;
        }
    });
    drain(&mut work, how);

    // Then memory. Our own stack below the current frame is dead: skip it.
    let own_sp = &work as *const Work as usize;
    let mut skip = Skip::ours();
    skip.add(base, base + cap * 8);
    skip.add(held_base, held_base + held_bytes);
    skip.add(gbase, gbase + GROUPS * core::mem::size_of::<Group>());
    for (start, end) in world::own_ranges() {
        skip.add(start, end);
    }
    proc::for_each_mapping(|m| {
        if !m.writable || m.special || skip.overlaps(m.start, m.end) {
            return;
        }
        let s = scan_start(m.start, m.end, m.main_stack, own_sp, &held[..nheld], trusted);
        scan_resident(s, m.end, &mut work, how);
    });
    mem::unmap(held_base, held_bytes);

    // Leaked blocks that leaked blocks point to are indirect leaks.
    for_each_live(|pool, slot, meta| {
        if meta.state.load(Relaxed) & MARKED == 0 {
            scan_block(pool, slot, INDIRECT, &mut work, how);
        }
    });

    // SAFETY: a fresh zeroed mapping of GROUPS entries.
    let groups = unsafe { core::slice::from_raw_parts_mut(gbase as *mut Group, GROUPS) };
    let (mut total_bytes, mut total_count) = (0u64, 0u64);
    for_each_live(|_, _, meta| {
        let w = meta.state.load(Relaxed);
        if w & MARKED != 0 {
            return;
        }
        let stack = depot::printable(meta.alloc_stack.load(Relaxed));
        let indirect = w & INDIRECT != 0;
        let size = meta.size() as u64;
        total_bytes += size;
        total_count += 1;
        let mut h = (stack as usize).wrapping_mul(2654435761) % GROUPS;
        for _ in 0..GROUPS {
            let g = &mut groups[h];
            if g.count == 0 {
                *g = Group { stack, indirect, count: 0, bytes: 0 };
            }
            if g.stack == stack && g.indirect == indirect {
                g.count += 1;
                g.bytes += size;
                return;
            }
            h = (h + 1) % GROUPS;
        }
    });

    // Clear the marks, so a later check (or none) sees clean state.
    for_each_live(|_, _, meta| {
        meta.state.fetch_and(!(MARKED | INDIRECT), Relaxed);
    });
    mem::unmap(base, cap * 8);
    Some(Found { groups: gbase, bytes: total_bytes, count: total_count })
}

fn for_each_live(mut f: impl FnMut(usize, u32, &'static SlotMeta)) {
    let a = pool::arena();
    let (states, _) = pool::snapshot();
    for (i, p) in a.pools.iter().enumerate() {
        for slot in 0..states[i].bump {
            let meta = p.meta(slot);
            if state_of(meta.state.load(Relaxed)) == SlotState::Live {
                f(i, slot, meta);
            }
        }
    }
}

/// The process that ran the check at exit (once per process).
static CHECKED_BY: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(0);

/// At exit with `leaks=1`: check, and exit with `exitcode` if anything leaked
/// (unless on_error=continue). Once per process that exits normally: two
/// threads calling exit() at once check once; a fork child checks its own
/// heap. A vfork child that calls exit() instead of _exit() shares its
/// parent's heap (and its parent's other threads run on): it does not check.
/// (glibc's _dl_fini in such a child also marks every destructor as run for
/// the parent, ours included: that parent checks nothing at its exit.)
pub fn at_exit() {
    if !state::ready() || !state::options().leaks {
        return;
    }
    let me = sys::getpid();
    if CHECKED_BY.swap(me, AcqRel) == me || sys::process::shares_memory_with_parent() {
        return;
    }
    let found = check();
    suppress::print_summary();
    if found {
        report::finish_leaks();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_is_read_from_its_stack_pointer() {
        let (start, end) = (0x10000, 0x20000);
        // A held thread whose descriptor (tp) is in the mapping: from sp - 128.
        assert_eq!(scan_start(start, end, false, 0, &[(0x18008, 0x1f000)], true), 0x18008 - 128);
        // Its tp elsewhere: not its stack (a coroutine, an alternate stack): whole.
        assert_eq!(scan_start(start, end, false, 0, &[(0x18008, 0x90000)], true), start);
        // The main thread's [stack] holds no thread pointer.
        assert_eq!(scan_start(start, end, true, 0, &[(0x18008, 0x90000)], true), 0x18008 - 128);
        // Two threads in one mapping (stacks without guard pages merge): the lower.
        let two = [(0x1c000, 0x1f000), (0x14000, 0x16000)];
        assert_eq!(scan_start(start, end, false, 0, &two, true), 0x14000 - 128);
        // Our own stack pointer, exactly (our frames below it are dead).
        assert_eq!(scan_start(start, end, false, 0x1a000, &[], true), 0x1a000);
        assert_eq!(scan_start(start, end, false, 0x1a000, &[(0x14000, 0x1f000)], true), 0x14000 - 128);
        // Near the bottom, the red zone stops at the mapping's start; unaligned sp rounds down.
        assert_eq!(scan_start(start, end, false, 0, &[(0x10010, 0x1f000)], true), start);
        assert_eq!(scan_start(start, end, false, 0, &[(0x18085, 0x1f000)], true), 0x18000);
        // Not trusted (a thread could not be stopped): whole, but for our own frames.
        assert_eq!(scan_start(start, end, false, 0, &[(0x18008, 0x1f000)], false), start);
        assert_eq!(scan_start(start, end, false, 0x1a000, &[(0x18008, 0x1f000)], false), 0x1a000);
        // Nothing in the mapping: whole.
        assert_eq!(scan_start(start, end, false, 0x30000, &[(0x38008, 0x3f000)], true), start);
    }
}
