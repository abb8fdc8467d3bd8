//! The SIGSEGV/SIGBUS handler: turns a trap in our heap into a report.
//!
//! A fault whose address lies in the arena is ours: find the nearest block
//! (this slot's, or its neighbours'), classify the access (overflow to the
//! right, underflow to the left, use after free, or a wild access into the
//! heap), tell READ from WRITE (the page-fault error code) and the access size
//! (decoding the faulting instruction), and print one report with the faulting,
//! free and allocation stacks. Anything else goes to the handler that was
//! installed before us, or to the default action. The handler runs on an
//! alternate stack: one per thread, made on the thread's first allocation.

use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, Ordering::*};

use crate::global::Global;
use crate::heap::{say_block_stacks, say_located};
use crate::init::{self, GuardKind};
use crate::options::OnError;
use crate::pool::{self, arena, state_of, SlotState, Where};
use crate::report::{self, say};
use crate::stack::{self, MAX_DEPTH};
use crate::sys::{self, PAGE};
use crate::{insn, tls};

static OLD_SEGV: Global<Option<libc::sigaction>> = Global::new(None);
static OLD_BUS: Global<Option<libc::sigaction>> = Global::new(None);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Installs the handler for SIGSEGV and SIGBUS, keeping the previous ones.
///
/// # Safety
/// Called once from the constructor.
pub unsafe fn install() {
    for (sig, old) in [(libc::SIGSEGV, &OLD_SEGV), (libc::SIGBUS, &OLD_BUS)] {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = on_fault as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
        libc::sigemptyset(&mut sa.sa_mask);
        let mut prev: libc::sigaction = core::mem::zeroed();
        if libc::sigaction(sig, &sa, &mut prev) == 0 {
            *old.init_mut() = Some(prev);
        }
    }
    INSTALLED.store(true, Release);
}

// ---- alternate signal stacks, one per thread ----

const ALTSTACK_BYTES: usize = 64 * 1024;
static ALTSTACK_KEY: Global<Option<libc::pthread_key_t>> = Global::new(None);

/// # Safety
/// Constructor only.
pub unsafe fn init_altstacks() {
    let mut key: libc::pthread_key_t = 0;
    if libc::pthread_key_create(&mut key, Some(drop_altstack)) == 0 {
        *ALTSTACK_KEY.init_mut() = Some(key);
    }
}

/// Gives the calling thread an alternate signal stack if it has none (called
/// on its first allocation; outside the pool lock). A thread that set up its
/// own alternate stack keeps it.
pub fn ensure_altstack() {
    if tls::altstack_state() != 0 {
        return;
    }
    let Some(key) = *ALTSTACK_KEY.get() else { return };
    tls::set_altstack_state(1); // also stops re-entry from pthread_setspecific
    // SAFETY: querying and setting this thread's signal stack; the mapping is ours.
    unsafe {
        let mut cur: libc::stack_t = core::mem::zeroed();
        if libc::sigaltstack(core::ptr::null(), &mut cur) == 0 && cur.ss_flags & libc::SS_DISABLE == 0 {
            return; // the program has its own
        }
        let Some(base) = sys::map_rw(ALTSTACK_BYTES) else { return };
        let st = libc::stack_t { ss_sp: base as *mut c_void, ss_flags: 0, ss_size: ALTSTACK_BYTES };
        if libc::sigaltstack(&st, core::ptr::null_mut()) != 0 {
            sys::unmap(base, ALTSTACK_BYTES);
            return;
        }
        libc::pthread_setspecific(key, base as *const c_void);
    }
}

extern "C" fn drop_altstack(base: *mut c_void) {
    // SAFETY: disabling this (exiting) thread's signal stack, then unmapping it.
    unsafe {
        let st = libc::stack_t { ss_sp: core::ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
        libc::sigaltstack(&st, core::ptr::null_mut());
        sys::unmap(base as usize, ALTSTACK_BYTES);
    }
    tls::set_altstack_state(2);
}

// ---- classification ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Overflow,
    Underflow,
    UseAfterFree,
    Wild,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Overflow => "heap-buffer-overflow",
            Kind::Underflow => "heap-buffer-underflow",
            Kind::UseAfterFree => "heap-use-after-free",
            Kind::Wild => "heap-wild-access",
        }
    }
}

