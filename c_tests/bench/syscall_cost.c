/* syscall_cost.c — what a valid call to an interposed libc function costs
 * (issue 14, item 1: libpooldbg checks the buffers of read, write, recv,
 * stat, … before forwarding them to libc).
 *
 * usage: syscall_cost [N [CASE]]   (N calls per measurement, default 200000;
 *                                 CASE: run that case only, e.g. under
 *                                 perf stat -e instructions:u)
 * Prints one line per case, "CASE ns/call" (the median of 5 measurements of
 * N calls each). Run it natively and under LD_PRELOAD=libpooldbg.so and
 * compare; the difference is the check plus the forwarding. Cases:
 *   read-heap, read-stack      read(/dev/zero, 64-byte buffer, 64)
 *   write-heap                 write(/dev/null, 64-byte heap buffer, 64)
 *   pipe-heap                  write(pipe, 64) then read(pipe, 64), heap buffers
 *   readv-stack-iov            readv(/dev/zero), two heap buffers, the iovec
 *                              array on the stack
 *   writev-heap-iov            writev(/dev/null), the iovec array on the heap
 *   writev-global-iov          writev(/dev/null), the iovec array in a global
 *                              (libpooldbg reads it through the kernel)
 *   recv-send-heap             send + recv of 64 bytes on a socketpair
 *   fstat-heap                 fstat(/dev/null) into a heap struct stat
 *   poll-heap                  poll of one ready descriptor, heap pollfd */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static long n_calls = 200000;
static const char *only;
static int zero, null, pp[2], sp[2];
static char *heap_a, *heap_b;
static struct iovec *heap_iov;
static struct iovec global_iov[2];
static struct stat *heap_st;
static struct pollfd *heap_pfd;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define CASE(name, calls_per_iter, ...)                                       \
    do {                                                                       \
        if (only && strcmp(only, name))                                        \
            break;                                                             \
        double t[5];                                                           \
        for (int rep = 0; rep < 5; rep++) {                                    \
            double t0 = now();                                                 \
            for (long i = 0; i < n_calls; i++) {                               \
                __VA_ARGS__;                                                   \
            }                                                                  \
            t[rep] = (now() - t0) / (n_calls * (calls_per_iter)) * 1e9;        \
        }                                                                      \
        qsort(t, 5, sizeof *t, cmp);                                           \
        printf("%-18s %7.1f ns/call\n", name, t[2]);                           \
    } while (0)

#define MUST(x)                                                                \
    do {                                                                       \
        if ((x) < 0) {                                                         \
            perror(#x);                                                        \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

int main(int argc, char **argv) {
    if (argc > 1)
        n_calls = atol(argv[1]);
    if (argc > 2)
        only = argv[2];
    MUST(zero = open("/dev/zero", O_RDONLY));
    MUST(null = open("/dev/null", O_WRONLY));
    MUST(pipe(pp));
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
    heap_a = malloc(64), heap_b = malloc(64);
    heap_iov = malloc(2 * sizeof *heap_iov);
    heap_st = malloc(sizeof *heap_st);
    heap_pfd = malloc(sizeof *heap_pfd);
    heap_iov[0] = (struct iovec){heap_a, 64}, heap_iov[1] = (struct iovec){heap_b, 64};
    global_iov[0] = heap_iov[0], global_iov[1] = heap_iov[1];
    *heap_pfd = (struct pollfd){.fd = null, .events = POLLOUT};
    char stack_buf[64];

    CASE("read-heap", 1, MUST(read(zero, heap_a, 64)));
    CASE("read-stack", 1, MUST(read(zero, stack_buf, 64)));
    CASE("write-heap", 1, MUST(write(null, heap_a, 64)));
    CASE("pipe-heap", 2, MUST(write(pp[1], heap_a, 64)); MUST(read(pp[0], heap_b, 64)));
    CASE("readv-stack-iov", 1, struct iovec v[2] = {{heap_a, 64}, {heap_b, 64}}; MUST(readv(zero, v, 2)));
    CASE("writev-heap-iov", 1, MUST(writev(null, heap_iov, 2)));
    CASE("writev-global-iov", 1, MUST(writev(null, global_iov, 2)));
    CASE("recv-send-heap", 2, MUST(send(sp[0], heap_a, 64, 0)); MUST(recv(sp[1], heap_b, 64, 0)));
    CASE("fstat-heap", 1, MUST(fstat(null, heap_st)));
    CASE("poll-heap", 1, MUST(poll(heap_pfd, 1, 0)));
    return 0;
}
