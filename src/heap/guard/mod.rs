//! How pages are trapped: one interface, one file per mechanism.
//!
//! A guarded block's run of pages is *opened* when it is allocated and
//! *trapped* again when it is freed (its pages go back to the kernel and any
//! access faults); the page after each slot's run, and the slot's unused
//! pages, stay trapped all along. How that is done depends on the kernel:
//!
//! | mechanism  | file          | trap / open                          | maps per live block |
//! |------------|---------------|--------------------------------------|---------------------|
//! | `marker`   | `marker.rs`   | MADV_GUARD_INSTALL / _REMOVE (6.13+)  | none (pools commit) |
//! | `mprotect` | `mprotect.rs` | PROT_NONE remap / mprotect RW         | about two           |
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

use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

use self::mechanism::Mechanism;
use super::turn;
use crate::config::options::GuardMode;
use crate::out::say;
use crate::sys::mem;
use crate::util::global::Global;

/// In the order `guard=auto` tries them; the last one always works.
static MECHANISMS: [&dyn Mechanism; 2] = [&marker::Marker, &mprotect::Mprotect];

static ACTIVE: Global<&'static dyn Mechanism> = Global::new(&mprotect::Mprotect);

fn active() -> &'static dyn Mechanism {
    *ACTIVE.get()
}

/// Picks the mechanism for `mode`. Err: the forced one is missing here,
/// with the one-line reason.
///
/// # Safety
/// Start-up only (writes a `Global`).
pub unsafe fn select(mode: GuardMode) -> Result<(), Missing> {
    let chosen = match mode.name() {
        None => MECHANISMS.iter().find(|m| m.available()),
        Some(name) => {
            let m = MECHANISMS.iter().find(|m| m.name() == name).ok_or(Missing { name, requirement: "" })?;
            if !m.available() {
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

pub fn costs_maps() -> bool {
    active().costs_maps()
}

pub fn trap_fresh(start: usize, len: usize) -> bool {
    active().trap_fresh(start, len)
}

/// Opens a block's run (also: a trapped page a report opened for
/// `on_error=continue`).
pub fn open(start: usize, len: usize) -> bool {
    active().open(start, len)
}

pub fn after_fork_child() {
    active().after_fork_child()
}

/// Gives a freed run's pages back to the kernel and leaves them trapped,
/// taking the page-table turn (heap/turn.rs). If the mechanism's call is
/// refused (memory pressure), the range is still made to trap another way.
pub fn trap(start: usize, len: usize) {
    let _turn = turn::take();
    if active().trap(start, len) {
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
