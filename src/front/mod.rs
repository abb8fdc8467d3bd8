//! Layer 6: the front end. The exported symbols (exports, and the C++
//! operators' C half in cxx.c; the libc calls that hand a buffer to the
//! kernel in syscalls), the allocation and free paths that serve
//! them, glibc's ways to set a SIGSEGV/SIGBUS action (signals), the
//! per-thread slot cache, and per-thread set-up.

pub mod alloc;
pub mod cache;
pub mod exports;
pub mod free;
pub mod signals;
pub mod syscalls;
pub mod thread;
