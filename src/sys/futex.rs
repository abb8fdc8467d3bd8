//! Sleeping and waking on a 32-bit word (process-private futexes).

use core::ptr;
use core::sync::atomic::AtomicU32;

use super::process::keep_errno;

/// Sleeps while `*word == expected` (FUTEX_WAIT); returns at once if it
/// differs, on a wake-up, on a signal, or after `timeout_ns` if given.
pub fn wait(word: &AtomicU32, expected: u32, timeout_ns: Option<u64>) {
    let ts =
        timeout_ns.map(|ns| libc::timespec { tv_sec: (ns / 1_000_000_000) as _, tv_nsec: (ns % 1_000_000_000) as _ });
    let tsp = ts.as_ref().map_or(ptr::null(), |t| t as *const libc::timespec);
    keep_errno(|| {
        // SAFETY: word is a valid, aligned u32 and tsp null or a valid
        // timespec, both for the duration of the call.
        unsafe {
            libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG, expected, tsp)
        };
    });
}

/// Wakes every thread sleeping in `wait` on `word`.
pub fn wake_all(word: &AtomicU32) {
    keep_errno(|| {
        // SAFETY: as wake_one.
        unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, i32::MAX) };
    });
}

/// Wakes one thread sleeping in `wait` on `word`.
pub fn wake_one(word: &AtomicU32) {
    keep_errno(|| {
        // SAFETY: FUTEX_WAKE only reads the address as a key.
        unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, 1) };
    });
}
