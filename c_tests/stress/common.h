/* Shared helpers for the stress programs: RNG, fill/verify patterns,
 * process statistics (VMA count from /proc/self/maps, RSS from
 * /proc/self/statm), environment knobs.  Header-only, no allocation in the
 * helpers that the allocating threads call. */
#ifndef POOLDBG_STRESS_COMMON_H
#define POOLDBG_STRESS_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t rng_next(uint64_t *s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

static inline uint64_t rng_below(uint64_t *s, uint64_t n) { return rng_next(s) % n; }

static inline double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end) {
        fprintf(stderr, "bad %s=%s\n", name, v);
        exit(2);
    }
    return x;
}

/* Random size: mostly small, occasionally up to 1 MiB. */
static inline size_t random_size(uint64_t *s)
{
    uint64_t r = rng_below(s, 1000);
    if (r < 800) return 1 + rng_below(s, 256);          /* 80%: 1..256 */
    if (r < 950) return 257 + rng_below(s, 16384 - 256); /* 15%: ..16 KiB */
    if (r < 990) return 16385 + rng_below(s, 262144 - 16384); /* 4%: ..256 KiB */
    return 262145 + rng_below(s, 1048576 - 262144);      /* 1%: ..1 MiB */
}

/* Pattern byte i of a block with seed `seed`. */
static inline unsigned char pat(uint64_t seed, size_t i)
{
    uint64_t x = seed + i * 0x9E3779B97F4A7C15ull;
    return (unsigned char)(x >> 56);
}

/* Big blocks get their first and last 4 KiB and one byte per 4 KiB page
 * written and checked: every page is touched, but the memory bandwidth
 * stays small. */
#define FULL_LIMIT 65536

__attribute__((noinline)) static void fill_big(unsigned char *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < 4096; i++) p[i] = pat(seed, i);
    for (size_t i = 4096; i < n - 4096; i += 4096) p[i] = pat(seed, i);
    for (size_t i = n - 4096; i < n; i++) p[i] = pat(seed, i);
}

static inline void fill(unsigned char *p, size_t n, uint64_t seed)
{
    if (n > FULL_LIMIT) {
        fill_big(p, n, seed);
        return;
    }
    for (size_t i = 0; i < n; i++) p[i] = pat(seed, i);
}

/* Returns the first bad offset, or (size_t)-1 if the block (or the first
 * `n` bytes of it) is intact. */
__attribute__((noinline)) static size_t verify_big(const unsigned char *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < 4096; i++)
        if (p[i] != pat(seed, i)) return i;
    for (size_t i = 4096; i < n - 4096; i += 4096)
        if (p[i] != pat(seed, i)) return i;
    for (size_t i = n - 4096; i < n; i++)
        if (p[i] != pat(seed, i)) return i;
    return (size_t)-1;
}

static inline size_t verify(const unsigned char *p, size_t n, uint64_t seed)
{
    if (n > FULL_LIMIT) return verify_big(p, n, seed);
    for (size_t i = 0; i < n; i++)
        if (p[i] != pat(seed, i)) return i;
    return (size_t)-1;
}

/* Like verify() but for the first `n` bytes of a block that was filled
 * with size `filled` (used after realloc shrinks or grows). */
__attribute__((noinline)) static size_t verify_prefix_big(const unsigned char *p, size_t n, size_t filled,
                                                          uint64_t seed)
{
    for (size_t i = 0; i < n && i < 4096; i++)
        if (p[i] != pat(seed, i)) return i;
    for (size_t i = 4096; i < n && i < filled - 4096; i += 4096)
        if (p[i] != pat(seed, i)) return i;
    for (size_t i = filled - 4096; i < n; i++)
        if (p[i] != pat(seed, i)) return i;
    return (size_t)-1;
}

static inline size_t verify_prefix(const unsigned char *p, size_t n, size_t filled, uint64_t seed)
{
    if (filled > FULL_LIMIT) return verify_prefix_big(p, n, filled, seed);
    return verify(p, n, seed);
}

/* Number of lines of /proc/self/maps, read with read(2) (no stdio, no
 * malloc). */
static inline long vma_count(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[65536];
    long lines = 0;
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < k; i++) lines += buf[i] == '\n';
    close(fd);
    return lines;
}

/* Resident set size in MiB from /proc/self/statm. */
static inline double rss_mib(void)
{
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[256];
    ssize_t k = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (k <= 0) return -1;
    buf[k] = 0;
    unsigned long size = 0, resident = 0;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2) return -1;
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

#endif
