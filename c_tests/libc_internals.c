/* libc_internals.c — glibc functions that allocate internally, under the
 * preload: their blocks are ours and they free them through us.
 *
 * Usage: libc_internals [CHECK...]    (no argument: all checks)
 * Each check prints "ok NAME", "skip NAME: why" or "FAIL NAME: why".
 * Exit 0 when nothing failed. Needs a writable $TMPDIR (default /tmp). */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <glob.h>
#include <netdb.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;
static const char *current;
static char tmpdir[4096];

#define FAIL(...)                                                              \
    do {                                                                       \
        printf("FAIL %s: ", current);                                          \
        printf(__VA_ARGS__);                                                   \
        printf("  [%s:%d]\n", __FILE__, __LINE__);                             \
        fflush(stdout);                                                        \
        failures++;                                                            \
        return;                                                                \
    } while (0)
#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            FAIL(__VA_ARGS__);                                                 \
    } while (0)

static void stdio_files(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/stdio.txt", tmpdir);
    for (int round = 0; round < 50; round++) {
        FILE *f = fopen(path, "w");
        CHECK(f, "fopen(w): %s", strerror(errno));
        if (round % 2)
            CHECK(setvbuf(f, NULL, _IOFBF, 1 << 16) == 0, "setvbuf failed");
        for (int i = 0; i < 1000; i++)
            fprintf(f, "line %d of round %d %s\n", i, round, "xxxxxxxxxxxxxxxx");
        CHECK(fclose(f) == 0, "fclose: %s", strerror(errno));
    }
    FILE *f = fopen(path, "r");
    CHECK(f, "fopen(r): %s", strerror(errno));
    static char buf[1 << 14];
    CHECK(setvbuf(f, buf, _IOFBF, sizeof buf) == 0, "setvbuf(user buffer)");
    int lines = 0;
    char line[256];
    while (fgets(line, sizeof line, f))
        lines++;
    fclose(f);
    CHECK(lines == 1000, "read back %d lines, want 1000", lines);
    unlink(path);
}

static void strdup_family(void) {
    for (int i = 0; i < 2000; i++) {
        char src[300];
        memset(src, 'a' + i % 26, sizeof src - 1);
        src[(size_t)i % (sizeof src - 1)] = 0;
        char *d = strdup(src);
        CHECK(d && strcmp(d, src) == 0, "strdup mismatch at %d", i);
        char *n = strndup(src, (size_t)i % 50);
        CHECK(n && strlen(n) <= (size_t)i % 50 && strncmp(n, src, strlen(n)) == 0,
              "strndup mismatch at %d", i);
        free(d);
        free(n);
    }
}

static void getline_read(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/getline.txt", tmpdir);
    FILE *f = fopen(path, "w");
    CHECK(f, "fopen: %s", strerror(errno));
    for (int i = 0; i < 200; i++) {
        for (int k = 0; k < i * 37; k++)
            fputc('a' + k % 26, f);
        fputc('\n', f);
    }
    fclose(f);
    f = fopen(path, "r");
    CHECK(f, "fopen(r): %s", strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int i = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        CHECK(n == i * 37 + 1, "line %d has %zd bytes, want %d", i, n,
              i * 37 + 1);
        i++;
    }
    free(line);
    fclose(f);
    unlink(path);
    CHECK(i == 200, "read %d lines", i);
}

static int call_vasprintf(char **out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(out, fmt, ap);
    va_end(ap);
    return r;
}

static void asprintf_family(void) {
    for (int i = 0; i < 1000; i++) {
        char *s = NULL;
        int n = asprintf(&s, "%d:%0*d", i, i % 3000, 7);
        CHECK(n > 0 && s && (int)strlen(s) == n, "asprintf #%d", i);
        free(s);
        n = call_vasprintf(&s, "%s-%x-%.*s", "vas", i, i, "...............");
        CHECK(n > 0 && s && (int)strlen(s) == n, "vasprintf #%d", i);
        free(s);
    }
    char *big = NULL;
    int n = asprintf(&big, "%*s", 200000, "x");
    CHECK(n == 200000 && big, "asprintf of 200000 chars");
    free(big);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void qsort_big(void) {
    /* glibc's qsort mallocs a temporary the size of the array (merge sort)
     * when it is large. */
    size_t n = 1 << 20;
    uint32_t *a = malloc(n * sizeof *a);
    CHECK(a, "malloc of the array failed");
    uint64_t r = 42;
    for (size_t i = 0; i < n; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        a[i] = (uint32_t)r;
    }
    qsort(a, n, sizeof *a, cmp_u32);
    for (size_t i = 1; i < n; i++)
        CHECK(a[i - 1] <= a[i], "not sorted at %zu", i);
    free(a);
}

static void regex(void) {
    for (int i = 0; i < 200; i++) {
        regex_t re;
        int rc = regcomp(&re, "^([a-z]+)-([0-9]{2,})(\\.[a-z]*)?$",
                         REG_EXTENDED);
        CHECK(rc == 0, "regcomp failed: %d", rc);
        regmatch_t m[4];
        CHECK(regexec(&re, "abc-1234.txt", 4, m, 0) == 0, "no match");
        CHECK(m[2].rm_so == 4 && m[2].rm_eo == 8, "wrong submatch");
        CHECK(regexec(&re, "ABC-1", 4, m, 0) == REG_NOMATCH, "false match");
        regfree(&re);
    }
    regex_t bad;
    CHECK(regcomp(&bad, "([", REG_EXTENDED) != 0, "bad regex compiled");
    char err[128];
    regerror(REG_EBRACK, &bad, err, sizeof err);
}

static void make_files(const char *dir, int n) {
    for (int i = 0; i < n; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/file%03d.dat", dir, i);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs("x", f);
            fclose(f);
        }
    }
}

