/* largeblocks.c — large blocks cost what the program touches, as with glibc's
 * mmap'd blocks, and sizes beyond the stepped classes (16 GiB) work.
 *
 * Each check prints one line; exit 1 if any fails. Memory is measured as
 * resident pages (/proc/self/statm), a counter: a 1 GiB block of which one
 * page is touched may cost the prefault (prefault_kb, 1 MiB by default) and
 * a few pages of records, never the gigabyte. The kernel's own accesses
 * (read(2) and write(2) on untouched pages of a live block) must work. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MiB (1UL << 20)
#define GiB (1UL << 30)
/* Resident growth allowed for a block touched in a few places. */
#define SLACK (8 * MiB)

static int failures;

static void check(int ok, const char *what) {
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    failures += !ok;
}

static size_t resident(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (!f || fscanf(f, "%lu %lu", &size, &res) != 2) {
        perror("statm");
        exit(2);
    }
    fclose(f);
    return res * (size_t)sysconf(_SC_PAGESIZE);
}

static void touch_little(size_t n) {
    size_t before = resident();
    char *p = malloc(n);
    check(p != NULL, "malloc(1 GiB)");
    if (!p)
        return;
    p[n / 2] = 1;
    p[n - 1] = 2;
    size_t grew = resident() - before;
    printf("     malloc(%zu MiB), two bytes written: resident +%zu KiB\n", n / MiB, grew >> 10);
    check(grew <= SLACK, "a large block costs the pages the program touches");
    check(p[n / 2] == 1 && p[n - 1] == 2, "what was written reads back");
    free(p);

    before = resident();
    unsigned char *z = calloc(1, n);
    check(z != NULL, "calloc(1 GiB)");
    if (!z)
        return;
    int zero = 1;
    for (size_t off = 0; off < n; off += 64 * MiB)
        zero &= z[off] == 0 && z[off + 4097] == 0;
    zero &= z[n - 1] == 0;
    grew = resident() - before;
    printf("     calloc(%zu MiB), read in 17 places: resident +%zu KiB\n", n / MiB, grew >> 10);
    check(zero, "calloc'd pages read as zeros");
    check(grew <= SLACK, "reading an untouched calloc'd block costs no memory");
    free(z);
}

/* The kernel writes into and reads from untouched pages of a live block. */
static void kernel_access(void) {
    size_t n = 256 * MiB;
    char *p = malloc(n);
    int fds[2];
    check(p != NULL && pipe(fds) == 0, "malloc(256 MiB) and a pipe");
    if (!p)
        return;
    check(write(fds[1], "hello", 5) == 5, "write(2) to the pipe");
    errno = 0;
    ssize_t got = read(fds[0], p + 100 * MiB, 5);
    check(got == 5 && memcmp(p + 100 * MiB, "hello", 5) == 0, "read(2) into an untouched page of a large block");
    if (got != 5)
        printf("     read returned %zd, errno %d (%s)\n", got, errno, strerror(errno));
    got = write(fds[1], p + 200 * MiB, 4096);
    check(got == 4096, "write(2) from an untouched page of a large block");
    char back[4096];
    memset(back, 1, sizeof back);
    int zeros = read(fds[0], back, sizeof back) == 4096;
    for (size_t i = 0; i < sizeof back; i++)
        zeros &= back[i] == 0;
    check(zeros, "an untouched page reads as zeros in the kernel");
    close(fds[0]);
    close(fds[1]);
    free(p);
}

/* The largest single block the kernel's overcommit policy lets glibc map:
 * mode 0 refuses more than RAM + swap, 2 more than CommitLimit, 1 nothing. */
static size_t single_max(void) {
    FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
    int mode = 0;
    if (!f || fscanf(f, "%d", &mode) != 1)
        return SIZE_MAX;
    fclose(f);
    if (mode == 1)
        return SIZE_MAX;
    unsigned long total = 0, swap = 0, limit = 0, v;
    char key[64];
    f = fopen("/proc/meminfo", "r");
    while (f && fscanf(f, "%63s %lu kB", key, &v) == 2) {
        total = strcmp(key, "MemTotal:") ? total : v;
        swap = strcmp(key, "SwapTotal:") ? swap : v;
        limit = strcmp(key, "CommitLimit:") ? limit : v;
    }
    if (f)
        fclose(f);
    return (mode == 2 ? limit : total + swap) * 1024;
}

