/* badfree.c — bad frees that libpooldbg must stop before honouring.
 *
 * Usage: badfree [--prefill N] CASE      (badfree --list prints the cases)
 * --prefill N first allocates N live malloc(64) blocks (kept to the end), to
 * push the library into its dense mode when run with a low map_limit.
 * Before the bad call the child prints to stdout one line
 *     EXPECT libpooldbg: ERROR: <kind> on <call>(0x<addr>)
 * with the address formatted by printf("%p"). The harness checks that the
 * first stderr line starting with "libpooldbg:" is exactly that text and
 * that the child died by SIGABRT. Exit 3: the bad call returned.
 * Needs libpooldbg. */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuse-after-free"
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#pragma GCC diagnostic ignored "-Wmismatched-dealloc"
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void *volatile sink;
/* Hides p from the optimiser (thread-safe: no shared variable). */
static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

static void expect(const char *kind, const char *call, void *addr) {
    printf("EXPECT libpooldbg: ERROR: %s on %s(%p)\n", kind, call, addr);
    fflush(stdout);
}

static void returned(const char *what) {
    printf("RETURNED: %s came back instead of stopping the program\n", what);
    fflush(stdout);
    exit(3);
}

static void *must_malloc(size_t n) {
    void *p = opaque(malloc(n));
    if (!p) {
        printf("malloc(%zu) returned NULL\n", n);
        exit(2);
    }
    memset(p, 0x42, n);
    return p;
}

/* Bad frees, each ending in expect() and the bad call. */

static void double_free(void) {
    void *p = must_malloc(64);
    free(p);
    expect("double-free", "free", p);
    free(p);
    returned("free");
}

static void double_free_large(void) {
    void *p = must_malloc(1 << 20);
    free(p);
    expect("double-free", "free", p);
    free(p);
    returned("free");
}

static void *free_in_thread(void *p) {
    free(p);
    return NULL;
}

static void *bad_free_in_thread(void *p) {
    expect("double-free", "free", p);
    free(p);
    returned("free");
    return NULL;
}

static void double_free_threads(void) {
    /* Allocated by main, freed by thread A, freed again by thread B. */
    void *p = must_malloc(64);
    pthread_t a, b;
    pthread_create(&a, NULL, free_in_thread, p);
    pthread_join(a, NULL);
    pthread_create(&b, NULL, bad_free_in_thread, p);
    pthread_join(b, NULL);
    returned("thread");
}

static pthread_barrier_t race_barrier;

static void *racing_free(void *p) {
    pthread_barrier_wait(&race_barrier);
    free(p);
    return NULL;
}

static void double_free_race(void) {
    /* Two threads free the same block at the same moment: exactly one free
     * may win; the other must be reported (not lost, not a crash). */
    void *p = must_malloc(64);
    pthread_t a, b;
    pthread_barrier_init(&race_barrier, NULL, 2);
    expect("double-free", "free", p);
    pthread_create(&a, NULL, racing_free, p);
    pthread_create(&b, NULL, racing_free, p);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    returned("both racing frees");
}

static void *malloc_in_thread(void *arg) {
    (void)arg;
    return must_malloc(200);
}

static void double_free_thread_then_main(void) {
    /* Allocated by a thread, freed by another, both gone; main frees again. */
    pthread_t a;
    void *p;
    pthread_create(&a, NULL, malloc_in_thread, NULL);
    pthread_join(a, &p);
    pthread_create(&a, NULL, free_in_thread, p);
    pthread_join(a, NULL);
    expect("double-free", "free", p);
    free(p);
    returned("free");
}

static void invalid_free_stack(void) {
    char buf[64] __attribute__((aligned(16)));
    memset(buf, 0, sizeof buf);
    void *p = opaque(buf);
    expect("invalid-free", "free", p);
    free(p);
    returned("free");
}

static char global_buf[256] __attribute__((aligned(64)));

static void invalid_free_global(void) {
    void *p = opaque(global_buf + 64);
    expect("invalid-free", "free", p);
    free(p);
    returned("free");
}

static void invalid_free_wild(void) {
    void *p = opaque((void *)0x1234567);
    expect("invalid-free", "free", p);
    free(p);
    returned("free");
}

static void invalid_free_mmap(void) {
    void *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        exit(2);
    void *p = opaque((char *)m + 4096);
    expect("invalid-free", "free", p);
    free(p);
    returned("free");
}

static void interior_free(void) {
    char *p = must_malloc(64);
    void *q = opaque(p + 8);
    expect("interior-pointer-free", "free", q);
    free(q);
    returned("free");
}

static void interior_free_large(void) {
    char *p = must_malloc(100000);
    void *q = opaque(p + 50000);
    expect("interior-pointer-free", "free", q);
    free(q);
    returned("free");
}

static void realloc_freed(void) {
    void *p = must_malloc(64);
    free(p);
    expect("double-free", "realloc", p);
    sink = realloc(p, 100);
    returned("realloc");
}

