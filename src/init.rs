//! Start-up: options, guard mode, address space. Runs once, lazily on the
//! first allocator call (which can come before our constructor: from the
//! dynamic loader or other libraries' constructors) or from the constructor.
//!
//! Init never calls anything that allocates. A recursive call from the
//! initialising thread gets "not ready" (the caller fails that allocation
//! with ENOMEM) instead of deadlocking; other threads wait for the result.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering::*};

use crate::global::Global;
use crate::options::{self, GuardMode, Options};
use crate::pool;
use crate::report::{self, say};
use crate::sys::{self, PAGE};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GuardKind {
    /// MADV_GUARD_INSTALL markers: no VMA split per object.
    Marker,
    /// mprotect and PROT_NONE remaps.
    Mprotect,
}

const UNINIT: u32 = 0;
const RUNNING: u32 = 1;
const READY: u32 = 2;
const FAILED: u32 = 3;

static STATE: AtomicU32 = AtomicU32::new(UNINIT);
static INIT_THREAD: AtomicUsize = AtomicUsize::new(0);

static OPTIONS: Global<Options> = Global::new(Options::defaults());
static GUARD: Global<GuardKind> = Global::new(GuardKind::Mprotect);
static SECRET: Global<u64> = Global::new(0);
/// The process's virtual size before our reservations (for RLIMIT_AS).
static BASE_VM: Global<usize> = Global::new(0);

pub fn base_vm() -> usize {
    *BASE_VM.get()
}

pub fn options() -> &'static Options {
    OPTIONS.get()
}

pub fn guard_kind() -> GuardKind {
    *GUARD.get()
}

pub fn secret() -> u64 {
    *SECRET.get()
}

#[inline]
pub fn ready() -> bool {
    STATE.load(Acquire) == READY
}

/// True once the allocator can serve; initialises on first call.
#[inline]
pub fn ensure() -> bool {
    ready() || ensure_slow()
}

#[cold]
fn ensure_slow() -> bool {
    // SAFETY: pthread_self only reads the thread pointer.
    let me = unsafe { libc::pthread_self() } as usize;
    match STATE.compare_exchange(UNINIT, RUNNING, Acquire, Acquire) {
        Ok(_) => {
            INIT_THREAD.store(me, Relaxed);
            // SAFETY: we are the single initialising thread (the CAS above).
            let ok = unsafe { initialise() };
            STATE.store(if ok { READY } else { FAILED }, Release);
            ok
        }
        Err(RUNNING) if INIT_THREAD.load(Relaxed) == me => false,
        Err(_) => loop {
            match STATE.load(Acquire) {
                READY => return true,
                FAILED => return false,
                _ => sys::yield_now(),
            }
        },
    }
}

/// # Safety
/// Called once, by the thread that won the init CAS.
unsafe fn initialise() -> bool {
    let opts = OPTIONS.init_mut();
    read_options(opts);
    if !opts.log_path().is_empty() {
        report::set_log_path(opts.log_path());
    } else if opts.leaks || opts.stats {
        // Reports at exit: keep a copy of stderr in case the program closes it.
        report::save_stderr();
    }
    *GUARD.init_mut() = match (opts.guard, kernel_has_guard_markers()) {
        (GuardMode::Mprotect, _) | (GuardMode::Auto, false) => GuardKind::Mprotect,
        (_, true) => GuardKind::Marker,
        (GuardMode::Marker, false) => report::fatal_startup(format_args!(
            "POOLDBG_OPTIONS: guard=marker, but this kernel has no MADV_GUARD_INSTALL (Linux 6.13+); use guard=auto or guard=mprotect"
        )),
    };
    *SECRET.init_mut() = sys::random_u64();
    *BASE_VM.init_mut() = sys::vm_bytes();
    if !pool::reserve_arena() {
        say!("libpooldbg: ERROR: cannot reserve address space for the heap (RLIMIT_AS?); every allocation will fail");
        return false;
    }
    pool::span_notice();
    if !crate::stack::init_depot() {
        say!("libpooldbg: WARNING: no memory for the stack depot; reports will have no allocation stacks");
    }
    let dense_slots = opts.dense_quarantine_slots.min(opts.quarantine_slots);
    pool::set_quarantine_bounds(opts.quarantine_mb << 20, opts.quarantine_slots, dense_slots);
    if guard_kind() == GuardKind::Mprotect {
        crate::dense::init_budget(opts.map_limit as usize);
    }
    let (a, (d0, d1)) = (pool::arena(), crate::stack::depot_range());
    crate::leaks::skip_range(a.meta_base, a.meta_end);
    crate::leaks::skip_range(d0, d1);
    prefault_lock_state();
    true
}

