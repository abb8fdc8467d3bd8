//! The program's own SIGSEGV and SIGBUS actions, kept behind ours.
//!
//! Our fault handler must see every fault first, yet programs and runtimes
//! install their own handlers after it (a region of their own, the JVM's
//! implicit null checks, Python's faulthandler, Go, crash reporters). So
//! for these two signals the program's sigaction() and signal() never reach
//! the kernel (front/signals.rs): the action it asks for is recorded here,
//! it is answered from the record, and diag/fault.rs hands every fault that
//! is no heap bug to the recorded action as the kernel would have (`take`,
//! `deliver`). Every other signal goes to glibc untouched.
//!
//! The record is what the kernel would hold: the handler, the flags as
//! glibc and the kernel leave them (SA_RESTORER added; bits the kernel does
//! not know dropped, on Linux 5.11 and later), the 64-bit mask without
//! SIGKILL and SIGSTOP, and glibc's restorer (before glibc 2.34 libpthread
//! has a sigaction and a restorer of its own: the program's sigaction()
//! calls set that one, signal() and the rest libc's). At start it is the action found
//! when ours was installed: SIG_DFL, or what an earlier constructor set.
//!
//! Concurrency. Per signal, one word names the current slot of eight by its
//! generation, plus one bit: "a one-shot (SA_RESETHAND) delivery reset the
//! handler to SIG_DFL". Writers — the program's calls — are serialised by a
//! spin lock taken with every signal blocked (no handler can run on a thread
//! that holds it), fill the next slot, and publish it by a compare-and-swap
//! of the word. The fault handler takes no lock and makes no system call to
//! read the record: it copies the current slot and checks the slot's
//! generation before and after (a seqlock reader; a slot is rewritten only
//! seven updates later, and then the reader tries again), and sets the
//! reset bit with a compare-and-swap.
//!
//! A fork child inherits the record (and `after_fork_child` frees the lock);
//! a vfork child, which shares our memory but has its own actions in the
//! kernel, is passed to glibc; exec starts afresh.

use core::ffi::c_void;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use core::sync::atomic::{fence, AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize};

use crate::sys::signal::{self, Action, InfoHandler, Next};
use crate::sys::{self, process};

// ---- what the kernel would hold (pure) ----

const fn bits(flag: i32) -> u32 {
    flag as u32
}

pub const SA_SIGINFO: u32 = bits(libc::SA_SIGINFO);
pub const SA_ONSTACK: u32 = bits(libc::SA_ONSTACK);
pub const SA_RESTART: u32 = bits(libc::SA_RESTART);
pub const SA_NODEFER: u32 = bits(libc::SA_NODEFER);
pub const SA_RESETHAND: u32 = bits(libc::SA_RESETHAND);
/// glibc sets it with its own restorer on every action it hands the kernel.
pub const SA_RESTORER: u32 = 0x0400_0000;
/// sysv_signal's historical no-op flag.
pub const SA_INTERRUPT: u32 = 0x2000_0000;
/// Never known to the kernel: it tells whether the kernel drops unknown bits.
const SA_UNSUPPORTED: u32 = 0x400;
const SA_EXPOSE_TAGBITS: u32 = 0x800;
/// The flags Linux 5.11 and later keep (UAPI_SA_FLAGS); before, every bit.
const KEPT_SINCE_5_11: u32 = bits(libc::SA_NOCLDSTOP)
    | bits(libc::SA_NOCLDWAIT)
    | SA_SIGINFO
    | SA_ONSTACK
    | SA_RESTART
    | SA_NODEFER
    | SA_RESETHAND
    | SA_EXPOSE_TAGBITS
    | SA_RESTORER;

/// Signal `sig`'s bit in a 64-bit kernel mask.
pub const fn sig_bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// A recorded action, as the kernel would report it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Record {
    pub handler: usize,
    pub flags: u32,
    pub mask: u64,
    pub restorer: usize,
}

