#!/usr/bin/env bash
# Tests of scripts/pooldbg (option translation, LD_PRELOAD handling, exit
# status, stdout/stdin/stderr plumbing), scripts/pooldbg-symbolize (parsing
# frame lines, module offsets, return-address adjustment, pass-through), the
# man page and scripts/install.sh.  Ends with "wrapper: N passed, M failed".
#
# Needs gcc and the library (LIB, default target/release/libpooldbg.so; built
# with cargo if missing).  addr2line (binutils) for the file:line checks.
set -u

cd "$(dirname "$0")/.."
ROOT=$PWD
LIB=${LIB:-target/release/libpooldbg.so}
W=$ROOT/scripts/pooldbg
SYM=$ROOT/scripts/pooldbg-symbolize
T=$(mktemp -d "${TMPDIR:-/tmp}/pooldbg-wrapper-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
ulimit -c 0
unset POOLDBG_OPTIONS LD_PRELOAD POOLDBG_ADDR2LINE

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL - $1"
    if [ $# -gt 1 ] && [ -n "$2" ]; then printf '%s\n' "$2" | sed -n '1,40s/^/       | /p'; fi
}
# check NAME CONDITION-COMMAND... ; shows $OUT on failure
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
line_of() { grep -n -- "$2" "$1" | head -1 | cut -d: -f1; }

SUITE=wrapper
# shellcheck source=scripts/testlib.sh
. scripts/testlib.sh
# cargo build --release (log in $T) when the default library is missing or stale
OUT=$T ensure_library
LIB=$LIB_ABS
export POOLDBG_LIB=$LIB
HAVE_A2L=0
command -v addr2line >/dev/null 2>&1 && HAVE_A2L=1
command -v eu-addr2line >/dev/null 2>&1 && HAVE_EU=1 || HAVE_EU=0

# ---------------------------------------------------------------- programs
cat >"$T/canned.c" <<'EOF'
#include <stdio.h>
int leaf(int x)
{
    return x * 3;
}
int leaf2(int x)
{
    return x + 1;
}
int main(int argc, char **argv)
{
    return leaf(argc) + leaf2(argc);
}
EOF
cat >"$T/buggy.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *keep(size_t n)
{
    return malloc(n); /* LEAK-ALLOC */
}

int main(int argc, char **argv)
{
    char *lost = keep(24);
    lost = keep(40); /* LEAK-CALLER */
    char *s = malloc(16); /* OVF-ALLOC */
    printf("stdout line\n");
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "overflow") == 0)
        s[16 + 4096] = 'x'; /* OVF-ACCESS */
    free(s);
    return lost == NULL;
}
EOF
cat >"$T/segv.c" <<'EOF'
#include <stdio.h>
int main(void) { fputs("before the crash\n", stderr); *(volatile int *)16 = 1; return 0; }
EOF
cat >"$T/solib.c" <<'EOF'
int in_lib(int x)
{
    return x * 7;
}
EOF
if ! gcc -O0 -g -o "$T/canned" "$T/canned.c" ||
    ! gcc -O0 -g -no-pie -o "$T/canned_nopie" "$T/canned.c" ||
    ! gcc -O0 -g -o "$T/buggy" "$T/buggy.c" ||
    ! gcc -O0 -g -o "$T/segv" "$T/segv.c" ||
    ! gcc -O0 -g -shared -fPIC -o "$T/libsolib.so" "$T/solib.c"; then
    die "cannot build the test programs with gcc"
fi
sym_addr() { nm "$1" | awk -v s="$2" '$3 == s { print $1 }'; }

# ------------------------------------------------- option translation
show='printf "%s\n" "POOLDBG_OPTIONS=$POOLDBG_OPTIONS" "LD_PRELOAD=$LD_PRELOAD"'
expect_opts() { # name expected-options wrapper-args...
    local name=$1 want=$2
    shift 2
    OUT=$("$W" "$@" -- sh -c "$show" 2>&1)
    if [ "$(sed -n 's/^POOLDBG_OPTIONS=//p' <<<"$OUT")" = "$want" ]; then ok "$name"; else bad "$name (want '$want')" "$OUT"; fi
}
expect_opts "--leaks -> leaks=1" "leaks=1" --leaks
expect_opts "--protect-below -> protect_below=1" "protect_below=1" --protect-below
expect_opts "--exact -> alignment=1" "alignment=1" --exact
expect_opts "--stats -> stats=1" "stats=1" --stats
expect_opts "--continue -> on_error=continue" "on_error=continue" --continue
expect_opts "--exitcode=9 -> on_error=exit:exitcode=9" "on_error=exit:exitcode=9" --exitcode=9
expect_opts "--stack-depth=4 / --stack-depth 4" "stack_depth=4:stack_depth=5" --stack-depth=4 --stack-depth 5
expect_opts "--guard=mprotect" "guard=mprotect" --guard=mprotect
expect_opts "--quarantine-mb=3" "quarantine_mb=3" --quarantine-mb=3
expect_opts "--stats-signal=SIGUSR2" "stats_signal=SIGUSR2" --stats-signal=SIGUSR2
expect_opts "--option / -o raw passthrough" "free_fill=1:prefault=0:alloc_fill=none" --option free_fill=1 -o prefault=0 --option=alloc_fill=none
expect_opts "--log=FILE -> absolute log_path" "log_path=$T/r.%p" --log="$T/r.%p"
(cd "$T" && OUT=$("$W" --log=rel.log -- sh -c "$show" 2>&1) && grep -qx "POOLDBG_OPTIONS=log_path=$T/rel.log" <<<"$OUT") &&
    ok "--log=relative is made absolute" || bad "--log=relative is made absolute"
