#!/usr/bin/env bash
# run_hostile_tests.sh — "never the cause" (issue 7), the fast part (make test).
#
# Usage (from anywhere; runs from the repository root):
#   scripts/run_hostile_tests.sh [--list] [PATTERN...]
#     PATTERN  run only the tests whose name contains one of the patterns
#     --list   print the test names and exit
# Environment: LIB (target/release/libpooldbg.so; built with
# `cargo build --release` when it is the default and missing or older than
# src/), BUILD (build), HOSTILE_SEED (1; seeds the fuzzers),
# HOSTILE_POINTERS (100000; hostile pointers in the main in-process fuzz run).
#
# Every test runs its program(s) from c_tests/hostile/ as child processes
# under LD_PRELOAD with a timeout (a timeout is a failure: a hang), and
# checks exit status, stdout and the exact libpooldbg lines on stderr:
#   ptrfuzz-*      hostile pointers to free/realloc/malloc_usable_size: every
#                  call reported (one report per call, naming the pointer),
#                  none crashes, the heap stays intact (in-process loop with
#                  on_error=continue under several option sets; and one
#                  pointer per forked child with on_error=abort / exit)
#   optfuzz        random POOLDBG_OPTIONS: runs normally, or exit 1 with one
#                  "libpooldbg: ERROR: POOLDBG_OPTIONS:" line
#   sigreent-*     signal handlers calling malloc/free: served when the thread
#                  was outside the allocator, the re-entry report otherwise
#   sigfork-*      fork() inside a signal handler while threads allocate
#   cancel-*       pthread_cancel, deferred and asynchronous
#   spawn          posix_spawn and vfork+exec while threads allocate
#   exhaust-*      RLIMIT_AS set after start (C and C++), impossible sizes,
#                  map_limit=2000 with guard=mprotect and 50,000 live blocks
#   secure-*       log_path ignored in setuid/setgid programs (needs root)
#   secret-*       reports never print the block's contents
# Prints "PASS name" / "FAIL name" (with the reasons and where the logs are),
# closing line "hostile: N passed, M failed"; exit 1 if any failed.
# Logs: $BUILD/hostile/logs/NAME.*
set -u

cd "$(dirname "$0")/.." || exit 2

