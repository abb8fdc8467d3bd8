/* contract.c — the glibc malloc API contract, as small named checks.
 *
 * Usage: contract [--prefill N] [CHECK...]   (no CHECK: run every check)
 *        contract --list                      (the check names)
 * --prefill N first allocates N live malloc(64) blocks, kept to the end (to
 * run the checks in libpooldbg's dense mode with a low map_limit).
 * Each check prints "check NAME" then "ok NAME" or "FAIL NAME: why".
 * Exit status: 0 if every check passed, 1 otherwise.
 *
 * Must pass under plain glibc too. A few rules that glibc itself does not
 * keep (errno untouched by posix_memalign's ENOMEM path) are asserted only
 * when libpooldbg is preloaded; elsewhere they print "note".
 *
 * Built -O0; every allocation goes through opaque() / volatile sizes so the
 * compiler can neither fold nor remove it. */
#define _GNU_SOURCE
/* The failure paths keep using the old pointer on purpose. */
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuse-after-free"
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
static const char *current;

#define FAIL(...)                                                              \
    do {                                                                       \
        printf("FAIL %s: ", current);                                          \
        printf(__VA_ARGS__);                                                   \
        printf("  [%s:%d]\n", __FILE__, __LINE__);                             \
        fflush(stdout);                                                        \
        failures++;                                                            \
        return;                                                                \
    } while (0)

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            FAIL(__VA_ARGS__);                                                 \
    } while (0)

/* Keeps the optimiser (and gcc's -Walloc-size warnings) away from sizes. */
static volatile size_t vsize_max = SIZE_MAX;
/* Hides p from the optimiser (thread-safe: no shared variable). */
static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

static int under_pooldbg(void) {
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "pooldbg");
}

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static void fill(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 131u + seed);
}

/* Index of the first byte that does not match fill(), or n. */
static size_t verify(const unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 131u + seed))
            return i;
    return n;
}

static int all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- malloc */

static void malloc_zero(void) {
    void *a = opaque(malloc(0));
    void *b = opaque(malloc(0));
    CHECK(a != NULL && b != NULL, "malloc(0) returned NULL (%p, %p)", a, b);
    CHECK(a != b, "two live malloc(0) returned the same pointer %p", a);
    free(a);
    free(b);
}

static void free_null(void) {
    errno = 4321;
    free(opaque(NULL));
    CHECK(errno == 4321, "free(NULL) changed errno to %d", errno);
}

static void free_preserves_errno(void) {
    static const size_t sizes[] = {1, 64, 4096, 100000, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        void *p = opaque(malloc(sizes[i]));
        CHECK(p, "malloc(%zu) failed", sizes[i]);
        memset(p, 0x5a, sizes[i]);
        errno = 1234;
        free(p);
        CHECK(errno == 1234, "free of a %zu-byte block changed errno to %d",
              sizes[i], errno);
    }
}

static void malloc_huge_enomem(void) {
    const size_t sizes[] = {vsize_max, vsize_max / 2, (size_t)PTRDIFF_MAX + 1,
                            vsize_max - 4096, vsize_max - 16};
    const char *names[] = {"SIZE_MAX", "SIZE_MAX/2", "PTRDIFF_MAX+1",
                           "SIZE_MAX-4096", "SIZE_MAX-16"};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        errno = 0;
        void *p = opaque(malloc(sizes[i]));
        CHECK(p == NULL, "malloc(%s) returned %p", names[i], p);
        CHECK(errno == ENOMEM, "malloc(%s): errno %d, want ENOMEM", names[i],
              errno);
    }
}

