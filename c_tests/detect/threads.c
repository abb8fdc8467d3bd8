/* Reports that name other threads say where those threads came from:
 * "thread T1 created by T0 here:" and the stack that called pthread_create.
 *
 * usage: threads MODE
 *   cross   T1 (made by spawn_allocator) allocates the block, T2 (made by
 *           spawn_freer) frees it, main (T0) reads it
 *   nested  T1 (made by spawn_parent) makes T2 (spawn_child), which
 *           allocates and frees the block; main reads it
 *   unseen  a thread made by libc's own pthread_create, not the one the
 *           preload interposes, frees the block; main reads it (glibc
 *           2.34+, where libc.so.6 defines pthread_create; else exit 4)
 *   segv    T1 (made by spawn_reader) reads through a null pointer: a
 *           fatal fault, no heap bug
 * run() calls pthread_create: a creation stack has run at #0 and the
 * spawn_* function at #1. Prints "ADDR 0x..." (the block, or the address
 * that faults) before the access.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static volatile uint8_t sink;

NOINLINE char *alloc_block(size_t size) { return malloc(size); }

NOINLINE void release_block(char *p) { free(p); }

NOINLINE void use_after_free_read(char *p) { sink = ((volatile uint8_t *)p)[0]; }

NOINLINE void *allocator_main(void *arg)
{
    (void)arg;
    char *p = alloc_block(32);
    memset(p, 'a', 32);
    return p;
}

NOINLINE void *freer_main(void *p)
{
    release_block(p);
    return NULL;
}

NOINLINE void *child_main(void *arg)
{
    (void)arg;
    char *p = alloc_block(32);
    release_block(p);
    return p;
}

NOINLINE void *run(create_fn create, void *(*fn)(void *), void *arg)
{
    pthread_t t;
    void *ret = NULL;
    if (create(&t, NULL, fn, arg) != 0 || pthread_join(t, &ret) != 0) {
        printf("thread failed\n");
        exit(3);
    }
    return ret;
}

NOINLINE void *spawn_allocator(void) { return run(pthread_create, allocator_main, NULL); }

NOINLINE void spawn_freer(char *p) { run(pthread_create, freer_main, p); }

NOINLINE void *spawn_child(void) { return run(pthread_create, child_main, NULL); }

NOINLINE void *parent_main(void *arg)
{
    (void)arg;
    return spawn_child();
}

NOINLINE void *spawn_parent(void) { return run(pthread_create, parent_main, NULL); }

NOINLINE int read_value(int *p) { return *p; }

NOINLINE void *reader_main(void *p)
{
    sink = (uint8_t)read_value(p);
    return NULL;
}

NOINLINE void spawn_reader(int *p) { run(pthread_create, reader_main, p); }

/* libc's own pthread_create, which a preloaded library does not see. */
NOINLINE void spawn_unseen(char *p)
{
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    create_fn real = libc ? (create_fn)dlsym(libc, "pthread_create") : NULL;
    if (!real) {
        printf("no pthread_create in libc.so.6\n");
        exit(4);
    }
    run(real, freer_main, p);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s cross|nested|unseen|segv\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    char *p;
    if (!strcmp(argv[1], "cross")) {
        p = spawn_allocator();
        spawn_freer(p);
    } else if (!strcmp(argv[1], "nested")) {
        p = spawn_parent();
    } else if (!strcmp(argv[1], "unseen")) {
        p = alloc_block(32);
        spawn_unseen(p);
    } else if (!strcmp(argv[1], "segv")) {
        printf("ADDR %p\n", (void *)0x14);
        spawn_reader((int *)0x14);
        printf("NOT FATAL\n");
        return 0;
    } else {
        return 2;
    }
    printf("ADDR %p\n", (void *)p);
    use_after_free_read(p);
    printf("NOT DETECTED\n");
    return 0;
}
