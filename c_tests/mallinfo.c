/* mallinfo.c — glibc's heap introspection describes the heap in use.
 *
 * Programs size caches and check for leaks with mallinfo/mallinfo2; left to
 * glibc under the preload they would describe glibc's idle arenas (zeros).
 * Checks: 100 blocks of 1000 bytes raise mallinfo2().uordblks (and
 * mallinfo's) by at least 100,000 and freeing them brings it back;
 * malloc_trim, mallopt answer as glibc documents; malloc_info writes
 * <malloc version="1"> ... </malloc> and returns EINVAL for options other
 * than 0, as glibc does; malloc_stats prints "in use bytes" to stderr. Passes natively too.
 * Prints one line per failure; exit 1 if any. */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* mallinfo is what programs call */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *what) {
    if (!ok) {
        printf("FAIL %s\n", what);
        failures++;
    }
}

static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

int main(void) {
    enum { N = 100, SIZE = 1000 };
    struct mallinfo2 m0 = mallinfo2();
    struct mallinfo i0 = mallinfo();
    void *blocks[N];
    for (int i = 0; i < N; i++)
        blocks[i] = opaque(malloc(SIZE));
    struct mallinfo2 m1 = mallinfo2();
    struct mallinfo i1 = mallinfo();
    printf("uordblks %zu -> %zu (mallinfo %d -> %d), arena %zu\n", m0.uordblks, m1.uordblks, i0.uordblks,
           i1.uordblks, m1.arena);
    check(m1.uordblks >= m0.uordblks + N * SIZE, "mallinfo2().uordblks grows by the bytes allocated");
    check(i1.uordblks >= i0.uordblks + N * SIZE, "mallinfo().uordblks grows by the bytes allocated");
    check(m1.arena >= m1.uordblks, "mallinfo2().arena holds at least the bytes in use");
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    struct mallinfo2 m2 = mallinfo2();
    check(m2.uordblks + N * SIZE / 2 <= m1.uordblks, "freeing brings mallinfo2().uordblks back down");

    int t = malloc_trim(0);
    check(t == 0 || t == 1, "malloc_trim returns 0 or 1");
    check(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1, "mallopt(M_MMAP_THRESHOLD) succeeds");

    char *xml = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&xml, &len);
    check(f && malloc_info(0, f) == 0, "malloc_info(0, f) returns 0");
    if (f)
        fclose(f);
    check(xml && strstr(xml, "<malloc version=\"1\">") && strstr(xml, "</malloc>"), "malloc_info writes <malloc>…</malloc>");
    free(xml);
    f = fopen("/dev/null", "w");
    check(f && malloc_info(1, f) == EINVAL, "malloc_info(1, f) returns EINVAL");
    if (f)
        fclose(f);

    /* malloc_stats writes to stderr: catch it in a pipe. */
    int p[2];
    if (pipe(p) == 0) {
        fflush(stderr);
        int saved = dup(2);
        dup2(p[1], 2);
        malloc_stats();
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        close(p[1]);
        char buf[2048] = {0};
        ssize_t n = read(p[0], buf, sizeof buf - 1);
        close(p[0]);
        check(n > 0 && strstr(buf, "in use bytes"), "malloc_stats prints \"in use bytes\" to stderr");
    }
    printf("mallinfo: %d failures\n", failures);
    return failures != 0;
}
