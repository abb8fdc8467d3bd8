/* guards.c — accesses that must fault: past the end of a block, or into a
 * freed one. Needs libpooldbg (plain glibc does not trap these).
 *
 * Usage: guards [--catch] CASE      (guards --list prints the cases)
 * The child prints "REACHED CASE" right before the bad access and "NO FAULT"
 * after it. Exit 3: the access did not fault. Exit 77: case not applicable.
 *
 * With --catch the child installs its own SIGSEGV and SIGBUS handler with
 * the rt_sigaction system call itself (replacing the library's reporter,
 * which keeps itself first against sigaction()), which prints
 *     FAULT sig=N addr=0x... expected=0x... match=yes|no
 * and returns with SA_RESETHAND, so the access faults again and the child
 * dies by that signal: the harness checks the signal (SIGSEGV for guard
 * markers and mprotect, SIGBUS for userfaultfd) and the exact address.
 * Without --catch the library's own fault handling is what is seen.
 *
 * Sizes are multiples of 16 (or of the alignment) so the byte after the
 * block is the first byte of the guard page, not alignment slack. */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuse-after-free"
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Hides p from the optimiser (thread-safe: no shared variable). */
static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

static const char *case_name;

/* The byte the bad access touches first; the --catch handler compares. */
static volatile uintptr_t expected_fault;

static char *put_hex(char *o, uintptr_t v) {
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    *o++ = '0';
    *o++ = 'x';
    while (n)
        *o++ = tmp[--n];
    return o;
}

static char *put_str(char *o, const char *s) {
    while (*s)
        *o++ = *s++;
    return o;
}

/* Async-signal-safe: formats by hand and write()s. */
static void on_segv(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    char buf[200], *o = buf;
    uintptr_t addr = (uintptr_t)si->si_addr;
    o = put_str(o, sig == SIGSEGV ? "FAULT sig=11 addr=" : sig == SIGBUS ? "FAULT sig=7 addr=" : "FAULT sig=other addr=");
    o = put_hex(o, addr);
    o = put_str(o, " expected=");
    o = put_hex(o, expected_fault);
    o = put_str(o, addr == expected_fault ? " match=yes\n" : " match=no\n");
    if (write(1, buf, (size_t)(o - buf)) < 0)
        _exit(5);
    /* SA_RESETHAND restored SIG_DFL: returning re-runs the access, which
     * faults again and kills the process with the same signal. */
}

/* The kernel's struct sigaction on x86-64, and a restorer (rt_sigreturn)
 * of our own: glibc's is not exported. */
struct kernel_sigaction {
    void (*handler)(int, siginfo_t *, void *);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};
#define KERNEL_SA_RESTORER 0x04000000
void guards_restore_rt(void);
__asm__(".text\n.p2align 4\nguards_restore_rt:\n\tmov $15, %eax\n\tsyscall\n");

static void catch_segv(void) {
    struct kernel_sigaction ka = {on_segv, SA_SIGINFO | SA_RESETHAND | KERNEL_SA_RESTORER, guards_restore_rt, 0};
    if (syscall(SYS_rt_sigaction, SIGSEGV, &ka, NULL, 8) != 0 || syscall(SYS_rt_sigaction, SIGBUS, &ka, NULL, 8) != 0) {
        perror("rt_sigaction");
        exit(2);
    }
}

static void reached_at(volatile void *addr) {
    expected_fault = (uintptr_t)addr;
    printf("REACHED %s (touching %p)\n", case_name, (void *)addr);
    fflush(stdout);
}

static void must_have_faulted(void) {
    printf("NO FAULT %s\n", case_name);
    fflush(stdout);
    exit(3);
}

static volatile unsigned char read_sink;

static void write_past(size_t n) {
    volatile unsigned char *p = opaque(malloc(n));
    if (!p) {
        printf("malloc(%zu) returned NULL\n", n);
        exit(2);
    }
    memset((void *)p, 1, n); /* the whole block is fine */
    reached_at(&p[n]);
    p[n] = 1;
    must_have_faulted();
}

static void read_past(size_t n) {
    volatile unsigned char *p = opaque(malloc(n));
    if (!p)
        exit(2);
    memset((void *)p, 1, n);
    reached_at(&p[n]);
    read_sink = p[n];
    must_have_faulted();
}

static void uaf(size_t n, size_t off, int write) {
    volatile unsigned char *p = opaque(malloc(n));
    if (!p)
        exit(2);
    memset((void *)p, 1, n);
    free((void *)p);
    reached_at(&p[off]);
    if (write)
        p[off] = 2;
    else
        read_sink = p[off];
    must_have_faulted();
}

