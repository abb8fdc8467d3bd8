/* heap-buffer-overflow caught at the faulting instruction.
 *
 * usage: overflow ALLOC SIZE OFFSET OP WIDTH [ALIGN]
 *   ALLOC  malloc | calloc | realloc_grow | realloc_shrink | posix_memalign |
 *          aligned_alloc | memalign | strcpy | memcpy
 *   SIZE   block size; OFFSET byte offset of the bad access from the block start
 *   OP     read | write | write_in_thread (the write, from a second thread)
 *   WIDTH  1 | 2 | 4 | 8 (bytes of the access)
 * Prints "ADDR 0x<block>" before the bad access, which must not return.
 * strcpy / memcpy: the overflow happens inside libc (OFFSET is the length
 * copied; OP and WIDTH are ignored).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static volatile uint64_t sink;

NOINLINE char *alloc_block(const char *how, size_t size, size_t align)
{
    void *p = NULL;
    if (!strcmp(how, "malloc") || !strcmp(how, "strcpy") || !strcmp(how, "memcpy")) {
        p = malloc(size);
    } else if (!strcmp(how, "calloc")) {
        p = calloc(size / 8, 8);
    } else if (!strcmp(how, "realloc_grow")) {
        p = malloc(16);
        p = realloc(p, size);
    } else if (!strcmp(how, "realloc_shrink")) {
        p = malloc(size + 8192);
        p = realloc(p, size);
    } else if (!strcmp(how, "posix_memalign")) {
        if (posix_memalign(&p, align, size) != 0)
            p = NULL;
    } else if (!strcmp(how, "aligned_alloc")) {
        p = aligned_alloc(align, size);
    } else if (!strcmp(how, "memalign")) {
        p = memalign(align, size);
    }
    return p;
}

NOINLINE void bad_write(char *p, size_t off, int width)
{
    char *q = p + off;
    switch (width) {
    case 1: *(volatile uint8_t *)q = 1; break;
    case 2: *(volatile uint16_t *)q = 1; break;
    case 4: *(volatile uint32_t *)q = 1; break;
    default: *(volatile uint64_t *)q = 1; break;
    }
}

NOINLINE void bad_read(char *p, size_t off, int width)
{
    char *q = p + off;
    switch (width) {
    case 1: sink = *(volatile uint8_t *)q; break;
    case 2: sink = *(volatile uint16_t *)q; break;
    case 4: sink = *(volatile uint32_t *)q; break;
    default: sink = *(volatile uint64_t *)q; break;
    }
}

struct bad_access {
    char *p;
    size_t off;
    int width;
};

NOINLINE void *thread_main(void *arg)
{
    struct bad_access *a = arg;
    bad_write(a->p, a->off, a->width);
    return NULL;
}

NOINLINE void copy_string(char *dst, const char *src) { strcpy(dst, src); }

NOINLINE void copy_bytes(char *dst, const char *src, size_t n) { memcpy(dst, src, n); }

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s ALLOC SIZE OFFSET OP WIDTH [ALIGN]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *how = argv[1];
    size_t size = strtoull(argv[2], NULL, 0);
    size_t off = strtoull(argv[3], NULL, 0);
    int width = atoi(argv[5]);
    size_t align = argc > 6 ? strtoull(argv[6], NULL, 0) : 16;

    char *p = alloc_block(how, size, align);
    if (!p) {
        printf("allocation failed\n");
        return 3;
    }
    printf("ADDR %p\n", (void *)p);
    if (!strcmp(how, "strcpy")) {
        char *s = malloc(off + 1); /* a string of OFFSET characters */
        memset(s, 'x', off);
        s[off] = 0;
        copy_string(p, s);
    } else if (!strcmp(how, "memcpy")) {
        char *s = calloc(1, off);
        copy_bytes(p, s, off);
    } else if (!strcmp(argv[4], "write_in_thread")) {
        struct bad_access a = {p, off, width};
        pthread_t t;
        pthread_create(&t, NULL, thread_main, &a);
        pthread_join(t, NULL);
    } else if (!strcmp(argv[4], "read")) {
        bad_read(p, off, width);
    } else {
        bad_write(p, off, width);
    }
    printf("NOT DETECTED\n");
    return 0;
}
