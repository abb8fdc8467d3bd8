#!/usr/bin/env python3
"""bench_md_to_results.py BENCHMARKS.md OUTDIR

Reads the medians back out of the tables of a BENCHMARKS.md written by
scripts/bench_table.py and writes them in bench.sh's raw-results format
(OUTDIR/results.tsv, OUTDIR/meta.txt), one row per cell, round "median":
for a run whose raw results were not kept, so that scripts/bench_plot.py
can draw it.  Only what the plots use is read back: the churn and
cross-thread tables (ops/s, peak RSS) and the real programs' CPU times.
meta.txt says where the numbers came from (plots_from).
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_table as bt  # noqa: E402

CFG_OF = {label: cfg for cfg, label in bt.LABEL.items()}
REAL_COLUMNS = {"native": "native", "libpooldbg": "pool", "sample=1000": "sample", "valgrind": "valgrind"}


def tables(text):
    """{section heading: [header cells, row cells...]} for each pipe table."""
    out = {}
    heading = None
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
        elif line.startswith("|") and heading is not None:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(re.match(r"^:?-+:?$", c) for c in cells):
                continue
            out.setdefault(heading, []).append(cells)
    return out


def number(s):
    s = s.replace(",", "").strip()
    m = re.match(r"^([0-9.]+)( s| MB)?$", s)
    return float(m.group(1)) if m else None


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    md, out = argv[1], argv[2]
    text = open(md).read()
    rows = []
    for heading, table in tables(text).items():
        head = table[0]
        if heading.startswith("Churn: operations/s") or heading.startswith("Churn with cross-thread frees"):
            kind = "churn" if heading.startswith("Churn: ") else "cross"
            ci, ti, oi, ri = head.index("configuration"), head.index("T"), head.index("ops/s"), head.index("peak RSS")
            for r in table[1:]:
                cfg = CFG_OF.get(r[ci])
                ops = number(r[oi])
                if cfg is None:
                    continue
                rss = number(r[ri])
                rows.append([kind, cfg, r[ti], "median", "ok" if ops is not None else "failed", "" if ops is None else repr(ops),
                             "" if rss is None else repr(rss * 1024), "", ""])
        elif heading.startswith("Real programs"):
            for r in table[1:]:
                for i, h in enumerate(head):
                    mode = REAL_COLUMNS.get(h)
                    if mode is None:
                        continue
                    v = number(r[i])
                    rows.append(["real", mode, r[0], "median", "ok" if v is not None else "failed",
                                 "" if v is None else repr(v), "", "", ""])
    meta = {}
    for key, pat in (("date", r"^Date: (.*?)\s*$"), ("command", r"^Command: `(.*?)`"), ("runtime", r"\(runtime (\d+) s\)"),
                     ("git", r"^Source: `(.*?)`"), ("nproc", r"nproc=(\d+)"), ("kernel", r"kernel ([^,]+),"),
                     ("cpu", r", CPU ([^,]+),"), ("load_start", r"^Load average at start / end: (.*?) /"),
                     ("load_end", r"^Load average at start / end: .*? / (.*?)\s*$")):
        m = re.search(pat, text, re.M)
        if m:
            meta[key] = m.group(1)
    meta["plots_from"] = ("the medians of the tables below, read back into `%s` by "
                          "`scripts/bench_md_to_results.py` (the raw results of this run were not kept; CPU times "
                          "are rounded to the millisecond there, so a slowdown may differ from the table's in its "
                          "last digit)" % os.path.join(os.path.relpath(out, os.path.dirname(os.path.abspath(md))),
                                                      "results.tsv"))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "results.tsv"), "w") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")
    with open(os.path.join(out, "meta.txt"), "w") as f:
        for k in sorted(meta):
            f.write("%s=%s\n" % (k, meta[k]))
    print("bench_md_to_results: %d cells from %s into %s" % (len(rows), md, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