/// The pages the pool lock's critical sections write must not fault under
/// the lock: touch them now.
fn prefault_lock_state() {
    for (addr, len) in pool::lock_state_ranges() {
        let start = addr & !(PAGE - 1);
        let end = (addr + len).next_multiple_of(PAGE);
        if sys::advise(start, end - start, sys::MADV_POPULATE_WRITE).is_err() {
            // Older kernel: a volatile read-modify-write of each page's first byte
            // of our own state (nobody else runs yet, so this cannot race).
            let mut a = addr;
            while a < addr + len {
                // SAFETY: a lies inside one of our statics.
                unsafe { core::ptr::write_volatile(a as *mut u8, core::ptr::read_volatile(a as *const u8)) };
                a = (a & !(PAGE - 1)) + PAGE;
            }
        }
    }
    // Our code runs under the lock too: map the library's text now.
    prefault_own_text();
}

fn prefault_own_text() {
    // SAFETY: dladdr on one of our own functions; Dl_info is a plain out-parameter.
    unsafe {
        let mut info: libc::Dl_info = core::mem::zeroed();
        if libc::dladdr(prefault_own_text as *const libc::c_void, &mut info) == 0 || info.dli_fbase.is_null() {
            return;
        }
        let base = info.dli_fbase as usize;
        let eh = &*(base as *const libc::Elf64_Ehdr);
        if &eh.e_ident[..4] != b"\x7fELF" {
            return;
        }
        for i in 0..eh.e_phnum as usize {
            let ph = &*((base + eh.e_phoff as usize + i * eh.e_phentsize as usize) as *const libc::Elf64_Phdr);
            if ph.p_type == libc::PT_LOAD && ph.p_flags & libc::PF_X != 0 {
                let start = (base + ph.p_vaddr as usize) & !(PAGE - 1);
                let end = (base + (ph.p_vaddr + ph.p_memsz) as usize).next_multiple_of(PAGE);
                let _ = sys::advise(start, end - start, 22 /* MADV_POPULATE_READ */);
                crate::stack::set_own_text(start, end);
            } else if ph.p_type == libc::PT_LOAD && ph.p_flags & libc::PF_W != 0 {
                // Our statics hold addresses inside the arena: not roots for the leak scan.
                let start = (base + ph.p_vaddr as usize) & !(PAGE - 1);
                let end = (base + (ph.p_vaddr + ph.p_memsz) as usize).next_multiple_of(PAGE);
                crate::leaks::skip_range(start, end);
            }
        }
    }
}

/// Probes MADV_GUARD_INSTALL on a scratch mapping.
fn kernel_has_guard_markers() -> bool {
    let Some(p) = sys::map_rw(2 * PAGE) else { return false };
    let ok = sys::advise(p + PAGE, PAGE, sys::MADV_GUARD_INSTALL).is_ok();
    sys::unmap(p, 2 * PAGE);
    ok
}

extern "C" {
    static environ: *const *const libc::c_char;
}

const ENV_NAME: &[u8] = b"POOLDBG_OPTIONS=";

