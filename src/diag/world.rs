//! Stopping the world for the leak check: every other thread of the process
//! is held still while the heap is scanned, and its registers become roots.
//!
//! A conservative scan beside running threads is wrong both ways: a block
//! allocated, or a pointer moved from a place not yet scanned to one already
//! scanned, shows as a leak; and a block freed between the check of its
//! state and the read of its bytes is read in trapped pages, which faults
//! inside the scan. So, as Boehm GC does, the checking thread sends each
//! other thread a signal whose handler stores the interrupted registers in
//! a shared table, says so, and waits until released. A thread that cannot
//! take the signal (it blocks it: threads are often created with every
//! signal blocked; or it does not answer in time) is stopped the way
//! LeakSanitizer stops every thread: a helper process sharing our memory
//! attaches to it with ptrace, interrupts it and reads its registers (the
//! process cannot trace its own threads). One that neither way stops is
//! *missed*: the caller is told, scans without trusting the world to hold
//! still, and says so.
//!
//! # The signal: SIGURG
//! Its default action is to ignore it, so one that arrives late (after its
//! thread blocked or was given up on) harms nobody once the program's action
//! is back; few programs use it (socket out-of-band data), and debuggers
//! pass it silently (gdb: nostop noprint), so the check works under gdb. The
//! Go runtime preempts goroutines with it for the same reasons. Ours are
//! queued with rt_tgsigqueueinfo, a tag in si_value: a SIGURG of anyone
//! else goes to the action the program installed. The handler is ours only
//! while the world stops (SA_RESTART: interrupted system calls restart where
//! the kernel can; those signal(7) lists as never restarted — poll,
//! epoll_wait, nanosleep… — return EINTR in the threads stopped, as with any
//! signal; SA_ONSTACK; every signal blocked while parked, so no handler of
//! the program runs on a parked thread). If one of our signals may still be
//! pending, the handler stays (it forwards anyone else's).
//!
//! # Never hang, never deadlock
//! Waits are bounded: an answer is waited for while the thread is runnable
//! (it answers when it next runs), a short while otherwise, then the thread
//! goes to ptrace, which waits a bounded time too. The checking thread takes
//! no lock that a stopped thread may hold (it never allocates; it reads
//! /proc and maps memory through the kernel) and blocks the program's
//! asynchronous signals while the world is stopped. Printing (symbols: the
//! loader lock) comes after the release.
//!
//! All the state lives in one mapping made at the first stop and never
//! unmapped, so a handler that runs late never touches freed memory.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering::*};

use crate::sys::proc::{self, PF_IO_WORKER, PF_USER_WORKER};
use crate::sys::signal::{self, Action, Mask};
use crate::sys::{self, futex, mem, ptrace, thread};

const SIG: i32 = libc::SIGURG;
/// Threads one stop can hold; more are missed.
pub const MAX_THREADS: usize = 8192;
/// In si_value: the tag of our signals, the stop's generation, the entry.
const TAG: usize = 0x1eac;

/// How long a thread that is not runnable gets to answer before ptrace is
/// tried, and how long a runnable one does (under load it may wait its turn
/// on a CPU a while); how long ptrace waits for one thread.
const GRACE_NS: u64 = 50_000_000;
const RUNNABLE_NS: u64 = 2_000_000_000;
const TRACE_NS: u64 = 1_000_000_000;

/// An entry's status (the low byte of its word; the generation above).
const SENT: u32 = 1;
const WRITING: u32 = 2;
const STOPPED: u32 = 3;
const TRACE: u32 = 4;
const TRACED: u32 = 5;
const MISSED: u32 = 6;
const GONE: u32 = 7;

fn word(gen: u32, status: u32) -> u32 {
    gen << 8 | status
}

/// One thread of a stop.
#[repr(C)]
struct Entry {
    word: AtomicU32,
    tid: AtomicU32,
    /// For a traced thread stopped on its way to a signal: that signal,
    /// delivered when it is let go.
    signal: AtomicU32,
    /// Whether our signal was sent to it.
    sent: AtomicU32,
    regs: [AtomicUsize; 16],
    tp: AtomicUsize,
}

impl Entry {
    fn status(&self, gen: u32) -> u32 {
        let w = self.word.load(Acquire);
        if w >> 8 == gen {
            w & 0xff
        } else {
            0
        }
    }

