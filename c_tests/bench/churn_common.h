/* churn_common.h — the allocation-churn loop shared by churn.c (through the
 * allocator: malloc/free) and guardfloor.c (no allocator: one mmap + guard
 * page per object).  Each program defines
 *
 *     static const char *PROG;                       name printed first
 *     static unsigned char *obj_alloc(size_t n);     n bytes, usable, NULL on failure
 *     static void obj_free(unsigned char *p, size_t n);
 *
 * and includes this file, which provides main().
 *
 * Usage: PROG [-t THREADS] [-k LIVE] [-n TOTAL_OPS | -d SECONDS] [-x]
 *             [-m MIN_SIZE] [-M MAX_SIZE]
 *   -t  threads (default 1)
 *   -k  live blocks kept by each thread (default 256)
 *   -n  total operations, split evenly over the threads (default 200000)
 *   -d  run for this many seconds instead (main thread sleeps, then raises a flag)
 *   -x  cross-thread frees: the replaced block goes through a shared array
 *       (atomic exchange) and the block that comes back — usually another
 *       thread's — is freed by this thread
 *   -m/-M  size range, bytes (default 16..4096)
 *
 * One operation = free one block + allocate one block of random size, then
 * write its first and last byte.  Before a block is freed its first and last
 * byte are checked (a lost write is a wrong result, exit 3).
 * Each thread uses its own xorshift64 PRNG seeded by its index, so a run is
 * deterministic apart from scheduling.
 *
 * Output, one line on stdout:
 *   PROG: threads=T live=K cross=X min=A max=B ops=N elapsed=S ops/s=R maxrss_kb=M
 * elapsed covers only the timed loop (after every thread filled its K blocks);
 * maxrss_kb is getrusage(RUSAGE_SELF).ru_maxrss.
 * Exit status 0; 2 for bad arguments; 3 for lost bytes; 4 if an allocation
 * returned NULL. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* A block travels as one word: pointer (low 48 bits) | size (high 16 bits),
 * so the cross-thread exchange array needs only one atomic per entry and the
 * program itself never allocates bookkeeping through the allocator under test. */
typedef uint64_t handle;
#define H_PTR(h) ((unsigned char *)(uintptr_t)((h) & 0xffffffffffffULL))
#define H_LEN(h) ((size_t)((h) >> 48))
#define H_MAKE(p, n) (((uint64_t)(uintptr_t)(p)) | ((uint64_t)(n) << 48))

static int nthreads = 1;
static int live = 256;
static long total_ops = 200000;
static double duration = 0;
static int cross = 0;
static size_t min_size = 16, max_size = 4096;

static atomic_int stop_flag;
static atomic_int ready_count;
static atomic_int go_flag;
static atomic_long ops_done;
static atomic_int failed_code;

/* cross-thread exchange array */
enum { XCHG_PER_THREAD = 64 };
static _Atomic handle *xchg;
static size_t xchg_n;

