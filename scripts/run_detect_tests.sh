#!/usr/bin/env bash
# run_detect_tests.sh — death tests: every bug class libpooldbg detects.
#
# Usage (from anywhere; runs from the repository root):
#   scripts/run_detect_tests.sh [--list] [PATTERN...]
#     PATTERN  run only the tests whose name contains one of the patterns
#     --list   print the test names and exit
# The tests are the table of scripts/detect_tests.py, checked through the
# report parser scripts/pooldbg_report.py (docs/REPORT-FORMAT.md); --help
# prints its description and environment (LIB, BUILD, DETECT_TIMEOUT,
# DETECT_JOBS, DETECT_OPTIONS). This wrapper first rebuilds the default
# library when it is missing or older than src/ (testlib.sh's
# ensure_library), as the other runners do.
set -u

cd "$(dirname "$0")/.."

LIB=${LIB:-target/release/libpooldbg.so}
BUILD=${BUILD:-build}
SUITE=detect
OUT=$BUILD/detect
# shellcheck source=scripts/testlib.sh
. scripts/testlib.sh

need_library=1
for arg in "$@"; do
    case $arg in --list | -h | --help) need_library=0 ;; esac
done
if [ $need_library -eq 1 ]; then
    mkdir -p "$OUT"
    ensure_library
    export LIB=$LIB_ABS
fi
exec python3 scripts/detect_tests.py "$@"
