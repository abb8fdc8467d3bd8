/* sigcontract.c — glibc's ways to set a signal's action, as the program sees
 * them (issue 14, item 2).
 *
 * Usage: sigcontract
 * Prints a transcript: for every call, its return value and errno, and the
 * action a query then reports (handler by name, flags, the kernel's 64-bit
 * mask, whether the restorer is glibc's); what a handler saw when it ran
 * (signal, si_code, whether the address matched, its mask, its stack). The
 * harness compares it with the same program's transcript without
 * libpooldbg: identical, value for value. SIGSEGV and SIGBUS are recorded
 * behind libpooldbg's handler; every other signal goes to glibc.
 * A few facts are also asserted here ("FAIL ..." and exit 1), so that the
 * program fails on its own when even the native run misbehaves.
 * Exit status: 0, or 1 if a check failed. */
#define _GNU_SOURCE
/* sigset, sighold and friends are deprecated, and still glibc's. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Still exported by glibc (GLIBC_2.2.5), no longer declared by it. */
extern __sighandler_t bsd_signal(int sig, __sighandler_t handler);

static int failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("FAIL " __VA_ARGS__);                                       \
            printf("  [%s:%d]\n", __FILE__, __LINE__);                         \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static void h1(int sig) { (void)sig; }
static void h2(int sig) { (void)sig; }
static void (*glibc_restorer)(void);

static const char *name_of(void (*h)(int))
{
    static char buf[32];
    if (h == SIG_DFL)
        return "SIG_DFL";
    if (h == SIG_IGN)
        return "SIG_IGN";
    if (h == SIG_ERR)
        return "SIG_ERR";
    if (h == SIG_HOLD)
        return "SIG_HOLD";
    if (h == h1)
        return "h1";
    if (h == h2)
        return "h2";
    snprintf(buf, sizeof buf, "other");
    return buf;
}

static uint64_t word(const sigset_t *s)
{
    uint64_t w;
    memcpy(&w, s, sizeof w);
    return w;
}

static uint64_t blocked_now(void)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return word(&cur);
}

static void show_action(const char *what, int rc, int err, const struct sigaction *a)
{
    printf("%-34s rc=%d errno=%d", what, rc, err);
    if (rc == 0 && a)
        printf(" handler=%s flags=%#x mask=%#llx restorer=%s", name_of(a->sa_handler), (unsigned)a->sa_flags,
               (unsigned long long)word(&a->sa_mask),
               a->sa_restorer == NULL ? "none" : a->sa_restorer == glibc_restorer ? "glibc's" : "other");
    printf("\n");
}

/* sigaction(sig, act, &old) with errno preset, then print. */
static void act(const char *what, int sig, void (*h)(int), int flags, uint64_t mask)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    memset(&old, 0, sizeof old);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    memcpy(&sa.sa_mask, &mask, sizeof mask);
    errno = 4242;
    int rc = sigaction(sig, &sa, &old);
    show_action(what, rc, errno, &old);
}

static void query(const char *what, int sig)
{
    struct sigaction old;
    memset(&old, 0, sizeof old);
    errno = 4242;
    int rc = sigaction(sig, NULL, &old);
    show_action(what, rc, errno, &old);
}

static void show_handler(const char *what, void (*got)(int))
{
    printf("%-34s -> %s errno=%d\n", what, name_of(got), errno);
}

#define BIT(s) (1ull << ((s) - 1))

/* ---- what a handler saw ---- */

static volatile sig_atomic_t seen_sig, seen_code, seen_pid_ok, seen_addr_ok, seen_onstack;
static volatile uint64_t seen_mask;
static void *expect_addr;
static char *own_stack;
static size_t own_stack_size;
static char *page;
static sigjmp_buf back;
static volatile int jump_back;

static void on_info(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    char local;
    seen_sig = sig;
    seen_code = si->si_code;
    seen_pid_ok = si->si_pid == getpid();
    seen_addr_ok = si->si_addr == expect_addr;
    seen_mask = blocked_now();
    seen_onstack = own_stack && &local >= own_stack && &local < own_stack + own_stack_size;
    if (si->si_code > 0 && page && si->si_addr == expect_addr)
        mprotect(page, 4096, PROT_READ | PROT_WRITE);
    if (jump_back)
        siglongjmp(back, 1);
}

