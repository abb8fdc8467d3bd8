/* threads.c — the heap under many threads.
 *
 * Usage: threads stress [THREADS] [OPS]   cross-thread frees, every block
 *                                         carries a pattern checked before free
 *        threads churn [N]                N threads created and joined one by
 *                                         one; a pthread_key destructor frees
 *                                         and allocates at thread exit
 *        threads crossfree                producer/consumer frees and frees of
 *                                         blocks whose allocating thread is gone
 * Exit 0 on success; any corruption prints the block and exits 1. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hides p from the optimiser (thread-safe: no shared variable). */
static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

static void die(const char *msg) {
    printf("FAIL: %s\n", msg);
    fflush(stdout);
    exit(1);
}

static uint64_t xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* A block: [size:8][tag:8][pattern bytes...]; pattern byte i = tag + i*7. */
struct hdr {
    uint64_t size;
    uint64_t tag;
};

static unsigned char *make_block(size_t size, uint64_t tag) {
    if (size < sizeof(struct hdr))
        size = sizeof(struct hdr);
    unsigned char *p = opaque(malloc(size));
    if (!p)
        die("malloc returned NULL");
    struct hdr *h = (struct hdr *)p;
    h->size = size;
    h->tag = tag;
    for (size_t i = sizeof *h; i < size; i++)
        p[i] = (unsigned char)(tag + i * 7);
    return p;
}

static void check_and_free(unsigned char *p) {
    struct hdr *h = (struct hdr *)p;
    size_t size = h->size;
    uint64_t tag = h->tag;
    if (size < sizeof *h || size > (1 << 20)) {
        printf("FAIL: block %p has a bad header (size %zu, tag %#llx)\n",
               (void *)p, size, (unsigned long long)tag);
        exit(1);
    }
    for (size_t i = sizeof *h; i < size; i++)
        if (p[i] != (unsigned char)(tag + i * 7)) {
            printf("FAIL: block %p (size %zu, tag %#llx) byte %zu is %#x, "
                   "want %#x\n",
                   (void *)p, size, (unsigned long long)tag, i, p[i],
                   (unsigned char)(tag + i * 7));
            exit(1);
        }
    free(p);
}

/* ---------------------------------------------------------------- stress */

enum { SHARED = 512, LOCAL = 128 };
static _Atomic(unsigned char *) shared[SHARED];
static long ops_per_thread = 20000;
static atomic_long cross_frees;

static size_t pick_size(uint64_t *rng) {
    uint64_t r = xorshift(rng);
    switch (r % 8) {
    case 0: return 16 + (r >> 8) % 32768;   /* multi-page */
    case 1: return 16 + (r >> 8) % 8192;    /* one or two pages */
    default: return 16 + (r >> 8) % 512;    /* small: the common case */
    }
}

static void *stress_thread(void *arg) {
    uint64_t rng = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
    unsigned char *local[LOCAL] = {0};
    for (long op = 0; op < ops_per_thread; op++) {
        uint64_t r = xorshift(&rng);
        unsigned char *p = make_block(pick_size(&rng), r);
        if (r & 1) {
            /* Publish to the shared array; free whatever was there (most
             * likely allocated by another thread). */
            unsigned char *old = atomic_exchange(&shared[(r >> 1) % SHARED], p);
            if (old) {
                check_and_free(old);
                atomic_fetch_add(&cross_frees, 1);
            }
        } else {
            size_t i = (r >> 1) % LOCAL;
            if (local[i])
                check_and_free(local[i]);
            local[i] = p;
        }
        if (op % 1024 == 0) {
            /* realloc keeps the pattern: rebuild it at the new size. */
            size_t i = (r >> 20) % LOCAL;
            if (local[i] && ((struct hdr *)local[i])->size < 65536) {
                struct hdr *h = (struct hdr *)local[i];
                uint64_t tag = h->tag;
                size_t n = h->size * 2 + 1;
                unsigned char *q = realloc(local[i], n);
                if (!q)
                    die("realloc returned NULL");
                h = (struct hdr *)q;
                for (size_t k = sizeof *h; k < h->size; k++)
                    if (q[k] != (unsigned char)(tag + k * 7))
                        die("realloc lost the block's contents");
                for (size_t k = h->size; k < n; k++)
                    q[k] = (unsigned char)(tag + k * 7);
                h->size = n;
                local[i] = q;
            }
        }
    }
    for (size_t i = 0; i < LOCAL; i++)
        if (local[i])
            check_and_free(local[i]);
    return NULL;
}

