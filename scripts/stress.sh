#!/usr/bin/env bash
# Stress soak for libpooldbg (make stress; not part of make test).
#
# Builds c_tests/stress/*.c and runs each program with
# LD_PRELOAD=<absolute path of $LIB>, once per mode:
#   stress_threads  64 threads x random sizes with malloc/calloc/realloc/
#                   posix_memalign/aligned_alloc/strdup, cross-thread frees,
#                   pattern checks, VMA/RSS sampled and bounded
#                   (STRESS_SECONDS, default 120)
#   stress_fork     1,000 forks while 8 threads allocate
#   stress_tls      10,000 short-lived threads with pthread_key destructors
#   stress_tls_cxx  10,000 threads with C++ thread_local objects that allocate
#                   and free in their destructors
#                   that malloc/free
#   stress_live     1,000,000 small blocks live at once (STRESS_LIVE), half
#                   freed and refilled, all grown by realloc, verified
# A run passes when it exits 0 within its timeout and its stderr holds no
# line starting with "libpooldbg:" other than a one-time "libpooldbg: NOTICE".
#
# Environment:
#   LIB, BUILD        as in the Makefile
#   STRESS_SECONDS    duration of stress_threads per mode (default 120)
#   STRESS_MODES      "default" and/or "mprotect" (default "default mprotect")
#   STRESS_ONLY       extended regex over program names
#   STRESS_NATIVE=1   also run each program without the library first
#   (the programs' own knobs, STRESS_THREADS, STRESS_FORKS, ..., pass through)
#
# Ends with "stress: N passed, M failed"; exit status nonzero on failure.
set -u
set -o pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
LIB=${LIB:-target/release/libpooldbg.so}
BUILD=${BUILD:-build}
export STRESS_SECONDS=${STRESS_SECONDS:-120}
STRESS_MODES=${STRESS_MODES:-"default mprotect"}
STRESS_ONLY=${STRESS_ONLY:-}
STRESS_NATIVE=${STRESS_NATIVE:-0}

case $LIB in
/*) LIBABS=$LIB ;;
*) LIBABS=$ROOT/$LIB ;;
esac
case $BUILD in
/*) W=$BUILD/stress ;;
*) W=$ROOT/$BUILD/stress ;;
esac

SUITE=stress
KILL_AFTER=10 # testlib.sh's run: SIGKILL 10 s after the timeout's SIGTERM
# shellcheck source=scripts/testlib.sh
. scripts/testlib.sh

scripts/deps.sh || exit 2
if [ ! -f "$LIBABS" ]; then
    echo "stress: $LIBABS not found (run 'make lib' first)" >&2
    exit 2
fi
unset POOLDBG_OPTIONS

rm -rf "$W"
mkdir -p "$W"
# The three soaks first, in this order, then any other c_tests/stress/*.c.
progs=()
for src in c_tests/stress/stress_threads.c c_tests/stress/stress_fork.c c_tests/stress/stress_tls.c \
    c_tests/stress/stress_live.c c_tests/stress/*.c; do
    name=$(basename "$src" .c)
    [[ " ${progs[*]} " == *" $name "* ]] && continue
    if ! gcc -O2 -g -Wall -pthread -o "$W/$name" "$src"; then
        echo "stress: failed to build $src" >&2
        exit 2
    fi
    progs+=("$name")
done
# C++ soaks (thread_local destructors): g++.
for src in c_tests/stress/*.cpp; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .cpp)
    if ! g++ -O2 -g -Wall -pthread -o "$W/$name" "$src"; then
        echo "stress: failed to build $src" >&2
        exit 2
    fi
    progs+=("$name")
done

timeout_for() {
    case $1 in
    stress_threads) echo $((STRESS_SECONDS + 300)) ;;
    *) echo 900 ;;
    esac
}

passed=0
failed=0
failures=()

run_one() { # run_one PROG TAG env-words...
    local prog=$1 tag=$2
    shift 2
    local out=$W/$prog.$tag.out err=$W/$prog.$tag.stderr
    local lim
    lim=$(timeout_for "$prog")
    echo "=== $prog [$tag] (timeout ${lim}s)"
    local t0=$EPOCHREALTIME
    # (the braces send bash's own "Aborted" / "Segmentation fault" notice to $err too)
    { run - "$lim" - "$@" -- "$W/$prog" > >(tee "$out"); } 2>"$err"
    local secs
    secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    local why=()
    [ $rc = 0 ] || why+=("exit status $rc$([ $rc -gt 128 ] && [ $rc != 124 ] && echo " (signal $((rc - 128)))")")
    [ $rc = 124 ] && why+=("timed out after ${lim}s")
    # A one-time "libpooldbg: NOTICE" is information, not a bug report.
    grep '^libpooldbg:' "$err" | grep -qv '^libpooldbg: NOTICE' && why+=("libpooldbg reported on stderr")
    grep -q 'cannot be preloaded' "$err" && why+=("ld.so could not preload the library")
    if [ ${#why[@]} = 0 ]; then
        printf '%-16s %-9s PASS  %7.1fs\n' "$prog" "$tag" "$secs"
        grep '^libpooldbg: NOTICE' "$err" | head -3 | cut -c1-220 | sed 's/^/    note: /'
        passed=$((passed + 1))
    else
        local w msg=""
        for w in "${why[@]}"; do msg+="${msg:+; }$w"; done
        printf '%-16s %-9s FAIL  %7.1fs  (%s)\n' "$prog" "$tag" "$secs" "$msg"
        echo "    --- stderr tail ($err):"
        tail -n 25 "$err" | cut -c1-300 | sed 's/^/    /'
        failed=$((failed + 1))
        failures+=("$prog/$tag")
    fi
}

echo "stress: library $LIBABS; modes: $STRESS_MODES; STRESS_SECONDS=$STRESS_SECONDS"
t_all0=$EPOCHREALTIME
for prog in "${progs[@]}"; do
    if [ -n "$STRESS_ONLY" ] && ! [[ $prog =~ $STRESS_ONLY ]]; then
        continue
    fi
    if [ "$STRESS_NATIVE" = 1 ]; then
        run_one "$prog" native
    fi
    for mode in $STRESS_MODES; do
        case $mode in
        default) run_one "$prog" default "LD_PRELOAD=$LIBABS" ;;
        mprotect) run_one "$prog" mprotect "LD_PRELOAD=$LIBABS" "POOLDBG_OPTIONS=guard=mprotect" ;;
        *)
            echo "stress: unknown mode '$mode'" >&2
            exit 2
            ;;
        esac
    done
done
echo "stress: total wall time $(awk -v a="$t_all0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')s; logs in $W"
if [ ${#failures[@]} -gt 0 ]; then
    echo "stress: failed: ${failures[*]}"
fi
echo "stress: $passed passed, $failed failed"
[ "$failed" = 0 ]
