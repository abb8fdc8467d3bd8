/* threadspawn.c — the cost of pthread_create + pthread_join, in a loop.
 *
 * usage: threadspawn [N [ROUNDS]]   (N = 20000 threads per round, ROUNDS = 5)
 * Each round creates N threads one after another, each joined before the
 * next is created; the thread does nothing (returns its argument). Prints
 * the median and fastest round's wall time per create+join in microseconds,
 * each round's, and the process's CPU time (user + sys, every thread) per
 * create+join, which another load on the machine disturbs less.
 * Run natively and under LD_PRELOAD=libpooldbg.so to see what the preload
 * adds (it records who created each thread: front/thread.rs).
 * Not part of make bench: build with  cc -O2 -pthread -o threadspawn threadspawn.c */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static void *run(void *arg) { return arg; }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    double us[64];
    if (n < 1 || rounds < 1 || rounds > 64)
        return 2;
    double c0 = cpu();
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        for (long i = 0; i < n; i++) {
            pthread_t t;
            void *ret;
            if (pthread_create(&t, NULL, run, (void *)i) != 0 || pthread_join(t, &ret) != 0 || ret != (void *)i) {
                fprintf(stderr, "threadspawn: thread %ld failed\n", i);
                return 1;
            }
        }
        us[r] = (now() - t0) * 1e6 / n;
    }
    double sorted[64];
    for (int r = 0; r < rounds; r++)
        sorted[r] = us[r];
    qsort(sorted, rounds, sizeof sorted[0], cmp);
    double cpu_us = (cpu() - c0) * 1e6 / ((double)n * rounds);
    printf("threadspawn: %.2f us per create+join (median of %d rounds of %ld; fastest %.2f; cpu %.2f us;", sorted[rounds / 2],
           rounds, n, sorted[0], cpu_us);
    for (int r = 0; r < rounds; r++)
        printf(" %.2f", us[r]);
    printf(")\n");
    return 0;
}
