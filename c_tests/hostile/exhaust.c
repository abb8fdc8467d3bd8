/* exhaust — running out, and asking for the impossible.
 *
 *   exhaust rlimit MIB   after start-up, set RLIMIT_AS (soft) to MIB MiB.
 *                        Then: 1 MiB blocks until malloc returns NULL (must
 *                        happen, with errno ENOMEM, before 4 x MIB blocks);
 *                        small blocks until NULL; calloc, realloc (the old
 *                        block must stay intact), posix_memalign,
 *                        aligned_alloc, memalign, valloc, strdup past the
 *                        limit fail cleanly; free half and allocate again
 *                        (must succeed); contents of every block checked.
 *                        Then lift the limit, free all, 10,000 malloc/free.
 *                        The harness checks stderr: one NOTICE, no ERROR.
 *   exhaust huge         no limit: SIZE_MAX/2, 1<<47, SIZE_MAX and friends
 *                        through every allocation entry point return NULL
 *                        with ENOMEM (EINVAL where the alignment is bad) and
 *                        the heap keeps working.
 *   exhaust maplimit N   N live small blocks at once (run with
 *                        guard=mprotect:map_limit=2000), contents checked,
 *                        all freed, N again, and the VMA count stays far
 *                        below vm.max_map_count.  The harness checks for the
 *                        one NOTICE naming vm.max_map_count.
 * Prints what it saw; exit 0 iff every check held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            failures++;                                                                                                \
            printf("exhaust: FAIL (line %d): ", __LINE__);                                                             \
            printf(__VA_ARGS__);                                                                                       \
            printf("\n");                                                                                              \
        }                                                                                                              \
    } while (0)

static void fillb(unsigned char *p, size_t n, unsigned char tag)
{
    /* every page and both ends: cheap, and touches the memory for real */
    for (size_t k = 0; k < n; k += 4096)
        p[k] = tag;
    p[n - 1] = tag;
}
static int checkb(const unsigned char *p, size_t n, unsigned char tag)
{
    for (size_t k = 0; k < n; k += 4096)
        if (p[k] != tag)
            return 0;
    return p[n - 1] == tag;
}

static int vma_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    int n = 0, c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static int final_rounds(void)
{
    for (int i = 0; i < 10000; i++) {
        size_t n = 1 + (size_t)(i * 37) % 6000;
        unsigned char *p = malloc(n);
        if (!p)
            return 0;
        memset(p, i, n);
        if (p[n / 2] != (unsigned char)i)
            return 0;
        free(p);
    }
    return 1;
}

#define MAXB 100000
static unsigned char *big[MAXB];
static unsigned char *small[MAXB];

