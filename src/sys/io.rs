//! File descriptors: the report stream, /proc files, the log file.
//!
//! Reads and writes are the system calls themselves, not libc's `read` and
//! `write`: those names are ours now (front/syscalls.rs checks the buffers
//! a program hands to the kernel), and libc's are cancellation points.

use core::ffi::CStr;

use super::process::{errno, keep_errno};

/// write(2) all of `buf` to `fd`, retrying on EINTR and short writes.
pub fn write_all(fd: i32, mut buf: &[u8]) {
    keep_errno(|| {
        while !buf.is_empty() {
            // SAFETY: buf is a valid slice.
            let n = unsafe { libc::syscall(libc::SYS_write, fd, buf.as_ptr(), buf.len()) };
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

pub fn open_read(path: &CStr) -> i32 {
    // SAFETY: path is NUL-terminated.
    keep_errno(|| unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })
}

pub fn open_append(path: &CStr) -> i32 {
    // SAFETY: path is NUL-terminated.
    keep_errno(|| unsafe {
        libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC, 0o644)
    })
}

/// Opens a directory for `read_dir`.
pub fn open_dir(path: &CStr) -> i32 {
    // SAFETY: path is NUL-terminated.
    keep_errno(|| unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) })
}

/// Reads `linux_dirent64` records into `buf` (getdents64; opendir would
/// allocate). Returns the bytes read, 0 at the end, negative on error.
pub fn read_dir(fd: i32, buf: &mut [u8]) -> isize {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    keep_errno(|| unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) as isize })
}

pub fn read(fd: i32, buf: &mut [u8]) -> isize {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    keep_errno(|| unsafe { libc::syscall(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) as isize })
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
        // The system call, not libc's fstat: that is fstat@GLIBC_2.33, and
        // we load on glibc 2.28 (before 2.33 it was an inline wrapper over
        // __fxstat). On x86-64 the kernel's struct stat is libc's.
        // SAFETY: as above; the kernel writes one struct stat.
        if unsafe { libc::syscall(libc::SYS_fstat, fd, &mut st as *mut libc::stat) } != 0 {
            return 0;
        }
        (st.st_dev as u64).rotate_left(32) ^ st.st_ino as u64 ^ 1
    })
}

/// Writes `buf` to a stdio stream the program gave us (malloc_info); false
/// if it took less. stdio may allocate its buffer: that is an ordinary
/// allocation, made outside every lock of ours.
///
/// # Safety
/// `fp` is a valid `FILE *`.
pub unsafe fn fwrite(fp: *mut libc::FILE, buf: &[u8]) -> bool {
    keep_errno(|| libc::fwrite(buf.as_ptr() as *const _, 1, buf.len(), fp) == buf.len())
}

/// Flushes every stdio stream (before `_exit` from inside `exit()`, so the
/// program's buffered output is not lost).
pub fn flush_stdio() {
    // SAFETY: fflush(NULL) flushes every open stream.
    keep_errno(|| unsafe { libc::fflush(core::ptr::null_mut()) });
}

/// Reads the whole file `path` (not NUL-terminated; at most 255 bytes)
/// into `buf`: the bytes read (at most `buf.len()`), or the errno.
pub fn read_file(path: &[u8], buf: &mut [u8]) -> Result<usize, i32> {
    let mut z = [0u8; 256];
    if path.len() >= z.len() || path.contains(&0) {
        return Err(libc::ENAMETOOLONG);
    }
    z[..path.len()].copy_from_slice(path);
    let Ok(cpath) = CStr::from_bytes_until_nul(&z) else { return Err(libc::EINVAL) };
    keep_errno(|| {
        // SAFETY: cpath is NUL-terminated; the kernel writes into buf only.
        unsafe {
            let fd = libc::open(cpath.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(super::process::errno());
            }
            let mut n = 0;
            while n < buf.len() {
                match libc::read(fd, buf[n..].as_mut_ptr() as *mut _, buf.len() - n) {
                    0 => break,
                    r if r > 0 => n += r as usize,
                    _ if super::process::errno() == libc::EINTR => {}
                    _ => {
                        let e = super::process::errno();
                        libc::close(fd);
                        return Err(e);
                    }
                }
            }
            libc::close(fd);
            Ok(n)
        }
    })
}
