//! The heap check: every live block's canaries and owner link. A free checks
//! its own block, so an overflow into a block's slack (the 0–15 bytes of
//! alignment padding the guard page cannot cover), or an underflow into its
//! header, was never found in a block the program keeps to the end. The
//! check runs at exit (by default), when the program calls
//! `pooldbg_check_heap()`, and at the statistics signal; each damaged
//! block is reported with its first bad byte and its allocation stack.
//!
//! Other threads may free a block while it is read: then its bytes are
//! copied with `mem::probe_copy`, whose fault on a page given back meanwhile
//! the fault handler turns into a failed copy, and a block whose state word
//! changed meanwhile is not reported. A process with one thread reads directly,
//! except in a signal handler, which may have interrupted a realloc that was
//! rewriting its block's canary.

use core::sync::atomic::Ordering::Acquire;

use core::sync::atomic::{AtomicI32, Ordering::AcqRel};

use super::{describe, report};
use crate::config::options::OnError;
use crate::config::state;
use crate::heap::block::Block;
use crate::heap::canary;
use crate::heap::layout::NPOOLS;
use crate::heap::pool::{self, arena};
use crate::heap::slot::{state_of, SlotState};
use crate::sys::{self, mem, proc};

/// Where the check runs from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum When {
    Exit,
    /// `pooldbg_check_heap()`.
    Call,
    /// The `stats_signal` handler.
    Signal,
}

impl When {
    fn words(self) -> &'static str {
        match self {
            When::Exit => "at exit",
            When::Call => "by pooldbg_check_heap",
            When::Signal => "at the statistics signal",
        }
    }
}

/// Checks every live block; reports each damaged one. Returns how many were
/// reported. The program goes on.
pub fn check(when: When) -> usize {
    if !state::ready() {
        return 0;
    }
    let mut threads = 0;
    let alone = when != When::Signal && proc::for_each_thread(|_| threads += 1) && threads <= 1;
    let (states, _) = pool::snapshot();
    let mut reported = 0;
    for (i, p) in arena().pools.iter().enumerate().take(NPOOLS) {
        for slot in 0..states[i].bump.min(p.capacity) {
            if state_of(p.meta(slot).state.load(Acquire)) != SlotState::Live {
                continue;
            }
            let b = Block::read(i, slot);
            if b.state() != SlotState::Live {
                continue;
            }
            let damage = if alone {
                canary::check(&b)
            } else {
                // SAFETY: buf is ours; the probe survives a trapped source.
                canary::check_with(&b, |a, buf| unsafe { mem::probe_copy(buf.as_mut_ptr(), a, buf.len()) })
            };
            let Some(damage) = damage else { continue };
            // Freed (and perhaps reused) while we read it: not this block's damage.
            if p.meta(slot).state.load(Acquire) != b.word {
                continue;
            }
            describe::damaged_live(when.words(), &b, damage);
            reported += 1;
        }
    }
    reported
}

/// The process that ran the check at exit (once per process).
static CHECKED_BY: AtomicI32 = AtomicI32::new(0);

/// At exit: checks every block the program never freed. True if one was
/// damaged: the caller exits with `exitcode` after the leak check (unless
/// on_error=continue). Once per process, and not in a vfork child that
/// calls exit() (it shares its parent's heap, which runs on).
pub fn at_exit() -> bool {
    if !state::ready() {
        return false;
    }
    let me = sys::getpid();
    if CHECKED_BY.swap(me, AcqRel) == me || sys::process::shares_memory_with_parent() {
        return false;
    }
    check(When::Exit) > 0 && state::options().on_error != OnError::Continue
}

/// After the exit-time checks found a damaged block: exit with `exitcode`.
pub fn exit_damaged() {
    report::exit_with_code();
}
