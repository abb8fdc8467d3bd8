//! The SIGSEGV/SIGBUS handler: turns a trap in our heap into a report.
//!
//! A fault whose address lies in the arena is ours: find the nearest block
//! (this slot's, or its neighbours'), classify the access (overflow to the
//! right, underflow to the left, use after free, or a wild access into the
//! heap), tell READ from WRITE (the page-fault error code) and the access size
//! (decoding the faulting instruction), and print one report with the faulting,
//! free and allocation stacks, and where the threads it names came from.
//! Anything else — a fault elsewhere, a fault
//! inside a live block's own bytes (a page the program protected itself), a
//! signal sent with kill() — goes to the program's action (diag/chain.rs:
//! ours stays installed, theirs is recorded behind it), or takes the default
//! action. The handler runs on an alternate stack: one per thread, made on
//! the thread's first allocation (front/thread.rs), or the program's own.

use core::ffi::c_void;

use super::chain::{self, Disposition};
use super::report::{self, Bug};
use super::{describe, frames, insn};
use crate::config::options::OnError;
use crate::config::state;
use crate::heap::block::Block;
use crate::heap::guard;
use crate::heap::pool::{self, arena, Where};
use crate::heap::slot::{OPENED, REPORTED};
use crate::out::say;
use crate::sys::signal;
use crate::sys::tls::{self, FLIGHT_WORDS};
use crate::sys::{mem, PAGE};

/// Installs the handler for SIGSEGV and SIGBUS; the actions it replaces
/// become the program's (diag/chain.rs).
///
/// # Safety
/// Called once from the constructor.
pub unsafe fn install() {
    chain::install(on_fault);
}

/// What the kernel says of a fault (or of a sent signal: code <= 0).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Fault {
    sig: i32,
    code: i32,
    addr: usize,
    pc: usize,
    sp: usize,
    /// rbp, for walking the interrupted stack.
    fp: usize,
    /// The page-fault error code (bit 1: write, bit 4: instruction fetch).
    err: u64,
}

impl Fault {
    /// # Safety
    /// `info` and `ctx` are what the kernel passed to our SA_SIGINFO handler.
    unsafe fn read(sig: i32, info: *const libc::siginfo_t, ctx: *const c_void) -> Fault {
        let uc = &*(ctx as *const libc::ucontext_t);
        Fault {
            sig,
            code: (*info).si_code,
            addr: (*info).si_addr() as usize,
            pc: uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize,
            sp: uc.uc_mcontext.gregs[libc::REG_RSP as usize] as usize,
            fp: uc.uc_mcontext.gregs[libc::REG_RBP as usize] as usize,
            err: uc.uc_mcontext.gregs[libc::REG_ERR as usize] as u64,
        }
    }

    fn sent(&self) -> bool {
        self.code <= 0 // kill(), tgkill(), sigqueue(): no fault address
    }

    /// The per-thread record of this fault while the program's handler
    /// runs: the fault, and `frame`, an address in our handler's frame.
    fn flight(&self, frame: usize) -> [u64; FLIGHT_WORDS] {
        let (sig, code) = (self.sig as u64, self.code as u64);
        [sig, code, self.addr as u64, self.pc as u64, self.sp as u64, self.fp as u64, self.err, frame as u64]
    }

    fn landed(w: &[u64; FLIGHT_WORDS]) -> (Fault, usize) {
        let f = Fault {
            sig: w[0] as i32,
            code: w[1] as i32,
            addr: w[2] as usize,
            pc: w[3] as usize,
            sp: w[4] as usize,
            fp: w[5] as usize,
            err: w[6],
        };
        (f, w[7] as usize)
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
        Bug::HeapWildAccess // inside a live block: a page made inaccessible on purpose
    };
    (kind, Some(b))
}

// ---- the handler ----

