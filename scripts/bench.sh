#!/usr/bin/env bash
# make bench — libpooldbg against the guard-page floor and its peers.
#
# Runs, interleaved in rounds (every configuration once per round, the order
# rotated each round; medians over the rounds, because the machine is shared
# and noisy):
#   1. churn (c_tests/bench/churn.c) at T = 1, 2, 8 threads, each thread
#      keeping BENCH_LIVE blocks and replacing a random one per op (16..4096
#      B, first and last byte written), for BENCH_SECS seconds per run, under:
#      guard floor (c_tests/bench/guardfloor.c: mmap + mprotect guard + touch
#      + munmap per object, no allocator), libpooldbg default (guard=auto),
#      libpooldbg with each guard mechanism forced (uffd, marker, mprotect),
#      libpooldbg
#      ablation (ABLATIONLIB: the pool lock held across prefault and header
#      writes), libpooldbg stack_depth=0, libpooldbg serialize=0 (no page-table
#      turns), Electric Fence, DUMA, glibc
#      malloc-debug (MALLOC_CHECK_=3), plain glibc, valgrind memcheck;
#      plus cross-thread-free runs (-x) of a few of them at T = 2, 8, and a
#      3x longer libpooldbg run at T = 2 (is peak RSS flat over run length?);
#   2. churn at 8 threads under LOCKLIB (lockstat build), parsing its
#      "libpooldbg: lockstat: ..." line: share of thread time spent waiting
#      for the pool lock, longest wait;
#   3. real programs, CPU time (user+sys, c_tests/bench/cputime.c) natively,
#      under libpooldbg (and sample=1000 if the library accepts it) and under
#      valgrind (by default in the first round only: it is slow and its
#      slowdown is large enough that noise does not matter).
# Then prints the table (scripts/bench_table.py) and writes it to BENCHMARKS.md,
# keeps the raw results in docs/bench/ and draws the plots there
# (scripts/bench_plot.sh, which can also be run alone on kept results).
#
# No timing threshold fails the run.  Exit status: 0 if everything ran (even
# if some configuration "failed" inside the benchmark, e.g. Electric Fence
# running out of mappings — that is a result and is reported); 2 if the bench
# could not run at all (library missing, programs do not build, no python3);
# 3 if a peer could not be installed (the table is printed without it).
#
# Environment (Makefile sets the first four):
#   LIB, LOCKLIB, ABLATIONLIB  the three builds of libpooldbg
#   BUILD          scratch directory (default build); we use $BUILD/bench
#   BENCH_SECS     timed seconds per churn run (default 1.0)
#   BENCH_ROUNDS   rounds (default 3)
#   BENCH_LIVE     live blocks per thread (default 256; Electric Fence needs
#                  two mappings per block, keep T*LIVE well below 32k)
#   BENCH_VG_ROUNDS  rounds that include valgrind on real programs (default 1)
#   BENCH_REAL     space-separated real programs to run (default: all of
#                  sort python python_malloc stl_threads gcc sqlite perl xz)
#   BENCH_MD       where to write the table (default BENCHMARKS.md; "" = nowhere)
#   BENCH_PLOTS    where the raw results (results.tsv, meta.txt) are kept and
#                  the plots drawn from them (scripts/bench_plot.sh: SVG,
#                  linked from BENCH_MD), when BENCH_MD is set (default
#                  docs/bench; "" = no plots)
set -u
set -o pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
START_EPOCH=$EPOCHREALTIME
LIB=${LIB:-target/release/libpooldbg.so}
# Lock figures come from the time-only lockstat build (fault counting would
# lengthen every hold about tenfold).
LOCKLIB=${LOCKTIMELIB:-target/lockstat-time/release/libpooldbg.so}
ABLATIONLIB=${ABLATIONLIB:-target/ablation/release/libpooldbg.so}
BUILD=${BUILD:-build}
BENCH_SECS=${BENCH_SECS:-1.0}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_LIVE=${BENCH_LIVE:-256}
BENCH_VG_ROUNDS=${BENCH_VG_ROUNDS:-1}
BENCH_REAL=${BENCH_REAL-sort python python_malloc stl_threads gcc sqlite perl xz}
BENCH_MD=${BENCH_MD-BENCHMARKS.md}
BENCH_PLOTS=${BENCH_PLOTS-docs/bench}
THREADS=(1 2 8)

