//! Signal dispositions, signal masks and alternate signal stacks.
//!
//! libpooldbg exports `sigaction`, `signal` and glibc's other ways to set a
//! disposition (front/exports.rs): here they are reached under names we do
//! not export — `__sigaction`, glibc's public alias of `sigaction`, and the
//! others through `dlsym(RTLD_NEXT)` (`Next`).

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::process::keep_errno;

pub type Action = libc::sigaction;
pub type InfoHandler = extern "C" fn(i32, *mut libc::siginfo_t, *mut c_void);

extern "C" {
    /// glibc's sigaction under the name it exports besides `sigaction`
    /// (GLIBC_2.2.5): ours interposes `sigaction` itself.
    fn __sigaction(sig: i32, act: *const Action, old: *mut Action) -> i32;
    /// `dlsym(RTLD_NEXT, name)` (symver.c).
    fn pooldbg_sys_next(name: *const u8) -> *mut c_void;
}

/// glibc's sigaction: returns and sets errno exactly as it does.
///
/// # Safety
/// `act` and `old` are null or valid, as sigaction(2) wants them.
pub unsafe fn sigaction_next(sig: i32, act: *const Action, old: *mut Action) -> i32 {
    __sigaction(sig, act, old)
}

/// The current action of `sig` in the kernel (as glibc reports it).
pub fn query(sig: i32) -> Option<Action> {
    keep_errno(|| {
        // SAFETY: a query into a zeroed struct.
        unsafe {
            let mut cur: Action = core::mem::zeroed();
            (__sigaction(sig, ptr::null(), &mut cur) == 0).then_some(cur)
        }
    })
}

fn set(sig: i32, handler: usize, flags: i32) -> Option<Action> {
    keep_errno(|| {
        // SAFETY: zeroed sigaction structs are valid; the handler is one of
        // our extern "C" functions or SIG_DFL.
        unsafe {
            let mut sa: Action = core::mem::zeroed();
            sa.sa_sigaction = handler;
            sa.sa_flags = flags;
            libc::sigemptyset(&mut sa.sa_mask);
            let mut prev: Action = core::mem::zeroed();
            (__sigaction(sig, &sa, &mut prev) == 0).then_some(prev)
        }
    })
}

/// Installs an SA_SIGINFO handler (on the alternate stack, not blocking
/// itself, nothing else blocked), with `extra` flags; returns the action it
/// replaced.
pub fn install_fault_handler(sig: i32, handler: InfoHandler, extra: i32) -> Option<Action> {
    set(sig, handler as usize, libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER | extra)
}

/// Installs a plain handler with SA_RESTART.
pub fn install_plain(sig: i32, handler: extern "C" fn(i32)) {
    set(sig, handler as usize, libc::SA_RESTART);
}

/// Installs the handler that parks a thread for the leak check
/// (diag/world.rs): SA_RESTART, so that the system calls it interrupts are
/// restarted where the kernel can; SA_ONSTACK, so it runs on the thread's
/// alternate stack when it has one (a thread near the end of its stack
/// survives it); every signal blocked while it runs, so that no handler of
/// the program runs on a parked thread. Returns the action it replaced.
pub fn install_parking_handler(sig: i32, handler: InfoHandler) -> Option<Action> {
    keep_errno(|| {
        // SAFETY: as `set`, with a full mask.
        unsafe {
            let mut sa: Action = core::mem::zeroed();
            sa.sa_sigaction = handler as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
            libc::sigfillset(&mut sa.sa_mask);
            let mut prev: Action = core::mem::zeroed();
            (__sigaction(sig, &sa, &mut prev) == 0).then_some(prev)
        }
    })
}

/// Puts back an action saved by one of the install functions.
pub fn restore(sig: i32, old: &Action) {
    // SAFETY: `old` is an action the kernel gave us for `sig`.
    keep_errno(|| unsafe { __sigaction(sig, old, ptr::null_mut()) });
}

pub type Mask = libc::sigset_t;

/// Blocks every signal in the calling thread (glibc keeps its own two
/// internal ones deliverable) except the synchronous faults, which must
/// still reach their handlers. Returns the mask to restore with `set_mask`.
pub fn block_asynchronous() -> Mask {
    keep_errno(|| {
        // SAFETY: plain sigset_t values and sigprocmask on this thread.
        unsafe {
            let mut set: Mask = core::mem::zeroed();
            let mut old: Mask = core::mem::zeroed();
            libc::sigfillset(&mut set);
            for sig in [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGTRAP] {
                libc::sigdelset(&mut set, sig);
            }
            libc::sigprocmask(libc::SIG_SETMASK, &set, &mut old);
            old
        }
    })
}

