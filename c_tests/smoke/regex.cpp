// Smoke program: std::regex (a heap of small nodes and states, built and
// freed per pattern) over generated log lines: search with groups, replace,
// iterate. Deterministic output.
#include <cstdio>
#include <map>
#include <regex>
#include <string>
#include <vector>

int main()
{
    std::vector<std::string> lines;
    unsigned s = 12345;
    const char *levels[] = {"INFO", "WARN", "ERROR", "DEBUG"};
    for (int i = 0; i < 3000; i++) {
        s = s * 1103515245u + 12345u;
        char buf[160];
        snprintf(buf, sizeof buf, "2024-01-%02u 12:%02u:%02u [%s] user%u@host%u.example.org took %u ms (id=%x)",
                 1 + s % 28, (s >> 8) % 60, (s >> 14) % 60, levels[(s >> 20) % 4], (s >> 3) % 97, (s >> 11) % 13,
                 (s >> 5) % 5000, s);
        lines.push_back(buf);
    }
    std::regex line_re(R"((\d{4})-(\d\d)-(\d\d) [\d:]+ \[(\w+)\] (\w+)@([\w.]+) took (\d+) ms)");
    std::regex email_re(R"(\w+@[\w.]+)");
    std::regex id_re(R"(id=([0-9a-f]+))", std::regex::icase);
    std::map<std::string, long> by_level;
    std::map<std::string, int> hosts;
    long total = 0;
    size_t replaced = 0;
    for (const auto &l : lines) {
        std::smatch m;
        if (std::regex_search(l, m, line_re)) {
            by_level[m[4]] += std::stol(m[7]);
            hosts[m[6]]++;
            total += std::stol(m[3]);
        }
        replaced += std::regex_replace(l, email_re, "<$&>").size();
        for (std::sregex_iterator it(l.begin(), l.end(), id_re), end; it != end; ++it)
            total += (long)(*it)[1].length();
    }
    for (const auto &kv : by_level)
        printf("%s %ld\n", kv.first.c_str(), kv.second);
    printf("hosts %zu, first %s=%d\n", hosts.size(), hosts.begin()->first.c_str(), hosts.begin()->second);
    printf("total %ld, replaced length %zu\n", total, replaced);
    return 0;
}