abspath() { case $1 in /*) echo "$1" ;; *) echo "$ROOT/$1" ;; esac; }
LIBABS=$(abspath "$LIB")
LOCKABS=$(abspath "$LOCKLIB")
ABLABS=$(abspath "$ABLATIONLIB")
W=$(abspath "$BUILD")/bench

say() { echo "bench: $*" >&2; }
die() {
    say "$*"
    exit 2
}

for f in "$LIBABS" "$LOCKABS" "$ABLABS"; do
    [ -f "$f" ] || die "$f not found (run 'make lib lockstat ablation', or 'make bench')"
done

# --------------------------------------------------------------------------
# Peers: install with apt-get only if missing (dpkg -s first, so reruns are
# offline).  The preload libraries are found from the packages' file lists.

peer_missing=0
need=()
for p in electric-fence duma valgrind python3 gcc strace; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq || say "apt-get update failed (offline?)"
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
            say "apt-get install ${need[*]} failed"
    else
        say "missing packages ${need[*]} and cannot install them (not root or no apt-get)"
    fi
fi
command -v python3 >/dev/null || die "python3 is needed for the table"
command -v cc >/dev/null || die "a C compiler (cc) is needed"

# The real programs of the smoke target need their tools (sqlite3, perl, xz ...).
if [ -x scripts/deps.sh ] && [ -n "$BENCH_REAL" ]; then
    scripts/deps.sh || say "scripts/deps.sh could not install every program; missing ones are skipped"
fi

# first .so of a package that resolves to a real file, preferring libNAME.so.N
find_so() { # PACKAGE STEM
    local f
    for f in $(dpkg -L "$1" 2>/dev/null | grep -E "/$2\\.so(\\.[0-9]+)*\$" | sort); do
        if [ -e "$f" ]; then
            echo "$f"
            return 0
        fi
    done
    return 1
}
EFLIB=$(find_so electric-fence libefence) || EFLIB=""
DUMALIB=$(find_so duma libduma) || DUMALIB=""
GLIBCDBG=""
for f in /lib/x86_64-linux-gnu/libc_malloc_debug.so.0 /usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0 \
    $(ldconfig -p 2>/dev/null | awk '/libc_malloc_debug\.so/ { print $NF }'); do
    if [ -e "$f" ]; then
        GLIBCDBG=$f
        break
    fi
done
VALGRIND=$(command -v valgrind || true)
[ -n "$EFLIB" ] || { say "Electric Fence library not found (package electric-fence)"; peer_missing=1; }
[ -n "$DUMALIB" ] || { say "DUMA library not found (package duma)"; peer_missing=1; }
[ -n "$GLIBCDBG" ] || { say "glibc libc_malloc_debug.so.0 not found"; peer_missing=1; }
[ -n "$VALGRIND" ] || { say "valgrind not found (package valgrind)"; peer_missing=1; }

# --------------------------------------------------------------------------
# Build the programs.

rm -rf "$W"
mkdir -p "$W/bin" "$W/logs" "$W/in" "$W/tmp"
for p in churn guardfloor cputime; do
    cc -O2 -pthread -Wall -o "$W/bin/$p" "c_tests/bench/$p.c" || die "cannot build c_tests/bench/$p.c"
done
# The allocation-heavy multi-threaded C++ program (strings, maps, shared_ptr).
if command -v g++ >/dev/null; then
    g++ -O2 -pthread -o "$W/bin/stl_threads" c_tests/smoke/stl_threads.cpp || say "cannot build stl_threads"
fi
CHURN=$W/bin/churn
GUARD=$W/bin/guardfloor
CT=$W/bin/cputime
RES=$W/results.tsv
PROBLEMS=$W/problems.txt
: >"$RES"
: >"$PROBLEMS"

# Does this libpooldbg know sample=N (the sampling mode)?  Only then do the
# real programs get a sample=1000 column.
SAMPLE_OK=0
if env LD_PRELOAD="$LIBABS" POOLDBG_OPTIONS=sample=1000 /bin/true 2>"$W/logs/sample_probe.err" &&
    ! [ -s "$W/logs/sample_probe.err" ]; then
    SAMPLE_OK=1
fi

# --------------------------------------------------------------------------
# Churn configurations: NAME -> environment words for `env` (or a wrapper).

# pool is the default (guard=auto); uffd, marker and mprotect force each way
# of trapping pages (heap/guard/), where this kernel offers it.
CONFIGS=(guard pool uffd marker mprotect ablation depth0 concurrent efence duma glibcdbg glibc valgrind)
cfg_cmd() { # CONFIG -> sets RUN (array): the command prefix; PROG: the program
    PROG=$CHURN
    case $1 in
    guard) RUN=(env) PROG=$GUARD ;;
    pool) RUN=(env "LD_PRELOAD=$LIBABS") ;;
    uffd | marker | mprotect) RUN=(env "LD_PRELOAD=$LIBABS" "POOLDBG_OPTIONS=guard=$1") ;;
    ablation) RUN=(env "LD_PRELOAD=$ABLABS") ;;
    depth0) RUN=(env "LD_PRELOAD=$LIBABS" POOLDBG_OPTIONS=stack_depth=0) ;;
    concurrent) RUN=(env "LD_PRELOAD=$LIBABS" POOLDBG_OPTIONS=serialize=0) ;;
    lockstat) RUN=(env "LD_PRELOAD=$LOCKABS") ;;
    efence) RUN=(env EF_ALLOW_MALLOC_0=1 "LD_PRELOAD=$EFLIB") ;;
    duma) RUN=(env DUMA_ALLOW_MALLOC_0=1 DUMA_DISABLE_BANNER=1 "LD_PRELOAD=$DUMALIB") ;;
    glibcdbg) RUN=(env MALLOC_CHECK_=3 "LD_PRELOAD=$GLIBCDBG") ;;
    glibc) RUN=(env) ;;
    valgrind) RUN=("$VALGRIND" -q --error-exitcode=0) ;;
    esac
}
cfg_available() {
    case $1 in
    efence) [ -n "$EFLIB" ] ;;
    duma) [ -n "$DUMALIB" ] ;;
    glibcdbg) [ -n "$GLIBCDBG" ] ;;
    valgrind) [ -n "$VALGRIND" ] ;;
    uffd | marker | mprotect) [[ " ${MECHANISMS[*]} " == *" $1 "* ]] ;;
    *) true ;;
    esac
}
is_pool() { case $1 in pool | uffd | marker | mprotect | ablation | depth0 | concurrent | lockstat) true ;; *) false ;; esac; }

# The guard mechanisms this kernel offers (a forced one that is missing stops
# the program at start).
MECHANISMS=()
for m in uffd marker mprotect; do
    if env LD_PRELOAD="$LIBABS" POOLDBG_OPTIONS="guard=$m" /bin/true 2>/dev/null; then
        MECHANISMS+=("$m")
    else
        say "guard=$m is not offered here: its rows are marked missing"
    fi
done

tsv() { # fields... -> one line of results.tsv (tabs inside fields become spaces)
    local IFS=$'\t' a=() x
    for x in "$@"; do a+=("${x//$'\t'/ }"); done
    echo "${a[*]}" >>"$RES"
}

# run_churn KIND CONFIG THREADS ROUND SECS [extra churn args]
#   KIND: churn | cross | rsslong | lock
run_churn() {
    local kind=$1 cfg=$2 t=$3 r=$4 secs=$5
    shift 5
    local tag=$kind.$cfg.t$t.r$r
    if ! cfg_available "$cfg"; then
        tsv "$kind" "$cfg" "$t" "$r" "missing" "" "" "not installed" ""
        return
    fi
    cfg_cmd "$cfg"
    local cmd=("${RUN[@]}" "$PROG" -t "$t" -k "$BENCH_LIVE" -d "$secs" "$@")
    local lim
    lim=$(awk -v s="$secs" 'BEGIN { printf "%d", 60 + 10 * s }')
    timeout -k 5 "$lim" "${cmd[@]}" >"$W/logs/$tag.out" 2>"$W/logs/$tag.err" </dev/null
    local rc=$?
    local repro
    repro=$(printf '%q ' "${cmd[@]}")
    local line status ops="" rss="" extra=""
    line=$(grep -E '^(churn|guardfloor): ' "$W/logs/$tag.out" | tail -1)
    if [ $rc = 0 ] && [ -n "$line" ]; then
        status=ok
        ops=$(sed -n 's/.* ops\/s=\([0-9.]*\).*/\1/p' <<<"$line")
        rss=$(sed -n 's/.* maxrss_kb=\([0-9]*\).*/\1/p' <<<"$line")
        extra=$(sed -n 's/.* \(ops=[0-9]* elapsed=[0-9.]*\).*/\1/p' <<<"$line")
    else
        if [ $rc = 124 ] || [ $rc = 137 ]; then
            status="failed (timeout ${lim}s)"
        elif [ $rc -gt 128 ]; then
            status="failed (signal $((rc - 128)))"
        else
            status="failed (exit $rc)"
        fi
        extra=$(grep -v '^==' "$W/logs/$tag.err" | grep -v '^ *$' | tail -1 | cut -c1-160)
    fi
    if [ "$cfg" = lockstat ]; then
        local ls
        ls=$(grep -E '^libpooldbg: lockstat:' "$W/logs/$tag.err" | tail -1)
        extra="$extra ${ls#libpooldbg: lockstat: }"
        [ -n "$ls" ] || { [ "$status" = ok ] && status="failed (no lockstat line)"; }
    fi
    tsv "$kind" "$cfg" "$t" "$r" "$status" "$ops" "$rss" "$extra" "$repro"
    if is_pool "$cfg"; then
        local reports
        reports=$(grep -E '^libpooldbg:' "$W/logs/$tag.err" | grep -v '^libpooldbg: lockstat:' | head -5)
        if [ "$status" != ok ] || [ -n "$reports" ]; then
            {
                echo "churn $cfg T=$t round $r: $status"
                [ -n "$reports" ] && sed 's/^/    /' <<<"$reports"
                grep -v '^libpooldbg:' "$W/logs/$tag.err" | tail -3 | sed 's/^/    stderr: /'
                echo "    repro: $repro"
            } >>"$PROBLEMS"
        fi
    fi
    printf '  %-8s %-9s T=%d r%d  %-22s %s\n' "$kind" "$cfg" "$t" "$r" "$status" "${ops:+$ops ops/s}" >&2
}

