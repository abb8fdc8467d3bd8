/* ownsegv.c — a program with its own SIGSEGV and SIGBUS handler, installed
 * after libpooldbg's (issue 14, item 2).
 *
 * Usage: ownsegv HANDLER BUG
 *   The program maps a region of its own (PROT_NONE) and installs HANDLER
 *   for SIGSEGV and SIGBUS. A fault in the region is the program's: the
 *   handler opens the page and returns (the access is retried), and main
 *   prints "HANDLED n". Three pages of the region are touched, then BUG.
 *   HANDLER, what it does with any other fault:
 *     reraise     sigaction(SA_SIGINFO): signal(sig, SIG_DFL), raise(sig)
 *     return      sigaction(SA_SIGINFO): signal(sig, SIG_DFL), return (the
 *                 fault happens again)
 *     nodefer     as reraise with SA_NODEFER (the raise is delivered inside
 *                 the handler, as with Python's faulthandler)
 *     signal      installed with signal(): a plain handler (no siginfo);
 *                 the first fault opens the whole region, later ones re-raise
 *     longjmp     sigaction: region faults siglongjmp back instead (1000
 *                 times, "HANDLED 1000"); others re-raise
 *     resethand   SA_RESETHAND: serves one region fault; the second takes
 *                 the default action (a SEGV report, death by SIGSEGV)
 *     altstack    its own sigaltstack, set after its first malloc
 *                 (libpooldbg's is in place then), made as Rust's runtime
 *                 makes one for each thread (8 KiB above a PROT_NONE page:
 *                 too small for a report), and SA_ONSTACK: prints "ON ITS
 *                 ALTSTACK" when the handler ran there
 *     heapregion  the region is a malloc'ed block the program mprotect()s
 *                 itself: its faults are still the program's
 *   BUG:
 *     overflow    a one-byte write past a 32-byte malloc block
 *                 (heap-buffer-overflow, whatever the handler: SIGABRT)
 *     null        a 4-byte read through a null pointer (address 0x14): the
 *                 handler gives it back; a SEGV report, death by SIGSEGV
 *     none        exit 0
 * Prints "ADDR 0x..." (the block, or 0x14) before the bug, and "NOT DETECTED"
 * if the program goes on after it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define PAGES 4

static char *region;
static size_t page;
static volatile int served;
static const char *mode;
static sigjmp_buf back;
static char *own_stack;
static size_t own_stack_size;
static volatile int on_own_stack;

struct wide {
    char head[20];
    int value; /* offset 20 = 0x14 */
};

static volatile int sink;

NOINLINE char *alloc_block(size_t n) { return malloc(n); }

NOINLINE void bad_write(char *p, size_t off) { *(volatile char *)(p + off) = 1; }

NOINLINE int read_value(struct wide *w) { return w->value; }

static int in_region(const void *addr)
{
    const char *a = addr;
    return a >= region && a < region + PAGES * page;
}

static void give_back(int sig)
{
    signal(sig, SIG_DFL);
    if (strcmp(mode, "return") != 0)
        raise(sig);
}

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    if (!in_region(si->si_addr)) {
        give_back(sig);
        return;
    }
    char local;
    if (own_stack && &local >= own_stack && &local < own_stack + own_stack_size)
        on_own_stack = 1;
    served++;
    if (!strcmp(mode, "longjmp"))
        siglongjmp(back, 1);
    char *p = (char *)((uintptr_t)si->si_addr & ~(uintptr_t)(page - 1));
    mprotect(p, page, PROT_READ | PROT_WRITE);
}

static void on_fault_plain(int sig)
{
    if (served) {
        give_back(sig);
        return;
    }
    served++;
    mprotect(region, PAGES * page, PROT_READ | PROT_WRITE);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    if (!strcmp(mode, "nodefer"))
        sa.sa_flags |= SA_NODEFER;
    if (!strcmp(mode, "resethand"))
        sa.sa_flags |= SA_RESETHAND;
    if (!strcmp(mode, "altstack")) {
        own_stack_size = 8192;
        char *m = mmap(NULL, page + own_stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED || mprotect(m, page, PROT_NONE) != 0) {
            perror("mmap");
            exit(2);
        }
        own_stack = m + page;
        stack_t st = {.ss_sp = own_stack, .ss_size = own_stack_size, .ss_flags = 0};
        if (sigaltstack(&st, NULL) != 0) {
            perror("sigaltstack");
            exit(2);
        }
        sa.sa_flags |= SA_ONSTACK;
    }
    if (!strcmp(mode, "signal")) {
        if (signal(SIGSEGV, on_fault_plain) == SIG_ERR || signal(SIGBUS, on_fault_plain) == SIG_ERR) {
            perror("signal");
            exit(2);
        }
        return;
    }
    if (sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIGBUS, &sa, NULL) != 0) {
        perror("sigaction");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s reraise|return|nodefer|signal|longjmp|resethand|altstack|heapregion"
                        " overflow|null|none\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    mode = argv[1];
    const char *bug = argv[2];
    page = (size_t)sysconf(_SC_PAGESIZE);
    free(malloc(16)); /* this thread's first allocation: libpooldbg's altstack */
    if (!strcmp(mode, "heapregion")) {
        void *p = NULL;
        if (posix_memalign(&p, page, PAGES * page) != 0)
            return 2;
        region = p;
        mprotect(region, PAGES * page, PROT_NONE);
    } else {
        region = mmap(NULL, PAGES * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED)
            return 2;
    }
    install();

    if (!strcmp(mode, "longjmp")) {
        for (int i = 0; i < 1000; i++) {
            if (sigsetjmp(back, 1) == 0)
                region[i % (PAGES * page)] = 1;
        }
        printf("HANDLED %d\n", served);
    } else {
        for (int i = 0; i < 3; i++) {
            region[i * page + 7] = (char)i;
            printf("HANDLED %d\n", served);
        }
    }
    if (on_own_stack)
        printf("ON ITS ALTSTACK\n");

    if (!strcmp(bug, "overflow")) {
        char *p = alloc_block(32);
        printf("ADDR %p\n", (void *)p);
        bad_write(p, 32);
    } else if (!strcmp(bug, "null")) {
        printf("ADDR 0x14\n");
        sink = read_value(NULL);
    } else {
        return 0;
    }
    printf("NOT DETECTED\n");
    return 0;
}