static int run_rlimit(long mib)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* stdio allocates nothing past the limit */
    struct rlimit old, rl;
    getrlimit(RLIMIT_AS, &old);
    rl = old;
    rl.rlim_cur = (rlim_t)mib << 20;
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit: %s", strerror(errno));

    long nbig = 0;
    errno = 0;
    while (nbig < 4 * mib) {
        unsigned char *p = malloc(1 << 20);
        if (!p)
            break;
        fillb(p, 1 << 20, (unsigned char)nbig);
        big[nbig++] = p;
    }
    int e = errno;
    CHECK(nbig < 4 * mib, "RLIMIT_AS of %ld MiB not enforced: %ld blocks of 1 MiB allocated", mib, nbig);
    CHECK(e == ENOMEM, "malloc(1 MiB) returned NULL with errno %d (%s), not ENOMEM", e, strerror(e));
    printf("exhaust: rlimit %ld MiB: %ld blocks of 1 MiB before NULL/ENOMEM\n", mib, nbig);

    long nsmall = 0;
    errno = 0;
    while (nsmall < MAXB) {
        unsigned char *p = malloc(100);
        if (!p)
            break;
        fillb(p, 100, (unsigned char)nsmall);
        small[nsmall++] = p;
    }
    e = errno;
    CHECK(nsmall < MAXB, "small blocks never failed (%ld)", nsmall);
    CHECK(e == ENOMEM, "malloc(100) NULL with errno %d, not ENOMEM", e);
    printf("exhaust: then %ld blocks of 100 bytes before NULL/ENOMEM\n", nsmall);

    /* every other entry point fails cleanly now */
    errno = 0;
    CHECK(calloc(1, 1 << 20) == NULL && errno == ENOMEM, "calloc past the limit: errno %d", errno);
    unsigned char *keep = nsmall ? small[0] : big[0];
    size_t keepn = nsmall ? 100 : 1 << 20;
    errno = 0;
    void *r = realloc(keep, 8 << 20);
    CHECK(r == NULL && errno == ENOMEM, "realloc past the limit: %p errno %d", r, errno);
    CHECK(checkb(keep, keepn, 0), "the block realloc failed on was damaged");
    void *pm = (void *)1;
    int pe = posix_memalign(&pm, 4096, 1 << 20);
    CHECK(pe == ENOMEM && pm == (void *)1, "posix_memalign past the limit: %d, %p", pe, pm);
    errno = 0;
    CHECK(aligned_alloc(4096, 1 << 20) == NULL && errno == ENOMEM, "aligned_alloc: errno %d", errno);
    errno = 0;
    CHECK(memalign(64, 1 << 20) == NULL && errno == ENOMEM, "memalign: errno %d", errno);
    errno = 0;
    CHECK(valloc(1 << 20) == NULL && errno == ENOMEM, "valloc: errno %d", errno);

    /* the process keeps running: free half, allocate again */
    long freed = 0;
    for (long i = 0; i < nbig; i += 2) {
        CHECK(checkb(big[i], 1 << 20, (unsigned char)i), "1 MiB block %ld damaged", i);
        free(big[i]);
        big[i] = NULL;
        freed++;
    }
    long again = 0;
    for (long i = 0; i < nbig; i += 2) {
        unsigned char *p = malloc(1 << 20);
        if (!p)
            break;
        fillb(p, 1 << 20, (unsigned char)i);
        big[i] = p;
        again++;
    }
    CHECK(again >= freed / 2 && again > 0, "after freeing %ld MiB only %ld MiB could be allocated again", freed,
          again);
    printf("exhaust: freed %ld MiB, allocated %ld MiB again\n", freed, again);

    /* lift the limit; everything still intact; free all */
    CHECK(setrlimit(RLIMIT_AS, &old) == 0, "restoring RLIMIT_AS: %s", strerror(errno));
    for (long i = 0; i < nbig; i++)
        if (big[i]) {
            CHECK(checkb(big[i], 1 << 20, (unsigned char)i), "1 MiB block %ld damaged", i);
            free(big[i]);
        }
    for (long i = 0; i < nsmall; i++) {
        CHECK(checkb(small[i], 100, (unsigned char)i), "small block %ld damaged", i);
        free(small[i]);
    }
    CHECK(final_rounds(), "10,000 malloc/free after the limit was lifted failed");
    return failures ? 1 : 0;
}

struct huge_case {
    const char *what;
    void *(*fn)(void);
    int want_errno;
};

static volatile size_t H1 = SIZE_MAX / 2, H2 = (size_t)1 << 47, H3 = SIZE_MAX;
static void *m1(void) { return malloc(H1); }
static void *m2(void) { return malloc(H2); }
static void *m3(void) { return malloc(H3); }
static void *m4(void) { return malloc(H3 - 4095); }
static void *c1(void) { return calloc(H1, 4); }
static void *c2(void) { return calloc((size_t)1 << 40, (size_t)1 << 10); }
static void *c3(void) { return calloc(1, H2); }
static void *v1(void) { return valloc(H1); }
static void *v2(void) { return pvalloc(H3); }
static void *v3(void) { return pvalloc(H3 - 4095); }
static void *a1(void) { return aligned_alloc(4096, H2); }
static void *a2(void) { return memalign((size_t)1 << 40, 1); }
static void *a3(void) { return memalign(H1 + 2, 16); }
static void *a4(void) { return aligned_alloc((size_t)1 << 62, 16); }
static void *ra(void) { return reallocarray(NULL, H1, 3); }

