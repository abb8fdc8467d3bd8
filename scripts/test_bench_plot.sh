#!/usr/bin/env bash
# Tests of the benchmark plots (scripts/bench_plot.sh, scripts/bench_plot.py)
# on a small fixed sample of raw results, scripts/testdata/bench/ (the format
# scripts/bench.sh writes): churn of guard, pool, uffd (2 rounds), efence
# (failed at T=8), glibc and valgrind at T=1, 2, 8, every cell of guard and
# pool over 3 rounds that straddle the median; cross-thread churn of guard
# and pool at T=2, 8; lock and cost rows (not plotted); real programs sort
# (every mode), gcc (no valgrind run) and perl (sample=1000 failed).
# Checks that valid SVG comes out with exactly the expected series, bars and
# labels, that a rerun gives the same bytes, and that the Markdown section
# links the files and is replaced, not repeated. Installs matplotlib
# (python3-matplotlib) when missing, as bench_plot.sh does.
# Ends with "bench-plot: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
DATA=$ROOT/scripts/testdata/bench
T=$(mktemp -d "${TMPDIR:-/tmp}/pooldbg-plot-test.XXXXXX")
trap 'rm -rf "$T"' EXIT

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL - $1"
    if [ $# -gt 1 ] && [ -n "$2" ]; then printf '%s\n' "$2" | sed -n '1,30s/^/       | /p'; fi
}
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name" "${OUT:-}"; fi
}
has() { grep -qE -- "$1" <<<"$OUT"; }
hasnt() { ! grep -qE -- "$1" <<<"$OUT"; }
hasall() {
    local p
    for p; do has "$p" || return 1; done
}

printf '# benchmarks\n\nText before the tables.\n\n## Churn\n\n| a | b |\n|--:|--:|\n| 1 | 2 |\n' >"$T/BENCH.md"
cp "$T/BENCH.md" "$T/BENCH.orig"
OUT=$(scripts/bench_plot.sh "$DATA" "$T/out" "$T/BENCH.md" 2>&1)
rc=$?
check "bench_plot.sh draws the sample (exit 0)" test $rc -eq 0
for f in churn churn_cross real; do
    check "$f.svg written" test -s "$T/out/$f.svg"
done

# What each SVG holds, read as XML: its root, the ids of the series and bars
# (bench_plot.py names them), every text, and the points of each line.
svg_facts() { # FILE
    python3 - "$1" <<'EOF'
import re, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print("root", root.tag)
for el in root.iter():
    i = el.get("id", "")
    if i.startswith("series-"):
        path = next(p for p in el.iter() if p.tag.endswith("path"))
        pts = re.findall(r"[ML] ([-0-9.]+) ([-0-9.]+)", path.get("d"))
        print(i, len(pts), " ".join(y for _x, y in pts))
    elif i.startswith("bar-"):
        print(i)
for el in root.iter():
    if el.tag.endswith("text") and (el.text or "").strip():
        print("text", el.text.strip())
EOF
}
for f in churn churn_cross real; do
    OUT=$(svg_facts "$T/out/$f.svg" 2>&1)
    check "$f.svg parses as XML with an <svg> root" has '^root \{http://www\.w3\.org/2000/svg\}svg$'
    printf '%s\n' "$OUT" >"$T/$f.facts"
done
ids() { grep -oE '^(series|bar)-[^ ]+' "$T/$1.facts" | sort | tr '\n' ' '; }
OUT=$(ids churn)
check "churn.svg: one line per configuration in the sample, and no other" \
    test "$OUT" = "series-efence series-glibc series-guard series-pool series-uffd series-valgrind "
OUT=$(cat "$T/churn.facts")
check "churn.svg: a failed cell is a gap (efence: 2 points), complete ones have 3" \
    test "$(awk '$1 == "series-efence" { print $2 }' <<<"$OUT")" = 2 -a "$(awk '$1 == "series-pool" { print $2 }' <<<"$OUT")" = 3
