//! Buffers a program hands to the kernel (`read(2)`, `recv(2)`, `stat(2)`,
//! …; the exports are front/syscalls.rs), checked before the call.
//!
//! The kernel copies to and from user memory without faulting: a trapped
//! page in its way (a freed block, a guard page) makes the call fail with
//! EFAULT or transfer less, and no instruction of the program faults. So the
//! range the call may transfer is checked against the block it starts in,
//! by arithmetic on the address and our out-of-band records (`Block`), never
//! by touching it: a range that reaches past its live block (into the slack,
//! the canary, the guard page) or lies in a freed block is reported like a
//! fault, naming the call (`heap-buffer-overflow on address … (WRITE of size
//! 200) in read(2) thread T0`), READ when the kernel reads the buffer, WRITE
//! when it fills it; then `on_error` applies and, with `continue`, the call
//! goes on as the program asked. Ranges outside our heap are not checked.
//!
//! Arrays that describe further buffers (iovecs, a msghdr, mmsghdrs, a
//! `socklen_t`) are checked as buffers the kernel reads, then read in place:
//! when they lie in one live block, on the calling thread's stack, or in
//! pages the kernel itself can read (`sys::mem::readable`, one probe per
//! page), so that a bad pointer outside our heap fails the call with EFAULT
//! as it would without us, instead of faulting here; it is then not looked
//! into. Lengths are bounded by what the kernel would transfer
//! (its `MAX_RW_COUNT`, `UIO_MAXIOV`, `sizeof(struct sockaddr_storage)`),
//! and a call the kernel refuses before touching memory (a negative length,
//! too many iovecs) is not checked at all.

use core::fmt;
use core::mem::size_of;

use super::report::{self, Bug};
use super::{describe, fault, frames};
use crate::config::options::OnError;
use crate::config::state;
use crate::heap::block::Block;
use crate::heap::pool::arena;
use crate::heap::slot::REPORTED;
use crate::out::say;
use crate::sys::{self, mem, tls, PAGE};

/// The most bytes one call transfers (Linux `MAX_RW_COUNT`: `INT_MAX`
/// rounded down to a page).
pub const MAX_RW: usize = i32::MAX as usize & !(PAGE - 1);
/// The most iovecs in one call, and mmsghdrs (`UIO_MAXIOV`).
const MAX_IOV: usize = 1024;
/// The longest socket address the kernel moves (`struct sockaddr_storage`).
const MAX_SOCKADDR: usize = 128;
/// The signal set the kernel reads (`_NSIG / 8`, not glibc's 128-byte `sigset_t`).
pub const SIGSET_BYTES: usize = 8;

/// What the kernel does with a buffer: reads it (write, send) or fills it
/// (read, recv). Reports say READ or WRITE, as for the program's own accesses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    Read,
    Write,
}

impl Dir {
    fn word(self) -> &'static str {
        match self {
            Dir::Read => "READ",
            Dir::Write => "WRITE",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Dir::Read => "read",
            Dir::Write => "write",
        }
    }
}

/// Names a buffer in a report: a parameter of the call (`buf`), or a path
/// into what one points to (`msg->msg_iov[2]`), each `#` an index.
#[derive(Clone, Copy)]
pub struct Param {
    text: &'static str,
    idx: [usize; 2],
}

impl Param {
    pub const fn new(text: &'static str) -> Param {
        Param { text, idx: [0; 2] }
    }

    /// A part of this parameter named `text`, whose next `#` is `i`.
    fn part(self, text: &'static str, i: usize) -> Param {
        let n = self.text.bytes().filter(|&b| b == b'#').count();
        let mut idx = self.idx;
        if let Some(slot) = idx.get_mut(n) {
            *slot = i;
        }
        Param { text, idx }
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut k = 0;
        for piece in self.text.split_inclusive('#') {
            match piece.strip_suffix('#') {
                Some(head) => {
                    write!(f, "{}{}", head, self.idx.get(k).copied().unwrap_or(0))?;
                    k += 1;
                }
                None => f.write_str(piece)?,
            }
        }
        Ok(())
    }
}