#[derive(Clone, Copy)]
struct Block {
    pool: usize,
    word: u32,
    meta: &'static pool::SlotMeta,
    user: usize,
    size: usize,
    run_start: usize,
    run_end: usize,
}

fn block_at(pool: usize, slot: i64) -> Option<Block> {
    let p = &arena().pools[pool];
    if slot < 0 || slot >= p.capacity as i64 {
        return None;
    }
    let meta = p.meta(slot as u32);
    let word = meta.state.load(Acquire);
    match state_of(word) {
        SlotState::Live | SlotState::Quarantined => {}
        _ => return None,
    }
    let (size, pl) = crate::heap::recorded_block(p, slot as u32);
    Some(Block { pool, word, meta, user: pl.user, size, run_start: pl.run_start, run_end: pl.run_end })
}

/// Distance from the block's bytes to `addr` (0 inside).
fn distance(b: &Block, addr: usize) -> usize {
    if addr < b.user {
        b.user - addr
    } else if addr >= b.user + b.size {
        addr - (b.user + b.size) + 1
    } else {
        0
    }
}

fn classify(addr: usize) -> (Kind, Option<Block>) {
    let (pool, slot) = match pool::locate(addr) {
        Where::Slot { pool, slot } => (pool, slot as i64),
        Where::Gap => {
            // A pool's leading page: just below its slot 0.
            let a = arena();
            let pool = (addr - a.base) / a.span;
            (pool, if addr < a.pools[pool].first_slot { -1 } else { a.pools[pool].capacity as i64 })
        }
        Where::Foreign => return (Kind::Wild, None),
    };
    let mut best: Option<Block> = None;
    for s in [slot, slot - 1, slot + 1] {
        if let Some(b) = block_at(pool, s) {
            if best.is_none_or(|x| distance(&b, addr) < distance(&x, addr)) {
                best = Some(b);
            }
        }
    }
    let Some(b) = best else { return (Kind::Wild, None) };
    let freed = state_of(b.word) == SlotState::Quarantined;
    let kind = if freed && addr >= b.run_start && addr < b.run_end {
        Kind::UseAfterFree
    } else if addr >= b.user + b.size {
        Kind::Overflow
    } else if addr < b.user {
        Kind::Underflow
    } else if freed {
        Kind::UseAfterFree
    } else {
        Kind::Wild // inside a live block: only a page we trapped on purpose
    };
    (kind, Some(b))
}

// ---- the handler ----

extern "C" fn on_fault(sig: i32, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext for SA_SIGINFO handlers.
    let (addr, pc, write) = unsafe {
        let uc = &*(ctx as *const libc::ucontext_t);
        (
            (*info).si_addr() as usize,
            uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize,
            uc.uc_mcontext.gregs[libc::REG_ERR as usize] & 2 != 0,
        )
    };
    // SAFETY: as above.
    let sent = unsafe { (*info).si_code } <= 0; // kill(), tgkill(), sigqueue(): no fault address
    if sent || !init::ready() || pool::locate(addr) == Where::Foreign || report::in_report() {
        forward(sig, info, ctx, sent);
        return;
    }
    let (kind, block) = classify(addr);
    let continuing = init::options().on_error == OnError::Continue;
    if continuing {
        let already = block.is_some_and(|b| b.meta.state.fetch_or(pool::REPORTED, Relaxed) & pool::REPORTED != 0);
        open_after_report(addr, &block);
        if already {
            return; // each block is reported once
        }
    }
    let size = if pc == addr {
        None // an instruction fetch from the heap: nothing to decode
    } else {
        // SAFETY: pc is the faulting instruction, mapped executable; read no
        // further than its page's end (x86 instructions are at most 15 bytes).
        let n = (PAGE - pc % PAGE).min(15);
        insn::access_size(unsafe { core::slice::from_raw_parts(pc as *const u8, n) })
    };
    let access = if write { "WRITE" } else { "READ" };
    match size {
        Some(s) => report::begin_raw(format_args!(
            "{} on address {:#x} ({} of size {}) at pc {:#x} thread T{}",
            kind.name(), addr, access, s, pc, tls::thread_number()
        )),
        None => report::begin_raw(format_args!(
            "{} on address {:#x} ({} of unknown size) at pc {:#x} thread T{}",
            kind.name(), addr, access, pc, tls::thread_number()
        )),
    }
    if let Some(b) = &block {
        say_located(addr, b.user, b.size, state_of(b.word) == SlotState::Quarantined, b.pool);
    } else {
        say!("  {:#x} lies in libpooldbg's heap but near no block (a wild or stale pointer)", addr);
    }
    print_fault_stack(pc);
    if let Some(b) = &block {
        say_block_stacks(b.meta, b.word);
    }
    report::finish();
}

