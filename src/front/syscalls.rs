//! The libc calls that hand a buffer to the kernel, interposed: each checks
//! the buffers the call may transfer (diag/syscall.rs: a freed block or a
//! range past a live block's end is reported, naming the call) and then
//! calls the next definition, libc's (sys/next.rs), with the same arguments.
//! A valid call costs a few loads and compares more; its result, errno and
//! cancellation are libc's own. Like exports.rs, every symbol here is
//! `#[cfg_attr(not(test), no_mangle)]`, and each is a thin shim.
//!
//! Reports name the call the program's source made: `__xstat` is `stat`,
//! `__read_chk` (`_FORTIFY_SOURCE`) is `read`.

// Every function here is a C function with the contract of its man page.
#![allow(clippy::missing_safety_doc)]

use core::ffi::{c_char, c_int, c_uint, c_void};
use core::mem::size_of;

use libc::{
    epoll_event, fd_set, iovec, mmsghdr, msghdr, nfds_t, pollfd, sigset_t, sockaddr, socklen_t, timespec, timeval,
};

use crate::diag::syscall::{
    self as check, buffer, fd_sets, iovecs, rw_bytes, Dir::Read, Dir::Write, Param, MAX_RW, SIGSET_BYTES,
};
use crate::sys::next;

type Stat = libc::stat64;

const BUF: Param = Param::new("buf");
const IOV: Param = Param::new("iov");
const IOV_ELEMENT: &str = "iov[#]";
const STATBUF: Param = Param::new("statbuf");
const TIMEOUT: Param = Param::new("timeout");
const TMO_P: Param = Param::new("tmo_p");
const SIGMASK: Param = Param::new("sigmask");
const STATXBUF: Param = Param::new("statxbuf");
const DIRP: Param = Param::new("dirp");
const FDS: Param = Param::new("fds");
const EVENTS: Param = Param::new("events");
const OPTVAL: Param = Param::new("optval");
const OPTLEN: Param = Param::new("optlen");

fn at(p: *const c_void) -> usize {
    p as usize
}

