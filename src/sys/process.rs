//! This process: errno, its pid, the clock, random bits, leaving.

fn errno_location() -> *mut i32 {
    // SAFETY: __errno_location always returns the calling thread's errno slot.
    unsafe { libc::__errno_location() }
}

pub fn errno() -> i32 {
    // SAFETY: see errno_location.
    unsafe { *errno_location() }
}

pub fn set_errno(e: i32) {
    // SAFETY: see errno_location.
    unsafe { *errno_location() = e }
}

/// Runs `f` and restores errno afterwards.
#[inline]
pub fn keep_errno<T>(f: impl FnOnce() -> T) -> T {
    let saved = errno();
    let r = f();
    set_errno(saved);
    r
}

pub fn getpid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::getpid() }
}

/// The calling thread's kernel id (the syscall: glibc's gettid is 2.30+).
pub fn gettid() -> u32 {
    // SAFETY: no arguments.
    unsafe { libc::syscall(libc::SYS_gettid) as u32 }
}

/// Sleeps for `ns` nanoseconds (less if a signal handler runs).
pub fn sleep_ns(ns: u64) {
    let ts = libc::timespec { tv_sec: (ns / 1_000_000_000) as _, tv_nsec: (ns % 1_000_000_000) as _ };
    // The system call, not glibc's cancellation point (see sys/ptrace.rs).
    // SAFETY: ts is a valid timespec; no remainder is asked for.
    keep_errno(|| unsafe { libc::syscall(libc::SYS_nanosleep, &ts as *const libc::timespec, 0usize) });
}

/// True if this process shares its memory with its parent: a vfork child
/// (or a clone with CLONE_VM) that has not called exec yet. kcmp(2); false
/// when the kernel cannot tell (no CONFIG_KCMP, or refused).
pub fn shares_memory_with_parent() -> bool {
    const KCMP_VM: i32 = 1;
    keep_errno(|| {
        // SAFETY: kcmp only compares two processes' kernel objects.
        unsafe { libc::syscall(libc::SYS_kcmp, getpid(), libc::getppid(), KCMP_VM, 0, 0) == 0 }
    })
}

pub fn yield_now() {
    // SAFETY: no arguments.
    keep_errno(|| unsafe { libc::sched_yield() });
}

/// Monotonic nanoseconds (vDSO, no system call in the common case).
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-parameter.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Minor page faults taken by the calling thread so far.
#[cfg(feature = "lockstat_faults")]
pub fn thread_minor_faults() -> u64 {
    keep_errno(|| {
        // SAFETY: zeroed rusage is a valid out-parameter.
        let mut ru: libc::rusage = unsafe { core::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
        ru.ru_minflt as u64
    })
}

/// Random bits for the owner-link secret (getrandom, falling back to the clock).
pub fn random_u64() -> u64 {
    keep_errno(|| {
        let mut v: u64 = 0;
        // SAFETY: v is a valid 8-byte buffer.
        let n = unsafe { libc::getrandom(&mut v as *mut u64 as *mut _, 8, libc::GRND_NONBLOCK) };
        if n != 8 {
            v = now_ns().wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (getpid() as u64).rotate_left(32);
        }
        v | 1
    })
}

/// True in a setuid/setgid program (AT_SECURE): options that name files are ignored.
pub fn secure_mode() -> bool {
    // SAFETY: getauxval reads the auxiliary vector; no allocation, no locks.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

pub fn abort() -> ! {
    // SAFETY: abort never returns; glibc's abort does not allocate.
    unsafe { libc::abort() }
}

pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and runs no user code.
    unsafe { libc::_exit(code) }
}

/// Registers `f` to run inside exit() with the exit status (glibc's
/// on_exit), before the destructors. False if it could not be.
pub fn on_exit(f: extern "C" fn(i32, *mut core::ffi::c_void)) -> bool {
    extern "C" {
        fn on_exit(f: extern "C" fn(i32, *mut core::ffi::c_void), arg: *mut core::ffi::c_void) -> i32;
    }
    // SAFETY: registering a function of ours with a null argument.
    keep_errno(|| unsafe { on_exit(f, core::ptr::null_mut()) } == 0)
}