static void many_sizes(void) {
    /* Every size up to a bit past one page, then a prime stride to 70000,
     * plus the sizes around every page multiple. */
    size_t ps = page_size();
    for (size_t n = 0; n <= 70000;) {
        unsigned char *p = opaque(malloc(n));
        CHECK(p, "malloc(%zu) returned NULL", n);
        CHECK(((uintptr_t)p & 15) == 0, "malloc(%zu) = %p not 16-aligned", n,
              (void *)p);
        fill(p, n, (unsigned)n);
        size_t bad = verify(p, n, (unsigned)n);
        CHECK(bad == n, "malloc(%zu): byte %zu did not keep its value", n, bad);
        free(p);
        if (n < ps + 128)
            n++;
        else
            n += 61;
    }
    for (size_t k = 1; k <= 17; k++)
        for (size_t d = 0; d < 3; d++) {
            size_t n = k * ps - 1 + d;
            unsigned char *p = opaque(malloc(n));
            CHECK(p, "malloc(%zu) returned NULL", n);
            fill(p, n, 7);
            CHECK(verify(p, n, 7) == n, "malloc(%zu): contents lost", n);
            free(p);
        }
}

static void many_live(void) {
    /* A few thousand live blocks at once, each with its own pattern. */
    enum { N = 3000 };
    static unsigned char *blocks[N];
    for (unsigned i = 0; i < N; i++) {
        size_t n = (i * 37u) % 2048;
        blocks[i] = opaque(malloc(n));
        CHECK(blocks[i], "malloc(%zu) #%u returned NULL", n, i);
        fill(blocks[i], n, i);
    }
    for (unsigned i = 0; i < N; i++) {
        size_t n = (i * 37u) % 2048;
        for (unsigned j = 0; j < i && j < 8; j++)
            CHECK(blocks[i] != blocks[i - 1 - j], "duplicate live pointer %p",
                  (void *)blocks[i]);
        CHECK(verify(blocks[i], n, i) == n, "block #%u (%zu bytes) corrupted",
              i, n);
    }
    for (unsigned i = 0; i < N; i++)
        free(blocks[i]);
}

/* ---------------------------------------------------------------- calloc */

static void calloc_zeroes(void) {
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 4095, 4096, 4097,
                                   65536, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = opaque(calloc(1, sizes[i]));
        CHECK(p, "calloc(1, %zu) returned NULL", sizes[i]);
        CHECK(all_zero(p, sizes[i]), "calloc(1, %zu) not zeroed", sizes[i]);
        free(p);
    }
    unsigned char *p = opaque(calloc(1024, 1024)); /* 1 MiB as nmemb*size */
    CHECK(p, "calloc(1024, 1024) returned NULL");
    CHECK(all_zero(p, 1 << 20), "calloc(1024, 1024) not zeroed");
    free(p);
}

static void calloc_after_reuse(void) {
    /* Dirty many blocks and free them so that a later calloc is likely to
     * get recycled memory (several rounds to get through any quarantine). */
    enum { N = 4000 };
    static unsigned char *blocks[N];
    for (int round = 0; round < 4; round++) {
        for (unsigned i = 0; i < N; i++) {
            size_t n = 16 + (i % 64) * 16;
            blocks[i] = opaque(malloc(n));
            CHECK(blocks[i], "malloc(%zu) returned NULL", n);
            memset(blocks[i], 0xa5, n);
        }
        for (unsigned i = 0; i < N; i++)
            free(blocks[i]);
        for (unsigned i = 0; i < N; i++) {
            size_t n = 16 + (i % 64) * 16;
            blocks[i] = opaque(calloc(1, n));
            CHECK(blocks[i], "calloc(1, %zu) returned NULL", n);
            CHECK(all_zero(blocks[i], n),
                  "calloc(1, %zu) after reuse, round %d: not zeroed", n, round);
            memset(blocks[i], 0x3c, n);
        }
        for (unsigned i = 0; i < N; i++)
            free(blocks[i]);
    }
    /* And a large one. */
    unsigned char *big = opaque(malloc(1 << 20));
    CHECK(big, "malloc(1 MiB) failed");
    memset(big, 0xff, 1 << 20);
    free(big);
    big = opaque(calloc(1 << 20, 1));
    CHECK(big, "calloc(1 MiB) failed");
    CHECK(all_zero(big, 1 << 20), "calloc(1 MiB) after free of a dirty 1 MiB "
                                  "block: not zeroed");
    free(big);
}

