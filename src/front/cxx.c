/* C++ operator new/delete for libpooldbg.
 *
 * The throwing operator new forms, written in C (built with -fexceptions)
 * rather than Rust: a failing operator new must call the new-handler and
 * throw std::bad_alloc, and the exception has to unwind through this frame
 * (Rust built with panic=abort must never be unwound through). libstdc++ is looked up at
 * failure time only, so C programs never load it.
 *
 * kind: 1 = new, 2 = new[] (must match AllocKind in heap/slot.rs). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

void *pooldbg_operator_new(size_t size, size_t align, unsigned kind);
void pooldbg_out_of_memory(size_t size);
void *pooldbg_sys_dlsym(void *handle, const char *name); /* sys/symver.c: dlsym@GLIBC_2.2.5 */

enum { NEW = 1, NEW_ARRAY = 2 };

typedef void (*new_handler)(void);

static new_handler current_new_handler(void) {
    new_handler (*get)(void) = (new_handler (*)(void))pooldbg_sys_dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv");
    return get ? get() : 0;
}

static void throw_bad_alloc(size_t size) {
    void (*thrower)(void) = (void (*)(void))pooldbg_sys_dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
    if (thrower)
        thrower();
    pooldbg_out_of_memory(size); /* no C++ runtime to throw with: report and stop */
}

static void *new_or_throw(size_t size, size_t align, unsigned kind) {
    for (;;) {
        void *p = pooldbg_operator_new(size, align, kind);
        if (p)
            return p;
        new_handler h = current_new_handler();
        if (!h)
            throw_bad_alloc(size);
        h();
    }
}

#define HIDDEN __attribute__((visibility("hidden")))

/* The throwing operators. exports.rs exports the real names as naked
 * trampolines that jump here, so no Rust frame is on the stack when the
 * exception unwinds (rustc only exports Rust items from a cdylib). */
HIDDEN void *pooldbg_cxx_new(size_t n) { return new_or_throw(n, 0, NEW); }
HIDDEN void *pooldbg_cxx_new_array(size_t n) { return new_or_throw(n, 0, NEW_ARRAY); }
HIDDEN void *pooldbg_cxx_new_aligned(size_t n, size_t a) { return new_or_throw(n, a, NEW); }
HIDDEN void *pooldbg_cxx_new_array_aligned(size_t n, size_t a) { return new_or_throw(n, a, NEW_ARRAY); }

/* A no_std Rust library built with panic=abort still references the
 * unwinding personality, though nothing ever unwinds through Rust frames.
 * It is defined here, hidden, so it never reaches the dynamic symbol table:
 * exported, it would interpose on every Rust library in the process (rustc
 * aborted on an ordinary compile error when it bound to an empty one).
 * Weak, so that a test binary's own (std's) definition wins. */
__attribute__((weak, visibility("hidden"))) void rust_eh_personality(void) {}