static void remove_files(const char *dir, int n) {
    for (int i = 0; i < n; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/file%03d.dat", dir, i);
        unlink(path);
    }
}

static void glob_files(void) {
    make_files(tmpdir, 120);
    char pattern[4300];
    snprintf(pattern, sizeof pattern, "%s/file*.dat", tmpdir);
    for (int round = 0; round < 20; round++) {
        glob_t g;
        int rc = glob(pattern, 0, NULL, &g);
        CHECK(rc == 0, "glob returned %d", rc);
        CHECK(g.gl_pathc == 120, "glob found %zu files, want 120", g.gl_pathc);
        globfree(&g);
    }
    remove_files(tmpdir, 120);
}

static int only_dat(const struct dirent *d) {
    return strstr(d->d_name, ".dat") != NULL;
}

static void scandir_files(void) {
    make_files(tmpdir, 80);
    for (int round = 0; round < 20; round++) {
        struct dirent **list;
        int n = scandir(tmpdir, &list, only_dat, alphasort);
        CHECK(n == 80, "scandir found %d, want 80", n);
        for (int i = 1; i < n; i++)
            CHECK(strcmp(list[i - 1]->d_name, list[i]->d_name) < 0,
                  "scandir not sorted");
        for (int i = 0; i < n; i++)
            free(list[i]);
        free(list);
    }
    DIR *d = opendir(tmpdir);
    CHECK(d, "opendir: %s", strerror(errno));
    while (readdir(d))
        ;
    closedir(d);
    remove_files(tmpdir, 80);
}

static void dlopen_libm(void) {
    for (int i = 0; i < 20; i++) {
        void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
        CHECK(h, "dlopen(libm.so.6): %s", dlerror());
        double (*cosine)(double) = (double (*)(double))dlsym(h, "cos");
        CHECK(cosine, "dlsym(cos): %s", dlerror());
        CHECK(cosine(0.0) == 1.0, "cos(0) != 1");
        CHECK(dlsym(h, "no_such_symbol_here") == NULL, "dlsym found junk");
        CHECK(dlerror() != NULL, "dlerror() empty after a failed dlsym");
        CHECK(dlclose(h) == 0, "dlclose: %s", dlerror());
    }
    void *h = dlopen("libdoesnotexist.so.42", RTLD_NOW);
    CHECK(h == NULL, "dlopen of a missing library succeeded");
    CHECK(dlerror() != NULL, "no dlerror for a missing library");
}

static void getaddrinfo_localhost(void) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo("localhost", "80", &hints, &res);
    if (rc != 0) {
        printf("skip %s: getaddrinfo: %s\n", current, gai_strerror(rc));
        return;
    }
    int n = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next)
        n++;
    freeaddrinfo(res);
    CHECK(n > 0, "no addresses");
}

static void memstream(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f, "open_memstream failed");
    for (int i = 0; i < 20000; i++)
        fprintf(f, "%05d,", i);
    CHECK(fclose(f) == 0, "fclose(memstream)");
    CHECK(len == 20000 * 6, "memstream length %zu", len);
    CHECK(strncmp(buf, "00000,00001,", 12) == 0, "memstream contents");
    free(buf);

    f = fmemopen(NULL, 1000, "w+");
    CHECK(f, "fmemopen failed");
    fputs("hello", f);
    fclose(f);
}

static void misc(void) {
    /* Environment, time zone and locale code paths that allocate. */
    for (int i = 0; i < 200; i++) {
        char name[32], val[64];
        snprintf(name, sizeof name, "POOLDBG_TEST_VAR_%d", i);
        snprintf(val, sizeof val, "value-%d", i);
        CHECK(setenv(name, val, 1) == 0, "setenv");
    }
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "POOLDBG_TEST_VAR_%d", i);
        CHECK(unsetenv(name) == 0, "unsetenv");
    }
    char *rp = realpath(".", NULL);
    CHECK(rp, "realpath: %s", strerror(errno));
    free(rp);
    char *cwd = getcwd(NULL, 0);
    CHECK(cwd, "getcwd(NULL, 0): %s", strerror(errno));
    free(cwd);
    char *e = strerror(EINVAL);
    CHECK(e && *e, "strerror");
}

struct check {
    const char *name;
    void (*fn)(void);
};
static const struct check checks[] = {
    {"stdio", stdio_files},
    {"strdup", strdup_family},
    {"getline", getline_read},
    {"asprintf", asprintf_family},
    {"qsort", qsort_big},
    {"regex", regex},
    {"glob", glob_files},
    {"scandir", scandir_files},
    {"dlopen", dlopen_libm},
    {"getaddrinfo", getaddrinfo_localhost},
    {"memstream", memstream},
    {"misc", misc},
};

int main(int argc, char **argv) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/pooldbg-libc-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("FAIL: mkdtemp(%s): %s\n", tmpdir, strerror(errno));
        return 1;
    }
    int ran = 0;
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            if (!strcmp(argv[a], checks[i].name))
                wanted = 1;
        if (!wanted)
            continue;
        current = checks[i].name;
        int before = failures;
        checks[i].fn();
        if (failures == before)
            printf("ok %s\n", current);
        fflush(stdout);
        ran++;
    }
    rmdir(tmpdir);
    printf("libc_internals: %d checks, %d failed\n", ran, failures);
    return failures || !ran ? 1 : 0;
}
