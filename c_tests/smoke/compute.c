/* Smoke program: a small C program that the smoke test compiles with gcc
 * (natively and under the preload: gcc, cc1, as, collect2 and ld all get
 * the library) and then runs.  It uses the heap a little so that running
 * the result under the preload exercises the library too.  Output is
 * deterministic. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *key;
    long value;
    struct entry *next;
};

struct table {
    size_t nbuckets;
    size_t count;
    struct entry **buckets;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ull;
    }
    return h;
}

static void table_init(struct table *t, size_t n)
{
    t->nbuckets = n;
    t->count = 0;
    t->buckets = calloc(n, sizeof *t->buckets);
    if (!t->buckets) abort();
}

static void table_grow(struct table *t)
{
    size_t n = t->nbuckets * 2;
    struct entry **nb = calloc(n, sizeof *nb);
    if (!nb) abort();
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct entry *e = t->buckets[i];
        while (e) {
            struct entry *next = e->next;
            size_t b = hash_str(e->key) % n;
            e->next = nb[b];
            nb[b] = e;
            e = next;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->nbuckets = n;
}

static void table_add(struct table *t, const char *key, long v)
{
    size_t b = hash_str(key) % t->nbuckets;
    for (struct entry *e = t->buckets[b]; e; e = e->next)
        if (strcmp(e->key, key) == 0) {
            e->value += v;
            return;
        }
    struct entry *e = malloc(sizeof *e);
    if (!e) abort();
    e->key = strdup(key);
    e->value = v;
    e->next = t->buckets[b];
    t->buckets[b] = e;
    if (++t->count > t->nbuckets * 2) table_grow(t);
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct entry *e = t->buckets[i];
        while (e) {
            struct entry *next = e->next;
            free(e->key);
            free(e);
            e = next;
        }
    }
    free(t->buckets);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static long count_primes(long n)
{
    char *sieve = malloc((size_t)n + 1);
    if (!sieve) abort();
    memset(sieve, 1, (size_t)n + 1);
    sieve[0] = sieve[1] = 0;
    for (long i = 2; i * i <= n; i++)
        if (sieve[i])
            for (long j = i * i; j <= n; j += i) sieve[j] = 0;
    long c = 0;
    for (long i = 0; i <= n; i++) c += sieve[i];
    free(sieve);
    return c;
}

int main(void)
{
    struct table t;
    table_init(&t, 16);
    char buf[64];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 50000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        snprintf(buf, sizeof buf, "key-%llu", (unsigned long long)(x % 5000));
        table_add(&t, buf, (long)(x % 100));
    }
    long *values = malloc(t.count * sizeof *values);
    if (!values) abort();
    size_t n = 0;
    for (size_t i = 0; i < t.nbuckets; i++)
        for (struct entry *e = t.buckets[i]; e; e = e->next) values[n++] = e->value;
    qsort(values, n, sizeof *values, cmp_long);
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++) mean += (double)values[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) var += ((double)values[i] - mean) * ((double)values[i] - mean);
    printf("keys=%zu buckets=%zu min=%ld median=%ld max=%ld mean=%.3f sd=%.3f\n", n,
           t.nbuckets, values[0], values[n / 2], values[n - 1], mean, sqrt(var / (double)n));
    printf("primes below 2000000: %ld\n", count_primes(2000000));
    free(values);
    table_free(&t);
    return 0;
}
