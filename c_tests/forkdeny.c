/* forkdeny.c — a fork child that cannot set up userfaultfd again.
 *
 * Usage: forkdeny CASE [markers]     CASE: live | uaf | overflow
 * Allocates blocks and frees one under the library's userfaultfd mechanism,
 * then refuses itself userfaultfd(2) (seccomp, as a sandbox entered after
 * start-up would), and guard markers too with "markers", and forks. The child cannot register its pages again, so
 * the library must move it to another mechanism and say so once:
 *   live      the child reads and writes every live block, allocates and
 *             frees more, and exits 0;
 *   uaf       the child reads the freed block: reported (SIGABRT);
 *   overflow  the child writes past a new block: reported (SIGABRT).
 * The parent exits with the child's status (128 + signal when killed). */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuse-after-free"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deny_filter.h"

static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

int main(int argc, char **argv) {
    int markers = argc == 3 && !strcmp(argv[2], "markers");
    if (argc < 2 || argc > 2 + markers ||
        (strcmp(argv[1], "live") && strcmp(argv[1], "uaf") && strcmp(argv[1], "overflow"))) {
        fprintf(stderr, "usage: forkdeny live|uaf|overflow [markers]\n");
        return 2;
    }
    enum { N = 200 };
    char *live[N];
    for (int i = 0; i < N; i++) {
        live[i] = opaque(malloc(16 + (size_t)i * 131));
        memset(live[i], i, 16 + (size_t)i * 131);
    }
    char *freed = opaque(malloc(64));
    memset(freed, 7, 64);
    free(freed);
    if (deny_now(1, markers) != 0) {
        perror("forkdeny: seccomp");
        return 2;
    }
    fflush(stdout);
    pid_t c = fork();
    if (c < 0) {
        perror("fork");
        return 2;
    }
    if (c == 0) {
        for (int i = 0; i < N; i++) {
            size_t n = 16 + (size_t)i * 131;
            for (size_t k = 0; k < n; k += 97)
                if (live[i][k] != (char)i)
                    _exit(10);
            live[i][n - 1] = (char)(i + 1);
        }
        for (int i = 0; i < 1000; i++) {
            char *p = opaque(malloc((size_t)i % 5000 + 1));
            p[(size_t)i % 5000] = 1;
            free(p);
        }
        if (!strcmp(argv[1], "uaf")) {
            printf("REACHED uaf %p\n", (void *)freed);
            fflush(stdout);
            printf("read %d\n", ((volatile char *)freed)[0]);
        } else if (!strcmp(argv[1], "overflow")) {
            char *p = opaque(malloc(32));
            printf("REACHED overflow %p\n", (void *)(p + 32));
            fflush(stdout);
            ((volatile char *)p)[32] = 1;
        }
        printf("child done\n");
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
