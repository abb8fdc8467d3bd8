//! Fast stack capture: a DWARF CFI stack walker with a per-pc cache of the
//! unwind rule, for the allocator's hot path (libgcc re-derives every frame's
//! rule on every call: FDE search, CIE parse, CFA program).
//!
//! The rule for a pc is "CFA = rsp|rbp + off; return address at CFA+k; the
//! caller's rbp unchanged or at CFA+k", computed once from `.eh_frame` (found
//! through glibc's lock-free `_dl_find_object`) and kept in an insert-only,
//! lock-free table in .bss. A repeated call site then costs one
//! `_dl_find_object` (~6 ns, which also validates the entry) and one probe
//! per frame.
//!
//! Invariants:
//! - Never a wrong stack. Anything outside that rule shape (CFA expressions,
//!   signal frames, rbp/ra in other registers, unknown opcodes or pointer
//!   encodings, 64-bit DWARF) makes `capture` return None and the caller uses
//!   libgcc for the whole capture. A pc with no FDE, or whose FDE marks the
//!   return address undefined, ends the stack there, as in libgcc; a stack
//!   walk that looks wrong (CFA not strictly increasing, misaligned, more
//!   than STACK_SPAN above the start) ends it early: truncated, not wrong.
//! - Never reads unmapped memory. CFI is read only inside the PT_LOAD
//!   segments (taken from the object's own program headers) of the object
//!   `_dl_find_object` names, every parse bounded by its segment; the stack
//!   is read only at the words the CFI names (those libgcc reads), between
//!   the starting rsp and STACK_SPAN above it.
//! - No allocation, no locks, no panics: re-entrant from signal handlers.
//!   (Before glibc 2.35 there is no `_dl_find_object`: `elf::find_object`
//!   falls back to `dl_iterate_phdr`, which takes the loader's lock, as
//!   libgcc's own unwinder does there.)
//! - A cache entry is keyed by the pc plus a tag of the object's mapping
//!   (start, end, .eh_frame_hdr), so a library unloaded and replaced by
//!   another at the same address does not reuse its predecessor's rules.
//!
//! x86-64 only (DWARF registers 6 = rbp, 7 = rsp, 16 = return address).

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering::*};

use crate::sys::elf::{self, Object, PF_R, PT_GNU_EH_FRAME, PT_LOAD, PT_PHDR};
use crate::sys::PAGE;

/// How far above the starting rsp a frame may lie.
const STACK_SPAN: usize = 64 << 20;
/// Frames skipped (ours) before giving up and letting libgcc decide.
const MAX_SKIPPED: usize = 64;
/// Depth of DW_CFA_remember_state.
const STATE_STACK: usize = 8;

const REG_RBP: u64 = 6;
const REG_RSP: u64 = 7;
const REG_RA: u64 = 16;

// ---- counters (rare events only: no shared cache line on the hot path) ----

static FALLBACKS: AtomicU64 = AtomicU64::new(0);
static MISSES: AtomicU64 = AtomicU64::new(0);
static TRUNCATIONS: AtomicU64 = AtomicU64::new(0);

/// (captures handed back to libgcc, rules computed, walks cut short by a
/// sanity check) since start; shown by the statistics.
pub fn counters() -> (u64, u64, u64) {
    (FALLBACKS.load(Relaxed), MISSES.load(Relaxed), TRUNCATIONS.load(Relaxed))
}

// ---- the walk ----

/// Fills `frames` with the calling thread's return addresses, innermost
/// first, starting at the caller of `capture` and dropping the leading
/// frames for which `skip` is true. Returns the count, or None when a frame
/// needs an unwind rule this walker does not handle: the caller must then
/// capture with libgcc instead.
#[inline(never)]
pub fn capture(frames: &mut [usize], skip: impl Fn(usize) -> bool) -> Option<usize> {
    let (pc, sp, fp): (usize, usize, usize);
    // SAFETY: reads three registers, touches no memory. `pc` is an address
    // inside this asm block, where the CFA rule of this function is in force
    // and rsp/rbp are the values it describes.
    unsafe {
        asm!(
            "lea {pc}, [rip]",
            "mov {sp}, rsp",
            "mov {fp}, rbp",
            pc = out(reg) pc,
            sp = out(reg) sp,
            fp = out(reg) fp,
            options(nomem, nostack, preserves_flags)
        );
    }
    let r = walk(frames, &skip, pc, sp, fp);
    if r.is_none() {
        FALLBACKS.fetch_add(1, Relaxed);
    }
    r
}

/// The return addresses above an interrupted context — the pc, rsp and rbp
/// of a signal handler's ucontext — innermost first: the callers of the
/// interrupted function, none of the handler's frames. None as `capture`.
/// Called from that handler, so the interrupted frames are live.
pub fn capture_from(frames: &mut [usize], pc: usize, sp: usize, fp: usize) -> Option<usize> {
    let r = walk(frames, &|_| false, pc, sp, fp);
    if r.is_none() {
        FALLBACKS.fetch_add(1, Relaxed);
    }
    r
}

/// Inlined so that the registers read in `capture` describe a frame that is
/// still live (no tail call can replace it).
#[inline(always)]
fn walk(frames: &mut [usize], skip: &impl Fn(usize) -> bool, pc: usize, sp: usize, fp: usize) -> Option<usize> {
    if frames.is_empty() {
        return Some(0);
    }
    let low = sp;
    let high = sp.saturating_add(STACK_SPAN);
    // The value of rbp in the frame being unwound; None once a frame left it
    // undefined or in a register we do not track.
    let mut fp = Some(fp);
    let mut sp = sp;
    // The address whose rule applies: the pc itself in the first frame, the
    // call instruction (return address - 1) in the others, as libgcc does.
    let mut at = pc;
    let mut n = 0;
    let mut skipped = 0;
    let mut skipping = true;
    loop {
        let (cfa_rbp, cfa_off, ra_off, rbp) = match rule_for(at) {
            Rule::Frame { cfa_rbp, cfa_off, ra_off, rbp } => (cfa_rbp, cfa_off, ra_off, rbp),
            // libgcc stops here too, after reporting this frame's pc (done below).
            Rule::NoFde | Rule::Outermost if n > 0 => return Some(n),
            _ => return None,
        };
        let base = if cfa_rbp { fp? } else { sp };
        let Some(cfa) = base.checked_add_signed(cfa_off as isize) else { return truncated(n) };
        // The caller's rsp is the CFA: it must move strictly up the stack.
        if cfa <= sp || cfa > high || cfa % 8 != 0 {
            return truncated(n);
        }
        let Some(ra) = read_stack(cfa, ra_off, low, high) else { return truncated(n) };
        fp = match rbp {
            SavedRbp::Unchanged => fp,
            SavedRbp::At(k) => match read_stack(cfa, k, low, high) {
                Some(v) => Some(v),
                None => return truncated(n),
            },
            SavedRbp::Lost => None,
        };
        sp = cfa;
        if ra == 0 {
            return if n > 0 { Some(n) } else { None };
        }
        if skipping && skip(ra) {
            skipped += 1;
            if skipped > MAX_SKIPPED {
                return None;
            }
        } else {
            skipping = false;
            *frames.get_mut(n)? = ra;
            n += 1;
            if n >= frames.len() {
                return Some(n);
            }
        }
        at = ra - 1;
    }
}

