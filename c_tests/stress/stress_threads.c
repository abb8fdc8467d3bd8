/* Soak: many threads allocating random sizes with every allocation entry
 * point, freeing locally and across threads through queues, verifying
 * contents by pattern; the main thread samples the VMA count and RSS at
 * intervals and checks that they stop growing.
 *
 * Environment:
 *   STRESS_SECONDS   run time (default 120)
 *   STRESS_THREADS   worker threads (default 64)
 *   STRESS_SLOTS     live blocks per thread at most (default 256)
 *   STRESS_INTERVAL  seconds between samples (default: STRESS_SECONDS/12, >= 1)
 *
 * Exit status 0 when every check passed. */
#include "common.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

enum kind { K_MALLOC, K_CALLOC, K_REALLOC_NULL, K_POSIX_MEMALIGN, K_ALIGNED_ALLOC, K_STRDUP, NKINDS };
static const char *kind_name[] = {"malloc", "calloc", "realloc(NULL)", "posix_memalign", "aligned_alloc", "strdup"};

struct block {
    unsigned char *p;
    size_t size;
    uint64_t seed;
    int kind;
};

#define INBOX 512
struct inbox {
    pthread_mutex_t mu;
    unsigned head, tail; /* tail - head = count */
    struct block q[INBOX];
};

struct worker {
    pthread_t th;
    int id;
    uint64_t rng;
    struct inbox in;
    _Atomic long ops;
    _Atomic long live;
    long cross_sent, cross_recv, reallocs, bytes;
};

static int nthreads, nslots;
static struct worker *workers;
static atomic_int stop;
static atomic_long errors;

static void fail_block(int tid, const char *what, const struct block *b, size_t off)
{
    long n = atomic_fetch_add(&errors, 1);
    if (n < 20) {
        fprintf(stderr,
                "stress_threads: ERROR thread %d: %s: block %p size %zu kind %s offset %zu: "
                "byte %02x, expected %02x\n",
                tid, what, (void *)b->p, b->size, kind_name[b->kind], off,
                off < b->size ? b->p[off] : 0, off < b->size ? pat(b->seed, off) : 0);
    }
}

static void check_and_free(int tid, struct block *b, const char *what)
{
    size_t off = verify(b->p, b->size, b->seed);
    if (off != (size_t)-1) fail_block(tid, what, b, off);
    free(b->p);
    b->p = NULL;
}

