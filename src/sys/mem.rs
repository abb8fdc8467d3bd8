//! Address space and pages: mmap, mprotect, madvise, mincore, RLIMIT_AS.
//! Every `MADV_` value libpooldbg uses is named here.

use super::process::{errno, keep_errno};

pub const PAGE: usize = 4096;

/// Linux 6.13+: guard markers in the page tables (touching one raises SIGSEGV).
pub const MADV_GUARD_INSTALL: i32 = 102;
pub const MADV_GUARD_REMOVE: i32 = 103;
/// Linux 5.14+: populate (prefault) pages in one call, readable or writable.
pub const MADV_POPULATE_READ: i32 = 22;
pub const MADV_POPULATE_WRITE: i32 = 23;
/// Give pages back to the kernel; private anonymous pages read as zeros after.
pub const MADV_DONTNEED: i32 = libc::MADV_DONTNEED;
/// Leave a range out of core dumps.
pub const MADV_DONTDUMP: i32 = libc::MADV_DONTDUMP;

pub const PROT_NONE: i32 = libc::PROT_NONE;
pub const PROT_RW: i32 = libc::PROT_READ | libc::PROT_WRITE;

fn map(addr: usize, len: usize, prot: i32, fixed: bool) -> Option<usize> {
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | if fixed { libc::MAP_FIXED } else { 0 };
    keep_errno(|| {
        // SAFETY: an anonymous mapping; with MAP_FIXED the callers pass a
        // range inside their own reservation, which it replaces.
        let p = unsafe { libc::mmap(addr as *mut _, len, prot, flags, -1, 0) };
        if p == libc::MAP_FAILED {
            None
        } else {
            Some(p as usize)
        }
    })
}

/// Reserves `len` bytes of inaccessible address space (no memory committed).
/// Returns None if the kernel refuses (RLIMIT_AS, overcommit policy).
pub fn reserve(len: usize) -> Option<usize> {
    map(0, len, PROT_NONE, false)
}

/// Maps `len` bytes of read-write memory (for our own metadata), lazily
/// committed. Returns None on failure.
pub fn map_rw(len: usize) -> Option<usize> {
    map(0, len, PROT_RW, false)
}

/// `map_rw` for our own bookkeeping, left out of core dumps: a core should
/// hold the program's data, and a table sized for the whole address space
/// would make it hundreds of GB (systemd-coredump drops cores over 2 GB).
pub fn map_rw_undumped(len: usize) -> Option<usize> {
    let p = map_rw(len)?;
    let _ = advise(p, len, MADV_DONTDUMP);
    Some(p)
}

/// Maps `len` bytes that read as zeros and can never be written (a source
/// of zeros that costs no memory).
pub fn map_zeros(len: usize) -> Option<usize> {
    map(0, len, libc::PROT_READ, false)
}

pub fn unmap(addr: usize, len: usize) {
    // SAFETY: callers pass a range they mapped and no longer use.
    keep_errno(|| unsafe { libc::munmap(addr as *mut _, len) });
}

/// Replaces `[addr, addr+len)` with fresh inaccessible pages: the old contents go
/// back to the kernel and the range traps, in one call. The range must be ours.
pub fn remap_none(addr: usize, len: usize) -> bool {
    map(addr, len, PROT_NONE, true).is_some()
}

/// mprotect, returning the errno on failure (ENOMEM when the VMA limit is hit).
pub fn protect(addr: usize, len: usize, prot: i32) -> Result<(), i32> {
    keep_errno(|| {
        // SAFETY: the range lies in our own reservation.
        let r = unsafe { libc::mprotect(addr as *mut _, len, prot) };
        if r == 0 {
            Ok(())
        } else {
            Err(errno())
        }
    })
}

/// madvise, returning the errno on failure.
pub fn advise(addr: usize, len: usize, advice: i32) -> Result<(), i32> {
    keep_errno(|| {
        // SAFETY: the range lies in our own mappings (or the caller's
        // library text, for MADV_POPULATE_READ).
        let r = unsafe { libc::madvise(addr as *mut _, len, advice) };
        if r == 0 {
            Ok(())
        } else {
            Err(errno())
        }
    })
}

/// Which pages of `[addr, addr + vec.len() pages)` are resident (bit 0 of
/// each byte). False if the kernel refused (a hole in the range).
pub fn resident(addr: usize, vec: &mut [u8]) -> bool {
    // SAFETY: mincore only reports on our address space into `vec`, which
    // holds one byte per page of the range.
    keep_errno(|| unsafe { libc::mincore(addr as *mut _, vec.len() * PAGE, vec.as_mut_ptr()) } == 0)
}