expect_opts "options keep command-line order" "leaks=1:stats=1:alignment=1" --leaks --stats --exact
expect_opts "no options -> POOLDBG_OPTIONS unset" "" 
OUT=$(POOLDBG_OPTIONS="stack_depth=8:leaks=0" "$W" --leaks -- sh -c "$show" 2>&1)
check "existing POOLDBG_OPTIONS kept, ours appended (so ours win)" has '^POOLDBG_OPTIONS=stack_depth=8:leaks=0:leaks=1$'
OUT=$(LD_PRELOAD=libm.so.6 "$W" -- sh -c "$show" 2>&1)
check "LD_PRELOAD: library first, existing entries kept" has "^LD_PRELOAD=$LIB:libm.so.6\$"
OUT=$(LD_PRELOAD="$LIB" "$W" -- sh -c "$show" 2>&1)
check "LD_PRELOAD: library not added twice" has "^LD_PRELOAD=$LIB\$"
OUT=$("$W" -- sh -c "$show" 2>&1)
check "LD_PRELOAD is an absolute path to the library" has "^LD_PRELOAD=/.*libpooldbg\.so\$"
OUT=$(env -u POOLDBG_LIB "$W" -- sh -c "$show" 2>&1)
check "library found relative to the wrapper (repo layout)" has "^LD_PRELOAD=$ROOT/target/release/libpooldbg\.so\$"
OUT=$("$W" --leaks sh -c "$show" 2>&1)
check "program may follow the options without --" has '^POOLDBG_OPTIONS=leaks=1$'
OUT=$("$W" -- sh -c 'printf "%s|" "$0" "$@"' a "b c" "" --leaks 2>&1)
check "program arguments passed verbatim (spaces, empty, option-like)" has '^a\|b c\|\|--leaks\|$'

# ------------------------------------------------------------ usage errors
usage_err() { # name wrapper-args...
    local name=$1
    shift
    OUT=$("$W" "$@" 2>&1 >/dev/null)
    local rc=$?
    if [ $rc -eq 2 ] && [ "$(wc -l <<<"$OUT")" -eq 1 ] && has '^pooldbg: '; then ok "$name"; else bad "$name (rc=$rc)" "$OUT"; fi
}
usage_err "unknown option: one line, exit 2" --frobnicate -- true
usage_err "no program: one line, exit 2"
usage_err "bad --stack-depth: exit 2" --stack-depth=99 -- true
usage_err "bad --exitcode: exit 2" --exitcode=0 -- true
usage_err "bad --guard: exit 2" --guard=fence -- true
usage_err "--option without '=': exit 2" --option leaks -- true
usage_err "--log with ':' refused: exit 2" --log=a:b -- true
usage_err "--log without a value: exit 2" --log
OUT=$(POOLDBG_LIB=/nonexistent/libpooldbg.so "$W" -- true 2>&1)
rc=$?
[ $rc -eq 2 ] && has 'cannot find libpooldbg' && ok "missing library: message, exit 2" || bad "missing library: message, exit 2 (rc=$rc)" "$OUT"
OUT=$("$W" -- "$T/no-such-program" 2>&1)
rc=$?
[ $rc -eq 127 ] && has 'no-such-program' && ok "program not found: exit 127" || bad "program not found: exit 127 (rc=$rc)" "$OUT"
OUT=$("$W" -- "$T/canned.c" 2>&1)
rc=$?
[ $rc -eq 126 ] && ok "program not executable: exit 126" || bad "program not executable: exit 126 (rc=$rc)" "$OUT"

if gcc -static -o "$T/static" "$T/segv.c" 2>/dev/null; then
    OUT=$("$W" -- "$T/static" 2>&1)
    check "statically linked program: one warning line" test "$(grep -c 'statically linked' <<<"$OUT")" -eq 1
