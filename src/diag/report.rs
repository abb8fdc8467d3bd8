//! The life of a bug report: the closed set of bug kinds, one report at a
//! time, and what happens after it (`on_error`). A report is `begin` (the
//! stable first line), detail lines with `say!`, then `finish`.
//! docs/REPORT-FORMAT.md is the grammar of what comes out.

use crate::config::options::OnError;
use crate::config::state;
use crate::out::{self, say};
use crate::sys::{self, io, tls};

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
    out::headline(what);
}

/// True while this thread prints a report (a fault now is in our own code).
pub fn in_report() -> bool {
    tls::in_report()
}

fn end() {
    say!("libpooldbg: end of report (pid {})", sys::getpid());
    tls::set_in_report(false);
    out::release_report_token();
}

/// Ends a report and applies `on_error`. Returns only with `on_error=continue`.
pub fn finish() {
    end();
    match state::options().on_error {
        OnError::Abort => sys::abort(),
        OnError::Exit => sys::exit_now(state::options().exitcode as i32),
        OnError::Continue => {}
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
