/* secure — the tiny program the AT_SECURE test runs as a setuid-root binary
 * started by an unprivileged user (setpriv --reuid=nobody), linked against
 * libpooldbg directly (ld.so ignores LD_PRELOAD paths in secure mode).
 * Prints "secure: AT_SECURE=N euid=E ruid=R", then frees a block twice:
 * the double free must be reported on stderr, not in the log_path file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static __attribute__((noinline)) void *opaque(void *p)
{
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

int main(void)
{
    printf("secure: AT_SECURE=%lu euid=%d ruid=%d\n", getauxval(AT_SECURE), (int)geteuid(), (int)getuid());
    fflush(stdout);
    char *p = opaque(malloc(32));
    strcpy(p, "hello");
    free(p);
    free(opaque(p));
    printf("secure: still running after the double free\n");
    return 0;
}
