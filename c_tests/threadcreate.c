/* threadcreate.c — pthread_create's contract, as small named checks.
 *
 * libpooldbg interposes pthread_create to record who created each thread
 * (front/thread.rs): the new thread starts in a trampoline of ours. Nothing
 * of that may show: return values and errno, attributes, pthread_exit,
 * cancellation and the value pthread_join returns are libc's, as natively.
 *
 * Usage: threadcreate [CHECK...]   (no CHECK: run every check)
 *        threadcreate --list        (the check names)
 * Each check prints "check NAME" then "ok NAME" or "FAIL NAME: why".
 * Exit status: 0 if every check passed, 1 otherwise. Must pass under plain
 * glibc too (run_c_tests.sh --glibc). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int failures;
static const char *current;

#define FAIL(...)                                                              \
    do {                                                                       \
        printf("FAIL %s: ", current);                                          \
        printf(__VA_ARGS__);                                                   \
        printf("  [%s:%d]\n", __FILE__, __LINE__);                             \
        fflush(stdout);                                                        \
        failures++;                                                            \
        return;                                                                \
    } while (0)

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            FAIL(__VA_ARGS__);                                                 \
    } while (0)

#define NOINLINE __attribute__((noinline))

/* What a thread saw of itself, for the creator to check after the join. */
struct seen {
    pthread_t self;
    int err;            /* errno on entry */
    void *stack;        /* pthread_getattr_np's stack */
    size_t stack_size;
    size_t guard_size;
    int detach_state;
    uintptr_t local;    /* an address on its stack */
    int sigusr2_blocked;
    int cleanup_ran;
    sem_t done;
};

static void look(struct seen *s)
{
    pthread_attr_t a;
    char here;
    s->self = pthread_self();
    s->local = (uintptr_t)&here;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getstack(&a, &s->stack, &s->stack_size);
        pthread_attr_getguardsize(&a, &s->guard_size);
        pthread_attr_getdetachstate(&a, &s->detach_state);
        pthread_attr_destroy(&a);
    }
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    s->sigusr2_blocked = sigismember(&now, SIGUSR2);
}

static void *observe(void *arg)
{
    struct seen *s = arg;
    s->err = errno;
    look(s);
    return (void *)0x5eed1234abcdUL;
}

/* ---- checks ---- */

/* The start routine gets its argument; join returns its result; the
 * pthread_t the creator got is the thread's own; errno starts at 0 in the
 * thread and a successful create leaves the creator's alone. */
static void join_value(void)
{
    struct seen s = {0};
    pthread_t t;
    void *ret = NULL;
    errno = EDOM;
    int rc = pthread_create(&t, NULL, observe, &s);
    int err = errno;
    CHECK(rc == 0, "pthread_create = %d", rc);
    CHECK(err == EDOM, "errno after a successful pthread_create: %d, want EDOM (%d)", err, EDOM);
    CHECK(pthread_join(t, &ret) == 0, "pthread_join failed");
    CHECK(ret == (void *)0x5eed1234abcdUL, "pthread_join gave %p", ret);
    CHECK(pthread_equal(s.self, t), "pthread_self() in the thread differs from what pthread_create wrote");
    CHECK(s.err == 0, "errno on entry to the thread: %d", s.err);
    CHECK(s.detach_state == PTHREAD_CREATE_JOINABLE, "a default thread is not joinable");
}

static pthread_key_t exit_key;
static int key_destructor_ran;

static void exit_key_destructor(void *v) { key_destructor_ran = (int)(intptr_t)v; }

static void mark_cleanup(void *arg) { ((struct seen *)arg)->cleanup_ran = 1; }

NOINLINE static void leave_from_deep(int depth)
{
    if (depth == 0)
        pthread_exit((void *)(intptr_t)-42);
    leave_from_deep(depth - 1);
    printf("pthread_exit returned\n");
}

static void *exits(void *arg)
{
    pthread_setspecific(exit_key, (void *)7);
    pthread_cleanup_push(mark_cleanup, arg);
    leave_from_deep(5);
    pthread_cleanup_pop(0);
    return NULL;
}

/* pthread_exit from a nested call: its value reaches join, cleanup
 * handlers and key destructors run. */