fn truncated(n: usize) -> Option<usize> {
    TRUNCATIONS.fetch_add(1, Relaxed);
    if n > 0 {
        Some(n)
    } else {
        None
    }
}

/// The word at `cfa + off`, if it lies 8-aligned in [low, high).
fn read_stack(cfa: usize, off: i32, low: usize, high: usize) -> Option<usize> {
    let a = cfa.checked_add_signed(off as isize)?;
    if a < low || a.checked_add(8)? > high || a % 8 != 0 {
        return None;
    }
    // SAFETY: the CFI of the frames walked so far places this word in the
    // calling thread's live stack, between its current rsp and the CFA of
    // an enclosing frame (the same word libgcc would read).
    Some(unsafe { core::ptr::read_volatile(a as *const usize) })
}

// ---- rules and their cache ----

/// How to step from a frame at pc to its caller.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Rule {
    /// CFA = (rbp if cfa_rbp else rsp) + cfa_off; the return address is at
    /// CFA + ra_off; the caller's rsp is the CFA.
    Frame { cfa_rbp: bool, cfa_off: i32, ra_off: i32, rbp: SavedRbp },
    /// The FDE marks the return address undefined: the outermost frame.
    Outermost,
    /// No FDE covers the pc.
    NoFde,
    /// Needs something this walker does not do.
    Fallback,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SavedRbp {
    Unchanged,
    At(i32),
    /// Undefined, or held somewhere we do not track.
    Lost,
}

const SLOTS: usize = 1 << 14;
const PROBES: usize = 16;
const PC_BITS: u32 = 48;
const PC_MASK: u64 = (1 << PC_BITS) - 1;
/// Set in a key while its slot's rule is being written.
const BUSY: u64 = 1 << 63;

/// One cache entry. `key` is 0 (free), or pc | tag << 48, with BUSY until
/// `rule` is written. Keys are claimed by CAS and never change once
/// published, so a reader that sees its key (Acquire) sees the rule stored
/// before it (Release).
#[repr(C, align(16))]
struct Slot {
    key: AtomicU64,
    rule: AtomicU64,
}

static CACHE: [Slot; SLOTS] = [const { Slot { key: AtomicU64::new(0), rule: AtomicU64::new(0) } }; SLOTS];

fn rule_for(at: usize) -> Rule {
    let Some(obj) = elf::find_object(at).filter(|o| o.eh_frame != 0) else { return Rule::NoFde };
    let tag = {
        let h = (obj.map_start as u64 ^ (obj.map_end as u64).rotate_left(21) ^ (obj.eh_frame as u64).rotate_left(42))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 49) & 0x7fff
    };
    let key = at as u64 | tag << PC_BITS;
    let cacheable = at as u64 & !PC_MASK == 0;
    let mut free = None;
    if cacheable {
        let h = (at >> 3) ^ ((at >> 17).wrapping_mul(0x9e37_79b9) >> 3);
        for i in 0..PROBES {
            let Some(slot) = CACHE.get((h + i) % SLOTS) else { break };
            let k = slot.key.load(Acquire);
            if k == key {
                if let Some(r) = unpack(slot.rule.load(Relaxed)) {
                    return r;
                }
                break;
            }
            if k == 0 {
                free = Some(slot);
                break;
            }
            if k & PC_MASK == at as u64 {
                // Being written, or another object's rule for this address.
                break;
            }
        }
    }
    MISSES.fetch_add(1, Relaxed);
    let rule = compute_rule(&obj, at);
    if let (Some(slot), Some(packed)) = (free, pack(rule)) {
        // Relaxed: the claim publishes nothing (readers skip BUSY keys).
        if slot.key.compare_exchange(0, key | BUSY, Relaxed, Relaxed).is_ok() {
            slot.rule.store(packed, Relaxed);
            // Release: the rule above is visible to whoever sees the key.
            slot.key.store(key, Release);
        }
    }
    rule
}

// Packed rule: bits 0-2 kind (1 frame, 2 outermost, 3 no FDE, 4 fallback),
// bit 3 CFA on rbp, bits 4-5 rbp (0 unchanged, 1 at, 2 lost), bits 8-19
// ra_off and 20-31 rbp offset (signed 12 bits), bits 32-63 cfa_off.
fn pack(r: Rule) -> Option<u64> {
    fn i12(v: i32) -> Option<u64> {
        if (-2048..2048).contains(&v) {
            Some(v as u64 & 0xfff)
        } else {
            None
        }
    }
    Some(match r {
        Rule::Frame { cfa_rbp, cfa_off, ra_off, rbp } => {
            let (kind, off) = match rbp {
                SavedRbp::Unchanged => (0, 0),
                SavedRbp::At(k) => (1, k),
                SavedRbp::Lost => (2, 0),
            };
            1 | (cfa_rbp as u64) << 3 | kind << 4 | i12(ra_off)? << 8 | i12(off)? << 20 | (cfa_off as u32 as u64) << 32
        }
        Rule::Outermost => 2,
        Rule::NoFde => 3,
        Rule::Fallback => 4,
    })
}

fn unpack(v: u64) -> Option<Rule> {
    let i12 = |x: u64| (((x & 0xfff) as i32) << 20) >> 20;
    Some(match v & 7 {
        1 => Rule::Frame {
            cfa_rbp: v & 8 != 0,
            cfa_off: (v >> 32) as u32 as i32,
            ra_off: i12(v >> 8),
            rbp: match (v >> 4) & 3 {
                0 => SavedRbp::Unchanged,
                1 => SavedRbp::At(i12(v >> 20)),
                _ => SavedRbp::Lost,
            },
        },
        2 => Rule::Outermost,
        3 => Rule::NoFde,
        4 => Rule::Fallback,
        _ => return None,
    })
}

// ---- reading CFI ----