/// The bytes a read or write of `count` may transfer: none when the kernel
/// refuses the count (more than `SSIZE_MAX`: EINVAL), else at most `MAX_RW`.
pub fn rw_bytes(count: usize) -> usize {
    if count > isize::MAX as usize {
        0
    } else {
        count.min(MAX_RW)
    }
}

/// True if `addr` lies in our heap's address space.
#[inline]
fn in_heap(addr: usize) -> bool {
    if !state::ready() {
        return false;
    }
    let a = arena();
    addr >= a.base && addr < a.end
}

/// Checks `[addr, addr + len)`, handed to the kernel by `call` as `param`,
/// which the kernel reads or writes (`dir`). True when the kernel may use it:
/// outside our heap, or within one live block. Otherwise it is reported
/// (once per block with `on_error=continue`) and false is returned, if the
/// report returns at all.
#[inline]
pub fn buffer(call: &str, param: &Param, addr: usize, len: usize, dir: Dir) -> bool {
    len == 0 || !in_heap(addr) || in_block(call, param, addr, len, dir)
}

#[inline(never)]
fn in_block(call: &str, param: &Param, addr: usize, len: usize, dir: Dir) -> bool {
    let (kind, bad, block) = match Block::live_containing(addr) {
        Some(b) if len <= b.end() - addr => return true,
        Some(b) => (Bug::HeapBufferOverflow, b.end(), Some(b)),
        None => {
            let (kind, b) = fault::classify(addr);
            (kind, addr, b)
        }
    };
    // A handler of the program that interrupted our report on this thread:
    // no second report; the call goes on (and fails as it would).
    if !report::in_report() {
        sys::keep_errno(|| report_range(call, param, addr, len, dir, kind, bad, block));
    }
    false
}

/// The report: first line, the buffer, where its first bad byte `bad` lies,
/// the caller's stack, the block's stacks; then `on_error`.
#[cold]
#[allow(clippy::too_many_arguments)]
fn report_range(
    call: &str,
    param: &Param,
    addr: usize,
    len: usize,
    dir: Dir,
    kind: Bug,
    bad: usize,
    block: Option<Block>,
) {
    if state::options().on_error == OnError::Continue && block.is_some_and(|b| b.meta.test_and_set(REPORTED)) {
        return; // each block is reported once
    }
    report::begin_raw(format_args!(
        "{} on address {:#x} ({} of size {}) in {}(2) thread T{}",
        kind.name(),
        bad,
        dir.word(),
        len,
        call,
        tls::thread_number()
    ));
    say!(
        "  {}(2)'s {} is the {}-byte range [{:#x},{:#x}), which the kernel would {}",
        call,
        param,
        len,
        addr,
        addr.saturating_add(len),
        dir.verb()
    );
    match &block {
        Some(b) => describe::located(bad, b),
        None => describe::wild(bad),
    }
    frames::print_here();
    if let Some(b) = &block {
        describe::block_stacks(b);
    }
    report::finish();
}

// ---- arrays that describe more buffers ----

/// `count` elements of `T` (a plain C struct or integer) in the program's
/// memory, known to be readable.
struct UserArray<T> {
    addr: usize,
    count: usize,
    _elements: core::marker::PhantomData<T>,
}

impl<T: Copy> UserArray<T> {
    fn get(&self, i: usize) -> T {
        debug_assert!(i < self.count);
        // SAFETY: readable (`user_array`), i < count; the program's pointer need
        // not be aligned.
        unsafe { core::ptr::read_unaligned((self.addr as *const T).add(i)) }
    }
}

/// The `count` elements of `T` at `addr`, an array the kernel reads (or
/// reads and writes back: `dir`), checked as one buffer. None if it is bad
/// (reported) or cannot be read (the kernel will fail the call with EFAULT):
/// nothing of it is then looked at.
fn user_array<T: Copy>(call: &str, param: &Param, addr: usize, count: usize, dir: Dir) -> Option<UserArray<T>> {
    let bytes = count.checked_mul(size_of::<T>())?;
    if bytes == 0 || !buffer(call, param, addr, bytes, dir) {
        return None;
    }
    // In our heap, `buffer` found it inside one live block.
    (in_heap(addr) || mem::readable(addr, bytes)).then_some(UserArray {
        addr,
        count,
        _elements: core::marker::PhantomData,
    })
}

