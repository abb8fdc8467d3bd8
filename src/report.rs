//! Every message libpooldbg prints goes through here: bug reports, start-up
//! errors, notices. One fatal path: format on the stack, write(2), then do
//! what `on_error` says. First lines are stable and machine-matchable:
//! `libpooldbg: ERROR: <kind> on <function>(0x<addr>)`.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering::*};

use crate::fmt::{Bytes, Line};
use crate::init;
use crate::options::{OnError, ParseError, PATH_MAX, TABLE};
use crate::sys;

/// Where reports go: stderr, or the `log_path` file.
static LOG_FD: AtomicI32 = AtomicI32::new(2);
/// A private copy of the stderr we started with, and its identity, for when
/// the program has closed fd 2 by the time we report (coreutils close stderr
/// in an atexit handler, before the leak check runs).
static SAVED_FD: AtomicI32 = AtomicI32::new(-1);
static SAVED_ID: AtomicU64 = AtomicU64::new(0);
/// One report at a time, so two threads' reports never interleave.
static REPORTING: AtomicBool = AtomicBool::new(false);

pub type Msg = Line<1024>;

/// `log_path` as given; opened at the first report (with `%p` replaced by
/// the pid of the process reporting), so processes with nothing to report
/// leave no empty files and every process writes its own.
static LOG_PATH: crate::global::Global<[u8; PATH_MAX]> = crate::global::Global::new([0; PATH_MAX]);
static LOG_PATH_LEN: AtomicUsize = AtomicUsize::new(0);
const LOG_PENDING: i32 = -2;

/// Init only (the constructor's single thread).
pub fn set_log_path(path: &[u8]) {
    // SAFETY: called once during initialisation, before any report.
    let buf = unsafe { LOG_PATH.init_mut() };
    let n = path.len().min(PATH_MAX);
    buf[..n].copy_from_slice(&path[..n]);
    LOG_PATH_LEN.store(n, Relaxed);
    LOG_FD.store(LOG_PENDING, Release);
}

/// In a fork child: its reports go to its own file.
pub fn after_fork_child() {
    if LOG_PATH_LEN.load(Relaxed) != 0 {
        let fd = LOG_FD.swap(LOG_PENDING, AcqRel);
        if fd > 2 {
            sys::close(fd);
        }
    }
}

/// `log_path` with `%p` replaced by the pid, NUL-terminated.
fn expand_log_path(out: &mut [u8; PATH_MAX + 16]) -> usize {
    let path = &LOG_PATH.get()[..LOG_PATH_LEN.load(Relaxed)];
    let mut n = 0;
    let mut i = 0;
    while i < path.len() && n < out.len() - 12 {
        if path[i] == b'%' && path.get(i + 1) == Some(&b'p') {
            let mut pid: Line<12> = Line::new();
            let _ = pid.write_fmt(format_args!("{}", sys::getpid()));
            out[n..n + pid.as_bytes().len()].copy_from_slice(pid.as_bytes());
            n += pid.as_bytes().len();
            i += 2;
        } else {
            out[n] = path[i];
            n += 1;
            i += 1;
        }
    }
    out[n] = 0;
    n
}

/// The report descriptor: opens the log file on first use; falls back to
/// stderr (with one warning) if it cannot be opened.
fn log_fd() -> i32 {
    let fd = LOG_FD.load(Acquire);
    if fd != LOG_PENDING {
        return fd;
    }
    let mut path = [0u8; PATH_MAX + 16];
    let n = expand_log_path(&mut path);
    let opened = core::ffi::CStr::from_bytes_until_nul(&path).map_or(-1, sys::open_append);
    let new = if opened >= 0 { opened } else { 2 };
    match LOG_FD.compare_exchange(LOG_PENDING, new, AcqRel, Acquire) {
        Ok(_) => {
            if opened < 0 {
                let mut l: Msg = Line::new();
                let _ = l.write_fmt(format_args!(
                    "libpooldbg: WARNING: cannot open log_path '{}'; reporting to stderr\n",
                    Bytes(&path[..n])
                ));
                sys::write_all(2, l.as_bytes());
            }
            new
        }
        Err(now) => {
            if opened >= 0 {
                sys::close(opened); // another thread opened it first
            }
            now
        }
    }
}

/// Keeps a close-on-exec copy of stderr, numbered high out of the program's way.
pub fn save_stderr() {
    let fd = sys::dup_high(2);
    if fd >= 0 {
        SAVED_ID.store(sys::file_identity(fd), Relaxed);
        SAVED_FD.store(fd, Relaxed);
    }
}

fn out(bytes: &[u8]) {
    let mut fd = log_fd();
    if fd == 2 && !sys::fd_is_open(2) {
        // Use our copy only if it is still the file we saved (the program may
        // have closed it and reused the number for something else).
        let saved = SAVED_FD.load(Relaxed);
        if saved >= 0 && sys::file_identity(saved) == SAVED_ID.load(Relaxed) {
            fd = saved;
        }
    }
    sys::write_all(fd, bytes);
}

/// Writes one line (a newline is added).
pub fn line(args: core::fmt::Arguments<'_>) {
    let mut l: Msg = Line::new();
    let _ = l.write_fmt(args);
    if l.truncated() || l.as_bytes().len() == 1024 {
        l.pop();
    }
    l.push_bytes(b"\n");
    out(l.as_bytes());
}

macro_rules! say {
    ($($t:tt)*) => { $crate::report::line(format_args!($($t)*)) };
}
pub(crate) use say;

