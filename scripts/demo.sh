#!/usr/bin/env bash
# libpooldbg demo (make demo).
#
# Builds c_tests/demo/demo.c, a small seating-plan program with two heap
# bugs, and runs each buggy path twice: natively, where it looks fine, and
# with LD_PRELOAD=libpooldbg.so, where the library stops it at the faulty
# instruction and reports.  The program is expected to die under the
# library; the demo fails only if it does NOT (the bug went undetected) or
# the demo cannot be built.
set -u
# (no pipefail: with it bash prints its own "Segmentation fault" job notice)

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
LIB=${LIB:-target/release/libpooldbg.so}
BUILD=${BUILD:-build}
case $LIB in
/*) LIBABS=$LIB ;;
*) LIBABS=$ROOT/$LIB ;;
esac
case $BUILD in
/*) W=$BUILD/demo ;;
*) W=$ROOT/$BUILD/demo ;;
esac

if [ ! -f "$LIBABS" ]; then
    echo "demo: $LIBABS not found (run 'make lib' first)" >&2
    exit 2
fi
unset POOLDBG_OPTIONS
ulimit -c 0 # no core files from the crashes we are about to cause

SRC=c_tests/demo/demo.c
mkdir -p "$W"
echo "\$ gcc -O0 -g -rdynamic -o $BUILD/demo/demo $SRC"
if ! gcc -O0 -g -rdynamic -o "$W/demo" "$SRC"; then
    echo "demo: build failed" >&2
    exit 2
fi
line_of() { grep -n "$1" "$SRC" | head -1 | cut -d: -f1; }
L_CARD=$(line_of 'BUG: no room')
L_UAF=$(line_of 'BUG: use after free')
L_FREE=$(( L_UAF - 1 ))

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }

describe_status() {
    local rc=$1
    if [ "$rc" -gt 128 ] && [ "$rc" != 124 ]; then
        local sig
        sig=$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))
        echo "[exit status $rc: killed by SIG$sig]"
    else
        echo "[exit status $rc]"
    fi
}

# show TITLE prefix-words... -- args...  (sets RC): runs ./demo args, after
# the prefix (nothing natively; the wrapper, scripts/pooldbg --, under the
# library: it preloads it and symbolizes every frame to function file:line).
show() {
    local title=$1
    shift
    local prefix=()
    while [ "$1" != -- ]; do
        prefix+=("$1")
        shift
    done
    shift
    echo
    bold "$title"
    local shown="./demo"
    local a
    for a in "$@"; do shown+=" $(printf '%q' "$a")"; done
    [ ${#prefix[@]} -gt 0 ] && shown="scripts/pooldbg -- $shown"
    echo "\$ $shown"
    [ ${#prefix[@]} -gt 0 ] && prefix+=(--)
    (cd "$W" && exec timeout -k 5 60 "${prefix[@]}" ./demo "$@" 2>&1) | tee "$W/last.out" | sed 's/^/    /'
    RC=${PIPESTATUS[0]}
    echo "    $(describe_status "$RC")"
}

undetected=0
WRAP=("$ROOT/scripts/pooldbg" --lib "$LIBABS")

bold "=== Bug 1: an off-by-one string copy (heap buffer overflow by one byte) ==="
show "Natively - the program looks fine:" -- 
show "Under libpooldbg:" "${WRAP[@]}" --
echo
if [ "$RC" = 0 ]; then
    echo "demo: the overflow was NOT detected" >&2
    undetected=1
else
    cat <<EOF
What happened: make_card() (demo.c:$L_CARD) mallocs strlen(name) = 32 bytes for
"Sir Charles Antony Richard Hoare" and strcpy() writes 33. Natively the NUL
lands unseen in malloc's slack; libpooldbg puts each block flush against a
guard page, so strcpy() faulted on that very byte.
EOF
fi

echo
bold "=== Bug 2: a use after free when a guest is cancelled ==="
show "Natively - the program looks fine:" -- --cancel "Grace Hopper"
show "Under libpooldbg:" "${WRAP[@]}" -- --cancel "Grace Hopper"
echo
if [ "$RC" = 0 ]; then
    echo "demo: the use after free was NOT detected" >&2
    undetected=1
else
    cat <<EOF
What happened: cancel_guest() frees the node (demo.c:$L_FREE), then reads
node->next (demo.c:$L_UAF). Natively the freed memory still holds the pointer,
so it works by luck; libpooldbg traps freed pages and holds them in
quarantine, so the read faulted at once.
EOF
fi

echo
if [ $undetected = 1 ]; then
    echo "demo: at least one bug went undetected under $LIB" >&2
    exit 1
fi
echo "demo: both bugs stopped under libpooldbg; natively both ran silently."