/// What a signal does under a record.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Disposition {
    Default,
    Ignore,
    Handler,
}

impl Record {
    pub const DEFAULT: Record = Record { handler: libc::SIG_DFL, flags: 0, mask: 0, restorer: 0 };

    /// An action as glibc reported it from the kernel.
    pub fn from_kernel(a: &Action) -> Record {
        Record {
            handler: a.sa_sigaction,
            flags: a.sa_flags as u32,
            mask: signal::mask_word(&a.sa_mask),
            restorer: a.sa_restorer.map_or(0, |f| f as usize),
        }
    }

    /// Fills the program's `oldact` as glibc does from the kernel's answer.
    pub fn write_to(&self, out: &mut Action) {
        out.sa_sigaction = self.handler;
        out.sa_flags = self.flags as i32;
        out.sa_mask = signal::mask_of_word(self.mask);
        // SAFETY: an address glibc or the kernel gave as a restorer, or 0 (None).
        out.sa_restorer = unsafe { core::mem::transmute::<usize, Option<extern "C" fn()>>(self.restorer) };
    }

    pub fn disposition(&self) -> Disposition {
        match self.handler {
            libc::SIG_DFL => Disposition::Default,
            libc::SIG_IGN => Disposition::Ignore,
            _ => Disposition::Handler,
        }
    }
}

/// What glibc and the kernel do to an action on its way in: the flags the
/// kernel keeps, and glibc's restorer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Kernel {
    pub keeps: u32,
    pub restorer: usize,
}

impl Kernel {
    /// Learnt from our own action, installed with SA_UNSUPPORTED and
    /// SA_EXPOSE_TAGBITS and read back (`seen`).
    pub fn learn(seen: &Record) -> Kernel {
        let keeps = if seen.flags & SA_UNSUPPORTED != 0 {
            u32::MAX // before 5.11: every bit is kept
        } else {
            KEPT_SINCE_5_11 & (seen.flags | !SA_EXPOSE_TAGBITS)
        };
        Kernel { keeps, restorer: seen.restorer }
    }
}

/// The record the kernel would hold after the program set (handler, flags,
/// mask): glibc adds SA_RESTORER and its restorer; the kernel drops the
/// flags it does not know, and SIGKILL and SIGSTOP from the mask.
pub fn normalize(handler: usize, flags: u32, mask: u64, k: Kernel) -> Record {
    Record {
        handler,
        flags: (flags | SA_RESTORER) & k.keeps,
        mask: mask & !(sig_bit(libc::SIGKILL) | sig_bit(libc::SIGSTOP)),
        restorer: k.restorer,
    }
}

/// The mask the kernel gives a handler: the interrupted code's, plus the
/// action's sa_mask, plus the signal itself unless SA_NODEFER.
pub fn delivery_mask(interrupted: u64, r: &Record, sig: i32) -> u64 {
    let own = if r.flags & SA_NODEFER != 0 { 0 } else { sig_bit(sig) };
    interrupted | r.mask | own
}

// ---- the record ----

const SLOTS: u64 = 8;
/// Bit 0 of a word: a one-shot delivery reset the handler to SIG_DFL. The
/// generation is the rest.
const RESET: u64 = 1;

struct Slot {
    /// The generation written here; 0 while a writer fills it.
    gen: AtomicU64,
    handler: AtomicUsize,
    flags: AtomicU32,
    mask: AtomicU64,
    restorer: AtomicUsize,
}

struct Chain {
    word: AtomicU64,
    slots: [Slot; SLOTS as usize],
}

static CHAINS: [Chain; 2] = [const {
    Chain {
        word: AtomicU64::new(0),
        slots: [const {
            Slot {
                gen: AtomicU64::new(0),
                handler: AtomicUsize::new(0),
                flags: AtomicU32::new(0),
                mask: AtomicU64::new(0),
                restorer: AtomicUsize::new(0),
            }
        }; SLOTS as usize],
    }
}; 2];