static uint64_t rnd(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static unsigned char mark(size_t n) { return (unsigned char)(n * 31 + 7); }

static handle make_block(uint64_t *seed) {
    size_t n = min_size + (size_t)(rnd(seed) % (max_size - min_size + 1));
    unsigned char *p = obj_alloc(n);
    if (!p) {
        atomic_store(&failed_code, 4);
        return 0;
    }
    p[0] = mark(n);
    p[n - 1] = (unsigned char)~mark(n);
    return H_MAKE(p, n);
}

static void drop_block(handle h) {
    if (!h)
        return;
    unsigned char *p = H_PTR(h);
    size_t n = H_LEN(h);
    if (p[0] != mark(n) || p[n - 1] != (unsigned char)~mark(n))
        atomic_store(&failed_code, 3);
    obj_free(p, n);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *worker(void *arg) {
    long idx = (long)arg;
    uint64_t seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(idx + 1);
    for (int i = 0; i < 16; i++)
        rnd(&seed);
    /* The table of live handles is on this thread's stack, not the heap. */
    handle *tab = __builtin_alloca(sizeof(handle) * (size_t)live);
    for (int i = 0; i < live; i++)
        tab[i] = make_block(&seed);

    atomic_fetch_add(&ready_count, 1);
    while (!atomic_load(&go_flag))
        sched_yield();

    long my_ops = duration > 0 ? -1 : total_ops / nthreads + (idx < total_ops % nthreads);
    long done = 0;
    while (my_ops < 0 ? !atomic_load_explicit(&stop_flag, memory_order_relaxed) : done < my_ops) {
        if (atomic_load_explicit(&failed_code, memory_order_relaxed))
            break;
        size_t i = (size_t)(rnd(&seed) % (uint64_t)live);
        handle old = tab[i];
        if (cross) {
            size_t j = (size_t)(rnd(&seed) % xchg_n);
            old = atomic_exchange(&xchg[j], old);
        }
        drop_block(old);
        tab[i] = make_block(&seed);
        done++;
    }
    atomic_fetch_add(&ops_done, done);

    /* Wait until everybody stopped timing before freeing (the untimed part). */
    atomic_fetch_sub(&ready_count, 1);
    while (atomic_load(&ready_count) > 0)
        sched_yield();
    for (int i = 0; i < live; i++)
        drop_block(tab[i]);
    return NULL;
}

static long parse_long(const char *s, const char *what) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0) {
        fprintf(stderr, "%s: bad %s '%s'\n", PROG, what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    int c;
    while ((c = getopt(argc, argv, "t:k:n:d:xm:M:")) != -1) {
        switch (c) {
        case 't': nthreads = (int)parse_long(optarg, "thread count"); break;
        case 'k': live = (int)parse_long(optarg, "live count"); break;
        case 'n': total_ops = parse_long(optarg, "op count"); duration = 0; break;
        case 'd': duration = atof(optarg); break;
        case 'x': cross = 1; break;
        case 'm': min_size = (size_t)parse_long(optarg, "min size"); break;
        case 'M': max_size = (size_t)parse_long(optarg, "max size"); break;
        default:
            fprintf(stderr, "usage: %s [-t THREADS] [-k LIVE] [-n OPS | -d SECONDS] [-x] [-m MIN] [-M MAX]\n", PROG);
            return 2;
        }
    }
    if (nthreads < 1 || nthreads > 1024 || live < 1 || live > 100000 || min_size < 1 ||
        max_size < min_size || max_size > 65535 || duration < 0) {
        fprintf(stderr, "%s: arguments out of range\n", PROG);
        return 2;
    }
    if (cross) {
        xchg_n = (size_t)nthreads * XCHG_PER_THREAD;
        static _Atomic handle xchg_static[1024 * XCHG_PER_THREAD];
        xchg = xchg_static;
    }

    pthread_t th[1024];
    for (long i = 0; i < nthreads; i++) {
        if (pthread_create(&th[i], NULL, worker, (void *)i) != 0) {
            fprintf(stderr, "%s: pthread_create failed\n", PROG);
            return 4;
        }
    }
    while (atomic_load(&ready_count) < nthreads && !atomic_load(&failed_code))
        usleep(1000);
    double t0 = now();
    atomic_store(&go_flag, 1);
    if (duration > 0) {
        struct timespec ts = {(time_t)duration, (long)((duration - (double)(time_t)duration) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
        atomic_store(&stop_flag, 1);
    }
    /* Elapsed = until the last worker finished its timed loop. */
    while (atomic_load(&ready_count) > 0)
        usleep(200);
    double t1 = now();
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    if (cross)
        for (size_t j = 0; j < xchg_n; j++)
            drop_block(atomic_exchange(&xchg[j], 0));

    int fc = atomic_load(&failed_code);
    if (fc == 3) {
        fprintf(stderr, "%s: FAIL: a block lost its first/last byte\n", PROG);
        return 3;
    }
    if (fc == 4) {
        fprintf(stderr, "%s: FAIL: allocation returned NULL\n", PROG);
        return 4;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long n = atomic_load(&ops_done);
    double el = t1 - t0;
    printf("%s: threads=%d live=%d cross=%d min=%zu max=%zu ops=%ld elapsed=%.6f ops/s=%.0f maxrss_kb=%ld\n",
           PROG, nthreads, live, cross, min_size, max_size, n, el, el > 0 ? (double)n / el : 0.0,
           ru.ru_maxrss);
    return 0;
}
