/* ptrfuzz — hostile pointers to free / realloc / malloc_usable_size.
 *
 *   ptrfuzz loop COUNT SEED   one process, COUNT hostile calls; needs
 *                             POOLDBG_OPTIONS=on_error=continue and stderr
 *                             redirected to a regular file
 *   ptrfuzz fork COUNT SEED   COUNT child processes, each hands ONE hostile
 *                             pointer to the allocator and must be stopped
 *                             by the report (FUZZ_EXPECT=abort, the default:
 *                             SIGABRT; FUZZ_EXPECT=exit:N: exit status N)
 *
 * Pointer families (seeded xorshift, so a run is reproducible): near live
 * and freed blocks (+-1..8192 bytes, i.e. interiors, slack, guard pages and
 * neighbouring slots), exact starts of freed blocks (double free), guard
 * pages, never-used slots far out in a pool, anywhere in the arena, the
 * stack, globals, kernel-half and non-canonical addresses, unaligned values,
 * NULL+small, libpooldbg's own metadata (anonymous mappings that are not the
 * program's, found in /proc/self/maps) and its .data/.bss, mmap'ed memory
 * of the program, code, and plain random 64-bit values.  A candidate equal
 * to the start of a block the program holds is redrawn (that would be a
 * valid call).  free(NULL) / malloc_usable_size(NULL) are mixed in as the
 * valid no-ops: they must print nothing.
 *
 * loop mode checks EVERY call: the stderr file must grow by exactly one
 * report whose first line is "libpooldbg: ERROR: <kind> on <func>(0x<ptr>)"
 * with the pointer handed in, and which ends with "end of report"; realloc
 * must return NULL (ENOMEM) and malloc_usable_size 0.  Between hostile calls
 * the program allocates, reallocs and frees real blocks with a content
 * pattern.  At the end every live block's content is verified and freed,
 * then 10,000 malloc/free rounds with content checks must run silently.
 * Exit 0 only if all of that held; stdout gets the counts per family.
 * FUZZ_TRUNCATE=1 (for the million-pointer run) empties the stderr file
 * whenever it passes 16 MiB, after every report in it has been checked.
 *
 * No stdio anywhere: libc-internal heap blocks (stdio buffers) would be
 * blocks the fuzzer does not know about, and a pointer that happened to hit
 * one would be a valid free.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ output */
static void outf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(int fd, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof buf - 1)
        n = sizeof buf - 1;
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= w;
    }
}
#define say(...) outf(1, __VA_ARGS__)

static long failures;
#define MAX_FAIL_LINES 30
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    if (failures++ >= MAX_FAIL_LINES)
        return;
    char buf[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    outf(1, "ptrfuzz: FAIL: %s\n", buf);
}

/* ------------------------------------------------------------ PRNG */
static uint64_t rng_state, the_seed;
static uint64_t rnd(void)
{
    /* splitmix64: fine statistics, trivially seedable */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t rndn(uint64_t n) { return n ? rnd() % n : 0; }

/* ------------------------------------------------------------ real blocks */
#define MAXLIVE 384
#define MAXFREED 512
struct blk {
    unsigned char *p;
    size_t n;
    uint8_t seed;
};
static struct blk live[MAXLIVE];
static int nlive;
static uintptr_t freed[MAXFREED];
static int nfreed, freed_pos;

static uint8_t pat(uint8_t seed, size_t i) { return (uint8_t)(seed + i * 7 + (i >> 8)); }

static void fill(struct blk *b)
{
    for (size_t i = 0; i < b->n; i++)
        b->p[i] = pat(b->seed, i);
}
static int verify(const struct blk *b, const char *when)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->p[i] != pat(b->seed, i)) {
            fail("%s: block %p (%zu bytes) corrupted at offset %zu: 0x%02x, expected 0x%02x", when, (void *)b->p,
                 b->n, i, b->p[i], pat(b->seed, i));
            return 0;
        }
    return 1;
}

static size_t rand_size(void)
{
    uint64_t r = rndn(100);
    if (r < 55)
        return 1 + rndn(256);
    if (r < 85)
        return 257 + rndn(8192 - 256);
    if (r < 97)
        return 8193 + rndn(65536);
    return 65536 + rndn(1 << 20);
}

