// Smoke program: a multi-threaded C++ workload over the STL.
//
// Four std::threads each build vectors, maps, unordered_maps, strings and
// shared_ptr graphs, throw and catch exceptions, and fold everything into a
// checksum.  A shared std::map guarded by a std::mutex collects word counts
// from all threads.  The output depends only on the inputs (never on thread
// scheduling), so a native run and a preloaded run must print the same text.
//
// Build: g++ -O1 -pthread -o stl_threads stl_threads.cpp
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    unsigned below(unsigned n) { return static_cast<unsigned>(next() % n); }
};

struct Node {
    int id;
    std::string label;
    std::vector<std::shared_ptr<Node>> children;
    std::weak_ptr<Node> parent;
    Node(int i, std::string l) : id(i), label(std::move(l)) {}
};

class ParseError : public std::runtime_error {
  public:
    explicit ParseError(const std::string &what) : std::runtime_error(what) {}
};

int parse_int(const std::string &s) {
    if (s.empty()) throw ParseError("empty string");
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') throw ParseError("bad digit in '" + s + "'");
        v = v * 10 + (c - '0');
    }
    return v;
}

std::string make_word(Rng &r) {
    static const char *syll[] = {"ka", "lo", "mi", "ne", "su", "ta", "ri", "po"};
    std::string w;
    // Mostly short (SSO, no heap) words, one in eight long enough to allocate.
    unsigned n = 1 + r.below(3) + (r.below(8) == 0 ? 7 : 0);
    for (unsigned i = 0; i < n; i++) w += syll[r.below(8)];
    return w;
}

std::mutex g_mu;
std::map<std::string, long> g_words;  // guarded by g_mu

struct Result {
    uint64_t checksum = 0;
    long exceptions = 0;
    long tree_nodes = 0;
    size_t distinct = 0;
    std::string sample;
};

void mix(uint64_t &h, uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
}

void worker(int tid, Result *out) {
    Rng r(static_cast<uint64_t>(tid) + 1);
    Result res;

    for (int round = 0; round < 40; round++) {
        // Vectors of strings, sorted and deduplicated.
        std::vector<std::string> words;
        for (int i = 0; i < 500; i++) words.push_back(make_word(r));
        std::sort(words.begin(), words.end());
        words.erase(std::unique(words.begin(), words.end()), words.end());
        for (auto &w : words) mix(res.checksum, std::hash<std::string>{}(w));

        // unordered_map counting, then a std::map ordered view.
        std::unordered_map<std::string, int> counts;
        for (int i = 0; i < 2000; i++) counts[make_word(r)]++;
        std::map<std::string, int> ordered(counts.begin(), counts.end());
        for (auto &kv : ordered) {
            mix(res.checksum, std::hash<std::string>{}(kv.first));
            mix(res.checksum, static_cast<uint64_t>(kv.second));
        }
        res.distinct += ordered.size();

        // Merge into the shared map under the mutex.
        {
            std::lock_guard<std::mutex> lock(g_mu);
            for (auto &kv : ordered) g_words[kv.first] += kv.second;
        }

        // A shared_ptr tree with weak parent links.
        auto root = std::make_shared<Node>(0, "root");
        std::vector<std::shared_ptr<Node>> all{root};
        for (int i = 1; i < 300; i++) {
            auto parent = all[r.below(static_cast<unsigned>(all.size()))];
            auto n = std::make_shared<Node>(i, "n" + std::to_string(i));
            n->parent = parent;
            parent->children.push_back(n);
            all.push_back(n);
        }
        long depth_sum = 0;
        for (auto &n : all) {
            int d = 0;
            for (auto p = n->parent.lock(); p; p = p->parent.lock()) d++;
            depth_sum += d;
        }
        mix(res.checksum, static_cast<uint64_t>(depth_sum));
        res.tree_nodes += static_cast<long>(all.size());
        all.clear();
        root.reset();  // whole tree freed here

        // Exceptions thrown through a few frames and caught.
        for (int i = 0; i < 50; i++) {
            std::string s = std::to_string(r.below(100000));
            if (r.below(4) == 0) s += "x";
            if (r.below(10) == 0) s.clear();
            try {
                mix(res.checksum, static_cast<uint64_t>(parse_int(s)));
            } catch (const ParseError &e) {
                res.exceptions++;
                mix(res.checksum, std::string(e.what()).size());
            }
        }

        // Deques, lists, sets and a stringstream.
        std::deque<int> dq;
        std::list<std::string> lst;
        std::set<int> st;
        for (int i = 0; i < 300; i++) {
            dq.push_back(static_cast<int>(r.below(1000)));
            if (dq.size() > 100) dq.pop_front();
            lst.push_front(make_word(r));
            st.insert(static_cast<int>(r.below(5000)));
        }
        std::ostringstream os;
        for (int v : dq) os << v << ',';
        for (auto &s : lst) os << s;
        mix(res.checksum, std::hash<std::string>{}(os.str()));
        mix(res.checksum, st.size());
        if (round == 0) res.sample = os.str().substr(0, 24);
    }
    *out = std::move(res);
}

}  // namespace

int main() {
    const int nthreads = 4;
    std::vector<Result> results(nthreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < nthreads; t++) threads.emplace_back(worker, t, &results[t]);
    for (auto &t : threads) t.join();

    for (int t = 0; t < nthreads; t++) {
        const Result &r = results[t];
        std::printf("thread %d: checksum=%016llx exceptions=%ld nodes=%ld distinct=%zu sample=%s\n", t,
                    static_cast<unsigned long long>(r.checksum), r.exceptions, r.tree_nodes,
                    r.distinct, r.sample.c_str());
    }
    long total = 0;
    uint64_t h = 0;
    for (auto &kv : g_words) {
        total += kv.second;
        mix(h, std::hash<std::string>{}(kv.first));
        mix(h, static_cast<uint64_t>(kv.second));
    }
    std::printf("shared map: %zu words, %ld occurrences, hash=%016llx\n", g_words.size(), total,
                static_cast<unsigned long long>(h));
    auto top = std::max_element(g_words.begin(), g_words.end(),
                                [](const auto &a, const auto &b) { return a.second < b.second; });
    std::printf("most common: %s (%ld)\n", top->first.c_str(), top->second);
    return 0;
}