/// on_error=continue: make the faulting access possible, so the program goes
/// on. A freed block's whole run is opened (its later accesses are the same
/// bug); otherwise the faulting page. The slot is flagged so its pages are
/// trapped again at its next free or allocation.
fn open_after_report(addr: usize, block: &Option<Block>) {
    let page = addr & !(PAGE - 1);
    let (start, len) = match block {
        Some(b) if state_of(b.word) == SlotState::Quarantined && addr >= b.run_start && addr < b.run_end => {
            (b.run_start, b.run_end - b.run_start)
        }
        _ => (page, PAGE),
    };
    if let Where::Slot { pool, slot } = pool::locate(page) {
        arena().pools[pool].meta(slot).state.fetch_or(pool::OPENED, Relaxed);
    }
    let _ = match init::guard_kind() {
        GuardKind::Marker => sys::advise(start, len, sys::MADV_GUARD_REMOVE),
        GuardKind::Mprotect => sys::protect(start, len, libc::PROT_READ | libc::PROT_WRITE),
    };
}

/// Prints the stack of the faulting thread from the faulting instruction on
/// (the handler's own frames and the signal trampoline are dropped).
fn print_fault_stack(pc: usize) {
    let mut frames = [0usize; MAX_DEPTH];
    let depth = (init::options().stack_depth + 8).min(MAX_DEPTH);
    let n = stack::capture(&mut frames[..depth], true);
    let start = frames[..n].iter().position(|&f| f == pc);
    match start {
        Some(s) => {
            let end = n.min(s + init::options().stack_depth.max(1));
            stack::print(&frames[s..end]);
        }
        None => stack::print(&[pc]),
    }
}

/// Hands a signal that is not ours to the previous handler, or restores the
/// default action: a fault then happens again when the instruction is
/// retried, and a signal sent with kill() is raised again, so the kernel does
/// what it would have done without us.
fn forward(sig: i32, info: *mut libc::siginfo_t, ctx: *mut c_void, sent: bool) {
    let old = if sig == libc::SIGBUS { OLD_BUS.get() } else { OLD_SEGV.get() };
    // SAFETY: calling the previously installed handler with the arguments the
    // kernel gave us, or resetting the disposition.
    unsafe {
        if let Some(old) = old {
            let h = old.sa_sigaction;
            if h != libc::SIG_DFL && h != libc::SIG_IGN {
                if old.sa_flags & libc::SA_SIGINFO != 0 {
                    let f: extern "C" fn(i32, *mut libc::siginfo_t, *mut c_void) = core::mem::transmute(h);
                    f(sig, info, ctx);
                } else {
                    let f: extern "C" fn(i32) = core::mem::transmute(h);
                    f(sig);
                }
                return;
            }
        }
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(sig, &sa, core::ptr::null_mut());
        if sent {
            libc::raise(sig);
        }
    }
}
