//! Size classes and the geometry of a slot: pure arithmetic, unit-tested.
//!
//! A pool serves one size class. Its slots are `run_pages` object pages
//! followed by one guard page, laid end to end, so slot index <-> address is a
//! multiplication. A block uses only the last pages of its slot's object
//! pages: the user bytes end against the guard (right-aligned to 16 bytes or
//! to the requested alignment), preceded by an 8-byte owner link and at least
//! 8 canary bytes; the tail padding between the block's end and its page's
//! end is canary too. Pages of the slot the block does not need stay trapped.
//!
//! ```text
//!  slot: | trapped ... | head canary | link | user bytes | tail canary | guard |
//!                      ^run_start           ^user                      ^run_end
//! ```

use crate::sys::PAGE;

/// In-band bytes before the user block: 8 canary bytes + the 8-byte owner link.
pub const HEADER: usize = 16;
/// The least alignment of every block (and that of plain blocks by default).
pub const MIN_ALIGN: usize = 16;
/// The alignment a plain `malloc`/`calloc`/`realloc`/`new` asks for: 16, or
/// what the `alignment` option says, placed as `protect_below` says. An
/// explicit alignment (`posix_memalign`, `aligned_alloc`, `memalign`,
/// aligned `new`) is at least `MIN_ALIGN` and always honoured as given.
pub const PLAIN: usize = 1;

const SMALL_STEP: usize = 16;
const SMALL_CLASSES: usize = 8; // 16..=128
const STEPS_PER_DOUBLING: usize = 4;
const FIRST_DOUBLING_LOG2: u32 = 7; // 128 < size <= 256 is the first doubling
const LAST_CLASS_LOG2: u32 = 34; // 16 GiB
/// The size classes that step by quarters of a doubling, up to 16 GiB.
const STEPPED_CLASSES: usize = SMALL_CLASSES + (LAST_CLASS_LOG2 - FIRST_DOUBLING_LOG2) as usize * STEPS_PER_DOUBLING;
/// The largest stepped class.
pub const MAX_CLASS_SIZE: usize = 1 << LAST_CLASS_LOG2;
/// The huge class: every block beyond `MAX_CLASS_SIZE`, up to `HUGE_MAX`.
/// Its pool has a larger span of its own (heap/pool.rs), and its slots are
/// made usable run by run rather than committed as a prefix.
pub const HUGE: usize = STEPPED_CLASSES;
pub const HUGE_MAX: usize = 1 << 41; // 2 TiB
/// Guarded size classes, the huge one last.
pub const NCLASSES: usize = STEPPED_CLASSES + 1;

/// Dense pools serve the classes up to this size: several blocks per page,
/// no guard page (when guard pages run out, or for unsampled blocks).
pub const DENSE_MAX: usize = 64 * 1024;
/// Classes 0..NDENSE have a dense twin pool.
pub const NDENSE: usize = dense_classes();
/// Guarded pools are 0..NCLASSES; dense pool of class c is NCLASSES + c.
pub const NPOOLS: usize = NCLASSES + NDENSE;

const fn dense_classes() -> usize {
    let mut i = 0;
    while class_size(i) <= DENSE_MAX {
        i += 1;
    }
    i
}

/// Bytes of one dense slot of class `i`: 8 canary bytes, the owner link, the
/// block, and at least 16 bytes of tail canary, in 16-byte units.
pub const fn dense_slot_bytes(i: usize) -> usize {
    (HEADER + class_size(i) + 16).next_multiple_of(16)
}

/// A block in a dense slot: after the header, the whole slot is its run.
pub fn place_dense(slot: usize, i: usize) -> Placement {
    Placement { user: slot + HEADER, run_start: slot, run_end: slot + dense_slot_bytes(i) }
}

/// The largest block size class `i` serves.
pub const fn class_size(i: usize) -> usize {
    if i == HUGE {
        return HUGE_MAX;
    }
    if i < SMALL_CLASSES {
        return (i + 1) * SMALL_STEP;
    }
    let d = i - SMALL_CLASSES;
    let k = FIRST_DOUBLING_LOG2 as usize + d / STEPS_PER_DOUBLING;
    let j = d % STEPS_PER_DOUBLING + 1;
    (1 << k) + j * (1 << (k - 2))
}

/// The smallest class that serves `n` bytes, or None if `n` is beyond all.
pub fn class_for(n: usize) -> Option<usize> {
    if n <= SMALL_CLASSES * SMALL_STEP {
        return Some(n.max(1).div_ceil(SMALL_STEP) - 1);
    }
    if n > MAX_CLASS_SIZE {
        return (n <= HUGE_MAX).then_some(HUGE);
    }
    let k = usize::BITS - 1 - (n - 1).leading_zeros(); // 2^k < n <= 2^(k+1)
    let quarter = 1usize << (k - 2);
    let j = (n - (1 << k)).div_ceil(quarter); // 1..=4
    Some(SMALL_CLASSES + (k - FIRST_DOUBLING_LOG2) as usize * STEPS_PER_DOUBLING + j - 1)
}

/// Object pages in a slot of class `i` (the guard page not included).
pub const fn run_pages(i: usize) -> usize {
    (class_size(i) + HEADER).div_ceil(PAGE)
}

/// Bytes of one slot of class `i`: its object pages plus the guard page.
pub const fn slot_bytes(i: usize) -> usize {
    (run_pages(i) + 1) * PAGE
}

/// The class that can hold `size` bytes at alignment `align` (a power of two).
pub fn class_for_request(size: usize, align: usize) -> Option<usize> {
    let need = if align <= MIN_ALIGN { size.checked_next_multiple_of(MIN_ALIGN)? } else { size.checked_add(align)? };
    class_for(need)
}