static int allocate(struct worker *w, struct block *b)
{
    uint64_t *r = &w->rng;
    size_t n = random_size(r);
    int kind = (int)rng_below(r, 100);
    void *p = NULL;
    size_t align = 0;
    if (kind < 50) kind = K_MALLOC;
    else if (kind < 70) kind = K_CALLOC;
    else if (kind < 78) kind = K_REALLOC_NULL;
    else if (kind < 88) kind = K_POSIX_MEMALIGN;
    else if (kind < 97) kind = K_ALIGNED_ALLOC;
    else kind = K_STRDUP;

    switch (kind) {
    case K_MALLOC:
        p = malloc(n);
        break;
    case K_CALLOC: {
        size_t each = 1 + rng_below(r, 16);
        size_t count = (n + each - 1) / each;
        n = count * each;
        p = calloc(count, each);
        if (p) {
            /* calloc memory must read as zero (check a bounded prefix and
             * the last bytes). */
            unsigned char *c = p;
            size_t lim = n < 8192 ? n : 8192;
            for (size_t i = 0; i < lim; i++)
                if (c[i]) {
                    atomic_fetch_add(&errors, 1);
                    fprintf(stderr, "stress_threads: ERROR calloc(%zu,%zu) byte %zu is %02x\n", count,
                            each, i, c[i]);
                    break;
                }
            if (c[n - 1]) {
                atomic_fetch_add(&errors, 1);
                fprintf(stderr, "stress_threads: ERROR calloc last byte nonzero\n");
            }
        }
        break;
    }
    case K_REALLOC_NULL:
        p = realloc(NULL, n);
        break;
    case K_POSIX_MEMALIGN: {
        align = (size_t)8 << rng_below(r, 10); /* 8 .. 4096 */
        int rc = posix_memalign(&p, align, n);
        if (rc) {
            p = NULL;
            errno = rc;
        }
        break;
    }
    case K_ALIGNED_ALLOC:
        align = (size_t)1 << rng_below(r, 13); /* 1 .. 4096 */
        n = (n + align - 1) / align * align;   /* C11: size a multiple of the alignment */
        p = aligned_alloc(align, n);
        break;
    case K_STRDUP: {
        if (n > 4096) n = 4096;
        char tmp[4097];
        for (size_t i = 0; i + 1 < n; i++) tmp[i] = (char)('a' + (i % 26));
        tmp[n - 1] = 0;
        p = strdup(tmp);
        break;
    }
    }
    if (!p) {
        atomic_fetch_add(&errors, 1);
        fprintf(stderr, "stress_threads: ERROR %s(%zu, align %zu) returned NULL: %s\n", kind_name[kind], n,
                align, strerror(errno));
        return 0;
    }
    if (align && ((uintptr_t)p & (align - 1))) {
        atomic_fetch_add(&errors, 1);
        fprintf(stderr, "stress_threads: ERROR %s(align %zu, %zu) = %p is misaligned\n", kind_name[kind],
                align, n, p);
    }
    if (((uintptr_t)p & 15) && n >= 16) {
        atomic_fetch_add(&errors, 1);
        fprintf(stderr, "stress_threads: ERROR %s(%zu) = %p is not 16-byte aligned\n", kind_name[kind], n, p);
    }
    size_t us = malloc_usable_size(p);
    if (us < n) {
        atomic_fetch_add(&errors, 1);
        fprintf(stderr, "stress_threads: ERROR malloc_usable_size(%p) = %zu < %zu\n", p, us, n);
    }
    b->p = p;
    b->size = n;
    b->kind = kind;
    b->seed = rng_next(r);
    if (kind == K_STRDUP) {
        /* strdup'ed text is the pattern source for this block: re-fill it
         * after checking the copy. */
        for (size_t i = 0; i + 1 < n; i++)
            if (b->p[i] != (unsigned char)('a' + (i % 26))) {
                atomic_fetch_add(&errors, 1);
                fprintf(stderr, "stress_threads: ERROR strdup copy differs at %zu\n", i);
                break;
            }
    }
    fill(b->p, n, b->seed);
    w->bytes += (long)n;
    return 1;
}

static int send_to(int to, const struct block *b)
{
    struct inbox *in = &workers[to].in;
    int ok = 0;
    pthread_mutex_lock(&in->mu);
    if (in->tail - in->head < INBOX) {
        in->q[in->tail % INBOX] = *b;
        in->tail++;
        ok = 1;
    }
    pthread_mutex_unlock(&in->mu);
    return ok;
}

