/* optarget — the program the options fuzz runs under LD_PRELOAD: a little
 * of everything (sizes from 1 byte to 1 MiB, calloc, realloc, aligned, a
 * second thread, stdio), contents checked; prints "optarget ok" and exits
 * 0 when all was right. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static void *work(void *arg)
{
    long bad = 0;
    for (int i = 0; i < 50; i++) {
        size_t n = 1 + (size_t)(i * 7919) % 70000;
        unsigned char *p = malloc(n);
        if (!p) {
            bad++;
            continue;
        }
        memset(p, i, n);
        unsigned char *q = realloc(p, n + 100);
        if (!q || !check(q, n, (unsigned char)i))
            bad++;
        free(q ? q : p);
        unsigned char *z = calloc(n, 1);
        if (!z || !check(z, n, 0))
            bad++;
        free(z);
    }
    void *a = NULL;
    if (posix_memalign(&a, 4096, 100) || ((unsigned long)a & 4095))
        bad++;
    free(a);
    unsigned char *big = malloc(1 << 20);
    if (!big)
        bad++;
    else {
        memset(big, 7, 1 << 20);
        bad += !check(big, 1 << 20, 7);
        free(big);
    }
    char *s = strdup("optarget");
    bad += !s || strcmp(s, "optarget") != 0;
    free(s);
    (void)arg;
    return (void *)bad;
}

int main(void)
{
    pthread_t t;
    void *r1, *r2;
    if (pthread_create(&t, NULL, work, NULL))
        return 3;
    r1 = work(NULL);
    pthread_join(t, &r2);
    if (r1 || r2) {
        printf("optarget: %ld bad checks\n", (long)r1 + (long)r2);
        return 4;
    }
    printf("optarget ok\n");
    return 0;
}
