/* neverfreed.c — damage to blocks the program never frees (issue 14, item 3).
 *
 * Usage: neverfreed MODE
 *   exit       write one byte past a 13-byte block (into its alignment slack,
 *              which no guard page covers) and keep the block to the end:
 *              found by the check at exit
 *   leaked     the same, and drop the pointer (run with leaks=1): both the
 *              damage and the leak are reported
 *   underflow  overwrite the head canary 9 bytes before a kept block
 *   call       damage a kept block, call pooldbg_check_heap() (prints
 *              "RETURNED n"), repair the byte, free the block, exit 0
 *   threads    the same while four threads allocate and free at full speed
 *   signal     damage a kept block, raise SIGUSR1 (run with
 *              stats_signal=SIGUSR1): found at the statistics signal
 *   clean      10,000 intact live blocks of every size: nothing to report
 * Prints "ADDR 0x..." for the damaged block. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

int pooldbg_check_heap(void) __attribute__((weak));

static char *kept[10000];
static atomic_int stop;

NOINLINE char *alloc_block(size_t n) { return malloc(n); }

NOINLINE void write_past(char *p, size_t n) { p[n] = 'x'; }

NOINLINE void write_before(char *p, size_t back) { p[-(long)back] = 'x'; }

static void *churn(void *arg)
{
    (void)arg;
    unsigned r = 1;
    while (!atomic_load(&stop)) {
        r = r * 1103515245 + 12345;
        char *q = malloc(1 + r % 5000);
        q[0] = 1;
        free(q);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argv[1];
    if (!strcmp(mode, "clean")) {
        for (int i = 0; i < 10000; i++)
            kept[i] = malloc(1 + (size_t)i * 7 % 20000);
        printf("RETURNED %d\n", pooldbg_check_heap ? pooldbg_check_heap() : -1);
        return 0;
    }
    char *p = alloc_block(13);
    printf("ADDR %p\n", (void *)p);
    kept[0] = p;
    if (!strcmp(mode, "underflow")) {
        write_before(p, 9);
        return 0;
    }
    write_past(p, 13);
    if (!strcmp(mode, "leaked")) {
        kept[0] = NULL;
        p = NULL;
        return 0;
    }
    if (!strcmp(mode, "signal")) {
        raise(SIGUSR1);
        printf("WENT ON\n");
        return 0;
    }
    if (!strcmp(mode, "call") || !strcmp(mode, "threads")) {
        pthread_t t[4];
        int n = !strcmp(mode, "threads") ? 4 : 0;
        for (int i = 0; i < n; i++)
            pthread_create(&t[i], NULL, churn, NULL);
        int found = pooldbg_check_heap ? pooldbg_check_heap() : -1;
        atomic_store(&stop, 1);
        for (int i = 0; i < n; i++)
            pthread_join(t[i], NULL);
        printf("RETURNED %d\n", found);
        p[13] = p[14]; /* the slack's canary byte again */
        free(p);
        kept[0] = NULL;
    }
    return 0;
}