static int run_huge(void)
{
    struct huge_case cases[] = {
        {"malloc(SIZE_MAX/2)", m1, ENOMEM},
        {"malloc(1<<47)", m2, ENOMEM},
        {"malloc(SIZE_MAX)", m3, ENOMEM},
        {"malloc(SIZE_MAX-4095)", m4, ENOMEM},
        {"calloc(SIZE_MAX/2, 4) (overflow)", c1, ENOMEM},
        {"calloc(1<<40, 1<<10)", c2, ENOMEM},
        {"calloc(1, 1<<47)", c3, ENOMEM},
        {"valloc(SIZE_MAX/2)", v1, ENOMEM},
        {"pvalloc(SIZE_MAX)", v2, ENOMEM},
        {"pvalloc(SIZE_MAX-4095)", v3, ENOMEM},
        {"aligned_alloc(4096, 1<<47)", a1, ENOMEM},
        {"memalign(1<<40, 1)", a2, ENOMEM},
        {"memalign(SIZE_MAX/2+2, 16)", a3, EINVAL},
        {"aligned_alloc(1<<62, 16)", a4, ENOMEM},
        {"reallocarray(NULL, SIZE_MAX/2, 3)", ra, ENOMEM},
    };
    unsigned char *live = malloc(4000);
    memset(live, 0x42, 4000);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        errno = 0;
        void *p = cases[i].fn();
        int e = errno;
        if (p) {
            CHECK(0, "%s returned %p", cases[i].what, p);
            free(p);
        } else if (e != cases[i].want_errno && !(cases[i].want_errno == EINVAL && e == ENOMEM)) {
            CHECK(0, "%s: NULL with errno %d (%s), expected %s", cases[i].what, e, strerror(e),
                  cases[i].want_errno == ENOMEM ? "ENOMEM" : "EINVAL");
        } else
            printf("exhaust: %s -> NULL, %s\n", cases[i].what, strerror(e));
    }
    void *pm = (void *)1;
    int r = posix_memalign(&pm, 4096, H2);
    CHECK(r == ENOMEM && pm == (void *)1, "posix_memalign(4096, 1<<47) = %d, %p", r, pm);
    r = posix_memalign(&pm, 24, 16);
    CHECK(r == EINVAL && pm == (void *)1, "posix_memalign(24, 16) = %d", r);
    errno = 0;
    void *q = realloc(live, H1);
    CHECK(q == NULL && errno == ENOMEM, "realloc(p, SIZE_MAX/2) = %p errno %d", q, errno);
    errno = 0;
    q = reallocarray(live, H1, 4);
    CHECK(q == NULL && errno == ENOMEM, "reallocarray(p, SIZE_MAX/2, 4) = %p errno %d", q, errno);
    for (int i = 0; i < 4000; i++)
        if (live[i] != 0x42) {
            CHECK(0, "block damaged by the failed realloc at %d", i);
            break;
        }
    free(live);
    CHECK(final_rounds(), "10,000 malloc/free after the huge requests failed");
    return failures ? 1 : 0;
}

static int run_maplimit(long n)
{
    if (n > MAXB)
        n = MAXB;
    int v0 = vma_count();
    for (long i = 0; i < n; i++) {
        size_t sz = 1 + (size_t)(i * 131) % 2000;
        small[i] = malloc(sz);
        CHECK(small[i] != NULL, "malloc #%ld failed", i);
        if (!small[i])
            return 1;
        memset(small[i], (int)i, sz);
    }
    int v1 = vma_count();
    for (long i = 0; i < n; i++) {
        size_t sz = 1 + (size_t)(i * 131) % 2000;
        for (size_t k = 0; k < sz; k++)
            if (small[i][k] != (unsigned char)i) {
                CHECK(0, "block %ld damaged", i);
                break;
            }
        free(small[i]);
    }
    for (long i = 0; i < n; i++) {
        size_t sz = 1 + (size_t)(i * 71) % 3000;
        small[i] = malloc(sz);
        CHECK(small[i] != NULL, "second round malloc #%ld failed", i);
        if (!small[i])
            return 1;
        memset(small[i], (int)(i + 1), sz);
    }
    int v2 = vma_count();
    for (long i = 0; i < n; i++) {
        size_t sz = 1 + (size_t)(i * 71) % 3000;
        CHECK(small[i][sz - 1] == (unsigned char)(i + 1), "second round block %ld damaged", i);
        free(small[i]);
    }
    printf("exhaust: maplimit: %ld live blocks twice; VMAs %d at start, %d and %d with all live\n", n, v0, v1, v2);
    CHECK(v1 < 8000 && v2 < 8000, "VMA count %d/%d: the map limit was not respected", v1, v2);
    CHECK(final_rounds(), "10,000 malloc/free afterwards failed");
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "rlimit"))
        return run_rlimit(atol(argv[2]));
    if (argc >= 2 && !strcmp(argv[1], "huge"))
        return run_huge();
    if (argc >= 3 && !strcmp(argv[1], "maplimit"))
        return run_maplimit(atol(argv[2]));
    fprintf(stderr, "usage: %s rlimit MIB | huge | maplimit N\n", argv[0]);
    return 2;
}
