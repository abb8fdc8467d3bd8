//! The next definition of every libc function libpooldbg interposes besides
//! the allocator (front/syscalls.rs: the calls that hand a buffer to the
//! kernel), and the calls through it.
//!
//! Each is found once with `dlsym(RTLD_NEXT, name)` (`dlvsym` for glibc's
//! `__xstat` family, which newer glibc keeps only as compatibility
//! symbols): the definition the program would have bound to without us,
//! normally libc's, or another preloaded library's that comes after ours.
//! The constructor resolves them all (`resolve_all`); a call that arrives
//! earlier (another library's constructor) resolves its own entry on the
//! spot. A lookup is never made under one of our locks: a failing `dlsym`
//! allocates its error message, through us (and the message is cleared, so
//! the program's next `dlerror()` does not find it). Calling libc's
//! function, rather than the system call, keeps its exact behaviour: errno,
//! cancellation points, and glibc's own conversions.
//!
//! Names glibc 2.28 lacks still work there: `stat`, `fstat`, `lstat`,
//! `fstatat` and their `*64` forms (glibc 2.33) go to `__xstat` and its
//! relatives, as glibc's own inline wrappers did; `getdents64` (2.30) is the
//! system call. Any other call whose definition cannot be found fails with
//! ENOSYS (it cannot happen with a glibc that loaded us).
//!
//! Our own reads and writes never come here: sys/io.rs makes the system
//! calls itself, so nothing of ours goes through the checks of our exports.

use core::ffi::{c_char, c_int, c_uint, c_void, CStr};
use core::sync::atomic::{AtomicUsize, Ordering::*};

use libc::{
    epoll_event, fd_set, iovec, mmsghdr, msghdr, nfds_t, pollfd, sigset_t, sockaddr, socklen_t, timespec, timeval,
};

use super::process::{keep_errno, set_errno};

type Stat = libc::stat64;

extern "C" {
    fn pooldbg_sys_dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn pooldbg_sys_dlvsym(handle: *mut c_void, name: *const c_char, version: *const c_char) -> *mut c_void;
    fn pooldbg_sys_dlerror_clear();
}

const UNRESOLVED: usize = 0;
const ABSENT: usize = 1;

/// One function's next definition: unresolved, absent, or its address.
pub struct Next {
    name: &'static CStr,
    /// A symbol version to ask for (`dlvsym`), or none (`dlsym`: the default).
    version: Option<&'static CStr>,
    addr: AtomicUsize,
}

impl Next {
    const fn new(name: &'static CStr, version: Option<&'static CStr>) -> Next {
        Next { name, version, addr: AtomicUsize::new(UNRESOLVED) }
    }

    /// The address, resolving it on first use; None if there is none.
    #[inline]
    fn get(&self) -> Option<usize> {
        match self.addr.load(Acquire) {
            UNRESOLVED => self.resolve(),
            ABSENT => None,
            a => Some(a),
        }
    }

    #[cold]
    #[inline(never)]
    fn resolve(&self) -> Option<usize> {
        let found = keep_errno(|| {
            // SAFETY: NUL-terminated names; RTLD_NEXT searches the objects
            // loaded after the caller's (pooldbg_sys_dlsym is ours).
            let p = unsafe {
                match self.version {
                    Some(v) => pooldbg_sys_dlvsym(libc::RTLD_NEXT, self.name.as_ptr(), v.as_ptr()),
                    None => pooldbg_sys_dlsym(libc::RTLD_NEXT, self.name.as_ptr()),
                }
            } as usize;
            if p == 0 {
                // SAFETY: clears this thread's dlerror state; nothing else.
                unsafe { pooldbg_sys_dlerror_clear() };
            }
            p
        });
        // Racing resolvers find the same address.
        self.addr.store(if found == 0 { ABSENT } else { found }, Release);
        (found != 0).then_some(found)
    }
}

/// The value a call returns when its definition is missing: -1 and ENOSYS.
fn missing<T: From<i8>>() -> T {
    set_errno(libc::ENOSYS);
    T::from(-1)
}