/// Reads `POOLDBG_OPTIONS` from the environment without allocating; stops the
/// program with a one-line error if it is malformed.
fn read_options(opts: &mut Options) {
    // SAFETY: environ is a NULL-terminated array of NUL-terminated strings
    // (or NULL very early, before libc set it up).
    unsafe {
        let mut e = environ;
        if e.is_null() {
            return;
        }
        while !(*e).is_null() {
            let entry = core::ffi::CStr::from_ptr(*e).to_bytes();
            if let Some(text) = entry.strip_prefix(ENV_NAME) {
                let secure = libc::getauxval(libc::AT_SECURE) != 0;
                let r = options::parse(text, opts, secure, &mut |name| {
                    say!("libpooldbg: WARNING: option '{}' ignored in a setuid/setgid program", name)
                });
                if let Err(err) = r {
                    report::bad_options(&err);
                }
                return;
            }
            e = e.add(1);
        }
    }
}

/// Runs at load time: initialise (if no allocation did it yet), then what
/// needs a working allocator — fork handlers (glibc's pthread_atfork may
/// allocate, so it must not run inside initialise).
#[cfg(not(test))]
#[ctor::ctor]
fn constructor() {
    if !ensure() {
        return;
    }
    // SAFETY: registering plain extern "C" functions; installing our handler
    // once, before the program's own code runs.
    unsafe {
        libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child));
        crate::fault::init_altstacks();
        crate::cache::init_exit_key();
        crate::fault::install();
        if options().stats_signal != 0 {
            crate::stats::install_signal(options().stats_signal);
        }
    }
    if options().help {
        report::print_help();
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
    let depth = crate::tls::lock_depth();
    let need_heap = depth != 1;
    let need_commit = depth != crate::heap::DEPTH_COMMIT;
    loop {
        let heap = need_heap && pool::try_lock_for_fork();
        let commit = need_commit && crate::heap::try_commit_lock_for_fork();
        if heap == need_heap && commit == need_commit {
            break;
        }
        if heap {
            pool::unlock_after_fork();
        }
        if commit {
            crate::heap::commit_unlock_after_fork();
        }
        sys::yield_now();
    }
    crate::tls::set_fork_state(depth | (need_heap as u32) << 8 | (need_commit as u32) << 9);
    // A malloc until the fork is done reports instead of spinning.
    crate::tls::set_lock_depth(1);
}

fn fork_release() {
    let state = crate::tls::fork_state();
    if state & 1 << 8 != 0 {
        pool::unlock_after_fork();
    }
    if state & 1 << 9 != 0 {
        crate::heap::commit_unlock_after_fork();
    }
    crate::tls::set_lock_depth(state & 0xff);
}

extern "C" fn fork_parent() {
    fork_release();
}

extern "C" fn fork_child() {
    report::after_fork_child();
    crate::turn::reset_after_fork();
    fork_release();
}

/// At exit: the leak check (after the program's own destructors and
/// atexit handlers, which run before those of a preloaded library).
#[cfg(not(test))]
#[ctor::dtor]
fn destructor() {
    if ready() && options().stats {
        crate::stats::print();
    }
    crate::leaks::at_exit();
}

#[cfg(all(feature = "lockstat", not(test)))]
#[ctor::dtor]
fn print_lockstat() {
    use crate::pool::lockstat::*;
    let mut faults: crate::fmt::Line<32> = crate::fmt::Line::new();
    if cfg!(feature = "lockstat_faults") {
        let _ = core::fmt::Write::write_fmt(&mut faults, format_args!(" faults_under_lock={}", FAULTS_UNDER_LOCK.load(Relaxed)));
    }
    say!(
        "libpooldbg: lockstat: sections={}{} max_hold_ns={} spin_ns={} sleep_ns={} sleeps={} hold_ns={} max_wait_ns={}",
        SECTIONS.load(Relaxed),
        crate::fmt::Bytes(faults.as_bytes()),
        MAX_HOLD_NS.load(Relaxed),
        SPIN_NS.load(Relaxed),
        SLEEP_NS.load(Relaxed),
        SLEEPS.load(Relaxed),
        HOLD_NS.load(Relaxed),
        MAX_WAIT_NS.load(Relaxed)
    );
}