# Medians: pool 200k/60k/140k, guard 100k/30k/70k: pool is above guard at
# every thread count (SVG y grows downwards), glibc above everything.
above() { # SERIES-A SERIES-B: every point of A higher than B's
    awk -v a="$1" -v b="$2" '$1 == a { for (i = 3; i <= NF; i++) ya[i] = $i; na = NF } $1 == b { for (i = 3; i <= NF; i++) yb[i] = $i; nb = NF }
        END { if (na < 3 || na != nb) exit 1; for (i in ya) if (ya[i] + 0 >= yb[i] + 0) exit 1; exit 0 }' "$T/churn.facts"
}
check "churn.svg: points at the medians (pool above guard, glibc above pool at every T)" \
    eval 'above series-pool series-guard && above series-glibc series-pool'
check "churn.svg: legend names each configuration as the tables do" hasall \
    '^text guard floor \(mmap\+mprotect\+touch\+munmap\)$' '^text libpooldbg default$' \
    '^text libpooldbg guard=uffd \(userfaultfd\)$' '^text Electric Fence$' '^text glibc malloc$' '^text valgrind memcheck$' \
    '^text threads$' '^text 1$' '^text 2$' '^text 8$'
check "churn.svg: no configuration the sample lacks (DUMA, mprotect)" hasnt '^text (DUMA|libpooldbg guard=mprotect)$'
OUT=$(ids churn_cross)
check "churn_cross.svg: guard and pool only" test "$OUT" = "series-guard series-pool "
OUT=$(ids real)
check "real.svg: one bar per program and configuration measured, none for runs missing or failed" \
    test "$OUT" = "bar-pool-gcc bar-pool-perl bar-pool-sort bar-sample-gcc bar-sample-sort bar-valgrind-perl bar-valgrind-sort "
OUT=$(cat "$T/real.facts")
check "real.svg: programs, configurations and slowdowns labelled" hasall \
    '^text sort$' '^text gcc$' '^text perl$' '^text libpooldbg$' '^text libpooldbg sample=1000$' '^text valgrind memcheck$' \
    '^text 1\.20x$' '^text 5\.00x$' '^text 10\.0x$' '^text 30\.0x$'

# Deterministic: the same data gives the same bytes.
scripts/bench_plot.sh "$DATA" "$T/again" "" >/dev/null 2>&1
same=1
for f in churn churn_cross real; do cmp -s "$T/out/$f.svg" "$T/again/$f.svg" || same=0; done
OUT=$(diff "$T/out/real.svg" "$T/again/real.svg" | head -20)
check "a rerun on the same data writes identical SVG files" test $same -eq 1

# The Markdown section: before the first "## ", links that resolve, once.
OUT=$(cat "$T/BENCH.md")
check "the plots section goes before the first heading and links the three files" hasall \
    '^<!-- plots: written by scripts/bench_plot.py' '^## Plots$' '^!\[[^]]*\]\(out/churn\.svg\)$' \
    '^!\[[^]]*\]\(out/churn_cross\.svg\)$' '^!\[[^]]*\]\(out/real\.svg\)$' '^<!-- end of plots -->$'
check "... and leaves the rest of the file as it was" \
    test "$(sed '/^<!-- plots:/,/^<!-- end of plots -->$/d' "$T/BENCH.md" | cat -s)" = "$(cat -s "$T/BENCH.orig")"
check "... before the tables" test "$(grep -n '^## ' "$T/BENCH.md" | head -2 | cut -d: -f2 | tr '\n' '|')" = "## Plots|## Churn|"
cp "$T/BENCH.md" "$T/BENCH.once"
scripts/bench_plot.sh "$DATA" "$T/out" "$T/BENCH.md" >/dev/null 2>&1
OUT=$(diff "$T/BENCH.once" "$T/BENCH.md")
check "a second run replaces the section instead of adding one" test -z "$OUT"

OUT=$(scripts/bench_plot.sh "$T/nothing-here" "$T/x" "" 2>&1)
rc=$?
check "no raw results: one line, exit 2" test $rc -eq 2 -a "$(wc -l <<<"$OUT")" -eq 1

echo "bench-plot: $pass passed, $fail failed"
[ $fail -eq 0 ]
