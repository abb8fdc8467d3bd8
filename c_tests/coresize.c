/* coresize.c — what a core dump of a process under libpooldbg would hold.
 *
 * Sums, from /proc/self/smaps, the mappings the kernel writes into a core
 * by default (coredump_filter 0x33: private and shared anonymous memory that
 * was ever written, ELF headers, file mappings' written pages): every
 * mapping that is not marked "dd" (MADV_DONTDUMP) and has Anonymous pages,
 * counted at its full Size, as the core's apparent size would be. After one
 * malloc, that must stay under LIMIT MiB (default 1024): the reservation and
 * libpooldbg's own tables are no part of the program's data.
 * Prints the figure; exit 1 over the limit. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    long limit_mib = argc > 1 ? atol(argv[1]) : 1024;
    char *p = malloc(100);
    memset(p, 1, 100);
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) {
        perror("smaps");
        return 2;
    }
    char line[512];
    unsigned long size_kb = 0, anon_kb = 0, total_kb = 0, biggest_kb = 0;
    int dontdump = 0, have = 0;
#define FLUSH()                                                   \
    do {                                                          \
        if (have && !dontdump && anon_kb > 0) {                   \
            total_kb += size_kb;                                  \
            if (size_kb > biggest_kb)                             \
                biggest_kb = size_kb;                             \
        }                                                         \
    } while (0)
    while (fgets(line, sizeof line, f)) {
        unsigned long v, start, end;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3) { /* a mapping's first line */
            FLUSH();
            have = 1, size_kb = 0, anon_kb = 0, dontdump = 0;
        } else if (sscanf(line, "Size: %lu kB", &v) == 1) {
            size_kb = v;
        } else if (sscanf(line, "Anonymous: %lu kB", &v) == 1) {
            anon_kb = v;
        } else if (!strncmp(line, "VmFlags:", 8)) {
            dontdump = strstr(line, " dd") != NULL;
        }
    }
    FLUSH();
    fclose(f);
    free(p);
    printf("coresize: %lu MiB would be dumped (largest mapping %lu MiB); limit %ld MiB\n", total_kb >> 10,
           biggest_kb >> 10, limit_mib);
    return (long)(total_kb >> 10) > limit_mib;
}