/// Set once `install` recorded the actions it found; until then the
/// program's calls go to glibc.
static LIVE: AtomicBool = AtomicBool::new(false);
/// The writers' lock.
static WRITING: AtomicBool = AtomicBool::new(false);
/// `Kernel`, learnt at install: the flags kept, the restorer sigaction()
/// sets, the one libc's signal() and the rest set.
static KEEPS: AtomicU32 = AtomicU32::new(u32::MAX);
static RESTORER: AtomicUsize = AtomicUsize::new(0);
static RESTORER_LIBC: AtomicUsize = AtomicUsize::new(0);
/// Our fault handler (diag/fault.rs), to install it again with the
/// program's SA_RESTART.
static OURS: AtomicUsize = AtomicUsize::new(0);
/// The process the record belongs to (a vfork child has another pid).
static OWNER: AtomicI32 = AtomicI32::new(0);
/// Per signal: siginterrupt(sig, 1) was called (glibc's _sigintr: signal()
/// then leaves SA_RESTART off).
static INTERRUPTS: [AtomicBool; 2] = [const { AtomicBool::new(false) }; 2];
/// Signals handed to the program's handlers (statistics).
static PASSED: AtomicU64 = AtomicU64::new(0);

fn index(sig: i32) -> Option<usize> {
    match sig {
        libc::SIGSEGV => Some(0),
        libc::SIGBUS => Some(1),
        _ => None,
    }
}

/// True for the signals whose actions are recorded here.
pub fn records(sig: i32) -> bool {
    index(sig).is_some()
}

impl Chain {
    /// The current record and the word it was read under. Lock-free, no
    /// system call: safe in a signal handler.
    fn read(&self) -> (u64, Record) {
        loop {
            let w = self.word.load(Acquire);
            let gen = w >> 1;
            let s = &self.slots[(gen % SLOTS) as usize];
            if s.gen.load(Acquire) != gen {
                core::hint::spin_loop();
                continue; // rewritten since: read the word again
            }
            let mut r = Record {
                handler: s.handler.load(Relaxed),
                flags: s.flags.load(Relaxed),
                mask: s.mask.load(Relaxed),
                restorer: s.restorer.load(Relaxed),
            };
            fence(Acquire);
            if s.gen.load(Relaxed) != gen {
                continue;
            }
            if w & RESET != 0 {
                r.handler = libc::SIG_DFL;
            }
            return (w, r);
        }
    }

    /// Writes generation `gen` into its slot; returns the word naming it.
    /// Writers only (under the lock): the slot is not the current one.
    fn fill(&self, gen: u64, r: &Record) -> u64 {
        let s = &self.slots[(gen % SLOTS) as usize];
        s.gen.store(0, Relaxed);
        fence(Release);
        s.handler.store(r.handler, Relaxed);
        s.flags.store(r.flags, Relaxed);
        s.mask.store(r.mask, Relaxed);
        s.restorer.store(r.restorer, Relaxed);
        s.gen.store(gen, Release);
        gen << 1
    }
}

/// The writers' lock, held with every signal blocked; released on drop.
struct Writing {
    mask: u64,
}

impl Writing {
    fn lock() -> Writing {
        let mask = signal::set_mask_word(u64::MAX);
        while WRITING.compare_exchange_weak(false, true, Acquire, Relaxed).is_err() {
            sys::yield_now();
        }
        Writing { mask }
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        WRITING.store(false, Release);
        signal::set_mask_word(self.mask);
    }
}

/// True when the record answers for this process: not in a vfork child
/// (our memory, its own actions in the kernel). A fork child that ran no
/// fork handlers adopts the record it inherited.
fn owned() -> bool {
    let pid = sys::getpid();
    if OWNER.load(Relaxed) == pid {
        return true;
    }
    if process::shares_memory_with_parent() {
        return false;
    }
    OWNER.store(pid, Relaxed);
    true
}