LIB=${LIB:-target/release/libpooldbg.so}
BUILD=${BUILD:-build}
SEED=${HOSTILE_SEED:-1}
POINTERS=${HOSTILE_POINTERS:-100000}
SRC=c_tests/hostile
case $BUILD in /*) OUT=$BUILD/hostile ;; *) OUT=$PWD/$BUILD/hostile ;; esac
BIN=$OUT/bin
LOGS=$OUT/logs

TESTS=(
    ptrfuzz-loop ptrfuzz-loop-mprotect-below ptrfuzz-loop-align1 ptrfuzz-loop-noquarantine
    ptrfuzz-loop-dense ptrfuzz-fork-abort ptrfuzz-fork-exit
    optfuzz
    sigreent-outside sigreent-inside
    sigfork-idle sigfork-busy
    cancel-deferred cancel-async
    spawn
    exhaust-rlimit exhaust-rlimit-cxx exhaust-huge exhaust-maplimit
    secure-setuid secure-setgid secure-control
    secret-reports
)

HELP_LINES=35
SUITE=hostile
# shellcheck source=scripts/testlib.sh
. scripts/testlib.sh
parse_test_args "$@"
if [ $list_only -eq 1 ]; then
    for t in "${TESTS[@]}"; do selected "$t" && echo "$t"; done
    exit 0
fi


# ------------------------------------------------------------------ library
mkdir -p "$BIN" "$LOGS"
ensure_library

# ------------------------------------------------------------------ build
build ptrfuzz gcc -O1
build optfuzz gcc -O1
build optarget gcc -O1
build sigreent gcc -O1
build sigfork gcc -O1
build cancel gcc -O1
build spawn gcc -O1
build exhaust gcc -O1 -Wno-use-after-free -Wno-alloc-size-larger-than
build exhaust_cxx g++ -O1 -Wno-alloc-size-larger-than
build secret gcc -O0 -Wno-use-after-free -Wno-free-nonheap-object

# ------------------------------------------------------------------ helpers
passed=0
failed=0
why=()

# lines of FILE starting with "libpooldbg:" that do not match the ERE
stray_lines() {
    grep -a '^libpooldbg:' "$1" | grep -avE "$2" | head -5
}


result() {
    local name=$1
    if [ ${#why[@]} -eq 0 ]; then
        echo "PASS $name${summary:+  ($summary)}"
        passed=$((passed + 1))
    else
        echo "FAIL $name${summary:+  ($summary)}"
        local w
        for w in "${why[@]}"; do echo "    $w"; done
        echo "    logs: $LOGS/$name.*"
        failed=$((failed + 1))
    fi
    why=()
    summary=
}

# ------------------------------------------------------------------ tests
# 1. hostile pointers, in one process (on_error=continue): the program checks
# every call's report itself; here the report count is checked again.
ptrfuzz_loop() { # name count options [env...]
    local name=$1 count=$2 opts=$3
    shift 3
    run "$name" 80 "on_error=continue${opts:+:$opts}" -- env "$@" "$BIN/ptrfuzz" loop "$count" "$SEED"
    # It printed reports and went on: error_exitcode (1) rather than its 0.
    expect_rc 1 $rc "ptrfuzz loop $count $SEED"
    while read -r l; do note "$l"; done < <(grep -a '^ptrfuzz: FAIL' "$LOGS/$name.out" | head -5)
    local calls errors
    calls=$(sed -n 's/^calls=//p' "$LOGS/$name.out")
    errors=$(grep -ac '^libpooldbg: ERROR:' "$LOGS/$name.err")
    [ -n "$calls" ] || calls=-1
    [ "$calls" -ge "$count" ] || note "only ${calls} hostile calls made, $count asked"
    [ "$errors" = "$calls" ] || note "$errors report lines for $calls hostile calls"
    grep -aq '^ptrfuzz: OK' "$LOGS/$name.out" || note "the program did not end with 'ptrfuzz: OK'"
    local stray
    stray=$(stray_lines "$LOGS/$name.err" '^libpooldbg: (ERROR: (invalid-free|interior-pointer-free|double-free) on (free|realloc|malloc_usable_size)\(0x[0-9a-f]+\)$|end of report|NOTICE: .*vm.max_map_count)')
    [ -z "$stray" ] && [ "$(grep -ac '^libpooldbg: NOTICE' "$LOGS/$name.err")" -le 1 ] ||
        note "unexpected libpooldbg lines: $stray"
    summary="$(grep -a '^ptrfuzz: loop' "$LOGS/$name.out" | sed 's/^ptrfuzz: loop //'); kinds: $(sed -n 's/^ptrfuzz: by report kind: //p' "$LOGS/$name.out")"
    # the reports are big; keep the head only
    if [ ${#why[@]} -eq 0 ]; then
        head -c 200000 "$LOGS/$name.err" >"$LOGS/$name.err.head" && rm -f "$LOGS/$name.err"
    fi
}

t_ptrfuzz-loop() { ptrfuzz_loop ptrfuzz-loop "$POINTERS" ""; }
t_ptrfuzz-loop-mprotect-below() { ptrfuzz_loop ptrfuzz-loop-mprotect-below 15000 "guard=mprotect:protect_below=1"; }
t_ptrfuzz-loop-align1() { ptrfuzz_loop ptrfuzz-loop-align1 15000 "alignment=1:stack_depth=0"; }
t_ptrfuzz-loop-noquarantine() { ptrfuzz_loop ptrfuzz-loop-noquarantine 15000 "quarantine_slots=0:quarantine_mb=0"; }
t_ptrfuzz-loop-dense() {
    ptrfuzz_loop ptrfuzz-loop-dense 15000 "guard=mprotect:map_limit=1000" FUZZ_BALLAST=3000
    grep -aq 'NOTICE: .*vm.max_map_count' "$LOGS/ptrfuzz-loop-dense.err"* ||
        note "dense pools never switched on (no NOTICE): the test did not test them"
}

# 1b. one hostile pointer per child: the report stops it (abort or exit N)
t_ptrfuzz-fork-abort() {
    run ptrfuzz-fork-abort 80 "" -- "$BIN/ptrfuzz" fork 1000 "$((SEED + 100))"
    expect_rc 0 $rc "ptrfuzz fork 1000"
    while read -r l; do note "$l"; done < <(grep -a 'FAIL' "$LOGS/ptrfuzz-fork-abort.out" | head -5)
    grep -aq '^ptrfuzz: OK' "$LOGS/ptrfuzz-fork-abort.out" || note "no 'ptrfuzz: OK'"
    summary=$(grep -a '^ptrfuzz: fork' "$LOGS/ptrfuzz-fork-abort.out" | sed 's/^ptrfuzz: //')
}
t_ptrfuzz-fork-exit() {
    run ptrfuzz-fork-exit 60 "on_error=exit:exitcode=42" -- env FUZZ_EXPECT=exit:42 "$BIN/ptrfuzz" fork 200 "$((SEED + 200))"
    expect_rc 0 $rc "ptrfuzz fork 200 (on_error=exit:exitcode=42)"
    while read -r l; do note "$l"; done < <(grep -a 'FAIL' "$LOGS/ptrfuzz-fork-exit.out" | head -5)
    grep -aq '^ptrfuzz: OK' "$LOGS/ptrfuzz-fork-exit.out" || note "no 'ptrfuzz: OK'"
    summary=$(grep -a '^ptrfuzz: fork' "$LOGS/ptrfuzz-fork-exit.out" | sed 's/^ptrfuzz: //')
}

# 2. options fuzz: the driver runs natively and preloads the library into
# each child itself
t_optfuzz() {
    local work=$OUT/optfuzz-work
    rm -rf "$work" && mkdir -p "$work"
    env -u POOLDBG_OPTIONS -u LD_PRELOAD timeout -k 5 80 "$BIN/optfuzz" "$LIB_ABS" "$(readlink -f "$BIN/optarget")" \
        400 "$SEED" "$(readlink -f "$work")" >"$LOGS/optfuzz.out" 2>"$LOGS/optfuzz.err"
    rc=$?
    [ $rc -eq 124 ] && note "TIMEOUT"
    expect_rc 0 $rc "optfuzz"
    while read -r l; do note "$l"; done < <(grep -a -A4 'FAIL' "$LOGS/optfuzz.out" | head -12)
    summary=$(tail -1 "$LOGS/optfuzz.out" | sed 's/^optfuzz: //')
}

# 3. signal handlers that allocate
t_sigreent-outside() {
    run sigreent-outside 40 "" -- "$BIN/sigreent" outside 3 2
    expect_rc 0 $rc "sigreent outside"
    grep -aq '^sigreent: completed(outside)' "$LOGS/sigreent-outside.out" || note "did not complete"
    local stray
    stray=$(stray_lines "$LOGS/sigreent-outside.err" '^$')
    [ -z "$stray" ] || note "libpooldbg printed: $stray"
    local h
    h=$(sed -n 's/^sigreent: completed(outside) \(handled=[0-9]*\) \(served=[0-9]*\).*/\1 \2/p' "$LOGS/sigreent-outside.out")
    summary="every handler malloc served: $h"
    case $h in *"handled=0 "*|"") note "no signal was handled" ;; esac
    local hn sn
    hn=$(sed -n 's/.*handled=\([0-9]*\).*/\1/p' <<<"$h")
    sn=$(sed -n 's/.*served=\([0-9]*\).*/\1/p' <<<"$h")
    [ "${hn:-0}" = "${sn:--1}" ] || note "handled $hn signals but served only $sn"
}
t_sigreent-inside() {
    local i completed=0 reported=0 handled_total=0 served_total=0
    for i in 1 2 3; do
        run sigreent-inside-$i 12 "" -- "$BIN/sigreent" inside 3 $((i + 1))
        local first
        first=$(grep -a '^libpooldbg:' "$LOGS/sigreent-inside-$i.err" | head -1)
        if [ $rc -eq 0 ] && grep -aq '^sigreent: completed(inside)' "$LOGS/sigreent-inside-$i.out"; then
            completed=$((completed + 1))
            [ -z "$first" ] || note "run $i completed but libpooldbg printed: $first"
        elif [ $rc -eq 134 ] && [ "$first" = "libpooldbg: ERROR: allocator re-entered while holding one of its locks" ]; then
            reported=$((reported + 1))
            grep -aq '^sigreent: aborted' "$LOGS/sigreent-inside-$i.out" || note "run $i: abort without the program's count line"
        else
            [ $rc -eq 124 ] || [ $rc -eq 137 ] || note "run $i: exit $rc, first libpooldbg line '${first}', neither completed nor the re-entry report"
        fi
        local last h s
        last=$(grep -a '^sigreent:' "$LOGS/sigreent-inside-$i.out" | tail -1)
        h=$(sed -n 's/.*handled=\([0-9]*\).*/\1/p' <<<"$last")
        s=$(sed -n 's/.*served=\([0-9]*\).*/\1/p' <<<"$last")
        handled_total=$((handled_total + ${h:-0}))
        served_total=$((served_total + ${s:-0}))
    done
    summary="3 runs: $completed completed, $reported stopped by the re-entry report; handlers entered $handled_total times, $served_total mallocs served"
}

