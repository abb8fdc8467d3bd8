/* scale.c — a million live guarded blocks (issue 4).
 *
 * Usage: scale SMALL BIG MAX_MAPS GUARDED [dense]
 *   SMALL live malloc(64) blocks and BIG live malloc(65536) blocks at once;
 *   the process must stay under MAX_MAPS memory maps (/proc/self/maps lines);
 *   forked children then touch, for blocks among the first GUARDED small ones
 *   and among the big ones, the byte just past the block and a freed block:
 *   every child must be killed by the library's report (SIGABRT) or SIGSEGV.
 *   Then a bulk free must give the memory back (RSS falls to under a quarter),
 *   and a 1 GiB block and a 256 -> 512 MiB realloc must work and stay guarded.
 *   "dense" (guard=mprotect past vm.max_map_count): the big blocks came from
 *   dense pools, so they are not expected to trap, and dense pages stay
 *   resident (poisoned) after free, so RSS is only reported.
 * Prints one line of numbers for the closing note: maps, RSS, time. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

static long count_maps(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;
    if (!f)
        return -1;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static long rss_mib(void) {
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = -1;
    if (f)
        fclose(f);
    return rss * 4096 / (1 << 20);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int failures;

static void fail(const char *what) {
    printf("FAIL: %s\n", what);
    failures++;
}

/* Runs `touch(p, off)` in a child; true if the child was killed by the report. */
static int child_dies(volatile char *p, long off, int free_first) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2); /* the report is the library's business here */
        if (free_first)
            free((void *)p);
        p[off] = 1;
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && (WTERMSIG(st) == SIGABRT || WTERMSIG(st) == SIGSEGV);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: scale SMALL BIG MAX_MAPS GUARDED\n");
        return 2;
    }
    long n_small = atol(argv[1]), n_big = atol(argv[2]), max_maps = atol(argv[3]), guarded = atol(argv[4]);
    int dense = argc > 5 && strcmp(argv[5], "dense") == 0;
    char **small = calloc(n_small, sizeof *small), **big = calloc(n_big, sizeof *big);
    if (!small || !big)
        return 2;
    double t0 = now();
    for (long i = 0; i < n_small; i++) {
        small[i] = opaque(malloc(64));
        if (!small[i]) {
            printf("FAIL: malloc(64) #%ld returned NULL\n", i);
            return 1;
        }
        small[i][0] = 1;
        small[i][63] = 2;
    }
    double t_small = now() - t0;
    for (long i = 0; i < n_big; i++) {
        big[i] = opaque(malloc(65536));
        if (!big[i]) {
            printf("FAIL: malloc(65536) #%ld returned NULL\n", i);
            return 1;
        }
        big[i][0] = 1;
        big[i][65535] = 2;
    }
    long maps = count_maps(), rss = rss_mib();
    printf("scale: %ld x 64 B + %ld x 64 KiB live: maps=%ld rss=%ld MiB, %.2f s for the small blocks (%.2f us each)\n",
           n_small, n_big, maps, rss, t_small, t_small * 1e6 / (n_small ? n_small : 1));
    if (maps >= max_maps)
        fail("too many memory maps");

    /* Every sampled block still traps: just past its end, and after free. */
    srand(1);
    for (int k = 0; k < 6 && guarded > 0; k++) {
        long i = rand() % guarded;
        if (!child_dies(small[i], 64, 0))
            fail("overflow of a small block did not trap");
        if (!child_dies(small[i], 10, 1))
            fail("use after free of a small block did not trap");
    }
    for (int k = 0; k < 2 && n_big > 0 && !dense; k++) {
        long i = rand() % n_big;
        if (!child_dies(big[i], 65536, 0))
            fail("overflow of a 64 KiB block did not trap");
        if (!child_dies(big[i], 30000, 1))
            fail("use after free of a 64 KiB block did not trap");
    }

    for (long i = 0; i < n_small; i++) {
        if (small[i][0] != 1 || small[i][63] != 2)
            fail("a small block lost its contents");
        free(small[i]);
    }
    for (long i = 0; i < n_big; i++)
        free(big[i]);
    long rss_after = rss_mib();
    printf("scale: after freeing everything: maps=%ld rss=%ld MiB\n", count_maps(), rss_after);
    if (!dense && rss > 64 && rss_after * 4 > rss)
        fail("RSS did not fall after the bulk free");

    /* Big blocks: 1 GiB, and realloc growth 256 -> 512 MiB keeping contents. */
    char *g = opaque(malloc(1UL << 30));
    if (!g)
        fail("malloc(1 GiB) returned NULL");
    else {
        g[0] = 1;
        g[(1UL << 30) - 1] = 2;
        if (!child_dies(g, 1L << 30, 0))
            fail("overflow of the 1 GiB block did not trap");
        free(g);
    }
    char *r = opaque(malloc(256UL << 20));
    if (!r)
        fail("malloc(256 MiB) returned NULL");
    else {
        memset(r, 0x5a, 256UL << 20);
        r = opaque(realloc(r, 512UL << 20));
        if (!r)
            fail("realloc to 512 MiB returned NULL");
        else {
            if (r[0] != 0x5a || r[(256UL << 20) - 1] != 0x5a)
                fail("realloc to 512 MiB lost contents");
            r[(512UL << 20) - 1] = 1;
            if (!child_dies(r, 512L << 20, 0))
                fail("overflow of the 512 MiB block did not trap");
            free(r);
        }
    }
    free(small);
    free(big);
    printf("scale: %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
