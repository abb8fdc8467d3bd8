/* What happens after a report: on_error=exit (exit status = exitcode),
 * on_error=continue (the program goes on; "each block reported once", says
 * the option's help), and log_path (reports go to a file, not stderr).
 *
 * usage: onerror MODE
 *   double_free        one double free
 *   two_bad_frees      free of a stack address, then of an interior pointer
 *   two_bad_frees_exit3  the same, then exit status 3 (the program's own)
 *   overflow_twice     two writes past one 32-byte block
 *   uaf_three_pages    writes to three pages of one freed 1 MiB block
 *   realloc_canary     a write into a 13-byte block's slack, then
 *                      realloc(p, 14) (a realloc that would stay in place)
 *   overflow_then_reuse  a write past a 32-byte block; free it; malloc(32)
 *                      again (quarantine_slots=0: the same slot) and write
 *                      past the new block: the new block must be guarded too
 * Prints "PID <pid>", "ADDR 0x<block>" (for overflow_then_reuse a second
 * ADDR for the new block), "BAD 0x<ptr>" lines, and "SURVIVED" at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

NOINLINE char *alloc_block(size_t n) { return malloc(n); }

NOINLINE void release_block(void *p) { free(p); }

NOINLINE char *resize_block(char *p, size_t n) { return realloc(p, n); }

NOINLINE void write_past(char *p, size_t off) { ((volatile char *)p)[off] = 'O'; }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODE\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argv[1];
    printf("PID %d\n", (int)getpid());
    size_t n = !strcmp(mode, "uaf_three_pages") ? 1 << 20 : !strcmp(mode, "realloc_canary") ? 13 : 32;
    char *p = alloc_block(n);
    memset(p, 'e', n);
    printf("ADDR %p\n", (void *)p);
    if (!strcmp(mode, "double_free")) {
        release_block(p);
        release_block(p);
    } else if (!strncmp(mode, "two_bad_frees", 13)) {
        char local[16];
        local[0] = 0;
        printf("BAD %p\n", (void *)local);
        release_block(local);
        printf("BAD %p\n", (void *)(p + 8));
        release_block(p + 8);
        release_block(p); /* the correct free still works */
    } else if (!strcmp(mode, "overflow_twice")) {
        write_past(p, 32);
        write_past(p, 40);
    } else if (!strcmp(mode, "uaf_three_pages")) {
        release_block(p);
        write_past(p, 0);
        write_past(p, 8192);
        write_past(p, 16384);
    } else if (!strcmp(mode, "realloc_canary")) {
        write_past(p, 13);
        p = resize_block(p, 14);
    } else if (!strcmp(mode, "overflow_then_reuse")) {
        write_past(p, 32);
        release_block(p);
        char *q = alloc_block(32);
        printf("ADDR %p\n", (void *)q);
        write_past(q, 32);
    } else {
        printf("unknown mode %s\n", mode);
        return 2;
    }
    printf("SURVIVED\n");
    return !strcmp(mode, "two_bad_frees_exit3") ? 3 : 0;
}
