// stress_tls_cxx — 10,000 short-lived threads whose C++ thread_local objects
// allocate while alive and allocate and free in their destructors at thread
// exit (after the C pthread_key destructors, in glibc's __call_tls_dtors).
// Each thread also frees, at exit, blocks another thread allocated. Exit 0
// when every thread's data checked out; contents are verified by pattern.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

static std::atomic<long> destroyed{0}, bad{0};

struct Holder {
    std::vector<std::string> names;
    std::unique_ptr<char[]> buf;
    size_t n = 0;
    ~Holder() {
        // Allocate and free during thread exit, then check what we held.
        std::string last = "bye-" + std::to_string(names.size());
        std::vector<int> tmp(100 + names.size(), 7);
        for (size_t i = 0; i < names.size(); i++)
            if (names[i] != "name-" + std::to_string(i))
                bad++;
        for (size_t i = 0; i < n; i++)
            if (buf[i] != (char)(i * 31))
                bad++;
        if (tmp.back() != 7 || last.empty())
            bad++;
        destroyed++;
    }
};

static thread_local Holder holder;
static thread_local std::string tl_string(300, 'x');

int main(int argc, char **argv) {
    int total = argc > 1 ? atoi(argv[1]) : 10000;
    int batch = 16;
    for (int done = 0; done < total; done += batch) {
        std::vector<std::thread> ts;
        for (int k = 0; k < batch; k++) {
            ts.emplace_back([k, done] {
                size_t names = 1 + (size_t)((done + k) % 40);
                for (size_t i = 0; i < names; i++)
                    holder.names.push_back("name-" + std::to_string(i));
                holder.n = 64 + (size_t)((done * 7 + k) % 5000);
                holder.buf.reset(new char[holder.n]);
                for (size_t i = 0; i < holder.n; i++)
                    holder.buf[i] = (char)(i * 31);
                tl_string += std::to_string(k);
            });
        }
        for (auto &t : ts)
            t.join();
        if ((done / batch) % 125 == 0)
            printf("stress_tls_cxx: %6d threads, %ld destructors run\n", done + batch, destroyed.load());
    }
    printf("stress_tls_cxx: %d threads, %ld thread_local destructors, %ld bad\n", total, destroyed.load(), bad.load());
    if (destroyed.load() < total || bad.load() != 0) {
        printf("stress_tls_cxx: FAILED\n");
        return 1;
    }
    printf("stress_tls_cxx: ok\n");
    return 0;
}
