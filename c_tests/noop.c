/* noop.c — allocates a little and exits 0; the options tests run it with
 * bad and good POOLDBG_OPTIONS and look at the exit status and stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hides p from the optimiser. */
static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

int main(void) {
    char *p = opaque(malloc(100));
    if (!p)
        return 2;
    memset(p, 1, 100);
    free(p);
    printf("noop: main ran\n");
    return 0;
}
