#!/usr/bin/env bash
# load_test.sh — "never the cause" (issue 7), the slow part (make stress).
#
# Usage (from anywhere; runs from the repository root):
#   scripts/load_test.sh [--list] [PATTERN...]
# Environment: LIB, BUILD (as in the Makefile), LOAD_SEED (1),
# LOAD_POINTERS (1000000), LOAD_WRK_SECONDS (30), LOAD_NO_INSTALL=1 (do not
# apt-get install haproxy/wrk when missing: the haproxy test then fails).
#
# Tests (each program is a child with a timeout; a timeout is a failure):
#   ptrfuzz-million   1,000,000 hostile pointers to free/realloc/
#                     malloc_usable_size in one process (on_error=continue):
#                     each call must print exactly one report naming it; the
#                     heap must stay intact (c_tests/hostile/ptrfuzz.c)
#   ptrfuzz-fork      10,000 children, one hostile pointer each: each stopped
#                     by its report (SIGABRT), none crashes
#   optfuzz           2,000 random POOLDBG_OPTIONS strings
#   sigreent-soak     8 runs of signal handlers calling malloc while threads
#                     allocate: each completes or ends with the re-entry
#                     report; a hang fails (counts are printed)
#   cancel-async-in-malloc  INFO only (undefined behaviour in POSIX):
#                     asynchronous cancellation across malloc; the outcome of
#                     5 runs is printed, never counted as pass or fail
#   haproxy           haproxy (nbthread 2) on 127.0.0.1 under the library,
#                     loaded by wrk -t2 -c50 for 30 s: no libpooldbg line, no
#                     non-2xx response, no socket errors, still answering
#   sqlite3           bulk inserts, indexes, joins, updates, VACUUM,
#                     integrity_check: output identical to native
#   git-gc            git gc --aggressive on a 300-commit repository of loose
#                     objects, then git log -p and fsck: same objects and
#                     output as a native gc of a copy
#   xz                xz -T2 compress and decompress 16 MB: compressed bytes
#                     identical to native, round trip exact
#   python3           PYTHONMALLOC=malloc python3 running a mixed workload
#                     (dicts, json, sort, regex, bigint, zlib, sqlite3):
#                     output identical to native
# Prints "PASS name"/"FAIL name"/"INFO name", closing line
# "load: N passed, M failed"; exit 1 if any failed.  Logs: $BUILD/load/.
set -u

cd "$(dirname "$0")/.." || exit 2