/// An iovec array, `cnt` entries at `iov` (read by the kernel), and the
/// buffers they name, which the kernel reads or writes (`dir`), at most
/// `budget` bytes in all (the kernel stops there).
// Out of line: the exports' own frames stay empty, for their tail jump.
#[inline(never)]
pub fn iovecs(call: &str, array: &Param, element: &'static str, iov: usize, cnt: usize, dir: Dir, budget: usize) {
    if cnt == 0 || cnt > MAX_IOV {
        return; // nothing to transfer, or EINVAL
    }
    let Some(v) = user_array::<libc::iovec>(call, array, iov, cnt, Dir::Read) else { return };
    // A length beyond SSIZE_MAX fails the whole call (EINVAL) before any
    // transfer: look at every length first.
    if (0..cnt).any(|i| v.get(i).iov_len > isize::MAX as usize) {
        return;
    }
    let mut left = budget;
    for i in 0..cnt {
        let e = v.get(i);
        let n = e.iov_len.min(left);
        left -= n;
        buffer(call, &array.part(element, i), e.iov_base as usize, n, dir);
        if left == 0 {
            break;
        }
    }
}

/// How a msghdr's parts are named: one `msg`, or the entries of `msgvec`.
struct MsgNames {
    name: &'static str,
    iov: &'static str,
    element: &'static str,
    control: &'static str,
}

const MSG: MsgNames =
    MsgNames { name: "msg->msg_name", iov: "msg->msg_iov", element: "msg->msg_iov[#]", control: "msg->msg_control" };

const MMSG: MsgNames = MsgNames {
    name: "msgvec[#].msg_hdr.msg_name",
    iov: "msgvec[#].msg_hdr.msg_iov",
    element: "msgvec[#].msg_hdr.msg_iov[#]",
    control: "msgvec[#].msg_hdr.msg_control",
};

/// The buffers a msghdr names (entry `i` of `base`): its address, its
/// iovecs, its control data, which the kernel reads (send) or fills (recv).
fn message(call: &str, base: Param, names: &MsgNames, i: usize, h: &libc::msghdr, dir: Dir) {
    if (!h.msg_name.is_null() && (h.msg_namelen as i32) < 0) || h.msg_iovlen > MAX_IOV {
        return; // EINVAL, EMSGSIZE: nothing is transferred
    }
    if !h.msg_name.is_null() {
        let len = (h.msg_namelen as usize).min(MAX_SOCKADDR);
        buffer(call, &base.part(names.name, i), h.msg_name as usize, len, dir);
    }
    iovecs(call, &base.part(names.iov, i), names.element, h.msg_iov as usize, h.msg_iovlen, dir, MAX_RW);
    if !h.msg_control.is_null() {
        let len = h.msg_controllen.min(i32::MAX as usize);
        buffer(call, &base.part(names.control, i), h.msg_control as usize, len, dir);
    }
}

/// `sendmsg`/`recvmsg`'s msghdr at `msg` and its buffers. The kernel reads
/// the header (and writes some of it back for recvmsg: `header`).
// Out of line: the exports' own frames stay empty, for their tail jump.
#[inline(never)]
pub fn msghdr(call: &str, msg: usize, header: Dir, dir: Dir) {
    let base = Param::new("msg");
    if let Some(h) = user_array::<libc::msghdr>(call, &base, msg, 1, header) {
        message(call, base, &MSG, 0, &h.get(0), dir);
    }
}

