//! Layer 7: wiring. The constructor (start-up if no allocation did it yet,
//! then what needs a working allocator: the next definitions of the
//! interposed libc calls, fork handlers, thread keys, the fault handler, the
//! statistics signal), the destructor (statistics, the check of blocks never
//! freed, and the leak check at exit), and the fork handlers. Nothing imports this.

use crate::config::state;
use crate::diag::{chain, fault, heapcheck, json, leaks, report, stats, suppress};
use crate::front::{cache, thread};
use crate::heap::lock::{self, HOLDS_COMMIT, HOLDS_FOR_FORK, HOLDS_POOL};
use crate::heap::{commit, guard, pool, start, turn};
use crate::out;
use crate::sys::{self, tls};
use crate::util::fmt::{Bytes, Line};

/// Runs at load time. glibc's pthread_atfork may allocate, so the fork
/// handlers are registered here, never inside start-up.
#[cfg(not(test))]
#[ctor::ctor]
fn constructor() {
    let started = start::ensure();
    // The next definitions of the calls front/syscalls.rs interposes, found
    // now, before the program's code runs (dlsym may allocate).
    sys::next::resolve_all();
    if !started {
        return;
    }
    sys::thread::at_fork(fork_prepare, fork_parent, fork_child);
    sys::process::on_exit(report::note_exit_status);
    if state::options().report_json {
        json::enable();
    }
    let path = state::options().suppressions();
    if !path.is_empty() {
        // SAFETY: the constructor, once, before the program's own code.
        if let Err(e) = unsafe { suppress::load(path) } {
            let mut why: Line<160> = Line::new();
            e.describe(&mut why);
            out::line(format_args!(
                "libpooldbg: ERROR: POOLDBG_OPTIONS: suppressions file '{}' {}",
                Bytes(path),
                Bytes(why.as_bytes())
            ));
            sys::exit_now(1);
        }
    }
    // SAFETY: the constructor runs once, before the program's own code:
    // these write their `Global`s and install our fault handler.
    unsafe {
        thread::init_altstacks();
        cache::init_exit_key();
        fault::install();
        if state::options().stats_signal != 0 {
            stats::install_signal(state::options().stats_signal);
        }
    }
    if state::options().help {
        start::print_help();
    }
}

/// fork handlers. Both of our locks are taken around the fork so that no
/// other thread holds one at the moment of the fork — all or nothing, never
/// holding one while waiting for the other: glibc runs prepare handlers of
/// concurrent forks at the same time, and a fork may come from a signal
/// handler that interrupted its thread inside one of our critical sections.
/// A lock this very thread holds is not taken (waiting would deadlock); the
/// interrupted section completes in both processes after the handler returns.
extern "C" fn fork_prepare() {
    let depth = lock::held();
    let need_pool = depth != HOLDS_POOL;
    let need_commit = depth != HOLDS_COMMIT;
    loop {
        let pool_taken = need_pool && pool::try_lock_for_fork();
        let commit_taken = need_commit && commit::try_lock_for_fork();
        if pool_taken == need_pool && commit_taken == need_commit {
            break;
        }
        if pool_taken {
            pool::unlock_after_fork();
        }
        if commit_taken {
            commit::unlock_after_fork();
        }
        sys::yield_now();
    }
    tls::set_fork_state(depth | (need_pool as u32) << 8 | (need_commit as u32) << 9);
    // Until the fork is done this thread holds both locks: other libraries'
    // fork handlers may allocate on it (HOLDS_FOR_FORK uses the locks it
    // holds). A fork from a signal handler that interrupted one of our
    // critical sections cannot: its allocations are reported instead.
    lock::set_held(if need_pool && need_commit { HOLDS_FOR_FORK } else { HOLDS_POOL });
}

fn fork_release() {
    let state = tls::fork_state();
    if state & 1 << 8 != 0 {
        pool::unlock_after_fork();
    }
    if state & 1 << 9 != 0 {
        commit::unlock_after_fork();
    }
    lock::set_held(state & 0xff);
}

extern "C" fn fork_parent() {
    fork_release();
}

extern "C" fn fork_child() {
    chain::after_fork_child();
    out::after_fork_child();
    turn::reset_after_fork();
    guard::after_fork_child();
    fork_release();
}

/// At exit: the leak check (after the program's own destructors and
/// atexit handlers, which run before those of a preloaded library).
#[cfg(not(test))]
#[ctor::dtor]
fn destructor() {
    if state::ready() && state::options().stats {
        stats::print();
    }
    let damaged = heapcheck::at_exit();
    leaks::at_exit();
    if damaged {
        heapcheck::exit_damaged();
    }
    suppress::print_summary();
    report::exit_status_after_reports();
}

#[cfg(all(feature = "lockstat", not(test)))]
#[ctor::dtor]
fn print_lockstat() {
    use crate::heap::pool::lockstat::*;
    use crate::out::say;
    use crate::util::fmt::{Bytes, Line};
    use core::sync::atomic::Ordering::Relaxed;
    let mut faults: Line<32> = Line::new();
    if cfg!(feature = "lockstat_faults") {
        let _ = core::fmt::Write::write_fmt(
            &mut faults,
            format_args!(" faults_under_lock={}", FAULTS_UNDER_LOCK.load(Relaxed)),
        );
    }
    say!(
        "libpooldbg: lockstat: sections={}{} max_hold_ns={} spin_ns={} sleep_ns={} sleeps={} hold_ns={} max_wait_ns={}",
        SECTIONS.load(Relaxed),
        Bytes(faults.as_bytes()),
        MAX_HOLD_NS.load(Relaxed),
        SPIN_NS.load(Relaxed),
        SLEEP_NS.load(Relaxed),
        SLEEPS.load(Relaxed),
        HOLD_NS.load(Relaxed),
        MAX_WAIT_NS.load(Relaxed)
    );
}