extern "C" fn on_fault(sig: i32, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext for SA_SIGINFO handlers.
    let f = unsafe { Fault::read(sig, info, ctx) };
    let addr = f.addr;
    // Our own probing read of a block another thread freed meanwhile
    // (heapcheck.rs): it ends there and says so.
    if let Some(landing) = mem::recover_probe(f.pc).filter(|_| !f.sent()) {
        // SAFETY: the kernel's ucontext for this signal; resuming at the
        // probe's landing is what the probe expects.
        unsafe { (*(ctx as *mut libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize] = landing as i64 };
        return;
    }
    if f.sent() || !state::ready() || pool::locate(addr) == Where::Foreign || report::in_report() {
        forward(&f, info, ctx);
        return;
    }
    let (kind, block) = classify(addr);
    if kind == Bug::HeapWildAccess
        && block.is_some()
        && chain::current(sig).is_some_and(|r| r.disposition() == Disposition::Handler)
    {
        // Inside a live block's bytes: a page the program protected itself
        // (mprotect), which its own handler expects.
        forward(&f, info, ctx);
        return;
    }
    // A suppressed fault goes on as with on_error=continue (and says nothing).
    let continuing = state::options().on_error == OnError::Continue || report::suppressed_here(kind.name());
    if continuing {
        let already = block.is_some_and(|b| b.meta.test_and_set(REPORTED));
        open_after_report(addr, &block);
        if already {
            return; // each block is reported once
        }
    }
    on_our_stack(&mut || report_access(&f, kind, &block));
}

/// Runs `f` on the thread's stack of ours (front/thread.rs) when the
/// handler was delivered on another: the program's alternate stack, which
/// may be too small for a report (Rust's is 8 KiB). Asynchronous signals
/// are blocked meanwhile: one delivered on the program's stack would land
/// on our handler's frames there (the kernel starts at its top when the
/// thread runs elsewhere). A fault meanwhile is in our own report, and fatal.
fn on_our_stack(f: &mut dyn FnMut()) {
    let here = core::ptr::addr_of!(f) as usize;
    match tls::own_stack() {
        Some((base, size)) if here < base || here >= base + size => {
            let mask = signal::block_asynchronous_word();
            // SAFETY: our own mapping for this thread; this handler is its
            // only user (a nested one would be in our report, and fatal).
            unsafe { signal::run_on_stack(base + size, f) };
            signal::set_mask_word(mask);
        }
        _ => f(),
    }
}

/// The report of a fault in our heap, then `on_error`.
fn report_access(f: &Fault, kind: Bug, block: &Option<Block>) {
    let (addr, pc) = (f.addr, f.pc);
    let size = if pc == addr {
        None // an instruction fetch from the heap: nothing to decode
    } else {
        // SAFETY: pc is the faulting instruction, mapped executable; read no
        // further than its page's end (x86 instructions are at most 15 bytes).
        let n = (PAGE - pc % PAGE).min(15);
        insn::access_size(unsafe { core::slice::from_raw_parts(pc as *const u8, n) })
    };
    // libc's vector string functions load and store in wide aligned steps,
    // which may start before the block: describe the access from the first
    // byte of the block it touched (a trapped guard page's first byte is
    // the fault address already).
    let string_fn = frames::string_function(pc);
    let (addr, size, clamped) = match (string_fn, block, size) {
        (Some(_), Some(b), Some(s)) if addr < b.end() && addr + s > b.user() => {
            let from = addr.max(b.user());
            (from, Some(((addr + s).min(b.end()) - from).max(1)), true)
        }
        _ => (addr, size, false),
    };
    let access = if f.err & 2 != 0 { "WRITE" } else { "READ" };
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
    if let Some(b) = block {
        describe::located(addr, b);
    } else {
        describe::wild(addr);
    }
    if let Some(f) = string_fn {
        let what = if clamped { "of the block it touched" } else { "it touched in a trapped page" };
        say!(
            "  the access is made by {}, which reads and writes in wide aligned steps: shown from the first byte {}",
            f,
            what
        );
    }
    frames::print_from_context(pc, f.sp, f.fp);
    if let Some(b) = block {
        describe::block_stacks(b);
    }
    describe::thread_origins(Some(thread), block.as_ref());
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

/// Hands a fault or signal that is no heap bug to the program's action, as
/// the kernel would have: its handler, or nothing for a sent signal it
/// ignores, or the default action. The default action: a fault that ends
/// the program is described first (`report_fatal`); then the kernel's
/// default is restored, and the fault happens again when the instruction
/// is retried, or a sent signal is raised again, so the kernel does what it
/// would have done without us.
fn forward(f: &Fault, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    let sent = f.sent();
    // A fault inside our own report is not the program's to handle.
    let ours = !sent && report::in_report();
    if let Some(r) = chain::take(f.sig).filter(|_| !ours) {
        match r.disposition() {
            Disposition::Handler => {
                // SAFETY: the kernel's arguments, for this very signal.
                unsafe { hand_over(&r, f, info, ctx) };
                return;
            }
            Disposition::Ignore if sent => return, // the kernel would have discarded it
            _ => {}                                // a fault cannot be ignored
        }
    }
    if state::ready() && !report::in_report() {
        if !sent {
            on_our_stack(&mut || report_fatal(f));
        } else if let Some(fault) = given_back_inside(f) {
            on_our_stack(&mut || report_fatal(&fault));
        }
    }
    signal::reset_default(f.sig);
    if sent {
        signal::raise(f.sig);
    }
}

/// Runs the program's handler (diag/chain.rs `deliver`). A fault it gives
/// back — SIG_DFL restored and the signal raised again, to die of it — gets
/// the report a fault nobody takes gets: here, when the raised signal waits
/// blocked until the handler returns; in `given_back_inside` when it comes
/// at once (SA_NODEFER). A handler that restores SIG_DFL and returns makes
/// the fault happen again, which comes back to `forward`.
///
/// # Safety
/// As `chain::deliver`.
unsafe fn hand_over(r: &chain::Record, f: &Fault, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    let sent = f.sent();
    let frame = 0u8;
    let outer = tls::flight();
    if !sent {
        tls::set_flight(f.flight(core::ptr::addr_of!(frame) as usize));
    }
    chain::deliver(r, f.sig, info, ctx);
    tls::set_flight(outer);
    if !sent && state::ready() && !report::in_report() && chain::given_back(f.sig) {
        on_our_stack(&mut || report_fatal(f));
    }
}

/// A signal sent while the program's handler for a fault of ours runs, on
/// the same stack below our frame, with the action SIG_DFL: the handler
/// gave the fault back at once (SA_NODEFER). Returns that fault. A record
/// left behind by a handler that jumped out does not match: the program then
/// runs elsewhere than below the frame, or off the alternate stack it was on.
fn given_back_inside(sent: &Fault) -> Option<Fault> {
    let (fault, frame) = Fault::landed(&tls::flight());
    if fault.sig != sent.sig || frame == 0 || sent.sp >= frame || frame - sent.sp > 1 << 20 {
        return None;
    }
    if let Some((base, size, true)) = signal::altstack() {
        let on = |a: usize| a >= base && a < base + size;
        if !on(sent.sp) || !on(frame) {
            return None;
        }
    }
    Some(fault)
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
/// of the program takes (or that its handler gave back), before it ends the
/// program: the kind, READ or WRITE, a hint, and the stack. The signal then
/// takes its course.
fn report_fatal(f: &Fault) {
    let (addr, pc) = (f.addr, f.pc);
    let wild = classify_wild(f.sig, f.code, addr, f.sp);
    let fetch = f.err & 16 != 0 || pc == addr;
    let access = if f.err & 2 != 0 { "WRITE" } else { "READ" };
    let size = if fetch || wild == Wild::NoAddress {
        None
    } else {
        // SAFETY: pc is the faulting instruction, mapped executable (not a
        // fetch fault); no further than its page's end.
        let n = (PAGE - pc % PAGE).min(15);
        insn::access_size(unsafe { core::slice::from_raw_parts(pc as *const u8, n) })
            // A call or push that faulted writing its 8 bytes just below the
            // stack pointer (the usual last step of a stack overflow).
            .or((f.err & 2 != 0 && addr.wrapping_add(8) == f.sp).then_some(8))
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
    frames::print_from_context(pc, f.sp, f.fp);
    describe::thread_origins(Some(thread), None);
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