static void forget_freed(uintptr_t p)
{
    for (int i = 0; i < nfreed; i++)
        if (freed[i] == p)
            freed[i] = 0; /* slot reused: no longer a "freed" address */
}
static void note_freed(uintptr_t p)
{
    freed[freed_pos] = p;
    freed_pos = (freed_pos + 1) % MAXFREED;
    if (nfreed < MAXFREED)
        nfreed++;
}
/* Ballast (FUZZ_BALLAST=N): N small blocks live for the whole run, e.g. to
 * push guard=mprotect past a low map_limit into the dense pools; their
 * starts are valid pointers too, kept sorted for the look-up. */
static uintptr_t *ballast;
static long nballast;
static int cmp_uptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}
static int is_live_start(uintptr_t p)
{
    if (nballast && bsearch(&p, ballast, nballast, sizeof *ballast, cmp_uptr))
        return 1;
    for (int i = 0; i < nlive; i++)
        if ((uintptr_t)live[i].p == p)
            return 1;
    return 0;
}

static long valid_ops;
static void add_block(void)
{
    if (nlive >= MAXLIVE)
        return;
    struct blk b;
    b.n = rand_size();
    b.seed = (uint8_t)rnd();
    if (rndn(8) == 0) {
        void *q = NULL;
        size_t al = (size_t)1 << (4 + rndn(9)); /* 16..4096 */
        if (posix_memalign(&q, al, b.n) != 0)
            q = NULL;
        b.p = q;
    } else if (rndn(4) == 0) {
        b.p = calloc(1, b.n);
        if (b.p)
            for (size_t i = 0; i < b.n; i++)
                if (b.p[i]) {
                    fail("calloc(%zu) = %p not zeroed at %zu", b.n, (void *)b.p, i);
                    break;
                }
    } else {
        b.p = malloc(b.n);
    }
    if (!b.p) {
        fail("allocation of %zu bytes failed (errno %d)", b.n, errno);
        return;
    }
    forget_freed((uintptr_t)b.p);
    fill(&b);
    live[nlive++] = b;
    valid_ops++;
}
static void drop_block(int i)
{
    verify(&live[i], "before free");
    free(live[i].p);
    note_freed((uintptr_t)live[i].p);
    live[i] = live[--nlive];
    valid_ops++;
}
static void resize_block(int i)
{
    struct blk *b = &live[i];
    verify(b, "before realloc");
    size_t n = rand_size();
    unsigned char *q = realloc(b->p, n);
    if (!q) {
        fail("realloc(%p, %zu) failed", (void *)b->p, n);
        return;
    }
    size_t keep = n < b->n ? n : b->n;
    for (size_t k = 0; k < keep; k++)
        if (q[k] != pat(b->seed, k)) {
            fail("realloc %p -> %p lost contents at %zu", (void *)b->p, (void *)q, k);
            break;
        }
    if (q != b->p)
        note_freed((uintptr_t)b->p);
    forget_freed((uintptr_t)q);
    b->p = q;
    b->n = n;
    fill(b);
    valid_ops++;
}
static void churn(void)
{
    uint64_t r = rndn(10);
    if (nlive < 8 || (r < 4 && nlive < MAXLIVE))
        add_block();
    else if (r < 8)
        drop_block((int)rndn(nlive));
    else
        resize_block((int)rndn(nlive));
}

/* ------------------------------------------------------------ the address space */
struct range {
    uintptr_t lo, hi;
};
#define MAXR 256
static struct range meta_r[MAXR], self_r[MAXR], code_r[MAXR];
static int nmeta, nself, ncode;
static unsigned char *my_map, *my_none;
#define MY_MAP_LEN (1 << 20)
static unsigned char globals[65536];
static volatile uintptr_t stack_base;

static int in_block(uintptr_t lo, uintptr_t hi)
{
    for (int i = 0; i < nlive; i++) {
        uintptr_t p = (uintptr_t)live[i].p;
        if (p + 65536 > lo && p < hi + 65536)
            return 1;
    }
    return 0;
}

/* Reads /proc/self/maps with read(2) (no stdio) and sorts its lines into
 * libpooldbg metadata candidates (anonymous mappings that are not ours,
 * the heap's blocks or the stack), libpooldbg.so's own mappings, and code. */
