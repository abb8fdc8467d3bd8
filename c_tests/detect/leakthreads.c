/* The leak check at exit while other threads still run (issue 13, item 5).
 *
 * main starts worker threads and returns (or a worker calls exit()) without
 * joining them. The workers keep allocating and freeing while the check
 * runs, and hold their live blocks where a careless scan misses them:
 *   churn      malloc/realloc/free of random sizes, pointers swapped through
 *              a shared array and passed down a chain of calls (stack);
 *   mover      nodes moved between two lists (a scan that runs beside it
 *              finds a node in neither);
 *   register   the only pointer to a live block held in r12 while spinning;
 *   reader     the only pointer in r12 while blocked in read(2) on a pipe
 *              nobody writes (read must be restarted, never fail with EINTR);
 *   masked     a reader and a register holder created with every signal
 *              blocked.
 * None of those blocks is a leak. With PLANT, real leaks are planted first,
 * each from its own function, and must be reported exactly:
 *   plant_list          a 4-node list of 64-byte nodes (1 direct, 3 indirect)
 *   plant_blocks        5 blocks of 100 bytes
 *   plant_from_worker   3 blocks of 200 bytes, in a worker thread
 * Stale copies of the planted pointers are scrubbed from the stacks.
 *
 * usage: leakthreads plant|clean [worker-exit]
 *   worker-exit  main blocks in read(2) holding a live block in r12, and a
 *                worker calls exit(0): the check runs on that worker
 * Exit status: that of the leak check (23 with PLANT, 0 when clean).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

enum { CHURNERS = 2, SHARED = 64, WARMUP = 300 };

static void *shared[SHARED];
static unsigned long progress[8];
static int pipe_fds[2];
static int plant;

struct node {
    struct node *next;
    char payload[56];
}; /* 64 bytes */

static struct node *list_a, *list_b;
static pthread_mutex_t lists = PTHREAD_MUTEX_INITIALIZER;

/* Zeroes the stack below the caller, where dead frames keep stale pointers. */
NOINLINE void scrub_below(void)
{
    volatile char buf[32768];
    for (size_t i = 0; i < sizeof buf; i += 8)
        *(volatile long *)&buf[i] = 0;
}

NOINLINE void plant_list(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 4; i++) {
        struct node *n = malloc(sizeof *n);
        memset(n, 'L', sizeof *n);
        n->next = head;
        head = n;
    }
    *(struct node *volatile *)&head = NULL;
}

NOINLINE void plant_blocks(void)
{
    for (int i = 0; i < 5; i++) {
        char *volatile p = malloc(100);
        memset(p, 'B', 100);
        p = NULL;
    }
}

NOINLINE void plant_from_worker(void)
{
    for (int i = 0; i < 3; i++) {
        char *volatile p = malloc(200);
        memset(p, 'W', 200);
        p = NULL;
    }
}

