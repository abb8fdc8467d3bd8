#!/usr/bin/env bash
# Tests of scripts/pooldbg (option translation, LD_PRELOAD handling, exit
# status, stdout/stdin/stderr plumbing), scripts/pooldbg-symbolize (parsing
# frame lines, module offsets, return-address adjustment, pass-through; each
# check through llvm-symbolizer and through addr2line; a multi-report log
# against the expected function file:line; one lookup process per module
# for the whole run; a missing module warned about once; a hung lookup tool
# stopped), the man page and scripts/install.sh.  Ends with "wrapper: N
# passed, M failed".
#
# Needs gcc and the library (LIB, default target/release/libpooldbg.so; built
# with cargo if missing).  Installs llvm (llvm-symbolizer) and binutils
# (addr2line) with apt-get when missing.
set -u

cd "$(dirname "$0")/.."
ROOT=$PWD
LIB=${LIB:-target/release/libpooldbg.so}
W=$ROOT/scripts/pooldbg
SYM=$ROOT/scripts/pooldbg-symbolize
T=$(mktemp -d "${TMPDIR:-/tmp}/pooldbg-wrapper-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
ulimit -c 0
unset POOLDBG_OPTIONS LD_PRELOAD POOLDBG_ADDR2LINE POOLDBG_SYMBOLIZER POOLDBG_SYMBOLIZER_TIMEOUT

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
# The lookup tools: both paths of the symbolizer are tested, so both are
# installed when missing (llvm-symbolizer: package llvm, which may install
# only llvm-symbolizer-N; addr2line: binutils).
llvm_symbolizer() {
    command -v llvm-symbolizer 2>/dev/null ||
        compgen -c llvm-symbolizer- | grep -E '^llvm-symbolizer-[0-9]+$' | sort -t- -k3 -n | tail -1 | xargs -r which
}
need_pkgs=()
[ -n "$(llvm_symbolizer)" ] || need_pkgs+=(llvm)
command -v addr2line >/dev/null 2>&1 || need_pkgs+=(binutils)
if [ ${#need_pkgs[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "wrapper: installing ${need_pkgs[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"; } \
        >"$T/apt.log" 2>&1 || echo "wrapper: apt-get install ${need_pkgs[*]} failed (log: $T/apt.log)"
fi
LLVM_SYM=$(llvm_symbolizer)
HAVE_A2L=0
command -v addr2line >/dev/null 2>&1 && HAVE_A2L=1
command -v eu-addr2line >/dev/null 2>&1 && HAVE_EU=1 || HAVE_EU=0
HAVE_SYM=0
[ -n "$LLVM_SYM" ] || [ $HAVE_A2L -eq 1 ] && HAVE_SYM=1

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
# (No clock: the wrapper has returned while that child is still alive.)
printf '#!/bin/sh\necho $$ >"$1"\nexec sleep 30\n' >"$T/linger.sh"
chmod +x "$T/linger.sh"
"$W" -- sh -c '"$0" "$1" & echo early >&2; while [ ! -s "$1" ]; do :; done' "$T/linger.sh" "$T/late.pid" 2>"$T/late.txt"
late=$(cat "$T/late.pid" 2>/dev/null)
if [ -n "$late" ] && kill -0 "$late" 2>/dev/null; then
    ok "a lingering child holding stderr does not hold the wrapper"
else
    bad "a lingering child holding stderr does not hold the wrapper (child ${late:-?} gone before we returned)"
fi
[ -n "$late" ] && kill "$late" 2>/dev/null

# ------------------------------------------------------------- symbolizer
# Every check runs once per lookup tool: llvm-symbolizer (installed here when
# missing: package llvm) and addr2line (binutils), forced with
# POOLDBG_SYMBOLIZER.  Lines are matched with or without a column
# (file:line:col): llvm-symbolizer gives one, addr2line does not.
COL='(:[0-9]+)?'
TOOLS=()
[ -n "$LLVM_SYM" ] && TOOLS+=(llvm-symbolizer) || echo "skip - llvm-symbolizer not installed and could not be installed"
[ $HAVE_A2L -eq 1 ] && TOOLS+=(addr2line) || echo "skip - addr2line not installed"

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
N=$T/canned_nopie
n_leaf=$((0x$(sym_addr "$N" leaf)))
n_base=$(readelf -lW "$N" | awk '$1 == "LOAD" { print $3; exit }')
printf '    #1 %#x in ?? (%s+%#x)\n' $((n_leaf + 1)) "$N" $((n_leaf + 1 - n_base)) >"$T/nopie.rep"
s_fn=$((0x$(sym_addr "$T/libsolib.so" in_lib)))
L_INLIB=$(($(line_of "$T/solib.c" '^int in_lib') + 1))
printf '    #2 0x7f1234567000 in in_lib+0x1 (%s+%#x)\n' "$T/libsolib.so" $((s_fn + 1)) >"$T/so.rep"
printf '\033[1m    #1 0x1 in ?? (%s+%#x)\033[0m\n' "$C" $a_leaf2 >"$T/ansi.rep"
cat >"$T/inl.c" <<'EOF'
#include <stdlib.h>
static inline __attribute__((always_inline)) int twice(int x) { return x * 2; }
int work(int x) { return twice(x) + 1; }
int main(int argc, char **argv) { (void)argv; return work(argc); }
EOF
HAVE_INL=0
if gcc -O2 -g -o "$T/inl" "$T/inl.c" 2>/dev/null; then
    HAVE_INL=1
    w_fn=$((0x$(sym_addr "$T/inl" work)))
    printf '    #0 0x10 in work (%s+%#x)\n    #1 0x20 in main (%s+%#x)\n' "$T/inl" $((w_fn + 1)) "$T/inl" $((0x$(sym_addr "$T/inl" main) + 1)) >"$T/inl.rep"
fi
HAVE_CX=0
if command -v g++ >/dev/null 2>&1; then
    cat >"$T/cx.cpp" <<'EOF'
namespace app { int make(int n) { return n + 1; } }
int main() { return app::make(1); }
EOF
    if g++ -O0 -g -o "$T/cx" "$T/cx.cpp" 2>/dev/null; then
        HAVE_CX=1
        mk=$(nm "$T/cx" | awk '$3 ~ /^_ZN3app4make/ { print $1, $3 }')
        printf '    #0 0x1 in %s+0x4 (%s+%#x)\n    #1 0x2 in %s+0x4 (/nonexistent+0x1)\n' "${mk#* }" "$T/cx" $((0x${mk%% *} + 4)) "${mk#* }" >"$T/cx.rep"
    fi
fi

# The canned frames, through one tool ($1: its POOLDBG_SYMBOLIZER value).
canned_checks() {
    local tool=$1 t="[$1]"
    export POOLDBG_SYMBOLIZER=$tool
    OUT=$("$SYM" <"$T/canned.rep" 2>"$T/canned.err")
    check "$t fault pc (frame #0 of the fault stack) looked up as is" has "^    #0 $(printf %#x $pc) in leaf .*canned\.c:$L_LEAF$COL \($C\+$(printf %#x $a_leaf)\)\$"
    check "$t return address looked up at address-1 (call site), printed unchanged" has "^    #1 $(printf %#x $((BASE + a_leaf2))) in leaf .*canned\.c:$L_LEAF_END$COL \(.*\)\$"
    check "$t dladdr name+offset replaced by function file:line" has "^    #2 0x[0-9a-f]+ in main .*canned\.c:$L_MAIN$COL \(.*\+$(printf %#x $((a_main + 1)))\)\$"
    if [ "$tool" = llvm-symbolizer ]; then
        check "$t columns shown: file:line:column" has "^    #0 $(printf %#x $pc) in leaf .*canned\.c:$L_LEAF:[0-9]+ \("
    fi
    check "$t frame of a missing module left unchanged" has '^    #3 0x7f0000001234 in \?\? \(/nonexistent/libfoo\.so\+0x1234\)$'
    check "$t frame without a module left unchanged" has '^    #4 0x7f0000001234 in \?\?$'
    check "$t frame #0 of a later stack (allocation) is a return address too" has "^    #0 $(printf %#x $((BASE + a_leaf2))) in leaf .*canned\.c:$L_LEAF_END$COL \("
    check "$t non-frame lines pass unchanged, in order" test "$(grep -v '#[0-9]' "$T/canned.rep")" = "$(grep -v '#[0-9]' <<<"$OUT")"
    check "$t line count unchanged (no inlining here)" test "$(wc -l <"$T/canned.rep")" -eq "$(wc -l <<<"$OUT")"
    OUT=$(cat "$T/canned.err")
    check "$t a module that cannot be opened: one warning line naming it" \
        test "$(grep -c 'warning: cannot open /nonexistent/libfoo\.so' <<<"$OUT")" -eq 1 -a "$(wc -l <<<"$OUT")" -eq 1

    # Idempotent: symbolizing twice changes nothing.
    OUT=$("$SYM" <"$T/canned.rep" 2>/dev/null | "$SYM" 2>/dev/null)
    check "$t symbolizing twice gives the same text" test "$OUT" = "$("$SYM" <"$T/canned.rep" 2>/dev/null)"
    # Files as arguments, and -i.
    cp "$T/canned.rep" "$T/inplace.rep"
    "$SYM" -i "$T/inplace.rep" 2>/dev/null
    OUT=$(cat "$T/inplace.rep")
    check "$t pooldbg-symbolize -i FILE rewrites the file" has "in leaf .*canned\.c:$L_LEAF$COL "
    OUT=$("$SYM" "$T/canned.rep" 2>/dev/null)
    check "$t pooldbg-symbolize FILE writes to stdout" has "in leaf .*canned\.c:$L_LEAF$COL "

    # Non-PIE executable: the module base is the first PT_LOAD (0x400000).
    OUT=$("$SYM" <"$T/nopie.rep" 2>&1)
    check "$t non-PIE executable: absolute address used" has "in leaf .*canned\.c:$L_LEAF$COL "
    # Shared object: offset from its load base.
    OUT=$("$SYM" <"$T/so.rep" 2>&1)
    check "$t shared object: module offset handled" has "^    #2 0x7f1234567000 in in_lib .*solib\.c:$L_INLIB$COL \($T/libsolib\.so\+$(printf %#x $((s_fn + 1)))\)\$"
    # A module named by a relative path (as dladdr gives for ./prog): from
    # the current directory, or from --cwd.
    (cd "$T" && printf '    #1 0x1 in ?? (./canned+%#x)\n' $a_leaf2 | "$SYM" >"$T/rel.out" 2>&1)
    OUT=$(cat "$T/rel.out")
    check "$t relative module path resolved from the current directory" has "in leaf .*canned\.c:$L_LEAF_END$COL \(\./canned\+"
    OUT=$(cd / && printf '    #1 0x1 in ?? (./canned+%#x)\n' $a_leaf2 | "$SYM" --cwd="$T" 2>&1)
    check "$t relative module path resolved from --cwd=DIR" has "in leaf .*canned\.c:$L_LEAF_END$COL \(\./canned\+"
    OUT=$(cd / && printf '    #1 0x1 in ?? (./canned+%#x)\n' $a_leaf2 | "$SYM" 2>&1 >/dev/null)
    check "$t relative module path not found: the warning says where it looked" has '^pooldbg-symbolize: warning: cannot open \./canned \(from /\): '
    # ANSI colour around a frame does not stop it being parsed.
    OUT=$("$SYM" <"$T/ansi.rep" 2>&1)
    check "$t coloured frame lines are parsed" has "in leaf .*canned\.c:$L_LEAF_END$COL "
    # A build-id after the module (a later library may print one, in
    # ASan's form or inside the parentheses): symbolized, and kept.
    printf '    #1 0x1 in ?? (%s+%#x) (BuildId: 0123abcd)\n    #2 0x1 in ?? (%s+%#x, build-id 0123abcd)\n' "$C" $a_leaf2 "$C" $a_leaf2 >"$T/bid.rep"
    OUT=$("$SYM" <"$T/bid.rep" 2>&1)
    check "$t frames with a build-id: symbolized, build-id kept" hasall \
        "^    #1 0x1 in leaf .*canned\.c:$L_LEAF_END$COL \($C\+$(printf %#x $a_leaf2)\) \(BuildId: 0123abcd\)\$" \
        "^    #2 0x1 in leaf .*canned\.c:$L_LEAF_END$COL \($C\+$(printf %#x $a_leaf2), build-id 0123abcd\)\$"
    # Inlined frames are listed innermost first, numbered on.
    if [ $HAVE_INL -eq 1 ]; then
        OUT=$("$SYM" <"$T/inl.rep" 2>&1)
        if grep -q 'twice' <<<"$OUT"; then
            check "$t inlined frames: twice then work, renumbered" hasall \
                "^    #0 0x10 in twice .*inl\.c:2$COL \(" "^    #1 0x10 in work .*inl\.c:3$COL \(" "^    #2 0x20 in main "
        else
            check "$t frames of an optimised program resolve" has "in work .*inl\.c:3$COL "
        fi
    fi
    # C++: names demangled.
    if [ $HAVE_CX -eq 1 ]; then
        OUT=$("$SYM" <"$T/cx.rep" 2>&1)
        check "$t C++ names demangled (resolved and unresolved frames)" hasall "#0 0x1 in app::make\(int\) .*cx\.cpp:1$COL " '#1 0x2 in app::make\(int\)\+0x4 '
    fi
    unset POOLDBG_SYMBOLIZER
}
for tool in "${TOOLS[@]}"; do canned_checks "$tool"; done

# auto (the default) takes llvm-symbolizer, else addr2line.
if [ -n "$LLVM_SYM" ] && [ $HAVE_A2L -eq 1 ]; then
    OUT=$("$SYM" <"$T/canned.rep" 2>/dev/null)
    check "auto: llvm-symbolizer where it is installed (columns)" has "in leaf .*canned\.c:$L_LEAF:[0-9]+ \("
    mkdir -p "$T/onlya2l"
    ln -sf "$(command -v addr2line)" "$T/onlya2l/addr2line"
    py=$(python3 -c 'import sys; print(sys.executable)')
    OUT=$(PATH=$T/onlya2l "$py" "$SYM" <"$T/canned.rep" 2>/dev/null)
    check "auto: addr2line where llvm-symbolizer is not on PATH (no columns)" has "in leaf .*canned\.c:$L_LEAF \("
fi
# Without a lookup tool: frames unchanged plus one warning line.
OUT=$(POOLDBG_SYMBOLIZER=none "$SYM" <"$T/canned.rep" 2>"$T/warn.txt")
WARN=$(grep -v 'cannot open' "$T/warn.txt")
check "POOLDBG_SYMBOLIZER=none: frames unchanged" test "$OUT" = "$(cat "$T/canned.rep")"
check "POOLDBG_SYMBOLIZER=none: exactly one warning line" test "$(grep -c 'warning: ' <<<"$WARN")" -eq 1
OUT=$(POOLDBG_ADDR2LINE=none "$SYM" <"$T/canned.rep" 2>/dev/null)
check "POOLDBG_ADDR2LINE=none (the older name) still turns lookups off" test "$OUT" = "$(cat "$T/canned.rep")"
OUT=$(POOLDBG_SYMBOLIZER=no-such-symbolizer "$SYM" <"$T/canned.rep" 2>&1 >/dev/null)
check "a lookup tool that is not there: one warning line naming it" test "$(grep -c 'no-such-symbolizer not found' <<<"$OUT")" -eq 1
if [ $HAVE_EU -eq 1 ]; then
    OUT=$(POOLDBG_SYMBOLIZER=eu-addr2line "$SYM" <"$T/canned.rep" 2>&1)
    check "eu-addr2line (elfutils) works as the lookup tool" has "^    #1 0x[0-9a-f]+ in leaf .*canned\.c:$L_LEAF_END$COL \("
else
    echo "skip - eu-addr2line not installed"
fi

# ------------------------------------------- several reports, two modules
# A program and a shared library of its own, three reports (on_error=
# continue) whose frames are all in the one or the other: the program by a
# relative path (./multi), the library by an absolute one.
cat >"$T/two.c" <<'EOF'
#include <stdlib.h>
void *lib_make(size_t n) { return malloc(n); } /* LIB-MAKE */
void lib_drop(void *p) { free(p); } /* LIB-DROP */
EOF
cat >"$T/multi.c" <<'EOF'
#include <stdio.h>
void *lib_make(size_t n);
void lib_drop(void *p);
__attribute__((noinline)) void poke(char *p, int i) { p[i] = 1; } /* POKE */
__attribute__((noinline)) int peek(char *p, int i) { return p[i]; } /* PEEK */
int main(void)
{
    char *a = lib_make(16); /* A-MAKE */
    poke(a, 16); /* A-POKE */
    char *b = lib_make(32); /* B-MAKE */
    lib_drop(b); /* B-DROP1 */
    lib_drop(b); /* B-DROP2 */
    char *c = lib_make(48); /* C-MAKE */
    lib_drop(c); /* C-DROP */
    int v = peek(c, 3); /* C-PEEK */
    printf("done %d\n", v != 0);
    return 0;
}
EOF
if gcc -O0 -g -shared -fPIC -o "$T/libtwo.so" "$T/two.c" &&
    gcc -O0 -g -o "$T/multi" "$T/multi.c" -L"$T" -ltwo -Wl,-rpath,"$T"; then
    (cd "$T" && POOLDBG_OPTIONS=on_error=continue:stack_depth=2 LD_PRELOAD=$LIB ./multi >/dev/null 2>"$T/multi.raw")
    # The library names modules by absolute path, with a build-id: the log
    # the symbolizer tests below read is the older form, the program by the
    # relative path it was started with, so that resolving relative paths
    # stays tested (the wrapper runs below show the library's own form).
    sed -E "s#\($T/multi\+#(./multi+#; s# \(BuildId: [0-9a-f]+\)\$##" "$T/multi.raw" >"$T/multi.log"
    # What each report's stacks must say: function file:line per frame.
    ln() { echo "$1 $(basename "$2"):$(line_of "$2" "$3")"; }
    M=$T/multi.c L2=$T/two.c
    {
        echo "R1 here #0 $(ln poke "$M" POKE)"; echo "R1 here #1 $(ln main "$M" A-POKE)"
        echo "R1 alloc #0 $(ln lib_make "$L2" LIB-MAKE)"; echo "R1 alloc #1 $(ln main "$M" A-MAKE)"
        echo "R2 here #0 $(ln lib_drop "$L2" LIB-DROP)"; echo "R2 here #1 $(ln main "$M" B-DROP2)"
        echo "R2 freed #0 $(ln lib_drop "$L2" LIB-DROP)"; echo "R2 freed #1 $(ln main "$M" B-DROP1)"
        echo "R2 alloc #0 $(ln lib_make "$L2" LIB-MAKE)"; echo "R2 alloc #1 $(ln main "$M" B-MAKE)"
        echo "R3 here #0 $(ln peek "$M" PEEK)"; echo "R3 here #1 $(ln main "$M" C-PEEK)"
        echo "R3 freed #0 $(ln lib_drop "$L2" LIB-DROP)"; echo "R3 freed #1 $(ln main "$M" C-DROP)"
        echo "R3 alloc #0 $(ln lib_make "$L2" LIB-MAKE)"; echo "R3 alloc #1 $(ln main "$M" C-MAKE)"
    } >"$T/multi.want"
    # The frames as the report parser reads them: "Rn section #k function
    # file:line", a column noted apart.
    frames_of() { # FILE [--columns]
        python3 - "$@" <<'EOF'
import os, sys
sys.path.insert(0, "scripts")
import pooldbg_report as r
out = r.parse(open(sys.argv[1], "rb").read())
for i, rep in enumerate(out.reports, 1):
    for sec in ("here", "freed", "alloc"):
        st = rep.stacks.get(sec)
        for f in (st.frames if st else []):
            src = f.source
            if src is None:
                print("R%d %s #%d unresolved %s" % (i, sec, f.num, f.func))
            elif "--columns" in sys.argv:
                print("column" if src[3] else "no column")
            else:
                print("R%d %s #%d %s %s:%d" % (i, sec, f.num, src[0], os.path.basename(src[1]), src[2]))
EOF
    }
    check "multi-report log: 3 reports, 16 frames, all in ./multi or libtwo.so" \
        test "$(grep -c '^libpooldbg: ERROR' "$T/multi.log")" -eq 3 -a \
        "$(grep -cE '^    #[0-9]+ 0x[0-9a-f]+ in .* \((\./multi|'"$T"'/libtwo\.so)\+0x[0-9a-f]+\)$' "$T/multi.log")" -eq 16
    # Fake tools first on PATH: they log each start, then run the real one.
    mkdir -p "$T/fakebin"
    for name in llvm-symbolizer addr2line; do
        real=$([ $name = llvm-symbolizer ] && echo "$LLVM_SYM" || command -v addr2line)
        [ -n "$real" ] || continue
        printf '#!/bin/sh\necho "%s $*" >>"%s/starts.log"\nexec "%s" "$@"\n' $name "$T" "$real" >"$T/fakebin/$name"
        chmod +x "$T/fakebin/$name"
    done
    starts() { # how many lookup processes were started; each module once?
        local n
        n=$(wc -l <"$T/starts.log" 2>/dev/null || echo 0)
        [ "$n" -eq 2 ] && [ -z "$(sort "$T/starts.log" | uniq -d)" ]
    }
    for tool in "${TOOLS[@]}"; do
        t="[$tool]"
        export POOLDBG_SYMBOLIZER=$tool
        OUT=$(cd "$T" && "$SYM" multi.log 2>&1 >multi.$tool.out)
        check "$t multi-report log symbolized without a warning" test -z "$OUT"
        OUT=$(frames_of "$T/multi.$tool.out")
        check "$t multi-report log: every frame is the expected function file:line" test "$OUT" = "$(cat "$T/multi.want")"
        OUT=$(frames_of "$T/multi.$tool.out" --columns | sort -u)
        if [ "$tool" = llvm-symbolizer ]; then
            check "$t ... each with its column" test "$OUT" = "column"
        else
            check "$t ... none with a column (addr2line gives none)" test "$OUT" = "no column"
        fi
        OUT=$(grep -v '^    #' "$T/multi.$tool.out" | grep -v '^SUMMARY: ')
        check "$t ... the other lines unchanged" test "$OUT" = "$(grep -v '^    #' "$T/multi.log" | grep -v '^SUMMARY: ')"
        # The SUMMARY lines become file:line[:col] in the function.
        OUT=$(grep '^SUMMARY: ' "$T/multi.$tool.out")
        check "$t ... the SUMMARY lines name file:line" \
            test "$(grep -cE '^SUMMARY: libpooldbg: [a-z-]+ [^ ]+\.c:[0-9]+(:[0-9]+)? in [a-z_]+$' <<<"$OUT")" -eq 3
        # One lookup process per module for the whole run: stdin, two
        # files, the wrapper live, the wrapper with --log.
        rm -f "$T/starts.log"
        (cd "$T" && PATH=$T/fakebin:$PATH "$SYM" <multi.log >/dev/null 2>&1)
        OUT=$(cat "$T/starts.log" 2>/dev/null)
        check "$t pooldbg-symbolize: one lookup process per module for 3 reports (2 modules)" starts
        rm -f "$T/starts.log"
        (cd "$T" && PATH=$T/fakebin:$PATH "$SYM" multi.log multi.log >/dev/null 2>&1)
        OUT=$(cat "$T/starts.log" 2>/dev/null)
        check "$t pooldbg-symbolize FILE FILE: one per module for both files" starts
        rm -f "$T/starts.log"
        OUT=$(cd "$T" && PATH=$T/fakebin:$PATH "$W" --continue --stack-depth=2 -- ./multi 2>&1 >/dev/null)
        WRAPPED=$OUT
        OUT=$(cat "$T/starts.log" 2>/dev/null)
        check "$t the wrapper: one lookup process per module for 3 reports" starts
        OUT=$WRAPPED
        check "$t the wrapper: frames symbolized" has "^    #0 0x[0-9a-f]+ in poke .*multi\.c:$(line_of "$M" POKE)$COL \($T/multi\+0x"
        rm -f "$T/starts.log" "$T"/mlog.*
        (cd "$T" && PATH=$T/fakebin:$PATH "$W" --continue --stack-depth=2 --log=mlog.%p -- ./multi >/dev/null 2>&1)
        OUT=$(cat "$T/starts.log" 2>/dev/null)
        check "$t the wrapper with --log: one per module" starts
        OUT=$(cat "$T"/mlog.*)
        check "$t the wrapper with --log: the log symbolized" has "^    #0 0x[0-9a-f]+ in poke .*multi\.c:$(line_of "$M" POKE)$COL \($T/multi\+0x"
        unset POOLDBG_SYMBOLIZER
    done
    # A module that cannot be opened, in every report: said once; the other
    # module's frames are still symbolized.
    sed 's#(\./multi+#(./gone/multi+#' "$T/multi.log" >"$T/gone.log"
    OUT=$(cd "$T" && "$SYM" gone.log 2>"$T/gone.err")
    check "missing module in 3 reports: its frames unchanged, the others symbolized" \
        test "$(grep -c '(\./gone/multi+0x[0-9a-f]*)$' <<<"$OUT")" -eq "$(grep -c '(\./gone/multi+' "$T/gone.log")" -a \
        "$(grep -cE "in lib_(make|drop) .*two\.c:[0-9]" <<<"$OUT")" -eq 6
    OUT=$(cat "$T/gone.err")
    check "missing module in 3 reports: one warning line" \
        test "$(wc -l <<<"$OUT")" -eq 1 -a "$(grep -c "cannot open \./gone/multi (from $T): No such file" <<<"$OUT")" -eq 1
    OUT=$(cd "$T" && "$W" --continue --stack-depth=2 -- sh -c 'cat gone.log >&2' 2>&1 >/dev/null)
    check "the wrapper: missing module in 3 reports, one warning line" \
        test "$(grep -c '^pooldbg: warning: cannot open \./gone/multi' <<<"$OUT")" -eq 1
    # A lookup tool that hangs: stopped after POOLDBG_SYMBOLIZER_TIMEOUT,
    # frames left as they are, one warning per module; nothing left running.
    mkdir -p "$T/hang"
    printf '#!/bin/sh\necho $$ >>"%s/hang.pids"\nexec sleep 600\n' "$T" >"$T/hang/llvm-symbolizer"
    chmod +x "$T/hang/llvm-symbolizer"
    start=$(date +%s%N)
    OUT=$(cd "$T" && POOLDBG_SYMBOLIZER=$T/hang/llvm-symbolizer POOLDBG_SYMBOLIZER_TIMEOUT=1 "$SYM" multi.log 2>"$T/hang.err")
    ms=$((($(date +%s%N) - start) / 1000000))
    # (No wall-clock bound: the machine is shared. That it ended at all, the
    # warnings and the killed processes below are the checks.)
    echo "note - a hung lookup tool took ${ms} ms for 2 modules at POOLDBG_SYMBOLIZER_TIMEOUT=1"
    check "... the frames are left as they are" test "$OUT" = "$(cat "$T/multi.log")"
    OUT=$(cat "$T/hang.err")
    check "... one warning line per module" test "$(grep -c 'llvm-symbolizer gave no answer for 1 s looking up' <<<"$OUT")" -eq 2
    sleep 0.2
    alive=""
    for p in $(cat "$T/hang.pids" 2>/dev/null); do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
    check "... and killed (started: $(wc -l <"$T/hang.pids"))" test -z "$alive"
    start=$(date +%s%N)
    OUT=$(cd "$T" && POOLDBG_SYMBOLIZER=$T/hang/llvm-symbolizer POOLDBG_SYMBOLIZER_TIMEOUT=1 "$W" --continue --stack-depth=2 -- ./multi 2>&1 >/dev/null)
    rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    # Status 1: the program's 0 becomes error_exitcode after continued reports.
    check "the wrapper with a hung lookup tool ends (${ms} ms), status 1, reports as printed" \
        test $rc -eq 1 -a "$(grep -c '^libpooldbg: ERROR' <<<"$OUT")" -eq 3
else
    bad "build the multi-report program and its library"
fi

# ------------------------------------------------------------ end to end
L_LEAK_ALLOC=$(line_of "$T/buggy.c" 'LEAK-ALLOC')
L_LEAK_CALLER=$(line_of "$T/buggy.c" 'LEAK-CALLER')
L_OVF_ALLOC=$(line_of "$T/buggy.c" 'OVF-ALLOC')
L_OVF_ACCESS=$(line_of "$T/buggy.c" 'OVF-ACCESS')
OUT=$(cd "$T" && "$W" --leaks -- ./buggy 2>&1)
rc=$?
if [ $HAVE_SYM -eq 1 ]; then
    # Module paths are absolute (the program ran as ./buggy from $T).
    check "--leaks end to end: leak report with buggy.c:LINE of the malloc" has "#0 0x[0-9a-f]+ in keep .*buggy\.c:$L_LEAK_ALLOC$COL \($T/buggy\+0x[0-9a-f]+\)"
    check "--leaks end to end: caller's line too" has "#1 0x[0-9a-f]+ in main .*buggy\.c:$L_LEAK_CALLER$COL \("
fi
check "--leaks end to end: report and summary present" hasall '^libpooldbg: ERROR: detected memory leaks$' 'SUMMARY: libpooldbg: 64 byte'
check "--leaks end to end: program stdout intact" has '^stdout line$'
check "--leaks end to end: exit status is the library's leak exitcode (23)" test $rc -eq 23
OUT=$(cd "$T" && "$W" -- ./buggy overflow 2>&1)
rc=$?
check "overflow end to end: aborts (134)" test $rc -eq 134
if [ $HAVE_SYM -eq 1 ]; then
    check "overflow end to end: access at buggy.c:LINE" has "#0 0x[0-9a-f]+ in main .*buggy\.c:$L_OVF_ACCESS$COL \("
    check "overflow end to end: allocation at buggy.c:LINE" has "#0 0x[0-9a-f]+ in main .*buggy\.c:$L_OVF_ALLOC$COL \("
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
    [ $HAVE_SYM -eq 1 ] && check "--log: file symbolized in place after exit" has "in keep .*buggy\.c:$L_LEAK_ALLOC$COL "
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
if [ $HAVE_SYM -eq 1 ]; then
    OUT=$(cd "$T" && env -u POOLDBG_LIB "$P/bin/pooldbg" --leaks -- ./buggy 2>&1)
    check "installed wrapper symbolizes" has "in keep .*buggy\.c:$L_LEAK_ALLOC$COL "
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
    '^ +SUMMARY: libpooldbg: heap-buffer-overflow [^ ]*demo\.c:[0-9]+(:[0-9]+)? in make_card$'
check "make demo: the use after free's report draws the freed block and the caret" hasall \
    '^ +\[hdr\]\[f+ freed [0-9]+-byte block f+\](\[slack [0-9]+\])?\[guard page\]$' '^ +\^ [0-9]+ bytes inside$' \
    '^ +SUMMARY: libpooldbg: heap-use-after-free [^ ]*demo\.c:[0-9]+(:[0-9]+)? in cancel_guest$'

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
    (cd "$T" && "$W" --continue --sarif="$T/two.sarif" -- ./two) 2>"$T/two.log" >/dev/null
    OUT=$(python3 scripts/pooldbg_sarif.py "$T/two.log" | python3 -c '
import json, sys
a, b = json.load(sys.stdin), json.load(open(sys.argv[1]))
print("same" if a["runs"][0]["results"] == b["runs"][0]["results"] else "differ")
print(b["runs"][0]["tool"]["driver"]["version"])
' "$T/two.sarif" 2>&1)
    check "--sarif FILE: the results pooldbg_sarif.py makes of the log, the library's version" hasall \
        '^same$' '^[0-9]+\.[0-9]+\.[0-9]+ \(commit '
    OUT=$(python3 -c '
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
' <"$T/two.sarif" 2>&1)
    check "SARIF 2.1.0: one result per report, rule = kind, location = the program's line" hasall \
        "^heap-buffer-overflow file://$T/two\.c $(line_of "$T/two.c" SARIF-OVERFLOW)\$" \
        "^heap-use-after-free file://$T/two\.c $(line_of "$T/two.c" SARIF-UAF)\$"
    check "SARIF: exactly two results" test "$(wc -l <<<"$OUT")" -eq 2
    # report_format=json through the wrapper: frames get file, line, column.
    OUT=$(cd "$T" && "$W" -o report_format=json --continue -- ./two 2>&1 >/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    if line.startswith("{"):
        d = json.loads(line)
        f = d["stacks"][0]["frames"][0]
        print(d["kind"], f["function"], f["file"].rsplit("/", 1)[-1], f["line"])
')
    check "report_format=json through the wrapper: each report one object, its frames symbolized" hasall \
        "^heap-buffer-overflow main two\.c $(line_of "$T/two.c" SARIF-OVERFLOW)\$" \
        "^heap-use-after-free main two\.c $(line_of "$T/two.c" SARIF-UAF)\$"
fi

echo "wrapper: $pass passed, $fail failed"
[ $fail -eq 0 ]