fi

OUT=$("$W" --help 2>&1)
rc=$?
missing=""
for o in --leaks --protect-below --exact --log= --stats --stack-depth= --guard= --quarantine-mb= \
    --continue --exitcode= --option --no-symbolize --help; do
    grep -q -- "$o" <<<"$OUT" || missing="$missing $o"
done
[ $rc -eq 0 ] && [ -z "$missing" ] && ok "--help lists every wrapper option" || bad "--help lists every wrapper option (missing:$missing)"
KEYS=$(POOLDBG_OPTIONS=help=1 LD_PRELOAD=$LIB /bin/true 2>&1 | awk 'NR > 1 && NF { print $1 }')
missing=""
for k in $KEYS; do grep -qE "^  $k " <<<"$OUT" || missing="$missing $k"; done
[ -n "$KEYS" ] && [ -z "$missing" ] && ok "--help shows the library's option table ($(wc -w <<<"$KEYS") keys)" ||
    bad "--help shows the library's option table (missing:$missing)"
# --version: the version in Cargo.toml and the commit, read from the library.
OUT=$("$W" --version 2>&1)
check "--version prints Cargo.toml's version and the commit, then the library" hasall \
    "^pooldbg $(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1) \(commit ([0-9a-f]{12}|unknown)(-dirty)?\)\$" \
    "^library $LIB\$"
# --help | head: the reader leaves early; no traceback, status 0.
OUT=$("$W" --help 2>&1 | head -n 2; echo "status ${PIPESTATUS[0]}")
check "--help | head ends quietly (status 0)" hasall '^usage: pooldbg' '^status 0$'
check "--help | head ends quietly (no traceback)" hasnt 'Traceback|BrokenPipe'
# help=1: every row's "default" column starts at the same place.
OUT=$(POOLDBG_OPTIONS=help=1 LD_PRELOAD=$LIB /bin/true 2>&1 | awk 'NR > 1 && NF { print index($0, " default ") }' | sort -u)
check "help=1 aligns its columns whatever the length of an option name" test "$(wc -l <<<"$OUT")" -eq 1

# ---------------------------------------------------- exit status, plumbing
"$W" -- sh -c 'exit 7' 2>/dev/null
rc=$?
[ $rc -eq 7 ] && ok "exit status 7 preserved" || bad "exit status 7 preserved (got $rc)"
"$W" -- true 2>/dev/null && ok "exit status 0 preserved" || bad "exit status 0 preserved"
# A parent that looks at the wait status sees the same signal.
sigcheck() { # name signal-name command...
    local name=$1 sig=$2
    shift 2
    local got
    got=$(python3 - "$@" <<'EOF' 2>/dev/null
import subprocess, sys
print(subprocess.run(sys.argv[1:], stderr=subprocess.DEVNULL).returncode)
EOF
)
    local want=-$(kill -l "$sig")
    local rc
    # (in a child bash, so that its "Aborted" job notice goes to /dev/null)
    bash -c '"$@" 2>/dev/null; exit $?' sigcheck "$@" 2>/dev/null
    rc=$?
    if [ "$got" = "$want" ] && [ $rc -eq $((128 - want)) ]; then ok "$name"; else bad "$name (wait status $got, want $want; shell rc $rc)"; fi
}
sigcheck "death by SIGABRT: exit 134 and SIGABRT re-raised" ABRT "$W" -- sh -c 'kill -ABRT $$'
sigcheck "death by SIGSEGV (real fault): exit 139 and SIGSEGV re-raised" SEGV "$W" -- "$T/segv"
sigcheck "death by SIGTERM: exit 143 and SIGTERM re-raised" TERM "$W" -- sh -c 'kill -TERM $$'
OUT=$("$W" -- "$T/segv" 2>&1)
check "stderr before a crash is not lost" has '^before the crash$'

