//! userfaultfd(2) in SIGBUS mode: once a range is registered for missing
//! pages, any user-mode access to a page that is not populated raises
//! SIGBUS (`BUS_ADRERR`, exact address) and nothing has to serve faults.
//! Linux 5.11+ for unprivileged use with `UFFD_USER_MODE_ONLY`; 4.14+ when
//! privileged or with `vm.unprivileged_userfaultfd=1`.

use super::process::{errno, keep_errno};

/// `UFFD_USER_MODE_ONLY`: only faults from user mode are handled; a system
/// call that touches a missing page gets EFAULT (as with guard markers).
const USER_MODE_ONLY: i32 = 1;
const UFFD_API: u64 = 0xaa;
const FEATURE_SIGBUS: u64 = 1 << 7;
const REGISTER_MODE_MISSING: u64 = 1;
const IOCTL_API: u64 = 0xc018_aa3f;
const IOCTL_REGISTER: u64 = 0xc020_aa00;
const IOCTL_COPY: u64 = 0xc028_aa03;
const IOCTL_ZEROPAGE: u64 = 0xc020_aa04;

#[repr(C)]
struct Api {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
struct Range {
    start: u64,
    len: u64,
}

#[repr(C)]
struct Register {
    range: Range,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
struct Copy {
    dst: u64,
    src: u64,
    len: u64,
    mode: u64,
    copy: i64,
}

#[repr(C)]
struct ZeroPage {
    range: Range,
    mode: u64,
    zeropage: i64,
}

fn ioctl<T>(fd: i32, request: u64, arg: &mut T) -> Result<(), i32> {
    // SAFETY: `arg` is the structure this request reads and writes.
    let r = unsafe { libc::ioctl(fd, request as _, arg as *mut T) };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// A close-on-exec userfaultfd with the SIGBUS feature, numbered out of the
/// program's way (600 or above where possible). Err: the errno of the step
/// that failed (ENOSYS: no userfaultfd; EPERM: not allowed here; EINVAL: no
/// SIGBUS feature).
pub fn open() -> Result<i32, i32> {
    keep_errno(|| {
        let flags = libc::O_CLOEXEC | libc::O_NONBLOCK;
        // SAFETY: userfaultfd takes flags only.
        let mut fd = unsafe { libc::syscall(libc::SYS_userfaultfd, flags | USER_MODE_ONLY) } as i32;
        if fd < 0 && errno() == libc::EINVAL {
            // Before Linux 5.11: no user-mode-only flag (needs privilege or
            // vm.unprivileged_userfaultfd=1).
            // SAFETY: as above.
            fd = unsafe { libc::syscall(libc::SYS_userfaultfd, flags) } as i32;
        }
        if fd < 0 {
            return Err(errno());
        }
        let mut api = Api { api: UFFD_API, features: FEATURE_SIGBUS, ioctls: 0 };
        if let Err(e) = ioctl(fd, IOCTL_API, &mut api) {
            close(fd);
            return Err(e);
        }
        if api.features & FEATURE_SIGBUS == 0 {
            close(fd);
            return Err(libc::EINVAL);
        }
        // SAFETY: fcntl on our own descriptor.
        let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 600) };
        if high >= 0 {
            close(fd);
            fd = high;
        }
        Ok(fd)
    })
}

pub fn close(fd: i32) {
    // SAFETY: closing our own descriptor.
    keep_errno(|| unsafe { libc::close(fd) });
}

/// Registers `[start, start + len)` for missing-page faults.
pub fn register(fd: i32, start: usize, len: usize) -> Result<(), i32> {
    let mut r =
        Register { range: Range { start: start as u64, len: len as u64 }, mode: REGISTER_MODE_MISSING, ioctls: 0 };
    keep_errno(|| ioctl(fd, IOCTL_REGISTER, &mut r))
}

/// Populates the missing pages `[dst, dst + len)` with a copy of
/// `[src, src + len)`, writable, in one call. Err: the errno (EEXIST: a page
/// was already there; EAGAIN: retry). `Ok(n)` is all `len` bytes.
pub fn copy(fd: i32, dst: usize, src: usize, len: usize) -> Result<(), (i32, usize)> {
    let mut c = Copy { dst: dst as u64, src: src as u64, len: len as u64, mode: 0, copy: 0 };
    keep_errno(|| match ioctl(fd, IOCTL_COPY, &mut c) {
        Ok(()) => Ok(()),
        Err(e) => Err((e, c.copy.max(0) as usize)),
    })
}

/// Maps the shared zero page into the missing pages `[start, start + len)`:
/// they read as zeros and a write takes an ordinary copy-on-write fault.
pub fn zeropage(fd: i32, start: usize, len: usize) -> Result<(), (i32, usize)> {
    let mut z = ZeroPage { range: Range { start: start as u64, len: len as u64 }, mode: 0, zeropage: 0 };
    keep_errno(|| match ioctl(fd, IOCTL_ZEROPAGE, &mut z) {
        Ok(()) => Ok(()),
        Err(e) => Err((e, z.zeropage.max(0) as usize)),
    })
}
