//! Threads: identity, the calling thread's stack, thread-specific keys (our
//! per-thread destructors), fork handlers, and the pthread_create that ours
//! stands in front of.

use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::elf;
use super::process::keep_errno;

pub type Key = libc::pthread_key_t;

extern "C" {
    /// ld.so's: the stack pointer the main thread started with (the top of
    /// its stack, below argv and the environment).
    static __libc_stack_end: *const c_void;
    // symver.c: pthread_key_create / pthread_setspecific @GLIBC_2.2.5, which
    // glibc before 2.34 defines (in libpthread.so.0); the default 2.34
    // versions would not load there.
    fn pooldbg_sys_key_create(key: *mut Key, destructor: Option<extern "C" fn(*mut c_void)>) -> libc::c_int;
    fn pooldbg_sys_setspecific(key: Key, value: *const c_void) -> libc::c_int;
    // symver.c: dlsym@GLIBC_2.2.5.
    fn pooldbg_sys_dlsym(handle: *mut c_void, name: *const libc::c_char) -> *mut c_void;
}

/// The calling thread's pthread_t as a number.
pub fn self_id() -> usize {
    // SAFETY: pthread_self only reads the thread pointer.
    unsafe { libc::pthread_self() as usize }
}

/// How deep a stack `on_own_stack` believes in: a span from the stack
/// pointer to the top of the stack, or to the thread descriptor, longer than
/// this is taken for another mapping.
const MAX_STACK_SPAN: usize = 64 << 20;

/// True if `[addr, addr + len)` lies on the calling thread's stack between
/// its stack pointer and the top: memory that is mapped and readable (the
/// callers' frames), where a program keeps the iovec or msghdr it hands to
/// the kernel. The top is the thread descriptor for a thread glibc made (it
/// sits at the top of the thread's stack block, static TLS below it), or the
/// main thread's initial stack pointer. A program's handler running on an
/// alternate stack below its thread's stack sees a span with gaps: a wild
/// pointer into one would be read (and fault) where the kernel would have
/// said EFAULT.
#[inline]
pub fn on_own_stack(addr: usize, len: usize) -> bool {
    let (sp, tp): (usize, usize);
    // SAFETY: reads the stack pointer and the thread pointer (%fs:0 holds
    // the thread descriptor's own address on x86-64); touches nothing else.
    unsafe {
        core::arch::asm!("mov {sp}, rsp", "mov {tp}, fs:0", sp = out(reg) sp, tp = out(reg) tp,
                         options(nostack, readonly, preserves_flags));
    }
    let Some(end) = addr.checked_add(len) else { return false };
    if addr < sp {
        return false;
    }
    if tp > sp && tp - sp <= MAX_STACK_SPAN {
        return end <= tp;
    }
    // SAFETY: a word ld.so writes once, before any code of ours runs.
    let top = unsafe { __libc_stack_end } as usize;
    top > sp && top - sp <= MAX_STACK_SPAN && end <= top
}

/// The calling thread's callee-saved registers (rbx, rbp, r12–r15): values
/// its callers keep there, which the leak check takes as roots.
#[inline(always)]
pub fn callee_saved_registers() -> [usize; 6] {
    let mut r = [0usize; 6];
    // Stored through a pointer: an output register could be one of those
    // read. (If the compiler gave the pointer a callee-saved register, the
    // caller's value of it is saved in a frame on the stack, scanned anyway.)
    // SAFETY: six stores into `r`, which the pointer addresses.
    unsafe {
        core::arch::asm!(
            "mov [{p}], rbx",
            "mov [{p} + 8], rbp",
            "mov [{p} + 16], r12",
            "mov [{p} + 24], r13",
            "mov [{p} + 32], r14",
            "mov [{p} + 40], r15",
            p = in(reg) r.as_mut_ptr(),
            options(nostack, preserves_flags)
        );
    }
    r
}

/// A key whose destructor runs at the exit of each thread that set a value.
pub fn key_create(destructor: extern "C" fn(*mut c_void)) -> Option<Key> {
    let mut key: Key = 0;
    // SAFETY: key is a valid out-parameter; the destructor is an extern "C" fn.
    keep_errno(|| unsafe { pooldbg_sys_key_create(&mut key, Some(destructor)) } == 0).then_some(key)
}

/// Sets the calling thread's value of `key` (may allocate past 32 keys).
pub fn set_specific(key: Key, value: usize) {
    // SAFETY: a plain integer value for our own key.
    keep_errno(|| unsafe { pooldbg_sys_setspecific(key, value as *const c_void) });
}

/// Registers fork handlers (glibc may allocate here: call after init).
pub fn at_fork(prepare: extern "C" fn(), parent: extern "C" fn(), child: extern "C" fn()) {
    // SAFETY: registering plain extern "C" functions.
    keep_errno(|| unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) });
}

/// pthread_create's C type; the start routine and its argument as integers
/// (a C program may pass any value, even a null routine).
type CreateFn = unsafe extern "C" fn(*mut libc::pthread_t, *const libc::pthread_attr_t, usize, usize) -> libc::c_int;

/// The next pthread_create: libc's (libpthread's before glibc 2.34), or that
/// of a preload listed after us. 0 until first needed.
static NEXT_CREATE: AtomicUsize = AtomicUsize::new(0);

fn next_create() -> usize {
    // Relaxed: the value is the whole message (the function's code is
    // mapped before we look it up); two threads may both look it up.
    let f = NEXT_CREATE.load(Relaxed);
    if f != 0 {
        return f;
    }
    let own = next_create as *const () as usize;
    let f = keep_errno(|| {
        elf::next_function(own, b"pthread_create").unwrap_or_else(|| {
            // Not found that way (an object without a GNU hash table):
            // dlsym, which may allocate (through us: we hold no lock here).
            // SAFETY: a NUL-terminated name; RTLD_NEXT is relative to the
            // caller, symver.c, which is in our object.
            unsafe { pooldbg_sys_dlsym(libc::RTLD_NEXT, c"pthread_create".as_ptr()) as usize }
        })
    });
    NEXT_CREATE.store(f, Relaxed);
    f
}

/// Calls the pthread_create that ours interposes, with its return value and
/// whatever it does to errno. EAGAIN if there is none (no libc defines it:
/// cannot happen with glibc).
///
/// # Safety
/// The C contract of pthread_create: `thread` writable, `attr` null or
/// initialised; `start` is called with `arg` on the new thread.
pub unsafe fn create(thread: *mut libc::pthread_t, attr: *const libc::pthread_attr_t, start: usize, arg: usize) -> i32 {
    match next_create() {
        0 => libc::EAGAIN,
        // SAFETY: a non-zero value is a function named pthread_create, of
        // this type; the arguments are the caller's (see above).
        f => unsafe { core::mem::transmute::<usize, CreateFn>(f)(thread, attr, start, arg) },
    }
}
