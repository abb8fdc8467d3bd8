//! Tracing threads of this process from a helper process that shares its
//! memory (the leak check's way to stop a thread that blocks the signal it
//! would otherwise be stopped with; diag/world.rs). A process cannot trace
//! its own threads, so the helper is a clone with CLONE_VM: it runs our code
//! on a stack we mapped, with the thread pointer of the thread that made it
//! (so it calls nothing that uses thread-local state but errno).

use core::ffi::c_void;

use super::process::keep_errno;

/// The general registers of a traced thread (struct user_regs_struct).
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Regs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

const _: () = assert!(core::mem::size_of::<Regs>() == core::mem::size_of::<libc::user_regs_struct>());

fn ptrace(req: libc::c_uint, tid: u32, addr: usize, data: usize) -> bool {
    // SAFETY: the requests used here read or write only `data` when it is
    // a pointer to a Regs the caller owns.
    keep_errno(|| unsafe { libc::ptrace(req, tid as libc::pid_t, addr, data) } != -1)
}

/// Attaches to thread `tid` without stopping it (PTRACE_SEIZE).
pub fn seize(tid: u32) -> bool {
    ptrace(libc::PTRACE_SEIZE, tid, 0, 0)
}

/// Asks a seized thread to stop wherever it is (PTRACE_INTERRUPT); a
/// system call it is blocked in is restarted when it goes on.
pub fn interrupt(tid: u32) -> bool {
    ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0)
}

pub fn get_regs(tid: u32) -> Option<Regs> {
    // SAFETY: all-zero is a valid Regs.
    let mut r: Regs = unsafe { core::mem::zeroed() };
    ptrace(libc::PTRACE_GETREGS, tid, 0, &mut r as *mut Regs as usize).then_some(r)
}

/// Detaches from a stopped thread, delivering `sig` (0: none) when it
/// was stopped on its way to a signal.
pub fn detach(tid: u32, sig: i32) -> bool {
    ptrace(libc::PTRACE_DETACH, tid, 0, sig as usize)
}

/// What waiting for a traced thread found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wait {
    /// Nothing yet (WNOHANG).
    Running,
    /// Stopped by our interrupt, or in another ptrace stop.
    Stopped,
    /// Stopped on its way to signal N: it goes to the thread at detach.
    Signal(i32),
    /// Exited, or not ours to wait for.
    Gone,
}

/// Waits (or, with `block` false, looks) for a state change of traced
/// thread `tid`.
pub fn wait(tid: u32, block: bool) -> Wait {
    let mut status = 0i32;
    let flags = libc::__WALL | if block { 0 } else { libc::WNOHANG };
    let r = wait4(tid as i32, &mut status, flags);
    if r == 0 {
        return Wait::Running;
    }
    if r < 0 || !libc::WIFSTOPPED(status) {
        return Wait::Gone;
    }
    let sig = libc::WSTOPSIG(status);
    // A stop of our own making (PTRACE_EVENT_STOP: the interrupt, or a
    // group stop) carries an event in the high bits; a plain stop with a
    // signal is that signal on its way to the thread.
    if status >> 16 != 0 {
        Wait::Stopped
    } else {
        Wait::Signal(sig)
    }
}

/// Starts `f(arg)` in a new process that shares our memory, files and
/// working directory, untraceable by our own tracer if any, and whose exit
/// signals nobody (reap it with `reap`). `stack` is the top of a stack
/// mapped for it. Returns its pid.
///
/// # Safety
/// `f` must use nothing thread-local but errno, and `stack` must stay
/// mapped until the process has exited.
pub unsafe fn spawn_shared(f: extern "C" fn(*mut c_void) -> i32, stack: usize, arg: *mut c_void) -> Option<i32> {
    let flags = libc::CLONE_VM | libc::CLONE_FS | libc::CLONE_FILES | libc::CLONE_UNTRACED;
    let pid = keep_errno(|| libc::clone(f, stack as *mut c_void, flags, arg));
    (pid > 0).then_some(pid)
}

/// The wait4 system call itself: glibc's wrapper is a cancellation point,
/// which touches the calling thread's descriptor (the helper has none).
fn wait4(pid: i32, status: &mut i32, flags: i32) -> i64 {
    // SAFETY: status is a valid out-parameter; no rusage is asked for.
    keep_errno(|| unsafe {
        libc::syscall(libc::SYS_wait4, pid, status as *mut i32, flags, core::ptr::null_mut::<libc::rusage>())
    })
}

/// Waits for a process made by `spawn_shared` to end and reaps it.
pub fn reap(pid: i32) {
    let mut status = 0;
    while wait4(pid, &mut status, libc::__WALL) < 0 && super::process::errno() == libc::EINTR {}
}

/// True once a process made by `spawn_shared` has ended (it is reaped).
pub fn ended(pid: i32) -> bool {
    let mut status = 0;
    wait4(pid, &mut status, libc::__WALL | libc::WNOHANG) != 0
}

/// With Yama's ptrace_scope 1, only a process's ancestors may trace it,
/// unless it names a tracer: names `pid` (0: nobody again).
pub fn allow_tracer(pid: i32) {
    // SAFETY: prctl with integer arguments.
    keep_errno(|| unsafe { libc::prctl(libc::PR_SET_PTRACER, pid as libc::c_ulong, 0, 0, 0) });
}

/// In the helper: die with the process that made it.
pub fn die_with_parent() {
    // SAFETY: prctl with integer arguments.
    keep_errno(|| unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) });
}