/// Copies `[addr, addr + buf.len())` of our own memory into `buf` through
/// the kernel (process_vm_readv), so that an unmapped or trapped page
/// (guard, userfaultfd, PROT_NONE) ends the copy instead of faulting.
/// Returns the bytes copied: fewer than asked where such a page begins;
/// None if the kernel refuses the call itself (seccomp, ENOSYS).
pub fn read_own(addr: usize, buf: &mut [u8]) -> Option<usize> {
    let local = libc::iovec { iov_base: buf.as_mut_ptr() as *mut _, iov_len: buf.len() };
    let remote = libc::iovec { iov_base: addr as *mut _, iov_len: buf.len() };
    keep_errno(|| {
        // SAFETY: the kernel writes only into `buf`; the remote range is
        // checked by the kernel, never touched by us.
        let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
        match n {
            n if n >= 0 => Some(n as usize),
            _ if errno() == libc::EFAULT => Some(0),
            _ => None,
        }
    })
}

/// True if the program may read `[addr, addr + len)`: the range lies on the
/// calling thread's stack (`thread::on_own_stack`: free, and where iovecs
/// and msghdrs usually are), or every page of it answers the kernel's own
/// read. The probe is `rt_sigprocmask` with an invalid `how`: the kernel
/// copies the 8-byte set from user memory first (EFAULT if it cannot: an
/// unmapped, PROT_NONE, guard-marked or missing userfaultfd page), then
/// refuses the request (EINVAL), changing nothing. One system call per page,
/// a fraction of what copying through `process_vm_readv` costs.
pub fn readable(addr: usize, len: usize) -> bool {
    if super::thread::on_own_stack(addr, len) {
        return true;
    }
    let Some(end) = addr.checked_add(len) else { return false };
    let mut page = addr & !(PAGE - 1);
    while page < end {
        // The aligned word holding the range's first byte in this page.
        if !kernel_reads(page.max(addr) & !7) {
            return false;
        }
        page += PAGE;
    }
    true
}

/// True if the kernel can read the 8 bytes at `addr` (8-aligned).
fn kernel_reads(addr: usize) -> bool {
    const INVALID_HOW: i32 = 99;
    keep_errno(|| {
        // SAFETY: with an invalid `how` the kernel only reads the set at
        // `addr` (through its fault-safe user copy) and changes nothing.
        let r = unsafe { libc::syscall(libc::SYS_rt_sigprocmask, INVALID_HOW, addr, 0usize, 8usize) };
        r == -1 && errno() == libc::EINVAL
    })
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

/// Copies `src.len()` bytes from `src` into `dst` with one instruction
/// (`rep movsb`) whose fault the fault handler recovers from
/// (`recover_probe`): a page that was given back ends the copy instead of
/// the process. Returns false if the copy faulted. For reading blocks that
/// another thread may free meanwhile, at memory speed (no system call).
///
/// # Safety
/// `dst` is writable for `len` bytes; `src` may be anything.
#[unsafe(naked)]
pub unsafe extern "C" fn probe_copy(dst: *mut u8, src: usize, len: usize) -> bool {
    // The byte offsets below are `PROBE_INSN` and `PROBE_LANDING`.
    core::arch::naked_asm!(
        "mov rcx, rdx", // +0: 48 89 d1
        "mov al, 1",    // +3: b0 01
        "rep movsb",    // +5: f3 a4, the copy that may fault
        "ret",          // +7
        "xor eax, eax", // +8: 31 c0, where a fault lands
        "ret",
    )
}

const PROBE_INSN: usize = 5;
const PROBE_LANDING: usize = 8;

/// In the fault handler: if `pc` is `probe_copy`'s copy, the address to
/// resume at (the copy then returns false).
pub fn recover_probe(pc: usize) -> Option<usize> {
    let base = probe_copy as *const () as usize;
    (pc == base + PROBE_INSN).then_some(base + PROBE_LANDING)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_copies_and_names_its_instruction() {
        let src = [1u8, 2, 3, 4, 5];
        let mut dst = [0u8; 5];
        // SAFETY: both buffers are ours.
        assert!(unsafe { probe_copy(dst.as_mut_ptr(), src.as_ptr() as usize, 5) });
        assert_eq!(dst, src);
        let code = probe_copy as *const () as usize;
        // SAFETY: reading our own code.
        let bytes = unsafe { core::slice::from_raw_parts(code as *const u8, 10) };
        assert_eq!(&bytes[PROBE_INSN..PROBE_INSN + 2], &[0xf3, 0xa4], "rep movsb");
        assert_eq!(&bytes[PROBE_LANDING..PROBE_LANDING + 2], &[0x31, 0xc0], "xor eax, eax");
        assert_eq!(recover_probe(code + PROBE_INSN), Some(code + PROBE_LANDING));
        assert_eq!(recover_probe(code), None);
    }
}