/// The bug kinds found on a pointer handed to free/realloc/delete/usable_size.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BadPointer {
    DoubleFree,
    InvalidFree,
    InteriorPointerFree,
    CorruptedOwnerLink,
    HeapBufferOverflow,
    HeapBufferUnderflow,
    AllocDeallocMismatch,
    NewDeleteSizeMismatch,
}

impl BadPointer {
    pub fn name(self) -> &'static str {
        match self {
            BadPointer::DoubleFree => "double-free",
            BadPointer::InvalidFree => "invalid-free",
            BadPointer::InteriorPointerFree => "interior-pointer-free",
            BadPointer::CorruptedOwnerLink => "corrupted-owner-link",
            BadPointer::HeapBufferOverflow => "heap-buffer-overflow",
            BadPointer::HeapBufferUnderflow => "heap-buffer-underflow",
            BadPointer::AllocDeallocMismatch => "alloc-dealloc-mismatch",
            BadPointer::NewDeleteSizeMismatch => "new-delete-type-mismatch",
        }
    }
}

/// Starts a report: takes the report token and prints the first line.
/// Detail lines follow with `say!`, then `finish()`.
pub fn begin(kind: BadPointer, func: &str, addr: usize) {
    begin_raw(format_args!("{} on {}({:#x})", kind.name(), func, addr));
}

pub fn begin_raw(what: core::fmt::Arguments<'_>) {
    // Another thread's report in progress: wait for it (bounded), then go on.
    let mut spins = 0u32;
    while REPORTING.swap(true, Acquire) && spins < 1_000_000 {
        spins += 1;
        sys::yield_now();
    }
    crate::tls::set_in_report(true);
    if colored() {
        say!("\x1b[1;31mlibpooldbg: ERROR: {}\x1b[0m", what);
    } else {
        say!("libpooldbg: ERROR: {}", what);
    }
}

/// Colour only for a terminal (or when asked): logs and pipes get plain text.
fn colored() -> bool {
    match init::options().color {
        crate::options::Color::Always => true,
        crate::options::Color::Never => false,
        crate::options::Color::Auto => sys::is_terminal(log_fd()),
    }
}

/// True while this thread prints a report (a fault now is in our own code).
pub fn in_report() -> bool {
    crate::tls::in_report()
}

/// Ends a report and applies `on_error`. Returns only with `on_error=continue`.
pub fn finish() {
    say!("libpooldbg: end of report (pid {})", sys::getpid());
    crate::tls::set_in_report(false);
    REPORTING.store(false, Release);
    match init::options().on_error {
        OnError::Abort => sys::abort(),
        OnError::Exit => sys::exit_now(init::options().exitcode as i32),
        OnError::Continue => {}
    }
}

/// Ends a report the program asked for (pooldbg_check_leaks): no on_error action.
pub fn end_without_stopping() {
    say!("libpooldbg: end of report (pid {})", sys::getpid());
    crate::tls::set_in_report(false);
    REPORTING.store(false, Release);
}

/// Ends a leak report: exit with `exitcode`, unless on_error=continue.
pub fn finish_leaks() {
    say!("libpooldbg: end of report (pid {})", sys::getpid());
    crate::tls::set_in_report(false);
    REPORTING.store(false, Release);
    if init::options().on_error != OnError::Continue {
        // We run inside exit(), before stdio's final flush: flush now, or
        // the program's buffered output would be lost with _exit.
        // SAFETY: fflush(NULL) flushes every open stream.
        unsafe { libc::fflush(core::ptr::null_mut()) };
        sys::exit_now(init::options().exitcode as i32);
    }
}

/// A signal handler called the allocator while this thread held the pool lock.
pub fn reentrant_lock() -> ! {
    begin_raw(format_args!("allocator re-entered while holding one of its locks"));
    say!("  a signal handler called malloc/free while this thread was inside the allocator;");
    say!("  malloc and free are not async-signal-safe (signal-safety(7)). Stopping instead of deadlocking.");
    REPORTING.store(false, Release);
    sys::abort()
}

/// Start-up error for `POOLDBG_OPTIONS`: one line, exit status 1.
pub fn bad_options(e: &ParseError<'_>) -> ! {
    match e {
        ParseError::UnknownKey(k) => say!(
            "libpooldbg: ERROR: POOLDBG_OPTIONS: unknown option '{}' (POOLDBG_OPTIONS=help=1 lists them)",
            Bytes(k)
        ),
        ParseError::BadValue { row, value } => say!(
            "libpooldbg: ERROR: POOLDBG_OPTIONS: bad value '{}' for option '{}': accepted: {}",
            Bytes(value),
            TABLE[*row].name,
            TABLE[*row].accepts
        ),
        ParseError::MissingValue(k) => say!(
            "libpooldbg: ERROR: POOLDBG_OPTIONS: '{}' has no value (expected key=value)",
            Bytes(k)
        ),
    }
    sys::exit_now(1)
}

/// Start-up error unrelated to options: one line, exit status 1.
pub fn fatal_startup(what: core::fmt::Arguments<'_>) -> ! {
    say!("libpooldbg: ERROR: {}", what);
    sys::exit_now(1)
}

pub fn print_help() {
    say!("libpooldbg options (POOLDBG_OPTIONS=\"key=value:key=value\"):");
    for row in TABLE {
        say!("  {:<17} {:<28} default {:<10} {}", row.name, row.accepts, row.default, row.help);
    }
}
