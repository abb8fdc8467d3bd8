/* Per-thread state of libpooldbg, in initial-exec TLS.
 *
 * glibc requires a malloc replacement to use initial-exec TLS: a dynamic TLS
 * access (__tls_get_addr) may itself call malloc. Plain integers only: nothing
 * here needs a destructor, so thread exit never calls back into us. */
#include <stdint.h>

static __thread __attribute__((tls_model("initial-exec"))) uint32_t thread_id;
static __thread __attribute__((tls_model("initial-exec"))) uint32_t lock_depth;

uint32_t pooldbg_tls_thread_id(void) { return thread_id; }
void pooldbg_tls_set_thread_id(uint32_t id) { thread_id = id; }

uint32_t pooldbg_tls_lock_depth(void) { return lock_depth; }
void pooldbg_tls_set_lock_depth(uint32_t d) { lock_depth = d; }
