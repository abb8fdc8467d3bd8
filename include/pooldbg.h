/* pooldbg.h — libpooldbg's API for programs that want to ask it things.
 *
 * Every function is declared weak: a program that includes this header
 * builds with a plain `cc` (no -l, nothing to link) and runs with or without
 * libpooldbg preloaded. Without it, the functions' addresses are NULL, and
 * pooldbg_loaded() says so; the inline helpers below do nothing then.
 *
 *     #include <pooldbg.h>
 *     ...
 *     if (pooldbg_loaded())
 *         pooldbg_describe_address(p);
 *     pooldbg_check_heap_now();   // 0 without libpooldbg
 *
 * From gdb, in a program run under libpooldbg:
 *     (gdb) call pooldbg_describe_address(p)
 *     (gdb) call pooldbg_print_stats()
 *
 * Reports go where libpooldbg's reports go: standard error, or log_path. */
#ifndef POOLDBG_H
#define POOLDBG_H

#ifdef __cplusplus
extern "C" {
#endif

/* "0.1.0 (commit 0123456789ab)". */
const char *pooldbg_version(void) __attribute__((weak));

/* The pool statistics table (what stats=1 prints at exit). */
void pooldbg_print_stats(void) __attribute__((weak));

/* A leak report now (as leaks=1 does at exit); returns 1 if anything leaked.
 * The program goes on. */
int pooldbg_check_leaks(void) __attribute__((weak));

/* Checks the canaries and owner link of every live block (an overflow into
 * a block's alignment slack is otherwise found only when it is freed);
 * reports each damaged block and returns how many. The program goes on. */
int pooldbg_check_heap(void) __attribute__((weak));

/* Prints the block `p` lies in or next to: its size, pool and state (live,
 * or freed and in quarantine), where it was allocated and freed; or that
 * `p` is not in libpooldbg's heap. */
void pooldbg_describe_address(const void *p) __attribute__((weak));

/* True when libpooldbg is loaded in this process. */
static inline int pooldbg_loaded(void) { return pooldbg_version != 0; }

static inline int pooldbg_check_leaks_now(void) { return pooldbg_check_leaks ? pooldbg_check_leaks() : 0; }

static inline int pooldbg_check_heap_now(void) { return pooldbg_check_heap ? pooldbg_check_heap() : 0; }

#ifdef __cplusplus
}
#endif

#endif /* POOLDBG_H */
