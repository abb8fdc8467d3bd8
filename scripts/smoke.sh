#!/usr/bin/env bash
# Real-program smoke tests for libpooldbg.
#
# Every program runs natively once, then once per mode with
# LD_PRELOAD=<absolute path of $LIB> (mode "default": no options; mode
# "mprotect": POOLDBG_OPTIONS=guard=mprotect).  A preloaded run passes when
#   - its comparable output equals the native one (stdout, or a normalised /
#     derived form of it where the raw output has hashes or timestamps),
#   - its exit status equals the native one,
#   - it did not time out, and
#   - its stderr holds no line starting with "libpooldbg:" (the library is
#     silent unless it finds a bug; a "libpooldbg: NOTICE" is shown but only
#     fails with SMOKE_STRICT=1) and no "cannot be preloaded" from ld.so.
#
# Environment:
#   LIB            library to preload (default target/release/libpooldbg.so)
#   BUILD          scratch directory (default build); we use $BUILD/smoke
#   SMOKE_MODES    preload modes to run (default "default mprotect")
#   SMOKE_ONLY     extended regex: run only tests whose name matches
#   SMOKE_TIMEOUT  multiplier for every per-command timeout (default 1)
#   SMOKE_KEEP=1   keep $BUILD/smoke/ outputs of passing tests too
#   SMOKE_STRICT=1 fail on "libpooldbg: NOTICE" lines too
#
# Output: one line per (program, mode), then "smoke: N passed, M failed".
set -u
set -o pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
LIB=${LIB:-target/release/libpooldbg.so}
BUILD=${BUILD:-build}
SMOKE_MODES=${SMOKE_MODES:-"default mprotect"}
SMOKE_ONLY=${SMOKE_ONLY:-}
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-1}
SMOKE_KEEP=${SMOKE_KEEP:-0}
MPROTECT_OPTIONS=${SMOKE_MPROTECT_OPTIONS:-guard=mprotect}