static void on_plain(int sig)
{
    seen_sig = sig;
    seen_mask = blocked_now();
}

static void install_info(int sig, int flags, uint64_t mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO | flags;
    memcpy(&sa.sa_mask, &mask, sizeof mask);
    sigaction(sig, &sa, NULL);
}

static void show_seen(const char *what)
{
    printf("%-34s sig=%d code=%d pid=%d addr=%d mask=%#llx onstack=%d after=%#llx\n", what, (int)seen_sig,
           (int)seen_code, (int)seen_pid_ok, (int)seen_addr_ok, (unsigned long long)seen_mask, (int)seen_onstack,
           (unsigned long long)blocked_now());
    seen_sig = seen_code = seen_pid_ok = seen_addr_ok = seen_onstack = 0;
    seen_mask = 0;
}

/* ---- other signals: straight to glibc ---- */

static void other_signals(void)
{
    struct sigaction q;
    act("SIGINT h1 SA_RESTART", SIGINT, h1, SA_RESTART, BIT(SIGUSR1) | BIT(SIGKILL));
    sigaction(SIGINT, NULL, &q);
    glibc_restorer = q.sa_restorer; /* glibc sets its own with every action */
    query("SIGINT query", SIGINT);
    act("SIGINT SA_UNSUPPORTED|0x20000000", SIGINT, h2, 0x400 | 0x20000000, 0);
    query("SIGINT query", SIGINT);
    act("SIGRTMIN h1", SIGRTMIN, h1, SA_NODEFER | SA_RESETHAND, 0);
    query("SIGRTMIN query", SIGRTMIN);
    int bad[] = {0, -1, 65, 1000, SIGKILL, SIGSTOP, 32, 33};
    for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
        char what[64];
        snprintf(what, sizeof what, "set signal %d", bad[i]);
        act(what, bad[i], h1, 0, 0);
        snprintf(what, sizeof what, "query signal %d", bad[i]);
        query(what, bad[i]);
    }
    errno = 4242;
    int rc = sigaction(SIGUSR1, NULL, NULL);
    printf("%-34s rc=%d errno=%d\n", "sigaction(SIGUSR1, NULL, NULL)", rc, errno);

    errno = 4242;
    show_handler("signal(SIGUSR1, h1)", signal(SIGUSR1, h1));
    show_handler("signal(SIGUSR1, h2)", signal(SIGUSR1, h2));
    query("SIGUSR1 query", SIGUSR1);
    errno = 4242;
    show_handler("signal(SIGUSR1, SIG_ERR)", signal(SIGUSR1, SIG_ERR));
    errno = 4242;
    show_handler("signal(0, h1)", signal(0, h1));
    errno = 4242;
    show_handler("signal(SIGKILL, h1)", signal(SIGKILL, h1));
    errno = 4242;
    show_handler("signal(65, h1)", signal(65, h1));
    errno = 4242;
    show_handler("bsd_signal(SIGUSR2, h1)", bsd_signal(SIGUSR2, h1));
    errno = 4242;
    show_handler("ssignal(SIGUSR2, h2)", ssignal(SIGUSR2, h2));
    errno = 4242;
    show_handler("sysv_signal(SIGUSR2, h1)", sysv_signal(SIGUSR2, h1));
    query("SIGUSR2 query", SIGUSR2);
    errno = 4242;
    show_handler("__sysv_signal(SIGUSR2, SIG_ERR)", __sysv_signal(SIGUSR2, SIG_ERR));
    errno = 4242;
    show_handler("sigset(SIGUSR2, SIG_HOLD)", sigset(SIGUSR2, SIG_HOLD));
    printf("%-34s %d\n", "SIGUSR2 blocked", (blocked_now() & BIT(SIGUSR2)) != 0);
    errno = 4242;
    show_handler("sigset(SIGUSR2, h2)", sigset(SIGUSR2, h2));
    printf("%-34s %d\n", "SIGUSR2 blocked", (blocked_now() & BIT(SIGUSR2)) != 0);
    errno = 4242;
    show_handler("sigset(0, h2)", sigset(0, h2));
    errno = 4242;
    printf("%-34s rc=%d errno=%d\n", "sigignore(SIGUSR2)", sigignore(SIGUSR2), errno);
    query("SIGUSR2 query", SIGUSR2);
    errno = 4242;
    printf("%-34s rc=%d errno=%d\n", "sigignore(SIGKILL)", sigignore(SIGKILL), errno);
    signal(SIGUSR2, h1);
    errno = 4242;
    printf("%-34s rc=%d errno=%d\n", "siginterrupt(SIGUSR2, 1)", siginterrupt(SIGUSR2, 1), errno);
    query("SIGUSR2 query", SIGUSR2);
    signal(SIGUSR2, h2);
    query("SIGUSR2 after signal()", SIGUSR2);
    errno = 4242;
    printf("%-34s rc=%d errno=%d\n", "siginterrupt(SIGUSR2, 0)", siginterrupt(SIGUSR2, 0), errno);
    query("SIGUSR2 query", SIGUSR2);
    errno = 4242;
    printf("%-34s rc=%d errno=%d\n", "siginterrupt(99, 1)", siginterrupt(99, 1), errno);
}