# 4. fork inside a signal handler
t_sigfork-idle() {
    run sigfork-idle 60 "" -- "$BIN/sigfork" idle 300 4
    expect_rc 0 $rc "sigfork idle 300"
    local stray
    stray=$(stray_lines "$LOGS/sigfork-idle.err" '^$')
    [ -z "$stray" ] || note "libpooldbg printed: $stray"
    summary=$(tail -1 "$LOGS/sigfork-idle.out" | sed 's/^sigfork: //')
}
t_sigfork-busy() {
    # The handler interrupts threads that are inside malloc/free. Allowed:
    # completes, or the re-entry report. A hang (fork's prepare handler
    # waiting for a lock the interrupted thread holds) is the failure.
    run sigfork-busy 12 "" -- "$BIN/sigfork" busy 200 4
    local first
    first=$(grep -a '^libpooldbg:' "$LOGS/sigfork-busy.err" | head -1)
    if [ $rc -eq 0 ]; then
        summary="completed: $(tail -1 "$LOGS/sigfork-busy.out" | sed 's/^sigfork: //')"
        [ -z "$first" ] || note "completed but libpooldbg printed: $first"
    elif [ $rc -eq 134 ] && [ "$first" = "libpooldbg: ERROR: allocator re-entered while holding one of its locks" ]; then
        summary="stopped by the re-entry report"
    elif [ $rc -eq 1 ] && ! grep -q 'sigfork: child .* \(exited\|killed by signal [^6]\)' "$LOGS/sigfork-busy.out" &&
        [ -z "$(grep -a '^libpooldbg: ERROR' "$LOGS/sigfork-busy.err" | grep -v 'allocator re-entered while holding one of its locks')" ]; then
        # A child forked while its thread was inside a critical section
        # allocates in the handler: the re-entry report stops that child.
        summary="completed; $(grep -c 'killed by signal 6' "$LOGS/sigfork-busy.out") children stopped by the re-entry report: $(tail -1 "$LOGS/sigfork-busy.out" | sed 's/^sigfork: //')"
    else
        [ $rc -eq 124 ] || [ $rc -eq 137 ] || note "exit $rc, first libpooldbg line '$first'"
        [ $rc -eq 124 ] || [ $rc -eq 137 ] && note "fork() in a handler that interrupted malloc/free deadlocked (repro: LD_PRELOAD=$LIB_ABS $BIN/sigfork busy 200 4)"
    fi
}