/// A bounded reader over memory known to be readable.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    pos: usize,
    end: usize,
}

impl Cursor {
    /// # Safety
    /// [pos, end) must stay readable while the cursor (or a copy) is used.
    unsafe fn new(pos: usize, end: usize) -> Cursor {
        Cursor { pos, end: end.max(pos) }
    }

    #[cfg(test)]
    fn of(bytes: &[u8]) -> Cursor {
        // SAFETY: tests keep the slice alive while reading.
        unsafe { Cursor::new(bytes.as_ptr() as usize, bytes.as_ptr() as usize + bytes.len()) }
    }

    fn remaining(&self) -> usize {
        self.end - self.pos
    }

    /// A cursor over the next `len` bytes, which this one skips.
    fn split(&mut self, len: usize) -> Option<Cursor> {
        let start = self.take(len)?;
        Some(Cursor { pos: start, end: self.pos })
    }

    fn take(&mut self, len: usize) -> Option<usize> {
        if len > self.remaining() {
            return None;
        }
        let p = self.pos;
        self.pos += len;
        Some(p)
    }

    fn u8(&mut self) -> Option<u8> {
        let p = self.take(1)?;
        // SAFETY: p is inside [pos, end), readable by the constructor's contract.
        Some(unsafe { *(p as *const u8) })
    }

    fn u16(&mut self) -> Option<u16> {
        let p = self.take(2)?;
        // SAFETY: as in u8.
        Some(unsafe { (p as *const u16).read_unaligned() })
    }

    fn u32(&mut self) -> Option<u32> {
        let p = self.take(4)?;
        // SAFETY: as in u8.
        Some(unsafe { (p as *const u32).read_unaligned() })
    }

    fn u64(&mut self) -> Option<u64> {
        let p = self.take(8)?;
        // SAFETY: as in u8.
        Some(unsafe { (p as *const u64).read_unaligned() })
    }

    fn uleb(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let b = self.u8()?;
            if shift >= 64 || (shift == 63 && b & 0x7e != 0) {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
    }

    fn sleb(&mut self) -> Option<i64> {
        let mut v: i64 = 0;
        let mut shift = 0;
        loop {
            let b = self.u8()?;
            if shift >= 64 {
                return None;
            }
            v |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    v |= -1i64 << shift;
                }
                return Some(v);
            }
        }
    }

    /// A DW_EH_PE-encoded pointer. `datarel` is the base for DW_EH_PE_datarel
    /// (0: not allowed). Indirect, textrel, funcrel, aligned and omit: None.
    fn encoded(&mut self, enc: u8, datarel: usize) -> Option<usize> {
        let field = self.pos;
        let v = match enc & 0x0f {
            0x00 | 0x04 | 0x0c => self.u64()?,
            0x01 => self.uleb()?,
            0x02 => u64::from(self.u16()?),
            0x03 => u64::from(self.u32()?),
            0x09 => self.sleb()? as u64,
            0x0a => self.u16()? as i16 as i64 as u64,
            0x0b => self.u32()? as i32 as i64 as u64,
            _ => return None,
        } as usize;
        match enc & 0xf0 {
            0x00 => Some(v),
            0x10 => Some(field.wrapping_add(v)),
            0x30 if datarel != 0 => Some(datarel.wrapping_add(v)),
            _ => None,
        }
    }

    /// Skips an encoded pointer without using it (indirect allowed).
    fn skip_encoded(&mut self, enc: u8) -> Option<()> {
        match enc & 0x70 {
            0x00 | 0x10 | 0x30 => {}
            _ => return None,
        }
        match enc & 0x0f {
            0x00 | 0x04 | 0x0c => self.take(8).map(drop),
            0x01 => self.uleb().map(drop),
            0x09 => self.sleb().map(drop),
            0x02 | 0x0a => self.take(2).map(drop),
            0x03 | 0x0b => self.take(4).map(drop),
            _ => None,
        }
    }
}

/// The readable PT_LOAD segments of one loaded object.
struct Segments {
    ranges: [(usize, usize); 8],
    n: usize,
}

impl Segments {
    /// The readable segments of the object `_dl_find_object` described.
    /// The main program's program headers come from the auxiliary vector
    /// (its `dlfo_map_start` need not be its first segment); a library's
    /// from the ELF header at the start of its mapping, where the loader
    /// mapped its first PT_LOAD (file offset 0).
    fn of_object(obj: &Object) -> Option<Segments> {
        if let Some(s) = Segments::of_main_program(obj) {
            return Some(s);
        }
        let (map_start, map_end) = (obj.map_start, obj.map_end);
        if map_start % PAGE != 0 || map_end <= map_start {
            return None;
        }
        let page_end = map_start.checked_add(PAGE)?.min(map_end);
        // SAFETY: the first page of a library's mapping is the start of its
        // first PT_LOAD segment, mapped readable by the loader.
        let table = unsafe { elf::table_at(map_start, page_end) }?;
        // The load bias: the first PT_LOAD's page is at map_start, and it
        // must map the headers just read.
        let mut min_page = usize::MAX;
        let mut first_offset = 0usize;
        for ph in table.iter().filter(|ph| ph.p_type == PT_LOAD) {
            let page = usize::try_from(ph.vaddr).ok()? & !(PAGE - 1);
            if page < min_page {
                min_page = page;
                first_offset = usize::try_from(ph.offset).ok()?;
            }
        }
        if min_page == usize::MAX || first_offset >= PAGE {
            return None;
        }
        Segments::from_table(&table, map_start.wrapping_sub(min_page), obj)
    }

    fn of_main_program(obj: &Object) -> Option<Segments> {
        let table = elf::main_program_table()?;
        // The bias from PT_PHDR; the object is the main program if its
        // PT_GNU_EH_FRAME is the one `_dl_find_object` reported.
        let (mut bias, mut eh) = (None, None);
        for ph in table.iter() {
            match ph.p_type {
                PT_PHDR => bias = Some(table.addr().wrapping_sub(usize::try_from(ph.vaddr).ok()?)),
                PT_GNU_EH_FRAME => eh = Some(usize::try_from(ph.vaddr).ok()?),
                _ => {}
            }
        }
        let bias = bias?;
        if bias.wrapping_add(eh?) != obj.eh_frame {
            return None;
        }
        Segments::from_table(&table, bias, obj)
    }