/* ---- SIGSEGV and SIGBUS: the record ---- */

static void recorded_signals(int sig, const char *name)
{
    char what[80];
#define W(...) (snprintf(what, sizeof what, __VA_ARGS__), what)
    query(W("%s first query", name), sig);
    act(W("%s h1 SA_ONSTACK mask USR1|KILL", name), sig, h1, SA_ONSTACK, BIT(SIGUSR1) | BIT(SIGKILL) | BIT(SIGSTOP));
    query(W("%s query", name), sig);
    act(W("%s h2 SA_UNSUPPORTED|SA_RESTORER", name), sig, h2, 0x400 | 0x04000000 | 0x20000000, BIT(32) | BIT(33));
    query(W("%s query", name), sig);
    {
        struct sigaction same;
        memset(&same, 0, sizeof same);
        same.sa_handler = h1;
        same.sa_flags = SA_NODEFER;
        errno = 4242;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict" /* on purpose: glibc reads act first */
        int rc = sigaction(sig, &same, &same);
#pragma GCC diagnostic pop
        show_action(W("%s act == old", name), rc, errno, &same);
    }
    errno = 4242;
    int rc = sigaction(sig, NULL, NULL);
    printf("%-34s rc=%d errno=%d\n", W("%s NULL, NULL", name), rc, errno);
    errno = 4242;
    show_handler(W("signal(%s, h2)", name), signal(sig, h2));
    query(W("%s query", name), sig);
    errno = 4242;
    show_handler(W("signal(%s, SIG_ERR)", name), signal(sig, SIG_ERR));
    errno = 4242;
    show_handler(W("bsd_signal(%s, h1)", name), bsd_signal(sig, h1));
    errno = 4242;
    show_handler(W("ssignal(%s, h2)", name), ssignal(sig, h2));
    errno = 4242;
    show_handler(W("sysv_signal(%s, h1)", name), sysv_signal(sig, h1));
    query(W("%s query", name), sig);
    errno = 4242;
    show_handler(W("__sysv_signal(%s, h2)", name), __sysv_signal(sig, h2));
    errno = 4242;
    show_handler(W("__sysv_signal(%s, SIG_ERR)", name), __sysv_signal(sig, SIG_ERR));
    errno = 4242;
    show_handler(W("sigset(%s, SIG_HOLD)", name), sigset(sig, SIG_HOLD));
    printf("%-34s %d\n", W("%s blocked", name), (blocked_now() & BIT(sig)) != 0);
    errno = 4242;
    show_handler(W("sigset(%s, SIG_HOLD) again", name), sigset(sig, SIG_HOLD));
    errno = 4242;
    show_handler(W("sigset(%s, h1)", name), sigset(sig, h1));
    printf("%-34s %d\n", W("%s blocked", name), (blocked_now() & BIT(sig)) != 0);
    query(W("%s query", name), sig);
    errno = 4242;
    show_handler(W("sigset(%s, h2)", name), sigset(sig, h2));
    errno = 4242;
    printf("%-34s rc=%d errno=%d\n", W("sigignore(%s)", name), sigignore(sig), errno);
    query(W("%s query", name), sig);
    errno = 4242;
    printf("%-34s rc=%d errno=%d\n", W("siginterrupt(%s, 1)", name), siginterrupt(sig, 1), errno);
    query(W("%s query", name), sig);
    signal(sig, h1);
    query(W("%s after signal()", name), sig);
    errno = 4242;
    printf("%-34s rc=%d errno=%d\n", W("siginterrupt(%s, 0)", name), siginterrupt(sig, 0), errno);
    query(W("%s query", name), sig);
    signal(sig, h2);
    query(W("%s after signal()", name), sig);

    /* Deliveries of a sent signal. */
    install_info(sig, SA_RESETHAND, BIT(SIGUSR1));
    raise(sig);
    show_seen(W("%s raised, SA_RESETHAND", name));
    query(W("%s after one-shot", name), sig);
    install_info(sig, SA_NODEFER, BIT(SIGUSR2));
    raise(sig);
    show_seen(W("%s raised, SA_NODEFER", name));
    struct sigaction plain;
    memset(&plain, 0, sizeof plain);
    plain.sa_handler = on_plain;
    sigaction(sig, &plain, NULL);
    raise(sig);
    show_seen(W("%s raised, plain handler", name));
    signal(sig, SIG_IGN);
    raise(sig);
    printf("%-34s survived\n", W("%s raised, SIG_IGN", name));
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    sigprocmask(SIG_BLOCK, &m, NULL);
    install_info(sig, 0, BIT(SIGUSR1));
    raise(sig);
    show_seen(W("%s raised, USR2 blocked before", name));
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    signal(sig, SIG_DFL);
#undef W
}