static void exit_value(void)
{
    struct seen s = {0};
    pthread_t t;
    void *ret = NULL;
    key_destructor_ran = 0;
    CHECK(pthread_key_create(&exit_key, exit_key_destructor) == 0, "pthread_key_create");
    CHECK(pthread_create(&t, NULL, exits, &s) == 0, "pthread_create");
    CHECK(pthread_join(t, &ret) == 0, "pthread_join");
    pthread_key_delete(exit_key);
    CHECK(ret == (void *)(intptr_t)-42, "pthread_exit's value: join gave %p", ret);
    CHECK(s.cleanup_ran, "the cleanup handler did not run");
    CHECK(key_destructor_ran == 7, "the key destructor did not run");
}

static void *wait_forever(void *arg)
{
    pthread_cleanup_push(mark_cleanup, arg);
    sem_post(&((struct seen *)arg)->done);
    for (;;)
        pause(); /* a cancellation point */
    pthread_cleanup_pop(0);
    return NULL;
}

static void *spin_async(void *arg)
{
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
    pthread_cleanup_push(mark_cleanup, arg);
    sem_post(&((struct seen *)arg)->done);
    for (volatile unsigned long i = 0;; i++)
        ;
    pthread_cleanup_pop(0);
    return NULL;
}

static void cancelled(void *(*fn)(void *), const char *how)
{
    struct seen s = {0};
    pthread_t t;
    void *ret = NULL;
    sem_init(&s.done, 0, 0);
    CHECK(pthread_create(&t, NULL, fn, &s) == 0, "pthread_create");
    sem_wait(&s.done);
    CHECK(pthread_cancel(t) == 0, "pthread_cancel");
    CHECK(pthread_join(t, &ret) == 0, "pthread_join");
    CHECK(ret == PTHREAD_CANCELED, "%s cancellation: join gave %p, not PTHREAD_CANCELED", how, ret);
    CHECK(s.cleanup_ran, "%s cancellation: the cleanup handler did not run", how);
    sem_destroy(&s.done);
}

/* Deferred cancellation at a cancellation point; asynchronous while
 * spinning. Cleanup handlers run; join returns PTHREAD_CANCELED. */
static void cancel_deferred(void) { cancelled(wait_forever, "deferred"); }

static void cancel_async(void) { cancelled(spin_async, "asynchronous"); }

static void *observe_and_post(void *arg)
{
    struct seen *s = arg;
    look(s);
    sem_post(&s->done);
    return NULL;
}

/* A detached thread runs, and is detached. */
static void detached(void)
{
    struct seen s = {0};
    pthread_attr_t a;
    pthread_t t;
    sem_init(&s.done, 0, 0);
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &a, observe_and_post, &s);
    pthread_attr_destroy(&a);
    CHECK(rc == 0, "pthread_create = %d", rc);
    sem_wait(&s.done);
    CHECK(s.detach_state == PTHREAD_CREATE_DETACHED, "the thread is not detached");
    sem_destroy(&s.done);
}

/* The stack size asked for is the one the thread has, with its guard. */
static void stack_size(void)
{
    struct seen s = {0};
    pthread_attr_t a;
    pthread_t t;
    size_t want = 256 * 1024 + 3 * 4096, guard = 2 * 4096;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, want);
    pthread_attr_setguardsize(&a, guard);
    int rc = pthread_create(&t, &a, observe, &s);
    pthread_attr_destroy(&a);
    CHECK(rc == 0, "pthread_create = %d", rc);
    pthread_join(t, NULL);
    CHECK(s.stack_size == want, "stack size %zu, asked for %zu", s.stack_size, want);
    CHECK(s.guard_size == guard, "guard size %zu, asked for %zu", s.guard_size, guard);
    CHECK(s.local >= (uintptr_t)s.stack && s.local < (uintptr_t)s.stack + s.stack_size,
          "a local at %#lx is outside the stack [%p,+%zu)", (unsigned long)s.local, s.stack, s.stack_size);
}

/* pthread_attr_setstack: the thread runs on the program's own memory. */
static void own_stack(void)
{
    struct seen s = {0};
    pthread_attr_t a;
    pthread_t t;
    size_t len = 1 << 20;
    void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mem != MAP_FAILED, "mmap");
    pthread_attr_init(&a);
    pthread_attr_setstack(&a, mem, len);
    int rc = pthread_create(&t, &a, observe, &s);
    pthread_attr_destroy(&a);
    CHECK(rc == 0, "pthread_create = %d", rc);
    pthread_join(t, NULL);
    CHECK(s.stack == mem && s.stack_size == len, "stack [%p,+%zu), asked for [%p,+%zu)", s.stack, s.stack_size,
          mem, len);
    CHECK(s.local >= (uintptr_t)mem && s.local < (uintptr_t)mem + len, "a local at %#lx is off the given stack",
          (unsigned long)s.local);
    munmap(mem, len);
}

