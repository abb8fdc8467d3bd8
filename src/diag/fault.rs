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
/// slot's, or a neighbour's. Also what a buffer handed to the kernel that
/// starts at `addr`, outside every live block, is (diag/syscall.rs).
pub fn classify(addr: usize) -> (Bug, Option<Block>) {
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
        describe::wild(addr);
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
    // Nobody takes it: the fault ends the program. Say what it was first.
    if !sent && state::ready() && !report::in_report() {
        // SAFETY: as above.
        unsafe { report_fatal(sig, info, ctx) };
    }
    signal::reset_default(sig);
    if sent {
        signal::raise(sig);
    }
}

// ---- faults that are not heap bugs ----

/// What a fatal fault outside our heap was, by the signal, its code, the
/// address and the stack pointer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wild {
    /// An access just below (or at) the stack pointer that faulted.
    StackOverflow,
    /// The kernel gives no address (x86 general protection: a non-canonical
    /// address, with si_code SI_KERNEL).
    NoAddress,
    /// Below the lowest address a mapping may have (vm.mmap_min_addr).
    ZeroPage,
    /// A mapped address the access is not allowed on.
    Protection,
    /// An unmapped address.
    Unmapped,
    /// SIGBUS: a file mapping beyond the file's end, or misalignment.
    Bus,
}

/// si_code of a SIGSEGV on a mapped address (siginfo.h; libc lacks it).
const SEGV_ACCERR: i32 = 2;

/// The lowest address Linux lets a program map by default.
const MMAP_MIN_ADDR: usize = 0x10000;

fn classify_wild(sig: i32, code: i32, addr: usize, sp: usize) -> Wild {
    if sig == libc::SIGBUS {
        return Wild::Bus;
    }
    if code == libc::SI_KERNEL {
        return Wild::NoAddress;
    }
    // As AddressSanitizer judges it: an access at most 512 bytes below the
    // stack pointer (the red zone, a push) or a little above it.
    if addr.wrapping_add(512) > sp && addr < sp.wrapping_add(0xffff) {
        return Wild::StackOverflow;
    }
    if addr < MMAP_MIN_ADDR {
        return Wild::ZeroPage;
    }
    if code == SEGV_ACCERR {
        Wild::Protection
    } else {
        Wild::Unmapped
    }
}

impl Wild {
    /// The report's kind and the words before the address.
    fn kind(self) -> &'static str {
        match self {
            Wild::StackOverflow => "stack-overflow on address",
            Wild::Bus => "BUS on unknown address",
            _ => "SEGV on unknown address",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            Wild::StackOverflow => "the access is next to the stack pointer: the thread's stack is exhausted (deep or endless recursion, or a large local array)",
            Wild::NoAddress => "the kernel gave no address (a general protection fault): the pointer was probably not canonical, a wild value with high bits set",
            Wild::ZeroPage => "the address points to the zero page: a null pointer dereference, or a small offset from one",
            Wild::Protection => "the address is mapped, but not for this access (a write to read-only memory, or a PROT_NONE guard)",
            Wild::Unmapped => "the address is not mapped: a wild or dangling pointer outside libpooldbg's heap",
            Wild::Bus => "the kernel could not back the access: a file mapping past the file's end, or a misaligned access",
        }
    }
}

/// Prints a short report of a fault that is no heap bug and that no handler
/// of the program takes, before it ends the program: the kind, READ or
/// WRITE, a hint, and the stack. The signal then takes its course.
///
/// # Safety
/// `info` and `ctx` are what the kernel passed to our handler.
unsafe fn report_fatal(sig: i32, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    let uc = &*(ctx as *const libc::ucontext_t);
    let (addr, code) = ((*info).si_addr() as usize, (*info).si_code);
    let pc = uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize;
    let sp = uc.uc_mcontext.gregs[libc::REG_RSP as usize] as usize;
    let err = uc.uc_mcontext.gregs[libc::REG_ERR as usize];
    let wild = classify_wild(sig, code, addr, sp);
    let fetch = err & 16 != 0 || pc == addr;
    let access = if err & 2 != 0 { "WRITE" } else { "READ" };
    let size = if fetch || wild == Wild::NoAddress {
        None
    } else {
        // SAFETY: pc is the faulting instruction, mapped executable (not a
        // fetch fault); no further than its page's end.
        let n = (PAGE - pc % PAGE).min(15);
        insn::access_size(core::slice::from_raw_parts(pc as *const u8, n))
    };
    let thread = tls::thread_number();
    match size {
        Some(s) => report::begin_raw(format_args!(
            "{} {:#x} ({} of size {}) at pc {:#x} thread T{}",
            wild.kind(),
            addr,
            access,
            s,
            pc,
            thread
        )),
        None => report::begin_raw(format_args!(
            "{} {:#x} ({} of unknown size) at pc {:#x} thread T{}",
            wild.kind(),
            addr,
            access,
            pc,
            thread
        )),
    }
    say!("  hint: {}", wild.hint());
    if fetch {
        say!("  hint: the program jumped to {:#x} (a call through a bad function pointer?)", addr);
    }
    frames::print_from(pc);
    report::end_without_stopping();
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEGV_MAPERR: i32 = 1;

    #[test]
    fn wild_faults_are_told_apart() {
        let sp = 0x7ffd_0000_8000;
        assert_eq!(classify_wild(libc::SIGSEGV, SEGV_MAPERR, 0x14, sp), Wild::ZeroPage);
        assert_eq!(classify_wild(libc::SIGSEGV, SEGV_MAPERR, sp - 8, sp), Wild::StackOverflow);
        assert_eq!(classify_wild(libc::SIGSEGV, SEGV_ACCERR, sp - 512, sp), Wild::Protection);
        assert_eq!(classify_wild(libc::SIGSEGV, SEGV_ACCERR, sp + 0x100, sp), Wild::StackOverflow);
        assert_eq!(classify_wild(libc::SIGSEGV, SEGV_MAPERR, 0x5555_0000_0000, sp), Wild::Unmapped);
        assert_eq!(classify_wild(libc::SIGSEGV, libc::SI_KERNEL, 0, sp), Wild::NoAddress);
        assert_eq!(classify_wild(libc::SIGBUS, libc::BUS_ADRERR, 0x5555_0000_0000, sp), Wild::Bus);
    }
}