static void calloc_past(void) {
    volatile unsigned char *p = opaque(calloc(16, 8));
    if (!p)
        exit(2);
    reached_at(&p[128]);
    p[128] = 1;
    must_have_faulted();
}

static void realloc_past(void) {
    volatile unsigned char *p = opaque(malloc(32));
    if (!p)
        exit(2);
    p = opaque(realloc((void *)p, 4096));
    if (!p)
        exit(2);
    memset((void *)p, 1, 4096);
    reached_at(&p[4096]);
    p[4096] = 1;
    must_have_faulted();
}

static void realloc_old_pointer(void) {
    volatile unsigned char *p = opaque(malloc(32));
    if (!p)
        exit(2);
    volatile unsigned char *q = opaque(realloc((void *)p, 100000));
    if (!q)
        exit(2);
    if (q == p) {
        printf("realloc grew in place; nothing to check\n");
        exit(77);
    }
    reached_at(&p[0]);
    p[0] = 1; /* p was freed by the moving realloc */
    must_have_faulted();
}

static void aligned_past(size_t align, size_t n) {
    volatile unsigned char *p = opaque(aligned_alloc(align, n));
    if (!p)
        exit(2);
    memset((void *)p, 1, n);
    reached_at(&p[n]);
    p[n] = 1;
    must_have_faulted();
}

static void memalign_past(size_t align, size_t n) {
    void *m = NULL;
    if (posix_memalign(&m, align, n) != 0)
        exit(2);
    volatile unsigned char *p = opaque(m);
    memset((void *)p, 1, n);
    reached_at(&p[n]);
    p[n] = 1;
    must_have_faulted();
}

static void overflow_memcpy(void) {
    /* A library call that runs off the end (the usual real-world case). */
    char *p = opaque(malloc(64));
    static char src[128];
    if (!p)
        exit(2);
    memset(src, 'x', sizeof src);
    reached_at(p + 64);
    memcpy(p, opaque(src), 65 + (size_t)(uintptr_t)opaque(NULL));
    must_have_faulted();
}

static void run(const char *name) {
    case_name = name;
    if (!strcmp(name, "overflow-write-32")) write_past(32);
    else if (!strcmp(name, "overflow-write-4096")) write_past(4096);
    else if (!strcmp(name, "overflow-write-100000")) write_past(100000);
    else if (!strcmp(name, "overflow-write-1m")) write_past(1 << 20);
    else if (!strcmp(name, "overflow-read-32")) read_past(32);
    else if (!strcmp(name, "overflow-read-4096")) read_past(4096);
    else if (!strcmp(name, "overflow-calloc")) calloc_past();
    else if (!strcmp(name, "overflow-realloc")) realloc_past();
    else if (!strcmp(name, "overflow-aligned-64")) aligned_past(64, 192);
    else if (!strcmp(name, "overflow-aligned-4096")) aligned_past(4096, 4096);
    else if (!strcmp(name, "overflow-posix-memalign-256")) memalign_past(256, 512);
    else if (!strcmp(name, "overflow-memcpy")) overflow_memcpy();
    else if (!strcmp(name, "uaf-read-small")) uaf(64, 0, 0);
    else if (!strcmp(name, "uaf-write-small")) uaf(64, 10, 1);
    else if (!strcmp(name, "uaf-read-large")) uaf(1 << 20, 500000, 0);
    else if (!strcmp(name, "uaf-write-large")) uaf(1 << 20, 0, 1);
    else if (!strcmp(name, "uaf-realloc-old")) realloc_old_pointer();
    else {
        fprintf(stderr, "guards: unknown case %s\n", name);
        exit(2);
    }
}

static const char *const all_cases[] = {
    "overflow-write-32", "overflow-write-4096", "overflow-write-100000",
    "overflow-write-1m", "overflow-read-32", "overflow-read-4096",
    "overflow-calloc", "overflow-realloc", "overflow-aligned-64",
    "overflow-aligned-4096", "overflow-posix-memalign-256", "overflow-memcpy",
    "uaf-read-small", "uaf-write-small", "uaf-read-large", "uaf-write-large",
    "uaf-realloc-old",
};

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--catch")) {
        catch_segv();
        argv++;
        argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: guards [--catch] CASE | --list\n");
        return 2;
    }
    if (!strcmp(argv[1], "--list")) {
        for (size_t i = 0; i < sizeof all_cases / sizeof *all_cases; i++)
            printf("%s\n", all_cases[i]);
        return 0;
    }
    run(argv[1]);
    return 2;
}
