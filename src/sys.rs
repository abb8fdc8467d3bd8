//! Every system call libpooldbg makes goes through this module.
//!
//! Thin, allocation-free wrappers over the kernel interface. Nothing here takes
//! a lock; callers keep these calls outside the pool lock (DESIGN invariant 1).
//! All functions preserve `errno` unless they say otherwise: a debugging
//! allocator must not change what the program sees.

use core::ptr;

pub const PAGE: usize = 4096;

/// Linux 6.13+: guard markers in the page tables (touching one raises SIGSEGV).
pub const MADV_GUARD_INSTALL: i32 = 102;
pub const MADV_GUARD_REMOVE: i32 = 103;
/// Linux 5.14+: populate (prefault) writable pages in one call.
pub const MADV_POPULATE_WRITE: i32 = 23;

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

/// Reserves `len` bytes of inaccessible address space (no memory committed).
/// Returns None if the kernel refuses (RLIMIT_AS, overcommit policy).
pub fn reserve(len: usize) -> Option<usize> {
    keep_errno(|| {
        // SAFETY: anonymous mapping at a kernel-chosen address; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED { None } else { Some(p as usize) }
    })
}

/// Maps `len` bytes of read-write memory (for our own metadata), lazily
/// committed. Returns None on failure.
pub fn map_rw(len: usize) -> Option<usize> {
    keep_errno(|| {
        // SAFETY: anonymous mapping at a kernel-chosen address.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED { None } else { Some(p as usize) }
    })
}

pub fn unmap(addr: usize, len: usize) {
    // SAFETY: callers pass a range they mapped and no longer use.
    keep_errno(|| unsafe { libc::munmap(addr as *mut _, len) });
}

/// Replaces `[addr, addr+len)` with fresh inaccessible pages: the old contents go
/// back to the kernel and the range traps, in one call. The range must be ours.
pub fn remap_none(addr: usize, len: usize) -> bool {
    keep_errno(|| {
        // SAFETY: MAP_FIXED over a range inside our own reservation.
        let p = unsafe {
            libc::mmap(
                addr as *mut _,
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        p != libc::MAP_FAILED
    })
}

/// mprotect, returning the errno on failure (ENOMEM when the VMA limit is hit).
pub fn protect(addr: usize, len: usize, prot: i32) -> Result<(), i32> {
    keep_errno(|| {
        // SAFETY: the range lies in our own reservation.
        let r = unsafe { libc::mprotect(addr as *mut _, len, prot) };
        if r == 0 { Ok(()) } else { Err(errno()) }
    })
}

/// madvise, returning the errno on failure.
pub fn advise(addr: usize, len: usize, advice: i32) -> Result<(), i32> {
    keep_errno(|| {
        // SAFETY: the range lies in our own mappings.
        let r = unsafe { libc::madvise(addr as *mut _, len, advice) };
        if r == 0 { Ok(()) } else { Err(errno()) }
    })
}

/// write(2) all of `buf` to `fd`, retrying on EINTR and short writes.
pub fn write_all(fd: i32, mut buf: &[u8]) {
    keep_errno(|| {
        while !buf.is_empty() {
            // SAFETY: buf is a valid slice.
            let n = unsafe { libc::write(fd, buf.as_ptr() as *const _, buf.len()) };
            if n < 0 {
                if errno() == libc::EINTR {
                    continue;
                }
                return;
            }
            buf = &buf[n as usize..];
        }
    })
}

pub fn open_read(path: &core::ffi::CStr) -> i32 {
    // SAFETY: path is NUL-terminated.
    keep_errno(|| unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })
}

pub fn open_append(path: &core::ffi::CStr) -> i32 {
    // SAFETY: path is NUL-terminated.
    keep_errno(|| unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC,
            0o644,
        )
    })
}

pub fn read(fd: i32, buf: &mut [u8]) -> isize {
    // SAFETY: buf is a valid mutable slice.
    keep_errno(|| unsafe { libc::read(fd, buf.as_mut_ptr() as *mut _, buf.len()) })
}