static void realloc_zero_freed(void) {
    /* realloc(p, 0) frees p: on a freed p it is a double free too. */
    void *p = must_malloc(64);
    free(p);
    expect("double-free", "realloc", p);
    sink = realloc(p, 0);
    returned("realloc");
}

static void double_free_after_churn(void) {
    /* The second free comes after thousands of other allocations of the same
     * size: the freed block is still known as freed (quarantine). */
    void *p = must_malloc(64);
    free(p);
    for (int i = 0; i < 5000; i++)
        free(must_malloc(64));
    expect("double-free", "free", p);
    free(p);
    returned("free");
}

static void realloc_interior(void) {
    char *p = must_malloc(64);
    void *q = opaque(p + 8);
    expect("interior-pointer-free", "realloc", q);
    sink = realloc(q, 100);
    returned("realloc");
}

static void realloc_wild(void) {
    void *p = opaque((void *)0x1234567);
    expect("invalid-free", "realloc", p);
    sink = realloc(p, 100);
    returned("realloc");
}

static void corrupted_owner_link(void) {
    char *p = must_malloc(64);
    ((uint64_t *)p)[-1] ^= 1;
    expect("corrupted-owner-link", "free", p);
    free(p);
    returned("free");
}

static void corrupted_owner_link_realloc(void) {
    char *p = must_malloc(64);
    ((uint64_t *)p)[-1] ^= (uint64_t)1 << 40;
    expect("corrupted-owner-link", "realloc", p);
    sink = realloc(p, 1000);
    returned("realloc");
}

static unsigned char forge_buf[4096] __attribute__((aligned(64)));

static void forged_block(void) {
    /* A byte-for-byte copy of a live block and the 16 bytes before it (owner
     * link included) elsewhere: the copy is not ours. */
    unsigned char *p = must_malloc(64);
    memcpy(forge_buf + 1024 - 16, p - 16, 64 + 16);
    void *q = opaque(forge_buf + 1024);
    expect("invalid-free", "free", q);
    free(q);
    returned("free");
}

static void forged_block_heap(void) {
    /* The same forgery inside another live heap block (our own region). */
    unsigned char *p = must_malloc(64);
    unsigned char *big = must_malloc(8192);
    memcpy(big + 4096 - 16, p - 16, 64 + 16);
    void *q = opaque(big + 4096);
    expect("interior-pointer-free", "free", q);
    free(q);
    returned("free");
}

static void usable_size_freed(void) {
    void *p = must_malloc(64);
    free(p);
    expect("double-free", "malloc_usable_size", p);
    sink = (void *)(uintptr_t)malloc_usable_size(p);
    returned("malloc_usable_size");
}

static void usable_size_wild(void) {
    void *p = opaque((void *)0x1234567);
    expect("invalid-free", "malloc_usable_size", p);
    sink = (void *)(uintptr_t)malloc_usable_size(p);
    returned("malloc_usable_size");
}

static void usable_size_interior(void) {
    char *p = must_malloc(64);
    void *q = opaque(p + 16);
    expect("interior-pointer-free", "malloc_usable_size", q);
    sink = (void *)(uintptr_t)malloc_usable_size(q);
    returned("malloc_usable_size");
}

struct bad_case {
    const char *name;
    void (*fn)(void);
};

static const struct bad_case cases[] = {
    {"double-free", double_free},
    {"double-free-large", double_free_large},
    {"double-free-threads", double_free_threads},
    {"double-free-thread-then-main", double_free_thread_then_main},
    {"double-free-race", double_free_race},
    {"invalid-free-stack", invalid_free_stack},
    {"invalid-free-global", invalid_free_global},
    {"invalid-free-wild", invalid_free_wild},
    {"invalid-free-mmap", invalid_free_mmap},
    {"interior-free", interior_free},
    {"interior-free-large", interior_free_large},
    {"realloc-freed", realloc_freed},
    {"realloc-zero-freed", realloc_zero_freed},
    {"double-free-after-churn", double_free_after_churn},
    {"realloc-interior", realloc_interior},
    {"realloc-wild", realloc_wild},
    {"corrupted-owner-link", corrupted_owner_link},
    {"corrupted-owner-link-realloc", corrupted_owner_link_realloc},
    {"forged-block", forged_block},
    {"forged-block-in-heap", forged_block_heap},
    {"usable-size-freed", usable_size_freed},
    {"usable-size-wild", usable_size_wild},
    {"usable-size-interior", usable_size_interior},
};

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--prefill")) {
        long n = atol(argv[2]);
        for (long i = 0; i < n; i++)
            must_malloc(64); /* kept live on purpose */
        argv += 2;
        argc -= 2;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: badfree [--prefill N] CASE | --list\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!strcmp(argv[1], "--list"))
            printf("%s\n", cases[i].name);
        else if (!strcmp(argv[1], cases[i].name)) {
            cases[i].fn();
            return 3;
        }
    }
    if (strcmp(argv[1], "--list")) {
        fprintf(stderr, "badfree: unknown case %s\n", argv[1]);
        return 2;
    }
    return 0;
}