static unsigned next_random(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* The block travels down a chain of calls as an argument (on the stack at -O0). */
NOINLINE void *pass_down(void *p, int depth)
{
    if (depth == 0) {
        ((char *)p)[0]++;
        return p;
    }
    return pass_down(p, depth - 1);
}

NOINLINE void *churn(void *arg)
{
    long id = (long)arg;
    unsigned seed = (unsigned)id * 7919u + 1;
    if (plant && id == 0) {
        plant_from_worker();
        scrub_below();
    }
    for (unsigned long i = 0;; i++) {
        size_t size = 16 + next_random(&seed) % 4000;
        char *p = malloc(size);
        memset(p, 'c', size < 64 ? size : 64);
        p = pass_down(p, (int)(next_random(&seed) % 8));
        if (next_random(&seed) % 4 == 0)
            p = realloc(p, size * 2);
        void *old = __atomic_exchange_n(&shared[next_random(&seed) % SHARED], p, __ATOMIC_ACQ_REL);
        free(old);
        __atomic_store_n(&progress[id], i, __ATOMIC_RELAXED);
    }
    return NULL;
}

NOINLINE void *mover(void *arg)
{
    long id = (long)arg;
    for (unsigned long i = 0;; i++) {
        pthread_mutex_lock(&lists);
        struct node *n = list_a;
        if (n) {
            list_a = n->next;
            n->next = list_b;
            list_b = n;
        } else {
            struct node *t = list_a;
            list_a = list_b;
            list_b = t;
        }
        pthread_mutex_unlock(&lists);
        if (i % 16 == 0) { /* the population changes too */
            struct node *fresh = malloc(sizeof *fresh);
            memset(fresh, 'm', sizeof *fresh);
            pthread_mutex_lock(&lists);
            struct node *old = list_b;
            if (old)
                list_b = old->next;
            fresh->next = list_a;
            list_a = fresh;
            pthread_mutex_unlock(&lists);
            free(old);
        }
        __atomic_store_n(&progress[id], i, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* Holds the only pointer to a live block in r12 for a while, then frees it. */
NOINLINE void hold_in_register(long spins)
{
    void *p = malloc(48);
    memset(p, 'r', 48);
    scrub_below();
    __asm__ volatile("mov %[slot], %%r12\n\t"
                     "movq $0, %[slot]\n\t"
                     "mov %[n], %%rcx\n"
                     "1:\n\t"
                     "pause\n\t"
                     "dec %%rcx\n\t"
                     "jnz 1b\n\t"
                     "mov %%r12, %[slot]\n\t"
                     : [slot] "+m"(p)
                     : [n] "r"(spins)
                     : "r12", "rcx", "memory", "cc");
    free(p);
}

NOINLINE void *register_holder(void *arg)
{
    long id = (long)arg;
    for (unsigned long i = 0;; i++) {
        hold_in_register(20000);
        __atomic_store_n(&progress[id], i + WARMUP, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* Blocks in read(2) with the only pointer to a live block in r12. */
NOINLINE void block_in_read(long id)
{
    void *p = malloc(80);
    memset(p, 's', 80);
    scrub_below();
    char c;
    long ret = SYS_read;
    __atomic_store_n(&progress[id], WARMUP, __ATOMIC_RELAXED);
    __asm__ volatile("mov %[slot], %%r12\n\t"
                     "movq $0, %[slot]\n\t"
                     "syscall\n\t"
                     "mov %%r12, %[slot]\n\t"
                     : [slot] "+m"(p), "+a"(ret)
                     : "D"((long)pipe_fds[0]), "S"(&c), "d"(1L)
                     : "r12", "rcx", "r11", "memory", "cc");
    if (ret == -EINTR) {
        static const char msg[] = "leakthreads: read(2) failed with EINTR\n";
        write(2, msg, sizeof msg - 1);
        abort();
    }
    free(p);
}

NOINLINE void *reader(void *arg)
{
    block_in_read((long)arg);
    return NULL;
}

static pthread_t start(void *(*fn)(void *), long id, int masked)
{
    sigset_t all, old;
    sigfillset(&all);
    if (masked)
        pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    if (pthread_create(&t, NULL, fn, (void *)id) != 0) {
        perror("pthread_create");
        exit(2);
    }
    if (masked)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    return t;
}

static void wait_for_progress(int n)
{
    for (int i = 0; i < n; i++)
        while (__atomic_load_n(&progress[i], __ATOMIC_RELAXED) < WARMUP)
            sched_yield();
}

NOINLINE void *exiter(void *arg __attribute__((unused)))
{
    wait_for_progress(7);
    printf("leakthreads: a worker calls exit(0)\n");
    exit(0);
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "plant") != 0 && strcmp(argv[1], "clean") != 0)) {
        fprintf(stderr, "usage: %s plant|clean [worker-exit]\n", argv[0]);
        return 2;
    }
    plant = strcmp(argv[1], "plant") == 0;
    int worker_exit = argc > 2 && strcmp(argv[2], "worker-exit") == 0;
    if (pipe(pipe_fds) != 0)
        return 2;
    if (plant) {
        plant_list();
        plant_blocks();
        scrub_below();
    }
    long id = 0;
    for (int i = 0; i < CHURNERS; i++)
        start(churn, id++, 0);   /* 0, 1 */
    start(mover, id++, 0);       /* 2 */
    start(register_holder, id++, 0); /* 3 */
    start(reader, id++, 0);          /* 4 */
    start(reader, id++, 1);          /* 5: every signal blocked */
    start(register_holder, id++, 1); /* 6: every signal blocked */
    if (worker_exit) {
        start(exiter, id, 0);
        block_in_read(7);
        return 3; /* never: the exiter's exit() ends the process */
    }
    wait_for_progress(7);
    printf("leakthreads: main returns\n");
    return 0;
}
