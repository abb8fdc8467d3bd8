#!/usr/bin/env bash
# compat.sh — does the library built here load and work on an older glibc?
#
# Usage (from anywhere; runs from the repository root; needs root):
#   scripts/compat.sh [--optional]
#     --optional  (make test) when no root is cached and none can be made
#                 here (not root, no debootstrap, mirror unreachable), say so
#                 in one line and exit 0 instead of failing
# Environment: LIB (target/release/libpooldbg.so), BUILD (build; logs in
# $BUILD/compat), COMPAT_ROOT (the Debian 11 root; default
# ~/.cache/libpooldbg/compat-bullseye, see below), COMPAT_MIRROR (default:
# the Debian mirror of this machine's apt sources), COMPAT_TIMEOUT (seconds
# per command, 120).
#
# The root: Debian 11 "bullseye" (glibc 2.31), debootstrap --variant=minbase
# with gcc, g++, libc6-dev and python3, made once (a few minutes)
# and reused while its marker file matches what this script would make. It
# lives outside the working tree so that a fresh clone (CI) or `make clean`
# does not pay the bootstrap again; a missing or incomplete root is always
# rebuilt. Each run works in its own directory inside the root and mounts
# /proc in its own mount namespace (gone when the run ends, even on failure),
# so runs from two clones can share one root.
#
# Inside the root (chroot), the test programs are built with the root's own
# gcc and run with the host-built library:
#   - load: the library loads; its old-versioned libc symbols bind to
#     libdl.so.2 / libpthread.so.0 as src/sys/symver.c says (LD_DEBUG);
#   - smoke: ls, sh, coreutils, python3, gcc, threaded C and C++ programs:
#     output and exit status equal to the run without the library;
#   - syscalls: the interposed calls that hand a buffer to the kernel
#     (c_tests/syscalls.c) behave as natively, the glibc 2.33 stat names
#     (which only libpooldbg defines here) through glibc's __xstat;
#   - detect: a heap-use-after-free, a heap-buffer-overflow and a double free
#     (c_tests/detect) under guard=auto and each mechanism the kernel offers:
#     the report's first line, the block description, the stacks name the
#     program's functions, the exit status; operator new's bad_alloc; and a
#     program with its own SIGSEGV handler (c_tests/detect/ownsegv.c), whose
#     sigaction/signal calls (c_tests/sigcontract.c, a smoke test) must get
#     this glibc's answers.
#     program's functions, the exit status; a freed block given to stat(2)
#     (here glibc's __xstat) and a read(2) past a block's end; and operator
#     new's bad_alloc.
# Prints PASS/FAIL per test, the root's glibc version, and the closing line
# "compat: N passed, M failed"; exit 1 if any failed.
set -u

cd "$(dirname "$0")/.."

LIB=${LIB:-target/release/libpooldbg.so}
BUILD=${BUILD:-build}
OUT=$BUILD/compat
LOGS=$OUT/logs
TIMEOUT=${COMPAT_TIMEOUT:-120}
if [ -n "${HOME:-}" ]; then
    DEFAULT_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/libpooldbg/compat-bullseye
else
    DEFAULT_ROOT=$BUILD/compat/bullseye
fi
ROOT=${COMPAT_ROOT:-$DEFAULT_ROOT}
DIST=bullseye
PACKAGES=gcc,g++,libc6-dev,python3
# What the root was made with: a root whose marker differs is made again.
KEY="debootstrap --variant=minbase --include=$PACKAGES $DIST"
MARKER=.pooldbg-compat
# Guard mechanisms the detection set runs under: the default (auto), and
# each mechanism this kernel offers, forced (the kernel is the host's: the
# library itself probes it, as it will inside the root).
GUARDS=("")
for m in uffd marker mprotect; do
    if [ -f "$LIB" ] && env POOLDBG_OPTIONS="guard=$m" LD_PRELOAD="$(readlink -f "$LIB")" true 2>/dev/null; then
        GUARDS+=("guard=$m")
    fi
done

HELP_LINES=35
SUITE=compat
# shellcheck source=scripts/testlib.sh
. scripts/testlib.sh

optional=0
for arg in "$@"; do
    case $arg in
        --optional) optional=1 ;;
        -h | --help) sed -n "2,${HELP_LINES}p" "$0"; exit 0 ;;
        *) echo "usage: $0 [--optional]" >&2; exit 2 ;;
    esac
done

