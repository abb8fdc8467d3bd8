/* forkhandlers — fork in a program linked with libforkhandlers.so, whose
 * fork handlers allocate and free while libpooldbg holds its locks for the
 * fork (issue 13, item 4). Each of 50 children also allocates and frees and
 * exits 0; so must the parent. A child that reads a block freed in the
 * parent before the fork must still be reported ("uaf" argument). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int forkhandlers_ready(void);

static __attribute__((noinline)) void *opaque(void *p) {
    __asm__ volatile("" : "+r"(p) : : "memory");
    return p;
}

int main(int argc, char **argv) {
    int uaf = argc > 1 && !strcmp(argv[1], "uaf");
    if (!forkhandlers_ready())
        return 2;
    char *freed = opaque(malloc(48));
    free(freed);
    for (int i = 0; i < 50; i++) {
        fflush(stdout);
        pid_t c = fork();
        if (c < 0) {
            perror("fork");
            return 2;
        }
        if (c == 0) {
            char *p = opaque(malloc(10));
            memset(p, 3, 10);
            free(p);
            if (uaf) {
                printf("REACHED uaf %p\n", (void *)freed);
                fflush(stdout);
                printf("read %d\n", ((volatile char *)freed)[0]);
            }
            _exit(0);
        }
        int st;
        if (waitpid(c, &st, 0) != c) {
            perror("waitpid");
            return 2;
        }
        if (uaf)
            return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("forkhandlers: child %d failed (status %#x)\n", i, st);
            return 1;
        }
    }
    printf("forkhandlers: 50 forks ok\n");
    return 0;
}