/* Beyond the stepped classes (16 GiB): several live huge blocks, as far as
 * the overcommit policy lets glibc go on this machine, and a refusal past
 * it as glibc refuses. */
static void huge(void) {
    size_t n = 17 * GiB, bigger = 18 * GiB, max = single_max(), before = resident();
    if (bigger > max) {
        printf("     this machine's overcommit policy refuses blocks over %zu MiB: huge blocks must fail\n", max / MiB);
        errno = 0;
        void *p = malloc(bigger);
        check(p == NULL && errno == ENOMEM, "malloc(18 GiB) fails with ENOMEM, as with glibc here");
        free(p);
        return;
    }
    char *a = malloc(n), *b = malloc(n + 12345);
    check(a && b && a != b, "two live malloc(17 GiB) blocks");
    if (!a || !b)
        return;
    check(((uintptr_t)a & 15) == 0 && ((uintptr_t)b & 15) == 0, "huge blocks are 16-byte aligned");
    a[0] = 1, a[n - 1] = 2, b[n + 12344] = 3;
    size_t grew = resident() - before;
    printf("     two 17 GiB blocks, three bytes written: resident +%zu KiB\n", grew >> 10);
    check(grew <= 2 * SLACK, "huge blocks cost the pages the program touches");
    check(malloc_usable_size(b) >= n + 12345, "malloc_usable_size of a huge block");
    char *c = realloc(a, bigger);
    check(c && c[0] == 1 && c[n - 1] == 2, "realloc(17 GiB -> 18 GiB) keeps the contents");
    if (c)
        c[bigger - 1] = 4;
    else
        c = a;
    void *m = NULL;
    int r = posix_memalign(&m, 1 * MiB, n);
    check(r == 0 && m && ((uintptr_t)m & (MiB - 1)) == 0, "posix_memalign(1 MiB, 17 GiB)");
    free(m);
    free(b);
    free(c);
    b = malloc(n);
    check(b != NULL, "a freed huge slot is reusable");
    free(b);
    if (max < (1UL << 41) - GiB) {
        errno = 0;
        void *p = malloc(max + GiB);
        check(p == NULL && errno == ENOMEM, "a block beyond the overcommit policy fails with ENOMEM, as with glibc");
        free(p);
    }
}

/* realloc copies what a large block holds, wherever it lies, and skips
 * nothing else: a pattern on some pages, zeros on others, bytes next to
 * untouched pages, both when growing and shrinking. */
static void realloc_contents(void) {
    size_t n = 64 * MiB + 123;
    unsigned char *p = malloc(n);
    check(p != NULL, "malloc(64 MiB + 123)");
    if (!p)
        return;
    for (size_t i = 0; i < 8192; i++)
        p[i] = (unsigned char)(i * 7 + 1);
    for (size_t page = 3; page * 4096 < n; page += 37)
        p[page * 4096 + page % 4096] = (unsigned char)(page | 1);
    memset(p + 5 * MiB, 0, 3 * 4096); /* touched, but zeros */
    p[n - 1] = 0x5a;
    unsigned char *copy = malloc(n);
    memcpy(copy, p, n);
    unsigned char *q = realloc(p, 96 * MiB);
    check(q && memcmp(q, copy, n) == 0, "realloc(64 MiB -> 96 MiB) copies every byte");
    int zero = 1;
    for (size_t i = n; q && i < 96 * MiB; i += 4096)
        zero &= q[i] == 0;
    check(zero, "the grown part reads as zeros");
    unsigned char *r = realloc(q, 48 * MiB + 5);
    check(r && memcmp(r, copy, 48 * MiB + 5) == 0, "realloc(96 MiB -> 48 MiB) keeps the first 48 MiB");
    free(r);
    free(copy);
}

static void impossible(void) {
    errno = 0;
    void *p = malloc((2UL << 40) + 1);
    check(p == NULL && errno == ENOMEM, "malloc(2 TiB + 1) fails with ENOMEM");
    free(p);
    errno = 0;
    p = malloc(SIZE_MAX / 2);
    check(p == NULL && errno == ENOMEM, "malloc(SIZE_MAX / 2) fails with ENOMEM");
}

int main(void) {
    touch_little(1 * GiB);
    kernel_access();
    huge();
    realloc_contents();
    impossible();
    printf("largeblocks: %d failure(s)\n", failures);
    return failures != 0;
}
