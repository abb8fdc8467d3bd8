/* Dense pools: with guard=mprotect and a low map_limit the live guarded
 * blocks exhaust the map budget, so later small blocks go to dense pools (no
 * guard pages; freed blocks are poisoned, canaries and owner links stay).
 * Run with POOLDBG_OPTIONS=guard=mprotect:map_limit=2000:quarantine_slots=10.
 *
 * usage: dense MODE [LIVE]
 *   uaf       write after free (no fault), then malloc/free of the same size
 *             until the slot is reused: reported then
 *   overflow  write one byte past a 32-byte dense block, then free it
 *   double    free a dense block twice
 *   LIVE      guarded blocks kept live first (1500)
 * Prints "ADDR 0x<block>" (the dense block) before the bug.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static void *volatile keep;

NOINLINE char *alloc_block(size_t n) { return malloc(n); }

NOINLINE void release_block(void *p) { free(p); }

NOINLINE void write_byte(char *p, size_t off) { ((volatile char *)p)[off] = 'D'; }

NOINLINE void reuse_slots(size_t n, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        char *q = malloc(n);
        keep = q;
        free(q);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODE [LIVE]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argv[1];
    int live = argc > 2 ? atoi(argv[2]) : 1500;
    void **held = calloc(live, sizeof *held);
    for (int i = 0; i < live; i++)
        held[i] = malloc(32);
    char *p = alloc_block(32);
    memset(p, 'v', 32);
    printf("ADDR %p\n", (void *)p);
    if (!strcmp(mode, "uaf")) {
        release_block(p);
        write_byte(p, 5); /* no fault: dense pages stay accessible */
        printf("WROTE\n");
        reuse_slots(32, 100);
    } else if (!strcmp(mode, "overflow")) {
        write_byte(p, 32); /* lands in the tail canary */
        printf("WROTE\n");
        release_block(p);
    } else if (!strcmp(mode, "double")) {
        release_block(p);
        release_block(p);
    } else {
        printf("unknown mode %s\n", mode);
        return 2;
    }
    printf("NOT DETECTED\n");
    return 0;
}
