#!/usr/bin/env python3
"""detect_tests.py - death tests: every bug class libpooldbg detects.

Usage (from anywhere; runs from the repository root):
  scripts/run_detect_tests.sh [--list] [PATTERN...]    (what make ctest runs)
  scripts/detect_tests.py [--list] [PATTERN...]
    PATTERN  run only the tests whose name contains one of the patterns
    --list   print the test names and exit
Environment: LIB (target/release/libpooldbg.so; run_detect_tests.sh first
rebuilds it with `cargo build --release` when it is the default and missing
or older than src/), BUILD (build), DETECT_TIMEOUT (seconds per child, 30),
DETECT_JOBS (children run at once; the number of CPUs), and DETECT_OPTIONS
(extra POOLDBG_OPTIONS put before each test's own, e.g. guard=mprotect to run
every test in that mode).

The programs are c_tests/detect/*.c and *.cpp, one per bug class, built
-O0 -g -rdynamic; the few built otherwise (stripped, optimised, shared
libraries) are the SPECIAL table. Each test of TESTS below runs one child under LD_PRELOAD
with its own POOLDBG_OPTIONS (an inherited one is dropped); its stderr (or
log file) is parsed by scripts/pooldbg_report.py, the grammar of
docs/REPORT-FORMAT.md, and checked: the exit status, the report's first line
exactly (addresses come from the "ADDR 0x..." / "BAD 0x..." lines the child
prints before the bug), its detail lines, its stack headers, and that the
access, "freed by" and "allocated by" stacks name the test's own noinline
functions at #0 or #1, and which threads' origins the report gives ("thread
T1 created by T0 here:", its stack naming the function that called
pthread_create at #0 or #1).
Prints "PASS name" or "FAIL name" with the failed checks, the command and
the child's output, in table order; closing line "detect: N passed, M
failed"; exit 1 if any failed. Logs: $BUILD/detect/logs/NAME.{out,err}.
"""

import concurrent.futures
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pooldbg_report  # noqa: E402  (the one parser of the report format)

SUITE = "detect"
ERROR = pooldbg_report.ERROR_PREFIX


# ==================================================================== checks
# Each check is a small object; check(t) looks at one finished test t (a
# Test below) and calls t.fail(reason) for what is wrong. Strings may hold
# {expressions} over the values the child printed: a (its first ADDR), a2
# (the second ADDR), bad, bad2 (BAD lines), pid (PID), logdir; an integer
# is written as the library writes it (0x..., lower case), and blk(start,
# size) is a block's "[0x...,0x...)".

class Missing(Exception):
    """The child did not print a value a check needs."""


LABELS = {"a": "ADDR", "a2": "second ADDR", "bad": "BAD", "bad2": "second BAD", "pid": "PID"}
FIELD = re.compile(r"\{([^{}]+)\}")


def blk(start, size):
    return "[0x%x,0x%x)" % (start, start + size)


def expand(template, values, regex=False):
    def one(m):
        try:
            v = eval(m.group(1), {"__builtins__": {}, "blk": blk}, values)  # our own table's expressions
        except NameError as e:
            raise Missing("the program printed no %s line" % LABELS.get(e.name, e.name))
        s = "0x%x" % v if isinstance(v, int) else str(v)
        return re.escape(s) if regex else s
    return FIELD.sub(one, template)


class Check(object):
    def run(self, t):
        try:
            self.check(t)
        except Missing as e:
            t.fail(str(e))


class Status(Check):
    def __init__(self, code, why=""):
        self.code, self.why = code, why

    def check(self, t):
        if t.rc != self.code:
            t.fail("exit status %d, expected %d%s" % (t.rc, self.code, " (%s)" % self.why if self.why else ""))


ABORTED = Status(134, "SIGABRT")


class Reports(Check):
    """Exactly N reports: N first lines and N end lines."""

    def __init__(self, n):
        self.n = n

    def check(self, t):
        out = t.reports
        if len(out.reports) != self.n:
            t.fail("%d reports, expected %d" % (len(out.reports), self.n))
        ends = len(out.end_lines())
        if ends != self.n:
            t.fail("%d 'end of report' lines, expected %d" % (ends, self.n))


class First(Check):
    """Report N's first line is exactly 'libpooldbg: ERROR: ' + WHAT."""

    def __init__(self, what, n=1):
        self.what, self.n = what, n

    def check(self, t):
        want = ERROR + expand(self.what, t.values)
        got = t.report(self.n).raw if t.report(self.n) else None
        if got != want:
            t.fail("report %d first line: expected '%s', got '%s'" % (self.n, want, got or "<none>"))


class FirstRe(Check):
    """Report N's first line is 'libpooldbg: ERROR: ' + a match of REGEX."""

    def __init__(self, regex, n=1):
        self.regex, self.n = regex, n

    def check(self, t):
        want = ERROR + expand(self.regex, t.values, regex=True)
        got = t.report(self.n).raw if t.report(self.n) else None
        if got is None or not re.fullmatch(want, got):
            t.fail("report %d first line: expected /^%s$/, got '%s'" % (self.n, want, got or "<none>"))


class Detail(Check):
    """Report 1 has this detail line (exactly, or matching a regex)."""

    def __init__(self, line, regex=False):
        self.line, self.regex = line, regex

    def check(self, t):
        r = t.report(1)
        details = r.details if r else []
        want = expand(self.line, t.values, regex=self.regex)
        if self.regex:
            if not any(re.fullmatch(want, d) for d in details):
                t.fail("no detail line matching /^%s$/" % want)
        elif want not in details:
            t.fail("missing detail line: '%s'" % want)


class Header(Check):
    """Report 1 has a stack with exactly this header line."""

    def __init__(self, line):
        self.line = line

    def check(self, t):
        r = t.report(1)
        want = expand(self.line, t.values)
        if want not in (r.headers() if r else []):
            t.fail("missing stack header: '%s'" % want)


def names_at_top(frames, func):
    """Frame #0 or #1 is in FUNC: '    #N 0xPC in FUNC+0xOFF (MODULE+0xOFF)'."""
    return any(f.num in (0, 1) and f.symbol == func and f.module is not None for f in frames)


class Names(Check):
    """Report 1's SECTION stack ('here', 'freed', 'alloc') names FUNC at #0 or #1."""

    def __init__(self, section, func):
        self.section, self.func = section, func

    def check(self, t):
        s = t.report(1).stack(self.section) if t.report(1) else None
        if s is None or not names_at_top(s.frames, self.func):
            t.fail("the %s stack does not name %s at #0 or #1" % (self.section, self.func))


class FrameCount(Check):
    def __init__(self, section, n):
        self.section, self.n = section, n

    def check(self, t):
        s = t.report(1).stack(self.section) if t.report(1) else None
        got = len(s.frames) if s else 0
        if got != self.n:
            t.fail("expected exactly %d %s frame(s), got %d" % (self.n, self.section, got))


class NoStack(Check):
    """Report 1's SECTION stack is '<no stack recorded ...>'."""

    def __init__(self, section):
        self.section = section

    def check(self, t):
        s = t.report(1).stack(self.section) if t.report(1) else None
        if s is None or not s.no_stack or s.frames:
            t.fail("the %s stack is not '%s'" % (self.section, pooldbg_report.NO_STACK_LINE.strip()))


class Origin(Check):
    """Report 1 says '  thread TN created by TM here:' and that stack names
    FUNC at #0 or #1 (FUNC None: '<no stack recorded ...>' instead)."""

    def __init__(self, thread, by, func):
        self.thread, self.by, self.func = thread, by, func

    def check(self, t):
        s = t.report(1).threads.get(self.thread) if t.report(1) else None
        header = "  thread T%d created by T%d here:" % (self.thread, self.by)
        if s is None or s.header != header:
            t.fail("missing '%s' (got '%s')" % (header, s.header if s else "<none>"))
        elif self.func is None and (not s.no_stack or s.frames):
            t.fail("the stack of thread T%d's creation is not '%s'" % (self.thread, pooldbg_report.NO_STACK_LINE.strip()))
        elif self.func is not None and not names_at_top(s.frames, self.func):
            t.fail("the stack of thread T%d's creation does not name %s at #0 or #1" % (self.thread, self.func))


class NotCreated(Check):
    """Report 1 says '  thread TN was not created by pthread_create (WHY)'."""

    def __init__(self, thread, why):
        self.thread, self.why = thread, why

    def check(self, t):
        s = t.report(1).threads.get(self.thread) if t.report(1) else None
        want = "  thread T%d was not created by pthread_create (%s)" % (self.thread, self.why)
        if s is None or s.header != want:
            t.fail("missing '%s' (got '%s')" % (want, s.header if s else "<none>"))


class Origins(Check):
    """Report 1 tells where exactly these threads came from, in this order,
    each once (no line for T0), and nothing follows but frames."""

    def __init__(self, *threads):
        self.threads = list(threads)

    def check(self, t):
        r = t.report(1)
        got = list(r.threads) if r else []
        n = sum(1 for line in (r.lines if r else []) if line.startswith("  thread T"))
        if got != self.threads or n != len(self.threads):
            t.fail("thread origins for %s, expected %s (%d 'thread T' lines)"
                   % (" ".join("T%d" % n for n in got) or "none", " ".join("T%d" % n for n in self.threads) or "none", n))
        elif r and (r.other or r.stray_frames):
            t.fail("lines in report 1 that fit no rule: %s" % (r.other or [f.text for f in r.stray_frames]))


class PcIsFrame0(Check):
    """The 'at pc 0x...' of report 1 is frame #0 of its access stack."""

    def check(self, t):
        r = t.report(1)
        s = r.stack("here") if r else None
        f0 = s.frames[0] if s and s.frames and s.frames[0].num == 0 else None
        if r is None or r.pc is None or f0 is None or f0.pc != r.pc:
            t.fail("pc '%s' is not frame #0 '%s'" % ("" if r is None or r.pc is None else "0x%x" % r.pc,
                                                     f0.addr if f0 else ""))


class Notice(Check):
    """A 'libpooldbg: NOTICE: ...' line matches REGEX."""

    def __init__(self, regex):
        self.regex = regex

    def check(self, t):
        if not any(re.fullmatch(self.regex, n) for n in t.reports.notices):
            t.fail("no line matching /^%s$/" % self.regex)


class Summary(Check):
    """Report 1 is a leak report with this SUMMARY line and its end line."""

    def __init__(self, line):
        self.line = line

    def check(self, t):
        r = t.report(1)
        if r is None or r.summary != self.line:
            t.fail("summary: expected '%s', got '%s'" % (self.line, r.summary if r and r.summary else "<none>"))
        if r is None or not r.ended:
            t.fail("report 1 has no 'libpooldbg: end of report (pid N)' line")


class LeakGroup(Check):
    """A leak group 'KIND leak of BYTES byte(s) in N object(s)' whose stack
    names FUNC at #0 or #1."""

    def __init__(self, kind, nbytes, objects, func):
        self.kind, self.nbytes, self.objects, self.func = kind, nbytes, objects, func

    def check(self, t):
        groups = [g for r in t.reports.reports for g in r.leaks
                  if (g.leak_kind, g.leak_bytes, g.leak_objects) == (self.kind, self.nbytes, self.objects)]
        if not groups:
            t.fail("missing line: '  %s leak of %d byte(s) in %d object(s) allocated from:'"
                   % (self.kind, self.nbytes, self.objects))
        elif not any(names_at_top(g.frames, self.func) for g in groups):
            t.fail("the '%s leak of %d' group does not name %s at #0 or #1" % (self.kind, self.nbytes, self.func))