/// Where a block lives inside its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// First user byte.
    pub user: usize,
    /// First page the block uses (holds the head canary and owner link).
    pub run_start: usize,
    /// End of the last page the block uses (a trapped page follows).
    pub run_end: usize,
}

impl Placement {
    pub fn run_len(&self) -> usize {
        self.run_end - self.run_start
    }
}

/// Places `size` bytes at alignment `align` in the slot at `slot` of class `i`,
/// right-aligned against the slot's guard page. `align` is a power of two;
/// 1 gives a byte-exact end (no tail padding).
pub fn place(slot: usize, i: usize, size: usize, align: usize) -> Placement {
    let guard = slot + run_pages(i) * PAGE;
    let user = (guard - size) & !(align - 1);
    let run_end = (user + size).next_multiple_of(PAGE).max(user.next_multiple_of(PAGE));
    let run_start = (user - HEADER) & !(PAGE - 1);
    debug_assert!(run_start >= slot && run_end <= guard);
    Placement { user, run_start, run_end }
}

/// Places `size` bytes at the very start of the slot, so the page below (the
/// previous slot's guard, or the pool's leading page) traps underflows.
pub fn place_below(slot: usize, size: usize) -> Placement {
    Placement { user: slot, run_start: slot, run_end: (slot + size).next_multiple_of(PAGE).max(slot + PAGE) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_grow_and_cover_every_size() {
        for i in 1..NCLASSES {
            assert!(class_size(i) > class_size(i - 1), "class {i}");
        }
        assert_eq!(class_size(0), 16);
        assert_eq!(class_size(7), 128);
        assert_eq!(class_size(8), 160);
        assert_eq!(class_size(HUGE - 1), MAX_CLASS_SIZE);
        assert_eq!(class_for(MAX_CLASS_SIZE + 1), Some(HUGE));
        assert_eq!(class_for(HUGE_MAX), Some(HUGE));
        for n in (0..70_000).chain([1 << 20, (1 << 20) + 1, MAX_CLASS_SIZE]) {
            let c = class_for(n).unwrap();
            assert!(class_size(c) >= n, "n={n}");
            assert!(c == 0 || class_size(c - 1) < n.max(1), "n={n} not the smallest");
        }
        assert_eq!(class_for(HUGE_MAX + 1), None);
        assert_eq!(class_for(usize::MAX), None);
    }

    #[test]
    fn impossible_requests_have_no_class() {
        assert_eq!(class_for_request(usize::MAX, 16), None);
        assert_eq!(class_for_request(usize::MAX - 8, 4096), None);
        assert_eq!(class_for_request(isize::MAX as usize + 1, 16), None);
    }

    #[test]
    fn small_blocks_take_one_page_and_a_guard() {
        assert_eq!(run_pages(class_for(13).unwrap()), 1);
        assert_eq!(slot_bytes(class_for(3500).unwrap()), 2 * PAGE);
        assert_eq!(run_pages(class_for(4096).unwrap()), 2); // header does not fit
    }

    #[test]
    fn blocks_end_at_the_guard_with_at_most_15_bytes_of_padding() {
        for size in [0usize, 1, 13, 16, 17, 4079, 4080, 4081, 5000, 100_000] {
            let i = class_for_request(size, MIN_ALIGN).unwrap();
            let slot = 0x7000_0000_0000;
            let p = place(slot, i, size, MIN_ALIGN);
            let guard = slot + run_pages(i) * PAGE;
            assert_eq!(p.user % MIN_ALIGN, 0);
            assert!(guard - (p.user + size) < MIN_ALIGN, "size {size}");
            assert_eq!(p.run_end, guard, "size {size}");
            assert!(p.run_start >= slot && p.user - p.run_start >= HEADER);
            assert_eq!(p.run_len() / PAGE, (guard - p.user + HEADER).div_ceil(PAGE).max(1));
        }
    }

    #[test]
    fn aligned_blocks_fit_their_slot() {
        let slot = 0x7000_0000_0000;
        let mut align = 8;
        while align <= 1 << 16 {
            for size in [1usize, 40, 4096, 70_000] {
                let i = class_for_request(size, align).unwrap();
                let p = place(slot, i, size, align.max(MIN_ALIGN));
                assert_eq!(p.user % align, 0);
                assert!(p.run_start >= slot);
                assert!(p.run_end <= slot + run_pages(i) * PAGE);
                assert!(p.user + size <= p.run_end && p.run_end - (p.user + size) < PAGE);
            }
            align *= 2;
        }
    }

    #[test]
    fn below_placement_starts_at_the_slot() {
        let slot = 0x7000_0000_0000;
        assert_eq!(place_below(slot, 0), Placement { user: slot, run_start: slot, run_end: slot + PAGE });
        assert_eq!(place_below(slot, PAGE + 1).run_end, slot + 2 * PAGE);
    }

    #[test]
    fn dense_slots_hold_header_block_and_tail_canary() {
        assert_eq!(class_size(NDENSE - 1), DENSE_MAX);
        for i in 0..NDENSE {
            let pl = place_dense(0x1000, i);
            assert_eq!(pl.user % 16, 0);
            assert!(pl.run_end - (pl.user + class_size(i)) >= 16);
        }
        assert_eq!(dense_slot_bytes(0), 48);
    }

    #[test]
    fn byte_exact_placement_has_no_padding() {
        let slot = 0x7000_0000_0000;
        let i = class_for_request(13, MIN_ALIGN).unwrap();
        let p = place(slot, i, 13, 1);
        assert_eq!(p.user + 13, slot + run_pages(i) * PAGE);
    }
}
