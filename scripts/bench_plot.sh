#!/usr/bin/env bash
# bench_plot.sh [BENCHDIR [OUTDIR [MD]]] — the plotting step of make bench,
# on its own: scripts/bench_plot.py draws the SVG plots from a bench run's
# raw results (BENCHDIR/results.tsv, meta.txt) into OUTDIR and, when MD is
# not empty, links them from MD's "Plots" section.
#
# Defaults: docs/bench docs/bench BENCHMARKS.md (the raw results bench.sh
# keeps in the tree, the plots committed beside them). Needs matplotlib:
# installs python3-matplotlib with apt-get when no Python here has it, and
# runs the plotter with a Python that has it (Debian's packages serve
# /usr/bin/python3, which may not be the python3 first on PATH).
set -u
cd "$(dirname "$0")/.." || exit 2
BENCHDIR=${1:-docs/bench}
OUTDIR=${2:-$BENCHDIR}
MD=${3-BENCHMARKS.md}

plot_python() {
    local py
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null && "$py" -c 'import matplotlib' 2>/dev/null; then
            command -v "$py"
            return 0
        fi
    done
    return 1
}
PY=$(plot_python)
if [ -z "$PY" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "bench_plot: installing python3-matplotlib" >&2
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            python3-matplotlib; } >/dev/null 2>&1 || echo "bench_plot: apt-get install python3-matplotlib failed" >&2
        PY=$(plot_python)
    fi
    [ -n "$PY" ] || {
        echo "bench_plot: matplotlib not found and not installable (apt-get install python3-matplotlib)" >&2
        exit 3
    }
fi
exec "$PY" scripts/bench_plot.py "$BENCHDIR" --out "$OUTDIR" ${MD:+--md "$MD"}