# --------------------------------------------------------------------------
# Real programs.

PY=$(python3 -c 'import sys; print(sys.executable)')
PYCODE='import json, sys
n = int(sys.argv[1])
d = {str(i): [i, str(i) * 3, {"k": i % 7}] for i in range(n)}
s = json.dumps(d, sort_keys=True)
e = json.loads(s)
print(len(e), sum(v[0] for v in e.values()) % 1000003, len(sorted(e, key=lambda k: (len(k), k))))'
PERLCODE='my %h; my @a;
for my $i (1 .. 60000) { $h{"key$i"} = [$i, "v" x ($i % 37)]; }
for my $k (sort keys %h) { push @a, $k if $h{$k}[0] % 1000 == 7; }
my $s = join(",", map { $h{$_}[1] . $_ } @a);
delete $h{"key$_"} for 1 .. 30000;
print scalar(keys %h), " ", length($s), "\n";'

make_inputs() {
    # 200,000 lines "<word><n> <number> <word>" from a fixed LCG.
    scripts/gen_sort_input.sh "$W/in/sort.txt"
    # 10,000 INSERTs in one transaction, an index, a few queries.
    {
        echo "CREATE TABLE t(id INTEGER PRIMARY KEY, grp TEXT, name TEXT, val INTEGER);"
        echo "BEGIN;"
        awk 'BEGIN {
            s = 777;
            for (i = 1; i <= 10000; i++) {
                s = (s * 69069 + 1) % 4294967296;
                printf "INSERT INTO t(grp,name,val) VALUES(%cg%d%c,%cname-%d-%x%c,%d);\n",
                    39, s % 17, 39, 39, i, s, 39, s % 100000;
            }
        }'
        echo "COMMIT;"
        echo "CREATE INDEX t_grp ON t(grp, val);"
        echo "SELECT count(*), sum(val), min(val), max(val) FROM t;"
        echo "SELECT grp, count(*), sum(val) FROM t GROUP BY grp ORDER BY grp;"
        echo "DELETE FROM t WHERE id % 7 = 0;"
        echo "SELECT count(*), sum(val) FROM t;"
    } >"$W/in/ins.sql"
}