static void calloc_overflow(void) {
    struct { size_t n, s; } cases[] = {
        {vsize_max, 2},
        {2, vsize_max},
        {vsize_max / 2 + 1, 2},
        {(size_t)1 << 32, (size_t)1 << 32},
        {vsize_max, vsize_max},
        {65537, vsize_max / 65536},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        errno = 0;
        void *p = opaque(calloc(cases[i].n, cases[i].s));
        CHECK(p == NULL, "calloc(%zu, %zu) returned %p", cases[i].n, cases[i].s,
              p);
        CHECK(errno == ENOMEM, "calloc(%zu, %zu): errno %d, want ENOMEM",
              cases[i].n, cases[i].s, errno);
    }
}

/* --------------------------------------------------------------- realloc */

static void realloc_null(void) {
    unsigned char *p = opaque(realloc(NULL, 100));
    CHECK(p, "realloc(NULL, 100) returned NULL");
    fill(p, 100, 3);
    CHECK(verify(p, 100, 3) == 100, "realloc(NULL, 100) block not usable");
    free(p);
    p = opaque(realloc(NULL, 0));
    CHECK(p, "realloc(NULL, 0) returned NULL (glibc returns malloc(0))");
    free(p);
}

static void realloc_grow(void) {
    static const size_t steps[] = {1, 7, 16, 100, 1000, 4095, 4096, 4097,
                                   9000, 65536, 100000, 1 << 20, (1 << 20) + 5};
    size_t n = steps[0];
    unsigned char *p = opaque(malloc(n));
    CHECK(p, "malloc(%zu) failed", n);
    fill(p, n, 11);
    for (size_t i = 1; i < sizeof steps / sizeof *steps; i++) {
        size_t m = steps[i];
        unsigned char *q = opaque(realloc(p, m));
        CHECK(q, "realloc(%zu -> %zu) returned NULL", n, m);
        size_t bad = verify(q, n, 11);
        CHECK(bad == n, "realloc(%zu -> %zu) lost byte %zu", n, m, bad);
        fill(q, m, 11); /* the new tail too, and it must be writable */
        p = q;
        n = m;
    }
    free(p);
}

static void realloc_shrink(void) {
    static const size_t steps[] = {(1 << 20) + 5, 1 << 20, 100000, 8192, 4097,
                                   4096, 4095, 1000, 100, 16, 15, 1};
    size_t n = steps[0];
    unsigned char *p = opaque(malloc(n));
    CHECK(p, "malloc(%zu) failed", n);
    fill(p, n, 23);
    for (size_t i = 1; i < sizeof steps / sizeof *steps; i++) {
        size_t m = steps[i];
        unsigned char *q = opaque(realloc(p, m));
        CHECK(q, "realloc(%zu -> %zu) returned NULL", n, m);
        size_t bad = verify(q, m, 23);
        CHECK(bad == m, "shrinking realloc(%zu -> %zu) lost byte %zu", n, m,
              bad);
        p = q;
        n = m;
    }
    free(p);
}

static void realloc_zero_frees(void) {
    void *p = opaque(malloc(100));
    CHECK(p, "malloc(100) failed");
    void *q = opaque(realloc(p, 0));
    CHECK(q == NULL, "realloc(p, 0) returned %p; glibc frees p and returns NULL",
          q);
}

static void realloc_huge_keeps_block(void) {
    unsigned char *p = opaque(malloc(256));
    CHECK(p, "malloc(256) failed");
    fill(p, 256, 99);
    const size_t sizes[] = {vsize_max, vsize_max - 4096, (size_t)PTRDIFF_MAX + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        errno = 0;
        void *q = opaque(realloc(p, sizes[i]));
        CHECK(q == NULL, "realloc(p, %zu) returned %p", sizes[i], q);
        CHECK(errno == ENOMEM, "realloc(p, %zu): errno %d, want ENOMEM",
              sizes[i], errno);
        CHECK(verify(p, 256, 99) == 256, "failed realloc corrupted p");
    }
    p[0] = 1; /* p is still ours to use and free */
    free(p);
}

