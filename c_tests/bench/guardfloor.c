/* guardfloor.c — the churn loop of churn.c with no allocator: every object
 * gets its own mapping (size rounded up to pages) plus one trailing guard
 * page made PROT_NONE with mprotect; every page of the object is touched once
 * (the first-touch page fault); the object sits right-aligned (16 bytes)
 * against the guard; replacing it munmaps the whole run.  This is what a
 * page-guard allocator costs if it does nothing clever — the floor a debug
 * allocator should beat.  See churn_common.h for usage and output.
 * Build: cc -O2 -pthread -o guardfloor guardfloor.c */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *PROG = "guardfloor";
static size_t page_size;

static size_t obj_pages(size_t n) { return (n + page_size - 1) / page_size; }

static unsigned char *obj_alloc(size_t n) {
    if (!page_size)
        page_size = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = obj_pages(n) * page_size;
    unsigned char *base = mmap(NULL, len + page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    if (mprotect(base + len, page_size, PROT_NONE) != 0) {
        munmap(base, len + page_size);
        return NULL;
    }
    for (size_t off = 0; off < len; off += page_size)
        ((volatile unsigned char *)base)[off] = 0;
    return base + len - ((n + 15) & ~(size_t)15);
}

static void obj_free(unsigned char *p, size_t n) {
    /* The object starts inside the first page of its run (right-aligned,
     * rounded-up size > len - page), so the run starts at p's page. */
    unsigned char *base = (unsigned char *)((uintptr_t)p & ~(uintptr_t)(page_size - 1));
    munmap(base, (obj_pages(n) + 1) * page_size);
}

#include "churn_common.h"
