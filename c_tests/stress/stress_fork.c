/* Soak: fork() many times while other threads allocate.
 *
 * 8 threads malloc/realloc/free continuously (so the allocator's locks are
 * often held at the moment of a fork).  The main thread forks
 * STRESS_FORKS (default 1000) children, two at a time.  Each child:
 *   - checks and frees a block the parent allocated before the fork,
 *   - allocates, fills, verifies, reallocs and frees a few hundred blocks,
 *   - uses stdio and strdup (glibc-internal mallocs),
 *   - one child in ten starts a thread that allocates too,
 *   - exits 0 (via exit(), so atexit handlers and destructors run).
 * A child that deadlocks is killed by its own alarm (STRESS_CHILD_TIMEOUT,
 * default 20 s) and counted as a failure, as is any nonzero exit or signal.
 *
 * Exit status 0 when every child exited 0 and no check failed. */
#include "common.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define NTHREADS 8
#define TSLOTS 128

static atomic_int stop;
static atomic_long thread_errors, thread_ops;

struct tblock {
    unsigned char *p;
    size_t n;
    uint64_t seed;
};

static void *allocator_thread(void *arg)
{
    uint64_t rng = 0xABCDEFull * (uint64_t)(uintptr_t)arg + 7;
    struct tblock slots[TSLOTS];
    memset(slots, 0, sizeof slots);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        struct tblock *b = &slots[rng_below(&rng, TSLOTS)];
        if (b->p) {
            if (verify(b->p, b->n, b->seed) != (size_t)-1) atomic_fetch_add(&thread_errors, 1);
            if (rng_below(&rng, 4) == 0) {
                size_t n = 1 + rng_below(&rng, 2048);
                unsigned char *q = realloc(b->p, n);
                if (!q) {
                    atomic_fetch_add(&thread_errors, 1);
                    continue;
                }
                b->p = q;
                b->n = n;
                b->seed = rng_next(&rng);
                fill(q, n, b->seed);
            } else {
                free(b->p);
                b->p = NULL;
            }
        } else {
            size_t n = rng_below(&rng, 50) == 0 ? 16384 + rng_below(&rng, 200000) : 1 + rng_below(&rng, 512);
            b->p = malloc(n);
            if (!b->p) {
                atomic_fetch_add(&thread_errors, 1);
                continue;
            }
            b->n = n;
            b->seed = rng_next(&rng);
            fill(b->p, n, b->seed);
        }
        atomic_fetch_add_explicit(&thread_ops, 1, memory_order_relaxed);
    }
    for (int i = 0; i < TSLOTS; i++) free(slots[i].p);
    return NULL;
}

static void *child_thread(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    for (int i = 0; i < 200; i++) {
        size_t n = 1 + rng_below(&rng, 4096);
        unsigned char *p = malloc(n);
        if (!p) return (void *)1;
        uint64_t seed = rng_next(&rng);
        fill(p, n, seed);
        if (verify(p, n, seed) != (size_t)-1) return (void *)1;
        free(p);
    }
    return NULL;
}

