/* Bad pointers given to free / realloc / malloc_usable_size: the library
 * decides what a pointer is from its address and its own metadata, never by
 * trusting bytes next to the pointer.
 *
 * usage: badfree MODE
 *   double            free(p) twice
 *   double_thread     a second thread frees p, then main frees it again
 *   double_race       (with on_error=continue) 200 rounds of two threads
 *                     freeing the same new block at the same moment: one
 *                     double free per round, reports never interleaved
 *   interior_freed    free(p + 8) after free(p)
 *   stack | global | wild | mmap   free of a pointer malloc never returned
 *   heap_canary       free(p - 64): inside a live block's slot, before the block
 *   heap_unused       free(p + 8192): a slot of the pool that holds no block
 *   interior          free(p + 8)
 *   realloc_freed     realloc(p, 64) after free(p)
 *   realloc_interior  realloc(p + 16, 64)
 *   forged            the block's 16 header bytes and its 32 bytes copied to a
 *                     static buffer; free the copy
 *   forged_heap       the same copy made inside another (4096-byte) heap block
 *   usable_freed      malloc_usable_size(p) after free(p)
 *   usable_stack      malloc_usable_size(&local)
 * Prints "ADDR 0x<block>" (the 32-byte block) and "BAD 0x<pointer>" (the
 * pointer handed over) before the bad call, "SURVIVED" after it.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NOINLINE __attribute__((noinline))

static char global_buf[64];
static _Alignas(64) char forged_buf[64];

NOINLINE char *alloc_block(size_t size) { return malloc(size); }

NOINLINE void release_block(void *p) { free(p); }

NOINLINE void *realloc_block(void *p, size_t n) { return realloc(p, n); }

NOINLINE void *thread_free(void *p)
{
    release_block(p);
    return NULL;
}

static atomic_int race_go;
static void *volatile race_block;

NOINLINE void *thread_race(void *arg)
{
    (void)arg;
    while (!atomic_load(&race_go))
        ;
    release_block(race_block);
    return NULL;
}

NOINLINE void double_free_race(int rounds)
{
    for (int r = 0; r < rounds; r++) {
        race_block = alloc_block(32);
        atomic_store(&race_go, 0);
        pthread_t a, b;
        pthread_create(&a, NULL, thread_race, NULL);
        pthread_create(&b, NULL, thread_race, NULL);
        atomic_store(&race_go, 1);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
    }
}

static void show(const char *tag, const void *p) { printf("%s %p\n", tag, p); }

NOINLINE void bad_free(const char *mode, char *p)
{
    char local[32];
    void *bad = NULL;
    local[0] = 0;
    if (!strcmp(mode, "double") || !strcmp(mode, "realloc_freed") || !strcmp(mode, "usable_freed")) {
        release_block(p);
        bad = p;
    } else if (!strcmp(mode, "double_thread")) {
        pthread_t t;
        pthread_create(&t, NULL, thread_free, p);
        pthread_join(t, NULL);
        bad = p;
    } else if (!strcmp(mode, "double_race")) {
        printf("ROUNDS 200\n");
        double_free_race(200);
        return;
    } else if (!strcmp(mode, "interior_freed")) {
        release_block(p);
        bad = p + 8;
    } else if (!strcmp(mode, "stack") || !strcmp(mode, "usable_stack")) {
        bad = local;
    } else if (!strcmp(mode, "global")) {
        bad = global_buf;
    } else if (!strcmp(mode, "wild")) {
        bad = (void *)(uintptr_t)0x10000010;
    } else if (!strcmp(mode, "mmap")) {
        bad = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    } else if (!strcmp(mode, "heap_canary")) {
        bad = p - 64;
    } else if (!strcmp(mode, "heap_unused")) {
        bad = p + 8192;
    } else if (!strcmp(mode, "interior")) {
        bad = p + 8;
    } else if (!strcmp(mode, "realloc_interior")) {
        bad = p + 16;
    } else if (!strcmp(mode, "forged")) {
        memcpy(forged_buf, p - 16, 16 + 32);
        bad = forged_buf + 16;
    } else if (!strcmp(mode, "forged_heap")) {
        char *other = alloc_block(4096);
        memcpy(other + 64, p - 16, 16 + 32);
        bad = other + 80;
    } else {
        printf("unknown mode %s\n", mode);
        exit(2);
    }
    show("BAD", bad);
    if (!strncmp(mode, "realloc", 7))
        realloc_block(bad, 64);
    else if (!strncmp(mode, "usable", 6))
        printf("usable %zu\n", malloc_usable_size(bad));
    else
        release_block(bad);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODE\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    char *p = alloc_block(32);
    memset(p, 'b', 32);
    show("ADDR", p);
    bad_free(argv[1], p);
    printf("SURVIVED\n");
    return 0;
}
