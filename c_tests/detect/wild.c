/* wild.c — faults that are not heap bugs (issue 14, item 6).
 *
 * Usage: wild MODE
 *   null       read a field through a null pointer (address 0x14)
 *   overflow   endless recursion with a local array: the stack runs out
 *   readonly   write into a string literal (a read-only mapping)
 *   unmapped   write through a pointer into a page that was unmapped
 *   bus        read a page of a file mapping past the file's end
 *   handled    a fault the program catches itself (its own SIGSEGV
 *              handler, installed in main, jumps back): no report
 * Prints "ADDR 0x..." (the address that will fault) before the fault, and
 * "NOT FATAL" if the program goes on after it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

struct wide {
    char head[20];
    int value; /* offset 20 = 0x14 */
};

static volatile int sink;

NOINLINE int read_value(struct wide *w) { return w->value; }

NOINLINE int recurse(int depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    return recurse(depth + 1) + frame[0];
}

NOINLINE void poke(char *p) { *(volatile char *)p = 'x'; }

NOINLINE int peek(const char *p) { return *(volatile const char *)p; }

static sigjmp_buf back;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)ctx;
    printf("HANDLED %p\n", si->si_addr);
    siglongjmp(back, 1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s null|overflow|readonly|unmapped|bus|handled\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    free(malloc(16)); /* this thread's first allocation */
    const char *mode = argv[1];
    if (!strcmp(mode, "null")) {
        printf("ADDR 0x14\n");
        sink = read_value(NULL);
    } else if (!strcmp(mode, "overflow")) {
        sink = recurse(0);
    } else if (!strcmp(mode, "readonly")) {
        char *lit = (char *)"a string literal";
        printf("ADDR %p\n", (void *)lit);
        poke(lit);
    } else if (!strcmp(mode, "unmapped")) {
        char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        munmap(p, 4096);
        printf("ADDR %p\n", (void *)(p + 100));
        poke(p + 100);
    } else if (!strcmp(mode, "bus")) {
        FILE *f = tmpfile();
        char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fileno(f), 0); /* the file is empty */
        printf("ADDR %p\n", (void *)p);
        sink = peek(p);
    } else if (!strcmp(mode, "handled")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &sa, NULL);
        for (int i = 0; i < 1000; i++) {
            if (sigsetjmp(back, 1) == 0)
                sink = read_value(NULL);
        }
        printf("done\n");
        return 0;
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    printf("NOT FATAL\n");
    return 0;
}