# unavailable REASON: no root can be made here
unavailable() {
    if [ $optional -eq 1 ]; then
        echo "compat: SKIPPED (no Debian 11 root: $*; the glibc 2.31 test did not run)"
        exit 0
    fi
    die "cannot make the Debian 11 root: $*"
}

# ------------------------------------------------------------ the root
root_complete() {
    [ -f "$ROOT/$MARKER" ] && [ "$(cat "$ROOT/$MARKER")" = "$KEY" ] &&
        [ -x "$ROOT/usr/bin/gcc" ] && [ -x "$ROOT/usr/bin/g++" ] && [ -e "$ROOT/dev/null" ]
}

# The first deb URI of this machine's apt sources that is not a security suite.
find_mirror() {
    if [ -n "${COMPAT_MIRROR:-}" ]; then
        echo "$COMPAT_MIRROR"
        return
    fi
    local f uri
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
            { t = s = u = ""
              for (i = 1; i <= NF; i++) {
                  if ($i ~ /^Types:/) t = $i
                  if ($i ~ /^Suites:/) s = $i
                  if ($i ~ /^URIs:/) u = $i
              }
              if (t ~ /[ \t]deb([ \t]|$)/ && s !~ /security/ && u != "") {
                  sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/); print a[1]; exit
              } }' "$f")
        [ -n "$uri" ] && { echo "$uri"; return; }
    done
    awk '$1 == "deb" && !/security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1
}

# make_root: debootstrap into ROOT (under the exclusive lock).
make_root() {
    if [ -e "$ROOT" ] && [ ! -f "$ROOT/$MARKER" ] && [ -n "$(ls -A "$ROOT" 2>/dev/null)" ]; then
        die "COMPAT_ROOT=$ROOT exists and was not made by this script; remove it or choose another"
    fi
    local mirror
    mirror=$(find_mirror)
    [ -n "$mirror" ] || unavailable "no Debian mirror in /etc/apt/sources.list.d/*.sources or sources.list (set COMPAT_MIRROR)"
    local release=$mirror/dists/$DIST/Release
    if command -v wget >/dev/null; then
        wget -q -T 10 -t 1 -O /dev/null "$release" 2>/dev/null || unavailable "$release is unreachable"
    elif command -v curl >/dev/null; then
        curl -fsS -m 10 -o /dev/null "$release" 2>/dev/null || unavailable "$release is unreachable"
    fi # (neither: apt-get and debootstrap will tell)
    if ! command -v debootstrap >/dev/null; then
        echo "compat: installing debootstrap"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } \
            >"$LOGS/apt.log" 2>&1 || unavailable "debootstrap is not installed and apt-get could not install it (log: $LOGS/apt.log)"
    fi
    local partial=$ROOT.partial t0
    rm -rf --one-file-system "$partial"
    echo "compat: making the Debian 11 ($DIST) root in $ROOT from $mirror (once; cached)"
    t0=$(date +%s)
    # In its own mount namespace: the /proc and /sys debootstrap mounts in
    # the target go away with it, even if it is killed.
    if ! unshare --mount --propagation private \
        debootstrap --variant=minbase --include="$PACKAGES" "$DIST" "$partial" "$mirror" \
        >"$LOGS/debootstrap.log" 2>&1; then
        tail -20 "$LOGS/debootstrap.log" | sed 's/^/    | /'
        die "debootstrap failed (log: $LOGS/debootstrap.log)"
    fi
    echo "$KEY" >"$partial/$MARKER"
    rm -rf --one-file-system "$ROOT"
    mv "$partial" "$ROOT"
    echo "compat: root made in $(($(date +%s) - t0)) s"
}

[ "$(id -u)" -eq 0 ] || unavailable "chroot and mount need root"
mkdir -p "$LOGS"
for tool in unshare chroot flock mount; do
    command -v $tool >/dev/null || unavailable "no $tool"
done

if [ -z "${COMPAT_IN_NAMESPACE:-}" ]; then
    ensure_library
    mkdir -p "$(dirname "$ROOT")"
    # Shared while testing, exclusive while making the root.
    exec 9>"$ROOT.lock"
    if ! root_complete; then
        flock -x 9
        root_complete || make_root
    fi
    flock -s 9
    # The rest in a private mount namespace: its /proc mount cannot outlive it.
    COMPAT_IN_NAMESPACE=1 LIB_ABS=$LIB_ABS exec unshare --mount --propagation private -- "$0" "$@"
