/* Soak: many short-lived threads whose pthread_key destructors malloc and
 * free.
 *
 * STRESS_TLS_THREADS (default 10000) threads are created in waves of
 * STRESS_TLS_WAVE (default 16); one in four is detached instead of joined,
 * one in eight leaves through pthread_exit.  Each thread:
 *   - allocates blocks and stores them under two pthread keys,
 *   - allocates and frees some more, and keeps a __thread pointer to one,
 *   - key A's destructor verifies and frees its block, then allocates a new
 *     one and sets it again (so glibc calls the destructor a second time),
 *   - key B's destructor mallocs a scratch buffer, uses it, frees it, and
 *     frees its own block.
 * At the end every destructor call must have happened, every pattern must
 * have held, and VMAs / RSS must not have grown with the thread count.
 *
 * Exit status 0 when every check passed. */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>

static pthread_key_t key_a, key_b;
static atomic_long a_calls, a_second, b_calls, errors, finished;
static __thread unsigned char *tls_block;

struct tagged {
    uint64_t seed;
    size_t n;
    int round; /* key A: 0 first value, 1 the value set by the destructor */
    unsigned char data[];
};

static struct tagged *make(size_t n, uint64_t seed, int round)
{
    struct tagged *t = malloc(sizeof *t + n);
    if (!t) {
        atomic_fetch_add(&errors, 1);
        return NULL;
    }
    t->seed = seed;
    t->n = n;
    t->round = round;
    fill(t->data, n, seed);
    return t;
}

static int check(struct tagged *t)
{
    if (verify(t->data, t->n, t->seed) != (size_t)-1) {
        atomic_fetch_add(&errors, 1);
        fprintf(stderr, "stress_tls: ERROR block %p (size %zu) corrupted\n", (void *)t, t->n);
        return 0;
    }
    return 1;
}

static void destroy_a(void *v)
{
    struct tagged *t = v;
    atomic_fetch_add(&a_calls, 1);
    check(t);
    int round = t->round;
    uint64_t seed = t->seed;
    free(t);
    if (round == 0) {
        /* Set a new value: glibc runs the destructors again. */
        struct tagged *again = make(64 + (seed % 2000), seed * 3 + 1, 1);
        if (again) pthread_setspecific(key_a, again);
    } else {
        atomic_fetch_add(&a_second, 1);
    }
}

static void destroy_b(void *v)
{
    struct tagged *t = v;
    atomic_fetch_add(&b_calls, 1);
    check(t);
    char *scratch = malloc(256 + (t->seed % 4096));
    if (!scratch) {
        atomic_fetch_add(&errors, 1);
    } else {
        snprintf(scratch, 256, "destructor of thread block %p", (void *)t);
        char *d = strdup(scratch);
        if (!d || strcmp(d, scratch) != 0) atomic_fetch_add(&errors, 1);
        free(d);
        free(scratch);
    }
    free(t);
}

static void *thread_main(void *arg)
{
    long k = (long)(intptr_t)arg;
    uint64_t rng = 0x777ull * (uint64_t)(k + 1);
    struct tagged *a = make(1 + rng_below(&rng, 3000), rng_next(&rng), 0);
    struct tagged *b = make(1 + rng_below(&rng, 100000), rng_next(&rng), 0);
    if (a) pthread_setspecific(key_a, a);
    if (b) pthread_setspecific(key_b, b);
    tls_block = malloc(128);
    if (tls_block) memset(tls_block, (int)k, 128);

    void *tmp[32];
    size_t tn[32];
    uint64_t ts[32];
    for (int i = 0; i < 32; i++) {
        tn[i] = 1 + rng_below(&rng, i % 8 == 0 ? 65536 : 512);
        ts[i] = rng_next(&rng);
        tmp[i] = malloc(tn[i]);
        if (!tmp[i]) {
            atomic_fetch_add(&errors, 1);
            tn[i] = 0;
            continue;
        }
        fill(tmp[i], tn[i], ts[i]);
    }
    for (int i = 31; i >= 0; i--) {
        if (tmp[i] && verify(tmp[i], tn[i], ts[i]) != (size_t)-1) atomic_fetch_add(&errors, 1);
        free(tmp[i]);
    }
    if (tls_block) {
        for (int i = 0; i < 128; i++)
            if (tls_block[i] != (unsigned char)k) {
                atomic_fetch_add(&errors, 1);
                break;
            }
        free(tls_block);
        tls_block = NULL;
    }
    atomic_fetch_add(&finished, 1);
    if (k % 8 == 3) pthread_exit(NULL);
    return NULL;
}

