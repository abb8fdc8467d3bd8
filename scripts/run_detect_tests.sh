#!/usr/bin/env bash
# run_detect_tests.sh — death tests: every bug class libpooldbg detects.
#
# Usage (from anywhere; runs from the repository root):
#   scripts/run_detect_tests.sh [--list] [PATTERN...]
#     PATTERN  run only the tests whose name contains one of the patterns
#     --list   print the test names and exit
# Environment: LIB (target/release/libpooldbg.so; built with
# `cargo build --release` when it is the default and missing or older than
# src/), BUILD (build), DETECT_TIMEOUT (seconds per child, 30), and
# DETECT_OPTIONS (extra POOLDBG_OPTIONS put before each test's own, e.g.
# guard=mprotect to run every test in that mode).
#
# The programs are c_tests/detect/*.c and *.cpp, one per bug class, built
# -O0 -g -rdynamic. Each test runs one child under LD_PRELOAD with its own
# POOLDBG_OPTIONS (an inherited one is dropped), then checks its exit status,
# the report's first line exactly (the address is built from the "ADDR 0x…"
# line the child prints before the bug), the detail lines, and that the
# faulting, "freed by" and "allocated by" stacks name the test's own
# noinline functions at #0 or #1.
# Prints "PASS name" or "FAIL name" with the failed checks, the command and
# the child's stderr; closing line "detect: N passed, M failed"; exit 1 if any
# failed. Logs: $BUILD/detect/logs/NAME.{out,err}.
set -u

cd "$(dirname "$0")/.."

LIB=${LIB:-target/release/libpooldbg.so}
BUILD=${BUILD:-build}
TIMEOUT=${DETECT_TIMEOUT:-30}
SRC=c_tests/detect
OUT=$BUILD/detect
BIN=$OUT/bin
LOGS=$OUT/logs

HELP_LINES=26
SUITE=detect
# shellcheck source=scripts/testlib.sh
. scripts/testlib.sh
parse_test_args "$@"


# ------------------------------------------------------------------ library
mkdir -p "$BIN" "$LOGS"
if [ $list_only -eq 0 ]; then
    ensure_library
fi

