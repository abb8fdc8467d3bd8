/* fork.c — fork() while other threads hold and churn the heap.
 *
 * Usage: fork [FORKS] [THREADS]     (defaults 100 and 8)
 * THREADS threads allocate and free continuously while the main thread forks
 * FORKS times. Each child mallocs, frees, uses stdio and exits 0. The parent
 * waits (bounded by alarm) and fails if a child runs longer than 10 s (it is
 * killed) or exits nonzero — the classic symptom of a pool lock copied held into the
 * child. */
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
#include <unistd.h>

/* Hides p from the optimiser (thread-safe: no shared variable). */
static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

static atomic_int stop;
static atomic_long thread_ops;

static void *churn(void *arg) {
    uint64_t r = 88172645463325252ull + (uintptr_t)arg;
    void *keep[64] = {0};
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alrm, NULL); /* the main thread gets alarm() */
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        size_t i = r % 64;
        free(keep[i]);
        size_t n = 16 + (r >> 8) % 6000;
        keep[i] = opaque(malloc(n));
        if (!keep[i]) {
            printf("FAIL: malloc(%zu) returned NULL in a churn thread\n", n);
            exit(1);
        }
        memset(keep[i], (int)r, n < 64 ? n : 64);
        atomic_fetch_add_explicit(&thread_ops, 1, memory_order_relaxed);
    }
    for (size_t i = 0; i < 64; i++)
        free(keep[i]);
    return NULL;
}

static void child_work(void) {
    void *blocks[100];
    for (int i = 0; i < 100; i++) {
        blocks[i] = opaque(malloc(16 + (size_t)i * 97));
        if (!blocks[i])
            _exit(10);
        memset(blocks[i], i, 16);
    }
    for (int i = 0; i < 100; i++)
        free(blocks[i]);
    char *s = NULL;
    if (asprintf(&s, "child %d", (int)getpid()) < 0)
        _exit(11);
    free(s);
    void *big = opaque(calloc(1, 1 << 20));
    if (!big)
        _exit(12);
    free(big);
    exit(0); /* the normal exit path, atexit handlers included */
}

static void on_alarm(int sig) { (void)sig; }

int main(int argc, char **argv) {
    int forks = argc > 1 ? atoi(argv[1]) : 100;
    int nthreads = argc > 2 ? atoi(argv[2]) : 8;
    if (nthreads > 64)
        nthreads = 64;
    pthread_t t[64];
    for (intptr_t i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, churn, (void *)i);
    while (nthreads > 0 && atomic_load(&thread_ops) < 1000)
        sched_yield(); /* make sure the threads are really churning */

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid returns EINTR */
    sigaction(SIGALRM, &sa, NULL);

    int failed = 0;
    for (int f = 0; f < forks && !failed; f++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            printf("FAIL: fork #%d: %s\n", f, strerror(errno));
            failed = 1;
            break;
        }
        if (pid == 0)
            child_work();
        /* Blocking wait bounded by alarm(): SIGALRM interrupts waitpid. */
        int status;
        alarm(10);
        pid_t w = waitpid(pid, &status, 0);
        int err = errno;
        alarm(0);
        if (w < 0 && err == EINTR) {
            printf("FAIL: child #%d (pid %d) still running after 10 s: "
                   "deadlocked after fork? killing it\n",
                   f, (int)pid);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            failed = 1;
        } else if (w != pid) {
            printf("FAIL: waitpid: %s\n", strerror(err));
            failed = 1;
        }
        if (failed)
            break;
        if (WIFSIGNALED(status)) {
            printf("FAIL: child #%d died by signal %d (%s)\n", f,
                   WTERMSIG(status), strsignal(WTERMSIG(status)));
            failed = 1;
        } else if (WEXITSTATUS(status) != 0) {
            printf("FAIL: child #%d exited with status %d\n", f,
                   WEXITSTATUS(status));
            failed = 1;
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    printf("fork: %d forks with %d churning threads (%ld thread ops): %s\n",
           forks, nthreads, (long)atomic_load(&thread_ops),
           failed ? "FAILED" : "ok");
    return failed;
}
