//! userfaultfd in SIGBUS mode (Linux 5.11+; 4.14+ when privileged): the
//! guarded pools' whole address space is registered once for missing-page
//! faults, so a page that was never populated, or was given back with
//! `MADV_DONTNEED`, traps every access from user mode with SIGBUS
//! (`BUS_ADRERR`, exact address). Trapping a freed run is one
//! `MADV_DONTNEED`; opening a run is one `UFFDIO_COPY` from a page of
//! zeros, which also populates it (no prefault needed; a run longer than
//! 256 KiB gets zero-page entries, its first `prefault_kb` populated). No thread serves
//! faults, and no mapping is ever split: a million live blocks in a few
//! dozen memory maps.
//!
//! The registration lives in the userfaultfd, not in the mappings:
//! - a fork child does not inherit it (it would read guard pages as zeros):
//!   the child handler opens a new userfaultfd and registers again;
//! - a program that closes every descriptor drops it: the next `UFFDIO_COPY`
//!   fails with EBADF (or ENOTTY, if the number was reused), and we open and
//!   register a new one then. Pages given back meanwhile are missing again,
//!   so they trap again from then on.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::*};

use super::mechanism::Mechanism;
use crate::config::state;
use crate::heap::lock::{self, HOLDS_FOR_FORK};
use crate::sys::mem::{self, PAGE};
use crate::sys::{self, uffd};

/// Runs up to this size are opened with one `UFFDIO_COPY` from `ZEROS`;
/// longer ones with `UFFDIO_ZEROPAGE`, their first `prefault_kb` populated
/// with `MADV_POPULATE_WRITE`.
const ZEROS_BYTES: usize = 256 * 1024;

static FD: AtomicI32 = AtomicI32::new(-1);
/// The registered range, for registering again.
static START: AtomicUsize = AtomicUsize::new(0);
static LEN: AtomicUsize = AtomicUsize::new(0);
/// A read-only mapping of zeros, the source of `UFFDIO_COPY`.
static ZEROS: AtomicUsize = AtomicUsize::new(0);
/// One thread at a time opens a replacement userfaultfd.
static REOPENING: AtomicBool = AtomicBool::new(false);
/// The process whose address space `FD` registers: a fork child has its
/// parent's until it registers its own.
static REGISTERED_PID: AtomicI32 = AtomicI32::new(0);

pub struct Uffd;