pub fn close(fd: i32) {
    // SAFETY: closing a descriptor we opened.
    keep_errno(|| unsafe { libc::close(fd) });
}

/// A close-on-exec duplicate of `fd` numbered 500 or above (-1 on failure).
pub fn dup_high(fd: i32) -> i32 {
    // SAFETY: fcntl on a descriptor number; no memory is passed.
    keep_errno(|| unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 500) })
}

pub fn is_terminal(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    keep_errno(|| unsafe { libc::isatty(fd) } == 1)
}

pub fn fd_is_open(fd: i32) -> bool {
    // SAFETY: as dup_high.
    keep_errno(|| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1)
}

/// Device and inode of an open file folded into one number (0 if closed).
pub fn file_identity(fd: i32) -> u64 {
    keep_errno(|| {
        // SAFETY: st is a valid out-parameter.
        let mut st: libc::stat = unsafe { core::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            return 0;
        }
        (st.st_dev as u64).rotate_left(32) ^ st.st_ino as u64 ^ 1
    })
}

/// Lines of /proc/self/maps: the memory maps (VMAs) of this process.
pub fn count_maps() -> usize {
    let fd = open_read(c"/proc/self/maps");
    if fd < 0 {
        return 0;
    }
    let mut buf = [0u8; 4096];
    let mut lines = 0;
    loop {
        let n = read(fd, &mut buf);
        if n <= 0 {
            break;
        }
        lines += buf[..n as usize].iter().filter(|&&c| c == b'\n').count();
    }
    close(fd);
    lines
}

/// Resident set size from /proc/self/statm, KiB.
pub fn rss_kib() -> u64 {
    statm_field(1) * (PAGE as u64 / 1024)
}

/// The soft RLIMIT_AS in bytes (usize::MAX when unlimited).
pub fn address_space_limit() -> usize {
    keep_errno(|| {
        let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: r is a valid out-parameter.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } != 0 || r.rlim_cur == libc::RLIM_INFINITY {
            return usize::MAX;
        }
        r.rlim_cur as usize
    })
}

/// Virtual size of the process from /proc/self/statm, bytes.
pub fn vm_bytes() -> usize {
    statm_field(0) as usize * PAGE
}

fn statm_field(i: usize) -> u64 {
    let fd = open_read(c"/proc/self/statm");
    if fd < 0 {
        return 0;
    }
    let mut buf = [0u8; 128];
    let n = read(fd, &mut buf);
    close(fd);
    let text = &buf[..n.max(0) as usize];
    text.split(|&c| c == b' ').nth(i).and_then(crate::options::parse_u64).unwrap_or(0)
}

pub fn getpid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::getpid() }
}

pub fn yield_now() {
    // SAFETY: no arguments.
    keep_errno(|| unsafe { libc::sched_yield() });
}

/// Sleeps while `*word == expected` (FUTEX_WAIT, process-private); returns
/// at once if it differs, on a wake-up, on a signal, or after `timeout_ns`
/// if given.
pub fn futex_wait(word: &core::sync::atomic::AtomicU32, expected: u32, timeout_ns: Option<u64>) {
    let ts = timeout_ns.map(|ns| libc::timespec { tv_sec: (ns / 1_000_000_000) as _, tv_nsec: (ns % 1_000_000_000) as _ });
    let tsp = ts.as_ref().map_or(ptr::null(), |t| t as *const libc::timespec);
    keep_errno(|| {
        // SAFETY: word is a valid, aligned u32 and tsp null or a valid
        // timespec, both for the duration of the call.
        unsafe {
            libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG, expected, tsp)
        };
    });
}

/// Wakes one thread sleeping in `futex_wait` on `word`.
pub fn futex_wake_one(word: &core::sync::atomic::AtomicU32) {
    keep_errno(|| {
        // SAFETY: FUTEX_WAKE only reads the address as a key.
        unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, 1) };
    });
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

pub fn abort() -> ! {
    // SAFETY: abort never returns; glibc's abort does not allocate.
    unsafe { libc::abort() }
}

pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and runs no user code.
    unsafe { libc::_exit(code) }
}
