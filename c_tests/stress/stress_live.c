/* Soak: a very large live set, as a CPython or compiler run has.
 *
 * 4 threads together hold STRESS_LIVE (default 1,000,000) small blocks
 * (1..96 bytes) live at once, verify them all, free every other one,
 * allocate the holes again, grow every block with realloc (contents must
 * survive), verify, and free everything; VMAs and RSS are printed at each
 * step.  Every allocation must succeed: a debug allocator
 * that runs out of VMAs (vm.max_map_count, 65530 by default) has to switch
 * to a denser mode, not fail.  Exit status 0 when every check passed. */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>

#define NT 4

static long per_thread;
static unsigned char **blocks;
static atomic_long errors;
static pthread_barrier_t barrier;

static size_t size_of(long i) { return 1 + (size_t)((uint64_t)i * 2654435761u % 96); }
static size_t grown_size(long i) { return size_of(i) + 1 + (size_t)(i % 48); }
static uint64_t seed_of(long i, int gen) { return (uint64_t)i * 0x9E3779B97F4A7C15ull + (uint64_t)gen; }

static void report_null(long i)
{
    long e = atomic_fetch_add(&errors, 1);
    if (e < 5) fprintf(stderr, "stress_live: ERROR malloc(%zu) for block #%ld returned NULL: %s\n", size_of(i), i,
                       strerror(errno));
}

static void check(long i, int gen)
{
    if (blocks[i] && verify(blocks[i], size_of(i), seed_of(i, gen)) != (size_t)-1) {
        long e = atomic_fetch_add(&errors, 1);
        if (e < 5) fprintf(stderr, "stress_live: ERROR block #%ld corrupted\n", i);
    }
}

static void phase(const char *what, double t0)
{
    printf("stress_live: %-28s %6.1f s  VMAs %6ld  RSS %8.1f MiB  errors %ld\n", what, now_sec() - t0, vma_count(),
           rss_mib(), atomic_load(&errors));
}

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    long lo = t * per_thread, hi = lo + per_thread;
    /* 1: fill the live set. */
    for (long i = lo; i < hi; i++) {
        blocks[i] = malloc(size_of(i));
        if (!blocks[i]) {
            report_null(i);
            continue;
        }
        fill(blocks[i], size_of(i), seed_of(i, 0));
    }
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier); /* main prints */
    /* 2: verify all, free every other one. */
    for (long i = lo; i < hi; i++) {
        check(i, 0);
        if (i % 2) {
            free(blocks[i]);
            blocks[i] = NULL;
        }
    }
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    /* 3: refill the holes. */
    for (long i = lo + 1; i < hi; i += 2) {
        blocks[i] = malloc(size_of(i));
        if (!blocks[i]) {
            report_null(i);
            continue;
        }
        fill(blocks[i], size_of(i), seed_of(i, 1));
    }
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    /* 4: grow every block with realloc; the old contents must survive. */
    for (long i = lo; i < hi; i++) {
        if (!blocks[i]) continue;
        check(i, i % 2);
        unsigned char *q = realloc(blocks[i], grown_size(i));
        if (!q) {
            report_null(i);
            continue;
        }
        if (verify_prefix(q, size_of(i), size_of(i), seed_of(i, i % 2)) != (size_t)-1) {
            long e = atomic_fetch_add(&errors, 1);
            if (e < 5) fprintf(stderr, "stress_live: ERROR block #%ld lost its contents in realloc\n", i);
        }
        blocks[i] = q;
        fill(q, grown_size(i), seed_of(i, 2));
    }
    pthread_barrier_wait(&barrier);
    pthread_barrier_wait(&barrier);
    /* 5: verify and free everything. */
    for (long i = lo; i < hi; i++) {
        if (blocks[i] && verify(blocks[i], grown_size(i), seed_of(i, 2)) != (size_t)-1) {
            long e = atomic_fetch_add(&errors, 1);
            if (e < 5) fprintf(stderr, "stress_live: ERROR grown block #%ld corrupted\n", i);
        }
        free(blocks[i]);
        blocks[i] = NULL;
    }
    pthread_barrier_wait(&barrier);
    return NULL;
}

int main(void)
{
    long live = env_long("STRESS_LIVE", 1000000);
    setvbuf(stdout, NULL, _IOLBF, 0);
    per_thread = live / NT;
    live = per_thread * NT;
    blocks = calloc((size_t)live, sizeof *blocks);
    if (!blocks) return 1;
    pthread_barrier_init(&barrier, NULL, NT + 1);
    double t0 = now_sec();
    printf("stress_live: %ld live blocks of 1..96 bytes over %d threads\n", live, NT);
    phase("start", t0);
    pthread_t th[NT];
    for (long t = 0; t < NT; t++) pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
    const char *names[] = {"all allocated", "verified, half freed", "holes refilled", "all grown by realloc",
                           "all verified and freed"};
    for (int p = 0; p < 5; p++) {
        pthread_barrier_wait(&barrier);
        phase(names[p], t0);
        if (p < 4) pthread_barrier_wait(&barrier);
    }
    for (int t = 0; t < NT; t++) pthread_join(th[t], NULL);
    free(blocks);
    long e = atomic_load(&errors);
    if (e) fprintf(stderr, "stress_live: %ld errors\n", e);
    printf("stress_live: %s\n", e ? "FAILED" : "ok");
    return e ? 1 : 0;
}
