//! Layer 1: the only code that talks to the kernel or to libc.
//!
//! Thin, allocation-free wrappers over the kernel interface, one file per
//! kind of resource. Nothing here takes a lock; callers keep these calls
//! outside the pool lock (docs/ARCHITECTURE.md, invariant 1). Every function
//! preserves `errno` unless it says otherwise: a debugging allocator must not
//! change what the program sees.

pub mod elf;
pub mod env;
pub mod futex;
pub mod io;
pub mod mem;
pub mod next;
pub mod proc;
pub mod process;
pub mod ptrace;
pub mod signal;
pub mod strfns;
pub mod thread;
pub mod tls;
pub mod uffd;

pub use mem::PAGE;
#[cfg(feature = "lockstat_faults")]
pub use process::thread_minor_faults;
pub use process::{abort, exit_now, getpid, keep_errno, now_ns, random_u64, secure_mode, set_errno, yield_now};
