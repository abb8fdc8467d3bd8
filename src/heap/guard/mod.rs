//! How pages are trapped: one interface, one file per mechanism.
//!
//! A guarded block's run of pages is *opened* when it is allocated and
//! *trapped* again when it is freed (its pages go back to the kernel and any
//! access faults); the page after each slot's run, and the slot's unused
//! pages, stay trapped all along. How that is done depends on the kernel:
//!
//! | mechanism  | file          | trap / open                          | maps per live block |
//! |------------|---------------|--------------------------------------|---------------------|
//! | `uffd`     | `uffd.rs`     | MADV_DONTNEED / UFFDIO_COPY (5.11+)   | none (pools commit) |
//! | `marker`   | `marker.rs`   | MADV_GUARD_INSTALL / _REMOVE (6.13+)  | none (pools commit) |
//! | `mprotect` | `mprotect.rs` | PROT_NONE remap / mprotect RW         | about two           |
//!
//! The huge pool (blocks beyond 16 GiB, terabytes of address space per slot)
//! is trapped by protection whatever the mechanism: `open` makes a run
//! read-write, `trap` gives its pages back and makes it `PROT_NONE` again.
//! A marker or a zero-page entry for every page of such a run would cost
//! gigabytes of page tables; its few mappings cost nothing.
//!
//! Start-up picks one (`select`): the one `guard=` names, or with
//! `guard=auto` the first in `MECHANISMS` that this kernel offers. Nothing
//! outside this folder knows which one is in use; callers ask the questions
//! below (the interface is `mechanism.rs`). Adding one is a file here
//! implementing `Mechanism`, an entry in `MECHANISMS`, and its name as a
//! value of the `guard` option.

mod marker;
mod mechanism;
mod mprotect;
mod uffd;

use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

use self::mechanism::Mechanism;
use super::layout::NCLASSES;
use super::pool::{self, arena};
use super::slot::{state_of, SlotState};
use super::turn;
use crate::config::options::GuardMode;
use crate::out::say;
use crate::sys::{self, mem};
use crate::util::global::Global;

/// In the order `guard=auto` tries them; the last one always works.
static MECHANISMS: [&dyn Mechanism; 3] = [&uffd::Uffd, &marker::Marker, &mprotect::Mprotect];

static ACTIVE: Global<&'static dyn Mechanism> = Global::new(&mprotect::Mprotect);

fn active() -> &'static dyn Mechanism {
    *ACTIVE.get()
}

/// Picks the mechanism for `mode` and sets it up over the guarded pools'
/// address space `[start, start + len)`. Err: the forced one is missing
/// here, with the one-line reason.
///
/// # Safety
/// Start-up only (writes a `Global`).
pub unsafe fn select(mode: GuardMode, start: usize, len: usize) -> Result<(), Missing> {
    let usable = |m: &dyn Mechanism| m.available() && m.setup(start, len);
    let chosen = match mode.name() {
        None => MECHANISMS.iter().find(|m| usable(**m)),
        Some(name) => {
            let m = MECHANISMS.iter().find(|m| m.name() == name).ok_or(Missing { name, requirement: "" })?;
            if !usable(*m) {
                return Err(Missing { name, requirement: m.requirement() });
            }
            Some(m)
        }
    };
    *ACTIVE.init_mut() = *chosen.unwrap_or(&MECHANISMS[MECHANISMS.len() - 1]);
    Ok(())
}

/// A forced mechanism this kernel lacks.
pub struct Missing {
    pub name: &'static str,
    pub requirement: &'static str,
}

/// The fallback that always works, for the "use guard=…" hint.
pub fn last_resort() -> &'static str {
    MECHANISMS[MECHANISMS.len() - 1].name()
}

pub fn describe() -> &'static str {
    active().describe()
}

pub fn commits() -> bool {
    active().commits()
}

/// True if `open` leaves the run populated (no prefault needed).
pub fn populates() -> bool {
    active().populates()
}

