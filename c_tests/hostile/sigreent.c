/* sigreent — signal handlers that call malloc/free.
 *
 *   sigreent inside  SECONDS NTHREADS   workers hammer malloc/calloc/realloc/
 *                                       posix_memalign/free (small and large,
 *                                       so the commit path runs too); SIGALRM
 *                                       from setitimer (100 us) and SIGUSR1
 *                                       sent to each worker in turn interrupt
 *                                       them, and the handlers malloc+free
 *   sigreent outside SECONDS NTHREADS   the same signals and handlers, but
 *                                       the workers only compute (no thread
 *                                       is ever inside the allocator when a
 *                                       signal arrives): every handler's
 *                                       malloc must be served
 * (signals start after a 0.3 s warm-up of the workers)
 *
 * Either the run completes (exit 0, prints "sigreent: completed ...") or the
 * library stops it with "libpooldbg: ERROR: allocator re-entered while
 * holding one of its locks" and SIGABRT; the harness decides which outcome
 * is allowed and treats a timeout as a deadlock.  The handler counts go to
 * stdout every 1/4 s (write(2), so a run that aborts still shows how far it
 * got), when the library aborts, and at the end.  Worker blocks carry a pattern checked before free;
 * a mismatch exits 3.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_long served, handled, refused_null, worker_ops, sent;
static atomic_int stop;
static int outside;

static __thread uint64_t hrng = 0x1234567;
static uint64_t xs(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void handler(int sig)
{
    (void)sig;
    int saved = errno;
    atomic_fetch_add(&handled, 1);
    uint64_t r = xs(&hrng);
    size_t n = (r & 15) == 0 ? 70000 + (r >> 40) % 300000 : 1 + (r >> 20) % 2000;
    unsigned char *p = (r & 64) ? calloc(1, n) : malloc(n);
    if (p) {
        p[0] = 0xa5;
        p[n - 1] = 0x5a;
        if ((r & 3) == 0) {
            unsigned char *q = realloc(p, n + 50);
            if (q)
                p = q;
        }
        free(p);
        atomic_fetch_add(&served, 1);
    } else {
        atomic_fetch_add(&refused_null, 1);
    }
    errno = saved;
}

static void progress(const char *what)
{
    char buf[200];
    int n = snprintf(buf, sizeof buf, "sigreent: %s handled=%ld served=%ld null=%ld sent=%ld worker_ops=%ld\n", what,
                     atomic_load(&handled), atomic_load(&served), atomic_load(&refused_null), atomic_load(&sent),
                     atomic_load(&worker_ops));
    if (write(1, buf, n) < 0) {
    }
}

/* The library stops a re-entry with abort(): show how far the run got. */
static void on_abrt(int sig)
{
    progress("aborted");
    signal(sig, SIG_DFL);
    raise(sig);
}

#define SLOTS 48
static void *worker(void *arg)
{
    uint64_t s = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);
    hrng = s ^ 0xabcdef;
    unsigned char *blk[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    unsigned char tag[SLOTS] = {0};
    volatile double acc = 1.0;
    while (!atomic_load(&stop)) {
        if (outside) {
            for (int i = 0; i < 20000; i++)
                acc = acc * 1.0000001 + 0.5;
            atomic_fetch_add(&worker_ops, 1);
            continue;
        }
        uint64_t r = xs(&s);
        int i = (int)(r % SLOTS);
        if (blk[i]) {
            for (size_t k = 0; k < len[i]; k += 97)
                if (blk[i][k] != tag[i]) {
                    char m[120];
                    int n = snprintf(m, sizeof m, "sigreent: worker block %p corrupted at %zu\n", (void *)blk[i], k);
                    if (write(2, m, n) < 0) {
                    }
                    _exit(3);
                }
            free(blk[i]);
            blk[i] = NULL;
        }
        size_t n = (r >> 8) % 8 == 0 ? 65536 + (r >> 20) % 500000 : 1 + (r >> 20) % 3000;
        unsigned char *p;
        switch ((r >> 4) % 4) {
        case 0:
            p = calloc(1, n);
            break;
        case 1: {
            void *q = NULL;
            p = posix_memalign(&q, 256, n) ? NULL : q;
            break;
        }
        case 2:
            p = malloc(n / 2 + 1);
            if (p) {
                unsigned char *q = realloc(p, n);
                if (q)
                    p = q;
                else {
                    free(p);
                    p = NULL;
                }
            }
            break;
        default:
            p = malloc(n);
        }
        if (!p)
            continue;
        tag[i] = (unsigned char)r;
        for (size_t k = 0; k < n; k += 97)
            p[k] = tag[i];
        blk[i] = p;
        len[i] = n;
        atomic_fetch_add(&worker_ops, 1);
    }
    for (int i = 0; i < SLOTS; i++)
        free(blk[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s inside|outside SECONDS NTHREADS\n", argv[0]);
        return 2;
    }
    outside = strcmp(argv[1], "outside") == 0;
    double seconds = atof(argv[2]);
    int nthreads = atoi(argv[3]);
    if (nthreads < 1 || nthreads > 64)
        nthreads = 4;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    /* One handler at a time per thread: otherwise SIGUSR1 could interrupt the
     * SIGALRM handler inside malloc, which is the "inside" case again. */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGALRM);
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGABRT, on_abrt);

    /* The main thread only sends signals: it keeps SIGALRM blocked so the
     * timer lands on the workers. */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigaddset(&block, SIGUSR1);
    pthread_t t[64];
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) != 0) {
            fprintf(stderr, "sigreent: pthread_create failed\n");
            return 2;
        }
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    /* Warm-up: let the workers' heap reach a steady state (pools committed)
     * before the signals start, so the run measures the steady state too. */
    struct timespec warm = {0, 300000000};
    nanosleep(&warm, NULL);

    struct itimerval it = {{0, 100}, {0, 100}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long rounds = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
        if (el >= seconds)
            break;
        for (int i = 0; i < nthreads; i++) {
            pthread_kill(t[i], SIGUSR1);
            atomic_fetch_add(&sent, 1);
        }
        struct timespec d = {0, 50000};
        nanosleep(&d, NULL);
        if (++rounds % 4000 == 0)
            progress("progress");
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    /* after all that, the allocator still works */
    for (int i = 0; i < 10000; i++) {
        size_t n = 1 + (size_t)i % 4000;
        unsigned char *p = malloc(n);
        if (!p) {
            fprintf(stderr, "sigreent: malloc failed after the run\n");
            return 4;
        }
        memset(p, i, n);
        if (p[n - 1] != (unsigned char)i)
            return 4;
        free(p);
    }
    progress(outside ? "completed(outside)" : "completed(inside)");
    return 0;
}