    fn set(&self, gen: u32, status: u32) {
        self.word.store(word(gen, status), Release);
    }

    /// Moves from `from` to `to` unless the thread's handler got there first.
    fn change(&self, gen: u32, from: u32, to: u32) -> bool {
        self.word.compare_exchange(word(gen, from), word(gen, to), AcqRel, Acquire).is_ok()
    }
}

/// The shared state: the table, and the commands to the ptrace helper.
#[repr(C)]
struct Shared {
    /// Bumped by each handler that parked its thread (the checker sleeps on it).
    answers: AtomicU32,
    /// The helper's commands: a sequence number, the one it carried out,
    /// the entries to attach to, and whether to let everything go and leave.
    cmd: AtomicU32,
    done: AtomicU32,
    from: AtomicU32,
    to: AtomicU32,
    leave: AtomicU32,
    gen: AtomicU32,
    /// The program's action for SIG, while ours is installed.
    old_valid: AtomicU32,
    old: UnsafeCell<MaybeUninit<Action>>,
    entries: [Entry; MAX_THREADS],
}

// SAFETY: `old` is written only by the stopping thread before our handler is
// installed, and read by the handler after.
unsafe impl Sync for Shared {}

static SHARED: AtomicUsize = AtomicUsize::new(0);
/// The generation of the stop in force (0: none). Parked threads sleep on it.
static ACTIVE: AtomicU32 = AtomicU32::new(0);
static NEXT_GEN: AtomicU32 = AtomicU32::new(0);
/// One stop at a time (a leak check asked for while another runs waits).
static STOPPING: AtomicU32 = AtomicU32::new(0);

const HELPER_STACK: usize = 256 * 1024;
static HELPER_STACK_BASE: AtomicUsize = AtomicUsize::new(0);

fn shared() -> Option<&'static Shared> {
    let p = SHARED.load(Acquire);
    if p != 0 {
        // SAFETY: made below, never unmapped.
        return Some(unsafe { &*(p as *const Shared) });
    }
    let p = mem::map_rw(core::mem::size_of::<Shared>())?;
    SHARED.store(p, Release);
    // SAFETY: a fresh zeroed mapping: all-zero is a valid Shared.
    Some(unsafe { &*(p as *const Shared) })
}

/// Our table's mapping and the helper's stack: the leak check does not
/// read them as roots (the registers in them are roots already, or stale).
pub fn own_ranges() -> [(usize, usize); 2] {
    let (p, s) = (SHARED.load(Acquire), HELPER_STACK_BASE.load(Acquire));
    [(p, if p == 0 { 0 } else { p + core::mem::size_of::<Shared>() }), (s, if s == 0 { 0 } else { s + HELPER_STACK })]
}

/// The threads held still, until `release`.
pub struct World {
    sh: Option<&'static Shared>,
    gen: u32,
    n: usize,
    /// Threads neither stopped nor gone; a listing that failed counts one.
    missed: usize,
    handler: bool,
    mask: Mask,
    helper: Option<i32>,
    yama: bool,
}

/// A stopped thread, for the scan.
pub struct Held {
    pub regs: [usize; 16],
    pub sp: usize,
    /// Its thread pointer (glibc's TCB sits at the top of the thread's stack).
    pub tp: usize,
}

/// What a stop came to, for the notice printed after the release.
pub struct Outcome {
    pub stopped: usize,
    pub missed: usize,
    /// Up to four of the missed threads' ids.
    pub missed_tids: [u32; 4],
}

/// Stops every other thread of the process. Never waits unboundedly.
pub fn stop() -> World {
    // One stop at a time. A thread waiting here is stopped by the other
    // stop like any thread (the futex wait is interrupted, then resumed).
    while STOPPING.swap(1, Acquire) != 0 {
        futex::wait(&STOPPING, 1, Some(10_000_000));
    }
    let mask = signal::block_asynchronous();
    let gen = NEXT_GEN.fetch_add(1, Relaxed) % 0xffff + 1;
    let mut w = World { sh: shared(), gen, n: 0, missed: 0, handler: false, mask, helper: None, yama: false };
    let Some(sh) = w.sh else {
        w.missed = 1;
        return w;
    };
    sh.gen.store(gen, Relaxed);
    ACTIVE.store(gen, Release);
    w.handler = install_handler(sh);
    let me = sys::process::gettid();
    let mut from = 0;
    for _round in 0..16 {
        let mut listed = false;
        let ok = proc::for_each_thread(|tid| {
            if tid != me && !w.listed(tid) {
                listed |= w.add(sh, tid);
            }
        });
        if !ok {
            w.missed = 1; // cannot even list the threads
            break;
        }
        if !listed {
            break;
        }
        w.wait_for_answers(sh, from);
        w.trace(sh, from);
        from = w.n;
    }
    w
}