impl Mechanism for Uffd {
    fn name(&self) -> &'static str {
        "uffd"
    }

    fn describe(&self) -> &'static str {
        "userfaultfd (SIGBUS mode)"
    }

    fn requirement(&self) -> &'static str {
        "userfaultfd in SIGBUS mode is not available here (Linux 5.11+, or 4.14+ when privileged or with \
vm.unprivileged_userfaultfd=1; a seccomp profile may refuse it)"
    }

    /// Opens the userfaultfd that `setup` registers.
    fn available(&self) -> bool {
        if FD.load(Relaxed) >= 0 {
            return true;
        }
        match uffd::open() {
            Ok(fd) => {
                FD.store(fd, Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    fn setup(&self, start: usize, len: usize) -> bool {
        let fd = FD.load(Relaxed);
        let Some(zeros) = mem::map_zeros(ZEROS_BYTES) else { return false };
        if fd < 0 || uffd::register(fd, start, len).is_err() {
            mem::unmap(zeros, ZEROS_BYTES);
            return false;
        }
        ZEROS.store(zeros, Relaxed);
        START.store(start, Relaxed);
        LEN.store(len, Relaxed);
        REGISTERED_PID.store(sys::getpid(), Relaxed);
        true
    }

    fn commits(&self) -> bool {
        true
    }

    /// Committed pages are missing, so they trap already.
    fn trap_fresh(&self, _start: usize, _len: usize) -> bool {
        true
    }

    fn open(&self, start: usize, len: usize) -> bool {
        if fill(start, len) {
            return true;
        }
        // Back as it was, so the run traps and a later open finds it missing.
        let _ = mem::advise(start, len, mem::MADV_DONTNEED);
        false
    }

    fn populates(&self) -> bool {
        true
    }

    fn trap(&self, start: usize, len: usize) -> bool {
        mem::advise(start, len, mem::MADV_DONTNEED).is_ok()
    }

    fn costs_maps(&self) -> bool {
        false
    }

    /// The child has the parent's pages but not its registration: register
    /// the same range with a userfaultfd of its own.
    fn after_fork_child(&self) -> bool {
        register_in_child()
    }
}

/// Populates the missing pages of `[start, start + len)` with zeros,
/// writable. Pages already present are kept (a run opened after a report
/// with on_error=continue).
fn fill(start: usize, len: usize) -> bool {
    // Another library's fork-child handler that runs before ours allocates
    // here with the parent's userfaultfd, which would populate the parent's
    // pages: register the child's own first. (The pid is asked for only
    // while a fork is in progress.)
    if lock::held() == HOLDS_FOR_FORK && !register_in_child() {
        return false;
    }
    let zeros = ZEROS.load(Relaxed);
    let mut done = 0;
    let mut retries = 0;
    let mut reopened = false;
    // One page at a time across a mapping boundary: a call must stay inside
    // one mapping (ENOENT), and a fork child's newly committed space does not
    // merge with the mappings it inherited.
    let mut one_page = false;
    while done < len {
        let fd = FD.load(Relaxed);
        let at = start + done;
        let n = if one_page { PAGE } else { len - done };
        let r = if len <= ZEROS_BYTES { uffd::copy(fd, at, zeros, n) } else { uffd::zeropage(fd, at, n) };
        let (err, copied) = match r {
            Ok(()) => {
                done += n;
                one_page = false;
                continue;
            }
            Err(e) => e,
        };
        done += copied;
        match err {
            // Partly done, or the address space was changing: go on.
            libc::EAGAIN if retries < 1000 => retries += 1,
            libc::EEXIST => done += PAGE,
            libc::ENOENT if !one_page => one_page = true,
            // Our descriptor was closed by the program (or its number reused).
            libc::EBADF | libc::ENOTTY | libc::EINVAL if !reopened => {
                reopened = true;
                if !reopen(fd) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    // Zero-page entries read as zeros and take a write like any page, so the
    // tail of a large run costs page tables only until the program touches
    // it; the kernel's own accesses (read(2) into the block) find them
    // present too. The first `prefault_kb` are populated now. Kernels
    // before 5.14 refuse MADV_POPULATE_WRITE: those pages fault in later.
    let prefix = state::options().prefault_bytes().min(len);
    if len > ZEROS_BYTES && prefix > 0 {
        let _ = mem::advise(start, prefix.next_multiple_of(PAGE).min(len), mem::MADV_POPULATE_WRITE);
    }
    true
}

/// In a fork child: registers the child's own userfaultfd unless that was
/// done already (by an earlier fork handler's allocation). The inherited
/// one registers the parent's address space, not ours: it is closed.
fn register_in_child() -> bool {
    if REGISTERED_PID.load(Relaxed) == sys::getpid() {
        return true;
    }
    let inherited = FD.swap(-1, Relaxed);
    if inherited >= 0 {
        uffd::close(inherited);
    }
    reopen(-1)
}

/// Opens and registers a new userfaultfd in place of `failed` (unless
/// another thread already did). False if that is impossible.
fn reopen(failed: i32) -> bool {
    while REOPENING.swap(true, Acquire) {
        sys::yield_now();
    }
    let ok = FD.load(Relaxed) != failed
        || match uffd::open() {
            Ok(fd) if uffd::register(fd, START.load(Relaxed), LEN.load(Relaxed)).is_ok() => {
                FD.store(fd, Relaxed);
                REGISTERED_PID.store(sys::getpid(), Relaxed);
                true
            }
            Ok(fd) => {
                uffd::close(fd);
                false
            }
            Err(_) => false,
        };
    REOPENING.store(false, Release);
    ok
}