case $LIB in
/*) LIBABS=$LIB ;;
*) LIBABS=$ROOT/$LIB ;;
esac
case $BUILD in
/*) W=$BUILD/smoke ;;
*) W=$ROOT/$BUILD/smoke ;;
esac

SUITE=smoke
LIB_ABS=$LIBABS
# shellcheck source=scripts/testlib.sh
. scripts/testlib.sh

if ! scripts/deps.sh; then
    echo "smoke: scripts/deps.sh failed: required programs are missing" >&2
    exit 2
fi
if [ ! -f "$LIBABS" ]; then
    echo "smoke: $LIBABS not found (run 'make lib' first)" >&2
    exit 2
fi

export LC_ALL=C
export TZ=UTC
unset POOLDBG_OPTIONS

# The real interpreter, not a pyenv/asdf shim script.
PY=$(python3 -c 'import sys; print(sys.executable)')

rm -rf "$W"
mkdir -p "$W/in" "$W/bin" "$W/runs"

# --------------------------------------------------------------------------
# Inputs, generated once, deterministically, before anything is timed.

# 200,000 lines of words and numbers from a fixed LCG.
scripts/gen_sort_input.sh "$W/in/sort.txt"

# SQL: a table, 10,000 INSERT statements in one transaction, an index,
# and aggregate queries.
{
    echo "PRAGMA journal_mode=WAL;"
    echo "CREATE TABLE t(id INTEGER PRIMARY KEY, grp TEXT, name TEXT, val INTEGER, score REAL);"
    echo "BEGIN;"
    awk 'BEGIN {
        s = 777;
        for (i = 1; i <= 10000; i++) {
            s = (s * 69069 + 1) % 4294967296;
            printf "INSERT INTO t(grp,name,val,score) VALUES(%cg%d%c,%cname-%d-%x%c,%d,%d.%02d);\n",
                39, s % 17, 39, 39, i, s, 39, s % 100000, s % 1000, s % 97;
        }
    }'
    echo "COMMIT;"
    echo "CREATE INDEX t_grp ON t(grp, val);"
    echo "SELECT count(*), sum(val), min(val), max(val), round(avg(score), 4) FROM t;"
    echo "SELECT grp, count(*), sum(val), round(avg(score), 3) FROM t GROUP BY grp ORDER BY grp;"
    echo "SELECT name, val FROM t WHERE grp = 'g3' ORDER BY val DESC, id LIMIT 5;"
    echo "SELECT a.grp, count(*) FROM t a JOIN t b ON a.val = b.val AND a.id < b.id GROUP BY a.grp ORDER BY 2 DESC, 1 LIMIT 3;"
    echo "SELECT group_concat(upper(substr(name, 1, 8)), ',') FROM (SELECT name FROM t ORDER BY score DESC, id LIMIT 10);"
    echo "UPDATE t SET val = val + 1 WHERE id % 3 = 0;"
    echo "DELETE FROM t WHERE id % 7 = 0;"
    echo "VACUUM;"
    echo "SELECT count(*), sum(val) FROM t;"
    echo "PRAGMA integrity_check;"
} >"$W/in/script.sql"

# A tree to archive: real files plus generated ones.
mkdir -p "$W/in/tree"
cp -r /usr/include/linux "$W/in/tree/linux-headers"
for d in $(seq 1 20); do
    mkdir -p "$W/in/tree/gen/d$d"
    for f in $(seq 1 50); do
        printf 'file %d/%d\n%s\n' "$d" "$f" "$(printf '%*s' $((d * f)) '' | tr ' ' x)" \
            >"$W/in/tree/gen/d$d/f$f.txt"
    done
done

# The C++ smoke program, built once (natively).
if ! g++ -O1 -pthread -o "$W/bin/stl_threads" c_tests/smoke/stl_threads.cpp; then
    echo "smoke: failed to build c_tests/smoke/stl_threads.cpp" >&2
    exit 2
fi

# --------------------------------------------------------------------------
# Harness.  A test is a function t_NAME that prints its comparable output on
# stdout and returns a status; it runs every program through `timed`, which
# applies the timeout and (in a preloaded pass) the preload environment.
# $D is the test's private working directory for this pass; stderr of every
# command goes to $D.stderr.

PRE=()     # environment words for `env` in this pass
D=""       # working directory of the current pass
ERRF=""    # stderr file of the current pass

# timed SECONDS cmd args...: testlib.sh's run with the caller's streams, no
# library but what PRE adds, SECONDS x SMOKE_TIMEOUT; stderr (and a
# "smoke: TIMEOUT" line) appended to $ERRF. Returns the exit status.
timed() {
    local lim
    lim=$(awk -v a="$1" -v b="$SMOKE_TIMEOUT" 'BEGIN { x = int(a * b); if (x < 1) x = 1; print x }')
    shift
    # (the braces send bash's own "Aborted"/"Segmentation fault" notice to the file too)
    { run - "$lim" - "${PRE[@]}" -- "$@"; } 2>>"$ERRF"
    return $rc
}

passed=0
failed=0
failures=()

# The library is silent unless it finds a bug, with one exception: a
# one-time "libpooldbg: NOTICE:" (e.g. switching to dense pools near
# vm.max_map_count).  Notices are shown but do not fail a run unless
# SMOKE_STRICT=1; every other "libpooldbg:" line does.
SMOKE_STRICT=${SMOKE_STRICT:-0}
notices_in() { grep '^libpooldbg: NOTICE' "$1"; }
bugs_in() {
    if [ "$SMOKE_STRICT" = 1 ]; then
        grep -q '^libpooldbg:' "$1"
    else
        grep '^libpooldbg:' "$1" | grep -qv '^libpooldbg: NOTICE'
    fi
}

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# run_pass NAME TAG  -> sets P_RC, P_SECS; output in $W/runs/NAME.TAG.{out,stderr}
run_pass() {
    local name=$1 tag=$2
    D=$W/runs/$name.$tag.d
    ERRF=$W/runs/$name.$tag.stderr
    mkdir -p "$D"
    : >"$ERRF"
    local t0 t1
    t0=$(now)
    (cd "$D" && "t_$name") >"$W/runs/$name.$tag.out"
    P_RC=$?
    t1=$(now)
    P_SECS=$(elapsed "$t0" "$t1")
}

# check NAME TAG: compare TAG's pass with the native one; print a line.
check() {
    local name=$1 tag=$2 secs=$3 rc=$4
    local why=()
    local base=$W/runs/$name
    if [ "$rc" != "$N_RC" ]; then
        why+=("exit status $rc, native $N_RC")
    fi
    if ! cmp -s "$base.native.out" "$base.$tag.out"; then
        why+=("output differs from native")
    fi
    if grep -q '^smoke: TIMEOUT' "$base.$tag.stderr"; then
        why+=("timed out")
    fi
    if bugs_in "$base.$tag.stderr"; then
        why+=("libpooldbg reported on stderr")
    fi
    if grep -q 'cannot be preloaded' "$base.$tag.stderr"; then
        why+=("ld.so could not preload the library")
    fi
    local ratio
    ratio=$(awk -v a="$N_SECS" -v b="$secs" 'BEGIN { if (a > 0.005) printf "x%.1f", b / a; else printf "-" }')
    if [ ${#why[@]} = 0 ]; then
        printf '%-18s %-9s PASS  native %7.2fs  preload %7.2fs  %s\n' "$name" "$tag" "$N_SECS" "$secs" "$ratio"
        passed=$((passed + 1))
        notices_in "$base.$tag.stderr" | head -3 | cut -c1-220 | sed 's/^/    note: /'
        if [ "$SMOKE_KEEP" != 1 ]; then rm -rf "$base.$tag.d"; fi
    else
        printf '%-18s %-9s FAIL  native %7.2fs  preload %7.2fs  %s\n' "$name" "$tag" "$N_SECS" "$secs" "$ratio"
        failed=$((failed + 1))
        failures+=("$name/$tag")
        local w msg=""
        for w in "${why[@]}"; do msg+="${msg:+; }$w"; done
        echo "    why: $msg"
        if grep -q '^libpooldbg:' "$base.$tag.stderr"; then
            echo "    --- libpooldbg lines:"
            grep '^libpooldbg:' "$base.$tag.stderr" | head -20 | cut -c1-300 | sed 's/^/    /'
        fi
        if ! cmp -s "$base.native.out" "$base.$tag.out"; then
            echo "    --- diff native -> $tag (head):"
            diff "$base.native.out" "$base.$tag.out" | head -10 | cut -c1-200 | sed 's/^/    /'
        fi
        echo "    --- stderr tail of the $tag run ($base.$tag.stderr):"
        tail -n 20 "$base.$tag.stderr" | cut -c1-300 | sed 's/^/    /'
    fi
}

smoke_test() { # smoke_test NAME
    local name=$1
    if [ -n "$SMOKE_ONLY" ] && ! [[ $name =~ $SMOKE_ONLY ]]; then
        return
    fi
    PRE=()
    run_pass "$name" native
    N_RC=$P_RC
    N_SECS=$P_SECS
    # Every program here succeeds natively and prints something; if not, the
    # test itself is broken (a missing tool, a changed environment), and a
    # preloaded run that fails the same way must not count as a pass.
    if [ "$N_RC" != 0 ] || [ ! -s "$W/runs/$name.native.out" ]; then
        printf '%-18s %-9s FAIL  native run broken: exit status %s, %s bytes of output\n' "$name" native \
            "$N_RC" "$(wc -c <"$W/runs/$name.native.out")"
        tail -n 10 "$W/runs/$name.native.stderr" | cut -c1-300 | sed 's/^/    /'
        failed=$((failed + 1))
        failures+=("$name/native")
        return
    fi
    local mode
    for mode in $SMOKE_MODES; do
        case $mode in
        default) PRE=("LD_PRELOAD=$LIBABS") ;;
        mprotect) PRE=("LD_PRELOAD=$LIBABS" "POOLDBG_OPTIONS=$MPROTECT_OPTIONS") ;;
        *)
            echo "smoke: unknown mode '$mode'" >&2
            exit 2
            ;;
        esac
        run_pass "$name" "$mode"
        check "$name" "$mode" "$P_SECS" "$P_RC"
    done
    if [ "$SMOKE_KEEP" != 1 ]; then rm -rf "$W/runs/$name.native.d"; fi
}

# --------------------------------------------------------------------------
# The programs.

# ls: a long recursive listing of a few thousand real entries.
t_ls() {
    timed 120 ls -laR --time-style=+%s /usr/share/doc /usr/include
}

# sort: 200k lines, two threads, 64 MiB buffer; a plain and a keyed sort.
t_sort() {
    timed 120 sort --parallel=2 -S 64M "$W/in/sort.txt" >sorted1 || return $?
    timed 120 sort --parallel=2 -S 64M -s -k3,3 -k2,2nr "$W/in/sort.txt" >sorted2 || return $?
    timed 60 sort -u -k1,1 "$W/in/sort.txt" >sorted3 || return $?
    sha256sum sorted1 sorted2 sorted3
    head -3 sorted1 sorted2
    wc -l <sorted3
}

# python: 4 threads of dict/list/json work with pymalloc ...
t_python() {
    timed 120 "$PY" "$ROOT/c_tests/smoke/threads.py" 30
}

# ... and with PYTHONMALLOC=malloc, so every object goes through malloc
# (fewer rounds: that is ~250k mallocs per round).
t_python_malloc() {
    PRE+=("PYTHONMALLOC=malloc")
    timed 180 "$PY" "$ROOT/c_tests/smoke/threads.py" 2
}

# git: init/add/commit with fixed identities and dates, log, gc, fsck.
# With fixed dates the commit ids are deterministic too, so compare them.
t_git() {
    export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$D
    export GIT_AUTHOR_NAME="Smoke Author" GIT_AUTHOR_EMAIL=author@example.invalid
    export GIT_COMMITTER_NAME="Smoke Committer" GIT_COMMITTER_EMAIL=committer@example.invalid
    timed 30 git init -q -b main repo || return $?
    cd repo || return 1
    local i f
    for i in $(seq 1 25); do
        for f in $(seq 1 12); do
            mkdir -p "dir$((f % 4))"
            printf 'commit %d file %d\n%s\n' "$i" "$f" "$(seq "$f" "$((i * f))" | tr '\n' ' ')" \
                >>"dir$((f % 4))/file$f.txt"
        done
        if [ $((i % 5)) = 0 ]; then
            git_rm_target="dir1/file$((i / 5)).txt"
            [ -f "$git_rm_target" ] && rm "$git_rm_target"
        fi
        export GIT_AUTHOR_DATE="$((1700000000 + i * 3600)) +0000"
        export GIT_COMMITTER_DATE="$((1700000000 + i * 3600 + 60)) +0000"
        timed 30 git add -A || return $?
        timed 30 git commit -q -m "commit number $i" || return $?
        if [ $i = 10 ]; then
            timed 30 git branch side || return $?
        fi
    done
    timed 30 git tag -a v1 -m "tag v1" HEAD~3 || return $?
    timed 30 git checkout -q side || return $?
    echo side >side.txt
    timed 30 git add side.txt || return $?
    timed 30 git commit -q -m "side commit" || return $?
    timed 30 git checkout -q main || return $?
    timed 30 git merge -q --no-edit side || return $?
    echo "== log"
    timed 30 git log --format='%H %T %s' || return $?
    echo "== subjects"
    timed 30 git log --format=%s --reverse | sort | uniq -c | sort -k1,1n -k2 | tail -3
    echo "== patch digest"
    timed 30 git log -p --stat | sha256sum
    echo "== diff"
    timed 30 git diff --stat v1 HEAD~1 || return $?
    echo "== blame"
    timed 30 git blame --porcelain dir2/file2.txt | grep -c '^author-time' || return $?
    echo "== grep"
    timed 30 git grep -c 'commit 2[0-9] ' -- dir3 || return $?
    timed 60 git gc -q --prune=now || return $?
    echo "== after gc"
    timed 30 git count-objects -v | grep -E '^(count|in-pack|packs|garbage):'
    timed 60 git fsck --full --strict --no-progress || return $?
    echo "fsck ok"
    timed 30 git rev-list --all --objects | wc -l
}

# gcc: compile (gcc, cc1, as, collect2, ld all preloaded), then run the
# result, also preloaded.  The object file must be bit-identical.
t_gcc() {
    timed 120 gcc -O2 -Wall -c "$ROOT/c_tests/smoke/compute.c" -o compute.o || return $?
    timed 60 gcc -O2 -o compute compute.o -lm || return $?
    sha256sum compute.o compute
    timed 60 ./compute
}

# g++: compile the STL program (cc1plus: over a million mallocs) and run it.
t_gxx() {
    timed 240 g++ -O1 -pthread -c "$ROOT/c_tests/smoke/stl_threads.cpp" -o stl.o || return $?
    timed 60 g++ -pthread -o stl stl.o || return $?
    sha256sum stl.o
    timed 60 ./stl
}

# sqlite3: 10k INSERTs in one transaction into a file database, queries.
t_sqlite() {
    timed 120 sqlite3 test.db <"$W/in/script.sql"
}

# The multi-threaded C++ STL program.
t_stl() {
    timed 120 "$W/bin/stl_threads"
}

# perl: big hashes (a few hundred thousand live blocks), sorting, string
# building, a digest.
t_perl() {
    timed 120 perl -MDigest::MD5=md5_hex -e '
        my %h; my @a;
        for my $i (1 .. 60000) { $h{"key$i"} = [$i, "v" x ($i % 37)]; }
        for my $k (sort keys %h) { push @a, $k if $h{$k}[0] % 1000 == 7; }
        my $s = join(",", map { $h{$_}[1] . $_ } @a);
        delete $h{"key$_"} for 1 .. 30000;
        my %w;
        open(my $f, "<", $ARGV[0]) or die "open: $!";
        while (<$f>) { last if $. > 60000; $w{$_}++ for split /\W+/; }
        close $f;
        print scalar(keys %h), " ", scalar(@a), " ", md5_hex($s), " ", scalar(keys %w), "\n";
        print join(" ", map { "$_=$w{$_}" } (sort { $w{$b} <=> $w{$a} || $a cmp $b } keys %w)[0 .. 4]), "\n";
    ' "$W/in/sort.txt"
}

# xz: multi-threaded compress / decompress round trip.
t_xz() {
    timed 120 xz -T2 -3 --block-size=1MiB -k -c "$W/in/sort.txt" >sort.txt.xz || return $?
    timed 60 xz -T2 -d -c sort.txt.xz >sort.txt.back || return $?
    cmp sort.txt.back "$W/in/sort.txt" && echo "round trip ok"
    sha256sum sort.txt.xz
    timed 30 xz -l --robot sort.txt.xz | grep -E '^totals' | cut -f2-5
}

# tar: archive a tree, list it, extract it, compare.
t_tar() {
    timed 60 tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner \
        -C "$W/in" -cf tree.tar tree || return $?
    sha256sum tree.tar
    timed 60 tar -tvf tree.tar | wc -l
    mkdir out
    timed 60 tar -C out -xf tree.tar || return $?
    diff -r "$W/in/tree" out/tree && echo "extract ok"
}

# rustc on a type error: the same diagnostic and exit status 1 as without
# the library (it aborted with "failed to initiate panic" while libpooldbg
# exported an empty rust_eh_personality that librustc_driver bound to).
t_rustc() {
    printf 'fn main() {\n    let x: i32 = "text";\n}\n' >bad.rs
    timed 120 sh -c 'rustc --color never --edition 2021 bad.rs -o bad 2>&1; echo "rustc exit $?"'
}

# cargo: a new crate built offline (cargo, rustc, cc, rust-lld, all
# preloaded; libLLVM's private operator new hands its blocks to rust-lld's
# operator delete), its warning, then the program. CARGO_HOME and the target
# directory are the pass's own, so nothing is fetched or shared. Compared:
# the diagnostics (not "Compiling <path>" or "Finished ... in 0.9s"), the
# build's status, the program's output.
t_cargo() {
    export CARGO_HOME=$D/cargo-home CARGO_TARGET_DIR=$D/target
    timed 60 cargo new --offline --vcs none --name smoke_demo demo 2>/dev/null || return $?
    cat >demo/src/main.rs <<'EOF'
use std::collections::BTreeMap;

fn main() {
    let unused = 1;
    let mut words = BTreeMap::new();
    for w in "the quick brown fox jumps over the lazy dog the end".split(' ') {
        *words.entry(w).or_insert(0) += 1;
    }
    let v: Vec<String> = words.iter().map(|(k, n)| format!("{k}={n}")).collect();
    println!("{}", v.join(" "));
}
EOF
    timed 300 sh -c 'cd demo && cargo build --offline 2>&1; echo "cargo build exit $?"' |
        grep -E '^(warning|error)|-->|^cargo build exit'
    timed 30 "$CARGO_TARGET_DIR/debug/smoke_demo"
}

# java: javac, then thousands of NullPointerExceptions, most raised by the
# JVM's own SIGSEGV handler from compiled code's implicit null checks (each
# fault passes through libpooldbg's handler, which hands it on).
t_java() {
    timed 120 javac -d . "$ROOT/c_tests/smoke/Npe.java" || return $?
    timed 120 java -XX:-UsePerfData -cp . Npe
}

# gdb: run a small program to a breakpoint, print locals, a struct and a
# heap string, finish (the program inherits the preload too). Addresses
# and the pid are normalised: heap addresses differ under the library.
t_gdb() {
    timed 60 gcc -g -O0 -o target "$ROOT/c_tests/smoke/gdb_target.c" || return $?
    printf '%s\n' 'set pagination off' 'set confirm off' 'break stop_here' run 'print n' 'print *p' \
        'print p->label' 'print text' 'print p->x * p->y + n' finish continue >cmds.gdb
    timed 120 gdb --batch -nx -x cmds.gdb ./target | sed -E 's/0x[0-9a-f]+/0x.../g; s/process [0-9]+/process N/'
}

# g++ on <regex> (template-heavy; cc1plus under the library), then the
# program: a regex engine's many small nodes, built and freed per pattern.
t_regex() {
    timed 240 g++ -O0 -c "$ROOT/c_tests/smoke/regex.cpp" -o regex.o || return $?
    timed 60 g++ -o regex regex.o || return $?
    sha256sum regex.o
    timed 60 ./regex
}

# groff: format this repository's man page and, where the system has it,
# ls(1) (troff replaces operator new/delete with its own, on malloc/free).
t_groff() {
    timed 60 groff -man -Tutf8 "$ROOT/man/pooldbg.1" >pooldbg.txt || return $?
    sha256sum pooldbg.txt
    grep -m3 -E '^[A-Z]' pooldbg.txt
    if [ -r /usr/share/man/man1/ls.1.gz ]; then
        gzip -dc /usr/share/man/man1/ls.1.gz >ls.1
        timed 60 groff -man -Tutf8 ls.1 | sha256sum
    else
        echo "ls.1: not installed"
    fi
}

# node: objects, maps, JSON, buffers, hashes, promises.
t_node() {
    timed 60 node "$ROOT/c_tests/smoke/smoke.js"
}

# python -X faulthandler: its handlers for SIGSEGV, SIGBUS and the rest (on
# its own alternate stack, taken with malloc; those for SIGSEGV and SIGBUS
# are kept behind ours, the others are installed as usual); a traceback
# dumped from a SIGUSR1 handler, a watchdog thread armed and cancelled,
# then the threaded workload.
t_python_faulthandler() {
    timed 120 "$PY" -X faulthandler - <<EOF
import faulthandler, os, runpy, signal, sys
print("faulthandler enabled:", faulthandler.is_enabled())
sys.stdout.flush()
faulthandler.register(signal.SIGUSR1, file=sys.stdout, all_threads=False)
os.kill(os.getpid(), signal.SIGUSR1)
faulthandler.dump_traceback_later(3600)
sys.argv = ["threads.py", "3"]
runpy.run_path("$ROOT/c_tests/smoke/threads.py", run_name="__main__")
faulthandler.cancel_dump_traceback_later()
EOF
}

TESTS=(ls sort python python_malloc git gcc gxx sqlite stl perl xz tar rustc
    cargo java gdb regex groff node python_faulthandler)

# --------------------------------------------------------------------------

echo "smoke: library $LIBABS; modes: $SMOKE_MODES"
# Preflight: is the library really loaded into a preloaded process?
if ! LD_PRELOAD=$LIBABS cat /proc/self/maps 2>"$W/preflight.stderr" | grep -q "$(basename "$LIBABS")"; then
    cat "$W/preflight.stderr" >&2
    die "preflight: $LIBABS is not mapped into a preloaded process"
fi

t_all0=$(now)
for t in "${TESTS[@]}"; do
    smoke_test "$t"
done
t_all1=$(now)

echo "smoke: total wall time $(elapsed "$t_all0" "$t_all1")s; outputs in $W/runs"
if [ ${#failures[@]} -gt 0 ]; then
    echo "smoke: failed: ${failures[*]}"
fi
echo "smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]