# 5. pthread_cancel
t_cancel() { # mode
    run cancel-$1 70 "" -- "$BIN/cancel" "$1" 200
    expect_rc 0 $rc "cancel $1 200"
    local stray
    stray=$(stray_lines "$LOGS/cancel-$1.err" '^$')
    [ -z "$stray" ] || note "libpooldbg printed: $stray"
    summary=$(tail -1 "$LOGS/cancel-$1.out" | sed 's/^cancel: //')
}
t_cancel-deferred() { t_cancel deferred; }
t_cancel-async() { t_cancel async; }

# 6. posix_spawn, vfork+exec
t_spawn() {
    run spawn 80 "" -- "$BIN/spawn" 60 4
    expect_rc 0 $rc "spawn 60 4"
    local stray
    stray=$(stray_lines "$LOGS/spawn.err" '^$')
    [ -z "$stray" ] || note "libpooldbg printed: $stray"
    summary=$(tail -1 "$LOGS/spawn.out" | sed 's/^spawn: //')
}

# 7. exhaustion
rlimit_notice_once() { # name
    local n
    n=$(grep -ac '^libpooldbg: NOTICE: RLIMIT_AS' "$LOGS/$1.err")
    [ "$n" = 1 ] || note "$n RLIMIT_AS NOTICE lines, expected exactly 1"
    local stray
    stray=$(stray_lines "$LOGS/$1.err" '^libpooldbg: NOTICE: RLIMIT_AS')
    [ -z "$stray" ] || note "libpooldbg printed: $stray"
}
t_exhaust-rlimit() {
    run exhaust-rlimit 60 "" -- "$BIN/exhaust" rlimit 256
    expect_rc 0 $rc "exhaust rlimit 256"
    while read -r l; do note "$l"; done < <(grep -a 'FAIL' "$LOGS/exhaust-rlimit.out" | head -5)
    rlimit_notice_once exhaust-rlimit
    summary=$(grep -a '^exhaust: rlimit' "$LOGS/exhaust-rlimit.out" | sed 's/^exhaust: //')
}
t_exhaust-rlimit-cxx() {
    run exhaust-rlimit-cxx 60 "" -- "$BIN/exhaust_cxx" 256
    expect_rc 0 $rc "exhaust_cxx 256"
    while read -r l; do note "$l"; done < <(grep -a 'FAIL' "$LOGS/exhaust-rlimit-cxx.out" | head -5)
    rlimit_notice_once exhaust-rlimit-cxx
    summary=$(grep -a 'before std::bad_alloc' "$LOGS/exhaust-rlimit-cxx.out" | sed 's/^exhaust_cxx: //')
}
t_exhaust-huge() {
    run exhaust-huge 60 "" -- "$BIN/exhaust" huge
    expect_rc 0 $rc "exhaust huge"
    while read -r l; do note "$l"; done < <(grep -a 'FAIL' "$LOGS/exhaust-huge.out" | head -5)
    local stray
    stray=$(stray_lines "$LOGS/exhaust-huge.err" '^$')
    [ -z "$stray" ] || note "libpooldbg printed: $stray"
    summary="$(grep -ac -- '-> NULL' "$LOGS/exhaust-huge.out") impossible requests refused"
}
t_exhaust-maplimit() {
    run exhaust-maplimit 80 "guard=mprotect:map_limit=2000" -- "$BIN/exhaust" maplimit 50000
    expect_rc 0 $rc "exhaust maplimit 50000"
    while read -r l; do note "$l"; done < <(grep -a 'FAIL' "$LOGS/exhaust-maplimit.out" | head -5)
    local n
    n=$(grep -ac '^libpooldbg: NOTICE: .*vm\.max_map_count' "$LOGS/exhaust-maplimit.err")
    [ "$n" = 1 ] || note "$n NOTICE lines naming vm.max_map_count, expected exactly 1"
    local stray
    stray=$(stray_lines "$LOGS/exhaust-maplimit.err" '^libpooldbg: NOTICE: .*vm\.max_map_count')
    [ -z "$stray" ] || note "libpooldbg printed: $stray"
    summary=$(grep -a '^exhaust: maplimit' "$LOGS/exhaust-maplimit.out" | sed 's/^exhaust: maplimit: //')
}

