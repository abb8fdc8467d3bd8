# Shared by the test runners (run_detect_tests.sh, run_hostile_tests.sh,
# load_test.sh): argument parsing, test selection, and the library check.
# Source it after setting SUITE (the runner's name in messages), LIB and OUT,
# and after defining die().

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