OUT=$("$W" -- sh -c 'echo out; echo err >&2' 2>/dev/null)
check "stdout passes, stderr kept apart" test "$OUT" = "out"
"$W" -- sh -c 'readlink /proc/$$/fd/1' >"$T/stdout.txt" 2>/dev/null
OUT=$(cat "$T/stdout.txt")
check "stdout is the caller's own file, not a pipe" test "$OUT" = "$T/stdout.txt"
OUT=$(printf 'line one\nline two\n' | "$W" -- sh -c 'cat' 2>/dev/null)
check "stdin passes to the program" test "$OUT" = $'line one\nline two'
OUT=$("$W" -- sh -c '{ printf "plain\n# not a frame\n    #1 not really\n\tbytes \377\376\n"; printf "no newline at end"; } >&2' 2>&1 >/dev/null | od -c)
WANT=$(printf "plain\n# not a frame\n    #1 not really\n\tbytes \377\376\nno newline at end" | od -c)
check "ordinary stderr passes byte for byte (odd bytes, no final newline)" test "$OUT" = "$WANT"
# Promptness: a prompt without newline and a line shown while the program sleeps.
"$W" -- sh -c 'printf "prompt> " >&2; sleep 2; echo line >&2; sleep 2' 2>"$T/prompt.txt" &
pid=$!
sleep 1.2
OUT=$(cat "$T/prompt.txt")
check "a partial line (prompt) on stderr shows at once" test "$OUT" = "prompt> "
sleep 1.8
OUT=$(cat "$T/prompt.txt")
check "stderr is passed a line at a time, not at exit" test "$OUT" = "prompt> line"
wait $pid
# A child that outlives the program and keeps stderr open must not hang us.
start=$(date +%s%N)
"$W" -- sh -c '(sleep 3; echo late >&2) & echo early >&2' 2>"$T/late.txt"
ms=$((($(date +%s%N) - start) / 1000000))
[ $ms -lt 2500 ] && ok "a lingering child holding stderr does not hold the wrapper (${ms} ms)" ||
    bad "a lingering child holding stderr does not hold the wrapper (${ms} ms)"