impl World {
    fn listed(&self, tid: u32) -> bool {
        let Some(sh) = self.sh else { return false };
        sh.entries[..self.n].iter().any(|e| e.tid.load(Relaxed) == tid)
    }

    /// Adds thread `tid` and sends it our signal, or marks it for ptrace if
    /// it blocks the signal. Returns false if there is nothing to stop.
    fn add(&mut self, sh: &Shared, tid: u32) -> bool {
        let Some(info) = proc::thread_info(tid) else { return false };
        if info.flags & (PF_IO_WORKER | PF_USER_WORKER) != 0 || matches!(info.state, b'Z' | b'X' | b'x') {
            return false; // runs no code of the program, or has ended
        }
        if self.n == MAX_THREADS {
            self.missed += 1;
            return false;
        }
        let i = self.n;
        let e = &sh.entries[i];
        self.n += 1;
        e.tid.store(tid, Relaxed);
        e.signal.store(0, Relaxed);
        let blocks = info.blocked & 1 << (SIG - 1) != 0;
        if !self.handler || blocks {
            e.sent.store(0, Relaxed);
            e.set(self.gen, TRACE);
            return true;
        }
        e.sent.store(1, Relaxed);
        e.set(self.gen, SENT);
        let value = TAG << 48 | (self.gen as usize) << 32 | i;
        match signal::send_to_thread(tid, SIG, value) {
            Ok(()) => {}
            Err(libc::ESRCH) => e.set(self.gen, GONE),
            Err(_) => {
                e.sent.store(0, Relaxed);
                e.set(self.gen, TRACE)
            }
        }
        true
    }

    /// Waits until every thread sent our signal from entry `from` on has
    /// parked, is gone, or is handed to ptrace.
    fn wait_for_answers(&self, sh: &Shared, from: usize) {
        let start = sys::now_ns();
        let mut last_look = start;
        loop {
            let seen = sh.answers.load(Acquire);
            let now = sys::now_ns();
            let look = now - last_look >= 10_000_000;
            if look {
                last_look = now;
            }
            let mut waiting = false;
            for e in &sh.entries[from..self.n] {
                match e.status(self.gen) {
                    WRITING => waiting = true,
                    SENT if !look || now - start < GRACE_NS => waiting = true,
                    SENT => match proc::thread_info(e.tid.load(Relaxed)) {
                        None => _ = e.change(self.gen, SENT, GONE),
                        Some(i) if matches!(i.state, b'Z' | b'X' | b'x') => _ = e.change(self.gen, SENT, GONE),
                        // Runnable: it takes the signal when it next runs.
                        Some(i) if i.state == b'R' && now - start < RUNNABLE_NS => waiting = true,
                        Some(_) => _ = e.change(self.gen, SENT, TRACE),
                    },
                    _ => {}
                }
            }
            if !waiting {
                return;
            }
            futex::wait(&sh.answers, seen, Some(5_000_000));
        }
    }

    /// Has the ptrace helper stop the threads marked TRACE from entry `from`
    /// on; those it cannot stop are missed.
    fn trace(&mut self, sh: &'static Shared, from: usize) {
        let wanted = |e: &Entry| e.status(self.gen) == TRACE;
        if !sh.entries[from..self.n].iter().any(wanted) {
            return;
        }
        if self.helper.is_none() {
            self.helper = start_helper(sh);
            if let Some(pid) = self.helper {
                // Yama's ptrace_scope=1 lets only ancestors trace us, unless
                // we name the tracer (the helper waits for its first command).
                self.yama = proc::yama_ptrace_scope() == Some(1);
                if self.yama {
                    ptrace::allow_tracer(pid);
                }
            }
        }
        if let Some(pid) = self.helper {
            sh.from.store(from as u32, Relaxed);
            sh.to.store(self.n as u32, Relaxed);
            let cmd = sh.cmd.fetch_add(1, Release) + 1;
            futex::wake_all(&sh.cmd);
            loop {
                let done = sh.done.load(Acquire);
                if done == cmd {
                    break;
                }
                if ptrace::ended(pid) {
                    self.helper = None; // died: what it did not stop is missed
                    break;
                }
                futex::wait(&sh.done, done, Some(10_000_000));
            }
        }
        for e in &sh.entries[from..self.n] {
            e.change(self.gen, TRACE, MISSED);
        }
    }