/* A stack no mapping can hold: EAGAIN, errno as libc leaves it (ENOMEM
 * from its mmap); the next thread is created as usual. */
static void eagain(void)
{
    pthread_attr_t a;
    pthread_t t;
    struct seen s = {0};
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, (size_t)1 << 45);
    errno = EDOM;
    int rc = pthread_create(&t, &a, observe, &s);
    int err = errno;
    pthread_attr_destroy(&a);
    CHECK(rc == EAGAIN, "pthread_create with a 32 TiB stack = %d, want EAGAIN", rc);
    CHECK(err == ENOMEM, "errno after it: %d, want ENOMEM (libc's mmap)", err);
    void *ret = NULL;
    CHECK(pthread_create(&t, NULL, observe, &s) == 0 && pthread_join(t, &ret) == 0, "the next thread");
    CHECK(ret == (void *)0x5eed1234abcdUL, "the next thread returned %p", ret);
}

/* An affinity with no CPU the machine has: EINVAL, errno untouched. */
static void einval(void)
{
    pthread_attr_t a;
    pthread_t t;
    struct seen s = {0};
    cpu_set_t none;
    CPU_ZERO(&none);
    CPU_SET(CPU_SETSIZE - 1, &none);
    pthread_attr_init(&a);
    pthread_attr_setaffinity_np(&a, sizeof none, &none);
    errno = EDOM;
    int rc = pthread_create(&t, &a, observe, &s);
    int err = errno;
    pthread_attr_destroy(&a);
    CHECK(rc == EINVAL, "pthread_create with an impossible affinity = %d, want EINVAL", rc);
    CHECK(err == EDOM, "errno after it: %d, want EDOM untouched", err);
}

/* The creator's signal mask is the new thread's. */
static void sigmask_inherited(void)
{
    struct seen s = {0};
    sigset_t usr2, old;
    pthread_t t;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, &old);
    int rc = pthread_create(&t, NULL, observe, &s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    CHECK(rc == 0, "pthread_create = %d", rc);
    pthread_join(t, NULL);
    CHECK(s.sigusr2_blocked == 1, "SIGUSR2, blocked by the creator, is not blocked in the thread");
}

static void *times_three(void *arg) { return (void *)((uintptr_t)arg * 3); }

static void *spawn_nested(void *arg)
{
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, times_three, arg) != 0 || pthread_join(t, &ret) != 0)
        return (void *)1;
    return ret;
}

/* 200 threads alive at once, each created by one of 200 others, joined in
 * reverse: every result comes back to the right join. */
static void many_nested(void)
{
    enum { N = 200 };
    pthread_t t[N];
    for (uintptr_t i = 0; i < N; i++)
        CHECK(pthread_create(&t[i], NULL, spawn_nested, (void *)(i + 1000)) == 0, "pthread_create #%lu",
              (unsigned long)i);
    for (int i = N - 1; i >= 0; i--) {
        void *ret = NULL;
        CHECK(pthread_join(t[i], &ret) == 0, "pthread_join #%d", i);
        CHECK(ret == (void *)((uintptr_t)(i + 1000) * 3), "thread %d returned %p", i, ret);
    }
}

struct check {
    const char *name;
    void (*fn)(void);
};

static const struct check checks[] = {
    {"join_value", join_value},
    {"exit_value", exit_value},
    {"cancel_deferred", cancel_deferred},
    {"cancel_async", cancel_async},
    {"detached", detached},
    {"stack_size", stack_size},
    {"own_stack", own_stack},
    {"eagain", eagain},
    {"einval", einval},
    {"sigmask_inherited", sigmask_inherited},
    {"many_nested", many_nested},
};

int main(int argc, char **argv)
{
    size_t n = sizeof checks / sizeof *checks;
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", checks[i].name);
        return 0;
    }
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], checks[i].name) == 0)
                wanted = 1;
        if (!wanted)
            continue;
        current = checks[i].name;
        printf("check %s\n", current);
        fflush(stdout);
        int before = failures;
        checks[i].fn();
        if (failures == before)
            printf("ok %s\n", current);
        fflush(stdout);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "threadcreate: no check matched\n");
        return 2;
    }
    printf("threadcreate: %d checks, %d failed\n", ran, failures);
    return failures ? 1 : 0;
}