LIB=${LIB:-target/release/libpooldbg.so}
BUILD=${BUILD:-build}
SEED=${LOAD_SEED:-1}
POINTERS=${LOAD_POINTERS:-1000000}
WRK_SECONDS=${LOAD_WRK_SECONDS:-30}
SRC=c_tests/hostile
case $BUILD in /*) OUT=$BUILD/load ;; *) OUT=$PWD/$BUILD/load ;; esac
BIN=$OUT/bin
LOGS=$OUT/logs
WORK=$OUT/work

TESTS=(ptrfuzz-million ptrfuzz-fork optfuzz sigreent-soak cancel-async-in-malloc haproxy sqlite3 git-gc xz python3)

HELP_LINES=44
SUITE=load
# shellcheck source=scripts/testlib.sh
. scripts/testlib.sh
parse_test_args "$@"
if [ $list_only -eq 1 ]; then
    for t in "${TESTS[@]}"; do selected "$t" && echo "$t"; done
    exit 0
fi

# ------------------------------------------------------------------ library, programs
mkdir -p "$BIN" "$LOGS" "$WORK"
ensure_library

build ptrfuzz gcc -O1
build optfuzz gcc -O1
build optarget gcc -O1
build sigreent gcc -O1
build cancel gcc -O1

# ------------------------------------------------------------------ helpers
passed=0
failed=0
why=()
summary=
# native NAME TIMEOUT -- command...: the same without the library
native() {
    local name=$1 secs=$2
    shift 3
    env -u POOLDBG_OPTIONS -u LD_PRELOAD timeout -k 5 "$secs" "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" </dev/null
    nrc=$?
}
no_lib_lines() { # file...
    local f l
    for f in "$@"; do
        l=$(grep -a -m3 '^libpooldbg:' "$f")
        [ -z "$l" ] || note "libpooldbg printed in $(basename "$f"): $l"
    done
}
same() { # a b what
    if ! cmp -s "$1" "$2"; then
        note "$3 differs from native: diff $1 $2 | head: $(diff "$1" "$2" 2>/dev/null | head -4 | tr '\n' '|')"
    fi
}

# ------------------------------------------------------------------ tests
t_ptrfuzz-million() {
    run ptrfuzz-million 500 on_error=continue -- env FUZZ_TRUNCATE=1 "$BIN/ptrfuzz" loop "$POINTERS" "$SEED"
    expect_rc 1 $rc "ptrfuzz loop $POINTERS (error_exitcode after its reports)"
    while read -r l; do note "$l"; done < <(grep -a '^ptrfuzz: FAIL' "$LOGS/ptrfuzz-million.out" | head -5)
    grep -aq '^ptrfuzz: OK' "$LOGS/ptrfuzz-million.out" || note "no 'ptrfuzz: OK'"
    local calls reported
    calls=$(sed -n 's/^calls=//p' "$LOGS/ptrfuzz-million.out")
    reported=$(sed -n 's/.* reported=\([0-9]*\).*/\1/p' "$LOGS/ptrfuzz-million.out")
    [ "${calls:-0}" -ge "$POINTERS" ] && [ "${reported:-0}" = "${calls:-x}" ] ||
        note "calls=${calls:-?} reported=${reported:-?}, expected $POINTERS each"
    summary="$(grep -a '^ptrfuzz: loop' "$LOGS/ptrfuzz-million.out" | sed 's/^ptrfuzz: loop //'); $(sed -n 's/^ptrfuzz: by report kind: //p' "$LOGS/ptrfuzz-million.out")"
    [ ${#why[@]} -eq 0 ] && : >"$LOGS/ptrfuzz-million.err" # checked call by call; keep no GBs
}

t_ptrfuzz-fork() {
    run ptrfuzz-fork 300 "" -- "$BIN/ptrfuzz" fork 10000 "$((SEED + 1000))"
    expect_rc 0 $rc "ptrfuzz fork 10000"
    while read -r l; do note "$l"; done < <(grep -a 'FAIL' "$LOGS/ptrfuzz-fork.out" | head -5)
    grep -aq '^ptrfuzz: OK' "$LOGS/ptrfuzz-fork.out" || note "no 'ptrfuzz: OK'"
    summary=$(grep -a '^ptrfuzz: fork' "$LOGS/ptrfuzz-fork.out" | sed 's/^ptrfuzz: //')
}

t_optfuzz() {
    rm -rf "$WORK/optfuzz" && mkdir -p "$WORK/optfuzz"
    native optfuzz 300 -- "$BIN/optfuzz" "$LIB_ABS" "$BIN/optarget" 2000 "$((SEED + 7))" "$WORK/optfuzz"
    [ $nrc -eq 124 ] && note TIMEOUT
    expect_rc 0 $nrc "optfuzz 2000"
    while read -r l; do note "$l"; done < <(grep -a -A4 'FAIL' "$LOGS/optfuzz.out" | head -12)
    summary=$(tail -1 "$LOGS/optfuzz.out" | sed 's/^optfuzz: //')
}

t_sigreent-soak() {
    local i completed=0 reported=0 hangs=0 handled=0 served=0
    for i in 1 2 3 4 5 6 7 8; do
        run sigreent-soak-$i 15 "" -- "$BIN/sigreent" inside 4 $((1 + i % 4))
        local first last h s
        first=$(grep -a '^libpooldbg:' "$LOGS/sigreent-soak-$i.err" | head -1)
        if [ $rc -eq 0 ] && [ -z "$first" ]; then
            completed=$((completed + 1))
        elif [ $rc -eq 134 ] && [ "$first" = "libpooldbg: ERROR: allocator re-entered while holding one of its locks" ]; then
            reported=$((reported + 1))
        elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
            hangs=$((hangs + 1))
        else
            note "run $i: exit $rc, '$first'"
        fi
        last=$(grep -a '^sigreent:' "$LOGS/sigreent-soak-$i.out" | tail -1)
        h=$(sed -n 's/.*handled=\([0-9]*\).*/\1/p' <<<"$last")
        s=$(sed -n 's/.*served=\([0-9]*\).*/\1/p' <<<"$last")
        handled=$((handled + ${h:-0}))
        served=$((served + ${s:-0}))
    done
    summary="8 runs: $completed completed, $reported re-entry reports, $hangs hangs; handlers entered $handled times, $served mallocs served"
}

t_cancel-async-in-malloc() {
    local i res=()
    for i in 1 2 3 4 5; do
        { env -u POOLDBG_OPTIONS CANCEL_NO_CLEANUP=$((i % 2)) LD_PRELOAD="$LIB_ABS" timeout -k 2 10 \
            "$BIN/cancel" async-in-malloc 100 >"$LOGS/cancel-aim-$i.out" 2>"$LOGS/cancel-aim-$i.err" </dev/null
          rc=$?; } 2>/dev/null
        case $rc in
            0) res+=(completed) ;;
            124|137) res+=(HANG) ;;
            134) if grep -aq '^libpooldbg: ERROR: allocator re-entered' "$LOGS/cancel-aim-$i.err"; then res+=(re-entry-report); else res+=(abort); fi ;;
            *) res+=("exit-$rc") ;;
        esac
    done
    echo "INFO cancel-async-in-malloc  (undefined behaviour, not counted; 5 runs: ${res[*]})"
    return 2
}

