#!/usr/bin/env bash
# gen_sort_input.sh OUT: 200,000 lines "<word><n> <number> <word>" from a
# fixed LCG — the deterministic text the smoke tests and benchmarks sort
# and compress.
set -eu
awk 'BEGIN {
    s = 12345;
    split("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike", w, " ");
    for (i = 0; i < 200000; i++) {
        s = (s * 69069 + 1) % 4294967296; a = s % 13 + 1;
        s = (s * 69069 + 1) % 4294967296; n = s % 1000000;
        s = (s * 69069 + 1) % 4294967296; b = s % 13 + 1;
        printf "%s%d %d %s\n", w[a], n % 97, n, w[b];
    }
}' >"$1"