    /// The PT_LOADs with PF_R of the object's (mapped) program header table.
    fn from_table(table: &elf::Table, bias: usize, obj: &Object) -> Option<Segments> {
        let mut s = Segments { ranges: [(0, 0); 8], n: 0 };
        for ph in table.iter() {
            if ph.p_type != PT_LOAD || ph.flags & PF_R == 0 || s.n == s.ranges.len() {
                continue;
            }
            let lo = bias.wrapping_add(usize::try_from(ph.vaddr).ok()?);
            let hi = lo.checked_add(usize::try_from(ph.filesz).ok()?)?;
            if lo < hi {
                *s.ranges.get_mut(s.n)? = (lo, hi);
                s.n += 1;
            }
        }
        // The header must be in one of them.
        s.cursor_at(obj.eh_frame)?;
        Some(s)
    }

    /// A cursor from `addr` to the end of the readable segment holding it.
    fn cursor_at(&self, addr: usize) -> Option<Cursor> {
        let &(_, hi) = self.ranges.get(..self.n)?.iter().find(|&&(lo, hi)| addr >= lo && addr < hi)?;
        // SAFETY: [addr, hi) is inside a PT_LOAD segment mapped readable.
        Some(unsafe { Cursor::new(addr, hi) })
    }
}

/// The bounds `[start, end)` of the function holding `pc`, from its
/// object's `.eh_frame` (which a stripped object keeps): for naming code that
/// has no symbol, such as libc's vector string functions. No allocation, no
/// lock: safe in the fault handler.
pub fn function_bounds(pc: usize) -> Option<(usize, usize)> {
    let obj = elf::find_object(pc).filter(|o| o.eh_frame != 0)?;
    let segs = Segments::of_object(&obj)?;
    let fde = find_fde(&segs, obj.eh_frame, pc)??;
    let mut c = entry_body(&segs, fde)?;
    let cie_field = c.pos;
    let cie_off = c.u32()?;
    if cie_off == 0 {
        return None;
    }
    let cie = parse_cie(&segs, cie_field.checked_sub(cie_off as usize)?)?;
    let begin = c.encoded(cie.fde_enc, 0)?;
    let range = c.encoded(cie.fde_enc & 0x0f, 0)?;
    (pc >= begin && pc - begin < range).then_some((begin, begin + range))
}

fn compute_rule(obj: &Object, at: usize) -> Rule {
    let Some(segs) = Segments::of_object(obj) else { return Rule::Fallback };
    match find_fde(&segs, obj.eh_frame, at) {
        Some(Some(fde)) => rule_from_fde(&segs, fde, at).unwrap_or(Rule::Fallback),
        Some(None) => Rule::NoFde,
        None => Rule::Fallback,
    }
}

/// Binary search of .eh_frame_hdr's table: the FDE whose initial location
/// is the last one <= at (Some(None): none; None: unusable header).
fn find_fde(segs: &Segments, hdr: usize, at: usize) -> Option<Option<usize>> {
    let mut c = segs.cursor_at(hdr)?;
    let (version, ptr_enc, count_enc, table_enc) = (c.u8()?, c.u8()?, c.u8()?, c.u8()?);
    if version != 1 || table_enc != 0x3b {
        return None;
    }
    c.encoded(ptr_enc, hdr)?;
    let count = c.encoded(count_enc, hdr)?;
    let table = c.split(count.checked_mul(8)?)?;
    let entry = |i: usize| -> Option<(usize, usize)> {
        let mut e = table;
        e.take(i.checked_mul(8)?)?;
        let loc = hdr.wrapping_add(e.u32()? as i32 as isize as usize);
        let fde = hdr.wrapping_add(e.u32()? as i32 as isize as usize);
        Some((loc, fde))
    };
    // Invariant: entries below lo start at or before `at`, from hi on after it.
    let (mut lo, mut hi) = (0usize, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if entry(mid)?.0 <= at {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if lo == 0 {
        return Some(None);
    }
    Some(Some(entry(lo - 1)?.1))
}

struct Cie {
    code_align: u64,
    data_align: i64,
    fde_enc: u8,
    has_z: bool,
    initial: Cursor,
}

/// An entry's body (after its length), or None for 64-bit DWARF.
fn entry_body(segs: &Segments, addr: usize) -> Option<Cursor> {
    let mut c = segs.cursor_at(addr)?;
    let len = c.u32()?;
    if len == 0 || len == u32::MAX {
        return None;
    }
    c.split(len as usize)
}

fn parse_cie(segs: &Segments, addr: usize) -> Option<Cie> {
    let mut c = entry_body(segs, addr)?;
    if c.u32()? != 0 {
        return None;
    }
    let version = c.u8()?;
    if !matches!(version, 1 | 3 | 4) {
        return None;
    }
    let mut aug = [0u8; 8];
    let mut aug_len = 0;
    loop {
        let b = c.u8()?;
        if b == 0 {
            break;
        }
        *aug.get_mut(aug_len)? = b;
        aug_len += 1;
    }
    if version == 4 && (c.u8()? != 8 || c.u8()? != 0) {
        return None;
    }
    let code_align = c.uleb()?;
    let data_align = c.sleb()?;
    let ra = if version == 1 { u64::from(c.u8()?) } else { c.uleb()? };
    if ra != REG_RA || code_align == 0 {
        return None;
    }
    let aug = aug.get(..aug_len)?;
    let mut fde_enc = 0;
    let has_z = aug.first() == Some(&b'z');
    if has_z {
        let len = usize::try_from(c.uleb()?).ok()?;
        let mut data = c.split(len)?;
        for &ch in aug.get(1..)? {
            match ch {
                b'R' => fde_enc = data.u8()?,
                b'P' => {
                    let enc = data.u8()?;
                    data.skip_encoded(enc)?;
                }
                b'L' => {
                    data.u8()?;
                }
                // 'S' (signal frame) and anything unknown.
                _ => return None,
            }
        }
    } else if !aug.is_empty() {
        return None;
    }
    Some(Cie { code_align, data_align, fde_enc, has_z, initial: c })
}

fn rule_from_fde(segs: &Segments, fde: usize, at: usize) -> Option<Rule> {
    let mut c = entry_body(segs, fde)?;
    let cie_field = c.pos;
    let cie_off = c.u32()?;
    if cie_off == 0 {
        return None;
    }
    let cie = parse_cie(segs, cie_field.checked_sub(cie_off as usize)?)?;
    let begin = c.encoded(cie.fde_enc, 0)?;
    let range = c.encoded(cie.fde_enc & 0x0f, 0)?;
    if at < begin || at - begin >= range {
        return Some(Rule::NoFde);
    }
    if cie.has_z {
        let len = usize::try_from(c.uleb()?).ok()?;
        c.take(len)?;
    }
    let mut row = Row::START;
    execute(cie.initial, &cie, &mut row, None, 0, usize::MAX)?;
    let initial = row;
    execute(c, &cie, &mut row, Some(&initial), begin, at)?;
    row.rule()
}

// ---- the CFA program ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reg {
    /// Not saved, or DW_CFA_same_value: the caller's value is this frame's.
    Same,
    Undefined,
    /// Saved at CFA + offset.
    At(i64),
    /// In another register, or given by an expression.
    Other,
}

/// The unwind row for the registers the walk needs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Row {
    cfa_reg: u64,
    cfa_off: i64,
    cfa_expr: bool,
    rbp: Reg,
    rsp: Reg,
    ra: Reg,
}

