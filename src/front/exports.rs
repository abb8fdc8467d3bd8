//! Every symbol libpooldbg exports, in one place. Each is a thin shim: check
//! the arguments (pure functions below), call the allocation or free path
//! (or, for the functions that set a signal's action, front/signals.rs),
//! set errno as glibc does, return. `#[cfg_attr(not(test), no_mangle)]`
//! keeps `cargo test` binaries from interposing their own allocator.

// The C++ operators are defined under their mangled names.
#![allow(non_snake_case)]

use core::ffi::c_void;

use super::alloc;
use super::free::{self, FreeKind};
use super::signals;
use crate::config::state;
use crate::diag::heapcheck::{self, When};
use crate::diag::{describe, leaks, report, stats};
use crate::heap::layout::{MIN_ALIGN, PLAIN};
use crate::heap::slot::AllocKind;
use crate::out::say;
use crate::sys::{self, PAGE};

type Ptr = *mut c_void;

// ---- argument checks: pure, return None when the request is impossible ----

/// `nmemb * size`, or None on overflow.
pub fn array_bytes(nmemb: usize, size: usize) -> Option<usize> {
    nmemb.checked_mul(size)
}

/// posix_memalign's rule: a power of two and a multiple of sizeof(void *).
pub fn posix_alignment_ok(align: usize) -> bool {
    align.is_power_of_two() && align.is_multiple_of(core::mem::size_of::<usize>())
}

/// memalign's rule (glibc): any alignment; non-powers of two round up to
/// the next power of two; absurd alignments fail.
pub fn memalign_alignment(align: usize) -> Option<usize> {
    if align > usize::MAX / 2 + 1 {
        return None;
    }
    Some(align.max(MIN_ALIGN).next_power_of_two())
}

/// pvalloc's size: rounded up to whole pages, at least one page.
pub fn pvalloc_bytes(size: usize) -> Option<usize> {
    Some(size.checked_next_multiple_of(PAGE)?.max(PAGE))
}

fn aligned(size: usize, align: usize, kind: AllocKind) -> Ptr {
    alloc::allocate(size, align.max(MIN_ALIGN), kind) as Ptr
}

// ---- the C allocator ----
//
// malloc, posix_memalign and aligned_alloc, the calls an operator new is
// built on, are naked trampolines passing their return address on to the
// body as one more argument (`caller`; alloc.rs `allocate_from`). Other
// entries pass 0.

#[cfg(not(test))]
mod caller_trampolines {
    /// `$name(args…)` jumps to `$body(args…, return address)`: the return
    /// address goes in the first argument register the C signature leaves free.
    macro_rules! with_caller {
        ($name:ident => $body:path, $reg:literal) => {
            #[unsafe(naked)]
            #[no_mangle]
            pub unsafe extern "C" fn $name() {
                core::arch::naked_asm!(concat!("mov ", $reg, ", [rsp]"), "jmp {}", sym $body)
            }
        };
    }
    with_caller!(malloc => super::malloc_from, "rsi");
    with_caller!(aligned_alloc => super::aligned_alloc_from, "rdx");
    with_caller!(posix_memalign => super::posix_memalign_from, "rcx");
}

/// malloc(size), called by `caller`.
pub extern "C" fn malloc_from(size: usize, caller: usize) -> Ptr {
    alloc::allocate_from(size, PLAIN, AllocKind::Malloc, caller) as Ptr
}