# real_def NAME -> sets CMD (array), STDIN, NEEDS (a command that must exist),
# PREP (a shell snippet run before each pass, untimed).
real_def() {
    STDIN=/dev/null PREP=":" NEEDS=""
    case $1 in
    sort) NEEDS=sort CMD=(sort -S 64M -o "$W/tmp/sorted.txt" "$W/in/sort.txt") ;;
    python) NEEDS=python3 CMD=("$PY" -c "$PYCODE" 100000) ;;
    # every Python object through malloc: ~10x more malloc calls, so fewer objects
    python_malloc) NEEDS=python3 CMD=(env PYTHONMALLOC=malloc "$PY" -c "$PYCODE" 20000) ;;
    gcc) NEEDS=gcc CMD=(gcc -O2 -c "$ROOT/c_tests/bench/churn.c" -o "$W/tmp/churn.o") ;;
    sqlite) NEEDS=sqlite3 CMD=(sqlite3 "$W/tmp/t.db") STDIN=$W/in/ins.sql PREP="rm -f '$W/tmp/t.db'" ;;
    perl) NEEDS=perl CMD=(perl -e "$PERLCODE") ;;
    xz) NEEDS=xz CMD=(xz -3 -T1 -c "$W/in/sort.txt") ;;
    stl_threads) NEEDS=$W/bin/stl_threads CMD=("$W/bin/stl_threads") ;;
    *) NEEDS="no-such-program-$1" CMD=(false) ;;
    esac
}