static void scan_maps(void)
{
    static char buf[1 << 18];
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0) {
        fail("open /proc/self/maps: %s", strerror(errno));
        return;
    }
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += r;
    close(fd);
    buf[len] = 0;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        unsigned long lo, hi;
        char perms[8] = "";
        int pathpos = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &pathpos) >= 3) {
            const char *path = pathpos ? line + pathpos : "";
            while (*path == ' ')
                path++;
            if (strstr(path, "libpooldbg")) {
                if (nself < MAXR)
                    self_r[nself++] = (struct range){lo, hi};
            } else if (*path == 0) {
                int mine = (lo <= (uintptr_t)my_map && (uintptr_t)my_map < hi) ||
                           (lo <= (uintptr_t)my_none && (uintptr_t)my_none < hi);
                if (!mine && !in_block(lo, hi) && nmeta < MAXR)
                    meta_r[nmeta++] = (struct range){lo, hi};
            } else if (perms[2] == 'x' && path[0] == '/') {
                if (ncode < MAXR)
                    code_r[ncode++] = (struct range){lo, hi};
            }
        }
        line = nl ? nl + 1 : NULL;
    }
}

static uintptr_t in_range(const struct range *r, int n)
{
    if (n == 0)
        return 0x1000 + rndn(0x100000);
    const struct range *x = &r[rndn(n)];
    switch (rndn(4)) {
    case 0:
        return x->lo + 16 * rndn(4); /* the very start: looks like a block */
    case 1:
        return x->lo + ((x->hi - x->lo) & ~(uintptr_t)15) - 16 * (1 + rndn(4));
    default:
        return x->lo + rndn(x->hi - x->lo);
    }
}

/* ------------------------------------------------------------ hostile pointers */
enum fam {
    F_NEAR_LIVE,
    F_NEAR_FREED,
    F_DOUBLE_FREE,
    F_GUARD,
    F_UNUSED_SLOT,
    F_ARENA,
    F_STACK,
    F_GLOBAL,
    F_KERNEL,
    F_UNALIGNED,
    F_NULL_SMALL,
    F_META,
    F_LIBSELF,
    F_MMAP,
    F_CODE,
    F_RANDOM,
    NFAM
};
static const char *fam_name[NFAM] = {"near-live", "near-freed", "double-free", "guard-page", "unused-slot",
                                     "arena",     "stack",      "global",      "kernel",     "unaligned",
                                     "null+small", "metadata",  "libpooldbg",  "mmap",       "code",
                                     "random"};

static uintptr_t any_live(void) { return nlive ? (uintptr_t)live[rndn(nlive)].p : 0x10000; }
static uintptr_t any_freed(void)
{
    for (int tries = 0; tries < 8 && nfreed; tries++) {
        uintptr_t p = freed[rndn(nfreed)];
        if (p)
            return p;
    }
    return any_live() + 8192;
}
static intptr_t delta(void)
{
    intptr_t d = 1 + (intptr_t)rndn(8192);
    if (rndn(3) == 0)
        d &= ~(intptr_t)15; /* 16-aligned distances look most like block starts */
    if (d == 0)
        d = 16;
    return rndn(2) ? d : -d;
}

