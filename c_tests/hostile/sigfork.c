/* sigfork — fork() from inside a signal handler while other threads allocate.
 *
 *   sigfork idle COUNT NTHREADS   the SIGUSR1 handler runs on the main
 *                                 thread, which sits in waitpid (never inside
 *                                 the allocator); NTHREADS workers allocate
 *                                 and free all the time (they block SIGUSR1).
 *                                 The handler forks; every child (still in
 *                                 the handler) allocates, fills, checks,
 *                                 reallocs and frees 200 blocks, starts no
 *                                 thread, and _exits 0.  COUNT children.
 *   sigfork busy COUNT NTHREADS   the handler runs on the allocating workers
 *                                 themselves (pthread_kill to each in turn),
 *                                 so a fork may start while the interrupted
 *                                 thread is inside malloc/free. Allowed: the
 *                                 run completes, or the library stops it with
 *                                 its re-entry report. A hang is the bug.
 *
 * Each child arms alarm(10) first, so a deadlocked child dies by SIGALRM and
 * counts as a failure; the parent reaps every child and prints
 * "sigfork: children=N ok=K failed=F".  Exit 0 iff all COUNT children
 * exited 0.  (A deadlock in the parent itself is caught by the harness's
 * timeout.)
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static atomic_long forked, fork_failed, worker_ops;
static int busy;

static void child_work(void)
{
    alarm(10);
    unsigned char *b[64] = {0};
    size_t n[64];
    for (int r = 0; r < 200; r++) {
        int i = r % 64;
        if (b[i]) {
            for (size_t k = 0; k < n[i]; k++)
                if (b[i][k] != (unsigned char)(i + k))
                    _exit(5);
            free(b[i]);
        }
        n[i] = 1 + (size_t)(r * 131) % (r % 10 == 0 ? 200000 : 2000);
        b[i] = malloc(n[i]);
        if (!b[i])
            _exit(6);
        for (size_t k = 0; k < n[i]; k++)
            b[i][k] = (unsigned char)(i + k);
        if (r % 7 == 0) {
            unsigned char *q = realloc(b[i], n[i] + 33);
            if (!q)
                _exit(7);
            b[i] = q;
        }
    }
    for (int i = 0; i < 64; i++)
        free(b[i]);
    _exit(0);
}

static void on_usr1(int sig)
{
    (void)sig;
    int e = errno;
    pid_t p = fork();
    if (p == 0)
        child_work();
    if (p < 0)
        atomic_fetch_add(&fork_failed, 1);
    else
        atomic_fetch_add(&forked, 1);
    errno = e;
}

static void *worker(void *arg)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(busy ? SIG_UNBLOCK : SIG_BLOCK, &s, NULL);
    uint64_t x = 88172645463325252ULL + (uintptr_t)arg;
    unsigned char *b[32] = {0};
    while (!atomic_load(&stop)) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % 32);
        free(b[i]);
        size_t n = (x >> 10) % 16 == 0 ? 100000 : 1 + (x >> 20) % 1500;
        b[i] = malloc(n);
        if (b[i]) {
            b[i][0] = 1;
            b[i][n - 1] = 2;
        }
        atomic_fetch_add(&worker_ops, 1);
    }
    for (int i = 0; i < 32; i++)
        free(b[i]);
    return NULL;
}

static pthread_t mainthr;
static pthread_t workers[16];
static int nthreads;
static atomic_long want;

static void *signaller(void *arg)
{
    (void)arg;
    long k = 0;
    while (!atomic_load(&stop)) {
        if (atomic_load(&forked) + atomic_load(&fork_failed) < atomic_load(&want))
            pthread_kill(busy ? workers[k++ % nthreads] : mainthr, SIGUSR1);
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s idle|busy COUNT NTHREADS\n", argv[0]);
        return 2;
    }
    busy = strcmp(argv[1], "busy") == 0;
    long count = atol(argv[2]);
    nthreads = atoi(argv[3]);
    if (nthreads < 1 || nthreads > 16)
        nthreads = 4;
    atomic_store(&want, count);
    mainthr = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    if (busy) { /* the main thread only reaps */
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_create(&workers[i], NULL, worker, (void *)(uintptr_t)i);
    pthread_t sig;
    {
        /* the signaller must never take SIGUSR1 itself */
        sigset_t s, old;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &s, &old);
        pthread_create(&sig, NULL, signaller, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    long reaped = 0, ok = 0, bad = 0;
    while (reaped < count) {
        int st;
        pid_t p = waitpid(-1, &st, __WALL);
        if (p < 0) {
            if (errno == EINTR || errno == ECHILD) {
                struct timespec d = {0, 1000000};
                nanosleep(&d, NULL);
                if (atomic_load(&fork_failed) > count)
                    break;
                continue;
            }
            break;
        }
        reaped++;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
        else {
            bad++;
            if (bad <= 10)
                printf("sigfork: child %d %s %d\n", p, WIFSIGNALED(st) ? "killed by signal" : "exited",
                       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        }
    }
    atomic_store(&stop, 1);
    pthread_join(sig, NULL);
    for (int i = 0; i < nthreads; i++)
        pthread_join(workers[i], NULL);
    printf("sigfork: mode=%s children=%ld ok=%ld failed=%ld fork_errors=%ld worker_ops=%ld\n", busy ? "busy" : "idle",
           reaped, ok, bad, atomic_load(&fork_failed), atomic_load(&worker_ops));
    return ok == count ? 0 : 1;
}