fi

# ------------------------------------------------------------ in the root
W=/tmp/pooldbg-compat.$$ # the run's directory, as the root sees it
HW=$ROOT$W               # the same, from here
cleanup() {
    umount "$ROOT/proc" 2>/dev/null
    rm -rf --one-file-system "$HW"
}
trap cleanup EXIT
mount -t proc proc "$ROOT/proc" || die "cannot mount /proc in $ROOT"
mkdir -p "$HW"
cp "$LIB_ABS" "$HW/libpooldbg.so"
cp c_tests/syscalls.c "$HW/syscalls_contract.c"
cp c_tests/detect/uaf.c c_tests/detect/overflow.c c_tests/detect/badfree.c c_tests/detect/mismatch.cpp \
    c_tests/detect/ownsegv.c c_tests/detect/syscalls.c c_tests/sigcontract.c c_tests/threads.c c_tests/smoke/compute.c c_tests/smoke/stl_threads.cpp c_tests/smoke/threads.py "$HW/"
seq 1 50000 | awk '{ print ($1 * 7919) % 50021 " line " $1 }' >"$HW/numbers"
rm -f "$LOGS"/*.out "$LOGS"/*.err

# in_root COMMAND...: in the root, with a clean environment
in_root() {
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LC_ALL=C "$@"
}

glibc=$(in_root getconf GNU_LIBC_VERSION 2>/dev/null)
echo "compat: root $ROOT: Debian $(cat "$ROOT/etc/debian_version" 2>/dev/null), ${glibc:-unknown glibc}"
case $glibc in
    "glibc 2."*) [ "${glibc#glibc 2.}" -lt 34 ] 2>/dev/null ||
        die "the root's ${glibc} is not older than 2.34: it would not test the old symbol versions" ;;
    *) die "cannot read the root's glibc version" ;;
esac

start=$(date +%s.%N)
pids=()
build_in_root() { # NAME COMPILER FLAGS... SOURCE
    local name=$1
    shift
    in_root "$@" -o "$W/$name" >"$LOGS/build-$name.log" 2>&1
}
build_in_root uaf gcc -O0 -g -rdynamic -pthread "$W/uaf.c" & pids+=($!)
build_in_root overflow gcc -O0 -g -rdynamic -pthread "$W/overflow.c" & pids+=($!)
build_in_root badfree gcc -O0 -g -rdynamic -pthread "$W/badfree.c" & pids+=($!)
build_in_root mismatch g++ -O0 -g -rdynamic -pthread "$W/mismatch.cpp" & pids+=($!)
build_in_root syscalls gcc -O0 -g -rdynamic -pthread "$W/syscalls.c" & pids+=($!)
build_in_root syscalls_contract gcc -O0 -g -rdynamic -pthread "$W/syscalls_contract.c" -ldl & pids+=($!)
build_in_root threads gcc -O1 -g -pthread "$W/threads.c" & pids+=($!)
build_in_root stl_threads g++ -O1 -pthread "$W/stl_threads.cpp" & pids+=($!)
build_in_root ownsegv gcc -O0 -g -rdynamic "$W/ownsegv.c" & pids+=($!)
build_in_root sigcontract gcc -O0 -g -pthread "$W/sigcontract.c" & pids+=($!)
for pid in "${pids[@]}"; do
    wait "$pid" || build_failed=1
done
if [ -n "${build_failed:-}" ]; then
    cat "$LOGS"/build-*.log
    die "could not build the test programs with the root's gcc"
fi

ulimit -c 0 # the detection children abort on purpose

passed=0
failed=0
failed_names=()
problems=()
T=""
fail() { problems+=("$*"); }

end_test() {
    if [ ${#problems[@]} -eq 0 ]; then
        echo "PASS $T"
        passed=$((passed + 1))
        return
    fi
    echo "FAIL $T"
    printf '    - %s\n' "${problems[@]}"
    local f
    for f in "$LOGS/$T".*; do
        [ -s "$f" ] || continue
        echo "    --- ${f##*/}:"
        sed 's/^/    | /' "$f" | head -30
    done
    failed=$((failed + 1))
    failed_names+=("$T")
}

