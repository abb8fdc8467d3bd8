/* libforkhandlers.so — a library whose constructor registers fork handlers
 * that allocate (as libraries with pools or caches do). Linked by the
 * program, it is initialised before a preloaded library, so its prepare
 * handler runs after libpooldbg's and its parent and child handlers before
 * libpooldbg's: while libpooldbg holds its locks for the fork. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void *kept;

static void prepare(void) {
    void *p = malloc(100);
    memset(p, 1, 100);
    free(p);
    kept = malloc(64);
}

static void parent(void) {
    free(kept);
    kept = NULL;
    void *p = malloc(5000);
    memset(p, 2, 5000);
    free(p);
}

static void child(void) {
    free(kept);
    kept = NULL;
    char *p = calloc(1, 300);
    p[299] = 1;
    free(p);
}

__attribute__((constructor)) static void init(void) {
    pthread_atfork(prepare, parent, child);
}

/* Gives the program a reason to link the library. */
int forkhandlers_ready(void) {
    return 1;
}