impl Row {
    const START: Row =
        Row { cfa_reg: u64::MAX, cfa_off: 0, cfa_expr: false, rbp: Reg::Same, rsp: Reg::Same, ra: Reg::Same };

    fn reg(&mut self, r: u64) -> Option<&mut Reg> {
        match r {
            REG_RBP => Some(&mut self.rbp),
            REG_RSP => Some(&mut self.rsp),
            REG_RA => Some(&mut self.ra),
            _ => None,
        }
    }

    fn set(&mut self, r: u64, rule: Reg) {
        if let Some(slot) = self.reg(r) {
            *slot = rule;
        }
    }

    fn rule(&self) -> Option<Rule> {
        if self.cfa_expr || self.rsp != Reg::Same {
            return None;
        }
        let cfa_rbp = match self.cfa_reg {
            REG_RSP => false,
            REG_RBP => true,
            _ => return None,
        };
        let ra_off = match self.ra {
            Reg::At(k) => i32::try_from(k).ok()?,
            Reg::Undefined => return Some(Rule::Outermost),
            _ => return None,
        };
        let rbp = match self.rbp {
            Reg::Same => SavedRbp::Unchanged,
            Reg::At(k) => SavedRbp::At(i32::try_from(k).ok()?),
            Reg::Undefined | Reg::Other => SavedRbp::Lost,
        };
        Some(Rule::Frame { cfa_rbp, cfa_off: i32::try_from(self.cfa_off).ok()?, ra_off, rbp })
    }
}