/// Blocks every signal in the calling thread; returns the old mask.
pub fn block_all() -> Mask {
    keep_errno(|| {
        // SAFETY: as block_asynchronous.
        unsafe {
            let mut set: Mask = core::mem::zeroed();
            let mut old: Mask = core::mem::zeroed();
            libc::sigfillset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, &mut old);
            old
        }
    })
}

pub fn set_mask(mask: &Mask) {
    // SAFETY: a mask sigprocmask gave us.
    keep_errno(|| unsafe { libc::sigprocmask(libc::SIG_SETMASK, mask, ptr::null_mut()) });
}

/// The kernel's view of a signal mask: signal n is bit n-1 (the first 64
/// bits of a `sigset_t`, all the kernel reads on x86-64).
pub fn mask_word(set: &Mask) -> u64 {
    // SAFETY: sigset_t begins with 64-bit words (glibc's __val array).
    unsafe { *(set as *const Mask as *const u64) }
}

/// A `sigset_t` holding `word` (the bits beyond 64 clear).
pub fn mask_of_word(word: u64) -> Mask {
    // SAFETY: a zeroed sigset_t is the empty set; its first word is written.
    unsafe {
        let mut set: Mask = core::mem::zeroed();
        *(&mut set as *mut Mask as *mut u64) = word;
        set
    }
}

/// Sets the calling thread's mask to `word` with the system call itself:
/// glibc's sigprocmask would keep its two internal signals deliverable,
/// where the kernel blocks whatever a handler's sa_mask says.
pub fn set_mask_word(word: u64) -> u64 {
    let mut old = 0u64;
    // SAFETY: 8-byte kernel sigsets on our stack.
    keep_errno(|| unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &word as *const u64, &mut old as *mut u64, 8usize)
    });
    old
}

/// The signals pending for the calling thread or the process (rt_sigpending).
pub fn pending_word() -> u64 {
    let mut set = 0u64;
    // SAFETY: an 8-byte kernel sigset on our stack.
    keep_errno(|| unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut set as *mut u64, 8usize) });
    set
}

/// Adds `sig` to (`block`) or removes it from the calling thread's mask with
/// glibc's sigprocmask; returns whether it was blocked before (None: refused,
/// errno set).
pub fn change_one(sig: i32, block: bool) -> Option<bool> {
    // SAFETY: plain sigset_t values on our stack.
    unsafe {
        let mut set: Mask = core::mem::zeroed();
        let mut old: Mask = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        let how = if block { libc::SIG_BLOCK } else { libc::SIG_UNBLOCK };
        (libc::sigprocmask(how, &set, &mut old) == 0).then(|| libc::sigismember(&old, sig) == 1)
    }
}

/// Calls a program's handler as the kernel would: `(sig, info, ctx)` in the
/// argument registers whether or not it asked for SA_SIGINFO (a plain
/// handler ignores the two it did not declare).
///
/// # Safety
/// `handler` is a function the program installed for `sig`; `info` and
/// `ctx` are what the kernel passed to our handler for this signal.
pub unsafe fn call_handler(handler: usize, sig: i32, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    let f: InfoHandler = core::mem::transmute(handler);
    f(sig, info, ctx);
}

/// glibc's functions that set a disposition, which libpooldbg exports too
/// (front/exports.rs): found with `dlsym(RTLD_NEXT)`, once (the constructor
/// calls `resolve_next`; an earlier call resolves its own).
#[derive(Clone, Copy)]
pub enum Next {
    /// `signal`, also `bsd_signal` and `ssignal` (one function in glibc).
    Signal,
    /// `__sysv_signal`, also `sysv_signal`.
    SysvSignal,
    Sigset,
    Sigignore,
    Siginterrupt,
}

const NEXT_NAMES: [&[u8]; 5] = [b"signal\0", b"__sysv_signal\0", b"sigset\0", b"sigignore\0", b"siginterrupt\0"];
static NEXT: [AtomicUsize; 5] = [const { AtomicUsize::new(0) }; 5];

fn next(which: Next) -> usize {
    let slot = &NEXT[which as usize];
    let f = slot.load(Relaxed);
    if f != 0 {
        return f;
    }
    // SAFETY: a NUL-terminated name; a look-up that succeeds does not allocate.
    let f = keep_errno(|| unsafe { pooldbg_sys_next(NEXT_NAMES[which as usize].as_ptr()) }) as usize;
    slot.store(f, Relaxed);
    f
}