class LineCount(Check):
    """Exactly N lines of the child's stderr match REGEX (searched)."""

    def __init__(self, n, regex, what):
        self.n, self.regex, self.what = n, regex, what

    def check(self, t):
        got = sum(1 for line in t.reports.raw_lines if re.search(self.regex, line))
        if got != self.n:
            t.fail("%d %s, expected %d" % (got, self.what, self.n))


class NoLine(Check):
    """No line of the child's stderr matches REGEX (searched)."""

    def __init__(self, regex):
        self.regex = regex

    def check(self, t):
        if any(re.search(self.regex, line) for line in t.stderr.raw_lines):
            t.fail("unexpected line matching /%s/ in stderr" % self.regex)


class NotInterleaved(Check):
    def check(self, t):
        if t.reports.interleaved():
            t.fail("reports interleave")


class Same(Check):
    def __init__(self, got, want, what):
        self.got, self.want, self.what = got, want, what

    def check(self, t):
        got, want = expand(self.got, t.values), expand(self.want, t.values)
        if got != want:
            t.fail("%s: %s, expected %s" % (self.what, got, want))


class EndPid(Check):
    """Report 1 ends with 'end of report (pid P)', P the child's PID line."""

    def check(self, t):
        r = t.report(1)
        want = "libpooldbg: end of report (pid %s)" % expand("{pid}", t.values)
        if r is None or r.end != want:
            t.fail("report 1 does not end with '%s'" % want)


class StdoutHas(Check):
    def __init__(self, line):
        self.line = line

    def check(self, t):
        if self.line not in t.stdout_lines:
            t.fail("stdout lacks '%s'" % self.line)


class ModuleAtTop(Check):
    """Report 1's SECTION stack has frame #0 in a module matching REGEX."""

    def __init__(self, section, regex):
        self.section, self.regex = section, regex

    def check(self, t):
        s = t.report(1).stack(self.section) if t.report(1) else None
        f0 = s.frames[0] if s and s.frames and s.frames[0].num == 0 else None
        if f0 is None or f0.module is None or not re.search(self.regex, f0.module):
            t.fail("the %s stack's #0 is not in a module matching /%s/" % (self.section, self.regex))


class StderrNumber(Check):
    """A stderr line matches REGEX, whose group 1 is a number >= AT_LEAST."""

    def __init__(self, regex, at_least, what):
        self.regex, self.at_least, self.what = regex, at_least, what

    def check(self, t):
        found = [int(m.group(1)) for m in (re.fullmatch(self.regex, line) for line in t.stderr.raw_lines) if m]
        if not found:
            t.fail("no line matching /^%s$/ in stderr" % self.regex)
        elif found[0] < self.at_least:
            t.fail("%d %s, expected at least %d" % (found[0], self.what, self.at_least))


class StdoutLacks(Check):
    def __init__(self, text):
        self.text = text

    def check(self, t):
        if any(self.text in line for line in t.stdout_lines):
            t.fail("stdout has '%s' (the program went on after the bug)" % self.text)


# ==================================================================== the table
# A Case: name, the program and its arguments, POOLDBG_OPTIONS, what the
# child must print before the bug (need), the exit status, and the checks.
# log: the report goes to this file (log_path), not stderr.

NEED_ADDR = ("a",)


class Case(object):
    def __init__(self, name, command, options=None, status=ABORTED, need=NEED_ADDR, checks=(), log=None, runs=1,
                 requires=None):
        self.name = name
        self.runs = runs
        # A program outside c_tests/detect (an interpreter) is given by its
        # absolute path; "{bin}" in an argument is the directory of binaries.
        self.program, *self.args = command.split()
        # A program this machine may lack: the case is skipped without it.
        self.requires = requires
        self.options = options
        self.status = status
        self.need = need
        self.checks = list(checks)
        self.log = log


class SummaryNames(Check):
    """Report 1 ends with 'SUMMARY: libpooldbg: KIND (module+0xOFF) in FUNC'
    (FUNC: the first frame in the program's own code)."""

    def __init__(self, kind, func):
        self.kind, self.func = kind, func

    def check(self, t):
        r = t.report(1)
        if r is None or (r.summary_kind, r.summary_func) != (self.kind, self.func):
            t.fail("SUMMARY line: expected kind %s in %s, got '%s'" % (self.kind, self.func,
                                                                      r.summary if r and r.summary else "<none>"))


def access_report(kind, access, addr, where, n, size, pool, func, freed="", block="a", thread=0, origins=()):
    """A report at the faulting instruction: first line (all but the pc),
    location line, the access stack names FUNC with the pc at #0, the
    allocation stack names alloc_block; one report, which tells where the
    threads ORIGINS came from and no other."""
    return [
        Origins(*origins),
        FirstRe(r"%s on address {%s} \(%s\) at pc 0x[0-9a-f]+ thread T%d" % (kind, addr, access, thread)),
        Detail("  {%s} is located %d bytes %s %s%d-byte block {blk(%s,%d)} in pool %s"
               % (addr, n, where, freed, size, block, size, pool)),
        Detail(r"  \[hdr\]\[[=f]+ (freed )?%d-byte block [=f]+\](\[slack \d+\])?\[guard page\]" % size, regex=True),
        Detail(r" +\^ (\d+ bytes (inside|past the end|before the block)|just past the end)", regex=True),
        Names("here", func),
        PcIsFrame0(),
        Header("  allocated by malloc in thread T0 here:"),
        Names("alloc", "alloc_block"),
        Reports(1),
        SummaryNames(kind, func),
    ]


def canary_report(kind, func, size, pool, off):
    """A damaged canary after (heap-buffer-overflow) or before
    (heap-buffer-underflow) the block at ADDR, found when FUNC released it."""
    checks = [First("%s on %s({a})" % (kind, func))]
    if kind == "heap-buffer-overflow":
        checks += [
            Detail("  the canary after the %d-byte block {blk(a,%d)} in pool %s was overwritten:" % (size, size, pool)),
            Detail("  first corrupted byte {a+%d} is %d bytes to the right of the block (found by %s)"
                   % (size + off, off, func)),
        ]
    else:
        checks += [
            Detail("  the canary before the %d-byte block {blk(a,%d)} in pool %s was overwritten:" % (size, size, pool)),
            Detail("  last corrupted byte {a-%d} is %d bytes to the left of the block (found by %s)" % (off, off, func)),
        ]
    return checks + [Header("  allocated by malloc in thread T0 here:"), Reports(1)]


def foreign(func, ptr="bad"):
    """A pointer outside the heap, given to FUNC."""
    return [
        First("invalid-free on %s({%s})" % (func, ptr)),
        Detail("  {%s} was not returned by malloc: it is outside libpooldbg's heap"
               " (stack, global, mmap'ed or wild pointer)" % ptr),
    ]


def already_freed(pool, thread):
    return Detail("  {a} is the 32-byte block {blk(a,32)} in pool %s, already freed by thread T%d" % (pool, thread))


TESTS = []

# ------------------------------------------------------------ overflow.c
# heap-buffer-overflow at the instruction. Sizes that are multiples of 16 end
# against the guard page: one byte past them faults.
# (name, alloc, size, offset, op, width, pool, align, options)
OVERFLOWS = [
    ("overflow-malloc16-write1", "malloc", 16, 16, "write", 1, 16),
    ("overflow-malloc32-read8", "malloc", 32, 32, "read", 8, 32),
    ("overflow-malloc32-far-write", "malloc", 32, 32 + 4096 + 100, "write", 1, 32),
    ("overflow-malloc4096-write4", "malloc", 4096, 4096, "write", 4, 4096),
    ("overflow-malloc4096-far-read", "malloc", 4096, 4096 + 4096 + 100, "read", 1, 4096),
    ("overflow-malloc100000-write2", "malloc", 100000, 100000, "write", 2, 114688),
    ("overflow-malloc1M-read1", "malloc", 1048576, 1048576, "read", 1, 1048576),
    ("overflow-malloc1M-far-write8", "malloc", 1048576, 1048576 + 4096 + 100, "write", 8, 1048576),
    # Large blocks fault in lazily; beyond 16 GiB they live in the huge pool
    # (17 GiB: within the overcommit policy of a 24 GiB machine).
    ("overflow-malloc1G-read1", "malloc", 1 << 30, 1 << 30, "read", 1, 1 << 30),
    ("overflow-malloc17G-write1", "malloc", 17 << 30, 17 << 30, "write", 1, 1 << 41),
    ("overflow-calloc17G-far-read", "calloc", 17 << 30, (17 << 30) + 4196, "read", 1, 1 << 41),
    ("overflow-malloc100-rounded", "malloc", 100, 112, "write", 1, 112),  # 100 -> 112: p[112] faults
    ("overflow-malloc0", "malloc", 0, 0, "write", 1, 16),
    ("overflow-calloc32-write1", "calloc", 32, 32, "write", 1, 32),
    ("overflow-calloc4096-read4", "calloc", 4096, 4096, "read", 4, 4096),
    ("overflow-realloc-grown", "realloc_grow", 4096, 4096, "write", 1, 4096),
    ("overflow-realloc-shrunk", "realloc_shrink", 32, 32, "read", 1, 32),
    ("overflow-posix_memalign64", "posix_memalign", 128, 128, "write", 1, 192, 64),
    ("overflow-posix_memalign4096", "posix_memalign", 4096, 4096, "read", 8, 8192, 4096),
    ("overflow-aligned_alloc256", "aligned_alloc", 512, 512, "write", 1, 768, 256),
    ("overflow-memalign32-past-slack", "memalign", 40, 64, "write", 1, 80, 32),  # 24 bytes of slack, then the guard
    ("overflow-posix_memalign8192-page-end", "posix_memalign", 100, 4096, "write", 1, 10240, 8192),  # canary to the page end, then trapped
    ("overflow-mprotect-malloc32-write8", "malloc", 32, 32, "write", 8, 32, None, "guard=mprotect"),
    ("overflow-mprotect-malloc1M-far-read", "malloc", 1048576, 1048576 + 4196, "read", 1, 1048576, None, "guard=mprotect"),
]
for name, alloc, size, off, op, width, pool, *rest in OVERFLOWS:
    align, options = (rest + [None, None])[:2]
    access, func = ("READ", "bad_read") if op == "read" else ("WRITE", "bad_write")
    TESTS.append(Case(name, "overflow %s %d %d %s %d%s" % (alloc, size, off, op, width, " %d" % align if align else ""),
                      options, checks=access_report("heap-buffer-overflow", "%s of size %d" % (access, width),
                                                    "a+%d" % off, "to the right of", off - size, size, pool, func)
                      + [StdoutLacks("NOT DETECTED")]))
TESTS += [
    # An 8-byte read that starts inside the block and ends in the guard page:
    # the kernel reports the first byte of the trapped page, so does the report.
    Case("overflow-straddling-read8", "overflow malloc 4096 4092 read 8",
         checks=access_report("heap-buffer-overflow", "READ of size 8", "a+4096", "to the right of", 0, 4096, 4096,
                              "bad_read")),
    # The bad write from a second thread: T1 in the first line, allocation in T0.
    Case("overflow-in-thread", "overflow malloc 32 32 write_in_thread 1", checks=[
        FirstRe(r"heap-buffer-overflow on address {a+32} \(WRITE of size 1\) at pc 0x[0-9a-f]+ thread T1"),
        Detail("  {a+32} is located 0 bytes to the right of 32-byte block {blk(a,32)} in pool 32"),
        Names("here", "bad_write"), PcIsFrame0(),
        Header("  allocated by malloc in thread T0 here:"), Names("alloc", "alloc_block"),
        Origin(1, 0, "main"), Origins(1),
    ]),
]
# Inside libc: the faulting frame is libc's, #1 the test's; the access size
# is whatever vector width libc chose.
for name, command, size, func in [("overflow-strcpy-in-libc", "overflow strcpy 16 40 write 1", 16, "copy_string"),
                                  ("overflow-memcpy-in-libc-64", "overflow memcpy 32 64 write 1", 32, "copy_bytes"),
                                  ("overflow-memcpy-in-libc-5000", "overflow memcpy 32 5000 write 1", 32, "copy_bytes")]:
    TESTS.append(Case(name, command, checks=[
        FirstRe(r"heap-buffer-overflow on address {a+%d} \(WRITE of (size [0-9]+|unknown size)\) at pc 0x[0-9a-f]+"
                r" thread T0" % size),
        Detail("  {a+%d} is located 0 bytes to the right of %d-byte block {blk(a,%d)} in pool %d"
               % (size, size, size, size)),
        Names("here", func), PcIsFrame0(), Names("alloc", "alloc_block"),
    ]))