static void realloc_keeps_neighbours(void) {
    /* Grow and shrink one of several blocks allocated back to back: the
     * others must not change, whether realloc moves the block or not. */
    static const size_t pairs[][2] = {{16, 17}, {24, 40}, {100, 201},
                                      {1000, 5000}, {4000, 4100},
                                      {20000, 40000}, {40000, 80000},
                                      {5000, 100}, {100, 0}};
    for (size_t t = 0; t < sizeof pairs / sizeof *pairs; t++) {
        size_t n0 = pairs[t][0], n1 = pairs[t][1];
        unsigned char *blk[8];
        for (unsigned i = 0; i < 8; i++) {
            blk[i] = opaque(malloc(n0));
            CHECK(blk[i], "malloc(%zu) failed", n0);
            fill(blk[i], n0, i);
        }
        unsigned char *q = opaque(realloc(blk[3], n1));
        if (n1 == 0) {
            CHECK(q == NULL, "realloc(p, 0) returned %p", (void *)q);
        } else {
            CHECK(q, "realloc(%zu -> %zu) failed", n0, n1);
            size_t keep = n0 < n1 ? n0 : n1;
            CHECK(verify(q, keep, 3) == keep, "realloc(%zu -> %zu) lost contents",
                  n0, n1);
            memset(q, 0xee, n1);
        }
        for (unsigned i = 0; i < 8; i++) {
            if (i == 3)
                continue;
            size_t bad = verify(blk[i], n0, i);
            CHECK(bad == n0,
                  "realloc(%p, %zu -> %zu) = %p overwrote the neighbouring "
                  "block %p (byte %zu is %#x)",
                  (void *)blk[3], n0, n1, (void *)q, (void *)blk[i], bad,
                  blk[i][bad]);
        }
        for (unsigned i = 0; i < 8; i++)
            if (i != 3)
                free(blk[i]);
        free(q);
    }
}

static void realloc_aligned(void) {
    /* glibc lets realloc take a memalign'd block (the result is only
     * malloc-aligned). Contents must survive growth and shrinkage. */
    static const size_t aligns[] = {32, 256, 4096, 65536};
    for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++) {
        size_t a = aligns[i];
        unsigned char *p = opaque(aligned_alloc(a, 300));
        CHECK(p, "aligned_alloc(%zu, 300) failed", a);
        fill(p, 300, (unsigned)a);
        p = opaque(realloc(p, 10000));
        CHECK(p && verify(p, 300, (unsigned)a) == 300,
              "realloc(aligned_alloc(%zu, 300), 10000) lost contents", a);
        memset(p + 300, 0x44, 10000 - 300);
        p = opaque(realloc(p, 50));
        CHECK(p && verify(p, 50, (unsigned)a) == 50,
              "shrinking realloc of an aligned block lost contents");
        free(p);
        void *m = NULL;
        CHECK(posix_memalign(&m, a, 0) == 0 && m, "posix_memalign(%zu, 0)", a);
        free(m);
    }
}

static void large_blocks(void) {
    /* Big blocks: only the touched pages cost memory. */
    static const size_t sizes[] = {(size_t)16 << 20, (size_t)256 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        unsigned char *p = opaque(malloc(n));
        CHECK(p, "malloc(%zu MiB) failed", n >> 20);
        for (size_t off = 0; off < n; off += n / 8)
            p[off] = (unsigned char)off;
        p[n - 1] = 0x99;
        CHECK(malloc_usable_size(p) >= n, "usable size of a %zu MiB block",
              n >> 20);
        free(p);
    }
    unsigned char *p = opaque(malloc(1 << 20));
    CHECK(p, "malloc(1 MiB) failed");
    fill(p, 1 << 20, 77);
    p = opaque(realloc(p, (size_t)64 << 20));
    CHECK(p, "realloc(1 MiB -> 64 MiB) failed");
    CHECK(verify(p, 1 << 20, 77) == 1 << 20, "realloc to 64 MiB lost contents");
    p[((size_t)64 << 20) - 1] = 1;
    p = opaque(realloc(p, 4096));
    CHECK(p && verify(p, 4096, 77) == 4096, "realloc 64 MiB -> 4 KiB lost "
                                            "contents");
    free(p);
    unsigned char *z = opaque(calloc((size_t)64 << 20, 1));
    CHECK(z, "calloc(64 MiB) failed");
    CHECK(z[0] == 0 && z[(size_t)32 << 20] == 0 && z[((size_t)64 << 20) - 1] == 0,
          "calloc(64 MiB) not zeroed");
    free(z);
}