# ------------------------------------------------------------------ build
CFLAGS=(-O0 -g -rdynamic -pthread -Wall -Wextra)
if [ $list_only -eq 0 ]; then
    pids=()
    for src in "$SRC"/*.c "$SRC"/*.cpp; do
        [ -f "$src" ] || continue
        name=$(basename "${src%.*}")
        exe=$BIN/$name
        [ -x "$exe" ] && [ "$exe" -nt "$src" ] && continue
        case $src in
            *.cpp) cc=g++ ;;
            *) cc=gcc ;;
        esac
        "$cc" "${CFLAGS[@]}" "$src" -o "$exe" 2>"$OUT/$name.build.log" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || build_failed=1
    done
    if [ -n "${build_failed:-}" ]; then
        cat "$OUT"/*.build.log
        die "could not build the test programs"
    fi
fi

ulimit -c 0 # the children abort on purpose

# ------------------------------------------------------------------ harness
passed=0
failed=0
failed_names=()
T=""          # current test name
RC=0          # its exit status (128+signal when killed)
ERRF=""       # its stderr file
OUTF=""       # its stdout file
ADDR=""       # the block address it printed ("ADDR 0x…")
CMD=""        # how to reproduce it
problems=()


# run NAME [VAR=VALUE...] -- PROGRAM [ARGS...]
# Starts a test: runs $BIN/PROGRAM under the library. Returns 1 (and the
# caller skips its checks) when the test is not selected.
run() {
    T=$1
    shift
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        envs+=("$1")
        shift
    done
    shift
    if [ -n "${DETECT_OPTIONS:-}" ]; then
        # the test's own options come last, so they win
        local i found=0
        for i in "${!envs[@]}"; do
            case ${envs[$i]} in
                POOLDBG_OPTIONS=*) envs[$i]="POOLDBG_OPTIONS=$DETECT_OPTIONS:${envs[$i]#POOLDBG_OPTIONS=}"; found=1 ;;
            esac
        done
        [ $found -eq 1 ] || envs+=("POOLDBG_OPTIONS=$DETECT_OPTIONS")
    fi
    if [ $list_only -eq 1 ]; then
        echo "$T"
        return 1
    fi
    selected "$T" || return 1
    problems=()
    OUTF=$LOGS/$T.out
    ERRF=$LOGS/$T.err
    local prog=$1
    shift
    CMD="env -u POOLDBG_OPTIONS ${envs[*]} LD_PRELOAD=$LIB_ABS $BIN/$prog $*"
    # (braces + 2>/dev/null: no "Aborted" line from bash for children that abort on purpose)
    { timeout -k 5 "$TIMEOUT" env -u POOLDBG_OPTIONS "${envs[@]}" LD_PRELOAD="$LIB_ABS" \
        "$BIN/$prog" "$@" >"$OUTF" 2>"$ERRF"; } 2>/dev/null
    RC=$?
    [ $RC -eq 124 ] && problems+=("timed out after ${TIMEOUT}s")
    ADDR=$(awk '$1 == "ADDR" { print $2; exit }' "$OUTF")
    return 0
}

fail() { problems+=("$*"); }

# hex ADDR [DELTA]: ADDR + DELTA as the library prints it (0x…, lowercase)
hex() { printf '0x%x' $(($1 + ${2:-0})); }

# range A B: the "[0x…,0x…)" of a block at A of B bytes
range() { printf '[%s,%s)' "$(hex "$1")" "$(hex "$1" "$2")"; }

need_addr() {
    if [ -z "$ADDR" ]; then
        fail "the program printed no ADDR line"
        return 1
    fi
}

status() {
    [ "$RC" -eq "$1" ] || fail "exit status $RC, expected $1${2:+ ($2)}"
}
aborted() { status 134 "SIGABRT"; }

# report_line N: the first line of the N-th report (1-based)
report_line() { grep '^libpooldbg: ERROR: ' "$ERRF" | sed -n "${1:-1}p"; }

# first LINE [N]: the N-th report's first line is exactly LINE
first() {
    local got
    got=$(report_line "${2:-1}")
    [ "$got" = "$1" ] || fail "report ${2:-1} first line: expected '$1', got '${got:-<none>}'"
}

# first_re REGEX: the first report's first line matches ^REGEX$
first_re() {
    local got
    got=$(report_line 1)
    [[ $got =~ ^$1$ ]] || fail "first line: expected /^$1\$/, got '${got:-<none>}'"
}

# line LINE: stderr has exactly this line
line() { grep -qFx -- "$1" "$ERRF" || fail "missing line: '$1'"; }

# line_re REGEX: stderr has a line matching ^REGEX$
line_re() { grep -qE -- "^$1\$" "$ERRF" || fail "no line matching /^$1\$/"; }

# no_line_re REGEX [FILE]: no line of stderr (or FILE) matches REGEX
no_line_re() { ! grep -qE -- "$1" "${2:-$ERRF}" || fail "unexpected line matching /$1/ in ${2:-stderr}"; }

reports() {
    local n
    n=$(grep -c '^libpooldbg: ERROR: ' "$ERRF")
    [ "$n" -eq "$1" ] || fail "$n reports, expected $1"
    n=$(grep -c '^libpooldbg: end of report (pid [0-9]*)$' "$ERRF")
    [ "$n" -eq "$1" ] || fail "$n 'end of report' lines, expected $1"
}

out_has() { grep -qFx -- "$1" "$OUTF" || fail "stdout lacks '$1'"; }
out_lacks() { ! grep -qF -- "$1" "$OUTF" || fail "stdout has '$1' (the program went on after the bug)"; }

# frames SECTION [N]: the frame lines of one stack of the N-th report.
# SECTION: fault (after the first lines), freed ("freed by ... here:"),
# alloc ("allocated by ... here:")
frames() {
    awk -v sec="$1" -v want="${2:-1}" '
        /^libpooldbg: ERROR: / { n++; cur = (n == want) ? "fault" : ""; next }
        /^libpooldbg: end of report/ { cur = ""; next }
        /^  freed by thread T[0-9]+ here:$/ { if (n == want) cur = "freed"; next }
        /^  allocated by .* in thread T[0-9]+ here:$/ { if (n == want) cur = "alloc"; next }
        /^    #[0-9]+ / { if (cur == sec) print; next }
        { if (cur == "fault" && /^  0x/) next; if (cur != "") cur = "" }
    ' "$ERRF"
}

# frame SECTION FUNC: frame #0 or #1 of that stack is in FUNC
frame() {
    frames "$1" | grep -qE "^    #[01] 0x[0-9a-f]+ in $2\+0x[0-9a-f]+ " ||
        fail "the $1 stack does not name $2 at #0 or #1"
}

# pc_is_frame0: the "at pc 0x…" of the first line is frame #0 of the fault stack
pc_is_frame0() {
    local pc f0
    pc=$(report_line 1 | sed -n 's/.* at pc \(0x[0-9a-f]*\) thread T[0-9]*$/\1/p')
    f0=$(frames fault | sed -n 's/^    #0 \(0x[0-9a-f]*\) .*/\1/p')
    [ -n "$pc" ] && [ "$pc" = "$f0" ] || fail "pc '$pc' is not frame #0 '$f0'"
}

# fault KIND ACCESS ADDR WHERE N BLOCK SIZE POOL FUNC [FREED]
# A report at the faulting instruction in thread T0: exact first line (but
# the pc), exact "located" line, the fault stack names FUNC, the allocation
# stack names alloc_block.
#   ACCESS "WRITE of size 1" ...; WHERE "to the right of" | "to the left of" |
#   "inside of"; N the distance; BLOCK, SIZE, POOL the block; FREED "freed "
fault() {
    local kind=$1 access=$2 addr=$3 where=$4 n=$5 block=$6 size=$7 pool=$8 func=$9 freed=${10:-}
    first_re "libpooldbg: ERROR: $kind on address $(hex "$addr") \\($access\\) at pc 0x[0-9a-f]+ thread T0"
    line "  $(hex "$addr") is located $n bytes $where ${freed}$size-byte block $(range "$block" "$size") in pool $pool"
    frame fault "$func"
    pc_is_frame0
    line_re "  allocated by malloc in thread T0 here:"
    frame alloc alloc_block
    reports 1
}