/// `sendmmsg`/`recvmmsg`'s `vlen` mmsghdrs at `vec` (the kernel writes
/// their `msg_len` back) and their buffers.
// Out of line: the exports' own frames stay empty, for their tail jump.
#[inline(never)]
pub fn mmsghdrs(call: &str, vec: usize, vlen: usize, dir: Dir) {
    let base = Param::new("msgvec");
    let n = vlen.min(MAX_IOV);
    if let Some(m) = user_array::<libc::mmsghdr>(call, &base, vec, n, Dir::Write) {
        for i in 0..n {
            message(call, base, &MMSG, i, &m.get(i).msg_hdr, dir);
        }
    }
}

/// A `socklen_t *` the kernel reads and writes back (`lenp`, when not null)
/// and the buffer of that many bytes it fills (`buf`, when not null), at
/// most `cap` of them.
// Out of line: the exports' own frames stay empty, for their tail jump.
#[inline(never)]
pub fn sized(call: &str, buf_param: &Param, buf: usize, len_param: &Param, lenp: usize, cap: usize) {
    if lenp == 0 {
        return;
    }
    let Some(len) = user_array::<libc::socklen_t>(call, len_param, lenp, 1, Dir::Write) else { return };
    let n = len.get(0);
    if buf != 0 && (n as i32) >= 0 {
        buffer(call, buf_param, buf, (n as usize).min(cap), Dir::Write);
    }
}

/// An address and its `socklen_t *` length (recvfrom, accept): the kernel
/// writes at most a `sockaddr_storage`.
pub fn sockaddr_out(call: &str, addr: usize, lenp: usize) {
    if addr != 0 {
        const ADDR: Param = Param::new("addr");
        const ADDRLEN: Param = Param::new("addrlen");
        sized(call, &ADDR, addr, &ADDRLEN, lenp, MAX_SOCKADDR);
    }
}

/// An address the kernel reads (sendto): `len` bytes, at most a
/// `sockaddr_storage` (more is EINVAL).
pub fn sockaddr_in(call: &str, addr: usize, len: u32) {
    if len as usize <= MAX_SOCKADDR {
        const DEST_ADDR: Param = Param::new("dest_addr");
        buffer(call, &DEST_ADDR, addr, len as usize, Dir::Read);
    }
}

/// select's three fd_sets of `nfds` bits, which the kernel reads and rewrites.
pub fn fd_sets(call: &str, nfds: i32, sets: [usize; 3]) {
    if nfds <= 0 {
        return;
    }
    const NAMES: [Param; 3] = [Param::new("readfds"), Param::new("writefds"), Param::new("exceptfds")];
    let bytes = (nfds as usize).div_ceil(64) * 8;
    for (set, name) in sets.into_iter().zip(&NAMES) {
        if set != 0 {
            buffer(call, name, set, bytes, Dir::Write);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(p: Param) -> String {
        format!("{}", p)
    }

    #[test]
    fn params_name_their_indices() {
        assert_eq!(shown(Param::new("buf")), "buf");
        let msg = Param::new("msg");
        assert_eq!(shown(msg.part("msg->msg_name", 0)), "msg->msg_name");
        let iov = msg.part("msg->msg_iov", 0);
        assert_eq!(shown(iov.part("msg->msg_iov[#]", 3)), "msg->msg_iov[3]");
        let vec = Param::new("msgvec");
        let viov = vec.part("msgvec[#].msg_hdr.msg_iov", 5);
        assert_eq!(shown(viov), "msgvec[5].msg_hdr.msg_iov");
        assert_eq!(shown(viov.part("msgvec[#].msg_hdr.msg_iov[#]", 7)), "msgvec[5].msg_hdr.msg_iov[7]");
        assert_eq!(shown(Param::new("iov").part("iov[#]", 12)), "iov[12]");
    }

    #[test]
    fn read_counts_are_bounded_like_the_kernel() {
        assert_eq!(rw_bytes(0), 0);
        assert_eq!(rw_bytes(200), 200);
        assert_eq!(rw_bytes(usize::MAX), 0);
        assert_eq!(rw_bytes(isize::MAX as usize), MAX_RW);
        assert_eq!(MAX_RW, 0x7fff_f000);
    }
}