// ---- read, write and their positioned and vectored forms ----

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize {
    buffer("read", &BUF, at(buf), rw_bytes(count), Write);
    next::read(fd, buf, count)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pread(fd: c_int, buf: *mut c_void, count: usize, off: i64) -> isize {
    buffer("pread", &BUF, at(buf), rw_bytes(count), Write);
    next::pread(fd, buf, count, off)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pread64(fd: c_int, buf: *mut c_void, count: usize, off: i64) -> isize {
    buffer("pread64", &BUF, at(buf), rw_bytes(count), Write);
    next::pread64(fd, buf, count, off)
}

fn read_iov(call: &str, iov: *const iovec, cnt: c_int) {
    iovecs(call, &IOV, IOV_ELEMENT, at(iov.cast()), cnt.max(0) as usize, Write, MAX_RW);
}

fn write_iov(call: &str, iov: *const iovec, cnt: c_int) {
    iovecs(call, &IOV, IOV_ELEMENT, at(iov.cast()), cnt.max(0) as usize, Read, MAX_RW);
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, cnt: c_int) -> isize {
    read_iov("readv", iov, cnt);
    next::readv(fd, iov, cnt)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn preadv(fd: c_int, iov: *const iovec, cnt: c_int, off: i64) -> isize {
    read_iov("preadv", iov, cnt);
    next::preadv(fd, iov, cnt, off)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn preadv64(fd: c_int, iov: *const iovec, cnt: c_int, off: i64) -> isize {
    read_iov("preadv64", iov, cnt);
    next::preadv64(fd, iov, cnt, off)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn preadv2(fd: c_int, iov: *const iovec, cnt: c_int, off: i64, flags: c_int) -> isize {
    read_iov("preadv2", iov, cnt);
    next::preadv2(fd, iov, cnt, off, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn preadv64v2(fd: c_int, iov: *const iovec, cnt: c_int, off: i64, flags: c_int) -> isize {
    read_iov("preadv64v2", iov, cnt);
    next::preadv64v2(fd, iov, cnt, off, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, count: usize) -> isize {
    buffer("write", &BUF, at(buf), rw_bytes(count), Read);
    next::write(fd, buf, count)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pwrite(fd: c_int, buf: *const c_void, count: usize, off: i64) -> isize {
    buffer("pwrite", &BUF, at(buf), rw_bytes(count), Read);
    next::pwrite(fd, buf, count, off)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pwrite64(fd: c_int, buf: *const c_void, count: usize, off: i64) -> isize {
    buffer("pwrite64", &BUF, at(buf), rw_bytes(count), Read);
    next::pwrite64(fd, buf, count, off)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, cnt: c_int) -> isize {
    write_iov("writev", iov, cnt);
    next::writev(fd, iov, cnt)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pwritev(fd: c_int, iov: *const iovec, cnt: c_int, off: i64) -> isize {
    write_iov("pwritev", iov, cnt);
    next::pwritev(fd, iov, cnt, off)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pwritev64(fd: c_int, iov: *const iovec, cnt: c_int, off: i64) -> isize {
    write_iov("pwritev64", iov, cnt);
    next::pwritev64(fd, iov, cnt, off)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pwritev2(fd: c_int, iov: *const iovec, cnt: c_int, off: i64, flags: c_int) -> isize {
    write_iov("pwritev2", iov, cnt);
    next::pwritev2(fd, iov, cnt, off, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pwritev64v2(fd: c_int, iov: *const iovec, cnt: c_int, off: i64, flags: c_int) -> isize {
    write_iov("pwritev64v2", iov, cnt);
    next::pwritev64v2(fd, iov, cnt, off, flags)
}

// ---- sockets ----

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> isize {
    buffer("recv", &BUF, at(buf), len.min(MAX_RW), Write);
    next::recv(fd, buf, len, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: usize,
    flags: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> isize {
    buffer("recvfrom", &BUF, at(buf), len.min(MAX_RW), Write);
    check::sockaddr_out("recvfrom", at(addr.cast()), at(addrlen.cast()));
    next::recvfrom(fd, buf, len, flags, addr, addrlen)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> isize {
    check::msghdr("recvmsg", at(msg.cast()), Write, Write);
    next::recvmsg(fd, msg, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn recvmmsg(
    fd: c_int,
    vec: *mut mmsghdr,
    vlen: c_uint,
    flags: c_int,
    timeout: *mut timespec,
) -> c_int {
    check::mmsghdrs("recvmmsg", at(vec.cast()), vlen as usize, Write);
    buffer("recvmmsg", &TIMEOUT, at(timeout.cast()), size_of::<timespec>(), Write);
    next::recvmmsg(fd, vec, vlen, flags, timeout)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: usize, flags: c_int) -> isize {
    buffer("send", &BUF, at(buf), len.min(MAX_RW), Read);
    next::send(fd, buf, len, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: usize,
    flags: c_int,
    addr: *const sockaddr,
    addrlen: socklen_t,
) -> isize {
    buffer("sendto", &BUF, at(buf), len.min(MAX_RW), Read);
    check::sockaddr_in("sendto", at(addr.cast()), addrlen);
    next::sendto(fd, buf, len, flags, addr, addrlen)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> isize {
    check::msghdr("sendmsg", at(msg.cast()), Read, Read);
    next::sendmsg(fd, msg, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn sendmmsg(fd: c_int, vec: *mut mmsghdr, vlen: c_uint, flags: c_int) -> c_int {
    check::mmsghdrs("sendmmsg", at(vec.cast()), vlen as usize, Read);
    next::sendmmsg(fd, vec, vlen, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    check::sized("getsockopt", &OPTVAL, at(val), &OPTLEN, at(len.cast()), MAX_RW);
    next::getsockopt(fd, level, name, val, len)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t) -> c_int {
    check::sockaddr_out("accept", at(addr.cast()), at(addrlen.cast()));
    next::accept(fd, addr, addrlen)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn accept4(fd: c_int, addr: *mut sockaddr, addrlen: *mut socklen_t, flags: c_int) -> c_int {
    check::sockaddr_out("accept4", at(addr.cast()), at(addrlen.cast()));
    next::accept4(fd, addr, addrlen, flags)
}

// ---- stat and directory entries ----

fn statbuf(call: &str, buf: *mut Stat) {
    buffer(call, &STATBUF, at(buf.cast()), size_of::<Stat>(), Write);
}

/// The `__xstat` forms fail with EINVAL, touching nothing, for a version
/// other than the two x86-64 glibc accepts (`_STAT_VER_KERNEL`, `_LINUX`).
fn xstatbuf(call: &str, ver: c_int, buf: *mut Stat) {
    if ver == 0 || ver == 1 {
        statbuf(call, buf);
    }
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn stat(path: *const c_char, buf: *mut Stat) -> c_int {
    statbuf("stat", buf);
    next::stat(path, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn stat64(path: *const c_char, buf: *mut Stat) -> c_int {
    statbuf("stat64", buf);
    next::stat64(path, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn lstat(path: *const c_char, buf: *mut Stat) -> c_int {
    statbuf("lstat", buf);
    next::lstat(path, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn lstat64(path: *const c_char, buf: *mut Stat) -> c_int {
    statbuf("lstat64", buf);
    next::lstat64(path, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn fstat(fd: c_int, buf: *mut Stat) -> c_int {
    statbuf("fstat", buf);
    next::fstat(fd, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn fstat64(fd: c_int, buf: *mut Stat) -> c_int {
    statbuf("fstat64", buf);
    next::fstat64(fd, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn fstatat(dirfd: c_int, path: *const c_char, buf: *mut Stat, flags: c_int) -> c_int {
    statbuf("fstatat", buf);
    next::fstatat(dirfd, path, buf, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn fstatat64(dirfd: c_int, path: *const c_char, buf: *mut Stat, flags: c_int) -> c_int {
    statbuf("fstatat64", buf);
    next::fstatat64(dirfd, path, buf, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __xstat(ver: c_int, path: *const c_char, buf: *mut Stat) -> c_int {
    xstatbuf("stat", ver, buf);
    next::xstat(ver, path, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __xstat64(ver: c_int, path: *const c_char, buf: *mut Stat) -> c_int {
    xstatbuf("stat64", ver, buf);
    next::xstat64(ver, path, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __lxstat(ver: c_int, path: *const c_char, buf: *mut Stat) -> c_int {
    xstatbuf("lstat", ver, buf);
    next::lxstat(ver, path, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __lxstat64(ver: c_int, path: *const c_char, buf: *mut Stat) -> c_int {
    xstatbuf("lstat64", ver, buf);
    next::lxstat64(ver, path, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __fxstat(ver: c_int, fd: c_int, buf: *mut Stat) -> c_int {
    xstatbuf("fstat", ver, buf);
    next::fxstat(ver, fd, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __fxstat64(ver: c_int, fd: c_int, buf: *mut Stat) -> c_int {
    xstatbuf("fstat64", ver, buf);
    next::fxstat64(ver, fd, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __fxstatat(
    ver: c_int,
    dirfd: c_int,
    path: *const c_char,
    buf: *mut Stat,
    flags: c_int,
) -> c_int {
    xstatbuf("fstatat", ver, buf);
    next::fxstatat(ver, dirfd, path, buf, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __fxstatat64(
    ver: c_int,
    dirfd: c_int,
    path: *const c_char,
    buf: *mut Stat,
    flags: c_int,
) -> c_int {
    xstatbuf("fstatat64", ver, buf);
    next::fxstatat64(ver, dirfd, path, buf, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn statx(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mask: c_uint,
    buf: *mut c_void,
) -> c_int {
    buffer("statx", &STATXBUF, at(buf), size_of::<libc::statx>(), Write);
    next::statx(dirfd, path, flags, mask, buf)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn getdents64(fd: c_int, dirp: *mut c_void, count: usize) -> isize {
    buffer("getdents64", &DIRP, at(dirp), count.min(i32::MAX as usize), Write);
    next::getdents64(fd, dirp, count)
}

// ---- waiting for descriptors ----

fn pollfds(call: &str, fds: *mut pollfd, nfds: nfds_t) {
    if let Some(bytes) = (nfds as usize).checked_mul(size_of::<pollfd>()) {
        buffer(call, &FDS, at(fds.cast()), bytes, Write);
    }
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int {
    pollfds("poll", fds, nfds);
    next::poll(fds, nfds, timeout)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn ppoll(
    fds: *mut pollfd,
    nfds: nfds_t,
    timeout: *const timespec,
    sigmask: *const sigset_t,
) -> c_int {
    pollfds("ppoll", fds, nfds);
    buffer("ppoll", &TMO_P, at(timeout.cast()), size_of::<timespec>(), Read);
    buffer("ppoll", &SIGMASK, at(sigmask.cast()), SIGSET_BYTES, Read);
    next::ppoll(fds, nfds, timeout, sigmask)
}

/// epoll's events: at most `maxevents`, each 12 bytes (packed on x86-64);
/// a count the kernel refuses (EINVAL) is not checked.
fn epoll_events(call: &str, events: *mut epoll_event, maxevents: c_int) {
    if maxevents > 0 && maxevents as usize <= i32::MAX as usize / size_of::<epoll_event>() {
        buffer(call, &EVENTS, at(events.cast()), maxevents as usize * size_of::<epoll_event>(), Write);
    }
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn epoll_wait(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int) -> c_int {
    epoll_events("epoll_wait", events, maxevents);
    next::epoll_wait(epfd, events, maxevents, timeout)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn epoll_pwait(
    epfd: c_int,
    events: *mut epoll_event,
    maxevents: c_int,
    timeout: c_int,
    sigmask: *const sigset_t,
) -> c_int {
    epoll_events("epoll_pwait", events, maxevents);
    buffer("epoll_pwait", &SIGMASK, at(sigmask.cast()), SIGSET_BYTES, Read);
    next::epoll_pwait(epfd, events, maxevents, timeout, sigmask)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn select(
    nfds: c_int,
    r: *mut fd_set,
    w: *mut fd_set,
    e: *mut fd_set,
    timeout: *mut timeval,
) -> c_int {
    fd_sets("select", nfds, [at(r.cast()), at(w.cast()), at(e.cast())]);
    buffer("select", &TIMEOUT, at(timeout.cast()), size_of::<timeval>(), Write);
    next::select(nfds, r, w, e, timeout)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pselect(
    nfds: c_int,
    r: *mut fd_set,
    w: *mut fd_set,
    e: *mut fd_set,
    timeout: *const timespec,
    sigmask: *const sigset_t,
) -> c_int {
    fd_sets("pselect", nfds, [at(r.cast()), at(w.cast()), at(e.cast())]);
    buffer("pselect", &TIMEOUT, at(timeout.cast()), size_of::<timespec>(), Read);
    buffer("pselect", &SIGMASK, at(sigmask.cast()), SIGSET_BYTES, Read);
    next::pselect(nfds, r, w, e, timeout, sigmask)
}

// ---- _FORTIFY_SOURCE's checked forms, named as the source wrote them ----

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __read_chk(fd: c_int, buf: *mut c_void, count: usize, buflen: usize) -> isize {
    buffer("read", &BUF, at(buf), rw_bytes(count), Write);
    next::read_chk(fd, buf, count, buflen)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __pread_chk(fd: c_int, buf: *mut c_void, count: usize, off: i64, buflen: usize) -> isize {
    buffer("pread", &BUF, at(buf), rw_bytes(count), Write);
    next::pread_chk(fd, buf, count, off, buflen)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __pread64_chk(fd: c_int, buf: *mut c_void, count: usize, off: i64, buflen: usize) -> isize {
    buffer("pread64", &BUF, at(buf), rw_bytes(count), Write);
    next::pread64_chk(fd, buf, count, off, buflen)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __recv_chk(fd: c_int, buf: *mut c_void, len: usize, buflen: usize, flags: c_int) -> isize {
    buffer("recv", &BUF, at(buf), len.min(MAX_RW), Write);
    next::recv_chk(fd, buf, len, buflen, flags)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __recvfrom_chk(
    fd: c_int,
    buf: *mut c_void,
    len: usize,
    buflen: usize,
    flags: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> isize {
    buffer("recvfrom", &BUF, at(buf), len.min(MAX_RW), Write);
    check::sockaddr_out("recvfrom", at(addr.cast()), at(addrlen.cast()));
    next::recvfrom_chk(fd, buf, len, buflen, flags, addr, addrlen)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __poll_chk(fds: *mut pollfd, nfds: nfds_t, timeout: c_int, fdslen: usize) -> c_int {
    pollfds("poll", fds, nfds);
    next::poll_chk(fds, nfds, timeout, fdslen)
}

#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __ppoll_chk(
    fds: *mut pollfd,
    nfds: nfds_t,
    timeout: *const timespec,
    sigmask: *const sigset_t,
    fdslen: usize,
) -> c_int {
    pollfds("ppoll", fds, nfds);
    buffer("ppoll", &TMO_P, at(timeout.cast()), size_of::<timespec>(), Read);
    buffer("ppoll", &SIGMASK, at(sigmask.cast()), SIGSET_BYTES, Read);
    next::ppoll_chk(fds, nfds, timeout, sigmask, fdslen)
}