int main(void)
{
    long total = env_long("STRESS_TLS_THREADS", 10000);
    long wave = env_long("STRESS_TLS_WAVE", 16);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (pthread_key_create(&key_a, destroy_a) || pthread_key_create(&key_b, destroy_b)) {
        fprintf(stderr, "stress_tls: pthread_key_create failed\n");
        return 1;
    }
    printf("stress_tls: %ld threads in waves of %ld; start: VMAs %ld, RSS %.1f MiB\n", total, wave, vma_count(),
           rss_mib());
    double t0 = now_sec();
    long created = 0, detached = 0;
    long v_early = -1, next_report = 1000;
    double r_early = -1;
    pthread_t *ths = malloc((size_t)wave * sizeof *ths);
    int *joinable = malloc((size_t)wave * sizeof *joinable);
    if (!ths || !joinable) return 1;
    while (created < total) {
        long n = total - created < wave ? total - created : wave;
        for (long i = 0; i < n; i++) {
            long k = created + i;
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            joinable[i] = (k % 4 != 1);
            if (!joinable[i]) {
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                detached++;
            }
            int rc = pthread_create(&ths[i], &attr, thread_main, (void *)(intptr_t)k);
            pthread_attr_destroy(&attr);
            if (rc) {
                fprintf(stderr, "stress_tls: ERROR pthread_create #%ld: %s\n", k, strerror(rc));
                atomic_fetch_add(&errors, 1);
                joinable[i] = 0;
                atomic_fetch_add(&finished, 1);
                atomic_fetch_add(&a_calls, 2);
                atomic_fetch_add(&a_second, 1);
                atomic_fetch_add(&b_calls, 1);
            }
        }
        for (long i = 0; i < n; i++)
            if (joinable[i]) pthread_join(ths[i], NULL);
        created += n;
        if (created >= next_report || created == total) {
            next_report += 1000;
            long v = vma_count();
            double r = rss_mib();
            if (v_early < 0) { /* the baseline: after the first ~1000 threads */
                v_early = v;
                r_early = r;
            }
            printf("stress_tls: %6ld threads, %.1f s, VMAs %ld, RSS %.1f MiB\n", created, now_sec() - t0, v, r);
        }
    }
    /* Detached threads may still be running their destructors. */
    double deadline = now_sec() + 30;
    while ((atomic_load(&a_second) < total || atomic_load(&b_calls) < total) && now_sec() < deadline)
        usleep(10000);
    usleep(100000);
    long v_end = vma_count();
    double r_end = rss_mib();
    printf("stress_tls: %ld threads (%ld detached) in %.1f s; destructor calls A %ld (second round %ld), B %ld; "
           "end: VMAs %ld, RSS %.1f MiB\n",
           created, detached, now_sec() - t0, atomic_load(&a_calls), atomic_load(&a_second),
           atomic_load(&b_calls), v_end, r_end);
    int bad = 0;
    if (atomic_load(&finished) != total) {
        fprintf(stderr, "stress_tls: ERROR %ld of %ld threads finished\n", atomic_load(&finished), total);
        bad = 1;
    }
    if (atomic_load(&a_calls) != 2 * total || atomic_load(&a_second) != total || atomic_load(&b_calls) != total) {
        fprintf(stderr, "stress_tls: ERROR destructor calls: A %ld (want %ld), B %ld (want %ld)\n",
                atomic_load(&a_calls), 2 * total, atomic_load(&b_calls), total);
        bad = 1;
    }
    if (v_early >= 0 && v_end > v_early + v_early / 2 + 500) {
        fprintf(stderr, "stress_tls: ERROR VMAs grew with the thread count: %ld -> %ld\n", v_early, v_end);
        bad = 1;
    }
    if (r_early >= 0 && r_end > r_early * 1.5 + 128) {
        fprintf(stderr, "stress_tls: ERROR RSS grew with the thread count: %.1f -> %.1f MiB\n", r_early, r_end);
        bad = 1;
    }
    long e = atomic_load(&errors);
    if (e) fprintf(stderr, "stress_tls: %ld errors\n", e);
    free(ths);
    free(joinable);
    printf("stress_tls: %s\n", (e || bad) ? "FAILED" : "ok");
    return (e || bad) ? 1 : 0;
}