static int drain(struct worker *w)
{
    struct block batch[64];
    int n = 0;
    pthread_mutex_lock(&w->in.mu);
    while (w->in.tail != w->in.head && n < 64) {
        batch[n++] = w->in.q[w->in.head % INBOX];
        w->in.head++;
    }
    pthread_mutex_unlock(&w->in.mu);
    for (int i = 0; i < n; i++) check_and_free(w->id, &batch[i], "cross-thread free");
    w->cross_recv += n;
    return n;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct block *slots = calloc((size_t)nslots, sizeof *slots);
    if (!slots) {
        atomic_fetch_add(&errors, 1);
        return NULL;
    }
    long live = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int iter = 0; iter < 64; iter++) {
            struct block *b = &slots[rng_below(&w->rng, (uint64_t)nslots)];
            if (!b->p) {
                if (allocate(w, b)) live++;
                continue;
            }
            uint64_t what = rng_below(&w->rng, 100);
            if (what < 55) {
                check_and_free(w->id, b, "free");
                live--;
            } else if (what < 80 && nthreads > 1) {
                int to = (int)rng_below(&w->rng, (uint64_t)nthreads);
                if (to == w->id) to = (to + 1) % nthreads;
                if (send_to(to, b)) {
                    b->p = NULL;
                    w->cross_sent++;
                } else {
                    check_and_free(w->id, b, "free (inbox full)");
                }
                live--;
            } else {
                /* realloc: contents up to min(old, new) must survive. */
                size_t old = b->size;
                size_t n = rng_below(&w->rng, 4) == 0 ? random_size(&w->rng)
                                                      : old + rng_below(&w->rng, 64) + 1;
                if (n > 1048576) n = 1048576;
                size_t off = verify(b->p, old, b->seed);
                if (off != (size_t)-1) fail_block(w->id, "before realloc", b, off);
                unsigned char *q = realloc(b->p, n);
                if (!q) {
                    atomic_fetch_add(&errors, 1);
                    fprintf(stderr, "stress_threads: ERROR realloc(%p, %zu) returned NULL\n", (void *)b->p, n);
                    continue;
                }
                size_t keep = old < n ? old : n;
                b->p = q;
                off = verify_prefix(q, keep, old, b->seed);
                if (off != (size_t)-1) fail_block(w->id, "after realloc", b, off);
                if (malloc_usable_size(q) < n) {
                    atomic_fetch_add(&errors, 1);
                    fprintf(stderr, "stress_threads: ERROR usable size after realloc < %zu\n", n);
                }
                b->size = n;
                b->seed = rng_next(&w->rng);
                fill(q, n, b->seed);
                w->reallocs++;
            }
        }
        drain(w);
        atomic_store_explicit(&w->ops, atomic_load_explicit(&w->ops, memory_order_relaxed) + 64,
                              memory_order_relaxed);
        atomic_store_explicit(&w->live, live, memory_order_relaxed);
    }
    for (int i = 0; i < nslots; i++)
        if (slots[i].p) check_and_free(w->id, &slots[i], "final free");
    atomic_store(&w->live, 0);
    free(slots);
    return NULL;
}

#define MAXSAMPLES 4096

