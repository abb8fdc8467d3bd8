/* lockchurn.c — the allocation churn behind the lock-discipline test.
 *
 * Usage: lockchurn [THREADS] [OPS_PER_THREAD]     (defaults 8 and 20000)
 * Each thread keeps 256 live blocks of random sizes 16..16384 and, per op,
 * replaces a random one, writing its first and last byte. One op in four
 * hands the old block through a shared slot array (atomic exchange) so that
 * another thread frees it. Checks the first/last bytes before every free.
 *
 * Run under the lockstat build, libpooldbg prints at exit
 *   libpooldbg: lockstat: sections=N faults_under_lock=F max_hold_ns=H spin_ns=S
 * and the harness asserts N > 0 and F == 0 (invariant 1: no page fault while
 * the pool lock is held). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LIVE = 256, SLOTS = 1024 };

struct blk {
    unsigned char *p;
    size_t n;
};

static _Atomic(unsigned char *) slots[SLOTS];
static long ops = 20000;
static atomic_long cross;

/* Hides p from the optimiser (thread-safe: no shared variable). */
static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

static uint64_t next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static unsigned char mark(size_t n) { return (unsigned char)(n * 31 + 7); }

static void check_free(unsigned char *p, size_t n) {
    if (p[0] != mark(n) || p[n - 1] != (unsigned char)~mark(n)) {
        printf("FAIL: block %p of %zu bytes lost its first/last byte\n",
               (void *)p, n);
        exit(1);
    }
    free(p);
}

static size_t stored_size(const unsigned char *p) {
    size_t n;
    memcpy(&n, p + 1, sizeof n);
    return n;
}

static void *worker(void *arg) {
    uint64_t rng = 0x2545f4914f6cdd1dull * ((uintptr_t)arg + 1);
    struct blk live[LIVE];
    for (int i = 0; i < LIVE; i++) {
        size_t n = 16 + next(&rng) % (16384 - 16 + 1);
        live[i].p = opaque(malloc(n));
        if (!live[i].p) {
            printf("FAIL: malloc(%zu) returned NULL\n", n);
            exit(1);
        }
        live[i].n = n;
        live[i].p[0] = mark(n);
        live[i].p[n - 1] = (unsigned char)~mark(n);
    }
    for (long op = 0; op < ops; op++) {
        uint64_t r = next(&rng);
        int i = (int)(r % LIVE);
        if ((r >> 16) % 4 == 0) {
            /* Pass the old block on to whichever thread next uses the slot.
             * Its size travels inside it (bytes 1..8; blocks are >= 16 bytes
             * so the last byte is not among them). */
            size_t s = (r >> 24) % SLOTS;
            unsigned char *old = live[i].p;
            memcpy(old + 1, &live[i].n, sizeof(size_t));
            unsigned char *prev = atomic_exchange(&slots[s], old);
            if (prev) {
                check_free(prev, stored_size(prev));
                atomic_fetch_add(&cross, 1);
            }
        } else {
            check_free(live[i].p, live[i].n);
        }
        size_t n = 16 + (r >> 32) % (16384 - 16 + 1);
        live[i].p = opaque(malloc(n));
        if (!live[i].p) {
            printf("FAIL: malloc(%zu) returned NULL\n", n);
            exit(1);
        }
        live[i].n = n;
        live[i].p[0] = mark(n);
        live[i].p[n - 1] = (unsigned char)~mark(n);
    }
    for (int i = 0; i < LIVE; i++)
        check_free(live[i].p, live[i].n);
    return NULL;
}

int main(int argc, char **argv) {
    int nthreads = argc > 1 ? atoi(argv[1]) : 8;
    if (argc > 2)
        ops = atol(argv[2]);
    if (nthreads < 1 || nthreads > 64)
        nthreads = 8;
    pthread_t t[64];
    for (intptr_t i = 0; i < nthreads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i)) {
            printf("FAIL: pthread_create\n");
            return 1;
        }
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    for (int s = 0; s < SLOTS; s++) {
        unsigned char *p = atomic_exchange(&slots[s], NULL);
        if (p)
            check_free(p, stored_size(p));
    }
    printf("lockchurn: %d threads x %ld ops, %ld cross-thread frees\n",
           nthreads, ops, (long)atomic_load(&cross));
    return 0;
}
