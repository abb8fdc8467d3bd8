/* Per-thread state of libpooldbg, in initial-exec TLS.
 *
 * glibc requires a malloc replacement to use initial-exec TLS: a dynamic TLS
 * access (__tls_get_addr) may itself call malloc. Plain integers only: nothing
 * here needs a destructor, so thread exit never calls back into us. */
#include <stdint.h>

#define IE __attribute__((tls_model("initial-exec")))

static __thread IE uint32_t thread_id;    /* report number + 1; 0 = not yet assigned */
static __thread IE uint32_t lock_depth;   /* which of our locks this thread holds (heap/lock.rs) */
static __thread IE uint32_t in_capture;   /* 1 while unwinding this thread's stack */
static __thread IE uint32_t in_report;    /* 1 while this thread prints a report */
static __thread IE uint32_t altstack;     /* 0 none yet, 1 set up (or attempted), 2 released */
static __thread IE uint64_t own_stack;    /* base of the thread's stack of ours (front/thread.rs); 0: none */
static __thread IE uint64_t rng;          /* xorshift state for sample=N; 0 = unseeded */
static __thread IE uint32_t fork_state;   /* what this thread's fork_prepare took */
static __thread IE uint32_t in_turn;      /* 1 while this thread holds the page-table turn */
static __thread IE uint64_t flight[8];    /* the fault handed to the program's handler (diag/fault.rs) */

uint32_t pooldbg_tls_thread_id(void) { return thread_id; }
void pooldbg_tls_set_thread_id(uint32_t v) { thread_id = v; }
uint32_t pooldbg_tls_lock_depth(void) { return lock_depth; }
void pooldbg_tls_set_lock_depth(uint32_t v) { lock_depth = v; }
uint32_t pooldbg_tls_in_capture(void) { return in_capture; }
void pooldbg_tls_set_in_capture(uint32_t v) { in_capture = v; }
uint32_t pooldbg_tls_in_report(void) { return in_report; }
void pooldbg_tls_set_in_report(uint32_t v) { in_report = v; }
uint32_t pooldbg_tls_altstack(void) { return altstack; }
void pooldbg_tls_set_altstack(uint32_t v) { altstack = v; }
uint32_t pooldbg_tls_fork_state(void) { return fork_state; }
void pooldbg_tls_set_fork_state(uint32_t v) { fork_state = v; }
uint32_t pooldbg_tls_in_turn(void) { return in_turn; }
void pooldbg_tls_set_in_turn(uint32_t v) { in_turn = v; }
uint64_t *pooldbg_tls_flight(void) { return flight; }
uint64_t pooldbg_tls_own_stack(void) { return own_stack; }
void pooldbg_tls_set_own_stack(uint64_t v) { own_stack = v; }
uint64_t pooldbg_tls_rng(void) { return rng; }
void pooldbg_tls_set_rng(uint64_t v) { rng = v; }

/* Per-thread slot magazines and free batch (layout: front/cache.rs ThreadCache). */
#define CACHE_BYTES 8192
static __thread IE uint64_t cache[CACHE_BYTES / 8] __attribute__((aligned(64)));
void *pooldbg_tls_cache(void) { return cache; }
