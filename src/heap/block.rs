//! The one description of a block: which pool and slot, its state word,
//! its record, its size and where its bytes and pages lie. Everything that
//! looks at a block (free, realloc, the fault handler, the leak check, the
//! dense poison check) reads it through `Block`.

use core::sync::atomic::Ordering::Acquire;

use super::layout::Placement;
use super::pool::{arena, locate, Where};
use super::slot::{kind_of, state_of, AllocKind, SlotMeta, SlotState};

#[derive(Clone, Copy)]
pub struct Block {
    pub pool: usize,
    pub slot: u32,
    /// The state word the block was read with.
    pub word: u32,
    pub meta: &'static SlotMeta,
    pub size: usize,
    /// Its pages `run_start..run_end`; `pl.user` is its first byte.
    pub pl: Placement,
}

impl Block {
    /// The block recorded in `slot` of `pool`, whatever its state.
    pub fn read(pool: usize, slot: u32) -> Block {
        let p = &arena().pools[pool];
        let meta = p.meta(slot);
        let word = meta.state.load(Acquire);
        let (size, pl) = p.recorded_block(slot);
        Block { pool, slot, word, meta, size, pl }
    }

    /// The block in slot `slot` of `pool` if that slot exists and holds a
    /// live or freed block.
    pub fn at(pool: usize, slot: i64) -> Option<Block> {
        let p = &arena().pools[pool];
        if slot < 0 || slot >= p.capacity as i64 {
            return None;
        }
        let b = Block::read(pool, slot as u32);
        matches!(b.state(), SlotState::Live | SlotState::Quarantined).then_some(b)
    }

    /// The live block whose bytes contain `addr` (a zero-size block counts
    /// its first byte), by arithmetic and our own records only.
    pub fn live_containing(addr: usize) -> Option<Block> {
        let Where::Slot { pool, slot } = locate(addr) else { return None };
        let b = Block::read(pool, slot);
        (b.state() == SlotState::Live && b.contains(addr)).then_some(b)
    }

    pub fn user(&self) -> usize {
        self.pl.user
    }

    /// One past its last byte.
    pub fn end(&self) -> usize {
        self.pl.user + self.size
    }

    pub fn state(&self) -> SlotState {
        state_of(self.word)
    }

    pub fn kind(&self) -> AllocKind {
        kind_of(self.word)
    }

    pub fn freed(&self) -> bool {
        self.state() == SlotState::Quarantined
    }

    /// True if `addr` is one of the block's bytes (its first, when empty).
    pub fn contains(&self, addr: usize) -> bool {
        addr >= self.user() && addr < self.user() + self.size.max(1)
    }

    /// True if `addr` lies in the pages the block used.
    pub fn in_run(&self, addr: usize) -> bool {
        addr >= self.pl.run_start && addr < self.pl.run_end
    }

    /// Distance from the block's bytes to `addr` (0 inside).
    pub fn distance(&self, addr: usize) -> usize {
        if addr < self.user() {
            self.user() - addr
        } else if addr >= self.end() {
            addr - self.end() + 1
        } else {
            0
        }
    }
}