# run_in_root NAME SUFFIX PRELOAD OPTIONS COMMAND...: stdout, stderr in
# $LOGS/NAME.SUFFIX.{out,err}; exit status in RC
run_in_root() {
    local name=$1 suffix=$2 preload=$3 opts=$4
    shift 4
    {
        timeout -k 5 "$TIMEOUT" chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root \
            LC_ALL=C ${preload:+LD_PRELOAD=$W/libpooldbg.so} ${opts:+POOLDBG_OPTIONS=$opts} \
            "$@" >"$LOGS/$name.$suffix.out" 2>"$LOGS/$name.$suffix.err" </dev/null
        RC=$?
    } 2>/dev/null
}

# ------------------------------------------------------------ load
T=load
problems=()
run_in_root $T preloaded 1 "" /bin/true
[ $RC -eq 0 ] || fail "LD_PRELOAD=libpooldbg.so /bin/true: exit $RC"
[ -s "$LOGS/$T.preloaded.err" ] && fail "stderr is not empty"
end_test
auto=$(in_root LD_PRELOAD=$W/libpooldbg.so POOLDBG_OPTIONS=stats=1 /bin/true 2>&1 | sed -n 's/^  guard mode: //p')
echo "compat: guard=auto here is ${auto:-?}"

# The symbols src/sys/symver.c binds to GLIBC_2.2.5 are recorded against
# libc.so.6; on glibc < 2.34 they must bind to libdl / libpthread.
T=load-old-symbol-versions
problems=()
run_in_root $T preloaded 1 "" /usr/bin/env LD_BIND_NOW=1 LD_DEBUG=bindings /bin/true
for spec in dladdr:libdl.so.2 dlsym:libdl.so.2 pthread_key_create:libpthread.so.0 \
    pthread_setspecific:libpthread.so.0; do
    sym=${spec%%:*} lib=${spec#*:}
    grep -qE "binding file $W/libpooldbg\\.so \\[0\\] to [^ ]*/$lib \\[0\\]: normal symbol \`$sym' \\[GLIBC_2\\.2\\.5\\]" \
        "$LOGS/$T.preloaded.err" || fail "$sym@GLIBC_2.2.5 is not bound to $lib"
done
grep -E "binding file $W/libpooldbg\\.so " "$LOGS/$T.preloaded.err" >"$LOGS/$T.bindings"
: >"$LOGS/$T.preloaded.err" # (thousands of lines; the bindings of our library are kept)
end_test

# ------------------------------------------------------------ smoke
# smoke NAME COMMAND...: the same stdout, stderr and exit status with and
# without the library
smoke() {
    T=smoke-$1
    shift
    problems=()
    local rc_native
    run_in_root "$T" native "" "" "$@"
    rc_native=$RC
    run_in_root "$T" preloaded 1 "" "$@"
    [ $RC -eq $rc_native ] || fail "exit $RC with the library, $rc_native without"
    cmp -s "$LOGS/$T.native.out" "$LOGS/$T.preloaded.out" || fail "stdout differs from the run without the library"
    cmp -s "$LOGS/$T.native.err" "$LOGS/$T.preloaded.err" || fail "stderr differs from the run without the library"
    [ -s "$LOGS/$T.native.out" ] || fail "no output (the test tests nothing)"
    [ ${#problems[@]} -eq 0 ] && rm -f "$LOGS/$T.native.err" "$LOGS/$T.preloaded.err"
    end_test
}
smoke ls-root ls /
smoke ls-long ls -l /usr/bin /usr/lib/x86_64-linux-gnu
smoke sh sh -c 'x=0; for i in 1 2 3 4 5 6 7 8 9 10; do x=$((x + i)); echo "$i $x"; done; echo "${PATH%%:*}"'
smoke sort sort -k2,2 -k1,1n "$W/numbers"
smoke coreutils sh -c "sha256sum $W/numbers && wc $W/numbers && cut -d' ' -f1 $W/numbers | sort -n | uniq -c | sort -rn | head -5 && tr a-z A-Z <$W/numbers | tail -3"
smoke find sh -c 'find /usr/include -name "*.h" | sort | head -200; du -s --apparent-size /usr/include'
if [ -x "$ROOT/usr/bin/python3" ]; then
    smoke python3-threads python3 "$W/threads.py" 5
    smoke python3-threads-malloc /usr/bin/env PYTHONMALLOC=malloc python3 "$W/threads.py" 1
else
    echo "compat: (no python3 in the root: python3 not tested)"
fi
smoke gcc sh -c "cd $W && gcc -O2 -c compute.c -o compute-\$\$.o && sha256sum <compute-\$\$.o && gcc -o compute-\$\$ compute-\$\$.o -lm && ./compute-\$\$"
smoke threads-churn "$W/threads" churn 200
smoke threads-crossfree "$W/threads" crossfree
smoke cxx-stl-threads "$W/stl_threads"
# sigaction, signal & co.: this glibc's answers, value for value.
smoke sigcontract "$W/sigcontract"

# ------------------------------------------------------------ syscalls
# The calls that hand a buffer to the kernel, on valid buffers and errors,
# without and with the library; with it, the 2.33 stat names and
# getdents64 exist (ours, through __xstat and the system call) and work.
for how in native preloaded; do
    T=syscalls-contract-$how
    problems=()
    run_in_root "$T" "$how" "$([ $how = preloaded ] && echo 1)" "" "$W/syscalls_contract"
    ERRF=$LOGS/$T.$how.err
    [ "$RC" -eq 0 ] || fail "exit status $RC, expected 0"
    grep -q '^FAIL' "$LOGS/$T.$how.out" && fail "$(grep -m1 '^FAIL' "$LOGS/$T.$how.out")"
    ! grep -q '^libpooldbg:' "$ERRF" || fail "a libpooldbg line: $(grep -m1 '^libpooldbg:' "$ERRF")"
    if [ $how = preloaded ] && grep -q '^note: nothing defines' "$LOGS/$T.$how.out"; then
        fail "$(grep -m1 '^note: nothing defines' "$LOGS/$T.$how.out") (libpooldbg should)"
    fi
    end_test
done

# ------------------------------------------------------------ detect
# frames SECTION: the frame lines of one stack of the first report
# (fault: after the first line and the location or hint lines; freed; alloc)
frames() {
    awk -v sec="$1" '
        /^libpooldbg: ERROR: / { n++; cur = (n == 1) ? "fault" : ""; framed = 0; next }
        /^libpooldbg: end of report/ { cur = ""; next }
        /^  freed by thread T[0-9]+ here:$/ { if (n == 1) cur = "freed"; next }
        /^  allocated by .* in thread T[0-9]+ here:$/ { if (n == 1) cur = "alloc"; next }
        /^    #[0-9]+ / { if (cur == "fault") framed = 1; if (cur == sec) print; next }
        # The fault stack follows the location, the block picture and hints.
        { if (cur == "fault" && !framed) next; if (cur != "") cur = "" }
    ' "$ERRF"
}
# frame SECTION FUNC: frame #0 or #1 of that stack is in FUNC
frame() {
    frames "$1" | grep -qE "^    #[01] 0x[0-9a-f]+ in $2\\+0x[0-9a-f]+ " ||
        fail "the $1 stack does not name $2 at #0 or #1"
}
hex() { printf '0x%x' $(($1 + ${2:-0})); }
range() { printf '[%s,%s)' "$(hex "$1")" "$(hex "$1" "$2")"; }
first() { # REGEX: the first report's first line matches ^REGEX$
    local got
    got=$(grep -m1 '^libpooldbg: ERROR: ' "$ERRF")
    [[ $got =~ ^$1$ ]] || fail "first line: expected /^$1\$/, got '${got:-<none>}'"
}
line() { grep -qFx -- "$1" "$ERRF" || fail "missing line: '$1'"; }
status() { [ "$RC" -eq "$1" ] || fail "exit status $RC, expected $1"; }

# detect NAME OPTIONS PROGRAM ARGS...: runs it; sets ADDR, ERRF, OUTF
detect() {
    T=$1
    local opts=$2
    shift 2
    problems=()
    run_in_root "$T" preloaded 1 "$opts" "$W/$1" "${@:2}"
    ERRF=$LOGS/$T.preloaded.err OUTF=$LOGS/$T.preloaded.out
    ADDR=$(awk '$1 == "ADDR" { print $2; exit }' "$OUTF")
    [ -n "$ADDR" ] || fail "the program printed no ADDR line"
}

for guard in "${GUARDS[@]}"; do
    tag=${guard:-auto}
    tag=${tag#guard=}
    if detect "detect-$tag-use-after-free" "$guard" uaf 32 0 write now && [ -n "$ADDR" ]; then
        status 134
        first "libpooldbg: ERROR: heap-use-after-free on address $(hex "$ADDR") \\(WRITE of size 1\\) at pc 0x[0-9a-f]+ thread T0"
        line "  $(hex "$ADDR") is located 0 bytes inside of freed 32-byte block $(range "$ADDR" 32) in pool 32"
        frame fault use_after_free_write
        frame freed release_block
        frame alloc alloc_block
    fi
    end_test
    if detect "detect-$tag-heap-buffer-overflow" "$guard" overflow malloc 32 32 write 1 && [ -n "$ADDR" ]; then
        status 134
        first "libpooldbg: ERROR: heap-buffer-overflow on address $(hex "$ADDR" 32) \\(WRITE of size 1\\) at pc 0x[0-9a-f]+ thread T0"
        line "  $(hex "$ADDR" 32) is located 0 bytes to the right of 32-byte block $(range "$ADDR" 32) in pool 32"
        frame fault bad_write
        frame alloc alloc_block
    fi
    end_test
    if detect "detect-$tag-double-free" "$guard" badfree double && [ -n "$ADDR" ]; then
        status 134
        first "libpooldbg: ERROR: double-free on free\\($(hex "$ADDR")\\)"
        line "  $(hex "$ADDR") is the 32-byte block $(range "$ADDR" 32) in pool 32, already freed by thread T0"
        line "  allocated by malloc in thread T0 here:"
        frame alloc alloc_block
    fi
    end_test
    # A program with its own SIGSEGV/SIGBUS handler: the overflow is still
    # reported (sigaction and signal are ours; glibc's by __sigaction and
    # dlsym@GLIBC_2.2.5), a null read it gives back gets the SEGV report.
    if detect "detect-$tag-own-handler-overflow" "$guard" ownsegv reraise overflow && [ -n "$ADDR" ]; then
        status 134
        first "libpooldbg: ERROR: heap-buffer-overflow on address $(hex "$ADDR" 32) \\(WRITE of size 1\\) at pc 0x[0-9a-f]+ thread T0"
        frame fault bad_write
        frame alloc alloc_block
        grep -qFx "HANDLED 3" "$OUTF" || fail "stdout lacks 'HANDLED 3' (its own faults)"
    fi
    end_test
    if detect "detect-$tag-own-handler-null-given-back" "$guard" ownsegv nodefer null && [ -n "$ADDR" ]; then
        status 139
        first "libpooldbg: ERROR: SEGV on unknown address 0x14 \\(READ of size 4\\) at pc 0x[0-9a-f]+ thread T0"
        frame fault read_value
    fi
    end_test
    # Buffers handed to the kernel: stat(2) is glibc's __xstat here.
    if detect "detect-$tag-stat-use-after-free" "$guard" syscalls stat statbuf uaf 144 144 && [ -n "$ADDR" ]; then
        status 134
        first "libpooldbg: ERROR: heap-use-after-free on address $(hex "$ADDR") \\(WRITE of size 144\\) in stat\\(2\\) thread T0"
        line "  $(hex "$ADDR") is located 0 bytes inside of freed 144-byte block $(range "$ADDR" 144) in pool 160"
        frame fault do_call
        frame freed release_block
        frame alloc alloc_block
    fi
    end_test
    if detect "detect-$tag-read-heap-buffer-overflow" "$guard" syscalls read buf overflow 32 200 && [ -n "$ADDR" ]; then
        status 134
        first "libpooldbg: ERROR: heap-buffer-overflow on address $(hex "$ADDR" 32) \\(WRITE of size 200\\) in read\\(2\\) thread T0"
        line "  read(2)'s buf is the 200-byte range $(range "$ADDR" 200), which the kernel would write"
        frame fault do_call
        frame alloc alloc_block
    fi
    end_test
    # operator new's failure finds libstdc++'s thrower with dlsym@GLIBC_2.2.5.
    T=detect-$tag-new-throws-bad_alloc
    problems=()
    run_in_root "$T" preloaded 1 "$guard" "$W/mismatch" bad_alloc
    ERRF=$LOGS/$T.preloaded.err
    status 0
    grep -qFx "caught std::bad_alloc" "$LOGS/$T.preloaded.out" || fail "stdout lacks 'caught std::bad_alloc'"
    ! grep -q '^libpooldbg: ERROR' "$ERRF" || fail "a libpooldbg report"
    end_test
done

# ------------------------------------------------------------ summary
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
[ $failed -gt 0 ] && echo "compat: failed: ${failed_names[*]}"
echo "compat: ($glibc; $elapsed s; logs in $LOGS)"
echo "compat: $passed passed, $failed failed"
[ $failed -eq 0 ]