/// Looks every `Next` function up now, outside any signal handler.
pub fn resolve_next() {
    for which in [Next::Signal, Next::SysvSignal, Next::Sigset, Next::Sigignore, Next::Siginterrupt] {
        next(which);
    }
}

type HandlerFn = unsafe extern "C" fn(i32, usize) -> usize;

/// glibc's `signal` (`Next::Signal`), `__sysv_signal` or `sigset`: returns
/// and sets errno exactly as it does (SIG_ERR with ENOSYS if it is missing).
pub fn next_handler_fn(which: Next, sig: i32, handler: usize) -> usize {
    match next(which) {
        0 => {
            super::set_errno(libc::ENOSYS);
            libc::SIG_ERR
        }
        // SAFETY: glibc's function of this very signature.
        f => unsafe { core::mem::transmute::<usize, HandlerFn>(f)(sig, handler) },
    }
}

/// glibc's `sigignore(sig)` (`Next::Sigignore`, `arg` unused) or
/// `siginterrupt(sig, arg)`: returns and sets errno as it does.
pub fn next_int_fn(which: Next, sig: i32, arg: i32) -> i32 {
    type IntFn = unsafe extern "C" fn(i32, i32) -> i32;
    match next(which) {
        0 => {
            super::set_errno(libc::ENOSYS);
            -1
        }
        // SAFETY: glibc's function; sigignore ignores the second register.
        f => unsafe { core::mem::transmute::<usize, IntFn>(f)(sig, arg) },
    }
}

/// siginfo_t as rt_tgsigqueueinfo reads it for SI_QUEUE (x86-64 layout).
#[repr(C)]
struct QueueInfo {
    signo: i32,
    errno: i32,
    code: i32,
    _pad: i32,
    pid: i32,
    uid: u32,
    value: usize,
    _rest: [u64; 12],
}

const _: () = assert!(core::mem::size_of::<QueueInfo>() == core::mem::size_of::<libc::siginfo_t>());

/// Sends `sig` to thread `tid` of this process with `value` as its
/// si_value and si_code SI_QUEUE (rt_tgsigqueueinfo), so that its handler
/// can tell this signal from anyone else's. Returns the errno on failure
/// (ESRCH: the thread is gone).
pub fn send_to_thread(tid: u32, sig: i32, value: usize) -> Result<(), i32> {
    keep_errno(|| {
        let pid = super::process::getpid();
        // SAFETY: getuid has no arguments.
        let uid = unsafe { libc::getuid() };
        let info = QueueInfo { signo: sig, errno: 0, code: libc::SI_QUEUE, _pad: 0, pid, uid, value, _rest: [0; 12] };
        // SAFETY: info is a complete siginfo_t the kernel copies in.
        let r = unsafe { libc::syscall(libc::SYS_rt_tgsigqueueinfo, pid, tid as i32, sig, &info as *const QueueInfo) };
        if r == 0 {
            Ok(())
        } else {
            Err(super::process::errno())
        }
    })
}

/// What a handler needs to know of a queued signal: si_code, the sender's
/// pid and si_value.
///
/// # Safety
/// `info` is the siginfo the kernel passed to an SA_SIGINFO handler.
pub unsafe fn queued(info: *const libc::siginfo_t) -> (i32, i32, usize) {
    let q = &*(info as *const QueueInfo);
    (q.code, q.pid, q.value)
}

/// The general registers of an interrupted context, in the ucontext's
/// order (REG_R8 … REG_R15, rdi, rsi, rbp, rbx, rdx, rax, rcx, and the
/// stack pointer last).
///
/// # Safety
/// `ctx` is the ucontext the kernel passed to an SA_SIGINFO handler.
pub unsafe fn context_registers(ctx: *const c_void) -> [usize; 16] {
    let uc = &*(ctx as *const libc::ucontext_t);
    let mut r = [0usize; 16];
    for (i, v) in r.iter_mut().enumerate() {
        *v = uc.uc_mcontext.gregs[i] as usize; // REG_R8 = 0 … REG_RSP = 15
    }
    r
}

/// Restores the default action of `sig`.
pub fn reset_default(sig: i32) {
    set(sig, libc::SIG_DFL, 0);
}

pub fn raise(sig: i32) {
    // SAFETY: raise only sends a signal to the calling thread.
    unsafe { libc::raise(sig) };
}

