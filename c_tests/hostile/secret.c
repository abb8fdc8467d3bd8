/* secret — reports must not print the program's memory.
 *
 *   secret MODE   fills a 256-byte block (and its neighbour) with a secret —
 *                 the text "S3CR3T-hunter2:" and the 8-byte marker
 *                 c0 ff ee 5e c2 e7 d0 0d, repeated — then commits one bug:
 *     overflow    writes 5 bytes of 0x77 past the end, then frees
 *     underflow   writes 0x77 over the 4 bytes before the block, then frees
 *     double      frees twice
 *     interior    frees p+64
 *     uaf-read    reads p[10] after free (a fault report)
 *     uaf-write   writes p[10] after free
 *     guard-read  reads p[256+4095] (the guard page after the block)
 *     realloc-freed  realloc(p, 512) after free
 * The harness runs each under the default on_error=abort and checks that a
 * report came out and that neither the text nor the marker appears in it,
 * in any spelling (raw, hex with or without separators, either byte order).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __attribute__((noinline)) void *opaque(void *p)
{
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

static void fill_secret(unsigned char *p, size_t n)
{
    static const char text[] = "S3CR3T-hunter2:";
    static const unsigned char marker[8] = {0xc0, 0xff, 0xee, 0x5e, 0xc2, 0xe7, 0xd0, 0x0d};
    for (size_t i = 0; i < n; i++)
        p[i] = (i / 16) % 2 ? marker[i % 8] : (unsigned char)text[i % 15];
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const char *m = argv[1];
    unsigned char *p = opaque(malloc(256));
    unsigned char *q = opaque(malloc(256));
    fill_secret(p, 256);
    fill_secret(q, 256);
    volatile unsigned char sink;
    if (!strcmp(m, "overflow")) {
        memset(p + 256, 0x77, 5);
        free(p);
    } else if (!strcmp(m, "underflow")) {
        memset(p - 4, 0x77, 4);
        free(p);
    } else if (!strcmp(m, "double")) {
        free(p);
        free(opaque(p));
    } else if (!strcmp(m, "interior")) {
        free(p + 64);
    } else if (!strcmp(m, "uaf-read")) {
        free(p);
        sink = ((volatile unsigned char *)opaque(p))[10];
    } else if (!strcmp(m, "uaf-write")) {
        free(p);
        ((volatile unsigned char *)opaque(p))[10] = 1;
    } else if (!strcmp(m, "guard-read")) {
        sink = ((volatile unsigned char *)opaque(p))[256 + 4095];
    } else if (!strcmp(m, "realloc-freed")) {
        free(p);
        p = realloc(opaque(p), 512);
    } else {
        return 2;
    }
    (void)sink;
    free(q);
    printf("secret: %s was not stopped\n", m);
    return 0;
}