# Far from any block (three slots up, in a pool with one block): wild.
TESTS.append(Case("wild-access-in-heap", "overflow malloc 32 24576 write 1", checks=[
    FirstRe(r"heap-wild-access on address {a+24576} \(WRITE of size 1\) at pc 0x[0-9a-f]+ thread T0"),
    Detail("  {a+24576} lies in libpooldbg's heap but near no block (a wild or stale pointer)"),
    Names("here", "bad_write"), PcIsFrame0(), Reports(1),
]))

# ------------------------------------------------------------ slack.c
# Overflows inside the alignment slack: found by the tail canary at free /
# realloc, naming the first corrupted byte.
# (name, alloc, size, offset, release, function, pool, options)
SLACK = [
    ("slack-malloc13-at-free", "malloc", 13, 13, "free", "free", 16),
    ("slack-malloc13-at-realloc", "malloc", 13, 13, "realloc", "realloc", 16),
    ("slack-malloc13-at-realloc-inplace", "malloc", 13, 13, "realloc_inplace", "realloc", 16),
    ("slack-malloc100-last-byte", "malloc", 100, 111, "free", "free", 112),
    ("slack-memalign32-40-at-free", "memalign32", 40, 40, "free", "free", 80),
    ("slack-memalign8192-at-free", "memalign8192", 100, 4095, "free", "free", 10240),
    ("slack-realloc-shrunk-inplace", "shrunk", 20, 25, "free", "free", 32),
    ("slack-realloc-grown-inplace", "grown", 30, 30, "free", "free", 32),
    ("slack-protect_below-at-free", "malloc", 32, 32, "free", "free", 32, "protect_below=1"),
]
for name, alloc, size, off, release, func, pool, *options in SLACK:
    TESTS.append(Case(name, "slack %s %d %d %s" % (alloc, size, off, release), options[0] if options else None,
                      checks=canary_report("heap-buffer-overflow", func, size, pool, off - size)
                      + [StdoutLacks("RELEASED")]))
