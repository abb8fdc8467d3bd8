//! Page-table changes of guarded blocks take turns, one thread at a time.
//!
//! Every guarded allocation and free changes page tables (guard markers
//! removed, pages populated, markers installed). When two threads of the
//! program run on two CPUs, revoking a page on one CPU costs a TLB-shootdown
//! IPI to the other — a VM exit under a hypervisor: guard remove + touch +
//! install measured 3.1 µs per page alone and 20 µs with a second thread
//! running (churn at 2 and 8 threads spent its time there). A thread that
//! waits for its turn *asleep* leaves its CPU idle; the kernel does not
//! interrupt idle (lazy-TLB) CPUs, so the IPIs disappear: churn -t 8 went
//! from 60k to 180k operations/s, with 60k → 540 shootdowns per second.
//!
//! This is not the pool lock: it protects no data, only orders system calls
//! and first touches, so (unlike the pool lock) it may be held across them.
//! Because it protects nothing, a thread that cannot take it safely — a
//! signal handler that interrupted its own thread's turn, or a fork child
//! that inherited another thread's turn — simply goes without. Waiters sleep
//! at once: spinning would keep their CPU in our address space, which is
//! what costs the IPI. A thread waits at most `MAX_WAIT_NS` and then goes
//! without: a turn lost for good (a signal handler that longjmp'ed out of
//! malloc) or a holder preempted for long slows the program, never stops
//! it. `serialize=0` lets threads run these calls concurrently (for
//! many-core machines where the IPIs are cheap).

use super::lock::Lock;
use crate::config::state;
use crate::sys::{self, tls};

/// Longest wait for a turn before going ahead without it.
const MAX_WAIT_NS: u64 = 10_000_000;

static TURN: Lock<()> = Lock::new(());

/// Held while alive; a no-op when serialisation is off or not possible.
pub struct Turn(bool);

pub fn take() -> Turn {
    if !state::options().serialize || tls::in_turn() {
        return Turn(false);
    }
    tls::set_in_turn(true);
    if TURN.try_lock(false) {
        return Turn(true);
    }
    let start = sys::now_ns();
    while !TURN.try_lock_or_mark() {
        let waited = sys::now_ns() - start;
        if waited >= MAX_WAIT_NS {
            tls::set_in_turn(false);
            return Turn(false);
        }
        TURN.sleep(Some(MAX_WAIT_NS - waited));
    }
    Turn(true)
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.0 {
            let wake = TURN.release();
            tls::set_in_turn(false);
            if wake {
                TURN.wake();
            }
        }
    }
}

/// In a fork child: the thread holding the turn may not exist there. The
/// turn guards no data, so it is simply made free.
pub fn reset_after_fork() {
    // Nobody sleeps on it in the child: no wake needed.
    let _ = TURN.release();
    tls::set_in_turn(false);
}