static void reallocarray_overflow(void) {
    unsigned char *p = opaque(reallocarray(NULL, 10, 10));
    CHECK(p, "reallocarray(NULL, 10, 10) returned NULL");
    fill(p, 100, 5);
    errno = 0;
    void *q = opaque(reallocarray(p, vsize_max / 2, 3));
    CHECK(q == NULL, "reallocarray(p, SIZE_MAX/2, 3) returned %p", q);
    CHECK(errno == ENOMEM, "reallocarray overflow: errno %d, want ENOMEM",
          errno);
    CHECK(verify(p, 100, 5) == 100, "reallocarray overflow corrupted p");
    q = opaque(reallocarray(p, 100, 20));
    CHECK(q, "reallocarray(p, 100, 20) returned NULL");
    CHECK(verify(q, 100, 5) == 100, "reallocarray growth lost contents");
    memset(q, 1, 2000);
    free(q);
}

/* ---------------------------------------------------- aligned allocation */

static void posix_memalign_einval(void) {
    const size_t aligns[] = {0, 1, 3, 24, sizeof(void *) / 2, 48, 4097,
                             ((size_t)1 << 20) + 8};
    for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++) {
        void *mark = (void *)0x5151;
        void *mp = mark;
        errno = 777;
        int rc = posix_memalign(&mp, aligns[i], 64);
        CHECK(rc == EINVAL, "posix_memalign(align %zu) returned %d, want EINVAL",
              aligns[i], rc);
        CHECK(mp == mark, "posix_memalign(align %zu) failed but wrote *memptr",
              aligns[i]);
        CHECK(errno == 777, "posix_memalign(align %zu) changed errno to %d",
              aligns[i], errno);
    }
}

static void posix_memalign_enomem(void) {
    const size_t sizes[] = {vsize_max, vsize_max - 4096, (size_t)PTRDIFF_MAX + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        void *mark = (void *)0x6161;
        void *mp = mark;
        errno = 777;
        int rc = posix_memalign(&mp, 64, sizes[i]);
        CHECK(rc == ENOMEM, "posix_memalign(64, %zu) returned %d, want ENOMEM",
              sizes[i], rc);
        CHECK(mp == mark, "posix_memalign(64, %zu) failed but wrote *memptr",
              sizes[i]);
        if (errno != 777) {
            /* POSIX: errno untouched. glibc sets it; libpooldbg must not. */
            if (under_pooldbg())
                FAIL("posix_memalign(64, %zu) -> ENOMEM changed errno to %d",
                     sizes[i], errno);
            printf("note %s: errno changed to %d (glibc does this)\n", current,
                   errno);
        }
    }
}

typedef void *(*align_fn)(size_t align, size_t size);

static void *via_aligned_alloc(size_t a, size_t n) { return aligned_alloc(a, n); }
static void *via_memalign(size_t a, size_t n) { return memalign(a, n); }
static void *via_posix_memalign(size_t a, size_t n) {
    void *p = NULL;
    int rc = posix_memalign(&p, a, n);
    return rc == 0 ? p : NULL;
}

static void alignments(void) {
    struct { const char *name; align_fn fn; } fns[] = {
        {"aligned_alloc", via_aligned_alloc},
        {"memalign", via_memalign},
        {"posix_memalign", via_posix_memalign},
    };
    for (size_t f = 0; f < 3; f++)
        for (size_t a = 8; a <= 65536; a *= 2) {
            /* size = a multiple of the alignment (aligned_alloc's C11 rule),
             * a small odd size, and zero. */
            size_t sizes[] = {a, 3 * a, 1, 100, 5000, 0};
            for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
                size_t n = sizes[s];
                unsigned char *p = opaque(fns[f].fn(a, n));
                CHECK(p, "%s(%zu, %zu) returned NULL", fns[f].name, a, n);
                CHECK(((uintptr_t)p & (a - 1)) == 0,
                      "%s(%zu, %zu) = %p is misaligned", fns[f].name, a, n,
                      (void *)p);
                fill(p, n, (unsigned)a);
                CHECK(verify(p, n, (unsigned)a) == n,
                      "%s(%zu, %zu): block not fully writable", fns[f].name, a,
                      n);
                size_t us = malloc_usable_size(p);
                CHECK(us >= n, "%s(%zu, %zu): usable size %zu", fns[f].name, a,
                      n, us);
                free(p);
            }
        }
}