# bad_pointer KIND FUNC PTR: the first line of a report on free/realloc/...
bad_pointer() { first "libpooldbg: ERROR: $1 on $2($(hex "$3"))"; }

# A pointer outside the heap, given to FUNC
foreign() {
    bad_pointer invalid-free "$1" "$2"
    line "  $(hex "$2") was not returned by malloc: it is outside libpooldbg's heap (stack, global, mmap'ed or wild pointer)"
}

# canary_at_free KIND FUNC BLOCK SIZE POOL CORRUPT_OFFSET: a canary after
# (KIND heap-buffer-overflow) or before (heap-buffer-underflow) the block
# found damaged when FUNC released it
canary_at_free() {
    local kind=$1 func=$2 block=$3 size=$4 pool=$5 off=$6
    bad_pointer "$kind" "$func" "$block"
    if [ "$kind" = heap-buffer-overflow ]; then
        line "  the canary after the $size-byte block $(range "$block" "$size") in pool $pool was overwritten:"
        line "  first corrupted byte $(hex "$block" $((size + off))) is $off bytes to the right of the block (found by $func)"
    else
        line "  the canary before the $size-byte block $(range "$block" "$size") in pool $pool was overwritten:"
        line "  last corrupted byte $(hex "$block" $((-off))) is $off bytes to the left of the block (found by $func)"
    fi
    line "  allocated by malloc in thread T0 here:"
    reports 1
}

