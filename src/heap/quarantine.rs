//! The quarantine: freed slots wait, oldest first, before their addresses
//! are handed out again, so a use-after-free hits a trapped page rather than
//! somebody else's new block.
//!
//! Pure logic on plain values, unit-tested here: when a slot is reused
//! (`source`), and the FIFO list itself, linked through the slots' records
//! (`Fifo`). `core::pool` runs both under the pool lock.

use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// No slot: the end of a list.
pub const NO_SLOT: u32 = u32::MAX;

/// How long freed slots wait.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bounds {
    /// Address space of all quarantined slots together, bytes.
    pub bytes: u64,
    /// Quarantined slots per guarded pool.
    pub slots: u64,
    /// Quarantined slots per dense pool (their pages stay resident).
    pub dense_slots: u64,
}

/// Where the next slot of a pool comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The oldest quarantined slot.
    Quarantine,
    /// A never-used slot.
    Fresh,
    /// Neither: the pool is exhausted.
    Exhausted,
}

/// One pool's position, as `source` needs it.
#[derive(Clone, Copy, Debug)]
pub struct Fill {
    /// Slots in this pool's quarantine.
    pub q_len: u32,
    /// Address space quarantined in all pools, bytes.
    pub q_bytes: u64,
    /// Next never-used slot.
    pub bump: u32,
    pub capacity: u32,
}

/// Reuse the oldest quarantined slot once the quarantine is over one of its
/// bounds, or when no never-used slot is left; otherwise take a fresh one.
pub fn source(f: Fill, max_bytes: u64, max_slots: u64) -> Source {
    if f.q_len > 0 && (f.q_bytes > max_bytes || f.q_len as u64 > max_slots || f.bump >= f.capacity) {
        Source::Quarantine
    } else if f.bump < f.capacity {
        Source::Fresh
    } else {
        Source::Exhausted
    }
}

/// A FIFO of slots linked through `link(slot)`, the records' `next` fields.
#[derive(Clone, Copy, Debug)]
pub struct Fifo {
    pub head: u32,
    pub tail: u32,
}

impl Fifo {
    pub const EMPTY: Fifo = Fifo { head: NO_SLOT, tail: NO_SLOT };

    /// Appends `slot` (the newest).
    pub fn push_back<'a>(&mut self, slot: u32, link: impl Fn(u32) -> &'a AtomicU32) {
        link(slot).store(NO_SLOT, Relaxed);
        if self.tail == NO_SLOT {
            self.head = slot;
        } else {
            link(self.tail).store(slot, Relaxed);
        }
        self.tail = slot;
    }

    /// Puts `slot` first in line (a slot given back unused).
    pub fn push_front<'a>(&mut self, slot: u32, link: impl Fn(u32) -> &'a AtomicU32) {
        link(slot).store(self.head, Relaxed);
        self.head = slot;
        if self.tail == NO_SLOT {
            self.tail = slot;
        }
    }

    /// Takes the oldest slot.
    pub fn pop_front<'a>(&mut self, link: impl Fn(u32) -> &'a AtomicU32) -> Option<u32> {
        if self.head == NO_SLOT {
            return None;
        }
        let slot = self.head;
        self.head = link(slot).load(Relaxed);
        if self.head == NO_SLOT {
            self.tail = NO_SLOT;
        }
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(q_len: u32, q_bytes: u64, bump: u32) -> Fill {
        Fill { q_len, q_bytes, bump, capacity: 100 }
    }

    #[test]
    fn fresh_slots_first_while_the_quarantine_is_within_bounds() {
        assert_eq!(source(fill(0, 0, 0), 1000, 10), Source::Fresh);
        assert_eq!(source(fill(10, 1000, 5), 1000, 10), Source::Fresh, "at the bounds, not over");
    }

    #[test]
    fn the_oldest_freed_slot_once_over_a_bound() {
        assert_eq!(source(fill(11, 0, 5), 1000, 10), Source::Quarantine, "over the slot bound");
        assert_eq!(source(fill(1, 1001, 5), 1000, 10), Source::Quarantine, "over the byte bound");
        assert_eq!(source(fill(1, 0, 100), 1000, 10), Source::Quarantine, "no fresh slot left");
    }

    #[test]
    fn exhausted_only_when_both_are_empty() {
        assert_eq!(source(fill(0, 0, 100), 1000, 10), Source::Exhausted);
        assert_eq!(source(fill(0, 5000, 100), 0, 0), Source::Exhausted);
        // A zero-length quarantine reuses every freed slot at once.
        assert_eq!(source(fill(1, 4096, 3), 0, 0), Source::Quarantine);
    }

    #[test]
    fn fifo_order_with_returns_in_front() {
        let links: [AtomicU32; 8] = core::array::from_fn(|_| AtomicU32::new(0));
        let link = |s: u32| &links[s as usize];
        let mut q = Fifo::EMPTY;
        assert_eq!(q.head, NO_SLOT);
        assert_eq!(q.pop_front(link), None);
        for s in [3, 1, 4] {
            q.push_back(s, link);
        }
        q.push_front(6, link); // given back unused: first in line
        let mut order = [0u32; 4];
        for o in order.iter_mut() {
            *o = q.pop_front(link).unwrap();
        }
        assert_eq!(order, [6, 3, 1, 4]);
        assert!(q.head == NO_SLOT && q.tail == NO_SLOT);
        // Refills after running dry.
        q.push_front(2, link);
        q.push_back(5, link);
        assert_eq!((q.pop_front(link), q.pop_front(link), q.pop_front(link)), (Some(2), Some(5), None));
    }
}