pub fn costs_maps() -> bool {
    active().costs_maps()
}

pub fn trap_fresh(start: usize, len: usize) -> bool {
    active().trap_fresh(start, len)
}

/// Opens a block's run (also: a trapped page a report opened for
/// `on_error=continue`).
pub fn open(start: usize, len: usize) -> bool {
    if pool::in_huge(start) {
        return mem::protect(start, len, mem::PROT_RW).is_ok();
    }
    active().open(start, len)
}

/// In a fork child: the mechanism sets up what the child did not inherit.
/// If it cannot, the child moves to the next mechanism that works here,
/// which first traps every page of the guarded pools that holds no live
/// block, and says so once: trapping is never lost silently.
pub fn after_fork_child() {
    let lost = active();
    if lost.after_fork_child() {
        return;
    }
    let next = MECHANISMS.iter().find(|m| m.name() != lost.name() && m.available());
    let Some(&next) = next else { return };
    let complete = trap_all_but_live(next);
    // SAFETY: a fork child is single-threaded until it returns to the program.
    unsafe { *ACTIVE.init_mut() = next };
    say!(
        "libpooldbg: WARNING: fork child {}: {} could not be set up again; guard pages now use {}{}",
        sys::getpid(),
        lost.describe(),
        next.describe(),
        if complete { "" } else { " (some freed blocks could not be trapped)" }
    );
}

/// Traps with `m` every committed page of the guarded pools except the runs
/// of live blocks, coalescing neighbours into one call. False if a call
/// was refused.
fn trap_all_but_live(m: &dyn Mechanism) -> bool {
    let (states, _) = pool::snapshot();
    let mut ranges = Coalesce { m, start: 0, end: 0, ok: true };
    for (i, p) in arena().pools.iter().enumerate().take(NCLASSES) {
        if p.huge() {
            continue; // trapped by protection, which the child inherits
        }
        let committed = p.committed.load(Relaxed);
        let used = (states[i].bump as usize).min(committed / p.slot_bytes.max(1)) as u32;
        for slot in 0..used {
            let (start, end) = (p.slot_addr(slot), p.slot_addr(slot) + p.slot_bytes);
            if state_of(p.meta(slot).state.load(Relaxed)) == SlotState::Live {
                let (_, pl) = p.recorded_block(slot);
                ranges.add(start, pl.run_start);
                ranges.add(pl.run_end, end);
            } else {
                ranges.add(start, end);
            }
        }
        ranges.add(p.slot_addr(used), p.first_slot + committed);
    }
    ranges.flush();
    ranges.ok
}

/// Adjacent ranges joined into one call of `m.trap`.
struct Coalesce<'a> {
    m: &'a dyn Mechanism,
    start: usize,
    end: usize,
    ok: bool,
}

impl Coalesce<'_> {
    fn add(&mut self, start: usize, end: usize) {
        if start >= end {
            return;
        }
        if start != self.end {
            self.flush();
            self.start = start;
        }
        self.end = end;
    }

    fn flush(&mut self) {
        if self.end > self.start {
            self.ok &= self.m.trap(self.start, self.end - self.start);
        }
        self.start = self.end;
    }
}

/// Gives a freed run's pages back to the kernel and leaves them trapped,
/// taking the page-table turn (heap/turn.rs). If the mechanism's call is
/// refused (memory pressure), the range is still made to trap another way.
pub fn trap(start: usize, len: usize) {
    let _turn = turn::take();
    if !pool::in_huge(start) && active().trap(start, len) {
        return;
    }
    let _ = mem::advise(start, len, mem::MADV_DONTNEED);
    if mem::protect(start, len, mem::PROT_NONE).is_err() {
        warn_untrapped();
    }
}

fn warn_untrapped() {
    static ONCE: AtomicBool = AtomicBool::new(false);
    if !ONCE.swap(true, Relaxed) {
        say!("libpooldbg: WARNING: the kernel refused to trap a freed block (out of memory maps?); some use-after-free may go unnoticed");
    }
}
