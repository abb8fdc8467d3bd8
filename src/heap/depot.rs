//! Stack traces: capture (our own CFI walker, heap/unwind.rs, or libgcc's
//! unwinder), deduplicated into a depot of ids. Printing them is
//! diag/frames.rs. Nothing here allocates or takes the pool lock.
//!
//! Capture uses `_Unwind_Backtrace` (DWARF CFI, so it works for the frame-
//! pointer-less code of distribution binaries; libgcc 12 finds FDEs through
//! glibc's lock-free `_dl_find_object`). libgcc_s is a link-time dependency,
//! so nothing is dlopen'ed on first use (glibc's `backtrace()` would malloc).
//!
//! The depot is a hash table of append-only entries in one lazily committed
//! mapping: lock-free (entries are published by CAS on the bucket head), and
//! bounded — when it is full new stacks get id 0 ("not recorded").

use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering::*};

use super::unwind;
use crate::config::state;
use crate::sys::{mem, tls};
use crate::util::global::Global;

pub const MAX_DEPTH: usize = 64;
/// Frames a recorded stack holds: `stack_depth` of them, and one more when
/// the stack went deeper, so that reports can say it was cut.
pub const MAX_FRAMES: usize = MAX_DEPTH + 1;

/// Marks a stack id that holds only the caller of malloc, recorded where no
/// stack is (`stack_depth=0`, a sampled-out block, a full depot): reports
/// print it as no stack; diag/operators.rs reads the caller. Entry ids are
/// word indices, far below this bit.
pub const CALLER_ONLY: u32 = 1 << 31;

#[repr(C)]
struct UnwindContext {
    _private: [u8; 0],
}

type TraceFn = extern "C" fn(*mut UnwindContext, *mut c_void) -> i32;

extern "C" {
    fn _Unwind_Backtrace(trace: TraceFn, arg: *mut c_void) -> i32;
    fn _Unwind_GetIP(ctx: *mut UnwindContext) -> usize;
}

const URC_NO_REASON: i32 = 0;
const URC_END_OF_STACK: i32 = 5;

/// Our own text, so captured stacks start at the caller of malloc/free.
static OWN_TEXT: Global<(usize, usize)> = Global::new((0, 0));

/// # Safety
/// Init only.
pub unsafe fn set_own_text(start: usize, end: usize) {
    *OWN_TEXT.init_mut() = (start, end);
}

/// `pc` lies in libpooldbg's own text.
pub fn is_own(pc: usize) -> bool {
    let (s, e) = *OWN_TEXT.get();
    pc >= s && pc < e
}

struct Collector<'a> {
    frames: &'a mut [usize],
    n: usize,
    skip_own: bool,
}

