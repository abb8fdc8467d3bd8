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

use crate::pool::{self, arena, state_of, SlotMeta, SlotState, Where};
use crate::report::say;
use crate::stack;
use crate::sys::{self, PAGE};
use crate::init;

const MARKED: u32 = 1 << 16;
const INDIRECT: u32 = 1 << 17;

/// Ranges the scan must skip: our metadata, depot, own data. Registered at init.
static SKIP: crate::global::Global<[(usize, usize); 4]> = crate::global::Global::new([(0, 0); 4]);

/// # Safety
/// Init only.
pub unsafe fn skip_range(start: usize, end: usize) {
    for r in SKIP.init_mut().iter_mut() {
        if r.1 == 0 {
            *r = (start, end);
            return;
        }
    }
}

fn skipped(start: usize, end: usize) -> bool {
    let a = arena();
    if start < a.end && end > a.base {
        return true;
    }
    SKIP.get().iter().any(|&(s, e)| e != 0 && start < e && end > s)
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

/// The live block whose bytes contain `addr`, if any.
fn live_block(addr: usize) -> Option<(usize, u32, &'static SlotMeta)> {
    let Where::Slot { pool, slot } = pool::locate(addr) else { return None };
    let p = &arena().pools[pool];
    let meta = p.meta(slot);
    let word = meta.state.load(Relaxed);
    if state_of(word) != SlotState::Live {
        return None;
    }
    let (size, pl) = crate::heap::recorded_block(p, slot);
    let user = pl.user;
    (addr >= user && addr < user + size.max(1)).then_some((pool, slot, meta))
}

/// Marks every live block that a word of `[start, end)` points into.
/// `flag` is MARKED (reachable) or INDIRECT (pointed to by a leaked block).
fn scan(start: usize, end: usize, flag: u32, work: &mut Work) {
    let mut a = start.next_multiple_of(8);
    while a + 8 <= end {
        // SAFETY: callers pass readable ranges (resident pages of a mapping, or a live block).
        let v = unsafe { (a as *const usize).read_volatile() };
        a += 8;
        if let Some((pool, slot, meta)) = live_block(v) {
            if meta.state.fetch_or(flag, Relaxed) & flag == 0 && flag == MARKED {
                work.push(pool, slot);
            }
        }
    }
}

fn scan_block(pool: usize, slot: u32, flag: u32, work: &mut Work) {
    let (size, pl) = crate::heap::recorded_block(&arena().pools[pool], slot);
    scan(pl.user, pl.user + size, flag, work);
}

/// Scans the resident pages of `[start, end)`.
fn scan_resident(start: usize, end: usize, work: &mut Work) {
    const CHUNK: usize = 256 * PAGE;
    let mut vec = [0u8; 256];
    let mut a = start;
    while a < end {
        let len = CHUNK.min(end - a);
        // SAFETY: mincore only reports on our address space.
        let ok = unsafe { libc::mincore(a as *mut _, len, vec.as_mut_ptr()) } == 0;
        for i in 0..len / PAGE {
            if !ok || vec[i] & 1 != 0 {
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

/// One line of /proc/self/maps: (start, end, writable, is_special) where
/// special mappings ([vvar], [vsyscall], ...) are not to be read.
pub fn parse_maps_line(line: &[u8]) -> Option<(usize, usize, bool, bool)> {
    let dash = line.iter().position(|&c| c == b'-')?;
    let sp = line.iter().position(|&c| c == b' ')?;
    let hex = |s: &[u8]| -> Option<usize> {
        let mut v: usize = 0;
        for &c in s {
            v = v.checked_mul(16)?.checked_add((c as char).to_digit(16)? as usize)?;
        }
        Some(v)
    };
    let start = hex(&line[..dash])?;
    let end = hex(&line[dash + 1..sp])?;
    let perms = line.get(sp + 1..sp + 5)?;
    let readable = perms[0] == b'r';
    let writable = perms[1] == b'w';
    let special = line.ends_with(b"[vvar]") || line.ends_with(b"[vsyscall]") || line.ends_with(b"[vdso]");
    Some((start, end, writable && readable, special))
}

/// Calls `f` for each writable, readable, non-special mapping.
fn for_each_writable_mapping(mut f: impl FnMut(usize, usize)) {
    let fd = sys::open_read(c"/proc/self/maps");
    if fd < 0 {
        return;
    }
    let mut buf = [0u8; 4096];
    let mut have = 0;
    loop {
        let n = sys::read(fd, &mut buf[have..]);
        if n <= 0 {
            break;
        }
        have += n as usize;
        let mut consumed = 0;
        while let Some(nl) = buf[consumed..have].iter().position(|&c| c == b'\n') {
            if let Some((s, e, w, special)) = parse_maps_line(&buf[consumed..consumed + nl]) {
                if w && !special {
                    f(s, e);
                }
            }
            consumed += nl + 1;
        }
        buf.copy_within(consumed..have, 0);
        have -= consumed;
        if have == buf.len() {
            have = 0; // a line longer than the buffer: drop it
        }
    }
    sys::close(fd);
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
    let Some(base) = sys::map_rw(cap * 8) else { return false };
    let mut work = Work { base, cap, len: 0 };

    // Roots. Our own stack below the current frame is dead: skip it.
    let sp = &work as *const Work as usize;
    for_each_writable_mapping(|s, e| {
        if skipped(s, e) {
            return;
        }
        let s = if sp >= s && sp < e { sp } else { s };
        scan_resident(s, e, &mut work);
    });

    // Leaked blocks that leaked blocks point to are indirect leaks.
    for_each_live(|pool, slot, meta| {
        if meta.state.load(Relaxed) & MARKED == 0 {
            scan_block(pool, slot, INDIRECT, &mut work);
        }
    });

    let Some(gbase) = sys::map_rw(GROUPS * core::mem::size_of::<Group>()) else { return false };
    // SAFETY: a fresh zeroed mapping of GROUPS entries.
    let groups = unsafe { core::slice::from_raw_parts_mut(gbase as *mut Group, GROUPS) };
    let (mut total_bytes, mut total_count) = (0u64, 0u64);
    for_each_live(|_, _, meta| {
        let w = meta.state.load(Relaxed);
        if w & MARKED != 0 {
            return;
        }
        let stack = meta.alloc_stack.load(Relaxed);
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
    sys::unmap(base, cap * 8);

    if total_count > 0 {
        crate::report::begin_raw(format_args!("detected memory leaks"));
        // Largest groups first: repeatedly pick the biggest not yet printed.
        for _ in 0..GROUPS {
            let Some(g) = groups.iter_mut().filter(|g| g.count > 0).max_by_key(|g| (!g.indirect, g.bytes)) else { break };
            say!(
                "  {} leak of {} byte(s) in {} object(s) allocated from:",
                if g.indirect { "Indirect" } else { "Direct" }, g.bytes, g.count
            );
            stack::print_id(g.stack);
            g.count = 0;
        }
        say!("SUMMARY: libpooldbg: {} byte(s) leaked in {} allocation(s).", total_bytes, total_count);
    }
    sys::unmap(gbase, GROUPS * core::mem::size_of::<Group>());
    total_count > 0
}

fn for_each_live(mut f: impl FnMut(usize, u32, &'static SlotMeta)) {
    let a = arena();
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
    if !init::ready() || !init::options().leaks {
        return;
    }
    if check() {
        crate::report::finish_leaks();
    }
}

#[cfg(test)]
mod tests {
    use super::parse_maps_line;

    #[test]
    fn maps_lines() {
        assert_eq!(
            parse_maps_line(b"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 "),
            Some((0x7f0000000000, 0x7f0000021000, true, false))
        );
        assert_eq!(
            parse_maps_line(b"55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 123 /usr/bin/x"),
            Some((0x55d0c0a00000, 0x55d0c0a01000, false, false))
        );
        assert_eq!(parse_maps_line(b"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]").unwrap().3, true);
        assert_eq!(parse_maps_line(b"garbage"), None);
        assert_eq!(parse_maps_line(b""), None);
    }
}
