/* optfuzz — random POOLDBG_OPTIONS strings against a real program.
 *
 *   optfuzz LIB TARGET COUNT SEED WORKDIR
 *
 * Runs natively (no LD_PRELOAD of its own).  For each of COUNT seeded
 * strings it runs TARGET (c_tests/hostile/optarget.c) with LD_PRELOAD=LIB
 * and POOLDBG_OPTIONS=<string>, in WORKDIR (so a log_path the fuzzer makes
 * up lands there: generated values never contain '/'), with a 20 s timeout.
 *
 * Strings are built from entries of three sorts:
 *   valid    a real key with an accepted value (in every accepted spelling:
 *            decimal, 0x hex, words, signal names, surrounding blanks)
 *   invalid  unknown key, typo, wrong case, value out of range or malformed,
 *            empty value, no '=', a log_path of 256+ bytes
 *   mutated  a whole string with random bytes inserted/deleted/flipped,
 *            or random bytes only, or a 64 KiB string
 * joined by ':' or ',' with optional blanks and empty entries.
 *
 * Contract checked for every run — one of:
 *   runs normally: exit 0, stdout "optarget ok", no "libpooldbg: ERROR"
 *                  line on stderr (NOTICE/WARNING/help/stats lines allowed)
 *   refused:       exit 1, stdout empty, stderr exactly one line, starting
 *                  "libpooldbg: ERROR: POOLDBG_OPTIONS: "
 * never a signal death, another status, or a timeout.  Where the string's
 * validity is known by construction it must be the matching outcome, and a
 * refusal must name the key of the first bad entry.
 * stdout: one line per failure, then counts; exit 0 if no failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t rndn(uint64_t n) { return n ? rnd() % n : 0; }
#define PICK(a) (a)[rndn(sizeof(a) / sizeof *(a))]

/* ------------------------------------------------------------ string builder */
struct sb {
    char *s;
    size_t n, cap;
};
static void sb_add(struct sb *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            abort();
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}
static void sb_puts(struct sb *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_add(b, tmp, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ------------------------------------------------------------ entries */
static const char *KEYS[] = {"help",  "guard",         "quarantine_mb", "quarantine_slots", "alloc_fill",
                             "prefault", "on_error",   "exitcode",      "log_path",         "stack_depth",
                             "protect_below", "alignment", "leaks",     "free_fill",        "map_limit",
                             "stats", "stats_signal"};
#define NKEYS (sizeof KEYS / sizeof *KEYS)

static void num(struct sb *b, uint64_t v)
{
    if (rndn(4) == 0)
        sb_printf(b, "0x%llx", (unsigned long long)v);
    else if (rndn(8) == 0)
        sb_printf(b, "0X%llX", (unsigned long long)v);
    else
        sb_printf(b, "%llu", (unsigned long long)v);
}
static void numrange(struct sb *b, uint64_t lo, uint64_t hi) { num(b, lo + rndn(hi - lo + 1)); }
static const char *BOOLS[] = {"0", "1", "true", "false", "yes", "no"};

static void blanks(struct sb *b)
{
    static const char *W[] = {"", "", "", " ", "  ", "\t"};
    sb_puts(b, PICK(W));
}

/* A valid entry for KEYS[k]. */
static void valid_entry(struct sb *b, int k)
{
    blanks(b);
    sb_puts(b, KEYS[k]);
    blanks(b);
    sb_puts(b, "=");
    blanks(b);
    switch (k) {
    case 0: case 5: case 10: case 12: case 15:
        sb_puts(b, PICK(BOOLS));
        break;
    case 1: {
        static const char *G[] = {"auto", "marker", "mprotect"};
        sb_puts(b, PICK(G));
        break;
    }
    case 2:
        numrange(b, 0, rndn(2) ? 1024 : 1048576);
        break;
    case 3:
        numrange(b, 0, rndn(2) ? 1000 : 16777216);
        break;
    case 4:
    case 13:
        if (k == 4 && rndn(5) == 0)
            sb_puts(b, "none");
        else
            numrange(b, 0, 255);
        break;
    case 6: {
        static const char *E[] = {"abort", "exit", "continue"};
        sb_puts(b, PICK(E));
        break;
    }
    case 7:
        numrange(b, 1, 255);
        break;
    case 8: {
        static const char *L[] = {"log.%p", "fuzzlog", "l%p%p.txt", "%p", "a%%p"};
        sb_puts(b, PICK(L));
        break;
    }
    case 9:
        numrange(b, 0, 64);
        break;
    case 11:
        num(b, (uint64_t)1 << rndn(5));
        break;
    case 14:
        if (rndn(3) == 0)
            sb_puts(b, "0");
        else
            numrange(b, 1000, rndn(2) ? 100000 : 2147483647);
        break;
    case 16: {
        static const char *S[] = {"0", "SIGUSR1", "SIGUSR2", "USR1", "USR2"};
        if (rndn(2))
            sb_puts(b, PICK(S));
        else {
            uint64_t s;
            do
                s = 1 + rndn(64);
            while (s == 9 || s == 19 || s == 11 || s == 7);
            num(b, s);
        }
        break;
    }
    }
    blanks(b);
}

/* An invalid entry; *key gets the key the error line must name (or NULL
 * when the entry has no key, e.g. no '='). */
static void invalid_entry(struct sb *b, char *key, size_t keycap)
{
    int k = (int)rndn(NKEYS);
    key[0] = 0;
    switch (rndn(4)) {
    case 0: { /* unknown key: made up, typo, wrong case */
        char name[64];
        switch (rndn(4)) {
        case 0:
            snprintf(name, sizeof name, "%s", KEYS[k]);
            name[rndn(strlen(name))] = 'Q'; /* keys are lowercase: never a real one */
            break;
        case 1:
            snprintf(name, sizeof name, "%s", KEYS[k]);
            for (char *c = name; *c; c++)
                if (*c >= 'a' && *c <= 'z')
                    *c -= 32;
            break;
        case 2:
            snprintf(name, sizeof name, "%s_x", KEYS[k]);
            break;
        default: {
            size_t n = 1 + rndn(12);
            for (size_t i = 0; i < n; i++)
                name[i] = (char)('a' + rndn(26));
            name[n] = 0;
        }
        }
        sb_printf(b, "%s=1", name);
        snprintf(key, keycap, "%s", name);
        return;
    }
    case 1: /* no '=' */
        sb_puts(b, KEYS[k]);
        if (rndn(2))
            sb_puts(b, "1");
        snprintf(key, keycap, "%s%s", KEYS[k], b->s[b->n - 1] == '1' ? "1" : "");
        return;
    default: { /* a bad value */
        static const char *GENERIC[] = {"",    "-1",  "abc", "0x",   "0xg", "1.5", "99999999999999999999999",
                                        "1e3", " 1 2", "TRUE", "on",  "=",   "0b1", "18446744073709551616"};
        static const char *PER[NKEYS][6] = {
            {"2", "10", "yes please"},
            {"none", "MPROTECT", "guard"},
            {"1048577", "0x100001"},
            {"16777217", "0x1000001"},
            {"256", "0x100", "nonE"},
            {"2"},
            {"ABORT", "exit1", "cont"},
            {"0", "256", "0x0"},
            {"", NULL},
            {"65", "0x41"},
            {"2", "5"},
            {"0", "3", "32", "64", "0x20"},
            {"2"},
            {"256", "none"},
            {"1", "999", "2147483648", "0x80000000"},
            {"-0"},
            {"9", "11", "19", "7", "65", "SIGKILL"},
        };
        sb_printf(b, "%s=", KEYS[k]);
        if (k == 8 && rndn(2)) { /* log_path of 256..600 bytes */
            size_t n = 256 + rndn(345);
            for (size_t i = 0; i < n; i++)
                sb_puts(b, "L");
        } else if (rndn(2) && PER[k][0]) {
            int n = 0;
            while (n < 6 && PER[k][n])
                n++;
            sb_puts(b, PER[k][rndn(n)]);
        } else {
            const char *v = PICK(GENERIC);
            if (k == 8 && *v) /* any non-empty short log_path is accepted */
                v = "";
            sb_puts(b, v);
        }
        snprintf(key, keycap, "%s", KEYS[k]);
        return;
    }
    }
}

static void separator(struct sb *b)
{
    static const char *S[] = {":", ":", ",", ", ", " : ", "::", ":,"};
    sb_puts(b, PICK(S));
}

/* ------------------------------------------------------------ mutation */
static void mutate(struct sb *b)
{
    int n = 1 + (int)rndn(6);
    for (int i = 0; i < n; i++) {
        unsigned char c;
        do
            c = (unsigned char)(1 + rndn(255));
        while (c == '/');
        size_t at = b->n ? rndn(b->n + 1) : 0;
        switch (rndn(3)) {
        case 0: /* insert */
            sb_add(b, "x", 1);
            memmove(b->s + at + 1, b->s + at, b->n - 1 - at);
            b->s[at] = (char)c;
            break;
        case 1: /* delete */
            if (at < b->n) {
                memmove(b->s + at, b->s + at + 1, b->n - at - 1);
                b->s[--b->n] = 0;
            }
            break;
        default: /* replace */
            if (at < b->n)
                b->s[at] = (char)c;
        }
    }
}

/* ------------------------------------------------------------ running */
struct outcome {
    int status; /* waitpid status, or -1 on timeout */
    char out[4096], err[16384];
    size_t nout, nerr;
};

static const char *lib, *target, *workdir;

static void run(const char *opts, struct outcome *o)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
        perror("pipe");
        exit(2);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        if (chdir(workdir) != 0)
            _exit(126);
        setenv("LD_PRELOAD", lib, 1);
        setenv("POOLDBG_OPTIONS", opts, 1);
        execl(target, target, (char *)NULL);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    o->nout = o->nerr = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int open_fds = 2, timed_out = 0;
    struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    while (open_fds) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = 20000 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (ms <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(pf, 2, (int)ms) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char *buf = i ? o->err : o->out;
            size_t cap = i ? sizeof o->err : sizeof o->out, *len = i ? &o->nerr : &o->nout;
            char tmp[4096];
            ssize_t r = read(pf[i].fd, tmp, sizeof tmp);
            if (r <= 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
                open_fds--;
                continue;
            }
            size_t room = cap - 1 - *len, k = (size_t)r < room ? (size_t)r : room;
            memcpy(buf + *len, tmp, k);
            *len += k;
        }
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    o->out[o->nout] = o->err[o->nerr] = 0;
    int st;
    waitpid(pid, &st, 0);
    o->status = timed_out ? -1 : st;
}

static long failures;
static void show(const char *opts)
{
    /* printable rendering of the options string, bounded */
    char r[400];
    size_t j = 0;
    for (size_t i = 0; opts[i] && j < sizeof r - 5; i++) {
        unsigned char c = (unsigned char)opts[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            r[j++] = (char)c;
        else
            j += snprintf(r + j, sizeof r - j, "\\x%02x", c);
    }
    r[j] = 0;
    printf("    POOLDBG_OPTIONS='%s'%s\n", r, strlen(opts) > 300 ? " (truncated)" : "");
}

enum expect { EXPECT_ANY, EXPECT_RUN, EXPECT_REFUSE };

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s LIB TARGET COUNT SEED WORKDIR\n", argv[0]);
        return 2;
    }
    lib = argv[1];
    target = argv[2];
    long count = atol(argv[3]);
    rng_state = strtoull(argv[4], NULL, 0);
    workdir = argv[5];
    setvbuf(stdout, NULL, _IOLBF, 0);
    long ran = 0, refused = 0, known_run = 0, known_refuse = 0, mutated = 0;
    static struct outcome o;
    for (long i = 0; i < count; i++) {
        struct sb b = {0};
        sb_add(&b, "", 0);
        enum expect want = EXPECT_RUN;
        char first_bad[400] = "";
        int entries = (int)rndn(7);
        int style = (int)rndn(10); /* 0..5 built, 6..7 mutated, 8 random bytes, 9 mixed/huge */
        for (int e = 0; e < entries; e++) {
            if (e)
                separator(&b);
            if (style >= 3 && style <= 5 && rndn(3) == 0) {
                char key[400];
                invalid_entry(&b, key, sizeof key);
                if (want != EXPECT_REFUSE) {
                    want = EXPECT_REFUSE;
                    snprintf(first_bad, sizeof first_bad, "%s", key);
                }
            } else {
                valid_entry(&b, (int)rndn(NKEYS));
            }
        }
        if (style == 6 || style == 7) {
            mutate(&b);
            want = EXPECT_ANY;
            mutated++;
        } else if (style == 8) {
            b.n = 0;
            size_t n = 1 + rndn(300);
            for (size_t k = 0; k < n; k++) {
                char c;
                do
                    c = (char)(1 + rndn(255));
                while (c == '/');
                sb_add(&b, &c, 1);
            }
            want = EXPECT_ANY;
            mutated++;
        } else if (style == 9 && rndn(4) == 0) {
            /* a 64 KiB string: valid entries, then maybe garbage */
            while (b.n < 65536) {
                separator(&b);
                valid_entry(&b, (int)rndn(NKEYS));
            }
            if (rndn(2)) {
                sb_puts(&b, ":zzz");
                want = EXPECT_REFUSE;
                snprintf(first_bad, sizeof first_bad, "zzz");
            }
        }
        /* a leading or trailing separator, or an empty string, are fine */
        if (style <= 2 && rndn(4) == 0)
            sb_puts(&b, ":");

        run(b.s, &o);
        int ok = 1;
        const char *why = "";
        int st = o.status;
        int is_run = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && strcmp(o.out, "optarget ok\n") == 0 &&
                     !strstr(o.err, "libpooldbg: ERROR");
        const char *pre = "libpooldbg: ERROR: POOLDBG_OPTIONS: ";
        char *nl = strchr(o.err, '\n');
        int is_refuse = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1 && o.nout == 0 &&
                        strncmp(o.err, pre, strlen(pre)) == 0 && nl && nl[1] == 0;
        if (st == -1) {
            ok = 0;
            why = "TIMEOUT (20 s)";
        } else if (WIFSIGNALED(st)) {
            ok = 0;
            why = "killed by a signal";
        } else if (!is_run && !is_refuse) {
            ok = 0;
            why = "neither ran normally nor refused with one error line";
        } else if (want == EXPECT_RUN && !is_run) {
            ok = 0;
            why = "valid options were refused";
        } else if (want == EXPECT_REFUSE && !is_refuse) {
            ok = 0;
            why = "invalid options were accepted";
        } else if (want == EXPECT_REFUSE) {
            /* the error names the first bad entry's key */
            char quoted[420];
            snprintf(quoted, sizeof quoted, "'%s'", first_bad);
            if (!strstr(o.err, quoted)) {
                ok = 0;
                why = "the error line does not name the first bad entry";
            }
        }
        if (is_run)
            ran++;
        if (is_refuse)
            refused++;
        if (want == EXPECT_RUN && ok)
            known_run++;
        if (want == EXPECT_REFUSE && ok)
            known_refuse++;
        if (!ok) {
            failures++;
            if (failures <= 20) {
                printf("optfuzz: FAIL #%ld: %s (status %s %d)\n", i, why,
                       st == -1 ? "timeout" : WIFSIGNALED(st) ? "signal" : "exit",
                       st == -1 ? 0 : WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                show(b.s);
                if (want == EXPECT_REFUSE)
                    printf("    first bad entry's key: '%s'\n", first_bad);
                printf("    stdout: %.200s\n    stderr: %.600s\n", o.out, o.err);
            }
        }
        free(b.s);
    }
    printf("optfuzz: %ld strings: ran=%ld refused=%ld (known-valid ok=%ld, known-invalid ok=%ld, mutated=%ld), "
           "failures=%ld\n",
           count, ran, refused, known_run, known_refuse, mutated, failures);
    return failures ? 1 : 0;
}