static int stress(int nthreads) {
    pthread_t t[64];
    if (nthreads > 64)
        nthreads = 64;
    for (intptr_t i = 0; i < nthreads; i++)
        if (pthread_create(&t[i], NULL, stress_thread, (void *)i))
            die("pthread_create failed");
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    for (size_t i = 0; i < SHARED; i++) {
        unsigned char *p = atomic_exchange(&shared[i], NULL);
        if (p)
            check_and_free(p);
    }
    printf("stress: %d threads x %ld ops, %ld cross-thread frees\n", nthreads,
           ops_per_thread, (long)atomic_load(&cross_frees));
    return 0;
}

/* ----------------------------------------------------------------- churn */

static pthread_key_t key;
static atomic_long destructor_runs;

static void key_destructor(void *v) {
    check_and_free(v);
    /* Allocate and free again at thread exit, after TLS teardown began. */
    unsigned char *p = make_block(300, 0xd0);
    char *s = strdup("thread exit");
    if (!s)
        die("strdup in destructor returned NULL");
    free(s);
    check_and_free(p);
    atomic_fetch_add(&destructor_runs, 1);
}

static void *churn_thread(void *arg) {
    uintptr_t i = (uintptr_t)arg;
    unsigned char *keep = make_block(64 + i % 4000, i);
    if (pthread_setspecific(key, keep))
        die("pthread_setspecific failed");
    unsigned char *tmp = make_block(1000, i * 3);
    check_and_free(tmp);
    return make_block(48, i * 5); /* freed by the joining thread */
}

static int churn(long n) {
    if (pthread_key_create(&key, key_destructor))
        die("pthread_key_create failed");
    for (long i = 0; i < n; i++) {
        pthread_t t;
        void *ret;
        if (pthread_create(&t, NULL, churn_thread, (void *)(uintptr_t)i)) {
            printf("FAIL: pthread_create #%ld failed\n", i);
            return 1;
        }
        pthread_join(t, &ret);
        check_and_free(ret);
    }
    if (atomic_load(&destructor_runs) != n) {
        printf("FAIL: %ld destructor runs, want %ld\n",
               (long)atomic_load(&destructor_runs), n);
        return 1;
    }
    printf("churn: %ld threads, %ld destructor runs\n", n,
           (long)atomic_load(&destructor_runs));
    return 0;
}

/* ------------------------------------------------------------- crossfree */

enum { QLEN = 256, ITEMS = 20000 };
static _Atomic(unsigned char *) queue[QLEN];

static void *producer(void *arg) {
    (void)arg;
    uint64_t rng = 12345;
    for (long i = 0; i < ITEMS; i++) {
        unsigned char *p = make_block(16 + xorshift(&rng) % 3000, i);
        _Atomic(unsigned char *) *slot = &queue[i % QLEN];
        unsigned char *expected = NULL;
        while (!atomic_compare_exchange_weak(slot, &expected, p)) {
            expected = NULL;
            sched_yield();
        }
    }
    return NULL;
}

static void *consumer(void *arg) {
    (void)arg;
    for (long i = 0; i < ITEMS; i++) {
        _Atomic(unsigned char *) *slot = &queue[i % QLEN];
        unsigned char *p;
        while (!(p = atomic_exchange(slot, NULL)))
            sched_yield();
        check_and_free(p);
    }
    return NULL;
}

static void *alloc_many(void *arg) {
    unsigned char **out = arg;
    for (int i = 0; i < 1000; i++)
        out[i] = make_block(16 + (size_t)i * 13, (uint64_t)i);
    return NULL;
}

static int crossfree(void) {
    pthread_t p, c;
    pthread_create(&c, NULL, consumer, NULL);
    pthread_create(&p, NULL, producer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);

    /* Blocks outliving the thread that allocated them. */
    static unsigned char *orphans[8][1000];
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, alloc_many, orphans[i]);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 1000; k++)
            check_and_free(orphans[i][k]);
    printf("crossfree: %d producer->consumer frees, 8000 orphan frees\n",
           ITEMS);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "stress")) {
        int n = argc > 2 ? atoi(argv[2]) : 8;
        if (argc > 3)
            ops_per_thread = atol(argv[3]);
        return stress(n);
    }
    if (argc >= 2 && !strcmp(argv[1], "churn"))
        return churn(argc > 2 ? atol(argv[2]) : 1000);
    if (argc >= 2 && !strcmp(argv[1], "crossfree"))
        return crossfree();
    fprintf(stderr, "usage: threads stress [THREADS] [OPS] | churn [N] | "
                    "crossfree\n");
    return 2;
}