# 8. security: AT_SECURE. The setuid-root copy of a tiny program, linked to a
# copy of the library (ld.so ignores LD_PRELOAD paths when AT_SECURE), run by
# nobody through setpriv: ruid=nobody, euid=root.
SECDIR=
secure_setup() {
    [ -n "$SECDIR" ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
        return 1
    fi
    SECDIR=$(mktemp -d /tmp/pooldbg-secure.XXXXXX) || return 1
    chmod 755 "$SECDIR"
    mkdir -p "$SECDIR/lib" "$SECDIR/log"
    chmod 755 "$SECDIR/lib"
    chmod 1777 "$SECDIR/log"
    # As make install lays it out: the file under its SONAME, and the link
    # the linker's -lpooldbg finds.
    cp "$LIB_ABS" "$SECDIR/lib/libpooldbg.so.0" && chmod 755 "$SECDIR/lib/libpooldbg.so.0" &&
        ln -s libpooldbg.so.0 "$SECDIR/lib/libpooldbg.so"
    gcc -O0 -o "$SECDIR/secure" "$SRC/secure.c" -L"$SECDIR/lib" -lpooldbg -Wl,-rpath,"$SECDIR/lib" \
        >"$LOGS/build-secure.log" 2>&1 || return 1
    cp "$SECDIR/secure" "$SECDIR/secure-suid" && chown root:root "$SECDIR/secure-suid" && chmod 4755 "$SECDIR/secure-suid"
    cp "$SECDIR/secure" "$SECDIR/secure-sgid" && chown root:root "$SECDIR/secure-sgid" && chmod 2755 "$SECDIR/secure-sgid"
    trap 'rm -rf "$SECDIR"' EXIT
}
secure_run() { # name binary [setpriv args...]
    local name=$1 bin=$2
    shift 2
    rm -f "$SECDIR"/log/*
    (cd "$SECDIR/log" && env -u LD_PRELOAD POOLDBG_OPTIONS="on_error=exit:exitcode=42:log_path=$SECDIR/log/report.%p" \
        timeout -k 5 30 "$@" "$bin" >"$LOGS/$name.out" 2>"$LOGS/$name.err")
    rc=$?
}
secure_case() { # name binary-name setpriv-args...
    local name=$1 bin=$2
    shift 2
    if ! secure_setup; then
        echo "SKIP $name  (needs root, setpriv and gcc)"
        return 2
    fi
    secure_run "$name" "$SECDIR/$bin" "$@"
    expect_rc 42 $rc "$bin run via $1 (on_error=exit:exitcode=42)"
    grep -aq '^secure: AT_SECURE=1 ' "$LOGS/$name.out" || note "the program did not run with AT_SECURE=1: $(head -1 "$LOGS/$name.out")"
    grep -aq "^libpooldbg: WARNING: option 'log_path' ignored in a setuid/setgid program" "$LOGS/$name.err" ||
        note "no warning that log_path was ignored"
    grep -aq '^libpooldbg: ERROR: double-free on free(0x' "$LOGS/$name.err" || note "the report is not on stderr"
    local files
    files=$(ls -A "$SECDIR/log")
    [ -z "$files" ] || note "log_path was honoured in a secure program: created $files"
    summary="report on stderr, no log file, exit 42 ($(head -1 "$LOGS/$name.out" | sed 's/^secure: //'))"
}
t_secure-setuid() { secure_case secure-setuid secure-suid setpriv --reuid=65534 --regid=65534 --clear-groups; }
t_secure-setgid() { secure_case secure-setgid secure-sgid setpriv --reuid=65534 --regid=65534 --clear-groups; }
t_secure-control() {
    # the same program without AT_SECURE: log_path is honoured (the tests
    # above would pass vacuously if log_path never worked)
    if ! secure_setup; then
        echo "SKIP secure-control  (needs root, setpriv and gcc)"
        return 2
    fi
    secure_run secure-control "$SECDIR/secure"
    expect_rc 42 $rc "secure (not setuid)"
    grep -aq '^secure: AT_SECURE=0 ' "$LOGS/secure-control.out" || note "AT_SECURE was not 0"
    local f
    f=$(ls "$SECDIR"/log/report.* 2>/dev/null | head -1)
    if [ -z "$f" ]; then
        note "log_path not honoured in a normal program"
    else
        grep -aq '^libpooldbg: ERROR: double-free' "$f" || note "the log file has no report"
        ! grep -aq '^libpooldbg: ERROR' "$LOGS/secure-control.err" || note "the report went to stderr too"
    fi
    summary="log_path honoured without AT_SECURE"
}

# 8b. reports never print memory contents
t_secret-reports() {
    local m n=0
    for m in overflow underflow double interior uaf-read uaf-write guard-read realloc-freed; do
        run secret-$m 30 "" -- "$BIN/secret" "$m"
        local f=$LOGS/secret-$m.err
        [ $rc -eq 134 ] || note "$m: exit $rc, expected abort (134)"
        grep -aq '^libpooldbg: ERROR: ' "$f" || note "$m: no report"
        if grep -aq 'hunter2\|S3CR3T' "$f"; then note "$m: the report prints the block's text"; fi
        # the marker c0 ff ee 5e c2 e7 d0 0d and the text as hex, in any spelling
        if tr -cd '0-9a-fA-F\n' <"$f" | tr 'A-F' 'a-f' | grep -q -e c0ffee5e -e 5eeeffc0 -e c2e7d00d -e 0dd0e7c2 \
            -e 68756e74 -e 746e7568 -e 53334352 -e 52433353; then
            note "$m: the report prints the block's bytes in hex"
        fi
        local bytes
        bytes=$(wc -c <"$f")
        [ "$bytes" -lt 8192 ] || note "$m: the report is $bytes bytes long"
        n=$((n + 1))
    done
    summary="$n bug kinds reported, none shows the secret"
}

# ------------------------------------------------------------------ main
start=$(date +%s)
for t in "${TESTS[@]}"; do
    selected "$t" || continue
    why=()
    summary=
    t0=$(date +%s%N)
    "t_$t"
    status=$?
    [ $status -eq 2 ] && continue # skipped
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    summary="${summary:+$summary; }$((ms / 1000)).$((ms % 1000 / 100))s"
    result "$t"
done
echo "hostile: total $(( $(date +%s) - start ))s"
echo "hostile: $passed passed, $failed failed"
[ $failed -eq 0 ]
