/* threadexit.c — frees that come after a thread's last key destructor.
 *
 * Usage: threadexit [THREADS]     (default 2000)
 * Each thread calls strerror() on an unknown error, so glibc allocates a
 * buffer that it frees only after the thread's key destructors have run
 * (__libc_thread_freeres), then exits; the main thread joins them one by
 * one and prints libpooldbg's pool statistics (pooldbg_print_stats, looked
 * up with dlsym) to stderr. Every slot a pool handed out must be live or in
 * the quarantine: the harness checks that no more than the main thread's
 * own magazines (8 slots a pool) are neither. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *worker(void *arg) {
    (void)arg;
    const char *s = strerror(9999);
    return (void *)(size_t)strlen(s);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) != 0) {
            perror("pthread_create");
            return 2;
        }
        pthread_join(t, NULL);
    }
    void (*stats)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "pooldbg_print_stats");
    if (!stats) {
        fprintf(stderr, "threadexit: pooldbg_print_stats not found (is the library preloaded?)\n");
        return 2;
    }
    stats();
    printf("threadexit: %d threads\n", n);
    return 0;
}
