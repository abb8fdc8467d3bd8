/* spawn — posix_spawn and vfork+exec while threads allocate.
 *
 *   spawn COUNT NTHREADS   NTHREADS workers allocate and free non-stop; the
 *                          main thread starts COUNT children with posix_spawn
 *                          (with file actions and attributes, which glibc
 *                          allocates for) and COUNT with vfork+execve, each
 *                          running this program as "spawn child", which
 *                          allocates, checks and frees 300 blocks under the
 *                          library (LD_PRELOAD is inherited) and exits 0.
 *                          Every child must exit 0 within 20 s (its own
 *                          alarm).  Prints counts; exit 0 if all were right.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static atomic_int stop;
static atomic_long worker_ops;

static int child_main(void)
{
    alarm(20);
    for (int r = 0; r < 300; r++) {
        size_t n = 1 + (size_t)(r * 977) % (r % 20 == 0 ? 300000 : 3000);
        unsigned char *p = malloc(n);
        if (!p)
            return 6;
        memset(p, r, n);
        unsigned char *q = realloc(p, n * 2);
        if (!q)
            return 7;
        for (size_t k = 0; k < n; k++)
            if (q[k] != (unsigned char)r)
                return 5;
        free(q);
    }
    char *s = strdup("spawned child");
    int ok = s && !strcmp(s, "spawned child");
    free(s);
    return ok ? 0 : 8;
}

static void *worker(void *arg)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL ^ (uintptr_t)arg;
    unsigned char *b[32] = {0};
    while (!atomic_load(&stop)) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % 32);
        free(b[i]);
        size_t n = (x >> 9) % 16 == 0 ? 150000 : 1 + (x >> 20) % 2000;
        b[i] = (x & 1) ? malloc(n) : calloc(1, n);
        if (b[i])
            b[i][n - 1] = 1;
        atomic_fetch_add(&worker_ops, 1);
    }
    for (int i = 0; i < 32; i++)
        free(b[i]);
    return NULL;
}

static const char *describe(int st, char *buf, size_t n)
{
    if (WIFEXITED(st))
        snprintf(buf, n, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, n, "signal %d", WTERMSIG(st));
    else
        snprintf(buf, n, "status 0x%x", st);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "child"))
        return child_main();
    if (argc != 3) {
        fprintf(stderr, "usage: %s COUNT NTHREADS | %s child\n", argv[0], argv[0]);
        return 2;
    }
    long count = atol(argv[1]);
    int nthreads = atoi(argv[2]);
    if (nthreads < 1 || nthreads > 16)
        nthreads = 4;
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        return 2;
    self[sl] = 0;
    pthread_t t[16];
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);

    long spawn_ok = 0, vfork_ok = 0, bad = 0;
    char d[64];
    for (long i = 0; i < count; i++) {
        /* posix_spawn, with file actions and attributes */
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t at;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawnattr_init(&at);
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | (i % 2 ? POSIX_SPAWN_USEVFORK : 0));
        char *av[] = {self, "child", NULL};
        pid_t pid;
        int e = posix_spawn(&pid, self, &fa, &at, av, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&at);
        if (e) {
            printf("spawn: posix_spawn: %s\n", strerror(e));
            bad++;
        } else {
            int st;
            waitpid(pid, &st, 0);
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                spawn_ok++;
            else if (bad++ < 10)
                printf("spawn: posix_spawn child %ld: %s\n", i, describe(st, d, sizeof d));
        }
        /* vfork + execve */
        pid = vfork();
        if (pid == 0) {
            execve(self, av, environ);
            _exit(127);
        }
        if (pid < 0) {
            printf("spawn: vfork: %s\n", strerror(errno));
            bad++;
            continue;
        }
        int st;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            vfork_ok++;
        else if (bad++ < 10)
            printf("spawn: vfork child %ld: %s\n", i, describe(st, d, sizeof d));
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    printf("spawn: posix_spawn ok=%ld/%ld vfork+exec ok=%ld/%ld failed=%ld worker_ops=%ld\n", spawn_ok, count,
           vfork_ok, count, bad, atomic_load(&worker_ops));
    return spawn_ok == count && vfork_ok == count && !bad ? 0 : 1;
}