# run_real PROG MODE ROUND   (MODE: native | pool | sample | valgrind)
run_real() {
    local name=$1 mode=$2 r=$3
    real_def "$name"
    if ! command -v "$NEEDS" >/dev/null; then
        tsv real "$mode" "$name" "$r" "missing" "" "" "$NEEDS not installed" ""
        return
    fi
    local pre=()
    case $mode in
    native) pre=() ;;
    pool) pre=(env "LD_PRELOAD=$LIBABS") ;;
    sample) pre=(env "LD_PRELOAD=$LIBABS" POOLDBG_OPTIONS=sample=1000) ;;
    valgrind) pre=("$VALGRIND" -q --trace-children=yes --error-exitcode=0) ;;
    esac
    local tag=real.$name.$mode.r$r
    eval "$PREP"
    local cmd=("${pre[@]}" "${CMD[@]}")
    timeout -k 5 900 "$CT" "$W/logs/$tag.time" "${cmd[@]}" <"$STDIN" >"$W/logs/$tag.out" 2>"$W/logs/$tag.err"
    local rc=$?
    local repro status cpu="" extra=""
    repro=$(printf '%q ' "${cmd[@]}")
    [ "$STDIN" != /dev/null ] && repro+="< $STDIN"
    if [ -s "$W/logs/$tag.time" ]; then
        extra=$(cat "$W/logs/$tag.time")
        cpu=$(awk '{ split($1, u, "="); split($2, s, "="); printf "%.6f", u[2] + s[2] }' "$W/logs/$tag.time")
    fi
    if [ $rc = 0 ]; then
        status=ok
    elif [ $rc = 124 ] || [ $rc = 137 ]; then
        status="failed (timeout)"
    elif [ $rc -gt 128 ]; then
        status="failed (signal $((rc - 128)))"
    else
        status="failed (exit $rc)"
    fi
    # Same output as the native run (the first native run is the reference).
    if [ "$status" = ok ] && [ "$mode" != native ] && [ -f "$W/logs/real.$name.native.r1.out" ] &&
        ! cmp -s "$W/logs/real.$name.native.r1.out" "$W/logs/$tag.out"; then
        status="failed (output differs from native)"
    fi
    tsv real "$mode" "$name" "$r" "$status" "$cpu" "" "$extra" "$repro"
    if [ "$mode" = pool ] || [ "$mode" = sample ]; then
        local reports
        reports=$(grep -E '^libpooldbg:' "$W/logs/$tag.err" | head -5)
        if [ "$status" != ok ] || [ -n "$reports" ]; then
            {
                echo "real $name ($mode) round $r: $status"
                [ -n "$reports" ] && sed 's/^/    /' <<<"$reports"
                grep -v '^libpooldbg:' "$W/logs/$tag.err" | tail -3 | sed 's/^/    stderr: /'
                echo "    repro: $repro"
            } >>"$PROBLEMS"
        fi
    fi
    printf '  real     %-13s %-8s r%d  %-22s %s\n' "$name" "$mode" "$r" "$status" "${cpu:+${cpu}s cpu}" >&2
}