static void valloc_pvalloc(void) {
    size_t ps = page_size();
    const size_t sizes[] = {1, 100, 4095, 4096, 4097, 3 * 4096 + 1, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        unsigned char *p = opaque(valloc(n));
        CHECK(p, "valloc(%zu) returned NULL", n);
        CHECK(((uintptr_t)p & (ps - 1)) == 0, "valloc(%zu) = %p not page-aligned",
              n, (void *)p);
        memset(p, 0x11, n);
        free(p);

        size_t rounded = (n + ps - 1) & ~(ps - 1);
        p = opaque(pvalloc(n));
        CHECK(p, "pvalloc(%zu) returned NULL", n);
        CHECK(((uintptr_t)p & (ps - 1)) == 0,
              "pvalloc(%zu) = %p not page-aligned", n, (void *)p);
        size_t us = malloc_usable_size(p);
        CHECK(us >= rounded, "pvalloc(%zu): usable size %zu < rounded size %zu",
              n, us, rounded);
        memset(p, 0x22, rounded); /* the rounded-up size is the caller's */
        free(p);
    }
}

static void usable_size(void) {
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) = %zu",
          malloc_usable_size(NULL));
    for (size_t n = 0; n < 70000; n = n < 300 ? n + 1 : n * 5 / 4) {
        unsigned char *p = opaque(malloc(n));
        CHECK(p, "malloc(%zu) failed", n);
        size_t us = malloc_usable_size(p);
        CHECK(us >= n, "malloc_usable_size(malloc(%zu)) = %zu", n, us);
        memset(p, 0x77, us); /* every usable byte is the caller's */
        free(p);
    }
    unsigned char *p = opaque(calloc(3, 33));
    CHECK(p && malloc_usable_size(p) >= 99, "calloc(3, 33): usable size %zu",
          p ? malloc_usable_size(p) : 0);
    memset(p, 1, malloc_usable_size(p));
    p = opaque(realloc(p, 5000));
    CHECK(p && malloc_usable_size(p) >= 5000, "realloc(5000): usable size %zu",
          p ? malloc_usable_size(p) : 0);
    memset(p, 2, malloc_usable_size(p));
    free(p);
}

static void cfree_works(void) {
    /* cfree is exported for old programs; glibc >= 2.26 keeps it only as a
     * compat symbol, so look it up at run time instead of linking to it. */
    void (*cf)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "cfree");
    if (!cf) {
        printf("note %s: no cfree symbol visible, skipped\n", current);
        return;
    }
    void *p = opaque(malloc(40));
    CHECK(p, "malloc(40) failed");
    cf(p);
}

static void calloc_zero_sizes(void) {
    void *a = opaque(calloc(0, 16));
    void *b = opaque(calloc(16, 0));
    void *c = opaque(calloc(0, 0));
    CHECK(a && b && c, "calloc with a zero count or size returned NULL "
                       "(%p, %p, %p)", a, b, c);
    CHECK(a != b && b != c && a != c, "zero-size callocs share a pointer");
    free(a);
    free(b);
    free(c);
}

