//! Signal dispositions and alternate signal stacks.

use core::ffi::c_void;
use core::ptr;

use super::process::keep_errno;

pub type Action = libc::sigaction;
pub type InfoHandler = extern "C" fn(i32, *mut libc::siginfo_t, *mut c_void);

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
            (libc::sigaction(sig, &sa, &mut prev) == 0).then_some(prev)
        }
    })
}

/// Installs an SA_SIGINFO handler (on the alternate stack, not blocking
/// itself); returns the action it replaced.
pub fn install_fault_handler(sig: i32, handler: InfoHandler) -> Option<Action> {
    set(sig, handler as usize, libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER)
}

/// Installs a plain handler with SA_RESTART.
pub fn install_plain(sig: i32, handler: extern "C" fn(i32)) {
    set(sig, handler as usize, libc::SA_RESTART);
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
