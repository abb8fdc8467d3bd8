/* vma_count.c — how many mappings (VMAs) 100,000 live small blocks cost.
 *
 * Usage: vma_count [BLOCKS] [MAX_VMAS]
 * Allocates BLOCKS (default 100000) live malloc(64) blocks, writes each,
 * counts the lines of /proc/self/maps and prints "vma_count: N live blocks,
 * M mappings". With MAX_VMAS given, fails (exit 1) when M >= MAX_VMAS; the
 * harness passes 1000 under guard=marker and nothing under guard=mprotect,
 * where the number is only reported. Every block is checked and freed. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hides p from the optimiser (thread-safe: no shared variable). */
static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

static long count_maps(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    long lines = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        if (c == '\n')
            lines++;
    fclose(f);
    return lines;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    long max = argc > 2 ? atol(argv[2]) : -1;
    long before = count_maps();
    uint64_t **blocks = calloc((size_t)n, sizeof *blocks);
    if (!blocks) {
        printf("FAIL: calloc of the pointer array failed\n");
        return 1;
    }
    for (long i = 0; i < n; i++) {
        blocks[i] = opaque(malloc(64));
        if (!blocks[i]) {
            printf("FAIL: malloc(64) #%ld returned NULL\n", i);
            return 1;
        }
        blocks[i][0] = (uint64_t)i;
        blocks[i][7] = ~(uint64_t)i;
    }
    long during = count_maps();
    for (long i = 0; i < n; i++) {
        if (blocks[i][0] != (uint64_t)i || blocks[i][7] != ~(uint64_t)i) {
            printf("FAIL: block #%ld at %p corrupted\n", i, (void *)blocks[i]);
            return 1;
        }
        free(blocks[i]);
    }
    free(blocks);
    long after = count_maps();
    printf("vma_count: %ld live blocks, %ld mappings (%ld before, %ld after "
           "freeing)\n", n, during, before, after);
    if (during < 0) {
        printf("FAIL: cannot read /proc/self/maps\n");
        return 1;
    }
    if (max >= 0 && during >= max) {
        printf("FAIL: %ld mappings with %ld live blocks; want < %ld\n", during,
               n, max);
        return 1;
    }
    return 0;
}
