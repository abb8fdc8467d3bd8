//! The wording of every report about a block or a bad pointer: where an
//! address lies, the block's free and allocation stacks, where the threads
//! a report names came from, and one function per kind of bad pointer
//! handed to free/realloc/delete, each a whole report (first line, details,
//! stacks, then `on_error`).

use core::sync::atomic::Ordering::Relaxed;

use super::frames;
use super::picture::{self, Shape};
use super::report::{self, Bug};
use crate::heap::block::Block;
use crate::heap::canary::Damage;
use crate::heap::pool::{self, arena, Where};
use crate::heap::slot::SlotState;
use crate::heap::threads::{self, Origin};
use crate::out::say;
use crate::util::fmt::Bytes;

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
    let shape = Shape { user, size, run_end: b.pl.run_end, freed: b.freed(), dense: arena().pools[b.pool].dense };
    let (block, caret) = picture::draw(addr, &shape);
    say!("{}", Bytes(block.as_bytes()));
    say!("{}", Bytes(caret.as_bytes()));
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

/// What `pooldbg_describe_address(addr)` prints: the block `addr` lies in
/// or next to, with its state and stacks, or where else it is. Not a bug
/// report: no kind, no `on_error`.
pub fn on_request(addr: usize) {
    let block = match pool::locate(addr) {
        Where::Slot { pool, slot } => Block::at(pool, slot as i64),
        _ => None,
    };
    let Some(b) = block else {
        let place = if pool::locate(addr) == Where::Foreign {
            "is not in libpooldbg's heap"
        } else {
            "lies in libpooldbg's heap but in no block"
        };
        say!("libpooldbg: {:#x} {}", addr, place);
        return;
    };
    let state = if b.freed() { "freed block (still in quarantine)" } else { "live block" };
    say!("libpooldbg: {:#x} belongs to a {}:", addr, state);
    located(addr, &b);
    block_stacks(&b);
}

/// The stack of the bad call, then the block's free and allocation stacks
/// and where their threads came from.
fn history(b: &Block) {
    frames::print_here();
    block_stacks(b);
    thread_origins(None, Some(b));
}

/// At most this many thread origins in one report: a longer chain of
/// creators stops there (its last line still names the next creator).
const MAX_ORIGINS: usize = 32;

/// The end of a report: where each thread it names came from (`first`, the
/// faulting thread; then the block's freeing and allocating threads), each
/// once, each followed by its creator's origin and so on back to T0. T0
/// (normally the main thread) has none.
pub fn thread_origins(first: Option<u32>, b: Option<&Block>) {
    let mut named = [0u32; 3];
    let mut n = 0;
    let mut name = |t: u32| {
        named[n] = t;
        n += 1;
    };
    if let Some(t) = first {
        name(t);
    }
    if let Some(b) = b {
        if b.state() == SlotState::Quarantined {
            name(b.meta.free_tid.load(Relaxed));
        }
        name(b.meta.alloc_tid.load(Relaxed));
    }
    let mut shown = [0u32; MAX_ORIGINS];
    let mut count = 0;
    for &t in &named[..n] {
        let mut t = t;
        while t != 0 && count < MAX_ORIGINS && !shown[..count].contains(&t) {
            shown[count] = t;
            count += 1;
            match threads::origin(t) {
                Origin::Created { by, stack } => {
                    say!("  thread T{} created by T{} here:", t, by);
                    frames::print_id(stack);
                    t = by;
                }
                Origin::Unseen => {
                    say!(
                        "  thread T{} was not created by pthread_create (not through libpooldbg's: by clone(), by libc itself, or by a direct call to libc's)",
                        t
                    );
                    break;
                }
                Origin::Beyond => {
                    say!(
                        "  thread T{} was not created by pthread_create (or was not recorded: libpooldbg records threads T1 to T{} only)",
                        t,
                        threads::CAPACITY - 1
                    );
                    break;
                }
                Origin::NoTable => {
                    say!(
                        "  thread T{} was not created by pthread_create (or was not recorded: libpooldbg had no memory for its thread table)",
                        t
                    );
                    break;
                }
            }
        }
    }
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

/// A block whose canaries or owner link `func` found damaged when the
/// program released it.
pub fn damaged(func: &str, b: &Block, damage: Damage) {
    report::begin(damage_kind(damage), func, b.user());
    damage_details(func, b, damage);
    history(b);
    report::finish();
}

/// A live block the heap check found damaged (`when`: "at exit", …). The
/// caller decides what happens after: more blocks may follow.
pub fn damaged_live(when: &str, b: &Block, damage: Damage) {
    report::begin_raw(format_args!("{} on live block {:#x} (found {})", damage_kind(damage).name(), b.user(), when));
    damage_details("the heap check", b, damage);
    history(b);
    report::finish_and_go_on();
}

fn damage_kind(damage: Damage) -> Bug {
    match damage {
        Damage::Tail(_) => Bug::HeapBufferOverflow,
        Damage::Head(_) => Bug::HeapBufferUnderflow,
        Damage::Link { .. } => Bug::CorruptedOwnerLink,
    }
}

fn damage_details(func: &str, b: &Block, damage: Damage) {
    let class = pool::name(b.pool);
    match damage {
        Damage::Tail(bad) => {
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
    thread_origins(None, Some(b));
    report::finish();
}
