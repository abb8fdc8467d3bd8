//! The life of a bug report: the closed set of bug kinds, one report at a
//! time, and what happens after it (`on_error`). A report is `begin` (the
//! stable first line), detail lines with `say!`, then `finish`.
//! docs/REPORT-FORMAT.md is the grammar of what comes out.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering::Relaxed};

use super::{frames, suppress};
use crate::config::options::OnError;
use crate::config::state;
use crate::out::{self, say};
use crate::sys::{self, io, tls};
use crate::util::fmt::Line;

/// Every kind of bug libpooldbg reports, by its name in the first line.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Bug {
    /// An access beyond a block's end (a guard page, or its tail canary at free).
    HeapBufferOverflow,
    /// An access before a block's start (or its head canary at free).
    HeapBufferUnderflow,
    /// An access to a freed block.
    HeapUseAfterFree,
    /// A fault in our heap near no block.
    HeapWildAccess,
    DoubleFree,
    /// A pointer that is no block's start (or outside our heap).
    InvalidFree,
    /// A pointer inside a live block, not at its start.
    InteriorPointerFree,
    /// The owner link before a block was overwritten.
    CorruptedOwnerLink,
    /// malloc/free, new/delete and new[]/delete[] mixed.
    AllocDeallocMismatch,
    /// Sized delete with a size the block was not allocated with.
    NewDeleteSizeMismatch,
}

impl Bug {
    pub fn name(self) -> &'static str {
        match self {
            Bug::HeapBufferOverflow => "heap-buffer-overflow",
            Bug::HeapBufferUnderflow => "heap-buffer-underflow",
            Bug::HeapUseAfterFree => "heap-use-after-free",
            Bug::HeapWildAccess => "heap-wild-access",
            Bug::DoubleFree => "double-free",
            Bug::InvalidFree => "invalid-free",
            Bug::InteriorPointerFree => "interior-pointer-free",
            Bug::CorruptedOwnerLink => "corrupted-owner-link",
            Bug::AllocDeallocMismatch => "alloc-dealloc-mismatch",
            Bug::NewDeleteSizeMismatch => "new-delete-type-mismatch",
        }
    }
}

/// Starts a report about a pointer handed to `func`: `KIND on FUNC(0xADDR)`.
pub fn begin(kind: Bug, func: &str, addr: usize) {
    begin_raw(format_args!("{} on {}({:#x})", kind.name(), func, addr));
}

/// Starts a report: takes the report token and prints the first line.
pub fn begin_raw(what: core::fmt::Arguments<'_>) {
    // Another thread's report in progress: wait for it (bounded), then go on.
    out::take_report_token();
    tls::set_in_report(true);
    let mut first: Line<64> = Line::new();
    let _ = core::fmt::Write::write_fmt(&mut first, what);
    let word = first.as_bytes().split(|&c| c == b' ').next().unwrap_or(&[]);
    let kind = SUMMARY_KINDS.iter().position(|k| k.as_bytes() == word);
    KIND.store(kind.unwrap_or(usize::MAX), Relaxed);
    frames::summary_reset();
    if let Some(entry) = kind.and_then(|k| suppress::matching_here(SUMMARY_KINDS[k])) {
        suppress::count_report(entry);
        out::mute();
    }
    out::headline(what);
}

/// True if a report of `kind` made here would be suppressed: the fault
/// handler asks before it reports, since a suppressed fault must go on.
pub fn suppressed_here(kind: &str) -> bool {
    suppress::matching_here(kind).is_some()
}

/// The kinds whose reports end with a SUMMARY line naming the first frame
/// in the program's code (the leak report has its own).
const SUMMARY_KINDS: [&str; 13] = suppress::BUG_KINDS;
/// The current report's kind in `SUMMARY_KINDS` (usize::MAX: none).
static KIND: AtomicUsize = AtomicUsize::new(usize::MAX);

/// True while this thread prints a report (a fault now is in our own code).
pub fn in_report() -> bool {
    tls::in_report()
}

fn end() {
    let kind = SUMMARY_KINDS.get(KIND.swap(usize::MAX, Relaxed));
    if let Some(kind) = kind {
        frames::print_summary(kind);
    }
    say!("libpooldbg: end of report (pid {})", sys::getpid());
    if let Some(kind) = kind.filter(|_| state::options().print_suppressions) {
        frames::print_suppression(kind);
    }
    out::unmute();
    tls::set_in_report(false);
    out::release_report_token();
}

/// Reports after which the program went on (on_error=continue, the heap
/// check): at exit, a program that would exit 0 exits `error_exitcode`.
static CONTINUED: AtomicU32 = AtomicU32::new(0);
/// The status the program passed to exit() (or returned from main), seen
/// by our on_exit handler; -1 until then.
static EXIT_STATUS: AtomicI32 = AtomicI32::new(-1);
/// The destructor's checks at exit (heap check, leak check) are done.
static CHECKS_DONE: AtomicBool = AtomicBool::new(false);

/// Ends a report and applies `on_error`. Returns only with `on_error=continue`,
/// or when the report was suppressed (it printed nothing; the program goes on).
pub fn finish() {
    if out::muted() {
        end();
        return;
    }
    end();
    match state::options().on_error {
        OnError::Abort => sys::abort(),
        OnError::Exit => sys::exit_now(state::options().exitcode as i32),
        OnError::Continue => {
            CONTINUED.fetch_add(1, Relaxed);
        }
    }
}

/// A report the program goes on after, whatever `on_error` says (a damaged
/// live block the heap check found): it counts for the exit status.
pub fn finish_and_go_on() {
    let counts = !out::muted();
    end();
    if counts {
        CONTINUED.fetch_add(1, Relaxed);
    }
}

/// Our on_exit handler: remembers the status, and decides if the checks at
/// exit are done already (which of the two runs first inside exit() depends
/// on the order they were registered in).
pub extern "C" fn note_exit_status(status: i32, _: *mut core::ffi::c_void) {
    EXIT_STATUS.store(status, Relaxed);
    if CHECKS_DONE.load(Relaxed) {
        decide_exit_status(status);
    }
}

/// The checks at exit are done (the destructor's end): decide now if the
/// exit status is known already, else our on_exit handler will.
pub fn exit_status_after_reports() {
    CHECKS_DONE.store(true, Relaxed);
    match EXIT_STATUS.load(Relaxed) {
        -1 => {}
        status => decide_exit_status(status),
    }
}

/// A program that printed reports and went on, and then exits 0, exits
/// `error_exitcode` instead (a status the program chose itself is kept), so
/// that scripts and CI see the bugs.
fn decide_exit_status(status: i32) {
    if CONTINUED.load(Relaxed) > 0 && status == 0 {
        io::flush_stdio();
        sys::exit_now(state::options().error_exitcode as i32);
    }
}

/// Ends a report the program asked for (pooldbg_check_leaks): no on_error action.
pub fn end_without_stopping() {
    end();
}

/// Ends a leak report: exit with `exitcode`, unless on_error=continue.
pub fn finish_leaks() {
    end();
    if state::options().on_error != OnError::Continue {
        exit_with_code();
    }
}

/// From inside exit(), after reports found at exit: `_exit(exitcode)`.
pub fn exit_with_code() {
    // We run before stdio's final flush: flush now, or the program's
    // buffered output would be lost with _exit.
    io::flush_stdio();
    sys::exit_now(state::options().exitcode as i32);
}
