/* heap-buffer-underflow: p[-1..-8] is the block's owner link (corrupting it
 * is reported at free as corrupted-owner-link), p[-9] and below is the head
 * canary (heap-buffer-underflow at free); an underflow past the block's first
 * page faults at once, and with POOLDBG_OPTIONS=protect_below=1 so does p[-1].
 *
 * usage: underflow SIZE OFFSET OP
 *   OFFSET  how far below the block (the access is p[-OFFSET])
 *   OP      write | read
 * Prints "ADDR 0x<block>" before the access and "FREED" if free returned.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static volatile uint8_t sink;

NOINLINE char *alloc_block(size_t size) { return malloc(size); }

NOINLINE void write_below(char *p, size_t off) { *(volatile char *)(p - off) = 'U'; }

NOINLINE void read_below(char *p, size_t off) { sink = *(volatile uint8_t *)(p - off); }

NOINLINE void release_block(char *p) { free(p); }

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s SIZE OFFSET OP\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    size_t size = strtoull(argv[1], NULL, 0);
    size_t off = strtoull(argv[2], NULL, 0);
    char *p = alloc_block(size);
    if (!p)
        return 3;
    printf("ADDR %p\n", (void *)p);
    if (!strcmp(argv[3], "read"))
        read_below(p, off);
    else
        write_below(p, off);
    release_block(p);
    printf("FREED\n");
    return 0;
}