/// Calls `$next`'s definition with the C signature given, or fails as `missing`.
macro_rules! call_next {
    ($next:expr, fn($($ty:ty),*) -> $ret:ty, $($arg:expr),*) => {
        match $next.get() {
            // SAFETY: the next definition of this very libc function, called
            // with its C signature and the caller's own arguments.
            Some(f) => unsafe { core::mem::transmute::<usize, unsafe extern "C" fn($($ty),*) -> $ret>(f)($($arg),*) },
            None => missing(),
        }
    };
}

/// Declares each forwarded function: its `Next` entry and a function of the
/// same name that calls it.
macro_rules! forward {
    ($($slot:ident = $sym:literal: fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(
            static $slot: Next = Next::new($sym, None);

            #[doc = concat!("Calls the next definition of `", stringify!($name), "`.")]
            ///
            /// # Safety
            /// The C function's contract.
            #[inline(always)]
            pub unsafe fn $name($($arg: $ty),*) -> $ret {
                call_next!($slot, fn($($ty),*) -> $ret, $($arg),*)
            }
        )*
        /// Every entry `forward!` declares, for `resolve_all`.
        static FORWARDED: &[&Next] = &[$(&$slot),*];
    };
}

forward! {
    READ = c"read": fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
    PREAD = c"pread": fn pread(fd: c_int, buf: *mut c_void, count: usize, off: i64) -> isize;
    PREAD64 = c"pread64": fn pread64(fd: c_int, buf: *mut c_void, count: usize, off: i64) -> isize;
    READV = c"readv": fn readv(fd: c_int, iov: *const iovec, cnt: c_int) -> isize;
    PREADV = c"preadv": fn preadv(fd: c_int, iov: *const iovec, cnt: c_int, off: i64) -> isize;
    PREADV64 = c"preadv64": fn preadv64(fd: c_int, iov: *const iovec, cnt: c_int, off: i64) -> isize;
    PREADV2 = c"preadv2": fn preadv2(fd: c_int, iov: *const iovec, cnt: c_int, off: i64, flags: c_int) -> isize;
    PREADV64V2 = c"preadv64v2":
        fn preadv64v2(fd: c_int, iov: *const iovec, cnt: c_int, off: i64, flags: c_int) -> isize;
    WRITE = c"write": fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    PWRITE = c"pwrite": fn pwrite(fd: c_int, buf: *const c_void, count: usize, off: i64) -> isize;
    PWRITE64 = c"pwrite64": fn pwrite64(fd: c_int, buf: *const c_void, count: usize, off: i64) -> isize;
    WRITEV = c"writev": fn writev(fd: c_int, iov: *const iovec, cnt: c_int) -> isize;
    PWRITEV = c"pwritev": fn pwritev(fd: c_int, iov: *const iovec, cnt: c_int, off: i64) -> isize;
    PWRITEV64 = c"pwritev64": fn pwritev64(fd: c_int, iov: *const iovec, cnt: c_int, off: i64) -> isize;
    PWRITEV2 = c"pwritev2": fn pwritev2(fd: c_int, iov: *const iovec, cnt: c_int, off: i64, flags: c_int) -> isize;
    PWRITEV64V2 = c"pwritev64v2":
        fn pwritev64v2(fd: c_int, iov: *const iovec, cnt: c_int, off: i64, flags: c_int) -> isize;
    RECV = c"recv": fn recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> isize;
    RECVFROM = c"recvfrom": fn recvfrom(
        fd: c_int, buf: *mut c_void, len: usize, flags: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t
    ) -> isize;
    RECVMSG = c"recvmsg": fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> isize;
    RECVMMSG = c"recvmmsg":
        fn recvmmsg(fd: c_int, vec: *mut mmsghdr, vlen: c_uint, flags: c_int, timeout: *mut timespec) -> c_int;
    SEND = c"send": fn send(fd: c_int, buf: *const c_void, len: usize, flags: c_int) -> isize;
    SENDTO = c"sendto": fn sendto(
        fd: c_int, buf: *const c_void, len: usize, flags: c_int, addr: *const sockaddr, addrlen: socklen_t
    ) -> isize;
    SENDMSG = c"sendmsg": fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> isize;
    SENDMMSG = c"sendmmsg": fn sendmmsg(fd: c_int, vec: *mut mmsghdr, vlen: c_uint, flags: c_int) -> c_int;
    STATX = c"statx": fn statx(dirfd: c_int, path: *const c_char, flags: c_int, mask: c_uint, buf: *mut c_void) -> c_int;
    POLL = c"poll": fn poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int;
    PPOLL = c"ppoll":
        fn ppoll(fds: *mut pollfd, nfds: nfds_t, timeout: *const timespec, sigmask: *const sigset_t) -> c_int;
    EPOLL_WAIT = c"epoll_wait":
        fn epoll_wait(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int) -> c_int;
    EPOLL_PWAIT = c"epoll_pwait": fn epoll_pwait(
        epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int, sigmask: *const sigset_t
    ) -> c_int;
    SELECT = c"select": fn select(
        nfds: c_int, r: *mut fd_set, w: *mut fd_set, e: *mut fd_set, timeout: *mut timeval
    ) -> c_int;
    PSELECT = c"pselect": fn pselect(
        nfds: c_int, r: *mut fd_set, w: *mut fd_set, e: *mut fd_set, timeout: *const timespec,
        sigmask: *const sigset_t
    ) -> c_int;
    GETSOCKOPT = c"getsockopt": fn getsockopt(
        fd: c_int, level: c_int, name: c_int, val: *mut c_void, len: *mut socklen_t
    ) -> c_int;
    ACCEPT = c"accept": fn accept(fd: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> c_int;
    ACCEPT4 = c"accept4": fn accept4(fd: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t, flags: c_int) -> c_int;
    // _FORTIFY_SOURCE's checked forms (the program's compiler chose them
    // where it knew the buffer's size): the same calls, one more argument.
    READ_CHK = c"__read_chk": fn read_chk(fd: c_int, buf: *mut c_void, count: usize, buflen: usize) -> isize;
    PREAD_CHK = c"__pread_chk":
        fn pread_chk(fd: c_int, buf: *mut c_void, count: usize, off: i64, buflen: usize) -> isize;
    PREAD64_CHK = c"__pread64_chk":
        fn pread64_chk(fd: c_int, buf: *mut c_void, count: usize, off: i64, buflen: usize) -> isize;
    RECV_CHK = c"__recv_chk": fn recv_chk(fd: c_int, buf: *mut c_void, len: usize, buflen: usize, flags: c_int) -> isize;
    RECVFROM_CHK = c"__recvfrom_chk": fn recvfrom_chk(
        fd: c_int, buf: *mut c_void, len: usize, buflen: usize, flags: c_int, addr: *mut sockaddr,
        addrlen: *mut socklen_t
    ) -> isize;
    POLL_CHK = c"__poll_chk": fn poll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: c_int, fdslen: usize) -> c_int;
    PPOLL_CHK = c"__ppoll_chk": fn ppoll_chk(
        fds: *mut pollfd, nfds: nfds_t, timeout: *const timespec, sigmask: *const sigset_t, fdslen: usize
    ) -> c_int;
}

// ---- the stat family: glibc 2.33's names, and the __xstat forms before them ----

/// The version argument glibc's inline `stat` wrappers passed to `__xstat`
/// on x86-64 before 2.33 (`_STAT_VER_LINUX`).
const STAT_VER: c_int = 1;

/// Declares, for each stat call, the `__xstat`-style entry point (asked for
/// by version: glibc 2.33 and later keep those only for binaries built
/// before) and the 2.33 name, which falls back to the former on an older
/// glibc, as glibc's own inline wrappers did.
macro_rules! stat_forms {
    ($($name:ident = $slot:ident $sym:literal, $xname:ident = $xslot:ident $xsym:literal @ $ver:literal
       ($($arg:ident: $ty:ty),*);)*) => {
        $(
            static $slot: Next = Next::new($sym, None);
            static $xslot: Next = Next::new($xsym, Some($ver));

            #[doc = concat!("Calls the next definition of glibc's `__", stringify!($xname), "`.")]
            ///
            /// # Safety
            /// The C function's contract.
            #[inline(always)]
            pub unsafe fn $xname(ver: c_int, $($arg: $ty),*) -> c_int {
                call_next!($xslot, fn(c_int, $($ty),*) -> c_int, ver, $($arg),*)
            }

            #[doc = concat!("Calls the next definition of `", stringify!($name), "`, or its `__xstat` form before glibc 2.33.")]
            ///
            /// # Safety
            /// The C function's contract.
            #[inline(always)]
            pub unsafe fn $name($($arg: $ty),*) -> c_int {
                match $slot.get() {
                    // SAFETY: the next definition of this function, with its C signature.
                    Some(f) => unsafe {
                        core::mem::transmute::<usize, unsafe extern "C" fn($($ty),*) -> c_int>(f)($($arg),*)
                    },
                    // SAFETY: the same call, as glibc before 2.33 made it.
                    None => unsafe { $xname(STAT_VER, $($arg),*) },
                }
            }
        )*
        /// Every entry `stat_forms!` declares, for `resolve_all`.
        static STAT_FAMILY: &[&Next] = &[$(&$slot, &$xslot),*];
    };
}

stat_forms! {
    stat = STAT c"stat", xstat = XSTAT c"__xstat" @ c"GLIBC_2.2.5" (path: *const c_char, buf: *mut Stat);
    stat64 = STAT64 c"stat64", xstat64 = XSTAT64 c"__xstat64" @ c"GLIBC_2.2.5" (path: *const c_char, buf: *mut Stat);
    lstat = LSTAT c"lstat", lxstat = LXSTAT c"__lxstat" @ c"GLIBC_2.2.5" (path: *const c_char, buf: *mut Stat);
    lstat64 = LSTAT64 c"lstat64", lxstat64 = LXSTAT64 c"__lxstat64" @ c"GLIBC_2.2.5"
        (path: *const c_char, buf: *mut Stat);
    fstat = FSTAT c"fstat", fxstat = FXSTAT c"__fxstat" @ c"GLIBC_2.2.5" (fd: c_int, buf: *mut Stat);
    fstat64 = FSTAT64 c"fstat64", fxstat64 = FXSTAT64 c"__fxstat64" @ c"GLIBC_2.2.5" (fd: c_int, buf: *mut Stat);
    fstatat = FSTATAT c"fstatat", fxstatat = FXSTATAT c"__fxstatat" @ c"GLIBC_2.4"
        (dirfd: c_int, path: *const c_char, buf: *mut Stat, flags: c_int);
    fstatat64 = FSTATAT64 c"fstatat64", fxstatat64 = FXSTATAT64 c"__fxstatat64" @ c"GLIBC_2.4"
        (dirfd: c_int, path: *const c_char, buf: *mut Stat, flags: c_int);
}

static GETDENTS64: Next = Next::new(c"getdents64", None);

/// getdents64 (glibc 2.30), or the system call glibc's wrapper makes.
///
/// # Safety
/// The C function's contract.
#[inline(always)]
pub unsafe fn getdents64(fd: c_int, buf: *mut c_void, count: usize) -> isize {
    match GETDENTS64.get() {
        // SAFETY: the next definition of getdents64, with its C signature.
        Some(f) => unsafe {
            core::mem::transmute::<usize, unsafe extern "C" fn(c_int, *mut c_void, usize) -> isize>(f)(fd, buf, count)
        },
        // SAFETY: what glibc 2.30's getdents64 does (it caps the count at INT_MAX).
        None => unsafe { libc::syscall(libc::SYS_getdents64, fd, buf, count.min(i32::MAX as usize)) as isize },
    }
}

/// Finds every next definition now (the constructor: the program's own
/// calls then never resolve one, say from a signal handler).
pub fn resolve_all() {
    for next in FORWARDED.iter().chain(STAT_FAMILY).chain([&&GETDENTS64]) {
        let _ = next.get();
    }
}