    /// True if every other thread is held (or gone): the scan may trust
    /// that nothing moves.
    pub fn complete(&self) -> bool {
        self.missed == 0 && self.count(MISSED) == 0
    }

    fn count(&self, status: u32) -> usize {
        self.sh.map_or(0, |sh| sh.entries[..self.n].iter().filter(|e| e.status(self.gen) == status).count())
    }

    /// Calls `f` for each thread held still.
    pub fn for_each_held(&self, mut f: impl FnMut(&Held)) {
        let Some(sh) = self.sh else { return };
        for e in &sh.entries[..self.n] {
            if matches!(e.status(self.gen), STOPPED | TRACED) {
                let mut regs = [0usize; 16];
                for (r, v) in regs.iter_mut().zip(e.regs.iter()) {
                    *r = v.load(Relaxed);
                }
                f(&Held { regs, sp: regs[15], tp: e.tp.load(Relaxed) });
            }
        }
    }

    /// Lets every thread go, and puts the program's signal action back
    /// unless one of our signals may still be pending somewhere.
    pub fn release(self) -> Outcome {
        let mut out = Outcome { stopped: 0, missed: self.missed, missed_tids: [0; 4] };
        ACTIVE.store(0, Release);
        futex::wake_all(&ACTIVE);
        if let Some(sh) = self.sh {
            if let Some(pid) = self.helper {
                sh.leave.store(1, Release);
                sh.cmd.fetch_add(1, Release);
                futex::wake_all(&sh.cmd);
                ptrace::reap(pid);
                if self.yama {
                    ptrace::allow_tracer(0);
                }
            }
            let mut unanswered = false;
            for e in &sh.entries[..self.n] {
                let status = e.status(self.gen);
                match status {
                    STOPPED | TRACED => out.stopped += 1,
                    MISSED => {
                        if out.missed < 4 {
                            out.missed_tids[out.missed] = e.tid.load(Relaxed);
                        }
                        out.missed += 1;
                    }
                    _ => {}
                }
                unanswered |= e.sent.load(Relaxed) != 0 && status != STOPPED && status != GONE;
            }
            if self.handler && !unanswered {
                // SAFETY: saved by install_handler for this very signal.
                signal::restore(SIG, unsafe { (*sh.old.get()).assume_init_ref() });
            }
        }
        signal::set_mask(&self.mask);
        STOPPING.store(0, Release);
        futex::wake_one(&STOPPING);
        out
    }
}

/// Installs our handler for SIG, keeping the program's action for its own
/// signals (unless ours is still there from an earlier stop).
fn install_handler(sh: &Shared) -> bool {
    let Some(prev) = signal::install_parking_handler(SIG, on_signal) else { return false };
    if prev.sa_sigaction != on_signal as *const () as usize {
        // SAFETY: nobody reads `old` while old_valid is 0.
        sh.old_valid.store(0, Release);
        unsafe { (*sh.old.get()).write(prev) };
        sh.old_valid.store(1, Release);
    }
    true
}

/// The parking handler: stores the interrupted registers, says so, and
/// waits for the release. Anyone else's SIGURG goes to the program's action.
extern "C" fn on_signal(sig: i32, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    let p = SHARED.load(Acquire);
    if p == 0 {
        return;
    }
    // SAFETY: the mapping is never unmapped.
    let sh = unsafe { &*(p as *const Shared) };
    // SAFETY: the kernel's siginfo for this signal.
    let (code, pid, value) = unsafe { signal::queued(info) };
    if code != libc::SI_QUEUE || pid != sys::getpid() || value >> 48 != TAG {
        if sh.old_valid.load(Acquire) != 0 {
            // SAFETY: the program's action, saved before ours was installed;
            // the arguments are the kernel's for this signal.
            unsafe { signal::call_previous((*sh.old.get()).assume_init_ref(), sig, info, ctx) };
        }
        return;
    }
    let gen = (value >> 32) as u32 & 0xffff;
    let i = value as u32 as usize;
    if i >= MAX_THREADS || gen != ACTIVE.load(Acquire) {
        return; // late: that stop is over
    }
    let e = &sh.entries[i];
    if !e.change(gen, SENT, WRITING) {
        return; // given up on, or handed to ptrace
    }
    // SAFETY: the kernel's ucontext for this signal.
    let regs = unsafe { signal::context_registers(ctx) };
    for (slot, v) in e.regs.iter().zip(regs) {
        slot.store(v, Relaxed);
    }
    e.tp.store(thread::self_id(), Relaxed);
    e.set(gen, STOPPED);
    sh.answers.fetch_add(1, Release);
    futex::wake_all(&sh.answers);
    while ACTIVE.load(Acquire) == gen {
        futex::wait(&ACTIVE, gen, None);
    }
}

