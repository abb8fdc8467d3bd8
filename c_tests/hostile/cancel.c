/* cancel — pthread_cancel during allocation-heavy work.
 *
 *   cancel deferred ROUNDS   each round starts 4 threads that allocate, fill,
 *                            realloc and free non-stop, with cancellation
 *                            points (pthread_testcancel, and write(2) to
 *                            /dev/null) between allocator calls and a
 *                            cleanup handler that frees what the thread holds;
 *                            after 0..3 ms the main thread cancels them all
 *                            and joins (each must end PTHREAD_CANCELED)
 *   cancel async ROUNDS      the same threads switch to
 *                            PTHREAD_CANCEL_ASYNCHRONOUS while they write and
 *                            check their blocks' contents, and back to deferred
 *                            around each allocator call (the legal way to mix
 *                            async cancellation with malloc: POSIX makes only
 *                            three functions async-cancel-safe)
 *   cancel async-in-malloc ROUNDS
 *                            asynchronous cancellation left on across malloc
 *                            and free (undefined behaviour in POSIX; run for
 *                            information only: does the allocator survive a
 *                            thread unwound out of the middle of malloc?)
 *
 * After every round the main thread allocates and frees 100 blocks, and at
 * the end 10,000 with content checks.  A hang is caught by alarm(60) (exit
 * by SIGALRM) and the harness's timeout.  Prints
 * "cancel: mode=M rounds=R cancelled=C finished=F" and exits 0 if all ok.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { DEFERRED, ASYNC, ASYNC_IN_MALLOC } mode;
static int devnull;
static atomic_long ops, corrupt;

#define SLOTS 24
struct hold {
    unsigned char *b[SLOTS];
    size_t n[SLOTS];
};

static int no_cleanup; /* CANCEL_NO_CLEANUP=1: the cancelled thread's blocks leak */
static void cleanup(void *arg)
{
    struct hold *h = arg;
    if (no_cleanup)
        return;
    for (int i = 0; i < SLOTS; i++) {
        free(h->b[i]);
        h->b[i] = NULL;
    }
}

static inline void async_on(void)
{
    int old;
    if (mode != DEFERRED)
        pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
}
static inline void async_off(void)
{
    int old;
    if (mode == ASYNC)
        pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old);
}

static void *worker(void *arg)
{
    struct hold h;
    memset(&h, 0, sizeof h);
    uint64_t x = 0x2545F4914F6CDD1DULL * ((uintptr_t)arg + 1);
    pthread_cleanup_push(cleanup, &h);
    if (mode == ASYNC_IN_MALLOC)
        async_on();
    for (;;) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % SLOTS);
        size_t n = (x >> 12) % 8 == 0 ? 20000 + (x >> 20) % 200000 : 1 + (x >> 20) % 2000;
        /* allocator calls: deferred cancellation only (except async-in-malloc) */
        unsigned char *old = h.b[i];
        h.b[i] = NULL;
        free(old);
        unsigned char *p = (x & 1) ? malloc(n) : calloc(1, n);
        if (p && (x & 6) == 0) {
            unsigned char *q = realloc(p, n + 100);
            if (q)
                p = q;
        }
        h.b[i] = p;
        h.n[i] = n;
        if (!p)
            continue;
        /* memory work: async cancellation allowed here */
        async_on();
        unsigned char tag = (unsigned char)(x >> 8);
        for (size_t k = 0; k < n; k++)
            p[k] = tag;
        for (size_t k = 0; k < n; k += 61)
            if (p[k] != tag)
                atomic_fetch_add(&corrupt, 1);
        async_off();
        atomic_fetch_add(&ops, 1);
        if ((x & 63) == 0 && write(devnull, "x", 1) < 0) /* a cancellation point */
            break;
        pthread_testcancel();
    }
    pthread_cleanup_pop(1);
    return NULL;
}

static int check_heap(int blocks)
{
    for (int i = 0; i < blocks; i++) {
        size_t n = 1 + (size_t)(i * 7) % 5000;
        unsigned char *p = malloc(n);
        if (!p)
            return 0;
        memset(p, i, n);
        for (size_t k = 0; k < n; k++)
            if (p[k] != (unsigned char)i)
                return 0;
        free(p);
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s deferred|async|async-in-malloc ROUNDS\n", argv[0]);
        return 2;
    }
    mode = !strcmp(argv[1], "async") ? ASYNC : !strcmp(argv[1], "async-in-malloc") ? ASYNC_IN_MALLOC : DEFERRED;
    int rounds = atoi(argv[2]);
    no_cleanup = getenv("CANCEL_NO_CLEANUP") != NULL;
    devnull = open("/dev/null", O_WRONLY);
    alarm(60);
    long cancelled = 0, finished = 0, bad_heap = 0;
    unsigned seed = 12345;
    for (int r = 0; r < rounds; r++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(r * 4 + i)) != 0) {
                printf("cancel: pthread_create failed in round %d\n", r);
                return 1;
            }
        seed = seed * 1103515245 + 12345;
        struct timespec d = {0, (long)(seed >> 8) % 3000000};
        nanosleep(&d, NULL);
        for (int i = 0; i < 4; i++)
            pthread_cancel(t[i]);
        for (int i = 0; i < 4; i++) {
            void *ret;
            pthread_join(t[i], &ret);
            if (ret == PTHREAD_CANCELED)
                cancelled++;
            else
                finished++;
        }
        if (!check_heap(100))
            bad_heap++;
    }
    int ok = check_heap(10000);
    printf("cancel: mode=%s rounds=%d cancelled=%ld finished=%ld worker_ops=%ld corrupt=%ld bad_heap=%ld final=%s\n",
           argv[1], rounds, cancelled, finished, atomic_load(&ops), atomic_load(&corrupt), bad_heap,
           ok ? "ok" : "BAD");
    return ok && !bad_heap && !atomic_load(&corrupt) && cancelled == 4L * rounds ? 0 : 1;
}