/* A real fault in memory of the program's own: its handler gets it. */
static void faults(void)
{
    page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect_addr = page + 100;
    install_info(SIGSEGV, 0, BIT(SIGUSR1));
    ((volatile char *)page)[100] = 1;
    show_seen("fault, handler returns");

    mprotect(page, 4096, PROT_NONE);
    install_info(SIGSEGV, SA_NODEFER | SA_RESETHAND, 0);
    ((volatile char *)page)[100] = 2;
    show_seen("fault, one-shot nodefer");
    query("SIGSEGV after one-shot fault", SIGSEGV);

    mprotect(page, 4096, PROT_NONE);
    install_info(SIGSEGV, 0, BIT(SIGUSR2));
    jump_back = 1;
    for (int i = 0; i < 100; i++) {
        if (sigsetjmp(back, 1) == 0)
            ((volatile char *)page)[100] = 3;
    }
    jump_back = 0;
    show_seen("fault, siglongjmp x100");

    /* Its own alternate stack, set after its first malloc. */
    own_stack_size = 64 * 1024;
    own_stack = malloc(own_stack_size);
    stack_t st = {.ss_sp = own_stack, .ss_size = own_stack_size, .ss_flags = 0};
    sigaltstack(&st, NULL);
    mprotect(page, 4096, PROT_NONE);
    install_info(SIGSEGV, SA_ONSTACK, 0);
    ((volatile char *)page)[100] = 4;
    show_seen("fault, SA_ONSTACK, own altstack");
    stack_t now;
    sigaltstack(NULL, &now);
    printf("%-34s %d\n", "its altstack still set", now.ss_sp == own_stack && now.ss_size == own_stack_size);
    signal(SIGSEGV, SIG_DFL);
}

/* Two threads set SIGSEGV's action over and over, each with its own mask;
 * the main thread raises SIGSEGV meanwhile: the handler that runs must
 * always find its own mask blocked (never a torn record). */
static atomic_int racing;
static atomic_int torn, delivered;

static void race_h1(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)si, (void)ctx;
    uint64_t m = blocked_now();
    if (!(m & BIT(SIGUSR1)) || (m & BIT(SIGUSR2)))
        torn++;
    delivered++;
}

