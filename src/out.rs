//! Layer 3: where libpooldbg's text goes. Every line it prints (bug
//! reports, start-up errors, notices) is formatted on the stack and written
//! here with write(2): to stderr, or to the `log_path` file, or to a saved
//! copy of stderr when the program has closed it. No policy: what happens
//! after a report is `diag::report`'s business.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering::*};

use crate::config::options::{Color, PATH_MAX};
use crate::config::state;
use crate::sys::{self, io};
use crate::util::fmt::{Bytes, Line};
use crate::util::global::Global;

/// Where reports go: stderr, or the `log_path` file.
static LOG_FD: AtomicI32 = AtomicI32::new(2);
/// A private copy of the stderr we started with, and its identity, for when
/// the program has closed fd 2 by the time we report (coreutils close stderr
/// in an atexit handler, before the leak check runs).
static SAVED_FD: AtomicI32 = AtomicI32::new(-1);
static SAVED_ID: AtomicU64 = AtomicU64::new(0);

pub type Msg = Line<1024>;

/// `log_path` as given; opened at the first report (with `%p` replaced by
/// the pid of the process reporting), so processes with nothing to report
/// leave no empty files and every process writes its own.
static LOG_PATH: Global<[u8; PATH_MAX]> = Global::new([0; PATH_MAX]);
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
            io::close(fd);
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
    let opened = core::ffi::CStr::from_bytes_until_nul(&path).map_or(-1, io::open_append);
    let new = if opened >= 0 { opened } else { 2 };
    match LOG_FD.compare_exchange(LOG_PENDING, new, AcqRel, Acquire) {
        Ok(_) => {
            if opened < 0 {
                let mut l: Msg = Line::new();
                let _ = l.write_fmt(format_args!(
                    "libpooldbg: WARNING: cannot open log_path '{}'; reporting to stderr\n",
                    Bytes(&path[..n])
                ));
                io::write_all(2, l.as_bytes());
            }
            new
        }
        Err(now) => {
            if opened >= 0 {
                io::close(opened); // another thread opened it first
            }
            now
        }
    }
}

/// Keeps a close-on-exec copy of stderr, numbered high out of the program's way.
pub fn save_stderr() {
    let fd = io::dup_high(2);
    if fd >= 0 {
        SAVED_ID.store(io::file_identity(fd), Relaxed);
        SAVED_FD.store(fd, Relaxed);
    }
}

fn out(bytes: &[u8]) {
    let mut fd = log_fd();
    if fd == 2 && !io::fd_is_open(2) {
        // Use our copy only if it is still the file we saved (the program may
        // have closed it and reused the number for something else).
        let saved = SAVED_FD.load(Relaxed);
        if saved >= 0 && io::file_identity(saved) == SAVED_ID.load(Relaxed) {
            fd = saved;
        }
    }
    io::write_all(fd, bytes);
}

/// The thread (its number + 1) whose output is dropped while it "prints" a
/// suppressed report; 0: nobody's.
static MUTED: AtomicUsize = AtomicUsize::new(0);

/// Drops this thread's lines until `unmute` (a suppressed report).
pub fn mute() {
    MUTED.store(sys::tls::thread_number() as usize + 1, Relaxed);
}

pub fn unmute() {
    MUTED.store(0, Relaxed);
}

/// True while this thread's lines are dropped.
pub fn muted() -> bool {
    let m = MUTED.load(Relaxed);
    m != 0 && m == sys::tls::thread_number() as usize + 1
}

/// With report_format=json: where a reporting thread's lines go instead of
/// the log (diag/json.rs turns them into one object per report). 0: none.
static REPORT_SINK: AtomicUsize = AtomicUsize::new(0);

/// Sends every line of a report to `f` (start-up only).
pub fn set_report_sink(f: fn(&[u8])) {
    REPORT_SINK.store(f as usize, Relaxed);
}

/// Writes bytes to the log as they are (a JSON report object).
pub fn emit(bytes: &[u8]) {
    out(bytes);
}

/// Writes one line of text to the log, bypassing the report sink.
pub fn emit_line(text: &[u8]) {
    let mut l: Msg = Line::new();
    l.push_bytes(text);
    l.push_bytes(b"\n");
    out(l.as_bytes());
}

/// Writes one line (a newline is added).
pub fn line(args: core::fmt::Arguments<'_>) {
    if muted() {
        return;
    }
    let sink = REPORT_SINK.load(Relaxed);
    if sink != 0 && sys::tls::in_report() {
        let mut l: Msg = Line::new();
        let _ = l.write_fmt(args);
        // SAFETY: the value was stored from a `fn(&[u8])` by set_report_sink.
        let f: fn(&[u8]) = unsafe { core::mem::transmute::<usize, fn(&[u8])>(sink) };
        f(l.as_bytes());
        return;
    }
    let mut l: Msg = Line::new();
    let _ = l.write_fmt(args);
    if l.truncated() || l.as_bytes().len() == 1024 {
        l.pop();
    }
    l.push_bytes(b"\n");
    out(l.as_bytes());
}

macro_rules! say {
    ($($t:tt)*) => { $crate::out::line(format_args!($($t)*)) };
}
pub(crate) use say;

/// One report at a time, so two threads' reports never interleave.
static REPORTING: AtomicBool = AtomicBool::new(false);

/// Takes the report token: waits (bounded, about a million yields) for
/// another thread's report to end, then goes on regardless, so a report
/// stuck in a dead thread cannot silence the others.
pub fn take_report_token() {
    let mut spins = 0u32;
    while REPORTING.swap(true, Acquire) && spins < 1_000_000 {
        spins += 1;
        sys::yield_now();
    }
}

pub fn release_report_token() {
    REPORTING.store(false, Release);
}

/// Prints a report's first line, `libpooldbg: ERROR: …`, in bold red when
/// `color` says so (only for a terminal, by default).
pub fn headline(what: core::fmt::Arguments<'_>) {
    if colored() {
        say!("\x1b[1;31mlibpooldbg: ERROR: {}\x1b[0m", what);
    } else {
        say!("libpooldbg: ERROR: {}", what);
    }
}

/// Colour only for a terminal (or when asked): logs and pipes get plain text.
fn colored() -> bool {
    if REPORT_SINK.load(Relaxed) != 0 {
        return false; // JSON reports: the text is data
    }
    match state::options().color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => io::is_terminal(log_fd()),
    }
}