# ------------------------------------------------------------- symbolizer
if [ $HAVE_A2L -eq 1 ]; then
    C=$T/canned
    # gcc -O0 puts a function's first instruction on the line of its '{'.
    L_LEAF=$(($(line_of "$T/canned.c" '^int leaf(int x)') + 1))
    L_LEAF_END=$((L_LEAF + 2))
    L_MAIN=$(($(line_of "$T/canned.c" '^int main') + 1))
    a_leaf=$((0x$(sym_addr "$C" leaf)))
    a_leaf2=$((0x$(sym_addr "$C" leaf2)))
    a_main=$((0x$(sym_addr "$C" main)))
    BASE=$((0x555555554000))
    pc=$((BASE + a_leaf))
    {
        printf 'some program output\n'
        printf 'libpooldbg: ERROR: heap-buffer-overflow on address 0x7fff00001000 (WRITE of size 1) at pc %#x thread T0\n' $pc
        printf '  0x7fff00001000 is located 0 bytes to the right of 16-byte block [0x7fff00000ff0,0x7fff00001000) in pool 16\n'
        printf '    #0 %#x in leaf+0x0 (%s+%#x)\n' $pc "$C" $a_leaf
        printf '    #1 %#x in ?? (%s+%#x)\n' $((BASE + a_leaf2)) "$C" $a_leaf2
        printf '    #2 %#x in main+0x1 (%s+%#x)\n' $((BASE + a_main + 1)) "$C" $((a_main + 1))
        printf '    #3 0x7f0000001234 in ?? (/nonexistent/libfoo.so+0x1234)\n'
        printf '    #4 0x7f0000001234 in ??\n'
        printf '  allocated by malloc in thread T0 here:\n'
        printf '    #0 %#x in ?? (%s+%#x)\n' $((BASE + a_leaf2)) "$C" $a_leaf2
        printf 'libpooldbg: end of report (pid 1)\n'
        printf 'after the report\n'
    } >"$T/canned.rep"
    OUT=$("$SYM" <"$T/canned.rep" 2>&1)
    check "fault pc (frame #0 of the fault stack) looked up as is" has "^    #0 $(printf %#x $pc) in leaf .*canned\.c:$L_LEAF \($C\+$(printf %#x $a_leaf)\)\$"
    check "return address looked up at address-1 (call site), printed unchanged" has "^    #1 $(printf %#x $((BASE + a_leaf2))) in leaf .*canned\.c:$L_LEAF_END \(.*\)\$"
    check "dladdr name+offset replaced by function file:line" has "^    #2 0x[0-9a-f]+ in main .*canned\.c:$L_MAIN \(.*\+$(printf %#x $((a_main + 1)))\)\$"
    check "frame of a missing module left unchanged" has '^    #3 0x7f0000001234 in \?\? \(/nonexistent/libfoo\.so\+0x1234\)$'
    check "frame without a module left unchanged" has '^    #4 0x7f0000001234 in \?\?$'
    check "frame #0 of a later stack (allocation) is a return address too" has "^    #0 $(printf %#x $((BASE + a_leaf2))) in leaf .*canned\.c:$L_LEAF_END \("
    check "non-frame lines pass unchanged, in order" test "$(grep -v '#[0-9]' "$T/canned.rep")" = "$(grep -v '#[0-9]' <<<"$OUT")"
    check "line count unchanged (no inlining here)" test "$(wc -l <"$T/canned.rep")" -eq "$(wc -l <<<"$OUT")"

    # Idempotent: symbolizing twice changes nothing.
    OUT=$("$SYM" <"$T/canned.rep" 2>/dev/null | "$SYM" 2>&1)
    check "symbolizing twice gives the same text" test "$OUT" = "$("$SYM" <"$T/canned.rep" 2>/dev/null)"
    # Files as arguments, and -i.
    cp "$T/canned.rep" "$T/inplace.rep"
    "$SYM" -i "$T/inplace.rep" 2>/dev/null
    OUT=$(cat "$T/inplace.rep")
    check "pooldbg-symbolize -i FILE rewrites the file" has "in leaf .*canned\.c:$L_LEAF "
    OUT=$("$SYM" "$T/canned.rep" 2>/dev/null)
    check "pooldbg-symbolize FILE writes to stdout" has "in leaf .*canned\.c:$L_LEAF "

    # Non-PIE executable: the module base is the first PT_LOAD (0x400000).
    N=$T/canned_nopie
    n_leaf=$((0x$(sym_addr "$N" leaf)))
    n_base=$(readelf -lW "$N" | awk '$1 == "LOAD" { print $3; exit }')
    printf '    #1 %#x in ?? (%s+%#x)\n' $((n_leaf + 1)) "$N" $((n_leaf + 1 - n_base)) >"$T/nopie.rep"
    OUT=$("$SYM" <"$T/nopie.rep" 2>&1)
    check "non-PIE executable: absolute address used" has "in leaf .*canned\.c:$L_LEAF "
    # Shared object: offset from its load base.
    s_fn=$((0x$(sym_addr "$T/libsolib.so" in_lib)))
    L_INLIB=$(($(line_of "$T/solib.c" '^int in_lib') + 1))
    printf '    #2 0x7f1234567000 in in_lib+0x1 (%s+%#x)\n' "$T/libsolib.so" $((s_fn + 1)) >"$T/so.rep"
    OUT=$("$SYM" <"$T/so.rep" 2>&1)
    check "shared object: module offset handled" has "^    #2 0x7f1234567000 in in_lib .*solib\.c:$L_INLIB \($T/libsolib\.so\+$(printf %#x $((s_fn + 1)))\)\$"
    # A module named by a relative path (as dladdr gives for ./prog).
    (cd "$T" && printf '    #1 0x1 in ?? (./canned+%#x)\n' $a_leaf2 | "$SYM" >"$T/rel.out" 2>&1)
    OUT=$(cat "$T/rel.out")
    check "relative module path resolved from the current directory" has "in leaf .*canned\.c:$L_LEAF_END \(\./canned\+"
    # ANSI colour around a frame does not stop it being parsed.
    printf '\033[1m    #1 0x1 in ?? (%s+%#x)\033[0m\n' "$C" $a_leaf2 >"$T/ansi.rep"
    OUT=$("$SYM" <"$T/ansi.rep" 2>&1)
    check "coloured frame lines are parsed" has "in leaf .*canned\.c:$L_LEAF_END "
    # No addr2line: frames unchanged plus one warning line.
    OUT=$(POOLDBG_ADDR2LINE=none "$SYM" <"$T/canned.rep" 2>"$T/warn.txt")
    WARN=$(cat "$T/warn.txt")
    check "without addr2line: frames unchanged" test "$OUT" = "$(cat "$T/canned.rep")"
    check "without addr2line: exactly one warning line" test "$(grep -c 'addr2line' <<<"$WARN")" -eq 1
    if [ $HAVE_EU -eq 1 ]; then
        OUT=$(POOLDBG_ADDR2LINE=eu-addr2line "$SYM" <"$T/canned.rep" 2>&1)
        check "eu-addr2line (elfutils) works as the lookup tool" has "^    #1 0x[0-9a-f]+ in leaf .*canned\.c:$L_LEAF_END \("
    else
        echo "skip - eu-addr2line not installed"
    fi
    # Inlined frames are listed innermost first, numbered on.
    cat >"$T/inl.c" <<'EOF'
#include <stdlib.h>
static inline __attribute__((always_inline)) int twice(int x) { return x * 2; }
int work(int x) { return twice(x) + 1; }
int main(int argc, char **argv) { (void)argv; return work(argc); }
EOF
    if gcc -O2 -g -o "$T/inl" "$T/inl.c" 2>/dev/null; then
        w_fn=$((0x$(sym_addr "$T/inl" work)))
        printf '    #0 0x10 in work (%s+%#x)\n    #1 0x20 in main (%s+%#x)\n' "$T/inl" $((w_fn + 1)) "$T/inl" $((0x$(sym_addr "$T/inl" main) + 1)) >"$T/inl.rep"
        OUT=$("$SYM" <"$T/inl.rep" 2>&1)
        if grep -q 'twice' <<<"$OUT"; then
            check "inlined frames: twice then work, renumbered" has $'^    #1 0x10 in work .*inl\.c:3'
        else
            check "frames of an optimised program resolve" has 'in work .*inl\.c:3'
        fi
    fi
    # C++: names demangled.
    if command -v g++ >/dev/null 2>&1; then
        cat >"$T/cx.cpp" <<'EOF'