static uintptr_t hostile(enum fam f)
{
    uintptr_t p = 0;
    switch (f) {
    case F_NEAR_LIVE:
        p = any_live() + delta();
        if (nballast && rndn(4) == 0)
            p = ballast[rndn(nballast)] + delta() % 256;
        break;
    case F_NEAR_FREED:
        p = any_freed() + delta();
        break;
    case F_DOUBLE_FREE:
        p = any_freed();
        break;
    case F_GUARD: {
        const struct blk *b = nlive ? &live[rndn(nlive)] : NULL;
        uintptr_t end = b ? (uintptr_t)b->p + b->n : 0x20000;
        p = ((end + 4095) & ~(uintptr_t)4095) + rndn(4096);
        if (rndn(2) && b) /* or the page(s) below the block */
            p = ((uintptr_t)b->p & ~(uintptr_t)4095) - 1 - rndn(8192);
        break;
    }
    case F_UNUSED_SLOT:
        p = any_live() + (uintptr_t)(1000 + rndn(1 << 22)) * 4096 + 16 * rndn(256);
        break;
    case F_ARENA:
        p = any_live() + (rndn(2) ? 1 : -1) * (intptr_t)rndn((uintptr_t)1 << 40);
        break;
    case F_STACK: {
        volatile char here;
        p = (uintptr_t)&here + (intptr_t)rndn(1 << 16) - (1 << 15);
        if (rndn(4) == 0)
            p = stack_base - 16 * rndn(4096);
        break;
    }
    case F_GLOBAL:
        p = (uintptr_t)globals + rndn(sizeof globals);
        if (rndn(4) == 0)
            p = (uintptr_t)&live[rndn(MAXLIVE)];
        if (rndn(8) == 0)
            p = (uintptr_t)&errno; /* TLS */
        if (rndn(8) == 0)
            p = (uintptr_t)environ;
        break;
    case F_KERNEL:
        switch (rndn(3)) {
        case 0:
            p = 0xffff800000000000ULL + (rnd() & 0x7fffffffffffULL);
            break;
        case 1:
            p = 0xfffffffffffff000ULL + rndn(4096); /* near -1 */
            break;
        default:
            p = 0x0000800000000000ULL + (rnd() & 0x7ffffffffff0ULL); /* non-canonical */
        }
        break;
    case F_UNALIGNED:
        p = any_live() + 1 + rndn(15);
        if (rndn(2))
            p = (rnd() & 0x00007ffffffffff0ULL) | (1 + rndn(15));
        break;
    case F_NULL_SMALL:
        p = 1 + rndn(65535);
        break;
    case F_META:
        p = in_range(meta_r, nmeta);
        break;
    case F_LIBSELF:
        p = in_range(self_r, nself);
        break;
    case F_MMAP:
        p = (uintptr_t)(rndn(2) ? my_map : my_none) + rndn(MY_MAP_LEN);
        if (rndn(4) == 0)
            p &= ~(uintptr_t)15;
        break;
    case F_CODE:
        p = in_range(code_r, ncode);
        if (rndn(4) == 0)
            p = (uintptr_t)&malloc;
        break;
    case F_RANDOM:
    default:
        p = rnd();
        break;
    }
    return p;
}

enum fn { FN_FREE, FN_REALLOC, FN_REALLOC0, FN_USABLE, NFN };
static const char *fn_name[NFN] = {"free", "realloc", "realloc", "malloc_usable_size"};

/* One hostile draw: a family, a function, a pointer that is not a block the
 * program holds and not NULL. */
struct draw {
    enum fam fam;
    enum fn fn;
    uintptr_t p;
    size_t rsize;
};
static struct draw draw(void)
{
    struct draw d;
    d.fam = (enum fam)rndn(NFAM);
    d.fn = (enum fn)rndn(NFN);
    d.rsize = 1 + rndn(100000);
    if (rndn(16) == 0)
        d.rsize = SIZE_MAX / 2;
    for (;;) {
        d.p = hostile(d.fam);
        if (d.p != 0 && !is_live_start(d.p))
            return d;
    }
}

/* Makes the call. Returns 0 if the return value was wrong. */
static int call(const struct draw *d, int *errno_out)
{
    void *v = (void *)d->p;
    errno = 0;
    switch (d->fn) {
    case FN_FREE:
        free(v);
        *errno_out = errno;
        return 1;
    case FN_REALLOC: {
        void *q = realloc(v, d->rsize);
        *errno_out = errno;
        if (q) {
            fail("realloc(0x%lx, %zu) [%s] returned %p instead of NULL", (unsigned long)d->p, d->rsize, fam_name[d->fam], q);
            return 0;
        }
        if (errno != ENOMEM) {
            fail("realloc(0x%lx, %zu) [%s] returned NULL with errno %d, not ENOMEM", (unsigned long)d->p, d->rsize, fam_name[d->fam],
                 errno);
            return 0;
        }
        return 1;
    }
    case FN_REALLOC0: {
        void *q = realloc(v, 0);
        *errno_out = errno;
        if (q) {
            fail("realloc(0x%lx, 0) [%s] returned %p", (unsigned long)d->p, fam_name[d->fam], q);
            return 0;
        }
        return 1;
    }
    case FN_USABLE:
    default: {
        size_t n = malloc_usable_size(v);
        *errno_out = errno;
        if (n != 0) {
            fail("malloc_usable_size(0x%lx) [%s] = %zu, expected 0", (unsigned long)d->p, fam_name[d->fam], n);
            return 0;
        }
        return 1;
    }
    }
}