/// Calls the handler of a previously installed action with the arguments
/// the kernel gave us. Returns false when that action is SIG_DFL or SIG_IGN
/// (nothing was called).
///
/// # Safety
/// `info` and `ctx` are what the kernel passed to the current handler for `sig`.
pub unsafe fn call_previous(old: &Action, sig: i32, info: *mut libc::siginfo_t, ctx: *mut c_void) -> bool {
    let h = old.sa_sigaction;
    if h == libc::SIG_DFL || h == libc::SIG_IGN {
        return false;
    }
    if old.sa_flags & libc::SA_SIGINFO != 0 {
        let f: InfoHandler = core::mem::transmute(h);
        f(sig, info, ctx);
    } else {
        let f: extern "C" fn(i32) = core::mem::transmute(h);
        f(sig);
    }
    true
}

/// Adds every signal but the synchronous faults (which must still reach
/// their handlers) to the calling thread's mask with the system call; what
/// was blocked stays blocked. Returns the old mask.
pub fn block_asynchronous_word() -> u64 {
    let sync = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGTRAP];
    let set = sync.iter().fold(u64::MAX, |m, &s| m & !(1u64 << (s - 1)));
    let mut old = 0u64;
    // SAFETY: 8-byte kernel sigsets on our stack.
    keep_errno(|| unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_BLOCK, &set as *const u64, &mut old as *mut u64, 8usize)
    });
    old
}

// `pooldbg_call_on_stack(arg, f, top)`: calls f(arg) with the stack pointer
// at `top`, then returns on the caller's stack. Its CFI makes the frame
// below f's a normal rbp frame, so an unwinder walks from f back to the
// caller. Hidden: not exported.
core::arch::global_asm!(
    ".text",
    ".globl pooldbg_call_on_stack",
    ".hidden pooldbg_call_on_stack",
    ".type pooldbg_call_on_stack, @function",
    "pooldbg_call_on_stack:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "mov rsp, rdx",
    "call rsi",
    "mov rsp, rbp",
    "pop rbp",
    ".cfi_def_cfa rsp, 8",
    "ret",
    ".cfi_endproc",
    ".size pooldbg_call_on_stack, .-pooldbg_call_on_stack",
);

extern "C" {
    fn pooldbg_call_on_stack(arg: *mut c_void, f: unsafe extern "C" fn(*mut c_void), top: usize);
}

/// Runs `f` with the stack pointer at `top` (16-byte aligned, the end of a
/// mapping the calling thread owns and nothing else uses meanwhile).
///
/// # Safety
/// As above; `f` must not unwind (panic = "abort" everywhere).
pub unsafe fn run_on_stack(top: usize, f: &mut dyn FnMut()) {
    unsafe extern "C" fn trampoline(arg: *mut c_void) {
        let f = &mut *(arg as *mut &mut dyn FnMut());
        f();
    }
    let mut f = f;
    pooldbg_call_on_stack(&mut f as *mut &mut dyn FnMut() as *mut c_void, trampoline, top & !15);
}

/// The calling thread's alternate signal stack as (base, size, whether the
/// thread runs on it now); None if it has none.
pub fn altstack() -> Option<(usize, usize, bool)> {
    // SAFETY: querying this thread's signal stack into a plain struct.
    keep_errno(|| unsafe {
        let mut cur: libc::stack_t = core::mem::zeroed();
        (libc::sigaltstack(ptr::null(), &mut cur) == 0 && cur.ss_flags & libc::SS_DISABLE == 0).then_some((
            cur.ss_sp as usize,
            cur.ss_size,
            cur.ss_flags & libc::SS_ONSTACK != 0,
        ))
    })
}

/// True if the calling thread has an alternate signal stack in use.
pub fn has_altstack() -> bool {
    // SAFETY: querying this thread's signal stack into a plain struct.
    unsafe {
        let mut cur: libc::stack_t = core::mem::zeroed();
        libc::sigaltstack(ptr::null(), &mut cur) == 0 && cur.ss_flags & libc::SS_DISABLE == 0
    }
}

/// Makes `[base, base + len)` the calling thread's alternate signal stack.
pub fn set_altstack(base: usize, len: usize) -> bool {
    let st = libc::stack_t { ss_sp: base as *mut c_void, ss_flags: 0, ss_size: len };
    // SAFETY: the caller passes a mapping it owns for the thread's lifetime.
    keep_errno(|| unsafe { libc::sigaltstack(&st, ptr::null_mut()) } == 0)
}

/// Stops using the calling thread's alternate signal stack.
pub fn disable_altstack() {
    let st = libc::stack_t { ss_sp: ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
    // SAFETY: disabling this thread's signal stack.
    keep_errno(|| unsafe { libc::sigaltstack(&st, ptr::null_mut()) });
}
