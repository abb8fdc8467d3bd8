//! Leak check at exit (`leaks=1`): live blocks that nothing points to.
//!
//! Conservative mark and sweep. Roots are every writable mapping of the
//! process (data segments, every thread's stack and TLS, the program's own
//! mmaps) except our heap and our own metadata; only resident pages are read
//! (mincore), so huge sparse reservations cost nothing. A word that points
//! into a live block's bytes marks it; marked blocks are scanned in turn.
//! What stays unmarked is leaked: "direct" if no other leaked block points to
//! it, "indirect" otherwise. Leaks are grouped by allocation stack.

use core::sync::atomic::Ordering::*;

use super::{frames, report};
use crate::config::state;
use crate::heap::block::Block;
use crate::heap::slot::{state_of, SlotMeta, SlotState, INDIRECT, MARKED};
use crate::heap::{depot, pool};
use crate::out::say;
use crate::sys::{elf, mem, proc, PAGE};

/// Ranges the scan must not read as roots: our arena and metadata, the
/// stack depot, and our own writable data (statics that hold addresses in
/// the arena). Up to 8.
struct Skip {
    ranges: [(usize, usize); 8],
    n: usize,
}

impl Skip {
    fn ours() -> Skip {
        let mut s = Skip { ranges: [(0, 0); 8], n: 0 };
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

/// Marks every live block that a word of `[start, end)` points into.
/// `flag` is MARKED (reachable) or INDIRECT (pointed to by a leaked block).
fn scan(start: usize, end: usize, flag: u32, work: &mut Work) {
    let mut a = start.next_multiple_of(8);
    while a + 8 <= end {
        // SAFETY: callers pass readable ranges (resident pages of a mapping, or a live block).
        let v = unsafe { (a as *const usize).read_volatile() };
        a += 8;
        if let Some(b) = Block::live_containing(v) {
            if !b.meta.test_and_set(flag) && flag == MARKED {
                work.push(b.pool, b.slot);
            }
        }
    }
}

fn scan_block(pool: usize, slot: u32, flag: u32, work: &mut Work) {
    let (size, pl) = pool::arena().pools[pool].recorded_block(slot);
    scan(pl.user, pl.user + size, flag, work);
}

/// Scans the resident pages of `[start, end)`.
fn scan_resident(start: usize, end: usize, work: &mut Work) {
    const CHUNK: usize = 256 * PAGE;
    let mut vec = [0u8; 256];
    let mut a = start;
    while a < end {
        let len = CHUNK.min(end - a);
        let pages = len / PAGE;
        let ok = mem::resident(a, &mut vec[..pages]);
        for (i, &v) in vec[..pages].iter().enumerate() {
            if !ok || v & 1 != 0 {
                let p = a + i * PAGE;
                scan(p, p + PAGE, MARKED, work);
                drain(work);
            }
        }
        a += len;
    }
}

fn drain(work: &mut Work) {
    while let Some((pool, slot)) = work.pop() {
        scan_block(pool, slot, MARKED, work);
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

/// Runs the check and prints the report. Returns true if leaks were found.
pub fn check() -> bool {
    let (states, _) = pool::snapshot();
    let live: usize = states.iter().map(|s| s.used as usize).sum();
    let cap = live + 1024;
    let Some(base) = mem::map_rw(cap * 8) else { return false };
    let mut work = Work { base, cap, len: 0 };

    // Roots. Our own stack below the current frame is dead: skip it.
    let sp = &work as *const Work as usize;
    let skip = Skip::ours();
    proc::for_each_mapping(|m| {
        if !m.writable || m.special || skip.overlaps(m.start, m.end) {
            return;
        }
        let s = if sp >= m.start && sp < m.end { sp } else { m.start };
        scan_resident(s, m.end, &mut work);
    });

    // Leaked blocks that leaked blocks point to are indirect leaks.
    for_each_live(|pool, slot, meta| {
        if meta.state.load(Relaxed) & MARKED == 0 {
            scan_block(pool, slot, INDIRECT, &mut work);
        }
    });

    let Some(gbase) = mem::map_rw(GROUPS * core::mem::size_of::<Group>()) else { return false };
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

    if total_count > 0 {
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
            g.count = 0;
        }
        say!("SUMMARY: libpooldbg: {} byte(s) leaked in {} allocation(s).", total_bytes, total_count);
    }
    mem::unmap(gbase, GROUPS * core::mem::size_of::<Group>());
    total_count > 0
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

/// At exit with `leaks=1`: check, and exit with `exitcode` if anything leaked
/// (unless on_error=continue).
pub fn at_exit() {
    if !state::ready() || !state::options().leaks {
        return;
    }
    if check() {
        report::finish_leaks();
    }
}