# alignment=1: blocks end at the guard, the same write faults at once.
for size in (13, 100):
    TESTS.append(Case("slack-alignment1-malloc%d-at-once" % size, "slack malloc %d %d free" % (size, size),
                      "alignment=1",
                      checks=access_report("heap-buffer-overflow", "WRITE of size 1", "a+%d" % size, "to the right of",
                                           0, size, (size + 15) // 16 * 16, "write_slack")
                      + [StdoutLacks("RELEASED")]))

# ------------------------------------------------------------ underflow.c
# p[-1..-8] is the owner link: corrupted-owner-link at free.
for off in (1, 8):
    TESTS.append(Case("underflow-owner-link-%d" % off, "underflow 32 %d write" % off, checks=[
        First("corrupted-owner-link on free({a})"),
        Detail(r"  the owner link at {a-8}, 8 bytes before the 32-byte block \[{a},{a+32}\) in pool 32,"
               r" holds 0x[0-9a-f]+; expected 0x[0-9a-f]+", regex=True),
        Header("  allocated by malloc in thread T0 here:"), Reports(1), StdoutLacks("FREED"),
    ]))
# p[-9] and below (within the block's first page): head canary, at free.
for off in (9, 100):
    TESTS.append(Case("underflow-head-canary-%d" % off, "underflow 32 %d write" % off,
                      checks=canary_report("heap-buffer-underflow", "free", 32, 32, off) + [StdoutLacks("FREED")]))
# Far below: the page under the block's run is trapped.
for size, op in ((32, "write"), (4096, "read")):
    access, func = ("READ", "read_below") if op == "read" else ("WRITE", "write_below")
    TESTS.append(Case("underflow-far-%d-%s" % (size, op), "underflow %d 5000 %s" % (size, op),
                      checks=access_report("heap-buffer-underflow", "%s of size 1" % access, "a-5000", "to the left of",
                                           5000, size, size, func) + [StdoutLacks("FREED")]))
# protect_below=1: the block starts right after a trapped page.
for op in ("write", "read"):
    access, func = ("READ", "read_below") if op == "read" else ("WRITE", "write_below")
    TESTS.append(Case("underflow-protect_below-%s-at-once" % op, "underflow 32 1 %s" % op, "protect_below=1",
                      checks=access_report("heap-buffer-underflow", "%s of size 1" % access, "a-1", "to the left of",
                                           1, 32, 32, func)))

# ------------------------------------------------------------ uaf.c
# (name, size, offset, op, when, freeing function, pool, options)
UAF = [
    ("uaf-malloc32-write", 32, 0, "write", "now", "release_block", 32),
    ("uaf-malloc32-read-last", 32, 31, "read", "now", "release_block", 32),
    ("uaf-malloc1M-read", 1048576, 524288, "read", "now", "release_block", 1048576),
    ("uaf-malloc1M-write-last", 1048576, 1048575, "write", "now", "release_block", 1048576),
    ("uaf-malloc1G-write-middle", 1 << 30, 1 << 29, "write", "now", "release_block", 1 << 30),
    ("uaf-malloc17G-read", 17 << 30, 10 << 30, "read", "now", "release_block", 1 << 41),
    ("uaf-after-10000-allocs", 32, 7, "read", "after_many", "release_block", 32),
    ("uaf-after-realloc-moved", 16, 3, "write", "realloc", "move_block", 16),
    ("uaf-freed-by-other-thread", 32, 0, "read", "thread", "release_block", 32),
    ("uaf-mprotect-malloc32-write", 32, 16, "write", "now", "release_block", 32, "guard=mprotect"),
    ("uaf-mprotect-after-10000", 4096, 100, "read", "after_many", "release_block", 4096, "guard=mprotect"),
]
for name, size, off, op, when, freer, pool, *options in UAF:
    access, func = ("READ", "use_after_free_read") if op == "read" else ("WRITE", "use_after_free_write")
    in_thread = when == "thread"
    TESTS.append(Case(name, "uaf %d %d %s %s" % (size, off, op, when), options[0] if options else None,
                      checks=access_report("heap-use-after-free", "%s of size 1" % access, "a+%d" % off, "inside of",
                                           off, size, pool, func, freed="freed ", origins=(1,) if in_thread else ())
                      + [Names("freed", freer),
                         Header("  freed by thread T%d here:" % (1 if in_thread else 0)),
                         StdoutLacks("NOT DETECTED")]
                      + ([Origin(1, 0, "main")] if in_thread else [])))

# ------------------------------------------------------------ threads.c
# Every thread a report names but T0 comes with where it was created: the
# stack that called pthread_create (run() at #0, the spawn_* function at
# #1), and its creator's own origin after it.
UAF_T0 = [
    FirstRe(r"heap-use-after-free on address {a} \(READ of size 1\) at pc 0x[0-9a-f]+ thread T0"),
    Detail("  {a} is located 0 bytes inside of freed 32-byte block {blk(a,32)} in pool 32"),
    Names("here", "use_after_free_read"), PcIsFrame0(), Names("freed", "release_block"), Names("alloc", "alloc_block"),
    Reports(1), StdoutLacks("NOT DETECTED"),
]
TESTS += [
    # Allocated in T1, freed in T2, used in T0: T2's origin, then T1's.
    Case("threads-cross-uaf", "threads cross", checks=UAF_T0 + [
        Header("  freed by thread T2 here:"), Header("  allocated by malloc in thread T1 here:"),
        Origin(2, 0, "spawn_freer"), Origin(1, 0, "spawn_allocator"), Origins(2, 1)]),
    Case("threads-cross-uaf-stack_depth=0", "threads cross", "stack_depth=0", checks=[
        Origin(2, 0, None), Origin(1, 0, None), Origins(2, 1), Reports(1)]),
    # T2, made by T1, allocated and freed the block: T2's origin, then its
    # creator T1's.
    Case("threads-created-by-a-thread", "threads nested", checks=UAF_T0 + [
        Header("  freed by thread T2 here:"), Header("  allocated by malloc in thread T2 here:"),
        Origin(2, 1, "spawn_child"), Origin(1, 0, "spawn_parent"), Origins(2, 1)]),
    # A thread made by libc's pthread_create, called directly: not seen.
    Case("threads-not-created-through-us", "threads unseen", checks=UAF_T0 + [
        Header("  freed by thread T1 here:"), Header("  allocated by malloc in thread T0 here:"),
        NotCreated(1, "not through libpooldbg's: by clone(), by libc itself, or by a direct call to libc's"),
        Origins(1)]),
    # A fatal fault (no heap bug) in T1.
    Case("threads-segv-in-thread", "threads segv", status=Status(139, "killed by SIGSEGV"), checks=[
        FirstRe(r"SEGV on unknown address {a} \(READ of size 4\) at pc 0x[0-9a-f]+ thread T1"),
        Names("here", "read_value"), PcIsFrame0(), Origin(1, 0, "spawn_reader"), Origins(1), Reports(1),
        StdoutLacks("NOT FATAL")]),
]

# ------------------------------------------------------------ badfree.c
# Every badfree case: the program printed the block (ADDR) and the pointer it
# hands over (BAD), was stopped by the one report, and did not go on.
BADFREE = [
    ABORTED, Reports(1), StdoutLacks("SURVIVED"),
]


def badfree(name, mode, checks):
    return Case(name, "badfree " + mode, need=("a", "bad"), checks=BADFREE + checks)


TESTS += [
    badfree("double-free", "double", [
        First("double-free on free({a})"), already_freed(32, 0), Header("  allocated by malloc in thread T0 here:")]),
    badfree("double-free-across-threads", "double_thread", [
        First("double-free on free({a})"), already_freed(32, 1), Origin(1, 0, "bad_free"), Origins(1)]),
]
for mode in ("stack", "global", "wild", "mmap", "forged"):
    TESTS.append(badfree("invalid-free-" + mode, mode, foreign("free")))
TESTS += [
    badfree("invalid-free-heap-canary", "heap_canary", [
        First("invalid-free on free({bad})"),
        Detail("  {bad} is not the start of a heap block: it lies in a live block's slot, outside the block (pool 32)"),
        Detail("  nearest block: 32-byte block {blk(a,32)}")]),
    badfree("invalid-free-heap-empty-slot", "heap_unused", [
        First("invalid-free on free({bad})"),
        Detail("  {bad} is not the start of a heap block: it lies in a slot that holds no block (pool 32)")]),
    badfree("interior-pointer-free", "interior", [
        First("interior-pointer-free on free({bad})"),
        Detail("  {bad} is 8 bytes inside the 32-byte block {blk(a,32)} in pool 32"),
        Header("  allocated by malloc in thread T0 here:")]),
    badfree("realloc-of-freed", "realloc_freed", [First("double-free on realloc({a})"), already_freed(32, 0)]),
    badfree("realloc-of-interior", "realloc_interior", [
        First("interior-pointer-free on realloc({bad})"),
        Detail("  {bad} is 16 bytes inside the 32-byte block {blk(a,32)} in pool 32")]),
    badfree("interior-free-of-freed-block", "interior_freed", [
        First("invalid-free on free({bad})"),
        Detail("  {bad} is not the start of a heap block: it lies in a freed block's slot (pool 32)"),
        Detail("  nearest block: 32-byte block {blk(a,32)}")]),
    # Two threads free the same block at the same moment, 200 times: exactly
    # one of each pair is reported, and reports never interleave.
    Case("double-free-race", "badfree double_race", "on_error=continue", Status(1, "error_exitcode"), need=(), checks=[
        StdoutHas("SURVIVED"), Reports(200),
        LineCount(200, r"^libpooldbg: ERROR: double-free on free\(0x[0-9a-f]+\)$", "double-free first lines"),
        LineCount(200, r"^  0x[0-9a-f]+ is the 32-byte block \[0x[0-9a-f]+,0x[0-9a-f]+\) in pool 32,"
                       r" already freed by thread T[0-9]+$", "'already freed by' lines"),
        NotInterleaved()]),
    # The forged copy inside another heap block: an interior pointer of that block.
    badfree("forged-block-in-heap", "forged_heap", [
        First("interior-pointer-free on free({bad})"),
        Detail("  {bad} is 80 bytes inside the 4096-byte block {blk(bad-80,4096)} in pool 4096")]),
    badfree("usable-size-of-freed", "usable_freed", [First("double-free on malloc_usable_size({a})")]),
    badfree("usable-size-of-stack", "usable_stack", foreign("malloc_usable_size")),
]

# ------------------------------------------------------------ mismatch.cpp
for mode, by, func in [("malloc_delete", "malloc", "operator delete"), ("new_free", "operator new", "free"),
                       ("newarr_delete", "operator new[]", "operator delete"),
                       ("new_deletearr", "operator new", "operator delete[]"),
                       ("new_realloc", "operator new", "realloc")]:
    TESTS.append(Case("mismatch-" + mode, "mismatch " + mode, checks=[
        First("alloc-dealloc-mismatch on %s({a})" % func),
        Detail("  the 32-byte block {blk(a,32)} was allocated by %s and is released by %s" % (by, func)),
        Detail("  (pair malloc/free, new/delete, new[]/delete[])"),
        Reports(1), StdoutLacks("SURVIVED")]))
for name, mode, func, given in [("new-delete-size-mismatch", "sized_wrong", "operator delete", 32),
                                ("new-delete-size-mismatch-array", "sized_array_wrong", "operator delete[]", 16)]:
    TESTS.append(Case(name, "mismatch " + mode, checks=[
        First("new-delete-type-mismatch on %s({a})" % func),
        Detail("  the block was allocated with 24 bytes, sized delete was given %d bytes" % given),
        Reports(1), StdoutLacks("SURVIVED")]))
TESTS += [
    Case("delete-twice", "mismatch delete_twice", checks=[
        First("double-free on operator delete({a})"), Header("  allocated by operator new in thread T0 here:"),
        Reports(1)]),
    Case("new-huge-throws-bad_alloc", "mismatch bad_alloc", status=Status(0), need=(), checks=[
        StdoutHas("caught std::bad_alloc"), NoLine("^libpooldbg: ERROR")]),
    Case("nothrow-new-huge-returns-null", "mismatch nothrow", status=Status(0), need=(), checks=[
        StdoutHas("nothrow new returned nullptr"), NoLine("^libpooldbg: ERROR")]),
]

# Real mismatches in a stripped program are still reported.
for mode, by, func in [("malloc_delete", "malloc", "operator delete"), ("new_free", "operator new", "free")]:
    TESTS.append(Case("mismatch-stripped-" + mode, "mismatch-stripped " + mode, checks=[
        First("alloc-dealloc-mismatch on %s({a})" % func),
        Detail("  the 32-byte block {blk(a,32)} was allocated by %s and is released by %s" % (by, func)),
        Reports(1), StdoutLacks("SURVIVED")]))
# alloc_dealloc_mismatch=0 silences the family mismatches (not the sized-delete check).
for mode in ("malloc_delete", "new_free", "new_deletearr"):
    TESTS.append(Case("mismatch-off-" + mode, "mismatch " + mode, "alloc_dealloc_mismatch=0", Status(0), checks=[
        StdoutHas("SURVIVED"), NoLine("^libpooldbg: ERROR")]))
TESTS.append(Case("mismatch-off-keeps-sized-delete-check", "mismatch sized_wrong", "alloc_dealloc_mismatch=0",
                  checks=[First("new-delete-type-mismatch on operator delete({a})"), Reports(1)]))

# ------------------------------------------------------------ ownnew.cpp, foreign.cpp
# Somebody else's operator new and delete, on top of malloc and free
# (diag/operators.rs): a program that replaces them (groff's troff), and a
# library with its own, hidden or bound to itself (libLLVM). Blocks crossing
# between theirs and ours are no mismatch; the program's own malloc/delete
# in the same process still is.
TESTS.append(Case("foreign-operators-program-replaces-new", "ownnew", status=Status(0), need=(), checks=[
    StdoutHas("SURVIVED"), NoLine("^libpooldbg: ERROR")]))
# Without allocation stacks the binding of operator new answers.
TESTS.append(Case("foreign-operators-program-replaces-new-stack_depth0", "ownnew", "stack_depth=0", Status(0),
                  need=(), checks=[StdoutHas("SURVIVED"), NoLine("^libpooldbg: ERROR")]))
for kind in ("static", "hidden", "symbolic"):
    TESTS += [
        Case("foreign-operators-library-" + kind, "foreign_%s all" % kind, status=Status(0), need=(), checks=[
            StdoutHas("SURVIVED"), NoLine("^libpooldbg: ERROR")]),
        # No allocation stacks: malloc still records its caller.
        Case("foreign-operators-library-%s-stack_depth0" % kind, "foreign_%s all" % kind, "stack_depth=0",
             Status(0), need=(), checks=[StdoutHas("SURVIVED"), NoLine("^libpooldbg: ERROR")]),
        Case("foreign-operators-library-%s-own-mismatch" % kind, "foreign_%s malloc_delete" % kind, checks=[
            First("alloc-dealloc-mismatch on operator delete({a})"),
            Detail("  the 32-byte block {blk(a,32)} was allocated by malloc and is released by operator delete"),
            Names("alloc", "alloc_malloc"), Reports(1), StdoutLacks("SURVIVED")]),
    ]

# Blocks sample=N leaves unguarded record no stack, only malloc's caller;
# the stack_depth=0 report of a real mismatch prints no allocation stack.
TESTS += [
    Case("foreign-operators-library-static-sampled", "foreign_static all", "sample=1000000", Status(0), need=(),
         checks=[StdoutHas("SURVIVED"), NoLine("^libpooldbg: ERROR")]),
    Case("foreign-operators-own-mismatch-stack_depth0", "foreign_static malloc_delete", "stack_depth=0", checks=[
        First("alloc-dealloc-mismatch on operator delete({a})"), NoStack("alloc"), Reports(1)]),
]

# ------------------------------------------------------------ leaks.c
# A 3-node list (1 direct + 2 indirect), a 100-byte block; a 64-byte block
# reachable from a global is not reported.
LEAK_SUMMARY = "SUMMARY: libpooldbg: 244 byte(s) leaked in 4 allocation(s)."
TESTS += [
    Case("leaks-list-and-block", "leaks", "leaks=1", Status(23, "exitcode"), need=(), checks=[
        First("detected memory leaks"),
        LeakGroup("Direct", 48, 1, "make_node"), LeakGroup("Indirect", 96, 2, "make_node"),
        LeakGroup("Direct", 100, 1, "leak_block"),
        LineCount(3, r"^  (Direct|Indirect) leak of", "leak groups"),
        NoLine(r"in keep_global\+"), Summary(LEAK_SUMMARY),
        StdoutHas("leaks: program output line 1"), StdoutHas("leaks: program output line 2 (still buffered at exit)")]),
    Case("leaks-exitcode", "leaks", "leaks=1:exitcode=7", Status(7, "exitcode=7"), need=(), checks=[
        Summary(LEAK_SUMMARY), StdoutHas("leaks: program output line 2 (still buffered at exit)")]),
    Case("leaks-off-by-default", "leaks", status=Status(0), need=(), checks=[
        NoLine("libpooldbg"), StdoutHas("leaks: program output line 2 (still buffered at exit)")]),
]

# ------------------------------------------------------------ leakthreads.c
# The leak check at exit while worker threads still allocate, free, move
# list nodes and hold live blocks only in a register (spinning, or blocked
# in read(2)), some of them with every signal blocked (issue 13, item 5):
# each run must report exactly the planted leaks, or nothing, and nothing
# else (no false leak, no fault inside the scan, no notice of a thread
# that could not be stopped). 20 runs in a row; the first run that fails
# stops the case.
LEAKTHREADS_SUMMARY = "SUMMARY: libpooldbg: 1356 byte(s) leaked in 12 allocation(s)."


def leakthreads_planted(stdout):
    return [
        First("detected memory leaks"), Reports(1),
        LeakGroup("Direct", 64, 1, "plant_list"), LeakGroup("Indirect", 192, 3, "plant_list"),
        LeakGroup("Direct", 500, 5, "plant_blocks"), LeakGroup("Direct", 600, 3, "plant_from_worker"),
        LineCount(4, r"^  (Direct|Indirect) leak of", "leak groups"), Summary(LEAKTHREADS_SUMMARY),
        NoLine(r"^libpooldbg: (NOTICE|WARNING)"), StdoutHas(stdout)]


LEAKTHREADS_CLEAN = [NoLine("libpooldbg")]
TESTS += [
    Case("leaks-threads-running-planted", "leakthreads plant", "leaks=1", Status(23, "exitcode"), need=(), runs=20,
         checks=leakthreads_planted("leakthreads: main returns")),
    Case("leaks-threads-running-clean", "leakthreads clean", "leaks=1", Status(0), need=(), runs=20,
         checks=LEAKTHREADS_CLEAN + [StdoutHas("leakthreads: main returns")]),
    # exit() from a worker while main is blocked in read(2) with a live
    # block only in r12: the check runs on the worker, main is stopped.
    Case("leaks-threads-worker-exit-planted", "leakthreads plant worker-exit", "leaks=1", Status(23, "exitcode"),
         need=(), runs=20, checks=leakthreads_planted("leakthreads: a worker calls exit(0)")),
    Case("leaks-threads-worker-exit-clean", "leakthreads clean worker-exit", "leaks=1", Status(0), need=(), runs=20,
         checks=LEAKTHREADS_CLEAN + [StdoutHas("leakthreads: a worker calls exit(0)")]),
]

# ------------------------------------------------------------ onerror.c
# A program that printed reports and went on, then exited 0, exits
# error_exitcode (default 1), as with ASan's exitcode and valgrind's
# --error-exitcode; a status of its own is kept.
CONTINUED = Status(1, "error_exitcode after reports with on_error=continue")
OVERFLOW_PAST_32 = r"heap-buffer-overflow on address {a+32} \(WRITE of size 1\) at pc 0x[0-9a-f]+ thread T0"
TESTS += [
    Case("on_error-exit-double-free", "onerror double_free", "on_error=exit:exitcode=42", Status(42, "exitcode=42"),
         checks=[First("double-free on free({a})"), Reports(1), StdoutLacks("SURVIVED")]),
    Case("on_error-exit-fault", "onerror overflow_twice", "on_error=exit:exitcode=42", Status(42, "exitcode=42"),
         checks=[FirstRe(OVERFLOW_PAST_32), Names("here", "write_past"), Reports(1), StdoutLacks("SURVIVED")]),
    Case("on_error-continue-two-bad-frees", "onerror two_bad_frees", "on_error=continue", CONTINUED, checks=[
        First("invalid-free on free({bad})", 1), First("interior-pointer-free on free({bad2})", 2),
        Same("{bad2}", "{a+8}", "second BAD pointer (ADDR+8)"), Reports(2), StdoutHas("SURVIVED")]),
    Case("on_error-continue-fault-reported-once", "onerror overflow_twice", "on_error=continue", CONTINUED, checks=[
        FirstRe(OVERFLOW_PAST_32), Names("here", "write_past"), Reports(1), StdoutHas("SURVIVED")]),
    # "each block reported once" (the on_error help): three pages of one freed block.
    Case("on_error-continue-large-uaf-reported-once", "onerror uaf_three_pages", "on_error=continue", CONTINUED,
         checks=access_report("heap-use-after-free", "WRITE of size 1", "a", "inside of", 0, 1048576, 1048576,
                              "write_past", freed="freed ") + [StdoutHas("SURVIVED")]),
    # A damaged tail canary found by a realloc that would stay in place: one report.
    Case("on_error-continue-realloc-canary-reported-once", "onerror realloc_canary", "on_error=continue", CONTINUED,
         checks=canary_report("heap-buffer-overflow", "realloc", 13, 16, 0) + [StdoutHas("SURVIVED")]),
    # The guard page opened to let a reported write complete must not stay
    # open for the next block of the same slot.
    Case("on_error-continue-guard-kept-after-reuse", "onerror overflow_then_reuse",
         "on_error=continue:quarantine_slots=0", CONTINUED, checks=[
             FirstRe(OVERFLOW_PAST_32, 1), FirstRe(OVERFLOW_PAST_32.replace("{a+32}", "{a2+32}"), 2),
             StdoutHas("SURVIVED")]),
    Case("on_error-continue-error_exitcode", "onerror two_bad_frees", "on_error=continue:error_exitcode=9",
         Status(9, "error_exitcode=9"), checks=[Reports(2), StdoutHas("SURVIVED")]),
    Case("on_error-continue-own-status-kept", "onerror two_bad_frees_exit3", "on_error=continue",
         Status(3, "the program's own exit status"), checks=[Reports(2), StdoutHas("SURVIVED")]),
    # stack_depth=0: one frame for the fault, no recorded stacks.
    Case("stack_depth0-fault-report", "uaf 32 0 write now", "stack_depth=0", checks=[
        FirstRe(r"heap-use-after-free on address {a} \(WRITE of size 1\) at pc 0x[0-9a-f]+ thread T0"),
        FrameCount("here", 1), Names("here", "use_after_free_write"), NoStack("freed"), NoStack("alloc"),
        LineCount(2, "^%s$" % re.escape(pooldbg_report.NO_STACK_LINE),
                  "'<no stack recorded ...>' lines (freed by, allocated by)")]),
    # log_path: the report goes to the file (named by the pid), not stderr.
    Case("log_path-to-file", "onerror double_free", "log_path={logdir}/report.%p", log="{logdir}/report.{pid}",
         checks=[First("double-free on free({a})"), EndPid(), NoLine("libpooldbg")]),
    Case("log_path-fault-report", "onerror overflow_twice", "log_path={logdir}/fault.%p", log="{logdir}/fault.{pid}",
         checks=access_report("heap-buffer-overflow", "WRITE of size 1", "a+32", "to the right of", 0, 32, 32,
                              "write_past") + [EndPid(), NoLine("libpooldbg")]),
]

# ------------------------------------------------------------ dense.c
DENSE = "guard=mprotect:map_limit=2000:quarantine_slots=10"
TESTS += [
    Case("dense-write-after-free-at-reuse", "dense uaf", DENSE, checks=[
        Notice(r"libpooldbg: NOTICE: [0-9]+ live guarded blocks are close to vm\.max_map_count \(2000\)"
               r" with guard=mprotect; .*"),
        First("heap-use-after-free on address {a+5} (WRITE of unknown size, found when the block was reused)"),
        Detail("  {a+5} is located 5 bytes inside of freed 32-byte block {blk(a,32)} in pool 32 (dense)"),
        Header("  freed by thread T0 here:"), Names("freed", "release_block"),
        Header("  allocated by malloc in thread T0 here:"), Names("alloc", "alloc_block"),
        Reports(1), StdoutHas("WROTE"), StdoutLacks("NOT DETECTED")]),
    Case("dense-overflow-at-free", "dense overflow", DENSE,
         checks=canary_report("heap-buffer-overflow", "free", 32, "32 (dense)", 0) + [StdoutLacks("NOT DETECTED")]),
    Case("dense-double-free", "dense double", DENSE, checks=[
        First("double-free on free({a})"), already_freed("32 (dense)", 0), Reports(1)]),
]

# ------------------------------------------------------------ syscalls.c
# Heap buffers handed to the kernel (issue 14, item 1): reported before the
# call, which would otherwise fail with EFAULT (or fall short) with no word.
# Every interposed call, use after free and overflow: the first line names
# the call, READ (the kernel reads the buffer) or WRITE (it fills it), the
# range's size and first bad byte; the buffer line, the location, and the
# stacks (do_call at #0 or #1, then release_block, alloc_block).
# (call, name in reports, buffer, access, bytes, block for the overflow)
SYSCALL_BUFFERS = (
    [(c, n, "buf", "WRITE", 200, 32) for c, n in [
        ("read", "read"), ("__read_chk", "read"), ("pread", "pread"), ("pread64", "pread64"),
        ("__pread_chk", "pread"), ("__pread64_chk", "pread64"), ("recv", "recv"), ("__recv_chk", "recv"),
        ("recvfrom", "recvfrom"), ("__recvfrom_chk", "recvfrom")]]
    + [(c, c, "buf", "READ", 200, 32) for c in ("write", "pwrite", "pwrite64", "send", "sendto")]
    + [(c, c, "iov[1]", "WRITE", 200, 32) for c in ("readv", "preadv", "preadv64", "preadv2", "preadv64v2")]
    + [(c, c, "iov[1]", "READ", 200, 32) for c in ("writev", "pwritev", "pwritev64", "pwritev2", "pwritev64v2")]
    + [(c, c, "iov", "READ", 32, 16) for c in ("readv", "writev")]
    + [
        ("recvfrom", "recvfrom", "addr", "WRITE", 16, 8),
        ("recvfrom", "recvfrom", "addrlen", "WRITE", 4, 2),
        ("recvmsg", "recvmsg", "msg", "WRITE", 56, 48),
        ("recvmsg", "recvmsg", "msg->msg_name", "WRITE", 16, 8),
        ("recvmsg", "recvmsg", "msg->msg_iov", "READ", 32, 16),
        ("recvmsg", "recvmsg", "msg->msg_iov[1]", "WRITE", 200, 32),
        ("recvmsg", "recvmsg", "msg->msg_control", "WRITE", 64, 32),
        ("recvmmsg", "recvmmsg", "msgvec", "WRITE", 128, 64),
        ("recvmmsg", "recvmmsg", "msgvec[1].msg_hdr.msg_iov[0]", "WRITE", 200, 32),
        ("recvmmsg", "recvmmsg", "timeout", "WRITE", 16, 8),
        ("sendto", "sendto", "dest_addr", "READ", 16, 8),
        ("sendmsg", "sendmsg", "msg", "READ", 56, 48),
        ("sendmsg", "sendmsg", "msg->msg_name", "READ", 16, 8),
        ("sendmsg", "sendmsg", "msg->msg_iov[1]", "READ", 200, 32),
        ("sendmsg", "sendmsg", "msg->msg_control", "READ", 64, 32),
        ("sendmmsg", "sendmmsg", "msgvec", "WRITE", 128, 64),
        ("sendmmsg", "sendmmsg", "msgvec[1].msg_hdr.msg_iov[0]", "READ", 200, 32),
        ("getsockopt", "getsockopt", "optval", "WRITE", 16, 8),
        ("getsockopt", "getsockopt", "optlen", "WRITE", 4, 2),
        ("accept", "accept", "addr", "WRITE", 16, 8),
        ("accept", "accept", "addrlen", "WRITE", 4, 2),
        ("accept4", "accept4", "addr", "WRITE", 16, 8),
    ]
    + [(c, c.replace("__fx", "f").replace("__lx", "l").replace("__x", ""), "statbuf", "WRITE", 144, 64) for c in (
        "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat", "fstatat64",
        "__xstat", "__xstat64", "__lxstat", "__lxstat64", "__fxstat", "__fxstat64", "__fxstatat", "__fxstatat64")]
    + [
        ("statx", "statx", "statxbuf", "WRITE", 256, 128),
        ("getdents64", "getdents64", "dirp", "WRITE", 200, 32),
        ("poll", "poll", "fds", "WRITE", 16, 8),
        ("__poll_chk", "poll", "fds", "WRITE", 16, 8),
        ("ppoll", "ppoll", "fds", "WRITE", 16, 8),
        ("__ppoll_chk", "ppoll", "fds", "WRITE", 16, 8),
        ("ppoll", "ppoll", "tmo_p", "READ", 16, 8),
        ("ppoll", "ppoll", "sigmask", "READ", 8, 4),
        ("epoll_wait", "epoll_wait", "events", "WRITE", 24, 16),
        ("epoll_pwait", "epoll_pwait", "events", "WRITE", 24, 16),
        ("epoll_pwait", "epoll_pwait", "sigmask", "READ", 8, 4),
        ("select", "select", "readfds", "WRITE", 16, 8),
        ("select", "select", "writefds", "WRITE", 16, 8),
        ("select", "select", "exceptfds", "WRITE", 16, 8),
        ("select", "select", "timeout", "WRITE", 16, 8),
        ("pselect", "pselect", "readfds", "WRITE", 16, 8),
        ("pselect", "pselect", "timeout", "READ", 16, 8),
        ("pselect", "pselect", "sigmask", "READ", 8, 4),
    ])


def pool_of(size):
    """The size class a plain malloc(size) lands in (heap/layout.rs)."""
    if size <= 128:
        return max(16, (size + 15) // 16 * 16)
    k = (size - 1).bit_length() - 1  # 2^k < size <= 2^(k+1)
    quarter = 1 << (k - 2)
    return (1 << k) + -(-(size - (1 << k)) // quarter) * quarter


class SyscallForm(Check):
    """Report 1 parses as the syscall form, naming CALL and PARAM."""

    def __init__(self, call, param):
        self.call, self.param = call, param

    def check(self, t):
        r = t.report(1)
        got = (r.form, r.call, r.param) if r else None
        if got != ("syscall", self.call, self.param):
            t.fail("parsed as %s, expected ('syscall', %r, %r)" % (got, self.call, self.param))


def syscall_report(name, param, access, nbytes, kind, addr, location, start="a", freed=False):
    """A buffer handed to the kernel: the first line (exactly), the buffer
    line, the location line, the stacks; one report, the call not made."""
    verb = "read" if access == "READ" else "write"
    checks = [
        First("%s on address {%s} (%s of size %d) in %s(2) thread T0" % (kind, addr, access, nbytes, name)),
        Detail("  %s(2)'s %s is the %d-byte range [{%s},{%s+%d}), which the kernel would %s"
               % (name, param, nbytes, start, start, nbytes, verb)),
        SyscallForm(name, param), Names("here", "do_call"), Reports(1), StdoutLacks("RETURNED"),
    ]
    if location:
        checks += [Detail(location), Header("  allocated by malloc in thread T0 here:"), Names("alloc", "alloc_block")]
    if freed:
        checks += [Header("  freed by thread T0 here:"), Names("freed", "release_block")]
    return checks


for call, name, param, access, nbytes, small in SYSCALL_BUFFERS:
    tag = "syscall-%s-%s" % (call.strip("_"), re.sub(r"[^a-z0-9]+", "_", param).strip("_"))
    TESTS.append(Case(tag + "-uaf", "syscalls %s %s uaf %d %d" % (call, param, nbytes, nbytes), checks=syscall_report(
        name, param, access, nbytes, "heap-use-after-free", "a",
        "  {a} is located 0 bytes inside of freed %d-byte block {blk(a,%d)} in pool %d" % (nbytes, nbytes, pool_of(nbytes)),
        freed=True)))
    TESTS.append(Case(tag + "-overflow", "syscalls %s %s overflow %d %d" % (call, param, small, nbytes),
                      checks=syscall_report(
                          name, param, access, nbytes, "heap-buffer-overflow", "a+%d" % small,
                          "  {a+%d} is located 0 bytes to the right of %d-byte block {blk(a,%d)} in pool %d"
                          % (small, small, small, pool_of(small)))))
TESTS += [
    # The range starts before the block (in its slot's head), or near no block.
    Case("syscall-read-buf-underflow", "syscalls read buf underflow 32 32", checks=syscall_report(
        "read", "buf", "WRITE", 32, "heap-buffer-underflow", "a-16",
        "  {a-16} is located 16 bytes to the left of 32-byte block {blk(a,32)} in pool 32", start="a-16")),
    Case("syscall-write-buf-wild", "syscalls write buf wild 32 32", checks=syscall_report(
        "write", "buf", "READ", 32, "heap-wild-access", "a+24576", None, start="a+24576") + [
        Detail("  {a+24576} lies in libpooldbg's heap but near no block (a wild or stale pointer)")]),
    # on_error=continue: one report, then the call is made as asked and
    # fails as it would have (EFAULT: the freed block is trapped).
    Case("syscall-read-uaf-continue", "syscalls read buf uaf 200 200", "on_error=continue", CONTINUED, checks=[
        First("heap-use-after-free on address {a} (WRITE of size 200) in read(2) thread T0"), Reports(1),
        StdoutHas("RETURNED ret=-1 errno=14")]),
    Case("syscall-recvmsg-iov-overflow-continue", "syscalls recvmsg msg->msg_iov[1] overflow 32 200",
         "on_error=continue", CONTINUED, checks=[
             First("heap-buffer-overflow on address {a+32} (WRITE of size 200) in recvmsg(2) thread T0"), Reports(1),
             StdoutHas("RETURNED ret=8 errno=0")]),
    # stack_depth=0: the caller's frame alone, no recorded stacks.
    Case("syscall-stack_depth0", "syscalls read buf uaf 32 32", "stack_depth=0", checks=[
        First("heap-use-after-free on address {a} (WRITE of size 32) in read(2) thread T0"),
        FrameCount("here", 1), Names("here", "do_call"), NoStack("freed"), NoStack("alloc"), Reports(1)]),
]

# ------------------------------------------------------------ wild.c
# Faults outside our heap that no handler of the program takes: a short
# report (kind, access, hint, stack), then the signal ends the program as it
# would have without us. One the program handles itself: not a word.
SEGV_DEATH = Status(139, "killed by SIGSEGV")


def wild(name, mode, first, hint, func, status=SEGV_DEATH, need=NEED_ADDR):
    return Case(name, "wild " + mode, status=status, need=need, checks=[
        FirstRe(first + r" at pc 0x[0-9a-f]+ thread T0"),
        Detail("  hint: " + hint, regex=True), Names("here", func), PcIsFrame0(), Reports(1),
        SummaryNames(first.split(" ")[0], func),
        StdoutLacks("NOT FATAL")])


TESTS += [
    wild("wild-null-read", "null", r"SEGV on unknown address {a} \(READ of size 4\)",
         r"the address points to the zero page: a null pointer dereference.*", "read_value"),
    wild("wild-stack-overflow", "overflow", r"stack-overflow on address 0x[0-9a-f]+ \(WRITE of size \d+\)",
         r"the access is next to the stack pointer: the thread's stack is exhausted.*", "recurse", need=()),
    wild("wild-write-read-only", "readonly", r"SEGV on unknown address {a} \(WRITE of size 1\)",
         r"the address is mapped, but not for this access.*", "poke"),
    wild("wild-write-unmapped", "unmapped", r"SEGV on unknown address {a} \(WRITE of size 1\)",
         r"the address is not mapped: a wild or dangling pointer.*", "poke"),
    wild("wild-bus", "bus", r"BUS on unknown address {a} \(READ of size 1\)",
         r"the kernel could not back the access: a file mapping past the file's end.*", "peek",
         status=Status(135, "killed by SIGBUS")),
    Case("wild-handled-by-the-program", "wild handled", status=Status(0), need=(), checks=[
        Reports(0), NoLine("^libpooldbg:"), StdoutHas("done")]),
]

# ------------------------------------------------------------ strfuncs.c
# Faults inside libc's vector string functions: the function is named (frame
# #0 and a detail line) and the access is shown from the first byte of the
# block (or trapped page) it touched, not from the vector load's start.


class NamesAt(Check):
    """Report 1's access stack has frame #N in FUNC."""

    def __init__(self, n, func):
        self.n, self.func = n, func

    def check(self, t):
        s = t.report(1).stack("here") if t.report(1) else None
        if s is None or not any(f.num == self.n and f.symbol == self.func for f in s.frames):
            t.fail("frame #%d of the access stack is not in %s" % (self.n, self.func))


TESTS += [
    Case("strfunc-strlen-freed", "strfuncs strlen-freed", checks=[
        FirstRe(r"heap-use-after-free on address {a} \(READ of size 10\) at pc 0x[0-9a-f]+ thread T0"),
        Detail("  {a} is located 0 bytes inside of freed 10-byte block {blk(a,10)} in pool 16"),
        Detail("  the access is made by strlen, which reads and writes in wide aligned steps: shown from the first"
               " byte of the block it touched"),
        NamesAt(0, "strlen"), NamesAt(1, "measure"), PcIsFrame0(), Names("freed", "release_block"),
        SummaryNames("heap-use-after-free", "measure"),
        Names("alloc", "alloc_block"), Reports(1), StdoutLacks("NOT DETECTED")]),
    Case("strfunc-strcpy-freed", "strfuncs strcpy-freed", checks=[
        FirstRe(r"heap-use-after-free on address {a} \(READ of size (?:[1-9]|10)\) at pc 0x[0-9a-f]+ thread T0"),
        Detail(r"  {a} is located 0 bytes inside of freed 10-byte block .*", regex=True),
        Detail(r"  the access is made by strcpy, which .* of the block it touched", regex=True),
        NamesAt(0, "strcpy"), NamesAt(1, "copy_string"), Names("freed", "release_block"), Reports(1)]),
    Case("strfunc-memcpy-freed", "strfuncs memcpy-freed", checks=[
        FirstRe(r"heap-use-after-free on address 0x[0-9a-f]+ \(READ of size \d+\) at pc 0x[0-9a-f]+ thread T0"),
        Detail(r"  0x[0-9a-f]+ is located \d+ bytes inside of freed 100-byte block {blk(a,100)} in pool 112",
               regex=True),
        Detail(r"  the access is made by memcpy/memmove, which .* of the block it touched", regex=True),
        NamesAt(0, "memcpy/memmove"), NamesAt(1, "copy_bytes"), Names("freed", "release_block"), Reports(1)]),
    Case("strfunc-strcpy-short", "strfuncs strcpy-short", checks=[
        FirstRe(r"heap-buffer-overflow on address {a+16} \(WRITE of size \d+\) at pc 0x[0-9a-f]+ thread T0"),
        Detail("  {a+16} is located 0 bytes to the right of 16-byte block {blk(a,16)} in pool 16"),
        Detail(r"  the access is made by strcpy, which .* it touched in a trapped page", regex=True),
        NamesAt(0, "strcpy"), NamesAt(1, "copy_string"), Names("alloc", "alloc_block"), Reports(1)]),
    Case("strfunc-memcpy-short", "strfuncs memcpy-short", checks=[
        FirstRe(r"heap-buffer-overflow on address {a+16} \(WRITE of size \d+\) at pc 0x[0-9a-f]+ thread T0"),
        Detail("  {a+16} is located 6 bytes to the right of 10-byte block {blk(a,10)} in pool 16"),
        Detail(r"  the access is made by memcpy/memmove, which .* it touched in a trapped page", regex=True),
        NamesAt(0, "memcpy/memmove"), NamesAt(1, "copy_bytes"), Names("alloc", "alloc_block"), Reports(1)]),
]

# ------------------------------------------------------------ deep.c
# A stack deeper than stack_depth says so after its last frame.


class Truncated(Check):
    """Report 1's SECTION stack has exactly N frames and, when CUT, the line
    '    ... stack truncated at stack_depth=N' (else no such line)."""

    def __init__(self, section, n, cut):
        self.section, self.n, self.cut = section, n, cut

    def check(self, t):
        s = t.report(1).stack(self.section) if t.report(1) else None
        if s is None or len(s.frames) != self.n:
            t.fail("the %s stack has %s frames, expected %d" % (self.section, len(s.frames) if s else "no", self.n))
        elif s.truncated != (self.n if self.cut else None):
            t.fail("the %s stack's truncation mark is %r, expected %r"
                   % (self.section, s.truncated, self.n if self.cut else None))


DEEP_UAF = [FirstRe(r"heap-use-after-free on address {a} \(WRITE of size 1\) at pc 0x[0-9a-f]+ thread T0"),
            Names("here", "use_after_free_write"), Names("freed", "release_block"), Names("alloc", "alloc_block")]
TESTS += [
    Case("stack-truncated-at-depth", "deep 40", "stack_depth=16", checks=DEEP_UAF + [
        Truncated("here", 16, True), Truncated("freed", 16, True), Truncated("alloc", 16, True)]),
    Case("stack-whole-within-depth", "deep 40", "stack_depth=64", checks=DEEP_UAF + [
        Truncated("here", 46, False), Truncated("alloc", 46, False)]),
    Case("stack-exactly-depth-not-truncated", "deep 10", "stack_depth=16", checks=DEEP_UAF + [
        Truncated("here", 16, False), Truncated("alloc", 16, False)]),
]

# ------------------------------------------------------------ suppressions
# suppressions=FILE (c_tests/detect/supp/): a suppressed report prints
# nothing and changes no exit status; one NOTICE at exit says what each
# entry took. Unsuppressed reports are untouched.
SUPP = "suppressions=c_tests/detect/supp/"
TESTS += [
    Case("suppress-some-leaks", "leaks", "leaks=1:" + SUPP + "leaks.supp", Status(23, "exitcode: a leak is left"),
         need=(), checks=[
             LeakGroup("Direct", 100, 1, "leak_block"), LineCount(1, r"^  (Direct|Indirect) leak of", "leak groups"),
             Summary("SUMMARY: libpooldbg: 100 byte(s) leaked in 1 allocation(s)."),
             Notice(r"libpooldbg: NOTICE: suppressed 0 report\(s\) and 2 leak\(s\) of 144 byte\(s\): 2 by 'leak:make_node'")]),
    Case("suppress-all-leaks-exits-0", "leaks", "leaks=1:" + SUPP + "all-leaks.supp", Status(0, "nothing left"),
         need=(), checks=[Reports(0), Notice(r"libpooldbg: NOTICE: suppressed 0 report\(s\) and 3 leak\(s\) of 244 "
                                             r"byte\(s\): 3 by 'leak:\*/leaks'"),
                          StdoutHas("leaks: program output line 2 (still buffered at exit)")]),
    Case("suppress-uaf-goes-on", "uaf 32 0 write now", SUPP + "uaf.supp", Status(0, "suppressed: the program goes on"),
         checks=[Reports(0), StdoutHas("NOT DETECTED"),
                 Notice(r"libpooldbg: NOTICE: suppressed 1 report\(s\) and 0 leak\(s\) of 0 byte\(s\): "
                        r"1 by 'heap-use-after-free:use_after_free_\*'")]),
    Case("suppress-other-kind-still-reported", "badfree double", SUPP + "uaf.supp", checks=[
        First("double-free on free({a})"), Reports(1)]),
    Case("suppress-bad-file-one-line-error", "uaf 32 0 write now", SUPP + "bad.supp", Status(1, "start-up error"),
         need=(), checks=[LineCount(1, r"^libpooldbg: ERROR: POOLDBG_OPTIONS: suppressions file "
                                        r"'c_tests/detect/supp/bad.supp' line 2: not KIND:PATTERN", "error lines"),
                          StdoutLacks("ADDR")]),
    Case("print-suppressions", "uaf 32 0 write now", "print_suppressions=1", checks=[
        Reports(1), LineCount(1, r"^libpooldbg: suppression for this report: heap-use-after-free:use_after_free_write$",
                              "suppression entries")]),
]

# ------------------------------------------------------------ report_format=json
# Each report one JSON object per line, with the fields of
# docs/REPORT-FORMAT.md's schema.


class JsonReports(Check):
    """stderr holds exactly N JSON reports (one per line) whose first has
    KIND and the FIELDS given (dotted paths; a value of None only requires
    the key), and a stack of each SECTION names FUNC at frame 0 or 1."""

    def __init__(self, n, kind, fields, stacks=()):
        self.n, self.kind, self.fields, self.stacks = n, kind, fields, stacks

    def check(self, t):
        import json
        objs = []
        for line in t.stderr.raw_lines:
            if line.startswith("{"):
                try:
                    objs.append(json.loads(line))
                except ValueError as e:
                    t.fail("a JSON report line does not parse: %s: %s" % (e, line[:120]))
                    return
        if len(objs) != self.n:
            t.fail("%d JSON report(s), expected %d" % (len(objs), self.n))
            return
        o = objs[0]
        if o.get("kind") != self.kind:
            t.fail("kind %r, expected %r" % (o.get("kind"), self.kind))
        for path, want in self.fields.items():
            v = o
            for k in path.split("."):
                v = v.get(k) if isinstance(v, dict) else None
            if v is None or (want is not None and expand(str(want), t.values) != str(v)):
                t.fail("%s is %r, expected %r" % (path, v, want))
        for section, func in self.stacks:
            frames = [f for s in o.get("stacks", []) if s.get("section") == section for f in s["frames"][:2]]
            if not any(f.get("function") == func and f.get("module", "").startswith("/") and "offset" in f
                       for f in frames):
                t.fail("the %s stack does not name %s at frame 0 or 1 (with an absolute module)" % (section, func))


JSON = "report_format=json"
TESTS += [
    Case("json-use-after-free", "uaf 32 3 write now", JSON, checks=[JsonReports(1, "heap-use-after-free", {
        "address": "{a+3}", "access": "WRITE", "size": 1, "pc": None, "thread": 0, "block.start": "{a}",
        "block.size": 32, "block.pool": "32", "block.state": "freed", "block.relation": "inside",
        "block.distance": 3, "summary": None, "pid": None},
        stacks=(("here", "use_after_free_write"), ("freed", "release_block"), ("alloc", "alloc_block")))]),
    Case("json-double-free", "badfree double", JSON, checks=[JsonReports(1, "double-free", {
        "function": "free", "address": "{a}"}, stacks=(("here", "release_block"), ("alloc", "alloc_block")))]),
    Case("json-leaks", "leaks", "leaks=1:" + JSON, Status(23, "exitcode"), need=(), checks=[
        JsonReports(1, "memory-leaks", {"summary": "libpooldbg: 244 byte(s) leaked in 4 allocation(s)."},
                    stacks=(("leak", "make_node"),))]),
]

# ------------------------------------------------------------ neverfreed.c
# Damage to blocks the program never frees: the check of every live block
# finds it at exit, on pooldbg_check_heap() and at the statistics signal.
EXIT23 = Status(23, "exitcode after a report at exit")


def live_damage(when, func="the heap check"):
    return [
        First("heap-buffer-overflow on live block {a} (found %s)" % when),
        Detail("  the canary after the 13-byte block {blk(a,13)} in pool 16 was overwritten:"),
        Detail("  first corrupted byte {a+13} is 0 bytes to the right of the block (found by %s)" % func),
        Header("  allocated by malloc in thread T0 here:"), Names("alloc", "alloc_block")]


TESTS += [
    Case("neverfreed-slack-at-exit", "neverfreed exit", status=EXIT23, checks=live_damage("at exit") + [Reports(1)]),
    Case("neverfreed-slack-and-leak", "neverfreed leaked", "leaks=1", status=EXIT23, checks=live_damage("at exit") + [
        Reports(2), LeakGroup("Direct", 13, 1, "alloc_block")]),
    Case("neverfreed-underflow-at-exit", "neverfreed underflow", status=EXIT23, checks=[
        First("heap-buffer-underflow on live block {a} (found at exit)"),
        Detail("  last corrupted byte {a-9} is 9 bytes to the left of the block (found by the heap check)"),
        Names("alloc", "alloc_block"), Reports(1)]),
    Case("neverfreed-check-heap-call", "neverfreed call", status=Status(1, "error_exitcode after a heap-check report"),
         checks=live_damage("by pooldbg_check_heap") + [Reports(1), StdoutHas("RETURNED 1")]),
    Case("neverfreed-check-heap-threads", "neverfreed threads", status=Status(1, "error_exitcode after a heap-check report"),
         checks=live_damage("by pooldbg_check_heap") + [Reports(1), StdoutHas("RETURNED 1")]),
    Case("neverfreed-stats-signal", "neverfreed signal", "stats_signal=SIGUSR1", status=EXIT23,
         checks=live_damage("at the statistics signal") + [Reports(2), StdoutHas("WENT ON")]),
    Case("neverfreed-clean", "neverfreed clean", "leaks=1", status=Status(0), need=(),
         checks=[Reports(0), StdoutHas("RETURNED 0")]),
]


# ------------------------------------------------------------ ownsegv.c
# A program with its own SIGSEGV and SIGBUS handler, installed after ours
# (issue 14, item 2). Faults in its own region are its own (served, the
# program goes on); a heap bug is still ours, whatever the handler does
# with the faults it does not know; a fault it gives back (SIG_DFL, then
# raise() or return) ends as one nobody takes: the SEGV report, SIGSEGV.
for handler in ("reraise", "return", "nodefer", "signal", "longjmp", "altstack", "heapregion"):
    served = {"longjmp": "HANDLED 1000", "signal": "HANDLED 1"}.get(handler, "HANDLED 3")
    own = [StdoutHas(served)] + ([StdoutHas("ON ITS ALTSTACK")] if handler == "altstack" else [])
    TESTS += [
        Case("own-handler-%s-heap-overflow" % handler, "ownsegv %s overflow" % handler,
             checks=access_report("heap-buffer-overflow", "WRITE of size 1", "a+32", "to the right of", 0, 32, 32,
                                  "bad_write") + own + [StdoutLacks("NOT DETECTED")]),
        Case("own-handler-%s-null-given-back" % handler, "ownsegv %s null" % handler, status=SEGV_DEATH, checks=[
            FirstRe(r"SEGV on unknown address {a} \(READ of size 4\) at pc 0x[0-9a-f]+ thread T0"),
            Detail("  hint: the address points to the zero page: .*", regex=True), Names("here", "read_value"),
            PcIsFrame0(), Reports(1), StdoutLacks("NOT DETECTED")] + own),
    ]
# SA_RESETHAND: the first fault in its region is served, the second takes
# the default action.
TESTS.append(Case("own-handler-resethand-second-fault-is-fatal", "ownsegv resethand none", status=SEGV_DEATH,
                  need=(), checks=[
                      FirstRe(r"SEGV on unknown address 0x[0-9a-f]+ \(WRITE of size 1\) at pc 0x[0-9a-f]+ thread T0"),
                      Detail("  hint: the address is mapped, but not for this access.*", regex=True),
                      Names("here", "main"), Reports(1), StdoutHas("HANDLED 1"), StdoutLacks("HANDLED 2")]))

# ------------------------------------------------------------ runtimes with their own handlers
# Python with faulthandler on (as under pytest): a heap overflow made with
# ctypes is reported by us, not as "Fatal Python error: Segmentation fault",
# and the program ends as on_error says (abort: faulthandler prints its
# SIGABRT traceback, then dies of it). A fault that is no heap bug is
# faulthandler's: its traceback, then our SEGV report, then SIGSEGV.
PYTHON = os.path.realpath(sys.executable)
CTYPES = PYTHON + " -X faulthandler c_tests/detect/ctypes_bugs.py "
PY_OVERFLOW = [
    FirstRe(r"heap-buffer-overflow on address {a+32} \(WRITE of size [0-9]+\) at pc 0x[0-9a-f]+ thread T0"),
    Detail("  {a+32} is located 0 bytes to the right of 32-byte block {blk(a,32)} in pool 32"),
    Header("  allocated by malloc in thread T0 here:"), ModuleAtTop("alloc", r"/(libffi|_ctypes|libpython)[^/]*$"),
    Reports(1), StdoutLacks("NOT DETECTED"), NoLine(r"^Fatal Python error: (Segmentation fault|Bus error)")]
TESTS += [
    Case("python-faulthandler-ctypes-overflow", CTYPES + "overflow",
         checks=PY_OVERFLOW + [LineCount(1, r"^Fatal Python error: Aborted$", "faulthandler SIGABRT lines")]),
    Case("python-faulthandler-ctypes-overflow-on_error-exit", CTYPES + "overflow", "on_error=exit:exitcode=42",
         Status(42), checks=PY_OVERFLOW + [NoLine(r"^Fatal Python error")]),
    Case("python-faulthandler-ctypes-null-given-back", CTYPES + "null", status=SEGV_DEATH, checks=[
        FirstRe(r"SEGV on unknown address {a} \(READ of size 1\) at pc 0x[0-9a-f]+ thread T0"),
        Detail("  hint: the address points to the zero page: .*", regex=True), PcIsFrame0(), Reports(1),
        LineCount(1, r"^Fatal Python error: Segmentation fault$", "faulthandler SIGSEGV lines"),
        StdoutLacks("NOT DETECTED")]),
]
# The JVM: every NullPointerException of compiled code comes from its
# SIGSEGV handler (implicit null checks); each fault passes through ours
# first and is handed on. The output is the native run's; no report.
JAVA = shutil.which("java") or "java"
TESTS.append(Case("jvm-implicit-null-checks", JAVA + " -XX:-UsePerfData -cp {bin} Npe", "stats=1", Status(0), need=(),
                  requires="java", checks=[
                      StdoutHas("caught 68041 NullPointerExceptions, checksum 199836487"), NoLine("^libpooldbg: ERROR"),
                      StderrNumber(r"  signals handed to the program's SIGSEGV/SIGBUS handlers: ([0-9]+)", 1000,
                                   "signals handed to the JVM's handler")]))


# ==================================================================== running

class Test(object):
    """One case run: the child's exit status, output, and the failures."""

    def __init__(self, case, env):
        self.case = case
        self.env = env
        self.problems = []
        self.values = {"logdir": env.logdir}
        self.rc = None
        self.skipped = None

    def fail(self, reason):
        self.problems.append(reason)

    def report(self, n):
        reports = self.reports.reports
        return reports[n - 1] if len(reports) >= n else None

    def options(self):
        own = expand(self.case.options, self.values) if self.case.options else ""
        extra = self.env.extra_options
        # the test's own options come last, so they win
        return ":".join(o for o in (extra, own) if o) or None

    def command(self):
        return [os.path.join(self.env.bin, self.case.program)] + [a.replace("{bin}", self.env.bin)
                                                                   for a in self.case.args]

    def reproduce(self):
        opts = self.options()
        return "env -u POOLDBG_OPTIONS %sLD_PRELOAD=%s %s" % (
            "POOLDBG_OPTIONS=%s " % shlex.quote(opts) if opts else "", self.env.lib,
            " ".join(shlex.quote(a) for a in self.command()))

    def run(self):
        e, c = self.env, self.case
        if c.requires and not shutil.which(c.requires):
            self.skipped = "no %s on this machine (scripts/deps.sh installs it)" % c.requires
            return self
        self.out_path = os.path.join(e.logs, c.name + ".out")
        self.err_path = os.path.join(e.logs, c.name + ".err")
        child_env = dict(os.environ)
        child_env.pop("POOLDBG_OPTIONS", None)
        opts = self.options()
        if opts:
            child_env["POOLDBG_OPTIONS"] = opts
        child_env["LD_PRELOAD"] = e.lib
        # A case with runs=N must hold N times in a row (a race shows in
        # some runs only); the first run that fails stops it, its output kept.
        for run in range(1, c.runs + 1):
            with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
                p = subprocess.run(["timeout", "-k", "5", str(e.timeout)] + self.command(), env=child_env,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            self.rc = p.returncode if p.returncode >= 0 else 128 - p.returncode
            try:
                self.judge()
            except Exception as e:  # a broken check fails its test, not the run
                self.fail("the check itself failed: %r" % e)
            if self.problems:
                if c.runs > 1:
                    self.problems.insert(0, "run %d of %d in a row failed:" % (run, c.runs))
                break
        return self

    def judge(self):
        c = self.case
        if self.rc == 124:
            self.fail("timed out after %ds" % self.env.timeout)
        with open(self.out_path, "rb") as f:
            self.stdout_lines = f.read().decode("utf-8", "surrogateescape").splitlines()
        self.read_values()
        self.stderr = pooldbg_report.parse_file(self.err_path)
        self.reports = self.stderr
        missing = [v for v in c.need if v not in self.values]
        if missing:
            self.fail("the program printed no %s line" % "/".join(LABELS[v] for v in c.need))
            return
        c.status.run(self)
        if c.log is not None:
            try:
                log = expand(c.log, self.values)
            except Missing as e:
                self.fail(str(e))
                return
            if not os.path.isfile(log):
                have = " ".join(sorted(os.listdir(os.path.dirname(log)))) if os.path.isdir(os.path.dirname(log)) else ""
                self.fail("no log file %s (have: %s)" % (log, have))
                for check in c.checks:  # the checks of stderr still apply
                    if isinstance(check, NoLine):
                        check.run(self)
                return
            self.reports = pooldbg_report.parse_file(log)
            first = self.reports.lines[0] if self.reports.lines else ""
            if not self.reports.reports or first != self.reports.reports[0].line:
                self.fail("the log does not start with a report's first line: '%s'" % first)
        for check in c.checks:
            check.run(self)

    def read_values(self):
        seen = {}
        for line in self.stdout_lines:
            words = line.split()
            if len(words) >= 2 and words[0] in ("ADDR", "BAD", "PID"):
                try:
                    # a pid is written in decimal, an address in hex
                    seen.setdefault(words[0], []).append(str(int(words[1])) if words[0] == "PID" else int(words[1], 16))
                except ValueError:
                    pass
        for name, (word, i) in (("a", ("ADDR", 0)), ("a2", ("ADDR", 1)), ("bad", ("BAD", 0)),
                                ("bad2", ("BAD", 1)), ("pid", ("PID", 0))):
            if len(seen.get(word, [])) > i:
                self.values[name] = seen[word][i]

    def result(self):
        if self.skipped:
            return "SKIP %s (%s)\n" % (self.case.name, self.skipped)
        if not self.problems:
            return "PASS %s\n" % self.case.name
        lines = ["FAIL %s" % self.case.name]
        lines += ["    - %s" % p for p in self.problems]
        lines.append("    reproduce: %s" % self.reproduce())
        for what, path, n in (("stdout", self.out_path, 20), ("stderr", self.err_path, 60)):
            lines.append("    --- %s:" % what)
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace").splitlines()
            lines += ["    | %s" % line for line in text[:n]]
        return "\n".join(lines) + "\n"


class Env(object):
    def __init__(self):
        self.lib = os.environ.get("LIB", "target/release/libpooldbg.so")
        build = os.environ.get("BUILD", "build")
        self.timeout = int(os.environ.get("DETECT_TIMEOUT", "30"))
        self.jobs = max(1, int(os.environ.get("DETECT_JOBS", "0") or 0) or os.cpu_count() or 1)
        self.extra_options = os.environ.get("DETECT_OPTIONS", "")
        self.src = "c_tests/detect"
        self.out = os.path.join(build, "detect")
        self.bin = os.path.join(self.out, "bin")
        self.logs = os.path.join(self.out, "logs")
        self.logdir = os.path.join(os.path.realpath(self.out), "logpath")


def die(msg):
    print("%s: FAIL: %s" % (SUITE, msg))
    print("%s: 0 passed, 1 failed" % SUITE)
    sys.exit(1)


CFLAGS = ["-O0", "-g", "-rdynamic", "-pthread", "-Wall", "-Wextra"]


# Programs built otherwise than CFLAGS, in this order (a library before the
# programs linked with it): (binary, inputs, compiler command); "{out}" is
# the binary, "{bin}" the directory of binaries. Their sources are not built
# by the default rule.
FOREIGN_LIB = "c_tests/detect/foreign_lib.cpp"
NPE_JAVA = "c_tests/smoke/Npe.java"
LIB_FLAGS = ["g++", "-O2", "-fPIC", "-shared", "-s", FOREIGN_LIB, "-o", "{out}"]
SPECIAL = [
    ("libforeign_static.so", [FOREIGN_LIB], LIB_FLAGS + ["-static-libstdc++", "-Wl,--exclude-libs,ALL"]),
    ("libforeign_hidden.so", [FOREIGN_LIB, "c_tests/detect/foreign_lib.map"],
     LIB_FLAGS + ["-DOWN_OPERATORS", "-Wl,--version-script=c_tests/detect/foreign_lib.map"]),
    ("libforeign_symbolic.so", [FOREIGN_LIB], LIB_FLAGS + ["-DOWN_OPERATORS", "-Wl,-Bsymbolic-functions"]),
] + [
    ("foreign_" + kind, ["c_tests/detect/foreign.cpp", "{bin}/libforeign_%s.so" % kind],
     ["g++"] + CFLAGS + ["c_tests/detect/foreign.cpp", "-o", "{out}", "{bin}/libforeign_%s.so" % kind,
                         "-Wl,-rpath,$ORIGIN"])
    for kind in ("static", "hidden", "symbolic")
] + [
    ("ownnew", ["c_tests/detect/ownnew.cpp"], ["g++", "-O2", "-s", "c_tests/detect/ownnew.cpp", "-o", "{out}"]),
    ("mismatch-stripped", ["c_tests/detect/mismatch.cpp"],
     ["g++", "-O0", "-s", "c_tests/detect/mismatch.cpp", "-o", "{out}"]),
    # The JVM's smoke program (its output holds the checksum below).
    ("Npe.class", [NPE_JAVA], ["javac", "-d", "{bin}", NPE_JAVA]),
]
SPECIAL_SOURCES = {"foreign_lib.cpp", "foreign.cpp", "ownnew.cpp"}


def build_special(env):
    for name, inputs, command in SPECIAL:
        if not shutil.which(command[0]):
            continue  # its cases say they are skipped
        out = os.path.join(env.bin, name)
        inputs = [i.replace("{bin}", env.bin) for i in inputs]
        if os.path.exists(out) and all(os.stat(out).st_mtime_ns > os.stat(i).st_mtime_ns for i in inputs):
            continue
        command = [a.replace("{out}", out).replace("{bin}", env.bin) for a in command]
        p = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            sys.stdout.write(p.stdout.decode("utf-8", "replace"))
            die("could not build %s: %s" % (name, " ".join(command)))


def build(env):
    """Builds every program whose binary is missing or older than its source."""
    jobs = []
    for src in sorted(os.listdir(env.src)):
        name, ext = os.path.splitext(src)
        if ext not in (".c", ".cpp") or src in SPECIAL_SOURCES:
            continue
        src, exe = os.path.join(env.src, src), os.path.join(env.bin, name)
        if os.access(exe, os.X_OK) and os.stat(exe).st_mtime_ns > os.stat(src).st_mtime_ns:
            continue
        log = open(os.path.join(env.out, name + ".build.log"), "wb")
        jobs.append((subprocess.Popen(["g++" if ext == ".cpp" else "gcc"] + CFLAGS + [src, "-o", exe],
                                      stdout=subprocess.DEVNULL, stderr=log), log))
    failed = False
    for p, log in jobs:
        failed |= p.wait() != 0
        log.close()
    if failed:
        for name in sorted(os.listdir(env.out)):
            if name.endswith(".build.log"):
                with open(os.path.join(env.out, name)) as f:
                    sys.stdout.write(f.read())
        die("could not build the test programs")
    build_special(env)


def main(argv):
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
    list_only, patterns = False, []
    for arg in argv[1:]:
        if arg == "--list":
            list_only = True
        elif arg in ("-h", "--help"):
            sys.stdout.write(__doc__)
            return 0
        else:
            patterns.append(arg)
    names = [c.name for c in TESTS]
    assert len(set(names)) == len(names), "duplicate test names"
    if list_only:
        print("\n".join(names))
        return 0
    env = Env()
    os.makedirs(env.bin, exist_ok=True)
    os.makedirs(env.logs, exist_ok=True)
    if not os.path.isfile(env.lib):
        die("library %s not found (make lib)" % env.lib)
    env.lib = os.path.realpath(env.lib)
    build(env)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the children abort on purpose
    shutil.rmtree(env.logdir, ignore_errors=True)
    os.makedirs(env.logdir)

    start = time.monotonic()
    cases = [c for c in TESTS if not patterns or any(p in c.name for p in patterns)]
    passed, failed, skipped = 0, [], 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=env.jobs) as pool:
        for t in pool.map(lambda c: Test(c, env).run(), cases):
            sys.stdout.write(t.result())
            sys.stdout.flush()
            if t.skipped:
                skipped += 1
            elif t.problems:
                failed.append(t.case.name)
            else:
                passed += 1
    if failed:
        print("%s: failed: %s" % (SUITE, " ".join(failed)))
    print("%s: (%.1f s; logs in %s)" % (SUITE, time.monotonic() - start, env.logs))
    if skipped:
        print("%s: %d skipped" % (SUITE, skipped))
    print("%s: %d passed, %d failed" % (SUITE, passed, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
