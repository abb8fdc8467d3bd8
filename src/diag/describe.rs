//! The wording of every report about a block or a bad pointer: where an
//! address lies, the block's free and allocation stacks, and one function
//! per kind of bad pointer handed to free/realloc/delete, each a whole
//! report (first line, details, stacks, then `on_error`).

use core::sync::atomic::Ordering::Relaxed;

use super::frames;
use super::report::{self, Bug};
use crate::heap::block::Block;
use crate::heap::canary::Damage;
use crate::heap::pool::{self, Where};
use crate::heap::slot::SlotState;
use crate::out::say;

/// "ADDR is located N bytes to the right of / to the left of / inside of
/// [freed ]SIZE-byte block [USER,END) in pool P": where an access fell.
pub fn located(addr: usize, b: &Block) {
    let (user, size) = (b.user(), b.size);
    let what = if b.freed() { "freed " } else { "" };
    let (n, rel) = if addr >= user + size {
        (addr - (user + size), "to the right of")
    } else if addr < user {
        (user - addr, "to the left of")
    } else {
        (addr - user, "inside of")
    };
    say!(
        "  {:#x} is located {} bytes {} {}{}-byte block [{:#x},{:#x}) in pool {}",
        addr,
        n,
        rel,
        what,
        size,
        user,
        user + size,
        pool::name(b.pool)
    );
}

/// "ADDR lies in libpooldbg's heap but near no block": an access (or a
/// buffer handed to the kernel) in our heap with no block nearby.
pub fn wild(addr: usize) {
    say!("  {:#x} lies in libpooldbg's heap but near no block (a wild or stale pointer)", addr);
}

/// A block's free stack (when it is freed) and its allocation stack: the
/// tail of every report about a block.
pub fn block_stacks(b: &Block) {
    if b.state() == SlotState::Quarantined {
        say!("  freed by thread T{} here:", b.meta.free_tid.load(Relaxed));
        frames::print_id(b.meta.free_stack.load(Relaxed));
    }
    say!("  allocated by {} in thread T{} here:", b.kind().func(), b.meta.alloc_tid.load(Relaxed));
    frames::print_id(b.meta.alloc_stack.load(Relaxed));
}

/// The stack of the bad call, then the block's free and allocation stacks.
fn history(b: &Block) {
    frames::print_here();
    block_stacks(b);
}

/// A pointer outside every slot handed to `func`.
pub fn foreign_pointer(addr: usize, func: &str) {
    report::begin(Bug::InvalidFree, func, addr);
    match pool::locate(addr) {
        Where::Foreign => say!(
            "  {:#x} was not returned by malloc: it is outside libpooldbg's heap (stack, global, mmap'ed or wild pointer)",
            addr
        ),
        _ => say!("  {:#x} was not returned by malloc: it lies in libpooldbg's heap but in no block", addr),
    }
    frames::print_here();
    report::finish();
}

/// A pointer inside a live block, not at its start.
pub fn interior_pointer(addr: usize, func: &str, b: &Block) {
    report::begin(Bug::InteriorPointerFree, func, addr);
    say!(
        "  {:#x} is {} bytes inside the {}-byte block [{:#x},{:#x}) in pool {}",
        addr,
        addr - b.user(),
        b.size,
        b.user(),
        b.end(),
        pool::name(b.pool)
    );
    history(b);
    report::finish();
}

/// The start of a block already freed.
pub fn double_free(addr: usize, func: &str, b: &Block) {
    report::begin(Bug::DoubleFree, func, addr);
    say!(
        "  {:#x} is the {}-byte block [{:#x},{:#x}) in pool {}, already freed by thread T{}",
        addr,
        b.size,
        b.user(),
        b.end(),
        pool::name(b.pool),
        b.meta.free_tid.load(Relaxed)
    );
    history(b);
    report::finish();
}

/// A pointer into a slot that is no block's start.
pub fn not_a_block(addr: usize, func: &str, b: &Block) {
    report::begin(Bug::InvalidFree, func, addr);
    let what = match b.state() {
        SlotState::Live => "a live block's slot, outside the block",
        SlotState::Quarantined => "a freed block's slot",
        _ => "a slot that holds no block",
    };
    say!("  {:#x} is not the start of a heap block: it lies in {} (pool {})", addr, what, pool::name(b.pool));
    if matches!(b.state(), SlotState::Live | SlotState::Quarantined) {
        say!("  nearest block: {}-byte block [{:#x},{:#x})", b.size, b.user(), b.end());
    }
    frames::print_here();
    report::finish();
}

/// A block whose canaries or owner link `func` found damaged.
pub fn damaged(func: &str, b: &Block, damage: Damage) {
    let class = pool::name(b.pool);
    match damage {
        Damage::Tail(bad) => {
            report::begin(Bug::HeapBufferOverflow, func, b.user());
            say!(
                "  the canary after the {}-byte block [{:#x},{:#x}) in pool {} was overwritten:",
                b.size,
                b.user(),
                b.end(),
                class
            );
            say!(
                "  first corrupted byte {:#x} is {} bytes to the right of the block (found by {})",
                bad,
                bad - b.end(),
                func
            );
        }
        Damage::Head(bad) => {
            report::begin(Bug::HeapBufferUnderflow, func, b.user());
            say!(
                "  the canary before the {}-byte block [{:#x},{:#x}) in pool {} was overwritten:",
                b.size,
                b.user(),
                b.end(),
                class
            );
            say!(
                "  last corrupted byte {:#x} is {} bytes to the left of the block (found by {})",
                bad,
                b.user() - bad,
                func
            );
        }
        Damage::Link { found, expected } => {
            report::begin(Bug::CorruptedOwnerLink, func, b.user());
            say!(
                "  the owner link at {:#x}, 8 bytes before the {}-byte block [{:#x},{:#x}) in pool {}, holds {:#x}; expected {:#x}",
                b.user() - 8,
                b.size,
                b.user(),
                b.end(),
                class,
                found,
                expected
            );
            say!("  (an underflow or a wild write hit the block's header)");
        }
    }
    history(b);
    report::finish();
}

/// A block released by `func` of the wrong family.
pub fn kind_mismatch(func: &str, b: &Block) {
    report::begin(Bug::AllocDeallocMismatch, func, b.user());
    say!(
        "  the {}-byte block [{:#x},{:#x}) was allocated by {} and is released by {}",
        b.size,
        b.user(),
        b.end(),
        b.kind().func(),
        func
    );
    say!("  (pair malloc/free, new/delete, new[]/delete[])");
    history(b);
    report::finish();
}

/// Sized delete given `sized` bytes for a block of another size.
pub fn size_mismatch(func: &str, b: &Block, sized: usize) {
    report::begin(Bug::NewDeleteSizeMismatch, func, b.user());
    say!("  the block was allocated with {} bytes, sized delete was given {} bytes", b.size, sized);
    history(b);
    report::finish();
}

/// A freed dense block's poison was overwritten (found at reuse, byte `bad`).
pub fn dense_write_after_free(b: &Block, bad: usize) {
    report::begin_raw(format_args!(
        "heap-use-after-free on address {:#x} (WRITE of unknown size, found when the block was reused)",
        bad
    ));
    located(bad, b);
    say!("  the freed block's poison (free_fill) was overwritten; dense pools cannot trap the write itself");
    block_stacks(b);
    report::finish();
}
