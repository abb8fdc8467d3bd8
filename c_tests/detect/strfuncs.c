/* strfuncs.c — heap bugs inside libc's vector string functions (issue 14,
 * item 4): the report names the function and describes the access by the
 * first byte of the block or trapped page it touched, not by the vector
 * load's start.
 *
 * Usage: strfuncs MODE
 *   strlen-freed    strlen of a freed 10-byte string
 *   memcpy-freed    memcpy from a freed 100-byte block
 *   strcpy-freed    strcpy from a freed string
 *   strcpy-short    strcpy of 20 characters into a 16-byte block
 *   memcpy-short    memcpy of 20 bytes into a 10-byte block
 * Prints "ADDR 0x..." for the block. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static char sink_buf[256];

NOINLINE char *alloc_block(size_t n) { return malloc(n); }
NOINLINE void release_block(char *p) { free(p); }
NOINLINE size_t measure(const char *s) { return strlen(s); }
NOINLINE void copy_bytes(char *d, const char *s, size_t n) { memcpy(d, s, n); }
NOINLINE void copy_string(char *d, const char *s) { strcpy(d, s); }

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argv[1];
    const char *twenty = "0123456789abcdefghij";
    if (!strcmp(mode, "strlen-freed") || !strcmp(mode, "strcpy-freed")) {
        char *p = alloc_block(10);
        strcpy(p, "123456789");
        printf("ADDR %p\n", (void *)p);
        release_block(p);
        if (mode[1] == 't' && mode[3] == 'l')
            printf("%zu\n", measure(p));
        else
            copy_string(sink_buf, p);
    } else if (!strcmp(mode, "memcpy-freed")) {
        char *p = alloc_block(100);
        memset(p, 'x', 100);
        printf("ADDR %p\n", (void *)p);
        release_block(p);
        copy_bytes(sink_buf, p, 100);
    } else if (!strcmp(mode, "strcpy-short")) {
        char *p = alloc_block(16);
        printf("ADDR %p\n", (void *)p);
        copy_string(p, twenty);
    } else if (!strcmp(mode, "memcpy-short")) {
        char *p = alloc_block(10);
        printf("ADDR %p\n", (void *)p);
        copy_bytes(p, twenty, 20);
    } else {
        return 2;
    }
    printf("NOT DETECTED\n");
    return 0;
}