/* ------------------------------------------------------------ report checking */
static int err_rd = -1; /* stderr's file, opened again for reading */
static char rep[1 << 16];

static off_t err_size(void)
{
    struct stat st;
    if (fstat(2, &st) != 0)
        return -1;
    return st.st_size;
}

static const char *kinds[] = {"invalid-free", "interior-pointer-free", "double-free", NULL};
static long kind_count[4];

/* The bytes stderr grew by during one hostile call: exactly one report about
 * this call. */
static int check_report(const struct draw *d, off_t from, off_t to)
{
    size_t n = (size_t)(to - from);
    if (n == 0) {
        fail("SILENT: %s(%p) [%s] printed nothing", fn_name[d->fn], (void *)d->p, fam_name[d->fam]);
        return 0;
    }
    if (n > sizeof rep - 1)
        n = sizeof rep - 1; /* a long stack: the head and the count are enough */
    ssize_t r = pread(err_rd, rep, n, from);
    if (r <= 0) {
        fail("pread stderr: %s", strerror(errno));
        return 0;
    }
    rep[r] = 0;
    char want[160];
    snprintf(want, sizeof want, " on %s(0x%lx)\n", fn_name[d->fn], (unsigned long)d->p);
    const char *pre = "libpooldbg: ERROR: ";
    int ok = strncmp(rep, pre, strlen(pre)) == 0;
    int k = 0;
    if (ok) {
        const char *kind = rep + strlen(pre);
        for (k = 0; kinds[k]; k++)
            if (strncmp(kind, kinds[k], strlen(kinds[k])) == 0 && strncmp(kind + strlen(kinds[k]), want, strlen(want)) == 0)
                break;
        ok = kinds[k] != NULL;
    }
    int nerr = 0;
    for (const char *s = rep; (s = strstr(s, "libpooldbg: ERROR:")); s++)
        nerr++;
    if (!ok || nerr != 1 || ((size_t)r == n && !strstr(rep, "libpooldbg: end of report"))) {
        char first[200];
        const char *nl = strchr(rep, '\n');
        size_t fl = nl ? (size_t)(nl - rep) : strlen(rep);
        if (fl > sizeof first - 1)
            fl = sizeof first - 1;
        memcpy(first, rep, fl);
        first[fl] = 0;
        fail("%s(%p) [%s]: bad report (%d ERROR lines): '%s'", fn_name[d->fn], (void *)d->p, fam_name[d->fam], nerr,
             first);
        return 0;
    }
    kind_count[k]++;
    return 1;
}

/* ------------------------------------------------------------ end checks */
static int final_rounds(void)
{
    int ok = 1;
    for (int i = 0; i < nlive; i++)
        ok &= verify(&live[i], "after the fuzz");
    while (nlive)
        drop_block(0);
    /* 10,000 rounds: up to 64 blocks in flight, each filled and verified */
    struct blk hold[64];
    int nh = 0;
    for (int round = 0; round < 10000; round++) {
        if (nh == 64 || (nh && rndn(2))) {
            int i = (int)rndn(nh);
            ok &= verify(&hold[i], "final rounds");
            free(hold[i].p);
            hold[i] = hold[--nh];
        }
        struct blk b;
        b.n = rndn(8) == 0 ? 4097 + rndn(100000) : 1 + rndn(512);
        b.seed = (uint8_t)rnd();
        b.p = malloc(b.n);
        if (!b.p) {
            fail("final rounds: malloc(%zu) failed", b.n);
            return 0;
        }
        fill(&b);
        hold[nh++] = b;
    }
    while (nh) {
        ok &= verify(&hold[nh - 1], "final rounds");
        free(hold[--nh].p);
    }
    return ok;
}