int main(void)
{
    long seconds = env_long("STRESS_SECONDS", 120);
    nthreads = (int)env_long("STRESS_THREADS", 64);
    nslots = (int)env_long("STRESS_SLOTS", 256);
    long interval = env_long("STRESS_INTERVAL", seconds / 12 > 0 ? seconds / 12 : 1);
    if (interval < 1) interval = 1;
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("stress_threads: %d threads x %d slots, %ld s, sample every %ld s\n", nthreads, nslots, seconds,
           interval);
    printf("stress_threads: start: VMAs %ld, RSS %.1f MiB\n", vma_count(), rss_mib());

    workers = calloc((size_t)nthreads, sizeof *workers);
    if (!workers) return 1;
    for (int i = 0; i < nthreads; i++) {
        workers[i].id = i;
        workers[i].rng = 0x1234567ull * (uint64_t)(i + 1) + 99;
        pthread_mutex_init(&workers[i].in.mu, NULL);
    }
    for (int i = 0; i < nthreads; i++) {
        int rc = pthread_create(&workers[i].th, NULL, worker_main, &workers[i]);
        if (rc) {
            fprintf(stderr, "stress_threads: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }

    static long vmas[MAXSAMPLES];
    static double rss[MAXSAMPLES], at[MAXSAMPLES];
    int ns = 0;
    double t0 = now_sec(), next = t0 + (double)interval, end = t0 + (double)seconds;
    long last_ops = 0;
    double last_t = t0;
    while (now_sec() < end) {
        double t = now_sec();
        if (t < next) {
            double d = next < end ? next - t : end - t;
            if (d > 0.2) d = 0.2;
            usleep((useconds_t)(d * 1e6));
            continue;
        }
        next += (double)interval;
        long ops = 0, live = 0;
        for (int i = 0; i < nthreads; i++) {
            ops += atomic_load_explicit(&workers[i].ops, memory_order_relaxed);
            live += atomic_load_explicit(&workers[i].live, memory_order_relaxed);
        }
        long v = vma_count();
        double r = rss_mib();
        if (ns < MAXSAMPLES) {
            vmas[ns] = v;
            rss[ns] = r;
            at[ns] = t - t0;
            ns++;
        }
        printf("stress_threads: t=%5.0fs ops=%10ld (%8.0f/s) live=%6ld VMAs=%6ld RSS=%8.1f MiB errors=%ld\n",
               t - t0, ops, (double)(ops - last_ops) / (t - last_t), live, v, r, atomic_load(&errors));
        last_ops = ops;
        last_t = t;
        if (atomic_load(&errors) > 100) break;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++) pthread_join(workers[i].th, NULL);
    long sent = 0, recv = 0, reallocs = 0, ops = 0;
    double bytes = 0;
    for (int i = 0; i < nthreads; i++) {
        while (workers[i].in.tail != workers[i].in.head) drain(&workers[i]);
        sent += workers[i].cross_sent;
        recv += workers[i].cross_recv;
        reallocs += workers[i].reallocs;
        ops += workers[i].ops;
        bytes += (double)workers[i].bytes;
    }
    double el = now_sec() - t0;
    printf("stress_threads: done: %ld ops in %.1f s (%.0f/s), %ld reallocs, %ld cross-thread frees, %.1f GiB "
           "allocated\n",
           ops, el, (double)ops / el, reallocs, recv, bytes / (1 << 30));
    printf("stress_threads: end (all freed): VMAs %ld, RSS %.1f MiB\n", vma_count(), rss_mib());

    int bad = 0;
    if (sent != recv) {
        fprintf(stderr, "stress_threads: ERROR sent %ld cross-thread blocks, received %ld\n", sent, recv);
        bad = 1;
    }
    /* Bounded growth: the samples of the second half may not exceed the
     * maximum of the first half (after the first sample, the warm-up) by
     * more than 50% plus a margin. */
    if (ns >= 4) {
        int half = ns / 2;
        long vmax1 = 0, vmax2 = 0;
        double rmax1 = 0, rmax2 = 0;
        for (int i = 1; i < half; i++) {
            if (vmas[i] > vmax1) vmax1 = vmas[i];
            if (rss[i] > rmax1) rmax1 = rss[i];
        }
        for (int i = half; i < ns; i++) {
            if (vmas[i] > vmax2) vmax2 = vmas[i];
            if (rss[i] > rmax2) rmax2 = rss[i];
        }
        printf("stress_threads: first half (t=%.0f..%.0fs) max VMAs %ld, RSS %.1f MiB; second half max VMAs "
               "%ld, RSS %.1f MiB\n",
               at[1], at[half - 1], vmax1, rmax1, vmax2, rmax2);
        if (vmax2 > vmax1 + vmax1 / 2 + 1000) {
            fprintf(stderr, "stress_threads: ERROR VMA count keeps growing (%ld -> %ld)\n", vmax1, vmax2);
            bad = 1;
        }
        if (rmax2 > rmax1 * 1.5 + 256) {
            fprintf(stderr, "stress_threads: ERROR RSS keeps growing (%.1f -> %.1f MiB)\n", rmax1, rmax2);
            bad = 1;
        }
    } else {
        printf("stress_threads: too few samples (%d) to judge growth\n", ns);
    }
    long e = atomic_load(&errors);
    if (e) fprintf(stderr, "stress_threads: %ld errors\n", e);
    printf("stress_threads: %s\n", (e || bad) ? "FAILED" : "ok");
    return (e || bad) ? 1 : 0;
}