static void race_h2(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)si, (void)ctx;
    uint64_t m = blocked_now();
    if (!(m & BIT(SIGUSR2)) || (m & BIT(SIGUSR1)))
        torn++;
    delivered++;
}

static atomic_int bad_old;

static void *setter(void *arg)
{
    int which = (int)(intptr_t)arg;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = which ? race_h2 : race_h1;
    sa.sa_flags = SA_SIGINFO;
    sigaddset(&sa.sa_mask, which ? SIGUSR2 : SIGUSR1);
    while (atomic_load(&racing)) {
        sigaction(SIGSEGV, &sa, &old);
        if (old.sa_sigaction != race_h1 && old.sa_sigaction != race_h2)
            bad_old++;
        uint64_t w = word(&old.sa_mask);
        if ((old.sa_sigaction == race_h1 && w != BIT(SIGUSR1)) || (old.sa_sigaction == race_h2 && w != BIT(SIGUSR2)))
            bad_old++;
    }
    return NULL;
}

static void race(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = race_h1;
    sa.sa_flags = SA_SIGINFO;
    sigaddset(&sa.sa_mask, SIGUSR1);
    sigaction(SIGSEGV, &sa, NULL);
    racing = 1;
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, setter, (void *)(intptr_t)i);
    for (int i = 0; i < 20000; i++)
        raise(SIGSEGV);
    racing = 0;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("%-34s delivered=%d torn=%d bad_old=%d\n", "race: 2 setters, 20000 raises", delivered, torn, bad_old);
    CHECK(torn == 0 && bad_old == 0, "race: a handler or an old action saw a torn record\n");
    signal(SIGSEGV, SIG_DFL);
}

/* A sent SIGSEGV interrupts a read() that blocks in another thread: the
 * call is restarted with SA_RESTART (signal() sets it), and fails with
 * EINTR without (the kernel sees libpooldbg's action: it must carry the
 * program's SA_RESTART). */
static int pipefd[2];
static atomic_int reader_tid;

static void *reader(void *arg)
{
    char c;
    reader_tid = (int)syscall(SYS_gettid);
    ssize_t r = read(pipefd[0], &c, 1);
    *(int *)arg = r == 1 ? 1 : -errno;
    return NULL;
}

static int blocked_in_read(int tid)
{
    char path[64], buf[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fgets(buf, sizeof buf, f) && !strncmp(buf, "0 ", 2); /* read(2) */
    fclose(f);
    return ok;
}

static void interrupted_read(const char *what, int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_plain;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGSEGV, &sa, NULL);
    if (pipe(pipefd) != 0)
        return;
    int result = 0;
    reader_tid = 0;
    pthread_t t;
    pthread_create(&t, NULL, reader, &result);
    for (int i = 0; i < 5000 && !(reader_tid && blocked_in_read(reader_tid)); i++)
        usleep(1000);
    pthread_kill(t, SIGSEGV);
    usleep(50000);
    if (write(pipefd[1], "x", 1) != 1)
        return;
    pthread_join(t, NULL);
    close(pipefd[0]);
    close(pipefd[1]);
    printf("%-34s read=%d\n", what, result);
    signal(SIGSEGV, SIG_DFL);
}

/* A fork child inherits the action. */
static void forked(void)
{
    install_info(SIGSEGV, 0, BIT(SIGUSR1));
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction q;
        sigaction(SIGSEGV, NULL, &q);
        raise(SIGSEGV);
        _exit(q.sa_sigaction == on_info && seen_sig == SIGSEGV ? 7 : 8);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("%-34s exit=%d\n", "fork child: inherited, delivered", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    signal(SIGSEGV, SIG_DFL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    free(malloc(16)); /* this thread's first allocation: libpooldbg's altstack */
    other_signals();
    recorded_signals(SIGSEGV, "SIGSEGV");
    recorded_signals(SIGBUS, "SIGBUS");
    faults();
    race();
    interrupted_read("sent SIGSEGV, read, SA_RESTART", 1);
    interrupted_read("sent SIGSEGV, read, no SA_RESTART", 0);
    forked();
    printf("done\n");
    return failures ? 1 : 0;
}