/// Installs our fault handler for SIGSEGV and SIGBUS and records the
/// actions it replaced as the program's. Constructor only.
pub fn install(handler: InfoHandler) -> bool {
    signal::resolve_next();
    let _w = Writing::lock();
    let mut found = [Record::DEFAULT; 2];
    for (i, sig) in [libc::SIGSEGV, libc::SIGBUS].into_iter().enumerate() {
        let probe = (SA_UNSUPPORTED | SA_EXPOSE_TAGBITS) as i32;
        let Some(prev) = signal::install_fault_handler(sig, handler, probe) else { return false };
        found[i] = Record::from_kernel(&prev);
        if i == 0 {
            let Some(seen) = signal::query(sig) else { return false };
            let k = Kernel::learn(&Record::from_kernel(&seen));
            KEEPS.store(k.keeps, Relaxed);
            RESTORER.store(k.restorer, Relaxed);
            // glibc's siginterrupt sets our action again through libc's own
            // sigaction: its restorer is the one signal() & co. set.
            let again = signal::next_int_fn(Next::Siginterrupt, sig, 0) == 0;
            let libc = signal::query(sig).filter(|_| again).map_or(k.restorer, |a| Record::from_kernel(&a).restorer);
            RESTORER_LIBC.store(libc, Relaxed);
        }
        signal::install_fault_handler(sig, handler, (found[i].flags & SA_RESTART) as i32);
    }
    for (c, r) in CHAINS.iter().zip(found.iter()) {
        let w = c.fill(1, r);
        c.word.store(w, Release);
    }
    OURS.store(handler as usize, Relaxed);
    OWNER.store(sys::getpid(), Relaxed);
    LIVE.store(true, Release);
    true
}

/// In a fork child: a thread that held the writers' lock is not there.
pub fn after_fork_child() {
    WRITING.store(false, Release);
    OWNER.store(sys::getpid(), Relaxed);
}

/// Which glibc code would have handed an action to the kernel: the
/// sigaction() the program calls, or libc's own (signal(), sigset(), …).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Via {
    Sigaction,
    Libc,
}

/// What the program asks of sigaction(): a handler, flags and mask as it
/// passed them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Wanted {
    pub handler: usize,
    pub flags: u32,
    pub mask: u64,
}

impl Wanted {
    /// Reads the program's struct (as glibc does, before anything else).
    pub fn of(a: &Action) -> Wanted {
        Wanted { handler: a.sa_sigaction, flags: a.sa_flags as u32, mask: signal::mask_word(&a.sa_mask) }
    }

    pub fn record(&self, via: Via) -> Record {
        let restorer = match via {
            Via::Sigaction => RESTORER.load(Relaxed),
            Via::Libc => RESTORER_LIBC.load(Relaxed),
        };
        normalize(self.handler, self.flags, self.mask, Kernel { keeps: KEEPS.load(Relaxed), restorer })
    }
}

/// sigaction() for a recorded signal: `change` gets the current record and
/// returns the new one (None: a query). Returns the record it replaced, or
/// `Err(unrecorded())`, glibc's answer, before our handler is installed
/// (a call from another thread while the constructor installs it could be
/// lost: there is no such thread in practice) and in a vfork child.
pub fn exchange<T>(
    sig: i32,
    change: impl FnOnce(&Record) -> Option<Record>,
    unrecorded: impl FnOnce() -> T,
) -> Result<Record, T> {
    match index(sig).and_then(|i| exchange_recorded(i, sig, change)) {
        Some(old) => Ok(old),
        None => Err(unrecorded()),
    }
}

