#!/usr/bin/env bash
# bench_symbolizer.sh [REV] — what the wrapper's symbolizer costs on a large
# C++ program (issue 15, item 6).
#
# Builds $BUILD/symbench/big from scripts/gen_report_program.py (20 heap bugs
# behind 60-deep chains of distinct template functions, g++ -O2 -g, about
# 4 MB) and runs it under scripts/pooldbg with on_error=continue and
# stack_depth=64: 20 reports, about 3,000 frames, in two modules (the
# program and libc). Wall time, median of ROUNDS (default 5) runs, of:
#   - the wrapper with --no-symbolize (the floor);
#   - the wrapper with each lookup tool installed (POOLDBG_SYMBOLIZER=
#     llvm-symbolizer, addr2line);
#   - pooldbg-symbolize on the saved log, with each tool;
#   - the same two with the scripts of git revision REV, if given (the
#     "before": e.g. the commit before the long-lived lookup processes).
# Prints one line per case. No threshold: a measurement, not a test.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-5}
REV=${1:-}
W=$ROOT/$BUILD/symbench
LIB=${LIB:-target/release/libpooldbg.so}
[ -f "$LIB" ] || { echo "bench_symbolizer: $LIB not found (make lib)"; exit 2; }
export POOLDBG_LIB=$ROOT/$LIB
mkdir -p "$W"
python3 scripts/gen_report_program.py "$W/big.cpp.new" || exit 2
if ! cmp -s "$W/big.cpp.new" "$W/big.cpp" || [ ! -x "$W/big" ]; then
    mv "$W/big.cpp.new" "$W/big.cpp"
    echo "bench_symbolizer: g++ -O2 -g big.cpp (about 15 s)"
    g++ -O2 -g -o "$W/big" "$W/big.cpp" || exit 2
fi
rm -f "$W/big.cpp.new"
if [ -n "$REV" ]; then
    mkdir -p "$W/before"
    for f in pooldbg pooldbg-symbolize pooldbg_report.py; do
        git show "$REV:scripts/$f" >"$W/before/$f" || exit 2
        chmod +x "$W/before/$f"
    done
fi

# median of the wall seconds of ROUNDS runs of a command (stdout, stderr to files)
time_it() { # NAME COMMAND...
    local name=$1 i t0 ts=()
    shift
    for i in $(seq "$ROUNDS"); do
        t0=$EPOCHREALTIME
        (cd "$W" && "$@" >"$W/out.txt" 2>"$W/err.txt")
        ts+=("$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')")
    done
    printf '%-46s %6s s  (runs: %s)\n' "$name" "$(printf '%s\n' "${ts[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" "${ts[*]}"
}

(cd "$W" && "$ROOT/scripts/pooldbg" --no-symbolize --continue --stack-depth=64 -- ./big >/dev/null 2>"$W/raw.log")
echo "big: $(stat -c %s "$W/big") bytes; $(grep -c '^libpooldbg: ERROR' "$W/raw.log") reports, $(grep -c '^    #' "$W/raw.log") frames;" \
    "load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
time_it "wrapper --no-symbolize" "$ROOT/scripts/pooldbg" --no-symbolize --continue --stack-depth=64 -- ./big
for tool in llvm-symbolizer addr2line; do
    if ! command -v $tool >/dev/null && ! compgen -c $tool- | grep -qE "^$tool-[0-9]+\$"; then
        echo "$tool: not installed"
        continue
    fi
    export POOLDBG_SYMBOLIZER=$tool
    time_it "wrapper, $tool" "$ROOT/scripts/pooldbg" --continue --stack-depth=64 -- ./big
    time_it "pooldbg-symbolize raw.log, $tool" "$ROOT/scripts/pooldbg-symbolize" raw.log
    unset POOLDBG_SYMBOLIZER
done
if [ -n "$REV" ]; then
    # the older scripts know addr2line alone
    time_it "wrapper, scripts of $REV" "$W/before/pooldbg" --continue --stack-depth=64 -- ./big
    time_it "pooldbg-symbolize raw.log, scripts of $REV" "$W/before/pooldbg-symbolize" raw.log
fi