static void big_alignments(void) {
    /* Beyond the page: 128 KiB .. 2 MiB alignment, small and large sizes. */
    for (size_t a = (size_t)1 << 17; a <= (size_t)1 << 21; a *= 2) {
        const size_t sizes[] = {1, 4096, a, a + 1};
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            void *p = (void *)0x1;
            int rc = posix_memalign(&p, a, sizes[s]);
            CHECK(rc == 0, "posix_memalign(%zu, %zu) returned %d", a, sizes[s],
                  rc);
            CHECK(((uintptr_t)p & (a - 1)) == 0,
                  "posix_memalign(%zu, %zu) = %p misaligned", a, sizes[s], p);
            memset(p, 0x6b, sizes[s]);
            free(p);
            unsigned char *q = opaque(aligned_alloc(a, sizes[s]));
            CHECK(q && ((uintptr_t)q & (a - 1)) == 0,
                  "aligned_alloc(%zu, %zu) = %p", a, sizes[s], (void *)q);
            memset(q, 0x6c, sizes[s]);
            free(q);
        }
    }
}

static void *sym(const char *name) { return dlsym(RTLD_DEFAULT, name); }

static void libc_aliases(void) {
    /* glibc-internal names some programs and libraries call directly; a block
     * from one must be freeable by the other family. */
    void *(*lmalloc)(size_t) = (void *(*)(size_t))sym("__libc_malloc");
    void (*lfree)(void *) = (void (*)(void *))sym("__libc_free");
    void *(*lcalloc)(size_t, size_t) =
        (void *(*)(size_t, size_t))sym("__libc_calloc");
    void *(*lrealloc)(void *, size_t) =
        (void *(*)(void *, size_t))sym("__libc_realloc");
    void *(*lmemalign)(size_t, size_t) =
        (void *(*)(size_t, size_t))sym("__libc_memalign");
    CHECK(lmalloc && lfree && lcalloc && lrealloc && lmemalign,
          "a __libc_* allocation symbol is missing");
    unsigned char *p = opaque(lmalloc(100));
    CHECK(p, "__libc_malloc(100) returned NULL");
    fill(p, 100, 1);
    p = opaque(lrealloc(p, 5000));
    CHECK(p && verify(p, 100, 1) == 100, "__libc_realloc lost contents");
    CHECK(malloc_usable_size(p) >= 5000, "usable size of a __libc_realloc "
                                         "block: %zu", malloc_usable_size(p));
    free(p); /* __libc_* block, public free */
    p = opaque(malloc(64));
    lfree(p); /* public block, __libc_free */
    p = opaque(lcalloc(10, 10));
    CHECK(p && all_zero(p, 100), "__libc_calloc not zeroed");
    free(p);
    p = opaque(lmemalign(256, 300));
    CHECK(p && ((uintptr_t)p & 255) == 0, "__libc_memalign(256) = %p",
          (void *)p);
    memset(p, 1, 300);
    lfree(p);
    int (*pm)(void **, size_t, size_t) =
        (int (*)(void **, size_t, size_t))sym("__posix_memalign");
    if (pm) { /* exported by libpooldbg; glibc has no such public name */
        void *q = NULL;
        CHECK(pm(&q, 64, 10) == 0 && q && ((uintptr_t)q & 63) == 0,
              "__posix_memalign(64, 10) = %p", q);
        free(q);
    }
}