/* Runs in the child; returns the exit status. */
static int child(int k, unsigned char *pre, size_t pre_n, uint64_t pre_seed, long timeout)
{
    alarm((unsigned)timeout);
    if (verify(pre, pre_n, pre_seed) != (size_t)-1) return 3;
    free(pre);

    uint64_t rng = 0x5151ull * (uint64_t)(k + 1);
    enum { N = 300 };
    unsigned char *ps[N];
    size_t ns[N];
    uint64_t seeds[N];
    for (int i = 0; i < N; i++) {
        ns[i] = rng_below(&rng, 100) == 0 ? 100000 + rng_below(&rng, 300000) : 1 + rng_below(&rng, 1024);
        ps[i] = (rng_below(&rng, 3) == 0) ? calloc(1, ns[i]) : malloc(ns[i]);
        if (!ps[i]) return 4;
        seeds[i] = rng_next(&rng);
        fill(ps[i], ns[i], seeds[i]);
    }
    for (int i = 0; i < N; i += 2) {
        if (verify(ps[i], ns[i], seeds[i]) != (size_t)-1) return 5;
        size_t n = ns[i] * 2 + 1;
        unsigned char *q = realloc(ps[i], n);
        if (!q) return 6;
        if (verify_prefix(q, ns[i], ns[i], seeds[i]) != (size_t)-1) return 7;
        ps[i] = q;
        ns[i] = n;
        seeds[i] = rng_next(&rng);
        fill(q, n, seeds[i]);
    }
    char line[128];
    snprintf(line, sizeof line, "child %d of pid %d", k, (int)getppid());
    char *dup = strdup(line);
    if (!dup || strcmp(dup, line) != 0) return 8;
    free(dup);
    FILE *f = fopen("/proc/self/statm", "r"); /* stdio buffer: a glibc malloc */
    if (f) {
        unsigned long a, b;
        if (fscanf(f, "%lu %lu", &a, &b) != 2) return 9;
        fclose(f);
    }
    if (k % 10 == 0) {
        pthread_t th;
        if (pthread_create(&th, NULL, child_thread, (void *)(uintptr_t)(k + 1)) != 0) return 10;
        void *ret;
        pthread_join(th, &ret);
        if (ret) return 11;
    }
    for (int i = 0; i < N; i++) {
        if (verify(ps[i], ns[i], seeds[i]) != (size_t)-1) return 12;
        free(ps[i]);
    }
    return 0;
}

int main(void)
{
    long forks = env_long("STRESS_FORKS", 1000);
    long timeout = env_long("STRESS_CHILD_TIMEOUT", 20);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("stress_fork: %ld forks, 2 at a time, while %d threads allocate\n", forks, NTHREADS);

    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, allocator_thread, (void *)(uintptr_t)(i + 1));

    long failures = 0, done = 0;
    double t0 = now_sec();
    uint64_t rng = 42;
    pid_t running[2] = {0, 0};
    int slot_k[2] = {0, 0};
    for (long k = 0; k < forks || running[0] || running[1];) {
        int s = !running[0] ? 0 : !running[1] ? 1 : -1;
        if (s >= 0 && k < forks) {
            size_t pre_n = 1 + rng_below(&rng, 3000);
            uint64_t pre_seed = rng_next(&rng);
            unsigned char *pre = malloc(pre_n);
            if (!pre) return 1;
            fill(pre, pre_n, pre_seed);
            fflush(stdout);
            pid_t pid = fork();
            if (pid < 0) {
                perror("stress_fork: fork");
                failures++;
                free(pre);
                k++;
                continue;
            }
            if (pid == 0) exit(child((int)k, pre, pre_n, pre_seed, timeout));
            free(pre);
            running[s] = pid;
            slot_k[s] = (int)k;
            k++;
            continue;
        }
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            perror("stress_fork: waitpid");
            return 1;
        }
        int which = running[0] == pid ? 0 : 1;
        running[which] = 0;
        done++;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            failures++;
            if (failures <= 20) {
                if (WIFSIGNALED(status))
                    fprintf(stderr, "stress_fork: ERROR child %d (pid %d) killed by signal %d%s\n", slot_k[which],
                            (int)pid, WTERMSIG(status),
                            WTERMSIG(status) == SIGALRM ? " (its alarm: deadlock or hang)" : "");
                else
                    fprintf(stderr, "stress_fork: ERROR child %d (pid %d) exited %d\n", slot_k[which], (int)pid,
                            WEXITSTATUS(status));
            }
        }
        if (done % 100 == 0)
            printf("stress_fork: %5ld children done, %ld failed, %.1f s, parent ops %ld, VMAs %ld, RSS %.1f MiB\n",
                   done, failures, now_sec() - t0, atomic_load(&thread_ops), vma_count(), rss_mib());
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    long te = atomic_load(&thread_errors);
    if (te) fprintf(stderr, "stress_fork: ERROR %ld pattern/allocation errors in the parent's threads\n", te);
    printf("stress_fork: %ld children, %ld failed, %.1f s\n", done, failures, now_sec() - t0);
    printf("stress_fork: %s\n", (failures || te) ? "FAILED" : "ok");
    return (failures || te) ? 1 : 0;
}
