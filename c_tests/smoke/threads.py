"""Smoke program: threaded CPython workload with deterministic output.

Four threads each build dicts, lists, sets, strings and JSON documents,
round-trip them through json, sort, and fold everything into a digest.
Results are collected per thread and printed in thread order, so the output
does not depend on scheduling.  Run it with and without PYTHONMALLOC=malloc
(the latter sends every Python object through the C malloc).

Usage: python3 threads.py [rounds]
"""
import hashlib
import json
import random
import sys
import threading
from collections import Counter, defaultdict

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
NTHREADS = 4

results = [None] * NTHREADS
shared = defaultdict(int)
shared_lock = threading.Lock()


def make_record(rng, i):
    return {
        "id": i,
        "name": "".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(3, 24))),
        "tags": [rng.choice(["red", "green", "blue", "cyan", "magenta"]) for _ in range(rng.randint(0, 6))],
        "score": rng.randint(0, 10**6) / 7.0,
        "nested": {"a": list(range(rng.randint(0, 12))), "b": {"c": str(i) * rng.randint(1, 5)}},
    }


def worker(tid):
    rng = random.Random(1000 + tid)
    digest = hashlib.sha256()
    exceptions = 0
    total_records = 0
    for rnd in range(ROUNDS):
        records = [make_record(rng, i) for i in range(400)]
        text = json.dumps(records, sort_keys=True)
        back = json.loads(text)
        assert back == records
        digest.update(text.encode())
        total_records += len(back)

        # Dict and list churn.
        index = {r["name"]: r for r in back}
        by_tag = defaultdict(list)
        for r in back:
            for t in r["tags"]:
                by_tag[t].append(r["id"])
        counts = Counter(t for r in back for t in r["tags"])
        ordered = sorted(index.items(), key=lambda kv: (len(kv[0]), kv[0]))
        digest.update(repr(ordered[:20]).encode())
        digest.update(repr(sorted(counts.items())).encode())
        digest.update(repr({k: sum(v) for k, v in sorted(by_tag.items())}).encode())

        # Strings, slices, sets.
        blob = "|".join(r["name"] for r in back)
        words = set(blob.split("|"))
        digest.update(("%d:%d" % (len(blob), len(words))).encode())
        big = [blob[i:i + 17] for i in range(0, len(blob), 5)]
        big.sort()
        digest.update(big[len(big) // 2].encode())

        # Exceptions.
        for r in back[:100]:
            try:
                if r["score"] > 70000:
                    raise ValueError("score too high: %r" % r["score"])
                int(r["name"])
            except ValueError as e:
                exceptions += 1
                digest.update(str(e)[:8].encode())

        with shared_lock:
            for t, c in counts.items():
                shared[t] += c
        del records, back, index, by_tag, big
    results[tid] = (digest.hexdigest(), exceptions, total_records)


def main():
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(NTHREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for tid, (hexd, exc, n) in enumerate(results):
        print("thread %d: records=%d exceptions=%d sha256=%s" % (tid, n, exc, hexd))
    print("shared:", json.dumps(dict(sorted(shared.items()))))


if __name__ == "__main__":
    main()