/// Preserves errno (glibc does since 2.33; programs rely on it).
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn free(p: Ptr) {
    sys::keep_errno(|| free::release(p as usize, FreeKind::Free, None))
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn cfree(p: Ptr) {
    free(p)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn calloc(nmemb: usize, size: usize) -> Ptr {
    match array_bytes(nmemb, size) {
        Some(n) => alloc::allocate_zeroed(n) as Ptr,
        None => enomem(),
    }
}

/// glibc: realloc(NULL, n) is malloc(n); realloc(p, 0) frees p and returns NULL.
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn realloc(p: Ptr, size: usize) -> Ptr {
    if p.is_null() {
        return malloc_from(size, 0);
    }
    if size == 0 {
        sys::keep_errno(|| free::release(p as usize, FreeKind::Realloc, None));
        return core::ptr::null_mut();
    }
    free::reallocate(p as usize, size) as Ptr
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn reallocarray(p: Ptr, nmemb: usize, size: usize) -> Ptr {
    match array_bytes(nmemb, size) {
        Some(n) => realloc(p, n),
        None => enomem(),
    }
}

/// posix_memalign, called by `caller`. On failure returns the error and
/// leaves both *memptr and errno untouched.
///
/// # Safety
/// `memptr` must be valid for a pointer-sized write (the C contract).
pub unsafe extern "C" fn posix_memalign_from(memptr: *mut Ptr, align: usize, size: usize, caller: usize) -> i32 {
    if !posix_alignment_ok(align) {
        return libc::EINVAL;
    }
    let p = sys::keep_errno(|| alloc::allocate_from(size, align.max(MIN_ALIGN), AllocKind::Malloc, caller) as Ptr);
    if p.is_null() {
        return libc::ENOMEM;
    }
    // SAFETY: the caller passes a valid out-pointer (the C contract).
    unsafe { *memptr = p };
    0
}

/// aligned_alloc, called by `caller`. C11: the alignment must be a power of
/// two (glibc 2.38 rule), else EINVAL.
pub extern "C" fn aligned_alloc_from(align: usize, size: usize, caller: usize) -> Ptr {
    if !align.is_power_of_two() {
        sys::set_errno(libc::EINVAL);
        return core::ptr::null_mut();
    }
    alloc::allocate_from(size, align.max(MIN_ALIGN), AllocKind::Malloc, caller) as Ptr
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn memalign(align: usize, size: usize) -> Ptr {
    match memalign_alignment(align) {
        Some(a) => aligned(size, a, AllocKind::Malloc),
        None => {
            sys::set_errno(libc::EINVAL);
            core::ptr::null_mut()
        }
    }
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn valloc(size: usize) -> Ptr {
    aligned(size, PAGE, AllocKind::Malloc)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn pvalloc(size: usize) -> Ptr {
    match pvalloc_bytes(size) {
        Some(n) => aligned(n, PAGE, AllocKind::Malloc),
        None => enomem(),
    }
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn malloc_usable_size(p: Ptr) -> usize {
    free::usable_size(p as usize)
}

fn enomem() -> Ptr {
    sys::set_errno(libc::ENOMEM);
    core::ptr::null_mut()
}

// glibc-internal names a glibc program (or glibc itself) may reach.

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn __libc_malloc(size: usize) -> Ptr {
    malloc_from(size, 0)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn __libc_free(p: Ptr) {
    free(p)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn __libc_calloc(nmemb: usize, size: usize) -> Ptr {
    calloc(nmemb, size)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn __libc_realloc(p: Ptr, size: usize) -> Ptr {
    realloc(p, size)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn __libc_memalign(align: usize, size: usize) -> Ptr {
    memalign(align, size)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn __libc_valloc(size: usize) -> Ptr {
    valloc(size)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn __libc_pvalloc(size: usize) -> Ptr {
    pvalloc(size)
}

/// # Safety
/// As `posix_memalign`.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn __posix_memalign(memptr: *mut Ptr, align: usize, size: usize) -> i32 {
    posix_memalign_from(memptr, align, size, 0)
}

// ---- threads ----

/// Creates the thread with the next pthread_create (libc's) after recording
/// who created it and from where, for reports (front/thread.rs).
///
/// # Safety
/// The C contract of pthread_create.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn pthread_create(
    thread: *mut libc::pthread_t,
    attr: *const libc::pthread_attr_t,
    start: usize,
    arg: usize,
) -> i32 {
    // SAFETY: the caller's arguments (the C contract).
    unsafe { super::thread::create(thread, attr, start, arg) }
}

// ---- glibc's heap introspection, answered with our own figures (left to
// glibc, they would describe its idle arenas: zeros) ----

/// mallinfo(3)'s fields, `int` or `size_t` (mallinfo2) wide.
#[repr(C)]
pub struct MallInfo<T> {
    arena: T,
    ordblks: T,
    smblks: T,
    hblks: T,
    hblkhd: T,
    usmblks: T,
    fsmblks: T,
    uordblks: T,
    fordblks: T,
    keepcost: T,
}

/// Our heap in mallinfo's terms: `arena` is what the live blocks hold (their
/// pages), `uordblks` their bytes, `ordblks` the freed blocks waiting in the
/// quarantine; they hold no memory (`fordblks` 0), and nothing is mmapped
/// apart (`hblks` 0).
fn mallinfo_of<T: Default>(conv: impl Fn(u64) -> T) -> MallInfo<T> {
    let t = stats::totals();
    MallInfo {
        arena: conv(t.footprint),
        ordblks: conv(t.quarantined),
        uordblks: conv(t.live_bytes),
        smblks: T::default(),
        hblks: T::default(),
        hblkhd: T::default(),
        usmblks: T::default(),
        fsmblks: T::default(),
        fordblks: T::default(),
        keepcost: T::default(),
    }
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn mallinfo() -> MallInfo<i32> {
    sys::keep_errno(|| mallinfo_of(|v| v.min(i32::MAX as u64) as i32))
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn mallinfo2() -> MallInfo<usize> {
    sys::keep_errno(|| mallinfo_of(|v| v as usize))
}

/// glibc's lines on stderr: system bytes (what live blocks hold) and bytes in use.
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn malloc_stats() {
    sys::keep_errno(stats::print_malloc_stats)
}

/// XML in glibc's shape on `fp`. `options` must be 0: glibc returns EINVAL
/// (the value, errno untouched) otherwise, and so do we.
///
/// # Safety
/// `fp` is a valid `FILE *` (the C contract).
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn malloc_info(options: i32, fp: *mut libc::FILE) -> i32 {
    if options != 0 {
        return libc::EINVAL;
    }
    // SAFETY: the caller's FILE (the C contract).
    if stats::malloc_info_xml(&mut |b| unsafe { sys::io::fwrite(fp, b) }) {
        0
    } else {
        -1
    }
}

/// Every tunable is accepted and has no effect: placement, quarantine and
/// trapping are libpooldbg's options (POOLDBG_OPTIONS). 1 is success.
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn mallopt(_param: i32, _value: i32) -> i32 {
    1
}

/// Freed blocks' pages are given back to the kernel at free: nothing is
/// left to trim (0: no memory released now).
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn malloc_trim(_pad: usize) -> i32 {
    0
}

// ---- libpooldbg's own API (include/pooldbg.h declares it weak: call it
// from a program, or from gdb with `call pooldbg_print_stats()`) ----

/// The version and commit, in the library's data where `pooldbg --version`
/// finds it without loading the library.
#[used]
static VERSION_MARK: &[u8] = VERSION.as_bytes();
const VERSION: &str =
    concat!("libpooldbg-version: ", env!("CARGO_PKG_VERSION"), " (commit ", env!("POOLDBG_COMMIT"), ")\0");

/// "0.1.0 (commit 0123456789ab)", NUL-terminated.
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn pooldbg_version() -> *const core::ffi::c_char {
    VERSION["libpooldbg-version: ".len()..].as_ptr() as *const core::ffi::c_char
}

/// Prints what libpooldbg knows of `addr`: the block it lies in or near (its
/// size, pool and state), its free and allocation stacks; or that it is not
/// in the heap. For programs and for gdb: `call pooldbg_describe_address(p)`.
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn pooldbg_describe_address(addr: *const core::ffi::c_void) {
    if !state::ready() {
        return;
    }
    sys::keep_errno(|| describe::on_request(addr as usize));
}

// ---- setting a signal's action (front/signals.rs): SIGSEGV and SIGBUS
// are recorded behind our fault handler, every other signal goes to glibc ----

/// # Safety
/// As sigaction(2): `act` and `old` are null or valid.
#[cfg_attr(not(test), no_mangle)]
pub unsafe extern "C" fn sigaction(sig: i32, act: *const libc::sigaction, old: *mut libc::sigaction) -> i32 {
    signals::sigaction(sig, act, old)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn signal(sig: i32, handler: usize) -> usize {
    signals::bsd_signal(sig, handler)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn bsd_signal(sig: i32, handler: usize) -> usize {
    signals::bsd_signal(sig, handler)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn ssignal(sig: i32, handler: usize) -> usize {
    signals::bsd_signal(sig, handler)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn sysv_signal(sig: i32, handler: usize) -> usize {
    signals::sysv_signal(sig, handler)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn __sysv_signal(sig: i32, handler: usize) -> usize {
    signals::sysv_signal(sig, handler)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn sigset(sig: i32, handler: usize) -> usize {
    signals::sigset(sig, handler)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn sigignore(sig: i32) -> i32 {
    signals::sigignore(sig)
}

#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn siginterrupt(sig: i32, interrupt: i32) -> i32 {
    signals::siginterrupt(sig, interrupt)
}

// ---- libpooldbg's own API (declared in no header yet: call them from a
// program, or from gdb with `call pooldbg_print_stats()`) ----

/// Called by cxx.c when operator new fails and no C++ runtime is loaded to
/// throw std::bad_alloc.
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn pooldbg_out_of_memory(size: usize) -> ! {
    report::begin_raw(format_args!("out-of-memory in operator new({})", size));
    say!("  the allocation failed and no C++ runtime is loaded to throw std::bad_alloc");
    report::finish();
    sys::abort()
}

/// Prints the pool statistics table to the report stream (stderr or log_path).
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn pooldbg_print_stats() {
    sys::keep_errno(stats::print)
}

/// Runs the leak check now and prints what leaked; returns 1 if anything
/// did, 0 otherwise. Never exits. Other threads are stopped while it scans
/// (diag/world.rs), so they may be busy; not from a signal handler.
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn pooldbg_check_leaks() -> i32 {
    if !state::ready() {
        return 0;
    }
    sys::keep_errno(|| {
        let found = leaks::check();
        if found {
            report::end_without_stopping();
        }
        found as i32
    })
}

/// Checks the canaries and owner link of every live block (blocks the
/// program never frees are otherwise never checked); reports each damaged
/// one and returns how many. The program goes on.
#[no_mangle]
pub extern "C" fn pooldbg_check_heap() -> i32 {
    sys::keep_errno(|| heapcheck::check(When::Call) as i32)
}

// ---- C++ operator new/delete ----
//
// The four throwing forms of operator new must throw std::bad_alloc, which
// cannot unwind through Rust built with panic=abort: they are naked
// trampolines (no frame of their own) jumping to cxx.c. Everything else is
// plain Rust.

/// Back end of every operator new: NULL on failure. `kind`: 1 new, 2 new[].
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn pooldbg_operator_new(size: usize, align: usize, kind: u32) -> Ptr {
    if align == 0 {
        return alloc::allocate(size, PLAIN, AllocKind::from_bits(kind)) as Ptr;
    }
    if !align.is_power_of_two() {
        return core::ptr::null_mut();
    }
    aligned(size, align, AllocKind::from_bits(kind))
}

fn delete(p: Ptr, kind: AllocKind, size: Option<usize>) {
    let how = if kind == AllocKind::NewArray { FreeKind::DeleteArray } else { FreeKind::Delete };
    sys::keep_errno(|| free::release(p as usize, how, size))
}

#[cfg(not(test))]
mod cxx_trampolines {
    extern "C" {
        fn pooldbg_cxx_new(n: usize) -> *mut core::ffi::c_void;
        fn pooldbg_cxx_new_array(n: usize) -> *mut core::ffi::c_void;
        fn pooldbg_cxx_new_aligned(n: usize, a: usize) -> *mut core::ffi::c_void;
        fn pooldbg_cxx_new_array_aligned(n: usize, a: usize) -> *mut core::ffi::c_void;
    }

    macro_rules! trampoline {
        ($name:ident => $target:ident) => {
            #[unsafe(naked)]
            #[no_mangle]
            pub unsafe extern "C" fn $name() {
                core::arch::naked_asm!("jmp {}", sym $target)
            }
        };
    }
    trampoline!(_Znwm => pooldbg_cxx_new);
    trampoline!(_Znam => pooldbg_cxx_new_array);
    trampoline!(_ZnwmSt11align_val_t => pooldbg_cxx_new_aligned);
    trampoline!(_ZnamSt11align_val_t => pooldbg_cxx_new_array_aligned);
}

macro_rules! nothrow_new {
    ($name:ident, $kind:expr) => {
        #[cfg_attr(not(test), no_mangle)]
        pub extern "C" fn $name(n: usize, _nothrow: *const c_void) -> Ptr {
            pooldbg_operator_new(n, 0, $kind as u32)
        }
    };
    ($name:ident, $kind:expr, aligned) => {
        #[cfg_attr(not(test), no_mangle)]
        pub extern "C" fn $name(n: usize, align: usize, _nothrow: *const c_void) -> Ptr {
            pooldbg_operator_new(n, align, $kind as u32)
        }
    };
}
nothrow_new!(_ZnwmRKSt9nothrow_t, AllocKind::New);
nothrow_new!(_ZnamRKSt9nothrow_t, AllocKind::NewArray);
nothrow_new!(_ZnwmSt11align_val_tRKSt9nothrow_t, AllocKind::New, aligned);
nothrow_new!(_ZnamSt11align_val_tRKSt9nothrow_t, AllocKind::NewArray, aligned);

/// Defines an operator delete: `(p)`, `(p, size)`, and forms whose further
/// arguments (alignment, nothrow tag) do not change what is checked.
macro_rules! delete_op {
    ($name:ident, $kind:expr $(, $extra:ident)*) => {
        #[cfg_attr(not(test), no_mangle)]
        pub extern "C" fn $name(p: Ptr $(, $extra: usize)*) {
            $(let _ = $extra;)*
            delete(p, $kind, None)
        }
    };
}
macro_rules! sized_delete_op {
    ($name:ident, $kind:expr $(, $extra:ident)*) => {
        #[cfg_attr(not(test), no_mangle)]
        pub extern "C" fn $name(p: Ptr, size: usize $(, $extra: usize)*) {
            $(let _ = $extra;)*
            delete(p, $kind, Some(size))
        }
    };
}
delete_op!(_ZdlPv, AllocKind::New);
delete_op!(_ZdaPv, AllocKind::NewArray);
delete_op!(_ZdlPvRKSt9nothrow_t, AllocKind::New, nothrow);
delete_op!(_ZdaPvRKSt9nothrow_t, AllocKind::NewArray, nothrow);
delete_op!(_ZdlPvSt11align_val_t, AllocKind::New, align);
delete_op!(_ZdaPvSt11align_val_t, AllocKind::NewArray, align);
delete_op!(_ZdlPvSt11align_val_tRKSt9nothrow_t, AllocKind::New, align, nothrow);
delete_op!(_ZdaPvSt11align_val_tRKSt9nothrow_t, AllocKind::NewArray, align, nothrow);
sized_delete_op!(_ZdlPvm, AllocKind::New);
sized_delete_op!(_ZdaPvm, AllocKind::NewArray);
sized_delete_op!(_ZdlPvmSt11align_val_t, AllocKind::New, align);
sized_delete_op!(_ZdaPvmSt11align_val_t, AllocKind::NewArray, align);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_overflow_is_refused() {
        assert_eq!(array_bytes(usize::MAX, 2), None);
        assert_eq!(array_bytes(1 << 33, 1 << 31), None);
        assert_eq!(array_bytes(7, 9), Some(63));
        assert_eq!(array_bytes(0, usize::MAX), Some(0));
    }

    #[test]
    fn posix_memalign_alignment_rule() {
        for bad in [0usize, 1, 2, 3, 4, 12, 24, 100] {
            assert!(!posix_alignment_ok(bad), "{bad}");
        }
        for good in [8usize, 16, 32, 4096, 1 << 20] {
            assert!(posix_alignment_ok(good), "{good}");
        }
    }

    #[test]
    fn memalign_rounds_like_glibc() {
        assert_eq!(memalign_alignment(0), Some(16));
        assert_eq!(memalign_alignment(24), Some(32));
        assert_eq!(memalign_alignment(4096), Some(4096));
        assert_eq!(memalign_alignment(usize::MAX), None);
    }

    #[test]
    fn pvalloc_rounds_to_pages() {
        assert_eq!(pvalloc_bytes(0), Some(PAGE));
        assert_eq!(pvalloc_bytes(1), Some(PAGE));
        assert_eq!(pvalloc_bytes(PAGE + 1), Some(2 * PAGE));
        assert_eq!(pvalloc_bytes(usize::MAX), None);
    }
}