static void setup(uint64_t seed)
{
    rng_state = the_seed = seed;
    volatile char base;
    stack_base = (uintptr_t)&base;
    my_map = mmap(NULL, MY_MAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    my_none = mmap(NULL, MY_MAP_LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (my_map == MAP_FAILED || my_none == MAP_FAILED) {
        outf(1, "ptrfuzz: mmap failed\n");
        exit(2);
    }
    memset(my_map, 0x5a, MY_MAP_LEN);
    memset(globals, 0x33, sizeof globals);
    const char *bal = getenv("FUZZ_BALLAST");
    long nb = bal ? atol(bal) : 0;
    if (nb > 0) {
        ballast = mmap(NULL, nb * sizeof *ballast, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (ballast == MAP_FAILED) {
            outf(1, "ptrfuzz: mmap failed\n");
            exit(2);
        }
        for (long i = 0; i < nb; i++) {
            ballast[i] = (uintptr_t)malloc(16 + rndn(48));
            if (!ballast[i]) {
                outf(1, "ptrfuzz: ballast malloc failed\n");
                exit(2);
            }
        }
        nballast = nb;
        qsort(ballast, nballast, sizeof *ballast, cmp_uptr);
    }
    for (int i = 0; i < 200; i++)
        add_block();
    for (int i = 0; i < 100; i++)
        drop_block((int)rndn(nlive));
    scan_maps();
}

/* ------------------------------------------------------------ modes */
static int run_loop(long count)
{
    struct stat st;
    if (fstat(2, &st) != 0 || !S_ISREG(st.st_mode)) {
        outf(1, "ptrfuzz: loop mode needs stderr redirected to a regular file\n");
        return 2;
    }
    err_rd = open("/proc/self/fd/2", O_RDONLY);
    if (err_rd < 0) {
        outf(1, "ptrfuzz: cannot reopen stderr for reading: %s\n", strerror(errno));
        return 2;
    }
    long per_fam[NFAM] = {0}, per_fn[NFN] = {0}, hostile_calls = 0, reported = 0, noops = 0;
    int truncate_err = getenv("FUZZ_TRUNCATE") != NULL;
    for (long i = 0; i < count; i++) {
        if (rndn(4) == 0)
            churn();
        if (rndn(256) == 0) { /* the valid no-ops */
            off_t a = err_size();
            free(NULL);
            size_t u = malloc_usable_size(NULL);
            off_t b = err_size();
            if (a != b || u != 0)
                fail("free(NULL)/malloc_usable_size(NULL) not silent no-ops (usable %zu, stderr +%ld)", u,
                     (long)(b - a));
            noops++;
        }
        struct draw d = draw();
        off_t before = err_size();
        int e;
        call(&d, &e);
        off_t after = err_size();
        hostile_calls++;
        per_fam[d.fam]++;
        per_fn[d.fn]++;
        reported += check_report(&d, before, after);
        if (truncate_err && after > (1 << 24)) { /* every report was checked: keep the file small */
            if (ftruncate(2, 0) != 0 || lseek(2, 0, SEEK_SET) != 0)
                fail("cannot truncate stderr: %s", strerror(errno));
        }
        if (failures > 1000)
            break;
    }
    off_t before_final = err_size();
    int ok = final_rounds();
    off_t after_final = err_size();
    if (after_final != before_final) {
        fail("final 10,000 malloc/free rounds printed %ld bytes of reports", (long)(after_final - before_final));
        ok = 0;
    }
    say("ptrfuzz: loop seed=%lu hostile=%ld reported=%ld noops=%ld valid_ops=%ld\n", (unsigned long)the_seed,
        hostile_calls, reported, noops, valid_ops);
    say("ptrfuzz: by function: free=%ld realloc=%ld realloc0=%ld malloc_usable_size=%ld\n", per_fn[FN_FREE],
        per_fn[FN_REALLOC], per_fn[FN_REALLOC0], per_fn[FN_USABLE]);
    say("ptrfuzz: by family:");
    for (int f = 0; f < NFAM; f++)
        say(" %s=%ld", fam_name[f], per_fam[f]);
    say("\nptrfuzz: by report kind: invalid-free=%ld interior-pointer-free=%ld double-free=%ld\n", kind_count[0],
        kind_count[1], kind_count[2]);
    say("ptrfuzz: metadata ranges=%d libpooldbg ranges=%d code ranges=%d\n", nmeta, nself, ncode);
    say("calls=%ld\n", hostile_calls);
    if (ok && failures == 0 && reported == hostile_calls) {
        say("ptrfuzz: OK\n");
        return 0;
    }
    say("ptrfuzz: FAILED (%ld failures)\n", failures);
    return 1;
}

static int expect_sig = SIGABRT, expect_code = -1;

static int run_fork(long count)
{
    const char *e = getenv("FUZZ_EXPECT");
    if (e && strncmp(e, "exit:", 5) == 0) {
        expect_sig = 0;
        expect_code = atoi(e + 5);
    }
    long per_fam[NFAM] = {0}, good = 0, noop_ok = 0;
    for (long i = 0; i < count; i++) {
        churn();
        struct draw d = draw();
        int nullcase = (i % 50) == 49; /* the valid no-op, in a child too */
        if (nullcase) {
            d.p = 0;
            d.fn = rndn(2) ? FN_FREE : FN_USABLE;
        }
        int pfd[2];
        if (pipe(pfd) != 0) {
            fail("pipe: %s", strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            fail("fork: %s", strerror(errno));
            break;
        }
        if (pid == 0) {
            close(pfd[0]);
            dup2(pfd[1], 2);
            close(pfd[1]);
            alarm(20);
            int err;
            call(&d, &err);
            /* still here: only right for the NULL no-ops */
            _exit(d.p == 0 ? 0 : 77);
        }
        close(pfd[1]);
        char buf[8192];
        size_t len = 0;
        ssize_t r;
        while ((r = read(pfd[0], buf + len, sizeof buf - 1 - len)) > 0 && len < sizeof buf - 1)
            len += r;
        while (r > 0) /* drain the rest */
            r = read(pfd[0], (char[4096]){0}, 4096);
        buf[len] = 0;
        close(pfd[0]);
        int st;
        if (waitpid(pid, &st, 0) != pid) {
            fail("waitpid: %s", strerror(errno));
            break;
        }
        per_fam[d.fam]++;
        char status[64];
        if (WIFSIGNALED(st))
            snprintf(status, sizeof status, "signal %d", WTERMSIG(st));
        else
            snprintf(status, sizeof status, "exit %d", WEXITSTATUS(st));
        if (nullcase) {
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && len == 0)
                noop_ok++;
            else
                fail("child %ld: %s(NULL) should be a silent no-op: %s, stderr '%.200s'", i, fn_name[d.fn], status,
                     buf);
            continue;
        }
        int status_ok = expect_sig ? (WIFSIGNALED(st) && WTERMSIG(st) == expect_sig)
                                   : (WIFEXITED(st) && WEXITSTATUS(st) == expect_code);
        char want[160];
        snprintf(want, sizeof want, " on %s(0x%lx)\n", fn_name[d.fn], (unsigned long)d.p);
        int line_ok = strncmp(buf, "libpooldbg: ERROR: ", 19) == 0;
        if (line_ok) {
            const char *nl = strchr(buf, '\n');
            const char *w = strstr(buf, want);
            line_ok = nl && w && w + strlen(want) == nl + 1;
        }
        if (status_ok && line_ok)
            good++;
        else
            fail("child %ld: %s(%p) [%s]: %s (want %s %d), stderr '%.300s'", i, fn_name[d.fn], (void *)d.p,
                 fam_name[d.fam], status, expect_sig ? "signal" : "exit", expect_sig ? expect_sig : expect_code,
                 buf);
    }
    say("ptrfuzz: fork children=%ld stopped-with-report=%ld null-noops=%ld\n", count, good, noop_ok);
    say("ptrfuzz: by family:");
    for (int f = 0; f < NFAM; f++)
        say(" %s=%ld", fam_name[f], per_fam[f]);
    say("\n");
    int ok = final_rounds();
    if (ok && failures == 0 && good + noop_ok == count) {
        say("ptrfuzz: OK\n");
        return 0;
    }
    say("ptrfuzz: FAILED (%ld failures)\n", failures);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        outf(2, "usage: %s loop|fork COUNT SEED\n", argv[0]);
        return 2;
    }
    long count = strtol(argv[2], NULL, 0);
    uint64_t seed = strtoull(argv[3], NULL, 0);
    setup(seed);
    if (strcmp(argv[1], "loop") == 0)
        return run_loop(count);
    if (strcmp(argv[1], "fork") == 0)
        return run_fork(count);
    outf(2, "unknown mode %s\n", argv[1]);
    return 2;
}