free_port() {
    local p
    for p in $(shuf -i 20000-40000 -n 50); do
        ss -ltnH "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
    done
    echo 28181
}
t_haproxy() {
    if ! command -v haproxy >/dev/null || ! command -v wrk >/dev/null; then
        if [ "${LOAD_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
            dpkg -s haproxy >/dev/null 2>&1 && dpkg -s wrk >/dev/null 2>&1 ||
                DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy wrk >"$LOGS/apt.log" 2>&1
        fi
    fi
    if ! command -v haproxy >/dev/null || ! command -v wrk >/dev/null; then
        note "haproxy or wrk not installed (apt-get install -y haproxy wrk)"
        return
    fi
    local port cfg=$WORK/haproxy.cfg hpid
    port=$(free_port)
    cat >"$cfg" <<EOF
global
    nbthread 2
    maxconn 4000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:$port
    http-request return status 200 content-type text/plain string ok
EOF
    haproxy -c -f "$cfg" >"$LOGS/haproxy-check.log" 2>&1 || { note "haproxy -c rejects the configuration"; return; }
    env -u POOLDBG_OPTIONS LD_PRELOAD="$LIB_ABS" haproxy -db -f "$cfg" >"$LOGS/haproxy.out" 2>"$LOGS/haproxy.err" </dev/null &
    hpid=$!
    local up=0 i
    for i in $(seq 1 50); do
        if [ "$(curl -s -m 2 "http://127.0.0.1:$port/")" = ok ]; then up=1; break; fi
        kill -0 $hpid 2>/dev/null || break
        sleep 0.2
    done
    if [ $up = 0 ]; then
        note "haproxy under the library did not answer on 127.0.0.1:$port"
    else
        timeout -k 5 $((WRK_SECONDS + 30)) wrk -t2 -c50 -d"${WRK_SECONDS}s" "http://127.0.0.1:$port/" >"$LOGS/wrk.out" 2>&1
        local wrc=$?
        [ $wrc -eq 0 ] || note "wrk exit $wrc"
        grep -q 'Non-2xx' "$LOGS/wrk.out" && note "wrk: $(grep 'Non-2xx' "$LOGS/wrk.out")"
        grep -q 'Socket errors' "$LOGS/wrk.out" && note "wrk: $(grep 'Socket errors' "$LOGS/wrk.out")"
        local reqs
        reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$LOGS/wrk.out")
        [ "${reqs:-0}" -gt 1000 ] || note "wrk completed only ${reqs:-0} requests"
        local after
        after=$(curl -s -m 5 "http://127.0.0.1:$port/")
        [ "$after" = ok ] || note "haproxy no longer answers after the load ('$after')"
        summary="$reqs requests in ${WRK_SECONDS}s ($(sed -n 's/^Requests\/sec: *//p' "$LOGS/wrk.out") req/s), all 2xx, still answering"
    fi
    if kill -0 $hpid 2>/dev/null; then
        kill -TERM $hpid
        for i in $(seq 1 50); do kill -0 $hpid 2>/dev/null || break; sleep 0.2; done
        kill -0 $hpid 2>/dev/null && { note "haproxy did not stop on SIGTERM"; kill -KILL $hpid; }
    else
        note "haproxy died during the test"
    fi
    wait $hpid 2>/dev/null
    no_lib_lines "$LOGS/haproxy.err" "$LOGS/haproxy.out"
}

t_sqlite3() {
    command -v sqlite3 >/dev/null || { note "sqlite3 not installed"; return; }
    local sql=$WORK/load.sql
    cat >"$sql" <<'EOF'
PRAGMA journal_mode=WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT, b BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<100000)
INSERT INTO t(k, s, b) SELECT (x*7919)%10007, printf('row-%08d-%s', x, hex(x*x)), zeroblob(x%300) FROM c;
BEGIN;
INSERT INTO t(k, s, b) VALUES (1, 'one', x'01'), (2, 'two', x'0202'), (3, 'three', x'030303');
COMMIT;
CREATE INDEX ik ON t(k);
CREATE INDEX is2 ON t(s);
SELECT count(*), sum(k), max(length(s)), sum(length(b)) FROM t;
SELECT k, count(*), group_concat(id % 10) FROM t WHERE k < 20 GROUP BY k ORDER BY k;
SELECT s FROM t WHERE s LIKE 'row-0001%' ORDER BY s DESC LIMIT 5;
CREATE TABLE u AS SELECT k, count(*) AS n, avg(id) AS a FROM t GROUP BY k;
SELECT count(*), sum(n), printf('%.3f', sum(a)) FROM u;
SELECT t.k, u.n FROM t JOIN u ON t.k = u.k WHERE t.id % 10000 = 0 ORDER BY t.id;
UPDATE t SET s = upper(s) WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), sum(length(s)), min(s), max(s) FROM t;
WITH RECURSIVE f(n, v) AS (SELECT 1, 1 UNION ALL SELECT n+1, (v*31+n)%1000003 FROM f WHERE n < 5000) SELECT sum(v) FROM f;
VACUUM;
PRAGMA integrity_check;
EOF
    rm -f "$WORK"/sq-*.db*
    native sqlite3-native 300 -- sqlite3 -init /dev/null -bail "$WORK/sq-n.db" ".read $sql"
    run sqlite3 300 "" -- sqlite3 -init /dev/null -bail "$WORK/sq-p.db" ".read $sql"
    expect_rc 0 $nrc "native sqlite3"
    expect_rc 0 $rc "sqlite3 under the library"
    same "$LOGS/sqlite3-native.out" "$LOGS/sqlite3.out" "sqlite3 output"
    no_lib_lines "$LOGS/sqlite3.err"
    grep -q '^ok$' "$LOGS/sqlite3.out" || note "integrity_check did not say ok"
    summary="100,003 rows, $(wc -l <"$LOGS/sqlite3.out") output lines identical to native"
    rm -f "$WORK"/sq-*.db*
}