/// Starts the ptrace helper; None if it cannot be made.
fn start_helper(sh: &'static Shared) -> Option<i32> {
    let mut stack = HELPER_STACK_BASE.load(Acquire);
    if stack == 0 {
        stack = mem::map_rw(HELPER_STACK)?;
        HELPER_STACK_BASE.store(stack, Release);
    }
    // The helper starts with every signal blocked (a program's handler must
    // never run in it), and so keeps them.
    let mask = signal::block_all();
    // SAFETY: the helper uses no thread-local state but errno (sys/ptrace.rs),
    // and its stack is never unmapped.
    let pid = unsafe { ptrace::spawn_shared(helper_main, stack + HELPER_STACK, sh as *const Shared as *mut c_void) };
    signal::set_mask(&mask);
    pid
}

/// The ptrace helper: for each command, attaches to the entries marked
/// TRACE and stops them; at the last, lets them all go and returns (exits).
extern "C" fn helper_main(arg: *mut c_void) -> i32 {
    ptrace::die_with_parent();
    // SAFETY: the Shared passed by start_helper, never unmapped.
    let sh = unsafe { &*(arg as *const Shared) };
    let gen = sh.gen.load(Relaxed);
    let mut seen = 0;
    let mut attached = 0usize;
    loop {
        let cmd = sh.cmd.load(Acquire);
        if cmd == seen {
            futex::wait(&sh.cmd, cmd, Some(100_000_000));
            continue;
        }
        seen = cmd;
        if sh.leave.load(Acquire) != 0 {
            break;
        }
        let to = sh.to.load(Relaxed) as usize;
        for e in &sh.entries[sh.from.load(Relaxed) as usize..to] {
            if e.status(gen) == TRACE {
                stop_traced(e, gen);
            }
        }
        attached = to;
        sh.done.store(cmd, Release);
        futex::wake_all(&sh.done);
    }
    for e in &sh.entries[..attached] {
        if e.status(gen) == TRACED {
            ptrace::detach(e.tid.load(Relaxed), e.signal.load(Relaxed) as i32);
        }
    }
    // Threads seized but never stopped are let go when we exit.
    0
}

/// In the helper: attaches to one thread and stops it, or marks it missed
/// (or gone).
fn stop_traced(e: &Entry, gen: u32) {
    let tid = e.tid.load(Relaxed);
    if !ptrace::seize(tid) || !ptrace::interrupt(tid) {
        e.change(gen, TRACE, MISSED);
        return;
    }
    let start = sys::now_ns();
    loop {
        match ptrace::wait(tid, false) {
            ptrace::Wait::Running if sys::now_ns() - start < TRACE_NS => sys::process::sleep_ns(1_000_000),
            ptrace::Wait::Running => {
                e.change(gen, TRACE, MISSED);
                return;
            }
            ptrace::Wait::Gone => {
                e.change(gen, TRACE, GONE);
                return;
            }
            ptrace::Wait::Stopped => break,
            ptrace::Wait::Signal(sig) => {
                e.signal.store(sig as u32, Relaxed);
                break;
            }
        }
    }
    let Some(r) = ptrace::get_regs(tid) else {
        e.change(gen, TRACE, MISSED);
        return;
    };
    let regs =
        [r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi, r.rbp, r.rbx, r.rdx, r.rax, r.rcx, r.rsp];
    for (slot, v) in e.regs.iter().zip(regs) {
        slot.store(v as usize, Relaxed);
    }
    e.tp.store(r.fs_base as usize, Relaxed);
    e.change(gen, TRACE, TRACED);
}
