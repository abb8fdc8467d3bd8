/* The libc functions whose default symbol version is newer than glibc 2.28,
 * bound to their oldest version so that a library built on a newer glibc
 * loads on glibc 2.28 and later (README, "Supported systems").
 *
 * glibc 2.34 moved dladdr and dlsym (from libdl.so.2) and the pthread key
 * functions (from libpthread.so.0) into libc.so.6 and gave them a new
 * default version, GLIBC_2.34, keeping the old GLIBC_2.2.5 one for binaries
 * built before. A reference to name@GLIBC_2.2.5 is recorded against
 * libc.so.6 (where the linker found it), but the loader matches a symbol's
 * version by name in every object of the search scope, so on an older
 * glibc it binds to libdl's or libpthread's definition; build.rs makes both
 * of those DT_NEEDED so they are loaded (empty stubs on 2.34+).
 *
 * Rust cannot ask for a symbol version, hence these few lines of C; the
 * Rust side (sys/elf.rs, sys/thread.rs) and front/cxx.c call the
 * pooldbg_sys_* functions. scripts/check_exports.sh fails the build's tests
 * if any version newer than GLIBC_2.28 is required. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>

__asm__(".symver dladdr, dladdr@GLIBC_2.2.5");
__asm__(".symver dlsym, dlsym@GLIBC_2.2.5");
__asm__(".symver dlvsym, dlvsym@GLIBC_2.2.5");
__asm__(".symver dlerror, dlerror@GLIBC_2.2.5");
__asm__(".symver pthread_key_create, pthread_key_create@GLIBC_2.2.5");
__asm__(".symver pthread_setspecific, pthread_setspecific@GLIBC_2.2.5");

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN int pooldbg_sys_dladdr(const void *addr, Dl_info *info) { return dladdr(addr, info); }

/* Called when operator new fails (front/cxx.c), long after start-up, and
 * by sys/next.rs to find the next definition of a call we interpose (with
 * RTLD_NEXT: this function's own address says which object "we" are). Also
 * (sys/thread.rs) to find the next pthread_create when no GNU hash table
 * tells. A failing dlsym allocates its error message, through us: never under one of
 * our locks. */
HIDDEN void *pooldbg_sys_dlsym(void *handle, const char *name) { return dlsym(handle, name); }

HIDDEN void *pooldbg_sys_dlvsym(void *handle, const char *name, const char *version)
{
    return dlvsym(handle, name, version);
}

/* Clears the thread's dlerror state after a lookup that may fail (the
 * program's next dlerror() must not find our message). */
HIDDEN void pooldbg_sys_dlerror_clear(void) { (void)dlerror(); }

HIDDEN int pooldbg_sys_key_create(pthread_key_t *key, void (*destructor)(void *))
{
    return pthread_key_create(key, destructor);
}

HIDDEN int pooldbg_sys_setspecific(pthread_key_t key, const void *value)
{
    return pthread_setspecific(key, value);
}

/* The next definition of `name` after ours (glibc's, normally): the libc
 * functions libpooldbg exports itself (sigaction's siblings, sys/signal.rs).
 * A look-up that succeeds does not allocate. */
HIDDEN void *pooldbg_sys_next(const char *name) { return dlsym(RTLD_NEXT, name); }
