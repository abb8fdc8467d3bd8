//! Per-thread set-up: every thread that allocates gets a stack of ours,
//! made on its first allocation (outside the pool lock) and released by a
//! thread-specific-key destructor when the thread exits. It is the thread's
//! alternate signal stack unless the thread has one already, so the fault
//! handler (diag/fault.rs) can report a stack overflow into a guard page, or
//! a fault on a thread whose stack is nearly full. A thread with its own
//! alternate stack keeps it — set before its first allocation or after, as
//! Python's faulthandler and Rust's runtime do; we never disable it — and
//! the fault handler then moves to our stack to write a report (theirs may
//! be too small: Rust's is 8 KiB).
//!
//! And thread creation: our pthread_create gives the new thread its number,
//! records who created it and from where (heap/threads.rs), and creates it
//! with the next pthread_create (libc's), starting at `thread_start`, which
//! sets the number and jumps to the program's start routine: that routine
//! returns straight to libc, so its result, pthread_exit and cancellation
//! are libc's business as natively, and no frame of ours shows in stacks.

use core::ffi::c_void;

use crate::heap::{depot, start, threads};
use crate::sys::thread::{self, Key};
use crate::sys::{self, mem, signal, tls};
use crate::util::global::Global;

const ALTSTACK_BYTES: usize = tls::OWN_STACK_BYTES;
static ALTSTACK_KEY: Global<Option<Key>> = Global::new(None);

/// # Safety
/// Constructor only.
pub unsafe fn init_altstacks() {
    *ALTSTACK_KEY.init_mut() = thread::key_create(drop_altstack);
}

/// Gives the calling thread an alternate signal stack if it has none (called
/// on its first allocation; outside the pool lock). A thread that set up its
/// own alternate stack keeps it.
pub fn ensure_altstack() {
    if tls::altstack_state() != 0 {
        return;
    }
    let Some(key) = *ALTSTACK_KEY.get() else { return };
    tls::set_altstack_state(1); // also stops re-entry from pthread_setspecific
    let Some(base) = mem::map_rw(ALTSTACK_BYTES) else { return };
    if !signal::has_altstack() && !signal::set_altstack(base, ALTSTACK_BYTES) {
        mem::unmap(base, ALTSTACK_BYTES);
        return;
    }
    tls::set_own_stack(base);
    thread::set_specific(key, base);
}

extern "C" fn drop_altstack(base: *mut c_void) {
    tls::set_own_stack(0);
    if signal::altstack().is_some_and(|(b, _, _)| b == base as usize) {
        signal::disable_altstack(); // ours; one the program set is its own
    }
    mem::unmap(base as usize, ALTSTACK_BYTES);
    tls::set_altstack_state(2);
}

// ---- thread creation ----

/// pthread_create: the thread is created by the next pthread_create, with
/// its return value and errno. When the thread table has room, it starts at
/// `thread_start` with its number as argument; its start routine and
/// argument wait in the table. Nothing here allocates or takes a lock.
///
/// # Safety
/// The C contract of pthread_create.
pub unsafe fn create(th: *mut libc::pthread_t, attr: *const libc::pthread_attr_t, start: usize, arg: usize) -> i32 {
    let Some(child) = sys::keep_errno(|| prepare(start, arg)) else {
        // SAFETY: the caller's arguments, as given (the C contract).
        return unsafe { thread::create(th, attr, start, arg) };
    };
    // SAFETY: as above; thread_start takes the number and finds the rest.
    let rc = unsafe { thread::create(th, attr, thread_start as *const () as usize, child as usize) };
    if rc != 0 {
        threads::forget(child);
        tls::give_back_thread_number(child);
    }
    rc
}

/// Numbers the thread about to be created and records its creator, the
/// calling stack (from the caller of pthread_create) and its start routine.
/// None when it cannot be recorded (no table, or past it).
fn prepare(start: usize, arg: usize) -> Option<u32> {
    if !start::ensure() || !threads::recording() {
        return None;
    }
    // The creator's number first: it is always below the new thread's.
    let creator = tls::thread_number();
    let child = tls::claim_thread_number(threads::CAPACITY)?;
    threads::record(child, creator, depot::record_caller(), start, arg);
    Some(child)
}

/// What `thread_start` jumps to: the program's start routine and argument
/// (returned in rax and rdx).
#[repr(C)]
struct StartRoutine {
    routine: usize,
    arg: usize,
}

/// The new thread, before the program's code: its number, and its start
/// routine taken from the table.
extern "C" fn enter_thread(number: usize) -> StartRoutine {
    let number = number as u32;
    tls::set_thread_number(number);
    let (routine, arg) = threads::take_start(number);
    StartRoutine { routine, arg }
}

/// The start routine libc calls with the thread's number: `enter_thread`,
/// then a jump (not a call) to the program's routine with its argument, on
/// the stack as libc left it (its return address is libc's).
#[unsafe(naked)]
unsafe extern "C" fn thread_start() {
    core::arch::naked_asm!(
        "sub rsp, 8", // 16-byte aligned for the call (rsp = 8 mod 16 on entry)
        "call {enter}",
        "add rsp, 8",
        "mov rdi, rdx",
        "jmp rax",
        enter = sym enter_thread,
    )
}
