/* deep.c — a use-after-free at the bottom of a recursion DEPTH calls deep
 * (issue 15, item 10): with a smaller stack_depth, every stack of the
 * report ends with "... stack truncated at stack_depth=N".
 * Usage: deep DEPTH.  Prints "ADDR 0x..." for the block. */
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

NOINLINE char *alloc_block(size_t n) { return malloc(n); }
NOINLINE void release_block(char *p) { free(p); }
NOINLINE void use_after_free_write(char *p) { ((volatile char *)p)[0] = 'F'; }

NOINLINE int descend(int n)
{
    if (n > 0)
        return descend(n - 1) + 1; /* not a tail call: every level keeps a frame */
    char *p = alloc_block(32);
    printf("ADDR %p\n", (void *)p);
    release_block(p);
    use_after_free_write(p);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    descend(argc > 1 ? atoi(argv[1]) : 40);
    printf("NOT DETECTED\n");
    return 0;
}
