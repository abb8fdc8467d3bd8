/* heap-use-after-free caught at the faulting instruction: freed blocks stay
 * trapped in the quarantine.
 *
 * usage: uaf SIZE OFFSET OP WHEN
 *   OFFSET  byte accessed, from the block start
 *   OP      read | write
 *   WHEN    now        free, then access
 *           after_many free, then 10,000 malloc/free pairs of the same size
 *                      (later allocations must not get the freed slot back)
 *           thread     a second thread frees the block
 *           realloc    realloc(p, 4 * SIZE + 4096) moves the block; access
 *                      through the old pointer
 * Prints "ADDR 0x<block>" (the freed block) before the access.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static volatile uint8_t sink;
static void *volatile keep;

NOINLINE char *alloc_block(size_t size) { return malloc(size); }

NOINLINE void release_block(char *p) { free(p); }

NOINLINE void *thread_main(void *p)
{
    release_block(p);
    return NULL;
}

NOINLINE char *move_block(char *p, size_t size) { return realloc(p, 4 * size + 4096); }

NOINLINE void churn(size_t size, int n)
{
    for (int i = 0; i < n; i++) {
        char *q = malloc(size);
        q[0] = 1;
        keep = q;
        free(q);
    }
}

NOINLINE void use_after_free_write(char *p, size_t off) { ((volatile char *)p)[off] = 'F'; }

NOINLINE void use_after_free_read(char *p, size_t off) { sink = ((volatile uint8_t *)p)[off]; }

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s SIZE OFFSET OP WHEN\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    size_t size = strtoull(argv[1], NULL, 0);
    size_t off = strtoull(argv[2], NULL, 0);
    const char *when = argv[4];
    char *p = alloc_block(size);
    if (!p)
        return 3;
    memset(p, 'a', size < (1 << 20) ? size : 1 << 20); /* a huge block: its first MiB */
    if (!strcmp(when, "realloc")) {
        char *q = move_block(p, size);
        if (q == p) {
            printf("realloc did not move the block\n");
            return 4;
        }
        keep = q;
    } else if (!strcmp(when, "thread")) {
        pthread_t t;
        pthread_create(&t, NULL, thread_main, p);
        pthread_join(t, NULL);
    } else {
        release_block(p);
        if (!strcmp(when, "after_many"))
            churn(size, 10000);
    }
    printf("ADDR %p\n", (void *)p);
    if (!strcmp(argv[3], "read"))
        use_after_free_read(p, off);
    else
        use_after_free_write(p, off);
    printf("NOT DETECTED\n");
    return 0;
}
