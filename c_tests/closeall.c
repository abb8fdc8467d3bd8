/* closeall.c — a program that closes every descriptor it did not open
 * itself (daemons, sandboxes, test harnesses do), while blocks are live.
 *
 * Usage: closeall CASE     CASE: live | uaf
 * After closing descriptors 3 and up (close_range, or a close loop where
 * that is missing) the program allocates, frees and keeps using its live
 * blocks: a guard mechanism that lived in a closed descriptor must come
 * back by itself. live: exits 0; uaf: reads a block freed after the close,
 * which must be reported (SIGABRT). */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuse-after-free"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

static void close_all(void) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, ~0u, 0) == 0)
        return;
#endif
    struct rlimit r;
    long max = getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur != RLIM_INFINITY ? (long)r.rlim_cur : 65536;
    for (long fd = 3; fd < max; fd++)
        close((int)fd);
}

int main(int argc, char **argv) {
    if (argc != 2 || (strcmp(argv[1], "live") && strcmp(argv[1], "uaf"))) {
        fprintf(stderr, "usage: closeall live|uaf\n");
        return 2;
    }
    char *keep[64];
    for (int i = 0; i < 64; i++) {
        keep[i] = opaque(malloc(100 + (size_t)i));
        memset(keep[i], i, 100 + (size_t)i);
    }
    close_all();
    for (int i = 0; i < 1000; i++) {
        char *p = opaque(malloc((size_t)i * 7 + 1));
        p[(size_t)i * 7] = 1;
        free(p);
    }
    for (int i = 0; i < 64; i++)
        if (keep[i][99] != (char)i)
            return 10;
    if (!strcmp(argv[1], "uaf")) {
        char *p = opaque(malloc(48));
        free(p);
        printf("REACHED uaf %p\n", (void *)p);
        fflush(stdout);
        printf("read %d\n", ((volatile char *)p)[0]);
        return 0;
    }
    printf("live ok\n");
    return 0;
}