t_git-gc() {
    command -v git >/dev/null || { note "git not installed"; return; }
    local g=$WORK/git
    rm -rf "$g" && mkdir -p "$g"
    # a repository with history, every object loose, built natively
    python3 - >"$g/import.txt" <<'EOF' || { note "cannot generate the fast-import stream"; return; }
import random, sys
r = random.Random(7)
w = sys.stdout.write
files = {f"src/f{i:03d}.txt": "\n".join(f"line {j} of file {i}" for j in range(200)) + "\n" for i in range(60)}
t = 1700000000
for c in range(300):
    for _ in range(5):
        name = r.choice(sorted(files))
        lines = files[name].split("\n")
        k = r.randrange(len(lines))
        lines[k] = f"commit {c} changed line {k} {r.random():.6f}"
        files[name] = "\n".join(lines)
    if c % 50 == 0:
        files[f"new/n{c}.txt"] = f"new file {c}\n" * 100
    w(f"commit refs/heads/main\nmark :{c+1}\nauthor T <t@example.com> {t+c*60} +0000\n"
      f"committer T <t@example.com> {t+c*60} +0000\n")
    msg = f"commit number {c}\n"
    w(f"data {len(msg)}\n{msg}")
    if c:
        w(f"from :{c}\n")
    for name, body in sorted(files.items()):
        w(f"M 100644 inline {name}\ndata {len(body.encode())}\n{body}\n")
    w("\n")
EOF
    (
        export -n LD_PRELOAD
        cd "$g" && git init -q -b main base && cd base && git fast-import --quiet <"$g/import.txt" &&
            mkdir -p "$g/pack" && mv .git/objects/pack/pack-* "$g/pack/" &&
            git unpack-objects -q <"$g"/pack/*.pack && rm -rf "$g/pack" && git checkout -q main
    ) >"$LOGS/git-setup.log" 2>&1 || { note "cannot build the test repository (log: $LOGS/git-setup.log)"; return; }
    rm -f "$g/import.txt"
    cp -a "$g/base" "$g/native"
    cp -a "$g/base" "$g/preload"
    (cd "$g/native" && native git-gc-native 300 -- git gc --aggressive --quiet &&
        native git-log-native 300 -- git log -p --stat && echo $nrc >"$g/native.rc")
    (cd "$g/preload" && run git-gc 300 "" -- git gc --aggressive --quiet &&
        echo $rc >"$g/gc.rc" && run git-log 300 "" -- git log -p --stat && echo $rc >"$g/log.rc")
    [ "$(cat "$g/gc.rc" 2>/dev/null)" = 0 ] || note "git gc under the library: exit $(cat "$g/gc.rc" 2>/dev/null)"
    [ "$(cat "$g/log.rc" 2>/dev/null)" = 0 ] || note "git log under the library: exit $(cat "$g/log.rc" 2>/dev/null)"
    no_lib_lines "$LOGS/git-gc.err" "$LOGS/git-log.err"
    same "$LOGS/git-log-native.out" "$LOGS/git-log.out" "git log -p --stat"
    local d
    for d in native preload; do
        (cd "$g/$d" && env -u LD_PRELOAD git count-objects -v | grep -E '^(count|in-pack|packs):' &&
            env -u LD_PRELOAD git fsck --full --strict 2>&1 &&
            env -u LD_PRELOAD git cat-file --batch-all-objects --batch-check) >"$LOGS/git-state-$d.txt" 2>&1
    done
    same "$LOGS/git-state-native.txt" "$LOGS/git-state-preload.txt" "repository state after gc (count-objects, fsck, object list)"
    grep -q '^count: 0' "$LOGS/git-state-preload.txt" || note "gc under the library left loose objects"
    summary="$(grep -c . <"$LOGS/git-state-preload.txt") lines of repository state and $(wc -l <"$LOGS/git-log.out") lines of git log -p identical to native"
    rm -rf "$g"
}

t_xz() {
    command -v xz >/dev/null || { note "xz not installed"; return; }
    local in=$WORK/xz-in.bin
    python3 - "$in" <<'EOF' || { note "cannot generate the input"; return; }
import random, sys
r = random.Random(3)
with open(sys.argv[1], "wb") as f:
    while f.tell() < 16_000_000:
        f.write("".join(f"{r.randrange(10**6)} lorem ipsum dolor {r.random()}\n" for _ in range(400)).encode())
        f.write(r.randbytes(4096))
EOF
    env -u LD_PRELOAD timeout 300 xz -T2 -3 --block-size=4MiB -c "$in" >"$WORK/xz-native.xz" 2>"$LOGS/xz-native.err" ||
        note "native xz failed"
    {
        env -u POOLDBG_OPTIONS LD_PRELOAD="$LIB_ABS" timeout -k 5 300 xz -T2 -3 --block-size=4MiB -c "$in" \
            >"$WORK/xz-preload.xz" 2>"$LOGS/xz.err"
        rc=$?
    } 2>/dev/null
    expect_rc 0 $rc "xz -T2 compress under the library"
    cmp -s "$WORK/xz-native.xz" "$WORK/xz-preload.xz" || note "compressed output differs from native"
    {
        env -u POOLDBG_OPTIONS LD_PRELOAD="$LIB_ABS" timeout -k 5 300 xz -T2 -d -c "$WORK/xz-preload.xz" \
            >"$WORK/xz-out.bin" 2>>"$LOGS/xz.err"
        rc=$?
    } 2>/dev/null
    expect_rc 0 $rc "xz -T2 -d under the library"
    cmp -s "$in" "$WORK/xz-out.bin" || note "round trip differs from the input"
    no_lib_lines "$LOGS/xz.err"
    summary="$(stat -c %s "$in") bytes -> $(stat -c %s "$WORK/xz-preload.xz") (identical to native) -> round trip exact"
    rm -f "$in" "$WORK"/xz-*
}

t_python3() {
    local py
    py=$(command -v python3)
    [ -x /usr/bin/python3 ] && py=/usr/bin/python3
    [ -n "$py" ] || { note "python3 not installed"; return; }
    py=$(readlink -f "$py")
    local script=$WORK/workload.py
    cat >"$script" <<'EOF'
import hashlib, json, re, random, zlib, collections, itertools, decimal, fractions, sqlite3, struct, threading
r = random.Random(12345)
h = hashlib.sha256()
def out(*a):
    s = " ".join(str(x) for x in a)
    h.update(s.encode())
    print(s)
d = {f"k{i}": [i, str(i) * (i % 7), {"x": i * 1.5}] for i in range(12000)}
out("dict", len(d), sum(v[0] for v in d.values()))
js = json.dumps(d, sort_keys=True)
out("json", len(js), hashlib.md5(js.encode()).hexdigest())
out("roundtrip", json.loads(js) == d)
del d
xs = [r.randrange(10**9) for _ in range(50000)]
xs.sort()
out("sort", xs[0], xs[len(xs) // 2], xs[-1], len(set(xs)))
words = ["".join(r.choice("abcdefghij") for _ in range(r.randrange(1, 9))) for _ in range(30000)]
c = collections.Counter(words)
out("counter", len(c), c.most_common(3))
text = " ".join(words)
out("regex", len(re.findall(r"\b(a\w*j)\b", text)), re.sub(r"[aeiou]+", "-", text[:200]))
out("bigint", hashlib.sha1(str(3 ** 4000).encode()).hexdigest())
decimal.getcontext().prec = 200
out("decimal", str(decimal.Decimal(2).sqrt())[:60])
out("fraction", sum(fractions.Fraction(1, k) for k in range(1, 300)).denominator % 1000003)
blob = "".join(words[:10000]).encode() * 5
z = zlib.compress(blob, 9)
out("zlib", len(blob), len(z), zlib.decompress(z) == blob)
con = sqlite3.connect(":memory:")
con.execute("create table t(a integer, b text)")
con.executemany("insert into t values(?, ?)", ((i, words[i % len(words)]) for i in range(10000)))
out("sqlite", con.execute("select count(*), sum(a), max(b) from t").fetchone())
live = []
for i in range(60000):
    live.append((i, str(i)))
    if i % 3 == 0:
        live.pop(r.randrange(len(live)))
out("churn", len(live), sum(t[0] for t in live) % 1000003)
res = [None] * 4
def work(k):
    res[k] = sum(len(str(j) * (j % 5)) for j in range(20000 * (k + 1)))
ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
out("threads", res)
out("iter", sum(1 for _ in itertools.permutations(range(8))), struct.pack("<q", 123456789).hex())
print("digest", h.hexdigest())
EOF
    native python3-native 300 -- env PYTHONMALLOC=malloc PYTHONHASHSEED=0 "$py" "$script"
    run python3 300 "" -- env PYTHONMALLOC=malloc PYTHONHASHSEED=0 "$py" "$script"
    expect_rc 0 $nrc "native python3"
    expect_rc 0 $rc "python3 under the library"
    same "$LOGS/python3-native.out" "$LOGS/python3.out" "python3 output"
    no_lib_lines "$LOGS/python3.err"
    summary="$py, PYTHONMALLOC=malloc: $(wc -l <"$LOGS/python3.out") output lines identical to native"
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
    [ $status -eq 2 ] && continue # informational
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    summary="${summary:+$summary; }$((ms / 1000)).$((ms % 1000 / 100))s"
    if [ ${#why[@]} -eq 0 ]; then
        echo "PASS $t  ($summary)"
        passed=$((passed + 1))
    else
        echo "FAIL $t  ($summary)"
        for w in "${why[@]}"; do echo "    $w"; done
        echo "    logs: $LOGS/"
        failed=$((failed + 1))
    fi
done
echo "load: total $(( $(date +%s) - start ))s"
echo "load: $passed passed, $failed failed"
[ $failed -eq 0 ]
