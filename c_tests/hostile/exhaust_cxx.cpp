// exhaust_cxx — operator new past RLIMIT_AS and for impossible sizes.
//
//   exhaust_cxx MIB   set RLIMIT_AS (soft) to MIB MiB after start-up; then
//                     new char[1 MiB] until std::bad_alloc (must come, before
//                     4 x MIB blocks); new(std::nothrow) returns nullptr;
//                     new of a huge array (1<<47) throws bad_alloc even with
//                     the limit lifted; after freeing half, new succeeds
//                     again; aligned new (align_val_t 4096) throws too.
// Prints what happened; exit 0 iff all of that held.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/resource.h>
#include <vector>

static int failures;
#define CHECK(c, ...)                                                                                                  \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            failures++;                                                                                                \
            std::printf("exhaust_cxx: FAIL (line %d): ", __LINE__);                                                    \
            std::printf(__VA_ARGS__);                                                                                  \
            std::printf("\n");                                                                                         \
        }                                                                                                              \
    } while (0)

struct alignas(4096) Page {
    unsigned char b[4096];
};

static volatile size_t HUGE_N = size_t(1) << 47;

int main(int argc, char **argv)
{
    long mib = argc > 1 ? std::atol(argv[1]) : 256;
    std::setvbuf(stdout, nullptr, _IONBF, 0);
    static char *blocks[100000];
    long n = 0;
    // reserve the bookkeeping before the limit
    struct rlimit old, rl;
    getrlimit(RLIMIT_AS, &old);
    rl = old;
    rl.rlim_cur = rlim_t(mib) << 20;
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit: %s", std::strerror(errno));

    bool threw = false;
    try {
        while (n < 4 * mib) {
            char *p = new char[1 << 20];
            std::memset(p, int(n), 1 << 20);
            blocks[n++] = p;
        }
    } catch (const std::bad_alloc &e) {
        threw = true;
    }
    CHECK(threw, "new char[1 MiB] never threw under a %ld MiB RLIMIT_AS (%ld blocks)", mib, n);
    std::printf("exhaust_cxx: %ld x new char[1 MiB] before std::bad_alloc\n", n);

    char *nt = new (std::nothrow) char[1 << 20];
    CHECK(nt == nullptr, "new(nothrow) past the limit returned %p", (void *)nt);
    delete[] nt;

    threw = false;
    try {
        Page *pg = new Page[256];
        delete[] pg;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw, "aligned new Page[256] (1 MiB, align 4096) past the limit did not throw");

    // keeps running: free half, allocate again
    long freed = 0;
    for (long i = 0; i < n; i += 2) {
        CHECK(blocks[i][12345] == char(i), "block %ld damaged", i);
        delete[] blocks[i];
        blocks[i] = nullptr;
        freed++;
    }
    long again = 0;
    try {
        for (long i = 0; i < n; i += 2) {
            blocks[i] = new char[1 << 20];
            blocks[i][0] = 1;
            again++;
        }
    } catch (const std::bad_alloc &) {
    }
    CHECK(again > 0 && again >= freed / 2, "after freeing %ld MiB only %ld MiB could be new'ed again", freed, again);
    std::printf("exhaust_cxx: freed %ld, new'ed %ld again\n", freed, again);

    CHECK(setrlimit(RLIMIT_AS, &old) == 0, "restoring the limit");
    threw = false;
    try {
        char *h = new char[HUGE_N];
        delete[] h;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw, "new char[1<<47] did not throw");
    threw = false;
    try {
        Page *h = new Page[HUGE_N / 4096];
        delete[] h;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw, "aligned new Page[1<<35] did not throw");
    for (long i = 0; i < n; i++)
        delete[] blocks[i];
    std::vector<std::vector<int>> v;
    for (int i = 0; i < 2000; i++)
        v.emplace_back(size_t(i % 300 + 1), i);
    for (int i = 0; i < 2000; i++)
        CHECK(v[i].back() == i, "vector %d damaged", i);
    std::printf("exhaust_cxx: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
