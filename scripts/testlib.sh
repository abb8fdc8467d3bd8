# Shared by the test runners (run_c_tests.sh, run_detect_tests.sh,
# run_hostile_tests.sh, load_test.sh, smoke.sh, stress.sh, test_wrapper.sh):
# argument parsing, test selection, the library check, building, running a
# child under a timeout and noting what went wrong. Source it after setting
# SUITE (the runner's name in messages), LIB and OUT; build and run also use
# SRC, BIN, LOGS and LIB_ABS (set by ensure_library).
# (The detect tests themselves are scripts/detect_tests.py.)

die() {
    echo "$SUITE: FAIL: $*"
    echo "$SUITE: 0 passed, 1 failed"
    exit 1
}

# parse_test_args "$@": --list, -h/--help (prints the runner's header
# comment up to HELP_LINES), and name patterns.
parse_test_args() {
    list_only=0
    patterns=()
    local arg
    for arg in "$@"; do
        case $arg in
            --list) list_only=1 ;;
            -h|--help) sed -n "2,${HELP_LINES:-30}p" "$0"; exit 0 ;;
            *) patterns+=("$arg") ;;
        esac
    done
}

# selected NAME: true when no pattern was given or NAME contains one.
selected() {
    [ ${#patterns[@]} -eq 0 ] && return 0
    local p
    for p in "${patterns[@]}"; do
        case $1 in *"$p"*) return 0 ;; esac
    done
    return 1
}

# ensure_library: rebuild the default library when it is missing or older
# than the sources; sets LIB_ABS. Dies if there is no library at all.
ensure_library() {
    if [ "$LIB" = target/release/libpooldbg.so ] &&
        { [ ! -f "$LIB" ] || [ -n "$(find src Cargo.toml Cargo.lock build.rs -newer "$LIB" 2>/dev/null | head -1)" ]; }; then
        echo "$SUITE: $LIB missing or older than src/: cargo build --release"
        if ! cargo build --release >"$OUT/cargo.log" 2>&1; then
            tail -20 "$OUT/cargo.log"
            [ -f "$LIB" ] || die "cargo build --release failed (log: $OUT/cargo.log)"
            echo "$SUITE: WARNING: cargo build failed; testing the existing $LIB"
        fi
    fi
    [ -f "$LIB" ] || die "library $LIB not found"
    LIB_ABS=$(readlink -f "$LIB")
}

# build NAME COMPILER FLAGS...: $SRC/NAME.c or .cpp into $BIN/NAME, again
# when the source or the runner is newer than the program.
build() {
    local name=$1 cc=$2 src
    shift 2
    src=$(ls "$SRC/$name".c "$SRC/$name".cpp 2>/dev/null | head -1)
    [ -n "$src" ] || die "no source for $name"
    if [ ! -x "$BIN/$name" ] || [ "$src" -nt "$BIN/$name" ] || [ "$0" -nt "$BIN/$name" ]; then
        "$cc" -g -pthread -Wall -Wextra "$@" -o "$BIN/$name" "$src" >"$LOGS/build-$name.log" 2>&1 ||
            { cat "$LOGS/build-$name.log"; die "cannot build $name"; }
    fi
}

# note TEXT: one reason the current test fails (the runner resets why=()).
note() { why+=("$*"); }

# run NAME SECS OPTIONS [VAR=VALUE...] -- COMMAND...
# Runs COMMAND as a child under `timeout -k $KILL_AFTER SECS` (KILL_AFTER: 5
# unless the runner sets it), with POOLDBG_OPTIONS and LD_PRELOAD taken out
# of the inherited environment, and then:
#   OPTIONS "-"    no library: the child runs natively;
#   other OPTIONS  LD_PRELOAD=$LIB_ABS, and POOLDBG_OPTIONS=OPTIONS when not
#                  empty;
#   VAR=VALUE...   more environment, applied last (LD_PRELOAD=other.so
#                  preloads another build; POOLDBG_OPTIONS= an empty value).
# NAME: stdout to $LOGS/NAME.out, stderr to $LOGS/NAME.err, stdin from
# /dev/null. NAME "-": the child keeps the caller's stdin, stdout and stderr
# (the caller redirects them; bash's "Aborted" notice for a child killed by a
# signal goes to that stderr too).
# Sets rc to the exit status (128+N: signal N; 124/137: timeout) and returns
# 0. A timeout is noted as a hang; with NAME "-" it is also written to
# stderr as "$SUITE: TIMEOUT (SECSs, rc=RC): COMMAND".
run() {
    local name=$1 secs=$2 opts=$3
    shift 3
    local envs=(-u POOLDBG_OPTIONS -u LD_PRELOAD)
    if [ "$opts" != - ]; then
        envs+=("LD_PRELOAD=$LIB_ABS")
        [ -n "$opts" ] && envs+=("POOLDBG_OPTIONS=$opts")
    fi
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        envs+=("$1")
        shift
    done
    shift
    if [ "$name" = - ]; then
        env "${envs[@]}" timeout -k "${KILL_AFTER:-5}" "$secs" "$@"
        rc=$?
    else
        # (the group's 2>/dev/null silences bash's "Aborted" line for the expected aborts)
        {
            env "${envs[@]}" timeout -k "${KILL_AFTER:-5}" "$secs" "$@" \
                >"$LOGS/$name.out" 2>"$LOGS/$name.err" </dev/null
            rc=$?
        } 2>/dev/null
    fi
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        note "TIMEOUT after ${secs}s (a hang): $*"
        [ "$name" != - ] || echo "$SUITE: TIMEOUT (${secs}s, rc=$rc): $*" >&2
    fi
    return 0
}

# expect_rc WANTED ACTUAL WHAT: notes a wrong exit status; returns 1 then.
expect_rc() {
    if [ "$2" -ne "$1" ]; then
        local how="exit $2"
        [ "$2" -gt 128 ] && how="exit $2 (signal $(($2 - 128)))"
        note "$3: $how, expected exit $1"
        return 1
    fi
}