namespace app { int make(int n) { return n + 1; } }
int main() { return app::make(1); }
EOF
        if g++ -O0 -g -o "$T/cx" "$T/cx.cpp" 2>/dev/null; then
            mk=$(nm "$T/cx" | awk '$3 ~ /^_ZN3app4make/ { print $1, $3 }')
            printf '    #0 0x1 in %s+0x4 (%s+%#x)\n    #1 0x2 in %s+0x4 (/nonexistent+0x1)\n' "${mk#* }" "$T/cx" $((0x${mk%% *} + 4)) "${mk#* }" >"$T/cx.rep"
            OUT=$("$SYM" <"$T/cx.rep" 2>&1)
            check "C++ names demangled (resolved and unresolved frames)" hasall '#0 0x1 in app::make\(int\) .*cx\.cpp:1 ' '#1 0x2 in app::make\(int\)\+0x4 '
        fi
    fi
else
    echo "skip - addr2line not installed: symbolizer checks skipped"
    OUT=$(printf '    #1 0x1 in ?? (/bin/sh+0x10)\n' | "$SYM" 2>&1)
    check "without addr2line: warning printed" has 'addr2line'
fi

# ------------------------------------------------------------ end to end
L_LEAK_ALLOC=$(line_of "$T/buggy.c" 'LEAK-ALLOC')
L_LEAK_CALLER=$(line_of "$T/buggy.c" 'LEAK-CALLER')
L_OVF_ALLOC=$(line_of "$T/buggy.c" 'OVF-ALLOC')
L_OVF_ACCESS=$(line_of "$T/buggy.c" 'OVF-ACCESS')
OUT=$(cd "$T" && "$W" --leaks -- ./buggy 2>&1)
rc=$?
if [ $HAVE_A2L -eq 1 ]; then
    # Module paths are absolute (the program ran as ./buggy from $T).
    check "--leaks end to end: leak report with buggy.c:LINE of the malloc" has "#0 0x[0-9a-f]+ in keep .*buggy\.c:$L_LEAK_ALLOC \($T/buggy\+0x[0-9a-f]+\)"
    check "--leaks end to end: caller's line too" has "#1 0x[0-9a-f]+ in main .*buggy\.c:$L_LEAK_CALLER \("
fi
check "--leaks end to end: report and summary present" hasall '^libpooldbg: ERROR: detected memory leaks$' 'SUMMARY: libpooldbg: 64 byte'
check "--leaks end to end: program stdout intact" has '^stdout line$'
check "--leaks end to end: exit status is the library's leak exitcode (23)" test $rc -eq 23
OUT=$(cd "$T" && "$W" -- ./buggy overflow 2>&1)
rc=$?
check "overflow end to end: aborts (134)" test $rc -eq 134
if [ $HAVE_A2L -eq 1 ]; then
    check "overflow end to end: access at buggy.c:LINE" has "#0 0x[0-9a-f]+ in main .*buggy\.c:$L_OVF_ACCESS \("
    check "overflow end to end: allocation at buggy.c:LINE" has "#0 0x[0-9a-f]+ in main .*buggy\.c:$L_OVF_ALLOC \("
fi
OUT=$(cd "$T" && "$W" --no-symbolize --leaks -- ./buggy 2>&1)
check "--no-symbolize leaves module+offset frames: absolute module, build-id" \
    has "#0 0x[0-9a-f]+ in \\?\\? \\($T/buggy\\+0x[0-9a-f]+\\) \\(BuildId: [0-9a-f]{40}\\)\$"