# --------------------------------------------------------------------------
# The run.

uname_r=$(uname -r)
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "nproc=$(nproc)"
    echo "kernel=$uname_r"
    echo "cpu=$cpu_model"
    echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "git=$(git describe --always --dirty 2>/dev/null || echo unknown)"
    echo "secs=$BENCH_SECS"
    echo "rounds=$BENCH_ROUNDS"
    echo "live=$BENCH_LIVE"
    echo "vg_rounds=$BENCH_VG_ROUNDS"
    echo "sample_ok=$SAMPLE_OK"
    echo "efence=$EFLIB"
    echo "duma=$DUMALIB"
    echo "glibcdbg=$GLIBCDBG"
    echo "valgrind=$($VALGRIND --version 2>/dev/null)"
    echo "max_map_count=$(cat /proc/sys/vm/max_map_count 2>/dev/null)"
    echo "mechanisms=${MECHANISMS[*]}"
    echo "default_mechanism=$(env LD_PRELOAD="$LIBABS" POOLDBG_OPTIONS=stats=1 /bin/true 2>&1 | sed -n 's/^  guard mode: \([^;]*\).*/\1/p')"
} >"$W/meta.txt"

say "churn: ${#CONFIGS[@]} configurations x T=${THREADS[*]} x $BENCH_ROUNDS rounds, ${BENCH_SECS}s each, $BENCH_LIVE live blocks per thread"
long_secs=$(awk -v s="$BENCH_SECS" 'BEGIN { print 3 * s }')
for r in $(seq 1 "$BENCH_ROUNDS"); do
    say "round $r/$BENCH_ROUNDS"
    n=${#CONFIGS[@]}
    for t in "${THREADS[@]}"; do
        # rotate the order every round so no configuration always follows the same one
        for i in $(seq 0 $((n - 1))); do
            cfg=${CONFIGS[$(((i + r - 1) % n))]}
            run_churn churn "$cfg" "$t" "$r" "$BENCH_SECS"
        done
    done
    run_churn lock lockstat 8 "$r" "$BENCH_SECS"
    for t in 2 8; do
        for cfg in guard pool ablation glibc; do
            run_churn cross "$cfg" "$t" "$r" "$BENCH_SECS" -x
        done
    done
    run_churn rsslong pool 2 "$r" "$long_secs"
done

# Where the time goes: kernel entries and page faults per operation (one
# malloc + one free) of each guard mechanism, counted (not timed): strace -c
# and wait4's minflt over churn -t 1 with N and with 0 operations, the
# difference divided by N. minflt includes the pages MADV_POPULATE_WRITE
# faults in on our behalf (UFFDIO_COPY installs its page without a fault).
COST_OPS=50000
cost_run() { # MECH OPS -> "calls minflt" and the strace summary in $W/logs
    local m=$1 n=$2 tag=cost.$1.$2
    env LD_PRELOAD="$LIBABS" POOLDBG_OPTIONS="guard=$m" strace -f -c -o "$W/logs/$tag.strace" \
        "$CT" "$W/logs/$tag.time" "$CHURN" -t 1 -k "$BENCH_LIVE" -n "$n" >"$W/logs/$tag.out" 2>"$W/logs/$tag.err"
    local calls flt
    # every system call but the benchmark's own waiting (its main thread
    # polls the workers with usleep, and cputime waits for churn)
    calls=$(awk 'NR > 2 && $4 ~ /^[0-9]+$/ && $NF !~ /^(total|clock_nanosleep|wait4)$/ { n += $4 } END { print n + 0 }' \
        "$W/logs/$tag.strace")
    flt=$(sed -n 's/.*minflt=\([0-9]*\).*/\1/p' "$W/logs/$tag.time")
    echo "${calls:-0} ${flt:-0}"
}
if command -v strace >/dev/null; then
    for m in "${MECHANISMS[@]}"; do
        read -r c0 f0 <<<"$(cost_run "$m" 0)"
        read -r c1 f1 <<<"$(cost_run "$m" "$COST_OPS")"
        # per-call breakdown: the syscalls made about once per operation or more
        top=$(awk -v n="$COST_OPS" 'NR > 2 && $NF !~ /^(total|clock_nanosleep|wait4)$/ && $4 ~ /^[0-9]+$/ && $4 > n / 2 { printf "%s %.2f, ", $NF, $4 / n }' \
            "$W/logs/cost.$m.$COST_OPS.strace")
        per_call=$(awk -v a="$c0" -v b="$c1" -v n="$COST_OPS" 'BEGIN { printf "%.2f", (b - a) / n }')
        per_flt=$(awk -v a="$f0" -v b="$f1" -v n="$COST_OPS" 'BEGIN { printf "%.3f", (b - a) / n }')
        tsv cost "$m" 1 1 ok "$per_call" "" "faults=$per_flt calls=${top%, }" "strace -f -c churn -t 1 -n $COST_OPS (guard=$m)"
        say "cost guard=$m: $per_call system calls and $per_flt page faults per malloc+free (${top%, })"
    done
else
    say "strace not found: no kernel-entry counts"
fi

if [ -n "$BENCH_REAL" ]; then
    make_inputs
    modes=(native pool)
    [ $SAMPLE_OK = 1 ] && modes+=(sample)
    say "real programs: $BENCH_REAL; modes ${modes[*]} x $BENCH_ROUNDS rounds, valgrind in $BENCH_VG_ROUNDS"
    for r in $(seq 1 "$BENCH_ROUNDS"); do
        for name in $BENCH_REAL; do
            for mode in "${modes[@]}"; do
                run_real "$name" "$mode" "$r"
            done
            if [ -n "$VALGRIND" ] && [ "$r" -le "$BENCH_VG_ROUNDS" ]; then
                run_real "$name" valgrind "$r"
            fi
        done
    done
fi

end_epoch=$EPOCHREALTIME
# The exact command: "make bench" preceded by any BENCH_* knob that was set.
knobs=$(env | grep -E '^BENCH_' | grep -vE '^BENCH_(NOTE|MD)=' | sort | sed "s/=\(.*\)/='\1'/" | tr '\n' ' ')
{
    echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "runtime=$(awk -v a="$START_EPOCH" -v b="$end_epoch" 'BEGIN { printf "%.0f", b - a }')"
    echo "command=${knobs}make bench"
    echo "note=${BENCH_NOTE:-}"
} >>"$W/meta.txt"

python3 scripts/bench_table.py "$W" ${BENCH_MD:+--md "$BENCH_MD"} || die "bench_table.py failed"
# The raw results stay in the tree beside the plots drawn from them, so that
# both can be drawn again without a rerun (scripts/bench_plot.sh).
if [ -n "$BENCH_MD" ] && [ -n "$BENCH_PLOTS" ]; then
    mkdir -p "$BENCH_PLOTS"
    cp "$RES" "$W/meta.txt" "$BENCH_PLOTS/"
    scripts/bench_plot.sh "$BENCH_PLOTS" "$BENCH_PLOTS" "$BENCH_MD" || say "the plots could not be drawn (scripts/bench_plot.sh)"
fi

if [ -s "$PROBLEMS" ]; then
    echo
    echo "libpooldbg problems seen during the bench ($PROBLEMS):"
    cat "$PROBLEMS"
fi
say "logs in $W/logs; raw results in $RES"
if [ $peer_missing = 1 ]; then
    say "some peers could not be found or installed; their rows are marked missing"
    exit 3
fi
exit 0