static void cxx_operators(void) {
    /* The C++ operators, called through their mangled names. A C program
     * does not load libstdc++, so only libpooldbg provides them here. */
    void *(*op_new)(size_t) = (void *(*)(size_t))sym("_Znwm");
    void (*op_delete)(void *) = (void (*)(void *))sym("_ZdlPv");
    if (!op_new || !op_delete) {
        printf("note %s: no operator new in the process (no libpooldbg, no "
               "libstdc++), skipped\n", current);
        return;
    }
    static const char *const nothrow_new[] = {"_ZnwmRKSt9nothrow_t",
                                              "_ZnamRKSt9nothrow_t"};
    static const char nothrow_tag = 0; /* std::nothrow is an empty struct */
    for (int i = 0; i < 2; i++) {
        void *(*fn)(size_t, const void *) =
            (void *(*)(size_t, const void *))sym(nothrow_new[i]);
        CHECK(fn, "%s missing", nothrow_new[i]);
        void *p = opaque(fn(100, &nothrow_tag));
        CHECK(p, "%s(100) returned NULL", nothrow_new[i]);
        memset(p, 1, 100);
        void (*del)(void *) = (void (*)(void *))sym(i ? "_ZdaPv" : "_ZdlPv");
        del(p);
        p = opaque(fn(vsize_max - 4096, &nothrow_tag));
        CHECK(p == NULL, "%s(SIZE_MAX-4096) returned %p, want NULL",
              nothrow_new[i], p);
    }
    void *p = opaque(op_new(24));
    CHECK(p, "operator new(24) returned NULL");
    memset(p, 2, 24);
    void (*sized_delete)(void *, size_t) =
        (void (*)(void *, size_t))sym("_ZdlPvm");
    CHECK(sized_delete, "_ZdlPvm missing");
    sized_delete(p, 24);

    void *(*new_al)(size_t, size_t) =
        (void *(*)(size_t, size_t))sym("_ZnwmSt11align_val_t");
    void (*del_al)(void *, size_t) =
        (void (*)(void *, size_t))sym("_ZdlPvSt11align_val_t");
    void (*del_sized_al)(void *, size_t, size_t) =
        (void (*)(void *, size_t, size_t))sym("_ZdlPvmSt11align_val_t");
    CHECK(new_al && del_al && del_sized_al, "aligned new/delete missing");
    for (size_t a = 32; a <= 8192; a *= 4) {
        void *q = opaque(new_al(100, a));
        CHECK(q && ((uintptr_t)q & (a - 1)) == 0,
              "operator new(100, align_val_t(%zu)) = %p", a, q);
        memset(q, 3, 100);
        if (a & 32)
            del_al(q, a);
        else
            del_sized_al(q, 100, a);
    }
}

struct check {
    const char *name;
    void (*fn)(void);
};

static const struct check checks[] = {
    {"malloc_zero", malloc_zero},
    {"free_null", free_null},
    {"free_preserves_errno", free_preserves_errno},
    {"malloc_huge_enomem", malloc_huge_enomem},
    {"many_sizes", many_sizes},
    {"many_live", many_live},
    {"calloc_zeroes", calloc_zeroes},
    {"calloc_after_reuse", calloc_after_reuse},
    {"calloc_overflow", calloc_overflow},
    {"calloc_zero_sizes", calloc_zero_sizes},
    {"realloc_null", realloc_null},
    {"realloc_grow", realloc_grow},
    {"realloc_shrink", realloc_shrink},
    {"realloc_zero_frees", realloc_zero_frees},
    {"realloc_huge_keeps_block", realloc_huge_keeps_block},
    {"realloc_keeps_neighbours", realloc_keeps_neighbours},
    {"realloc_aligned", realloc_aligned},
    {"large_blocks", large_blocks},
    {"reallocarray_overflow", reallocarray_overflow},
    {"posix_memalign_einval", posix_memalign_einval},
    {"posix_memalign_enomem", posix_memalign_enomem},
    {"alignments", alignments},
    {"big_alignments", big_alignments},
    {"valloc_pvalloc", valloc_pvalloc},
    {"usable_size", usable_size},
    {"cfree", cfree_works},
    {"libc_aliases", libc_aliases},
    {"cxx_operators", cxx_operators},
};

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "--prefill")) {
        long count = atol(argv[2]);
        for (long i = 0; i < count; i++) {
            void *p = opaque(malloc(64)); /* kept live on purpose */
            if (!p) {
                printf("FAIL prefill: malloc(64) #%ld returned NULL\n", i);
                return 1;
            }
            memset(p, 0x2f, 64);
        }
        argv += 2;
        argc -= 2;
    }
    size_t n = sizeof checks / sizeof *checks;
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", checks[i].name);
        return 0;
    }
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], checks[i].name) == 0)
                wanted = 1;
        if (!wanted)
            continue;
        current = checks[i].name;
        printf("check %s\n", current);
        fflush(stdout);
        int before = failures;
        checks[i].fn();
        if (failures == before)
            printf("ok %s\n", current);
        fflush(stdout);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "contract: no check matched; known checks:");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %s", checks[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    printf("contract: %d checks, %d failed\n", ran, failures);
    return failures ? 1 : 0;
}
