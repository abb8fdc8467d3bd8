//! glibc's ways to set a signal's action — sigaction, signal (bsd_signal,
//! ssignal), sysv_signal, sigset, sigignore, siginterrupt — behind the
//! exports of the same names (front/exports.rs). For SIGSEGV and SIGBUS
//! they change and answer the program's record (diag/chain.rs) the way
//! glibc's own code changes the kernel's action, so our fault handler stays
//! installed; every other signal goes to glibc's function untouched, with
//! its return value and errno. Before our handler is installed, and in a
//! vfork child, glibc answers for these two as well.

use crate::diag::chain::{self, Record, Via, Wanted, SA_INTERRUPT, SA_NODEFER, SA_RESETHAND, SA_RESTART};
use crate::sys::signal::{self, Action, Next};

/// `SIG_HOLD` (sigset).
const SIG_HOLD: usize = 2;

// ---- what glibc's functions hand to sigaction (pure) ----

/// signal() (BSD semantics): the signal blocked in its handler, system
/// calls restarted unless siginterrupt(sig, 1) said otherwise.
pub fn bsd_wanted(sig: i32, handler: usize, interrupts: bool) -> Wanted {
    Wanted { handler, flags: if interrupts { 0 } else { SA_RESTART }, mask: chain::sig_bit(sig) }
}

/// sysv_signal(): one-shot, not blocked in its handler, not restarted.
pub fn sysv_wanted(handler: usize) -> Wanted {
    Wanted { handler, flags: SA_RESETHAND | SA_NODEFER | SA_INTERRUPT, mask: 0 }
}

/// sigset() and sigignore(): no flags, nothing blocked.
pub fn plain_wanted(handler: usize) -> Wanted {
    Wanted { handler, flags: 0, mask: 0 }
}

/// siginterrupt(sig, interrupt): the current action with SA_RESTART off
/// (interrupt) or on.
pub fn interrupt_changed(cur: &Record, interrupt: bool) -> Wanted {
    let flags = if interrupt { cur.flags & !SA_RESTART } else { cur.flags | SA_RESTART };
    Wanted { handler: cur.handler, flags, mask: cur.mask }
}

/// Records `w` for `sig` as libc's own code sets it (the functions but
/// sigaction); returns the record it replaced, or glibc's answer from
/// `unrecorded`.
fn set<T>(sig: i32, w: Wanted, unrecorded: impl FnOnce() -> T) -> Result<Record, T> {
    chain::exchange(sig, |_| Some(w.record(Via::Libc)), unrecorded)
}

// ---- the functions ----

/// sigaction(sig, act, old).
///
/// # Safety
/// As sigaction(2): `act` and `old` are null or valid.
pub unsafe fn sigaction(sig: i32, act: *const Action, old: *mut Action) -> i32 {
    if !chain::records(sig) {
        return signal::sigaction_next(sig, act, old);
    }
    // Read first, as glibc does: `act` may be `old`.
    let wanted = act.as_ref().map(Wanted::of);
    let change = |_: &Record| wanted.map(|w| w.record(Via::Sigaction));
    match chain::exchange(sig, change, || signal::sigaction_next(sig, act, old)) {
        Ok(prev) => {
            if let Some(old) = old.as_mut() {
                prev.write_to(old);
            }
            0
        }
        Err(r) => r,
    }
}

/// signal(), bsd_signal(), ssignal().
pub fn bsd_signal(sig: i32, handler: usize) -> usize {
    if !chain::records(sig) || handler == libc::SIG_ERR {
        return signal::next_handler_fn(Next::Signal, sig, handler);
    }
    let w = bsd_wanted(sig, handler, chain::interrupts(sig));
    set(sig, w, || signal::next_handler_fn(Next::Signal, sig, handler)).map_or_else(|r| r, |prev| prev.handler)
}

/// sysv_signal(), __sysv_signal().
pub fn sysv_signal(sig: i32, handler: usize) -> usize {
    if !chain::records(sig) || handler == libc::SIG_ERR {
        return signal::next_handler_fn(Next::SysvSignal, sig, handler);
    }
    set(sig, sysv_wanted(handler), || signal::next_handler_fn(Next::SysvSignal, sig, handler))
        .map_or_else(|r| r, |prev| prev.handler)
}

/// sigset(): SIG_HOLD blocks the signal; anything else becomes its action
/// and unblocks it. Returns SIG_HOLD if it was blocked, else the old action.
pub fn sigset(sig: i32, handler: usize) -> usize {
    let next = || signal::next_handler_fn(Next::Sigset, sig, handler);
    if !chain::records(sig) {
        return next();
    }
    if handler == SIG_HOLD {
        return match signal::change_one(sig, true) {
            None => libc::SIG_ERR,
            Some(true) => SIG_HOLD,
            Some(false) => match chain::exchange(sig, |_| None, next) {
                Ok(cur) => cur.handler,
                Err(r) => r,
            },
        };
    }
    match set(sig, plain_wanted(handler), next) {
        Ok(prev) => match signal::change_one(sig, false) {
            None => libc::SIG_ERR,
            Some(true) => SIG_HOLD,
            Some(false) => prev.handler,
        },
        Err(r) => r,
    }
}

/// sigignore().
pub fn sigignore(sig: i32) -> i32 {
    let next = || signal::next_int_fn(Next::Sigignore, sig, 0);
    if !chain::records(sig) {
        return next();
    }
    set(sig, plain_wanted(libc::SIG_IGN), next).map_or_else(|r| r, |_| 0)
}

/// siginterrupt().
pub fn siginterrupt(sig: i32, interrupt: i32) -> i32 {
    let next = || signal::next_int_fn(Next::Siginterrupt, sig, interrupt);
    if !chain::records(sig) {
        return next();
    }
    let change = |cur: &Record| Some(interrupt_changed(cur, interrupt != 0).record(Via::Libc));
    match chain::exchange(sig, change, next) {
        Ok(_) => {
            chain::set_interrupts(sig, interrupt != 0);
            0
        }
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::chain::SA_SIGINFO;

    #[test]
    fn glibc_builds_these_actions() {
        let h = 0x4000;
        let w = bsd_wanted(libc::SIGSEGV, h, false);
        assert_eq!((w.handler, w.flags, w.mask), (h, SA_RESTART, chain::sig_bit(libc::SIGSEGV)));
        assert_eq!(bsd_wanted(libc::SIGBUS, h, true).flags, 0);
        let w = sysv_wanted(h);
        assert_eq!((w.flags, w.mask), (SA_RESETHAND | SA_NODEFER | SA_INTERRUPT, 0));
        assert_eq!(plain_wanted(libc::SIG_IGN), Wanted { handler: libc::SIG_IGN, flags: 0, mask: 0 });
    }

    #[test]
    fn siginterrupt_toggles_only_sa_restart() {
        let cur = Record { handler: 0x4000, flags: SA_SIGINFO | SA_RESTART | chain::SA_RESTORER, mask: 6, restorer: 1 };
        let off = interrupt_changed(&cur, true);
        assert_eq!((off.handler, off.flags, off.mask), (0x4000, SA_SIGINFO | chain::SA_RESTORER, 6));
        assert_eq!(interrupt_changed(&Record { flags: off.flags, ..cur }, false).flags, cur.flags);
    }
}
