//! The SIGSEGV/SIGBUS handler: turns a trap in our heap into a report.
//!
//! A fault whose address lies in the arena is ours: find the nearest block
//! (this slot's, or its neighbours'), classify the access (overflow to the
//! right, underflow to the left, use after free, or a wild access into the
//! heap), tell READ from WRITE (the page-fault error code) and the access size
//! (decoding the faulting instruction), and print one report with the faulting,
//! free and allocation stacks. Anything else goes to the handler that was
//! installed before us, or to the default action. The handler runs on an
//! alternate stack: one per thread, made on the thread's first allocation
//! (front/thread.rs).

use core::ffi::c_void;

use super::report::{self, Bug};
use super::{describe, frames, insn};
use crate::config::options::OnError;
use crate::config::state;
use crate::heap::block::Block;
use crate::heap::guard;
use crate::heap::pool::{self, arena, Where};
use crate::heap::slot::{OPENED, REPORTED};
use crate::out::say;
use crate::sys::signal::{self, Action};
use crate::sys::{tls, PAGE};
use crate::util::global::Global;

static OLD_SEGV: Global<Option<Action>> = Global::new(None);
static OLD_BUS: Global<Option<Action>> = Global::new(None);

/// Installs the handler for SIGSEGV and SIGBUS, keeping the previous ones.
///
/// # Safety
/// Called once from the constructor.
pub unsafe fn install() {
    for (sig, old) in [(libc::SIGSEGV, &OLD_SEGV), (libc::SIGBUS, &OLD_BUS)] {
        if let Some(prev) = signal::install_fault_handler(sig, on_fault) {
            *old.init_mut() = Some(prev);
        }
    }
}

// ---- classification ----

/// What a fault at `addr` (in our heap) is, and the block nearest it: this
/// slot's, or a neighbour's.
fn classify(addr: usize) -> (Bug, Option<Block>) {
    let (pool, slot) = match pool::locate(addr) {
        Where::Slot { pool, slot } => (pool, slot as i64),
        Where::Gap => {
            // A pool's leading page: just below its slot 0.
            let a = arena();
            let pool = pool::pool_of(addr);
            (pool, if addr < a.pools[pool].first_slot { -1 } else { a.pools[pool].capacity as i64 })
        }
        Where::Foreign => return (Bug::HeapWildAccess, None),
    };
    let mut best: Option<Block> = None;
    for s in [slot, slot - 1, slot + 1] {
        if let Some(b) = Block::at(pool, s) {
            if best.is_none_or(|x| b.distance(addr) < x.distance(addr)) {
                best = Some(b);
            }
        }
    }
    let Some(b) = best else { return (Bug::HeapWildAccess, None) };
    let kind = if b.freed() && b.in_run(addr) {
        Bug::HeapUseAfterFree
    } else if addr >= b.end() {
        Bug::HeapBufferOverflow
    } else if addr < b.user() {
        Bug::HeapBufferUnderflow
    } else if b.freed() {
        Bug::HeapUseAfterFree
    } else {
        Bug::HeapWildAccess // inside a live block: only a page we trapped on purpose
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
    if sent || !state::ready() || pool::locate(addr) == Where::Foreign || report::in_report() {
        forward(sig, info, ctx, sent);
        return;
    }
    let (kind, block) = classify(addr);
    let continuing = state::options().on_error == OnError::Continue;
    if continuing {
        let already = block.is_some_and(|b| b.meta.test_and_set(REPORTED));
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
    let thread = tls::thread_number();
    match size {
        Some(s) => report::begin_raw(format_args!(
            "{} on address {:#x} ({} of size {}) at pc {:#x} thread T{}",
            kind.name(),
            addr,
            access,
            s,
            pc,
            thread
        )),
        None => report::begin_raw(format_args!(
            "{} on address {:#x} ({} of unknown size) at pc {:#x} thread T{}",
            kind.name(),
            addr,
            access,
            pc,
            thread
        )),
    }
    if let Some(b) = &block {
        describe::located(addr, b);
    } else {
        say!("  {:#x} lies in libpooldbg's heap but near no block (a wild or stale pointer)", addr);
    }
    frames::print_from(pc);
    if let Some(b) = &block {
        describe::block_stacks(b);
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
        Some(b) if b.freed() && b.in_run(addr) => (b.pl.run_start, b.pl.run_len()),
        _ => (page, PAGE),
    };
    if let Where::Slot { pool, slot } = pool::locate(page) {
        arena().pools[pool].meta(slot).test_and_set(OPENED);
    }
    guard::open(start, len);
}

/// Hands a signal that is not ours to the previous handler, or restores the
/// default action: a fault then happens again when the instruction is
/// retried, and a signal sent with kill() is raised again, so the kernel does
/// what it would have done without us.
fn forward(sig: i32, info: *mut libc::siginfo_t, ctx: *mut c_void, sent: bool) {
    let old = if sig == libc::SIGBUS { OLD_BUS.get() } else { OLD_SEGV.get() };
    // SAFETY: the arguments are the kernel's, for this very signal.
    if let Some(old) = old {
        if unsafe { signal::call_previous(old, sig, info, ctx) } {
            return;
        }
    }
    signal::reset_default(sig);
    if sent {
        signal::raise(sig);
    }
}
