/* Overflow into the alignment slack after a block (the 0..15 bytes between
 * the block's end and its guard page): no fault at the instruction, the tail
 * canary catches it when the block is freed or reallocated. With
 * POOLDBG_OPTIONS=alignment=1 blocks end exactly at the guard and the same
 * write faults at once.
 *
 * usage: slack ALLOC SIZE OFFSET RELEASE
 *   ALLOC    malloc | memalign32 (memalign(32, SIZE)) | memalign8192 |
 *            shrunk (malloc(32), then realloc(p, SIZE) in place, SIZE < 32) |
 *            grown (malloc(SIZE - 10), then realloc(p, SIZE) in place)
 *   OFFSET   byte written (p[OFFSET] = 'X'; the canary byte is 0xca)
 *   RELEASE  free | realloc (moves: realloc(p, 4096)) |
 *            realloc_inplace (realloc(p, SIZE + 1): same slot)
 * Prints "ADDR 0x<block>" before the write and "RELEASED" if nothing stopped it.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

NOINLINE char *alloc_block(const char *how, size_t size)
{
    if (!strcmp(how, "memalign32"))
        return memalign(32, size);
    if (!strcmp(how, "memalign8192"))
        return memalign(8192, size);
    if (!strcmp(how, "shrunk"))
        return realloc(malloc(32), size);
    if (!strcmp(how, "grown"))
        return realloc(malloc(size - 10), size);
    return malloc(size);
}

NOINLINE void write_slack(char *p, size_t off) { ((volatile char *)p)[off] = 'X'; }

NOINLINE char *release_block(char *p, const char *how, size_t size)
{
    if (!strcmp(how, "realloc"))
        return realloc(p, 4096);
    if (!strcmp(how, "realloc_inplace"))
        return realloc(p, size + 1);
    free(p);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s ALLOC SIZE OFFSET RELEASE\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    size_t size = strtoull(argv[2], NULL, 0);
    size_t off = strtoull(argv[3], NULL, 0);
    char *p = alloc_block(argv[1], size);
    if (!p)
        return 3;
    printf("ADDR %p\n", (void *)p);
    write_slack(p, off);
    char *q = release_block(p, argv[4], size);
    printf("RELEASED %p\n", (void *)q);
    return 0;
}