/// Runs a CFA program from location `loc` until the row for `at` is
/// complete. `initial` is the CIE's row (None while running the CIE itself).
/// None: an instruction this walker does not support.
fn execute(mut code: Cursor, cie: &Cie, row: &mut Row, initial: Option<&Row>, mut loc: usize, at: usize) -> Option<()> {
    let mut saved = [Row::START; STATE_STACK];
    let mut depth = 0;
    let factored = |v: u64| -> Option<i64> { i64::try_from(v).ok()?.checked_mul(cie.data_align) };
    let restore = |row: &mut Row, r: u64| -> Option<()> {
        let mut init = *initial?;
        if let Some(v) = init.reg(r) {
            row.set(r, *v);
        }
        Some(())
    };
    while code.remaining() > 0 {
        let op = code.u8()?;
        let delta = match op >> 6 {
            1 => u64::from(op & 0x3f),
            2 => {
                let off = factored(code.uleb()?)?;
                row.set(u64::from(op & 0x3f), Reg::At(off));
                continue;
            }
            3 => {
                restore(row, u64::from(op & 0x3f))?;
                continue;
            }
            _ => match op {
                0x00 => continue,
                0x02 => u64::from(code.u8()?),
                0x03 => u64::from(code.u16()?),
                0x04 => u64::from(code.u32()?),
                0x05 => {
                    let r = code.uleb()?;
                    let off = factored(code.uleb()?)?;
                    row.set(r, Reg::At(off));
                    continue;
                }
                0x06 => {
                    restore(row, code.uleb()?)?;
                    continue;
                }
                0x07 => {
                    row.set(code.uleb()?, Reg::Undefined);
                    continue;
                }
                0x08 => {
                    row.set(code.uleb()?, Reg::Same);
                    continue;
                }
                // register, val_offset, val_offset_sf
                0x09 | 0x14 | 0x15 => {
                    let r = code.uleb()?;
                    if op == 0x15 {
                        code.sleb()?;
                    } else {
                        code.uleb()?;
                    }
                    row.set(r, Reg::Other);
                    continue;
                }
                0x0a => {
                    *saved.get_mut(depth)? = *row;
                    depth += 1;
                    continue;
                }
                0x0b => {
                    depth = depth.checked_sub(1)?;
                    *row = *saved.get(depth)?;
                    continue;
                }
                0x0c => {
                    row.cfa_reg = code.uleb()?;
                    row.cfa_off = i64::try_from(code.uleb()?).ok()?;
                    row.cfa_expr = false;
                    continue;
                }
                0x0d => {
                    row.cfa_reg = code.uleb()?;
                    row.cfa_expr = false;
                    continue;
                }
                0x0e => {
                    row.cfa_off = i64::try_from(code.uleb()?).ok()?;
                    continue;
                }
                0x0f => {
                    let len = usize::try_from(code.uleb()?).ok()?;
                    code.take(len)?;
                    row.cfa_expr = true;
                    continue;
                }
                // expression, val_expression
                0x10 | 0x16 => {
                    let r = code.uleb()?;
                    let len = usize::try_from(code.uleb()?).ok()?;
                    code.take(len)?;
                    row.set(r, Reg::Other);
                    continue;
                }
                0x11 => {
                    let r = code.uleb()?;
                    let off = code.sleb()?.checked_mul(cie.data_align)?;
                    row.set(r, Reg::At(off));
                    continue;
                }
                0x12 => {
                    row.cfa_reg = code.uleb()?;
                    row.cfa_off = code.sleb()?.checked_mul(cie.data_align)?;
                    row.cfa_expr = false;
                    continue;
                }
                0x13 => {
                    row.cfa_off = code.sleb()?.checked_mul(cie.data_align)?;
                    continue;
                }
                // DW_CFA_GNU_args_size
                0x2e => {
                    code.uleb()?;
                    continue;
                }
                // set_loc, GNU_window_save, GNU_negative_offset_extended, vendor ops
                _ => return None,
            },
        };
        let next = loc.checked_add(usize::try_from(delta.checked_mul(cie.code_align)?).ok()?)?;
        if next > at {
            return Some(());
        }
        loc = next;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::c_void;
    use std::vec::Vec;

    #[repr(C)]
    struct UnwindContext {
        _private: [u8; 0],
    }
    // depot.rs declares the same functions with its own context type.
    #[allow(clashing_extern_declarations)]
    extern "C" {
        fn _Unwind_Backtrace(trace: extern "C" fn(*mut UnwindContext, *mut c_void) -> i32, arg: *mut c_void) -> i32;
        fn _Unwind_GetIP(ctx: *mut UnwindContext) -> usize;
    }

    extern "C" fn collect(ctx: *mut UnwindContext, arg: *mut c_void) -> i32 {
        // SAFETY: arg is the Vec passed below; ctx is live.
        let v = unsafe { &mut *(arg as *mut Vec<usize>) };
        let pc = unsafe { _Unwind_GetIP(ctx) };
        if pc == 0 || v.len() == 64 {
            return 5;
        }
        v.push(pc);
        0
    }

    /// (ours, libgcc's), both taken here; frame 0 of each is a return
    /// address inside this function, so they are compared from frame 1.
    #[inline(never)]
    fn both() -> (Option<Vec<usize>>, Vec<usize>) {
        let mut f = [0usize; 64];
        let fast = capture(&mut f, |_| false).map(|n| f[..n].to_vec());
        let mut slow = Vec::with_capacity(64);
        // SAFETY: collect only pushes into the Vec (capacity reserved).
        unsafe { _Unwind_Backtrace(collect, &mut slow as *mut Vec<usize> as *mut c_void) };
        (fast, slow)
    }

    fn check(fast: Option<Vec<usize>>, slow: Vec<usize>) {
        let fast = fast.expect("fast capture fell back");
        assert!(fast.len() >= 2, "{fast:x?}");
        assert_eq!(fast[1..], slow[1..], "fast {fast:x?}\nslow {slow:x?}");
    }

    #[inline(never)]
    fn nest(d: u32, out: &mut Vec<(Option<Vec<usize>>, Vec<usize>)>) -> u32 {
        let r = if d == 0 {
            out.push(both());
            1
        } else if d.is_multiple_of(3) {
            // A bigger frame with a variable-size part, to vary the CFA rules.
            let buf = std::hint::black_box(vec![d as u8; 100 + d as usize]);
            let mut local = [0u8; 300];
            local[d as usize] = buf[0];
            nest(d - 1, out) + std::hint::black_box(&local)[d as usize] as u32
        } else {
            nest(d - 1, out) + 1
        };
        std::hint::black_box(r)
    }

    #[test]
    fn matches_libgcc_on_nested_calls() {
        for round in 0..200 {
            let mut out = Vec::new();
            nest(round % 20, &mut out);
            let (fast, slow) = out.pop().unwrap();
            check(fast, slow);
        }
    }

    #[test]
    fn matches_libgcc_on_threads() {
        let hs: Vec<_> = (0..4)
            .map(|i| {
                std::thread::spawn(move || {
                    for round in 0..300 {
                        let mut out = Vec::new();
                        nest((round + i) % 12, &mut out);
                        let (fast, slow) = out.pop().unwrap();
                        check(fast, slow);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }

    type Stacks = (Option<Vec<usize>>, Vec<usize>);
    static QSORT_OUT: std::sync::Mutex<Option<Stacks>> = std::sync::Mutex::new(None);

    extern "C" fn compare(a: *const c_void, b: *const c_void) -> i32 {
        {
            let mut out = QSORT_OUT.lock().unwrap();
            if out.is_none() {
                *out = Some(both());
            }
        }
        // SAFETY: qsort passes pointers to two elements of the i32 array.
        unsafe { (*(a as *const i32)).cmp(&*(b as *const i32)) as i32 }
    }

    #[test]
    fn matches_libgcc_through_libc() {
        for _ in 0..50 {
            let mut v: Vec<i32> = (0..100).rev().collect();
            // SAFETY: valid array and comparator.
            unsafe {
                *QSORT_OUT.lock().unwrap() = None;
                libc::qsort(v.as_mut_ptr() as *mut c_void, v.len(), 4, Some(compare));
                let (fast, slow) = QSORT_OUT.lock().unwrap().take().unwrap();
                // libc frames (qsort's msort) are in there.
                let mut info: libc::Dl_info = core::mem::zeroed();
                let in_libc = slow.iter().filter(|&&pc| {
                    libc::dladdr((pc - 1) as *const c_void, &mut info) != 0
                        && core::ffi::CStr::from_ptr(info.dli_fname).to_bytes().ends_with(b"libc.so.6")
                });
                assert!(in_libc.count() >= 2);
                check(fast, slow);
            }
            assert!(v.windows(2).all(|w| w[0] <= w[1]));
        }
    }

    #[test]
    fn skip_and_depth_limit() {
        let (fast, _) = both();
        let all = fast.unwrap();
        // all[1] is a return address in this function, all[2] in its caller.
        // Only leading frames are skipped.
        let mut f = [0usize; 3];
        assert_eq!(capture(&mut f, |pc| pc != all[2]), Some(3));
        assert_eq!(f[..], all[2..5]);
        let mut one = [0usize; 1];
        assert_eq!(capture(&mut one, |_| false), Some(1));
        assert_eq!(capture(&mut [], |_| false), Some(0));
        // Skipping everything: handed back to libgcc, never an empty stack.
        assert_eq!(capture(&mut f, |_| true), None);
    }

    #[test]
    fn leb128() {
        let mut c = Cursor::of(&[0xe5, 0x8e, 0x26, 0x7f, 0x80, 0x7f, 0x02]);
        assert_eq!(c.uleb(), Some(624485));
        assert_eq!(c.sleb(), Some(-1));
        assert_eq!(c.sleb(), Some(-128));
        assert_eq!(c.sleb(), Some(2));
        assert_eq!(c.u8(), None);
        assert_eq!(Cursor::of(&[0x80, 0x80]).uleb(), None);
        assert_eq!(Cursor::of(&[0xff; 11]).uleb(), None);
        assert_eq!(Cursor::of(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).uleb(), Some(u64::MAX));
        assert_eq!(Cursor::of(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).sleb(), Some(-1));
    }

    #[test]
    fn pointer_encodings() {
        let b = [0xfe, 0xff, 0xff, 0xff, 0x10, 0x00, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0];
        let base = b.as_ptr() as usize;
        let mut c = Cursor::of(&b);
        assert_eq!(c.encoded(0x1b, 0), Some(base.wrapping_sub(2))); // pcrel sdata4
        assert_eq!(c.encoded(0x0a, 0), Some(16)); // sdata2
        assert_eq!(c.encoded(0x02, 0), Some(0x1234)); // udata2
        assert_eq!(c.encoded(0x00, 0), Some(0x12345678)); // absptr
        let mut c = Cursor::of(&b);
        assert_eq!(c.encoded(0x3b, 1000), Some(998)); // datarel sdata4
        assert_eq!(Cursor::of(&b).encoded(0x3b, 0), None);
        assert_eq!(Cursor::of(&b).encoded(0x9b, 0), None); // indirect
        assert_eq!(Cursor::of(&b).encoded(0x2b, 0), None); // textrel
        assert_eq!(Cursor::of(&b[..3]).encoded(0x03, 0), None); // short
        let mut c = Cursor::of(&b);
        assert_eq!(c.skip_encoded(0x9b), Some(()));
        assert_eq!(c.pos, base + 4);
        assert_eq!(Cursor::of(&b).skip_encoded(0x50), None);
    }

    #[test]
    fn packing_round_trips() {
        let rules = [
            Rule::Frame { cfa_rbp: false, cfa_off: 8, ra_off: -8, rbp: SavedRbp::Unchanged },
            Rule::Frame { cfa_rbp: true, cfa_off: 16, ra_off: -8, rbp: SavedRbp::At(-16) },
            Rule::Frame { cfa_rbp: false, cfa_off: -5, ra_off: 2047, rbp: SavedRbp::At(-2048) },
            Rule::Frame { cfa_rbp: false, cfa_off: i32::MAX, ra_off: -8, rbp: SavedRbp::Lost },
            Rule::Frame { cfa_rbp: false, cfa_off: i32::MIN, ra_off: -8, rbp: SavedRbp::Lost },
            Rule::Outermost,
            Rule::NoFde,
            Rule::Fallback,
        ];
        for r in rules {
            assert_eq!(unpack(pack(r).unwrap()), Some(r));
        }
        assert_eq!(pack(Rule::Frame { cfa_rbp: false, cfa_off: 8, ra_off: -8, rbp: SavedRbp::At(4096) }), None);
        assert_eq!(unpack(0), None);
    }

    fn cie(aug: &[u8], aug_data: &[u8], program: &[u8]) -> Vec<u8> {
        let mut body = vec![0, 0, 0, 0, 1];
        body.extend_from_slice(aug);
        body.push(0);
        body.extend_from_slice(&[1, 0x78, 16]); // code 1, data -8, ra 16
        if aug.first() == Some(&b'z') {
            body.push(aug_data.len() as u8);
            body.extend_from_slice(aug_data);
        }
        body.extend_from_slice(program);
        let mut e = (body.len() as u32).to_le_bytes().to_vec();
        e.extend(body);
        e
    }

    /// One CIE, one FDE for [0x1000, 0x1100) (absptr), as a segment image.
    fn image(cie_prog: &[u8], fde_prog: &[u8]) -> Vec<u8> {
        let mut img = cie(b"zR", &[0x00], cie_prog);
        let fde_at = img.len();
        let mut body = ((fde_at + 4) as u32).to_le_bytes().to_vec();
        body.extend_from_slice(&0x1000u64.to_le_bytes());
        body.extend_from_slice(&0x100u64.to_le_bytes());
        body.push(0);
        body.extend_from_slice(fde_prog);
        img.extend_from_slice(&(body.len() as u32).to_le_bytes());
        img.extend(body);
        img.extend_from_slice(&[0; 4]);
        img
    }

    fn rule_in(img: &[u8], at: usize) -> Option<Rule> {
        let lo = img.as_ptr() as usize;
        let segs =
            Segments { ranges: [(lo, lo + img.len()), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)], n: 1 };
        let cie_len = u32::from_le_bytes(img[..4].try_into().unwrap()) as usize;
        rule_from_fde(&segs, lo + 4 + cie_len, at)
    }

    const X86_CIE: &[u8] = &[0x0c, 7, 8, 0x90, 1]; // def_cfa rsp+8; ra at cfa-8

    fn frame(cfa_rbp: bool, cfa_off: i32, rbp: SavedRbp) -> Option<Rule> {
        Some(Rule::Frame { cfa_rbp, cfa_off, ra_off: -8, rbp })
    }

    #[test]
    fn cfa_program_push_rbp_frame() {
        // push rbp (1 byte); mov rbp, rsp (3 bytes); ... ; leave at 0x1080; ret.
        let prog = [
            0x41, 0x0e, 16, 0x86, 2, // @1: cfa rsp+16, rbp at cfa-16
            0x43, 0x0d, 6, // @4: cfa on rbp
            0x02, 0x7c, 0x0c, 7, 8, // @0x80: cfa rsp+8
        ];
        let img = image(X86_CIE, &prog);
        assert_eq!(rule_in(&img, 0x1000), frame(false, 8, SavedRbp::Unchanged));
        assert_eq!(rule_in(&img, 0x1001), frame(false, 16, SavedRbp::At(-16)));
        assert_eq!(rule_in(&img, 0x1003), frame(false, 16, SavedRbp::At(-16)));
        assert_eq!(rule_in(&img, 0x1004), frame(true, 16, SavedRbp::At(-16)));
        assert_eq!(rule_in(&img, 0x107f), frame(true, 16, SavedRbp::At(-16)));
        assert_eq!(rule_in(&img, 0x1080), frame(false, 8, SavedRbp::At(-16)));
        assert_eq!(rule_in(&img, 0x10ff), frame(false, 8, SavedRbp::At(-16)));
        assert_eq!(rule_in(&img, 0x1100), Some(Rule::NoFde));
        assert_eq!(rule_in(&img, 0xfff), Some(Rule::NoFde));
    }

    #[test]
    fn cfa_program_state_and_restore() {
        let prog = [
            0x41, 0x0e, 16, 0x86, 2, // @1: push rbp
            0x41, 0x0a, // @2: remember
            0x0e, 8, 0xc6, // restore rbp (CIE: same), cfa rsp+8
            0x41, 0x0b, // @3: restore_state
            0x41, 0x06, 6, // @4: restore_extended rbp
            0x41, 0x13, 0x7e, // @5: def_cfa_offset_sf -2*-8 = 16
            0x41, 0x12, 7, 0x7d, // @6: def_cfa_sf rsp + 24
            0x41, 0x11, 6, 0x03, // @7: offset_extended_sf rbp at cfa-24
            0x41, 0x05, 6, 4, // @8: offset_extended rbp at cfa-32
            0x41, 0x2e, 0x10, 0x00, 0x08, 6, // @9: args_size, nop, same_value rbp
            0x41, 0x07, 6, // @10: undefined rbp
            0x41, 0x09, 6, 3, // @11: register rbp <- rbx
            0x41, 0x07, 16, // @12: undefined ra
        ];
        let img = image(X86_CIE, &prog);
        assert_eq!(rule_in(&img, 0x1002), frame(false, 8, SavedRbp::Unchanged));
        assert_eq!(rule_in(&img, 0x1003), frame(false, 16, SavedRbp::At(-16)));
        assert_eq!(rule_in(&img, 0x1004), frame(false, 16, SavedRbp::Unchanged));
        assert_eq!(rule_in(&img, 0x1005), frame(false, 16, SavedRbp::Unchanged));
        assert_eq!(rule_in(&img, 0x1006), frame(false, 24, SavedRbp::Unchanged));
        assert_eq!(rule_in(&img, 0x1007), frame(false, 24, SavedRbp::At(-24)));
        assert_eq!(rule_in(&img, 0x1008), frame(false, 24, SavedRbp::At(-32)));
        assert_eq!(rule_in(&img, 0x1009), frame(false, 24, SavedRbp::Unchanged));
        assert_eq!(rule_in(&img, 0x100a), frame(false, 24, SavedRbp::Lost));
        assert_eq!(rule_in(&img, 0x100b), frame(false, 24, SavedRbp::Lost));
        assert_eq!(rule_in(&img, 0x100c), Some(Rule::Outermost));
    }

    #[test]
    fn cfa_program_unsupported() {
        let none = |prog: &[u8]| rule_in(&image(X86_CIE, prog), 0x1010);
        assert_eq!(none(&[0x0f, 1, 0x77]), None); // def_cfa_expression
        assert_eq!(none(&[0x10, 16, 1, 0x77]), None); // expression for ra
        assert_eq!(none(&[0x10, 3, 1, 0x77]), frame(false, 8, SavedRbp::Unchanged)); // for rbx: fine
        assert_eq!(none(&[0x16, 7, 1, 0x77]), None); // val_expression for rsp
        assert_eq!(none(&[0x0d, 3]), None); // cfa on rbx
        assert_eq!(none(&[0x09, 16, 0]), None); // ra in rax
        assert_eq!(none(&[0x0b]), None); // restore_state underflow
        assert_eq!(none(&[0x0a; 9]), None); // remember_state overflow
        assert_eq!(none(&[0x0a; 8]), frame(false, 8, SavedRbp::Unchanged));
        assert_eq!(none(&[0x01, 0, 0, 0, 0, 0, 0, 0, 0]), None); // set_loc
        assert_eq!(none(&[0x2d]), None); // GNU_window_save
        assert_eq!(none(&[0x0e]), None); // truncated
        assert_eq!(none(&[0x0e, 0x80]), None); // truncated LEB
                                               // A later row does not matter: stops before the advance past `at`.
        assert_eq!(none(&[0x04, 0, 1, 0, 0, 0x0f, 1, 0x77]), frame(false, 8, SavedRbp::Unchanged));
        // Signal frames and unknown augmentations.
        let mut img = cie(b"zRS", &[0x00], X86_CIE);
        let lo = img.as_ptr() as usize;
        let segs =
            Segments { ranges: [(lo, lo + img.len()), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)], n: 1 };
        assert!(parse_cie(&segs, lo).is_none());
        img = cie(b"zPLR", &[0x9b, 1, 2, 3, 4, 0x1b, 0x03], X86_CIE);
        let lo = img.as_ptr() as usize;
        let segs =
            Segments { ranges: [(lo, lo + img.len()), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)], n: 1 };
        let c = parse_cie(&segs, lo).unwrap();
        assert_eq!(c.fde_enc, 0x03);
        // Bounds: an entry longer than its segment.
        let segs = Segments {
            ranges: [(lo, lo + img.len() - 1), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)],
            n: 1,
        };
        assert!(parse_cie(&segs, lo).is_none());
    }

    #[test]
    fn hdr_search() {
        // Header: version 1, eh_frame_ptr pcrel sdata4, count udata4, table datarel sdata4.
        let mut hdr = vec![1u8, 0x1b, 0x03, 0x3b, 0, 0, 0, 0];
        hdr.extend_from_slice(&3u32.to_le_bytes());
        for (loc, fde) in [(100i32, 1000i32), (200, 2000), (300, 3000)] {
            hdr.extend_from_slice(&loc.to_le_bytes());
            hdr.extend_from_slice(&fde.to_le_bytes());
        }
        let lo = hdr.as_ptr() as usize;
        let segs =
            Segments { ranges: [(lo, lo + hdr.len()), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)], n: 1 };
        assert_eq!(find_fde(&segs, lo, lo + 99), Some(None));
        assert_eq!(find_fde(&segs, lo, lo + 100), Some(Some(lo + 1000)));
        assert_eq!(find_fde(&segs, lo, lo + 199), Some(Some(lo + 1000)));
        assert_eq!(find_fde(&segs, lo, lo + 250), Some(Some(lo + 2000)));
        assert_eq!(find_fde(&segs, lo, lo + 100000), Some(Some(lo + 3000)));
        // A count larger than the segment: refused.
        hdr[8] = 4;
        let segs =
            Segments { ranges: [(lo, lo + hdr.len()), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)], n: 1 };
        assert_eq!(find_fde(&segs, lo, lo + 250), None);
    }

    #[test]
    fn segments_of_this_executable() {
        let pc = segments_of_this_executable as *const () as usize;
        let obj = elf::find_object(pc).unwrap();
        let s = Segments::of_object(&obj).unwrap();
        assert!(s.n >= 2);
        assert!(s.cursor_at(pc).is_some());
        assert!(s.cursor_at(obj.eh_frame).is_some());
        assert!(matches!(compute_rule(&obj, pc), Rule::Frame { .. }));
        // A library: libc, found from the ELF header at its mapping's start.
        let pc = libc::qsort as *const () as usize;
        let obj = elf::find_object(pc).unwrap();
        assert!(Segments::of_main_program(&obj).is_none());
        let s = Segments::of_object(&obj).unwrap();
        assert!(s.cursor_at(pc).is_some() && s.cursor_at(obj.eh_frame).is_some());
        assert!(matches!(compute_rule(&obj, pc), Rule::Frame { .. }));
    }

    #[test]
    fn function_bounds_come_from_eh_frame() {
        let f = function_bounds_come_from_eh_frame as *const () as usize;
        let (start, end) = function_bounds(f + 1).unwrap();
        assert!(start <= f && f < end, "{start:#x}..{end:#x} holds {f:#x}");
        // libc's strlen: the vector variant this machine runs, unnamed in .dynsym.
        let s = libc::strlen as *const () as usize;
        let (start, end) = function_bounds(s).unwrap();
        assert_eq!(start, s);
        assert!(end > s);
    }
}