fn exchange_recorded(i: usize, sig: i32, change: impl FnOnce(&Record) -> Option<Record>) -> Option<Record> {
    let _w = Writing::lock();
    if !LIVE.load(Acquire) || !owned() {
        return None;
    }
    let c = &CHAINS[i];
    let (mut w, mut old) = c.read();
    let Some(new) = change(&old) else { return Some(old) };
    let next = c.fill((w >> 1) + 1, &new);
    // A one-shot delivery may set the reset bit meanwhile: it came first.
    while let Err(now) = c.word.compare_exchange(w, next, AcqRel, Acquire) {
        w = now;
        old.handler = libc::SIG_DFL;
    }
    if (old.flags ^ new.flags) & SA_RESTART != 0 {
        // A sent signal that interrupts a system call: restarted or not as
        // the program's action says, for our handler is the one the kernel sees.
        // SAFETY: OURS holds our handler since install.
        let ours: InfoHandler = unsafe { core::mem::transmute::<usize, InfoHandler>(OURS.load(Relaxed)) };
        signal::install_fault_handler(sig, ours, (new.flags & SA_RESTART) as i32);
    }
    Some(old)
}

/// siginterrupt() for a recorded signal: remembers it for signal().
pub fn set_interrupts(sig: i32, on: bool) {
    if let Some(i) = index(sig) {
        INTERRUPTS[i].store(on, Relaxed);
    }
}

/// Whether signal() leaves SA_RESTART off for `sig` (siginterrupt(sig, 1)).
pub fn interrupts(sig: i32) -> bool {
    index(sig).is_some_and(|i| INTERRUPTS[i].load(Relaxed))
}

/// The program's current action for `sig`; None if not recorded. Lock-free.
pub fn current(sig: i32) -> Option<Record> {
    let i = index(sig)?;
    if !LIVE.load(Acquire) {
        return None;
    }
    Some(CHAINS[i].read().1)
}

/// The action a signal goes to now, picked as the kernel picks it at
/// delivery: a one-shot handler (SA_RESETHAND) is reset to SIG_DFL on the
/// way. Lock-free; for the fault handler.
pub fn take(sig: i32) -> Option<Record> {
    let c = &CHAINS[index(sig)?];
    if !LIVE.load(Acquire) {
        return None;
    }
    loop {
        let (w, mut r) = c.read();
        if r.handler == OURS.load(Relaxed) {
            // Our own handler, which the program learnt from the kernel (a
            // raw system call) and set back: taken as SIG_DFL, never called
            // from itself.
            r.handler = libc::SIG_DFL;
        }
        if r.flags & SA_RESETHAND != 0
            && r.disposition() == Disposition::Handler
            && c.word.compare_exchange(w, w | RESET, AcqRel, Acquire).is_err()
        {
            continue; // changed under us: pick again
        }
        return Some(r);
    }
}

/// Runs the program's handler `r` for this signal as the kernel would have
/// started it: blocking the interrupted code's mask, sa_mask and (unless
/// SA_NODEFER) the signal itself, and passing (sig, info, ctx) — the same
/// siginfo and ucontext, so a handler that rewrites the context and returns
/// (the JVM) or jumps out (siglongjmp) works unchanged. It runs on the
/// stack our handler runs on (the thread's alternate stack: ours, or the
/// program's own). The mask is restored by sigreturn from the ucontext
/// when our handler returns, as after any handler.
///
/// # Safety
/// `info` and `ctx` are what the kernel passed to our handler for `sig`;
/// `r` came from `take(sig)` and names a handler.
pub unsafe fn deliver(r: &Record, sig: i32, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    PASSED.fetch_add(1, Relaxed);
    let uc = &*(ctx as *const libc::ucontext_t);
    signal::set_mask_word(delivery_mask(signal::mask_word(&uc.uc_sigmask), r, sig));
    signal::call_handler(r.handler, sig, info, ctx);
}

/// True when the program's handler gave the signal back: the action is
/// SIG_DFL now and the signal was raised again (it waits, blocked).
pub fn given_back(sig: i32) -> bool {
    current(sig).is_some_and(|r| r.disposition() == Disposition::Default) && signal::pending_word() & sig_bit(sig) != 0
}