rm -f "$T"/log.*
OUT=$(cd "$T" && "$W" --leaks --log=log.%p -- ./buggy 2>&1)
logs=("$T"/log.*)
if [ ${#logs[@]} -eq 1 ] && [ -f "${logs[0]}" ]; then
    ok "--log=FILE.%p: one log file for one process"
    OUT=$(cat "${logs[0]}")
    check "--log: report in the file" has 'detected memory leaks'
    [ $HAVE_A2L -eq 1 ] && check "--log: file symbolized in place after exit" has "in keep .*buggy\.c:$L_LEAK_ALLOC "
else
    bad "--log=FILE.%p: one log file for one process" "$(ls "$T")"
fi
OUT=$("$W" --stats -- "$T/canned" 2>&1)
check "--stats prints the pool table" has 'libpooldbg: pools'

# ----------------------------------------------------------------- man page
MAN=$ROOT/man/pooldbg.1
if [ -f "$MAN" ]; then
    if command -v man >/dev/null 2>&1; then
        TXT=$(LC_ALL=C MANWIDTH=250 man -l "$MAN" 2>/dev/null)
    else
        TXT=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$MAN")
    fi
    missing=""
    for k in $KEYS; do grep -qE -- "(^|[^a-z_])$k([^a-z_]|\$)" <<<"$TXT" || missing="$missing $k"; done
    for o in leaks protect-below exact log stats stats-signal stack-depth guard quarantine-mb continue exitcode option \
        no-symbolize lib help; do
        grep -qE -- "--$o([^a-z-]|\$)" <<<"$TXT" || missing="$missing --$o"
    done
    check "man page documents every library key and wrapper option${missing:+ (missing:$missing)}" test -z "$missing"
    if command -v man >/dev/null 2>&1; then
        OUT=$(MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >/dev/null)
        check "man page renders without warnings" test -z "$OUT"
        OUT=$(MANWIDTH=80 man -l "$MAN" 2>/dev/null)
        check "man page has its sections" hasall '^NAME' '^SYNOPSIS' '^DESCRIPTION' '^OPTIONS' '^REPORTS' '^EXIT STATUS' '^ENVIRONMENT' '^EXAMPLES' '^LIMITS' '^SEE ALSO'
    fi
else
    bad "man page man/pooldbg.1 exists"
fi

# ------------------------------------------------------------ install.sh
P=$T/prefix
if "$ROOT/scripts/install.sh" install "$P" >"$T/install.log" 2>&1 &&
    [ -f "$P/lib/libpooldbg.so.0" ] && [ "$(readlink "$P/lib/libpooldbg.so")" = libpooldbg.so.0 ] &&
    [ -x "$P/bin/pooldbg" ] && [ -x "$P/bin/pooldbg-symbolize" ] &&
    [ -f "$P/share/pooldbg/pooldbg_report.py" ] && [ -f "$P/share/man/man1/pooldbg.1" ] &&
    [ -f "$P/include/pooldbg.h" ] && [ -f "$P/lib/pkgconfig/pooldbg.pc" ]; then
    ok "install.sh install PREFIX puts the library and its link, the scripts, man page, header and .pc in place"
else
    bad "install.sh install PREFIX puts the library and its link, the scripts, man page, header and .pc in place" \
        "$(cat "$T/install.log")"
fi
OUT=$(readelf -d "$P/lib/libpooldbg.so.0" 2>&1)
check "the library's SONAME is libpooldbg.so.0" has 'Library soname: \[libpooldbg\.so\.0\]'
CARGO_VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
OUT=$(cat "$P/lib/pkgconfig/pooldbg.pc")
check "pooldbg.pc: prefix, Cflags, preload names the installed library, version from Cargo.toml" \
    hasall "^prefix=$P\$" '^Cflags: -I\$\{includedir\}$' '^preload=\$\{libdir\}/libpooldbg\.so$' \
    "^Version: $CARGO_VERSION\$"
if command -v pkg-config >/dev/null 2>&1; then
    OUT=$(PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config --cflags pooldbg
        PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config --variable=preload pooldbg)
    check "pkg-config reads pooldbg.pc" hasall "^-I$P/include *\$" "^$P/lib/libpooldbg\.so\$"
fi
# A program using pooldbg.h builds with plain cc (nothing to link) and runs
# with and without the library.
cat >"$T/usehdr.c" <<'EOF'
#include <pooldbg.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
    char *live = malloc(32), *volatile gone = malloc(48);
    free(gone);
    if (!pooldbg_loaded()) {
        printf("not loaded: check_heap %d check_leaks %d\n", pooldbg_check_heap_now(), pooldbg_check_leaks_now());
        return 0;
    }
    printf("loaded %s: check_heap %d\n", pooldbg_version(), pooldbg_check_heap_now());
    fflush(stdout);
    pooldbg_describe_address(live + 5);
    pooldbg_describe_address(gone);
    pooldbg_describe_address(&live);
    free(live);
    return 0;
}
EOF
if cc -Wall -Werror -I"$P/include" -o "$T/usehdr" "$T/usehdr.c" >"$T/usehdr.log" 2>&1; then
    ok "a program using pooldbg.h builds with plain cc, nothing to link"
    OUT=$("$T/usehdr" 2>&1)
    check "... and runs without the library (the API is NULL, the helpers return 0)" \
        has '^not loaded: check_heap 0 check_leaks 0$'
    OUT=$(LD_PRELOAD=$LIB "$T/usehdr" 2>&1)
    check "... and with it: pooldbg_describe_address names the block, its state, pool and stacks" hasall \
        '^loaded [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-z-]+\): check_heap 0$' \
        '^libpooldbg: 0x[0-9a-f]+ belongs to a live block:$' \
        '^  0x[0-9a-f]+ is located 5 bytes inside of 32-byte block \[0x[0-9a-f]+,0x[0-9a-f]+\) in pool 32$' \
        '^libpooldbg: 0x[0-9a-f]+ belongs to a freed block \(still in quarantine\):$' \
        '^  0x[0-9a-f]+ is located 0 bytes inside of freed 48-byte block \[0x[0-9a-f]+,0x[0-9a-f]+\) in pool 48$' \
        '^  freed by thread T0 here:$' '^  allocated by malloc in thread T0 here:$' '/usehdr\+0x' \
        "^libpooldbg: 0x[0-9a-f]+ is not in libpooldbg's heap\$"
else
    bad "a program using pooldbg.h builds with plain cc, nothing to link" "$(cat "$T/usehdr.log")"
fi
OUT=$(env -u POOLDBG_LIB "$P/bin/pooldbg" --leaks -- sh -c "$show" 2>&1)
check "installed wrapper finds the installed library" has "^LD_PRELOAD=$P/lib/libpooldbg\.so\$"
if [ $HAVE_A2L -eq 1 ]; then
    OUT=$(cd "$T" && env -u POOLDBG_LIB "$P/bin/pooldbg" --leaks -- ./buggy 2>&1)
    check "installed wrapper symbolizes" has "in keep .*buggy\.c:$L_LEAK_ALLOC "
fi
"$ROOT/scripts/install.sh" uninstall "$P" >"$T/install.log" 2>&1
left=$(find "$P" -type f 2>/dev/null)
check "install.sh uninstall PREFIX removes them" test -z "$left"
DESTDIR=$T/stage "$ROOT/scripts/install.sh" install /usr/local >/dev/null 2>&1
check "install.sh honours DESTDIR" test -x "$T/stage/usr/local/bin/pooldbg"

# make demo: each report draws its block with a caret under the faulting
# byte, and ends with a SUMMARY line naming the function.
OUT=$(BUILD=$T/demo-build LIB=$LIB scripts/demo.sh 2>&1)
check "make demo: the overflow's report draws the block, its slack and guard, and the caret" hasall \
    '^ +\[hdr\]\[=+ 32-byte block =+\]\[guard page\]$' '^ +\^ just past the end$' \
    '^ +SUMMARY: libpooldbg: heap-buffer-overflow .* in make_card$'
check "make demo: the use after free's report draws the freed block and the caret" hasall \
    '^ +\[hdr\]\[f+ freed [0-9]+-byte block f+\](\[slack [0-9]+\])?\[guard page\]$' '^ +\^ [0-9]+ bytes inside$' \
    '^ +SUMMARY: libpooldbg: heap-use-after-free .* in cancel_guest$'

# SARIF 2.1.0 from a symbolized log: one result per report, its rule the
# kind, its location the program's file and line.
cat >"$T/two.c" <<'EOF'
#include <stdlib.h>
int main(void)
{
    char *p = malloc(32);
    p[32] = 1; /* SARIF-OVERFLOW */
    free(p);
    p[0] = 2; /* SARIF-UAF */
    return 0;
}
EOF
if gcc -O0 -g -o "$T/two" "$T/two.c" 2>/dev/null && [ $HAVE_A2L -eq 1 ]; then
    (cd "$T" && "$W" --continue -- ./two) 2>"$T/two.log" >/dev/null
    OUT=$(python3 scripts/pooldbg_sarif.py "$T/two.log" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["version"] == "2.1.0" and d["$schema"].endswith("sarif-2.1.0.json"), "not SARIF 2.1.0"
run = d["runs"][0]
assert run["tool"]["driver"]["name"] == "libpooldbg"
ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
for r in run["results"]:
    loc = r["locations"][0]["physicalLocation"]
    assert r["ruleId"] in ids and r["level"] == "error" and r["message"]["text"]
    assert r["stacks"] and r["stacks"][0]["frames"]
    print(r["ruleId"], loc["artifactLocation"]["uri"], loc["region"]["startLine"])
' 2>&1)
    check "SARIF 2.1.0: one result per report, rule = kind, location = the program's line" hasall \
        "^heap-buffer-overflow file://$T/two\.c $(line_of "$T/two.c" SARIF-OVERFLOW)\$" \
        "^heap-use-after-free file://$T/two\.c $(line_of "$T/two.c" SARIF-UAF)\$"
    check "SARIF: exactly two results" test "$(wc -l <<<"$OUT")" -eq 2
fi

echo "wrapper: $pass passed, $fail failed"
[ $fail -eq 0 ]