end_test() {
    [ $list_only -eq 1 ] && return
    if [ ${#problems[@]} -eq 0 ]; then
        echo "PASS $T"
        passed=$((passed + 1))
        return
    fi
    echo "FAIL $T"
    local p
    for p in "${problems[@]}"; do
        echo "    - $p"
    done
    echo "    reproduce: $CMD"
    echo "    --- stdout:"
    sed 's/^/    | /' "$OUTF" | head -20
    echo "    --- stderr:"
    sed 's/^/    | /' "$ERRF" | head -60
    failed=$((failed + 1))
    failed_names+=("$T")
}

start=$(date +%s.%N)

# ============================================================ overflow.c
# heap-buffer-overflow at the instruction. Sizes that are multiples of 16
# end against the guard page: one byte past them faults.
# ovf NAME ALLOC SIZE OFFSET OP WIDTH POOL [ALIGN] — one fault test
ovf() {
    local name=$1 alloc=$2 size=$3 off=$4 op=$5 width=$6 pool=$7 align=${8:-}
    local opts=${OVF_OPTS:-}
    run "$name" ${opts:+POOLDBG_OPTIONS=$opts} -- overflow "$alloc" "$size" "$off" "$op" "$width" $align || return
    need_addr || { end_test; return; }
    local access=WRITE func=bad_write
    [ "$op" = read ] && { access=READ; func=bad_read; }
    aborted
    fault heap-buffer-overflow "$access of size $width" "$(hex "$ADDR" "$off")" "to the right of" \
        $((off - size)) "$ADDR" "$size" "$pool" "$func"
    out_lacks "NOT DETECTED"
    end_test
}
ovf overflow-malloc16-write1        malloc 16 16 write 1 16
ovf overflow-malloc32-read8         malloc 32 32 read 8 32
ovf overflow-malloc32-far-write     malloc 32 $((32 + 4096 + 100)) write 1 32
ovf overflow-malloc4096-write4      malloc 4096 4096 write 4 4096
ovf overflow-malloc4096-far-read    malloc 4096 $((4096 + 4096 + 100)) read 1 4096
ovf overflow-malloc100000-write2    malloc 100000 100000 write 2 114688
ovf overflow-malloc1M-read1         malloc 1048576 1048576 read 1 1048576
ovf overflow-malloc1M-far-write8    malloc 1048576 $((1048576 + 4096 + 100)) write 8 1048576
ovf overflow-malloc100-rounded      malloc 100 112 write 1 112   # 100 -> 112: p[112] faults
ovf overflow-malloc0                malloc 0 0 write 1 16
ovf overflow-calloc32-write1        calloc 32 32 write 1 32
ovf overflow-calloc4096-read4       calloc 4096 4096 read 4 4096
ovf overflow-realloc-grown          realloc_grow 4096 4096 write 1 4096
ovf overflow-realloc-shrunk         realloc_shrink 32 32 read 1 32
ovf overflow-posix_memalign64       posix_memalign 128 128 write 1 192 64
ovf overflow-posix_memalign4096     posix_memalign 4096 4096 read 8 8192 4096
ovf overflow-aligned_alloc256       aligned_alloc 512 512 write 1 768 256
ovf overflow-memalign32-past-slack  memalign 40 64 write 1 80 32   # 24 bytes of slack, then the guard
ovf overflow-posix_memalign8192-page-end posix_memalign 100 4096 write 1 10240 8192 # canary to the page end, then trapped
OVF_OPTS=guard=mprotect ovf overflow-mprotect-malloc32-write8   malloc 32 32 write 8 32
OVF_OPTS=guard=mprotect ovf overflow-mprotect-malloc1M-far-read malloc 1048576 $((1048576 + 4196)) read 1 1048576

# An 8-byte read that starts inside the block and ends in the guard page: the
# kernel reports the first byte of the trapped page, so does the report.
if run overflow-straddling-read8 -- overflow malloc 4096 4092 read 8; then
    need_addr && {
        aborted
        fault heap-buffer-overflow "READ of size 8" "$(hex "$ADDR" 4096)" "to the right of" 0 "$ADDR" 4096 4096 bad_read
    }
    end_test
fi

# The bad write from a second thread: T1 in the first line, allocation in T0.
if run overflow-in-thread -- overflow malloc 32 32 write_in_thread 1; then
    need_addr && {
        aborted
        first_re "libpooldbg: ERROR: heap-buffer-overflow on address $(hex "$ADDR" 32) \\(WRITE of size 1\\) at pc 0x[0-9a-f]+ thread T1"
        line "  $(hex "$ADDR" 32) is located 0 bytes to the right of 32-byte block $(range "$ADDR" 32) in pool 32"
        frame fault bad_write
        pc_is_frame0
        line "  allocated by malloc in thread T0 here:"
        frame alloc alloc_block
    }
    end_test
fi

# Inside libc: the faulting frame is libc's, #1 the test's; the access size
# is whatever vector width libc chose.
if run overflow-strcpy-in-libc -- overflow strcpy 16 40 write 1; then
    need_addr && {
        aborted
        first_re "libpooldbg: ERROR: heap-buffer-overflow on address $(hex "$ADDR" 16) \\(WRITE of (size [0-9]+|unknown size)\\) at pc 0x[0-9a-f]+ thread T0"
        line "  $(hex "$ADDR" 16) is located 0 bytes to the right of 16-byte block $(range "$ADDR" 16) in pool 16"
        frame fault copy_string
        pc_is_frame0
        frame alloc alloc_block
    }
    end_test
fi
for n in 64 5000; do
    if run overflow-memcpy-in-libc-$n -- overflow memcpy 32 $n write 1; then
        need_addr && {
            aborted
            first_re "libpooldbg: ERROR: heap-buffer-overflow on address $(hex "$ADDR" 32) \\(WRITE of (size [0-9]+|unknown size)\\) at pc 0x[0-9a-f]+ thread T0"
            line "  $(hex "$ADDR" 32) is located 0 bytes to the right of 32-byte block $(range "$ADDR" 32) in pool 32"
            frame fault copy_bytes
            pc_is_frame0
            frame alloc alloc_block
        }
        end_test
    fi
done

# Far from any block (three slots up, in a pool with one block): wild.
if run wild-access-in-heap -- overflow malloc 32 24576 write 1; then
    need_addr && {
        aborted
        first_re "libpooldbg: ERROR: heap-wild-access on address $(hex "$ADDR" 24576) \\(WRITE of size 1\\) at pc 0x[0-9a-f]+ thread T0"
        line "  $(hex "$ADDR" 24576) lies in libpooldbg's heap but near no block (a wild or stale pointer)"
        frame fault bad_write
        pc_is_frame0
        reports 1
    }
    end_test
fi

# ============================================================ slack.c
# Overflows inside the alignment slack: found by the tail canary at free /
# realloc, naming the first corrupted byte.
# slk NAME ALLOC SIZE OFFSET RELEASE FUNC POOL [OPTIONS]
slk() {
    local name=$1 alloc=$2 size=$3 off=$4 rel=$5 func=$6 pool=$7 opts=${8:-}
    run "$name" ${opts:+POOLDBG_OPTIONS=$opts} -- slack "$alloc" "$size" "$off" "$rel" || return
    need_addr && {
        aborted
        canary_at_free heap-buffer-overflow "$func" "$ADDR" "$size" "$pool" $((off - size))
        out_lacks RELEASED
    }
    end_test
}
slk slack-malloc13-at-free          malloc 13 13 free free 16
slk slack-malloc13-at-realloc       malloc 13 13 realloc realloc 16
slk slack-malloc13-at-realloc-inplace malloc 13 13 realloc_inplace realloc 16
slk slack-malloc100-last-byte       malloc 100 111 free free 112
slk slack-memalign32-40-at-free     memalign32 40 40 free free 80
slk slack-memalign8192-at-free      memalign8192 100 4095 free free 10240
slk slack-realloc-shrunk-inplace    shrunk 20 25 free free 32
slk slack-realloc-grown-inplace     grown 30 30 free free 32
slk slack-protect_below-at-free     malloc 32 32 free free 32 protect_below=1

# alignment=1: blocks end at the guard, the same write faults at once.
for sz in 13 100; do
    if run slack-alignment1-malloc$sz-at-once POOLDBG_OPTIONS=alignment=1 -- slack malloc $sz $sz free; then
        need_addr && {
            aborted
            fault heap-buffer-overflow "WRITE of size 1" "$(hex "$ADDR" $sz)" "to the right of" 0 "$ADDR" $sz \
                $(( (sz + 15) / 16 * 16 )) write_slack
            out_lacks RELEASED
        }
        end_test
    fi
done

# ============================================================ underflow.c
# p[-1..-8] is the owner link: corrupted-owner-link at free.
for off in 1 8; do
    if run underflow-owner-link-$off -- underflow 32 $off write; then
        need_addr && {
            aborted
            bad_pointer corrupted-owner-link free "$ADDR"
            line_re "  the owner link at $(hex "$ADDR" -8), 8 bytes before the 32-byte block \\[$(hex "$ADDR"),$(hex "$ADDR" 32)\\) in pool 32, holds 0x[0-9a-f]+; expected 0x[0-9a-f]+"
            line "  allocated by malloc in thread T0 here:"
            reports 1
            out_lacks FREED
        }
        end_test
    fi
done
# p[-9] and below (within the block's first page): head canary, at free.
for off in 9 100; do
    if run underflow-head-canary-$off -- underflow 32 $off write; then
        need_addr && {
            aborted
            canary_at_free heap-buffer-underflow free "$ADDR" 32 32 $off
            out_lacks FREED
        }
        end_test
    fi
done
# Far below: the page under the block's run is trapped.
for spec in "32 write" "4096 read"; do
    set -- $spec
    if run underflow-far-$1-$2 -- underflow $1 5000 $2; then
        need_addr && {
            access=WRITE func=write_below
            [ $2 = read ] && { access=READ; func=read_below; }
            aborted
            fault heap-buffer-underflow "$access of size 1" "$(hex "$ADDR" -5000)" "to the left of" 5000 \
                "$ADDR" $1 $1 $func
            out_lacks FREED
        }
        end_test
    fi
done
# protect_below=1: the block starts right after a trapped page.
for op in write read; do
    if run underflow-protect_below-$op-at-once POOLDBG_OPTIONS=protect_below=1 -- underflow 32 1 $op; then
        need_addr && {
            func=write_below access=WRITE
            [ $op = read ] && { access=READ; func=read_below; }
            aborted
            fault heap-buffer-underflow "$access of size 1" "$(hex "$ADDR" -1)" "to the left of" 1 "$ADDR" 32 32 $func
        }
        end_test
    fi
done

# ============================================================ uaf.c
# uaf NAME SIZE OFFSET OP WHEN FREEFUNC POOL [OPTIONS]
uaf() {
    local name=$1 size=$2 off=$3 op=$4 when=$5 freefunc=$6 pool=$7 opts=${8:-}
    run "$name" ${opts:+POOLDBG_OPTIONS=$opts} -- uaf "$size" "$off" "$op" "$when" || return
    need_addr && {
        local access=WRITE func=use_after_free_write
        [ "$op" = read ] && { access=READ; func=use_after_free_read; }
        aborted
        fault heap-use-after-free "$access of size 1" "$(hex "$ADDR" "$off")" "inside of" "$off" "$ADDR" "$size" \
            "$pool" "$func" "freed "
        frame freed "$freefunc"
        if [ "$when" = thread ]; then
            line "  freed by thread T1 here:"
        else
            line "  freed by thread T0 here:"
        fi
        out_lacks "NOT DETECTED"
    }
    end_test
}
uaf uaf-malloc32-write          32 0 write now release_block 32
uaf uaf-malloc32-read-last      32 31 read now release_block 32
uaf uaf-malloc1M-read           1048576 524288 read now release_block 1048576
uaf uaf-malloc1M-write-last     1048576 1048575 write now release_block 1048576
uaf uaf-after-10000-allocs      32 7 read after_many release_block 32
uaf uaf-after-realloc-moved     16 3 write realloc move_block 16
uaf uaf-freed-by-other-thread   32 0 read thread release_block 32
uaf uaf-mprotect-malloc32-write 32 16 write now release_block 32 guard=mprotect
uaf uaf-mprotect-after-10000    4096 100 read after_many release_block 4096 guard=mprotect

# ============================================================ badfree.c
# bf NAME MODE: runs badfree MODE; sets BAD to the pointer it handed over
bf() {
    run "$1" -- badfree "$2" || return 1
    BAD=$(awk '$1 == "BAD" { print $2; exit }' "$OUTF")
    if [ -z "$ADDR" ] || [ -z "$BAD" ]; then
        fail "the program printed no ADDR/BAD line"
        end_test
        return 1
    fi
    aborted
    reports 1
    out_lacks SURVIVED
    return 0
}
if bf double-free double; then
    bad_pointer double-free free "$ADDR"
    line "  $(hex "$ADDR") is the 32-byte block $(range "$ADDR" 32) in pool 32, already freed by thread T0"
    line "  allocated by malloc in thread T0 here:"
    end_test
fi
if bf double-free-across-threads double_thread; then
    bad_pointer double-free free "$ADDR"
    line "  $(hex "$ADDR") is the 32-byte block $(range "$ADDR" 32) in pool 32, already freed by thread T1"
    end_test
fi
for mode in stack global wild mmap forged; do
    if bf invalid-free-$mode $mode; then
        foreign free "$BAD"
        end_test
    fi
done
if bf invalid-free-heap-canary heap_canary; then
    bad_pointer invalid-free free "$BAD"
    line "  $(hex "$BAD") is not the start of a heap block: it lies in a live block's slot, outside the block (pool 32)"
    line "  nearest block: 32-byte block $(range "$ADDR" 32)"
    end_test
fi
if bf invalid-free-heap-empty-slot heap_unused; then
    bad_pointer invalid-free free "$BAD"
    line "  $(hex "$BAD") is not the start of a heap block: it lies in a slot that holds no block (pool 32)"
    end_test
fi
if bf interior-pointer-free interior; then
    bad_pointer interior-pointer-free free "$BAD"
    line "  $(hex "$BAD") is 8 bytes inside the 32-byte block $(range "$ADDR" 32) in pool 32"
    line "  allocated by malloc in thread T0 here:"
    end_test
fi
if bf realloc-of-freed realloc_freed; then
    bad_pointer double-free realloc "$ADDR"
    line "  $(hex "$ADDR") is the 32-byte block $(range "$ADDR" 32) in pool 32, already freed by thread T0"
    end_test
fi
if bf realloc-of-interior realloc_interior; then
    bad_pointer interior-pointer-free realloc "$BAD"
    line "  $(hex "$BAD") is 16 bytes inside the 32-byte block $(range "$ADDR" 32) in pool 32"
    end_test
fi
if bf interior-free-of-freed-block interior_freed; then
    bad_pointer invalid-free free "$BAD"
    line "  $(hex "$BAD") is not the start of a heap block: it lies in a freed block's slot (pool 32)"
    line "  nearest block: 32-byte block $(range "$ADDR" 32)"
    end_test
fi
# Two threads free the same block at the same moment, 200 times: exactly one
# of each pair is reported, and reports never interleave.
if run double-free-race POOLDBG_OPTIONS=on_error=continue -- badfree double_race; then
    status 0
    out_has SURVIVED
    reports 200
    n=$(grep -cE '^libpooldbg: ERROR: double-free on free\(0x[0-9a-f]+\)$' "$ERRF")
    [ "$n" -eq 200 ] || fail "$n double-free first lines, expected 200"
    n=$(grep -cE '^  0x[0-9a-f]+ is the 32-byte block \[0x[0-9a-f]+,0x[0-9a-f]+\) in pool 32, already freed by thread T[0-9]+$' "$ERRF")
    [ "$n" -eq 200 ] || fail "$n 'already freed by' lines, expected 200"
    awk '/^libpooldbg: ERROR: / { if (open) bad = 1; open = 1 }
         /^libpooldbg: end of report/ { if (!open) bad = 1; open = 0 }
         END { exit bad || open }' "$ERRF" || fail "reports interleave"
    end_test
fi
# The forged copy inside another heap block: an interior pointer of that block.
if bf forged-block-in-heap forged_heap; then
    bad_pointer interior-pointer-free free "$BAD"
    line_re "  $(hex "$BAD") is 80 bytes inside the 4096-byte block \\[$(hex "$BAD" -80),$(hex "$BAD" $((4096 - 80)))\\) in pool 4096"
    end_test
fi
if bf usable-size-of-freed usable_freed; then
    bad_pointer double-free malloc_usable_size "$ADDR"
    end_test
fi
if bf usable-size-of-stack usable_stack; then
    foreign malloc_usable_size "$BAD"
    end_test
fi

# ============================================================ mismatch.cpp
mismatch_detail() { echo "  the 32-byte block $(range "$ADDR" 32) was allocated by $1 and is released by $2"; }
for spec in "malloc_delete|malloc|operator delete" "new_free|operator new|free" \
    "newarr_delete|operator new[]|operator delete" "new_deletearr|operator new|operator delete[]" \
    "new_realloc|operator new|realloc"; do
    IFS='|' read -r mode by func <<<"$spec"
    if run mismatch-$mode -- mismatch "$mode"; then
        need_addr && {
            aborted
            bad_pointer alloc-dealloc-mismatch "$func" "$ADDR"
            line "$(mismatch_detail "$by" "$func")"
            line "  (pair malloc/free, new/delete, new[]/delete[])"
            reports 1
            out_lacks SURVIVED
        }
        end_test
    fi
done
if run new-delete-size-mismatch -- mismatch sized_wrong; then
    need_addr && {
        aborted
        bad_pointer new-delete-type-mismatch "operator delete" "$ADDR"
        line "  the block was allocated with 24 bytes, sized delete was given 32 bytes"
        reports 1
        out_lacks SURVIVED
    }
    end_test
fi
if run new-delete-size-mismatch-array -- mismatch sized_array_wrong; then
    need_addr && {
        aborted
        bad_pointer new-delete-type-mismatch "operator delete[]" "$ADDR"
        line "  the block was allocated with 24 bytes, sized delete was given 16 bytes"
        reports 1
        out_lacks SURVIVED
    }
    end_test
fi
if run delete-twice -- mismatch delete_twice; then
    need_addr && {
        aborted
        bad_pointer double-free "operator delete" "$ADDR"
        line "  allocated by operator new in thread T0 here:"
        reports 1
    }
    end_test
fi
if run new-huge-throws-bad_alloc -- mismatch bad_alloc; then
    status 0
    out_has "caught std::bad_alloc"
    no_line_re '^libpooldbg: ERROR'
    end_test
fi
if run nothrow-new-huge-returns-null -- mismatch nothrow; then
    status 0
    out_has "nothrow new returned nullptr"
    no_line_re '^libpooldbg: ERROR'
    end_test
fi

# ============================================================ leaks.c
# A 3-node list (1 direct + 2 indirect), a 100-byte block; a 64-byte block
# reachable from a global is not reported.
# leak_group KIND BYTES COUNT FUNC: the group exists, and its first two
# frames name FUNC
leak_group() {
    local head="  $1 leak of $2 byte(s) in $3 object(s) allocated from:"
    grep -qFx -- "$head" "$ERRF" || { fail "missing line: '$head'"; return; }
    awk -v h="$head" '$0 == h { on = 1; next } on && /^    #[0-9]+ / { print; next } { on = 0 }' "$ERRF" |
        grep -qE "^    #[01] 0x[0-9a-f]+ in $4\+0x" || fail "the '$1 leak of $2' group does not name $4 at #0 or #1"
}
if run leaks-list-and-block POOLDBG_OPTIONS=leaks=1 -- leaks; then
    status 23 "exitcode"
    first "libpooldbg: ERROR: detected memory leaks"
    leak_group Direct 48 1 make_node
    leak_group Indirect 96 2 make_node
    leak_group Direct 100 1 leak_block
    [ "$(grep -c '^  \(Direct\|Indirect\) leak of' "$ERRF")" -eq 3 ] || fail "expected exactly 3 leak groups"
    no_line_re 'in keep_global\+'
    line "SUMMARY: libpooldbg: 244 byte(s) leaked in 4 allocation(s)."
    line_re "libpooldbg: end of report \\(pid [0-9]+\\)"
    out_has "leaks: program output line 1"
    out_has "leaks: program output line 2 (still buffered at exit)"
    end_test
fi
if run leaks-exitcode POOLDBG_OPTIONS=leaks=1:exitcode=7 -- leaks; then
    status 7 "exitcode=7"
    line "SUMMARY: libpooldbg: 244 byte(s) leaked in 4 allocation(s)."
    out_has "leaks: program output line 2 (still buffered at exit)"
    end_test
fi
if run leaks-off-by-default -- leaks; then
    status 0
    no_line_re 'libpooldbg'
    out_has "leaks: program output line 2 (still buffered at exit)"
    end_test
fi

# ============================================================ onerror.c
if run on_error-exit-double-free POOLDBG_OPTIONS=on_error=exit:exitcode=42 -- onerror double_free; then
    need_addr && {
        status 42 "exitcode=42"
        bad_pointer double-free free "$ADDR"
        reports 1
        out_lacks SURVIVED
    }
    end_test
fi
if run on_error-exit-fault POOLDBG_OPTIONS=on_error=exit:exitcode=42 -- onerror overflow_twice; then
    need_addr && {
        status 42 "exitcode=42"
        first_re "libpooldbg: ERROR: heap-buffer-overflow on address $(hex "$ADDR" 32) \\(WRITE of size 1\\) at pc 0x[0-9a-f]+ thread T0"
        frame fault write_past
        reports 1
        out_lacks SURVIVED
    }
    end_test
fi
if run on_error-continue-two-bad-frees POOLDBG_OPTIONS=on_error=continue -- onerror two_bad_frees; then
    need_addr && {
        status 0
        b1=$(awk '$1 == "BAD" { print $2 }' "$OUTF" | sed -n 1p)
        b2=$(awk '$1 == "BAD" { print $2 }' "$OUTF" | sed -n 2p)
        first "libpooldbg: ERROR: invalid-free on free($(hex "${b1:-0}"))" 1
        first "libpooldbg: ERROR: interior-pointer-free on free($(hex "${b2:-0}"))" 2
        [ "$b2" = "$(hex "$ADDR" 8)" ] || fail "second BAD pointer $b2 is not ADDR+8"
        reports 2
        out_has SURVIVED
    }
    end_test
fi
if run on_error-continue-fault-reported-once POOLDBG_OPTIONS=on_error=continue -- onerror overflow_twice; then
    need_addr && {
        status 0
        first_re "libpooldbg: ERROR: heap-buffer-overflow on address $(hex "$ADDR" 32) \\(WRITE of size 1\\) at pc 0x[0-9a-f]+ thread T0"
        frame fault write_past
        reports 1
        out_has SURVIVED
    }
    end_test
fi
# "each block reported once" (the on_error help): three pages of one freed block.
if run on_error-continue-large-uaf-reported-once POOLDBG_OPTIONS=on_error=continue -- onerror uaf_three_pages; then
    need_addr && {
        status 0
        fault heap-use-after-free "WRITE of size 1" "$ADDR" "inside of" 0 "$ADDR" 1048576 1048576 write_past "freed "
        out_has SURVIVED
    }
    end_test
fi
# A damaged tail canary found by a realloc that would stay in place: one report.
if run on_error-continue-realloc-canary-reported-once POOLDBG_OPTIONS=on_error=continue -- onerror realloc_canary; then
    need_addr && {
        status 0
        canary_at_free heap-buffer-overflow realloc "$ADDR" 13 16 0
        out_has SURVIVED
    }
    end_test
fi
# The guard page opened to let a reported write complete must not stay open
# for the next block of the same slot.
if run on_error-continue-guard-kept-after-reuse POOLDBG_OPTIONS=on_error=continue:quarantine_slots=0 -- onerror overflow_then_reuse; then
    need_addr && {
        status 0
        a2=$(awk '$1 == "ADDR" { n++; if (n == 2) print $2 }' "$OUTF")
        first_re "libpooldbg: ERROR: heap-buffer-overflow on address $(hex "$ADDR" 32) \\(WRITE of size 1\\) at pc 0x[0-9a-f]+ thread T0"
        if [ -n "$a2" ]; then
            got=$(report_line 2)
            [[ $got =~ ^"libpooldbg: ERROR: heap-buffer-overflow on address $(hex "$a2" 32) (WRITE of size 1) at pc 0x"[0-9a-f]+" thread T0"$ ]] ||
                fail "no report for the overflow of the second block $a2 (got '${got:-<none>}')"
        else
            fail "no second ADDR line"
        fi
        out_has SURVIVED
    }
    end_test
fi
# stack_depth=0: one frame for the fault, no recorded stacks.
if run stack_depth0-fault-report POOLDBG_OPTIONS=stack_depth=0 -- uaf 32 0 write now; then
    need_addr && {
        aborted
        first_re "libpooldbg: ERROR: heap-use-after-free on address $(hex "$ADDR") \\(WRITE of size 1\\) at pc 0x[0-9a-f]+ thread T0"
        [ "$(frames fault | wc -l)" -eq 1 ] || fail "expected exactly one fault frame"
        frame fault use_after_free_write
        [ "$(grep -cFx '    <no stack recorded (stack_depth=0, or the depot is full)>' "$ERRF")" -eq 2 ] ||
            fail "expected two '<no stack recorded ...>' lines (freed by, allocated by)"
    }
    end_test
fi
logdir=$(readlink -f "$OUT")/logpath
rm -rf "$logdir"
mkdir -p "$logdir"
if run log_path-to-file POOLDBG_OPTIONS="log_path=$logdir/report.%p" -- onerror double_free; then
    need_addr && {
        aborted
        pid=$(awk '$1 == "PID" { print $2; exit }' "$OUTF")
        log=$logdir/report.$pid
        if [ -f "$log" ]; then
            got=$(sed -n 1p "$log")
            want="libpooldbg: ERROR: double-free on free($(hex "$ADDR"))"
            [ "$got" = "$want" ] || fail "log first line: expected '$want', got '$got'"
            grep -qFx "libpooldbg: end of report (pid $pid)" "$log" || fail "log lacks 'end of report (pid $pid)'"
        else
            fail "no log file $log (have: $(ls "$logdir" | tr '\n' ' '))"
        fi
        no_line_re 'libpooldbg'
    }
    end_test
fi

if run log_path-fault-report POOLDBG_OPTIONS="log_path=$logdir/fault.%p" -- onerror overflow_twice; then
    need_addr && {
        aborted
        pid=$(awk '$1 == "PID" { print $2; exit }' "$OUTF")
        log=$logdir/fault.$pid
        if [ -f "$log" ]; then
            ERRF=$log # the checks below read the log instead of stderr
            fault heap-buffer-overflow "WRITE of size 1" "$(hex "$ADDR" 32)" "to the right of" 0 "$ADDR" 32 32 write_past
            ERRF=$LOGS/$T.err
        else
            fail "no log file $log"
        fi
        no_line_re 'libpooldbg'
    }
    end_test
fi

# ============================================================ dense.c
DENSE_OPTS=guard=mprotect:map_limit=2000:quarantine_slots=10
if run dense-write-after-free-at-reuse POOLDBG_OPTIONS=$DENSE_OPTS -- dense uaf; then
    need_addr && {
        aborted
        line_re "libpooldbg: NOTICE: [0-9]+ live guarded blocks are close to vm.max_map_count \\(2000\\) with guard=mprotect; .*"
        first "libpooldbg: ERROR: heap-use-after-free on address $(hex "$ADDR" 5) (WRITE of unknown size, found when the block was reused)"
        line "  $(hex "$ADDR" 5) is located 5 bytes inside of freed 32-byte block $(range "$ADDR" 32) in pool 32 (dense)"
        line "  freed by thread T0 here:"
        frame freed release_block
        line "  allocated by malloc in thread T0 here:"
        frame alloc alloc_block
        reports 1
        out_has WROTE
        out_lacks "NOT DETECTED"
    }
    end_test
fi
if run dense-overflow-at-free POOLDBG_OPTIONS=$DENSE_OPTS -- dense overflow; then
    need_addr && {
        aborted
        canary_at_free heap-buffer-overflow free "$ADDR" 32 "32 (dense)" 0
        out_lacks "NOT DETECTED"
    }
    end_test
fi
if run dense-double-free POOLDBG_OPTIONS=$DENSE_OPTS -- dense double; then
    need_addr && {
        aborted
        bad_pointer double-free free "$ADDR"
        line "  $(hex "$ADDR") is the 32-byte block $(range "$ADDR" 32) in pool 32 (dense), already freed by thread T0"
        reports 1
    }
    end_test
fi

# ------------------------------------------------------------------ summary
[ $list_only -eq 1 ] && exit 0
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
if [ $failed -gt 0 ]; then
    echo "detect: failed: ${failed_names[*]}"
fi
echo "detect: ($elapsed s; logs in $LOGS)"
echo "detect: $passed passed, $failed failed"
[ $failed -eq 0 ]