/// How many signals went to the program's handlers.
pub fn passed() -> u64 {
    PASSED.load(Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: Kernel = Kernel { keeps: KEPT_SINCE_5_11, restorer: 0x1234 };
    const OLD: Kernel = Kernel { keeps: u32::MAX, restorer: 0x1234 };

    #[test]
    fn the_kernel_is_learnt_from_our_own_action() {
        let ours = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTORER;
        let seen = |flags| Record { handler: 0x5000, flags, mask: 0, restorer: 0x1234 };
        // 5.11+: SA_UNSUPPORTED dropped, SA_EXPOSE_TAGBITS kept.
        assert_eq!(Kernel::learn(&seen(ours | SA_EXPOSE_TAGBITS)), NEW);
        // A kernel that knows neither bit of the probe drops both.
        assert_eq!(Kernel::learn(&seen(ours)).keeps, KEPT_SINCE_5_11 & !SA_EXPOSE_TAGBITS);
        // Before 5.11 every bit comes back.
        assert_eq!(Kernel::learn(&seen(ours | SA_UNSUPPORTED | SA_EXPOSE_TAGBITS)), OLD);
    }

    #[test]
    fn an_action_is_recorded_as_the_kernel_would_hold_it() {
        let r = normalize(0x4000, SA_SIGINFO | SA_RESETHAND, u64::MAX, NEW);
        assert_eq!(r.flags, SA_SIGINFO | SA_RESETHAND | SA_RESTORER);
        assert_eq!(r.mask & sig_bit(libc::SIGKILL), 0);
        assert_eq!(r.mask & sig_bit(libc::SIGSTOP), 0);
        assert_ne!(r.mask & sig_bit(libc::SIGUSR1), 0);
        assert_eq!(r.restorer, 0x1234);
        // sysv_signal's SA_INTERRUPT: dropped by 5.11+, kept before.
        let sysv = SA_RESETHAND | SA_NODEFER | SA_INTERRUPT;
        assert_eq!(normalize(0x4000, sysv, 0, NEW).flags, SA_RESETHAND | SA_NODEFER | SA_RESTORER);
        assert_eq!(normalize(0x4000, sysv, 0, OLD).flags, sysv | SA_RESTORER);
        assert_eq!(normalize(libc::SIG_DFL, 0, 0, NEW).disposition(), Disposition::Default);
        assert_eq!(normalize(libc::SIG_IGN, 0, 0, NEW).disposition(), Disposition::Ignore);
        assert_eq!(normalize(0x4000, 0, 0, NEW).disposition(), Disposition::Handler);
    }

    #[test]
    fn a_handler_blocks_its_mask_and_its_signal_unless_nodefer() {
        let interrupted = sig_bit(libc::SIGINT);
        let r = normalize(0x4000, SA_SIGINFO, sig_bit(libc::SIGUSR1), NEW);
        let m = delivery_mask(interrupted, &r, libc::SIGSEGV);
        assert_eq!(m, sig_bit(libc::SIGINT) | sig_bit(libc::SIGUSR1) | sig_bit(libc::SIGSEGV));
        let r = normalize(0x4000, SA_SIGINFO | SA_NODEFER, 0, NEW);
        assert_eq!(delivery_mask(interrupted, &r, libc::SIGSEGV), sig_bit(libc::SIGINT));
        assert_eq!(delivery_mask(0, &r, libc::SIGBUS), 0);
    }

    #[test]
    fn the_record_is_read_back_and_reset_once() {
        let c = &CHAINS[1];
        let first = Record { handler: 0x4000, flags: SA_RESETHAND | SA_RESTORER, mask: 3, restorer: 9 };
        c.word.store(c.fill(1, &first), Release);
        assert_eq!(c.read().1, first);
        // Nine updates wrap the slots; every one reads back whole.
        for gen in 2..11u64 {
            let r = Record { handler: 0x4000 + gen as usize, flags: 0, mask: gen, restorer: 9 };
            c.word.store(c.fill(gen, &r), Release);
            assert_eq!(c.read(), (gen << 1, r));
        }
        let (w, r) = c.read();
        c.word.store(w | RESET, Release);
        assert_eq!(c.read().1, Record { handler: libc::SIG_DFL, ..r });
    }
}