extern "C" fn collect(ctx: *mut UnwindContext, arg: *mut c_void) -> i32 {
    // SAFETY: arg is the Collector passed to _Unwind_Backtrace below.
    let c = unsafe { &mut *(arg as *mut Collector<'_>) };
    // SAFETY: ctx is the live unwind context handed to this callback.
    let pc = unsafe { _Unwind_GetIP(ctx) };
    if pc == 0 {
        return URC_END_OF_STACK;
    }
    if c.skip_own {
        if is_own(pc) {
            return URC_NO_REASON;
        }
        c.skip_own = false;
    }
    if c.n == c.frames.len() {
        return URC_END_OF_STACK;
    }
    c.frames[c.n] = pc;
    c.n += 1;
    URC_NO_REASON
}

/// Fills `frames` with the return addresses of the calling thread, starting
/// at the first frame outside libpooldbg when `skip_own`. Returns the count.
pub fn capture(frames: &mut [usize], skip_own: bool) -> usize {
    if frames.is_empty() {
        return 0;
    }
    if let Some(n) = unwind::capture(frames, |pc| skip_own && is_own(pc)) {
        return n;
    }
    capture_with_libgcc(frames, skip_own)
}

/// As `capture`, with libgcc's unwinder alone: it follows signal frames and
/// our switch to a stack of ours (sys/signal.rs `run_on_stack`), where our
/// walker stops.
pub fn capture_with_libgcc(frames: &mut [usize], skip_own: bool) -> usize {
    let mut c = Collector { frames, n: 0, skip_own };
    // SAFETY: collect only touches the Collector; the unwinder does not allocate
    // (see the module comment).
    unsafe { _Unwind_Backtrace(collect, &mut c as *mut Collector<'_> as *mut c_void) };
    c.n
}

// ---- the depot ----

const DEPOT_BYTES: usize = 64 << 20;
const BUCKETS: usize = 1 << 16;
/// Entry layout, in words: [hash << 32 | depth, next id, frames...].
const ENTRY_HEAD: usize = 2;

struct Depot {
    heads: usize,
    words: usize,
    nwords: usize,
}

static DEPOT: Global<Depot> = Global::new(Depot { heads: 0, words: 0, nwords: 0 });
/// Next free word; word 0 is never an entry, so id 0 means "no stack".
static NEXT_WORD: AtomicUsize = AtomicUsize::new(1);

/// # Safety
/// Init only.
pub unsafe fn init_depot() -> bool {
    let Some(base) = mem::map_rw_undumped(DEPOT_BYTES) else { return false };
    let d = DEPOT.init_mut();
    d.heads = base;
    d.words = base + BUCKETS * 4;
    d.nwords = (DEPOT_BYTES - BUCKETS * 4) / 8;
    true
}

/// The depot's mapping, for the leak scan to skip.
pub fn depot_range() -> (usize, usize) {
    let d = DEPOT.get();
    (d.heads, d.heads + if d.heads == 0 { 0 } else { DEPOT_BYTES })
}

fn head(b: usize) -> &'static AtomicU32 {
    // SAFETY: b < BUCKETS; the heads live at the start of the depot mapping.
    unsafe { &*((DEPOT.get().heads as *const AtomicU32).add(b)) }
}

fn word(i: usize) -> &'static AtomicUsize {
    // SAFETY: callers keep i below nwords.
    unsafe { &*((DEPOT.get().words as *const AtomicUsize).add(i)) }
}

fn hash(frames: &[usize]) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &f in frames {
        h = (h ^ f as u64).wrapping_mul(0x100_0000_01b3);
    }
    (h ^ (h >> 32)) as u32
}

/// The id of this stack in the depot (0 if empty or the depot is full).
pub fn intern(frames: &[usize]) -> u32 {
    if frames.is_empty() || DEPOT.get().heads == 0 {
        return 0;
    }
    let h = hash(frames);
    let bucket = head(h as usize % BUCKETS);
    let tag = (h as usize) << 32 | frames.len();
    let mut id = bucket.load(Acquire) as usize;
    while id != 0 {
        if word(id).load(Relaxed) == tag
            && (0..frames.len()).all(|k| word(id + ENTRY_HEAD + k).load(Relaxed) == frames[k])
        {
            return id as u32;
        }
        id = word(id + 1).load(Relaxed);
    }
    let need = ENTRY_HEAD + frames.len();
    let id = NEXT_WORD.fetch_add(need, Relaxed);
    if id + need > DEPOT.get().nwords || id >= CALLER_ONLY as usize {
        return 0;
    }
    word(id).store(tag, Relaxed);
    for (k, &f) in frames.iter().enumerate() {
        word(id + ENTRY_HEAD + k).store(f, Relaxed);
    }
    let mut old = bucket.load(Relaxed);
    loop {
        word(id + 1).store(old as usize, Relaxed);
        // Racing inserts of the same stack may both land: a duplicate, not an error.
        match bucket.compare_exchange_weak(old, id as u32, Release, Relaxed) {
            Ok(_) => return id as u32,
            Err(now) => old = now,
        }
    }
}

/// The frames of stack `id` (empty for id 0; the caller alone for a
/// `CALLER_ONLY` id).
pub fn frames_of(id: u32, out: &mut [usize; MAX_FRAMES]) -> usize {
    let id = (id & !CALLER_ONLY) as usize;
    if id == 0 {
        return 0;
    }
    let n = (word(id).load(Relaxed) & 0xffff_ffff).min(MAX_FRAMES);
    for (k, slot) in out.iter_mut().enumerate().take(n) {
        *slot = word(id + ENTRY_HEAD + k).load(Relaxed);
    }
    n
}

/// The id reports print and group by: 0 (no stack) for a `CALLER_ONLY` one.
pub fn printable(id: u32) -> u32 {
    if id & CALLER_ONLY != 0 {
        0
    } else {
        id
    }
}

/// A `CALLER_ONLY` id for the return address `pc` (0 if there is none, or
/// the depot is full).
pub fn intern_caller(pc: usize) -> u32 {
    match pc {
        0 => 0,
        _ => match intern(&[pc]) {
            0 => 0,
            id => id | CALLER_ONLY,
        },
    }
}

/// Captures the caller's stack (outside libpooldbg) to `depth` frames, and
/// one more if there is one (the mark of a cut stack), and interns it.
pub fn record(depth: usize) -> u32 {
    if depth == 0 {
        return 0;
    }
    let mut frames = [0usize; MAX_FRAMES];
    let n = capture(&mut frames[..(depth + 1).min(MAX_FRAMES)], true);
    intern(&frames[..n])
}

/// The caller's stack (outside libpooldbg), interned, to `stack_depth`
/// frames; 0 when disabled or when the unwinder itself called malloc (it
/// must not recurse into itself).
pub fn record_caller() -> u32 {
    let depth = state::options().stack_depth;
    if depth == 0 || tls::in_capture() {
        return 0;
    }
    tls::set_in_capture(true);
    let id = record(depth);
    tls::set_in_capture(false);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_only_ids_print_as_no_stack() {
        assert_eq!(printable(0), 0);
        assert_eq!(printable(12345), 12345);
        assert_eq!(printable(12345 | CALLER_ONLY), 0);
        assert_eq!(intern_caller(0), 0);
        // Entry ids stay below the marker bit: the depot's words do.
        assert!(DEPOT_BYTES / 8 < CALLER_ONLY as usize);
    }
}
