//! A slot's out-of-band record and its state machine.
//!
//! ```text
//!            take_slots            allocate            free (CAS)
//!  Unused ──────────────► Claimed ──────────► Live ──────────────► Quarantined
//!                            ▲  (set-up failed: back to Unused/Quarantined) │
//!                            └──────────────────────────────────────────────┘
//!                                  reused once the quarantine is full
//! ```
//! The state word holds the state (bits 0–7), how the block was allocated
//! (bits 8–15) and flags (16–19): the leak check's marks, and the two marks
//! `on_error=continue` leaves. Every bit of it is defined here.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};

/// Life of a slot, in `SlotMeta::state` (low byte).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum SlotState {
    /// Never handed out.
    Unused = 0,
    /// Being set up by its allocating thread.
    Claimed = 1,
    Live = 2,
    /// Freed: pages released and trapped, waiting in the quarantine.
    Quarantined = 3,
}

/// How a block was allocated; checked against how it is freed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum AllocKind {
    Malloc = 0,
    New = 1,
    NewArray = 2,
}

impl AllocKind {
    pub fn from_bits(b: u32) -> AllocKind {
        match b {
            1 => AllocKind::New,
            2 => AllocKind::NewArray,
            _ => AllocKind::Malloc,
        }
    }

    /// The allocating function, as reports name it.
    pub fn func(self) -> &'static str {
        match self {
            AllocKind::Malloc => "malloc",
            AllocKind::New => "operator new",
            AllocKind::NewArray => "operator new[]",
        }
    }
}

/// Leak check: the block is reachable from a root.
pub const MARKED: u32 = 1 << 16;
/// Leak check: the block is pointed to by a leaked block.
pub const INDIRECT: u32 = 1 << 17;
/// on_error=continue opened a trapped page of this slot after a report; the
/// whole slot is trapped again at its next free or allocation.
pub const OPENED: u32 = 1 << 18;
/// on_error=continue reports each block once: this one was reported.
pub const REPORTED: u32 = 1 << 19;

pub fn state_word(s: SlotState, k: AllocKind) -> u32 {
    s as u32 | (k as u32) << 8
}

pub fn state_of(word: u32) -> SlotState {
    match word & 0xff {
        1 => SlotState::Claimed,
        2 => SlotState::Live,
        3 => SlotState::Quarantined,
        _ => SlotState::Unused,
    }
}

pub fn kind_of(word: u32) -> AllocKind {
    AllocKind::from_bits(word >> 8 & 0xff)
}

/// The word a slot gets when its block is freed: quarantined, same kind,
/// the flags dropped (a reported block's next life is reported afresh).
pub fn freed_word(live: u32) -> u32 {
    state_word(SlotState::Quarantined, kind_of(live))
}

/// Out-of-band record of one slot, 32 bytes: a record per slot ever used,
/// quarantined ones included, is most of libpooldbg's own memory. Where the
/// block lies is not stored: its size and alignment, with the slot, give it
/// again (`Pool::placement`). Fields other than `state` are written by the
/// thread that owns the slot's transition and published by the release
/// store to `state`; relaxed atomics make racy reads of buggy programs defined.
#[repr(C, align(32))]
pub struct SlotMeta {
    pub state: AtomicU32,
    /// Quarantine FIFO link; written only under the pool lock.
    pub next: AtomicU32,
    /// The block's size (low 56 bits) and log2 of its alignment (high 8).
    block: AtomicU64,
    pub alloc_tid: AtomicU32,
    pub free_tid: AtomicU32,
    pub alloc_stack: AtomicU32,
    pub free_stack: AtomicU32,
}

const SIZE_BITS: u32 = 56;

impl SlotMeta {
    pub const fn new() -> SlotMeta {
        SlotMeta {
            state: AtomicU32::new(0),
            next: AtomicU32::new(0),
            block: AtomicU64::new(0),
            alloc_tid: AtomicU32::new(0),
            free_tid: AtomicU32::new(0),
            alloc_stack: AtomicU32::new(0),
            free_stack: AtomicU32::new(0),
        }
    }

    /// Records the block's size and alignment (a power of two). Sizes stay
    /// far below 2^56: the largest size class is 16 GiB.
    pub fn set_block(&self, size: usize, align: usize) {
        debug_assert!(align.is_power_of_two() && (size as u64) >> SIZE_BITS == 0);
        self.block.store(size as u64 | (align.trailing_zeros() as u64) << SIZE_BITS, Relaxed);
    }

    /// The block's size and alignment, read together.
    pub fn block(&self) -> (usize, usize) {
        let v = self.block.load(Relaxed);
        ((v & ((1 << SIZE_BITS) - 1)) as usize, 1 << (v >> SIZE_BITS))
    }

    pub fn size(&self) -> usize {
        self.block().0
    }

    /// Frees the live block whose state word was `live`: of two racing
    /// frees exactly one wins (true); the loser sees the word changed.
    pub fn claim_for_free(&self, live: u32) -> bool {
        self.state.compare_exchange(live, freed_word(live), AcqRel, Acquire).is_ok()
    }

    /// Sets `flag` and says whether it was already set.
    pub fn test_and_set(&self, flag: u32) -> bool {
        self.state.fetch_or(flag, Relaxed) & flag != 0
    }
}

impl Default for SlotMeta {
    fn default() -> Self {
        SlotMeta::new()
    }
}

const _: () = assert!(core::mem::size_of::<SlotMeta>() == 32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_words_round_trip() {
        for s in [SlotState::Unused, SlotState::Claimed, SlotState::Live, SlotState::Quarantined] {
            for k in [AllocKind::Malloc, AllocKind::New, AllocKind::NewArray] {
                let w = state_word(s, k);
                assert_eq!((state_of(w), kind_of(w)), (s, k));
                // Flags never change what the state and kind read as.
                let flagged = w | MARKED | INDIRECT | OPENED | REPORTED;
                assert_eq!((state_of(flagged), kind_of(flagged)), (s, k));
            }
        }
        let flags = [MARKED, INDIRECT, OPENED, REPORTED];
        for (i, a) in flags.iter().enumerate() {
            assert_eq!(a & 0xffff, 0, "flag inside the state or kind bits");
            for b in &flags[i + 1..] {
                assert_eq!(a & b, 0, "two flags share a bit");
            }
        }
    }

    #[test]
    fn a_block_is_freed_exactly_once() {
        let m = SlotMeta::new();
        let live = state_word(SlotState::Live, AllocKind::New) | REPORTED | OPENED;
        m.state.store(live, Relaxed);
        assert!(m.claim_for_free(live));
        let w = m.state.load(Relaxed);
        assert_eq!((state_of(w), kind_of(w)), (SlotState::Quarantined, AllocKind::New));
        assert_eq!(w & (REPORTED | OPENED), 0, "a freed block starts its next life unflagged");
        // The second free of the same live word loses: a double free.
        assert!(!m.claim_for_free(live));
    }

    #[test]
    fn flags_are_set_once() {
        let m = SlotMeta::new();
        m.state.store(state_word(SlotState::Live, AllocKind::Malloc), Relaxed);
        assert!(!m.test_and_set(REPORTED));
        assert!(m.test_and_set(REPORTED));
        assert_eq!(state_of(m.state.load(Relaxed)), SlotState::Live);
    }

    #[test]
    fn size_and_alignment_share_a_word() {
        let m = SlotMeta::new();
        for (size, align) in [(0usize, 16usize), (13, 1), (1 << 34, 4096), ((1 << 56) - 1, 1 << 20)] {
            m.set_block(size, align);
            assert_eq!(m.block(), (size, align));
        }
    }
}
