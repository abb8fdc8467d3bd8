"""pooldbg_report - the parser of libpooldbg's text output.

The grammar is docs/REPORT-FORMAT.md; this module is its only
implementation.  Two users:

  * the detect tests (scripts/detect_tests.py) parse a child's stderr or
    log file with parse() and check the Report objects;
  * pooldbg-symbolize recognises frame lines, a fault report's pc and the
    end of a report with match_frame(), fault_pc() and ends_report(), which
    also accept frames it has already symbolized.

Standard library only.  Run as a script to see how a file parses:
    python3 scripts/pooldbg_report.py FILE...
"""

import re
import sys

__all__ = [
    "KINDS", "POINTER_KINDS", "ACCESS_KINDS", "WILD_KINDS", "RELEASE_FUNCS", "ALLOC_FUNCS", "SYSCALLS",
    "NO_STACK_LINE", "TRUNCATED_RE",
    "Frame", "Location", "Stack", "Report", "Output",
    "parse", "parse_file", "match_frame", "split_offset", "split_source", "strip_ansi", "fault_pc",
    "ends_report", "may_begin_report_line",
]

# ---------------------------------------------------------------- vocabulary

PREFIX = "libpooldbg: "
ERROR_PREFIX = "libpooldbg: ERROR: "

# Bug kinds named in "KIND on FUNC(0xADDR)" first lines (src/report.rs BadPointer).
POINTER_KINDS = (
    "double-free", "invalid-free", "interior-pointer-free", "corrupted-owner-link",
    "heap-buffer-overflow", "heap-buffer-underflow", "alloc-dealloc-mismatch",
    "new-delete-type-mismatch",
)
# Bug kinds named in "KIND on address 0xADDR (...)" first lines (src/fault.rs Kind).
ACCESS_KINDS = ("heap-buffer-overflow", "heap-buffer-underflow", "heap-use-after-free", "heap-wild-access")
# Faults outside our heap that end the program (src/diag/fault.rs Wild):
# "SEGV on unknown address 0x...", "BUS on unknown address 0x...",
# "stack-overflow on address 0x...", then the access as above.
WILD_KINDS = ("SEGV", "BUS", "stack-overflow")
# The closed list of bug kinds a first line can name.
KINDS = POINTER_KINDS + tuple(k for k in ACCESS_KINDS if k not in POINTER_KINDS) + WILD_KINDS
# Functions a bad pointer can be handed to (src/heap.rs FreeKind::func and
# the literal names in usable_size / reallocate).
RELEASE_FUNCS = ("free", "realloc", "malloc_usable_size", "operator delete", "operator delete[]")
# What allocated a block (src/heap.rs alloc_func).
ALLOC_FUNCS = ("malloc", "operator new", "operator new[]")
# Calls whose buffers are checked before the kernel gets them, as the
# syscall form's first line names them (src/front/syscalls.rs): glibc's
# __xstat and _FORTIFY_SOURCE forms go by the call the source made.
SYSCALLS = (
    "read", "pread", "pread64", "readv", "preadv", "preadv64", "preadv2", "preadv64v2",
    "write", "pwrite", "pwrite64", "writev", "pwritev", "pwritev64", "pwritev2", "pwritev64v2",
    "recv", "recvfrom", "recvmsg", "recvmmsg", "send", "sendto", "sendmsg", "sendmmsg",
    "getsockopt", "accept", "accept4",
    "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat", "fstatat64", "statx", "getdents64",
    "poll", "ppoll", "epoll_wait", "epoll_pwait", "select", "pselect",
)
# Printed where a stack has no frames (src/stack.rs print).
NO_STACK_LINE = "    <no stack recorded (stack_depth=0, or the depot is full)>"
# Printed after the last frame of a stack that went deeper than stack_depth.
TRUNCATED_RE = re.compile(r"^    \.\.\. stack truncated at stack_depth=(?P<depth>\d+)$")

# Report forms whose first line is a fixed phrase rather than a kind: the
# parser's labels for them (Report.kind), not printed by the library.
LEAKS = "memory-leaks"
OUT_OF_MEMORY = "out-of-memory"
REENTRY = "allocator-reentered"
PANIC = "internal-error"
STARTUP = "startup-error"


def _alt(words):
    return "|".join(re.escape(w) for w in words)


HEX = r"0x[0-9a-f]+"

# ---------------------------------------------------------------- line patterns

ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# First lines, after "libpooldbg: ERROR: ".
POINTER_RE = re.compile(r"^(?P<kind>%s) on (?P<func>%s)\((?P<addr>%s)\)$"
                        % (_alt(POINTER_KINDS), _alt(RELEASE_FUNCS), HEX))
ACCESS_RE = re.compile(
    r"^(?P<kind>%s|(?:SEGV|BUS)(?= on unknown)|stack-overflow) on (?:unknown )?address (?P<addr>%s)"
    r" \((?P<access>READ|WRITE) of (?:size (?P<size>\d+)|unknown size)\)"
    r" at pc (?P<pc>%s) thread T(?P<thread>\d+)$" % (_alt(ACCESS_KINDS), HEX, HEX))
# A buffer handed to the kernel (src/diag/syscall.rs): the access kinds, no
# pc (no instruction of the program faulted), the call instead.
SYSCALL_RE = re.compile(
    r"^(?P<kind>%s) on address (?P<addr>%s) \((?P<access>READ|WRITE) of size (?P<size>\d+)\)"
    r" in (?P<call>%s)\(2\) thread T(?P<thread>\d+)$" % (_alt(ACCESS_KINDS), HEX, _alt(SYSCALLS)))
REUSE_RE = re.compile(r"^(?P<kind>heap-use-after-free) on address (?P<addr>%s)"
                      r" \((?P<access>WRITE) of unknown size, found when the block was reused\)$" % HEX)
LEAKS_WHAT = "detected memory leaks"
LIVE_RE = re.compile(r"^(?P<kind>heap-buffer-overflow|heap-buffer-underflow|corrupted-owner-link) on live block"
                     r" (?P<addr>%s) \(found (?P<when>at exit|by pooldbg_check_heap|at the statistics signal)\)$" % HEX)
OOM_RE = re.compile(r"^out-of-memory in operator new\((?P<size>\d+)\)$")
REENTRY_WHAT = "allocator re-entered while holding one of its locks"
PANIC_WHAT = "internal error (panic) in libpooldbg"
STARTUP_RE = re.compile(r"^(?:POOLDBG_OPTIONS: .*"
                        r"|cannot reserve address space for the heap \(RLIMIT_AS\?\); every allocation will fail)$")

END_RE = re.compile(r"^libpooldbg: end of report \(pid (?P<pid>\d+)\)$")
NOTICE_RE = re.compile(r"^libpooldbg: (?P<level>NOTICE|WARNING): (?P<text>.*)$")

# Detail lines.
LOCATION_RE = re.compile(
    r"^  (?P<addr>%s) is located (?P<distance>\d+) bytes (?P<relation>to the right of|to the left of|inside of)"
    r" (?P<freed>freed )?(?P<size>\d+)-byte block \[(?P<start>%s),(?P<end>%s)\) in pool (?P<pool>\d+(?: \(dense\))?)$"
    % (HEX, HEX, HEX))

# The syscall form's first detail line: which buffer of the call it is.
BUFFER_RE = re.compile(
    r"^  (?P<call>%s)\(2\)'s (?P<param>[a-z_0-9]+(?:(?:->|\.)[a-z_0-9]+|\[\d+\])*) is the (?P<size>\d+)-byte range"
    r" \[(?P<start>%s),(?P<end>%s)\), which the kernel would (?P<verb>read|write)$" % (_alt(SYSCALLS), HEX, HEX))

# Stack section headers.
FREED_RE = re.compile(r"^  freed by thread T(?P<thread>\d+) here:$")
ALLOC_RE = re.compile(r"^  allocated by (?P<by>%s) in thread T(?P<thread>\d+) here:$" % _alt(ALLOC_FUNCS))
# Where a thread named in the report came from (src/diag/describe.rs
# thread_origins): its creator and creation stack, or why that is unknown.
CREATED_RE = re.compile(r"^  thread T(?P<thread>\d+) created by T(?P<by>\d+) here:$")
NOT_CREATED_RE = re.compile(r"^  thread T(?P<thread>\d+) was not created by pthread_create \((?P<why>.+)\)$")
LEAK_RE = re.compile(r"^  (?P<kind>Direct|Indirect) leak of (?P<bytes>\d+) byte\(s\) in (?P<objects>\d+) object\(s\)"
                     r" allocated from:$")
SUMMARY_RE = re.compile(r"^SUMMARY: libpooldbg: (?P<bytes>\d+) byte\(s\) leaked in (?P<allocations>\d+) allocation\(s\)\.$")
# Every other report's last line before its end line: the kind and the first
# frame in the program's code (as printed by the library: module+offset, the
# offset already the one to look up; after symbolization: file:line[:col]).
BUG_SUMMARY_RE = re.compile(r"^SUMMARY: libpooldbg: (?P<kind>\S+) (?:\((?P<module>.+)\+(?P<off>0x[0-9a-f]+)\)"
                            r"|(?P<file>\S+?):(?P<line>\d+)(?::(?P<col>\d+))?)(?: in (?P<func>.+))?$")


# A build-id after the module offset, inside its parentheses
# ("(m+0x10, BuildId: 4f1c...)") or after them ("(m+0x10) (BuildId: 4f1c...)",
# ASan's form): not printed by the library yet; the lenient pattern accepts
# the forms a later version may print, so that such frames still symbolize.
_BUILD_ID = r"build[-_ ]?id[:=]?\s*(?P<%s>[0-9a-fA-F]+)"


def _frame_re(indent, space, hexdigits, tail, build_id):
    h = "0x%s+" % hexdigits
    inner = outer = ""
    if build_id:
        inner = r"(?:[,;]?\s*%s)?" % (_BUILD_ID % "bid_in")
        outer = r"(?:\s+[(\[]\s*%s\s*[)\]])?" % (_BUILD_ID % "bid_out")
    return re.compile(
        r"^(?P<indent>%s)#(?P<num>\d+)%s(?P<addr>%s)%sin%s(?P<func>.*?)"
        r"(?:%s(?P<tail>\((?P<module>.+)\+(?P<off>%s)%s\)%s))?%s$"
        % (indent, space, h, space, space, space, h, inner, outer, tail), re.I if build_id else 0)


# A frame line exactly as the library prints it (with the module's
# " (BuildId: …)" after it).  The function part is
# non-greedy so that a module path containing " (" still parses; the module
# part ends at the last "+0xOFF)" of the line.
FRAME_RE = _frame_re("    ", " ", "[0-9a-f]", "", True)
# The same, leniently: any indentation and spacing, upper-case hex, trailing
# blanks, a build-id, and the function part of a symbolized frame
# ("main /src/a.c:42:7").
FRAME_LENIENT_RE = _frame_re(r"\s*", r"\s+", "[0-9a-fA-F]", r"\s*", True)
# The function part of a symbolized frame: function, then file:line or
# file:line:column.  The function is greedy (C++ names hold spaces), so the
# file is the last word: a source path with a space in it is split wrongly.
SOURCE_RE = re.compile(r"^(?P<function>.+) (?P<file>[^ ]+?):(?P<line>\d+)(?::(?P<column>\d+))?$")

# What the symbolizer watches for (it searches anywhere in a line: a report
# may start right after program output that had no newline).
FAULT_PC_RE = re.compile(r"libpooldbg: ERROR: .*\bat pc (0x[0-9a-fA-F]+)")
END_SEARCH_RE = re.compile(r"libpooldbg: end of report")
# The start of something that may become a frame or report line once the
# rest of it arrives (bytes, for a stream).
MAYBE_REPORT_RE = re.compile(rb"^(\s*(#\d*.*)?|l(i(b(p(o(o(l(d(b(g.*)?)?)?)?)?)?)?)?)?)$")


# ---------------------------------------------------------------- small helpers

def strip_ansi(text):
    """The text without colour escapes (color=always colours first lines)."""
    return ANSI_RE.sub("", text) if "\x1b" in text else text


def split_offset(func):
    """'main+0x12b' -> ('main', '+0x12b'); '??' -> ('??', '')."""
    m = re.match(r"^(.*?)(\+0x[0-9a-fA-F]+)$", func)
    if m and m.group(1):
        return m.group(1), m.group(2)
    return func, ""


def split_source(func):
    """'main /src/a.c:42:7' -> ('main', '/src/a.c', 42, 7); 'main /src/a.c:42'
    -> (..., None); anything without file:line -> None."""
    m = SOURCE_RE.match(func)
    if not m:
        return None
    col = m.group("column")
    return m.group("function"), m.group("file"), int(m.group("line")), int(col) if col else None


def fault_pc(text):
    """The pc of a fault report's first line anywhere in text, or None."""
    m = FAULT_PC_RE.search(text)
    return int(m.group(1), 16) if m else None


def ends_report(text):
    """True if text holds a report's last line."""
    return END_SEARCH_RE.search(text) is not None


def may_begin_report_line(data):
    """True if bytes without their newline yet may still become a frame or
    a libpooldbg line."""
    return MAYBE_REPORT_RE.match(data) is not None


# ---------------------------------------------------------------- objects

class Frame(object):
    """One frame line: '    #N 0xPC in FUNC (MODULE+0xOFF)'."""
    __slots__ = ("indent", "num", "addr", "func", "module", "off", "tail", "build_id", "text")

    def __init__(self, m, text):
        self.indent = m.group("indent")
        self.num = int(m.group("num"))
        self.addr = m.group("addr")      # as printed
        self.func = m.group("func")      # 'sym+0xOFF', '??', or symbolized text
        self.module = m.group("module")  # None for '    #N 0xPC in ??'
        self.off = m.group("off")        # offset in the module, as printed
        self.tail = m.group("tail")      # '(MODULE+0xOFF)' and any build-id, as printed
        groups = m.groupdict()
        self.build_id = groups.get("bid_in") or groups.get("bid_out")  # lenient form only
        self.text = text

    @property
    def pc(self):
        return int(self.addr, 16)

    @property
    def symbol(self):
        """The dladdr name of 'sym+0xOFF', else None ('??')."""
        name, off = split_offset(self.func)
        return name if off else None

    @property
    def symbol_offset(self):
        name, off = split_offset(self.func)
        return int(off[1:], 16) if off else None

    @property
    def source(self):
        """(function, file, line, column or None) of a symbolized frame
        ('main /src/a.c:42:7'), else None."""
        return split_source(self.func)

    def __repr__(self):
        return "Frame(%r)" % self.text


def match_frame(text, strict=False):
    """A Frame if text is a frame line, else None.  strict: exactly the
    library's form (four spaces, lower-case hex); otherwise also symbolized
    and re-indented frames (ANSI escapes must be stripped first)."""
    m = (FRAME_RE if strict else FRAME_LENIENT_RE).match(text)
    return Frame(m, text) if m else None


class Location(object):
    """'  0xA is located N bytes RELATION [freed ]S-byte block [U,E) in pool P'."""
    __slots__ = ("address", "distance", "relation", "freed", "size", "start", "end", "pool", "text")

    def __init__(self, m, text):
        self.address = int(m.group("addr"), 16)
        self.distance = int(m.group("distance"))
        self.relation = m.group("relation")
        self.freed = m.group("freed") is not None
        self.size = int(m.group("size"))
        self.start = int(m.group("start"), 16)
        self.end = int(m.group("end"), 16)
        self.pool = m.group("pool")
        self.text = text


class Stack(object):
    """A stack of a report: its section, header line and frames.

    section: 'here' (no header: the faulting access or the bad call),
    'freed', 'alloc', 'leak' (one group of a leak report), or 'thread'
    (where thread `thread` came from: created by thread `creator`, or
    `creator` None and `why` the reason it is not known; no frames then)."""

    def __init__(self, section, header=None, thread=None, by=None):
        self.section = section
        self.header = header
        self.thread = thread
        self.by = by                 # 'alloc': malloc | operator new | operator new[]
        self.creator = None          # 'thread': the creating thread's number
        self.why = None              # 'thread': why the creator is unknown
        self.leak_kind = None        # 'leak': Direct | Indirect
        self.leak_bytes = None
        self.leak_objects = None
        self.frames = []
        self.no_stack = False        # the "<no stack recorded ...>" line
        self.truncated = None        # stack_depth, when the stack was cut there

    def __repr__(self):
        return "Stack(%s, %d frames)" % (self.section, len(self.frames))


class Report(object):
    """One report: from its 'libpooldbg: ERROR: ' line to its end line."""

    def __init__(self, line, raw=None):
        self.line = line                       # the first line, without colour
        self.raw = line if raw is None else raw  # as printed (color=always: with escapes)
        self.what = line[len(ERROR_PREFIX):]
        self.form = "unknown"  # pointer access syscall reuse leaks oom reentry panic startup unknown
        self.kind = None
        self.func = None       # pointer form: the function given the pointer
        self.when = None       # live form: when the heap check found it
        self.call = None       # syscall form: the call given the buffer ('read')
        self.param = None      # syscall form: which buffer of it ('buf', 'msg->msg_iov[1]')
        self.buffer = None     # syscall form: the buffer's (start, end)
        self.address = None
        self.access = None     # READ | WRITE
        self.size = None       # access size in bytes; None: unknown size
        self.pc = None
        self.thread = None
        self.location = None
        self.details = []      # detail lines, as printed (two leading spaces)
        self.stacks = {}       # section -> Stack, for 'here', 'freed', 'alloc'
        self.threads = {}      # thread number -> Stack (section 'thread'), in the order printed
        self.leaks = []        # leak groups (Stack objects, section 'leak')
        self.summary = None    # the SUMMARY line (a leak report's, or a bug's)
        self.summary_kind = None
        self.summary_func = None  # the function a bug's SUMMARY names
        self.leaked_bytes = None
        self.leaked_allocations = None
        self.end = None        # the end line; None if the report never ended
        self.pid = None
        self.lines = [line]    # every line of the report
        self.other = []        # lines inside the report that fit no rule
        self.stray_frames = []  # frames after such a line
        self._parse_first()

    @property
    def ended(self):
        return self.end is not None

    def _parse_first(self):
        w = self.what
        m = POINTER_RE.match(w)
        if m:
            self.form, self.kind, self.func = "pointer", m.group("kind"), m.group("func")
            self.address = int(m.group("addr"), 16)
            return
        m = ACCESS_RE.match(w)
        if m:
            self.form, self.kind = "access", m.group("kind")
            self.address = int(m.group("addr"), 16)
            self.access = m.group("access")
            self.size = int(m.group("size")) if m.group("size") else None
            self.pc = int(m.group("pc"), 16)
            self.thread = int(m.group("thread"))
            return
        m = SYSCALL_RE.match(w)
        if m:
            self.form, self.kind, self.call = "syscall", m.group("kind"), m.group("call")
            self.address = int(m.group("addr"), 16)
            self.access = m.group("access")
            self.size = int(m.group("size"))
            self.thread = int(m.group("thread"))
            return
        m = REUSE_RE.match(w)
        if m:
            self.form, self.kind = "reuse", m.group("kind")
            self.address = int(m.group("addr"), 16)
            self.access = m.group("access")
            return
        m = LIVE_RE.match(w)
        if m:
            self.form, self.kind, self.when = "live", m.group("kind"), m.group("when")
            self.address = int(m.group("addr"), 16)
            return
        m = OOM_RE.match(w)
        if m:
            self.form, self.kind, self.size = "oom", OUT_OF_MEMORY, int(m.group("size"))
            return
        for what, form, kind in ((LEAKS_WHAT, "leaks", LEAKS), (REENTRY_WHAT, "reentry", REENTRY),
                                 (PANIC_WHAT, "panic", PANIC)):
            if w == what:
                self.form, self.kind = form, kind
                return
        if STARTUP_RE.match(w):
            self.form, self.kind = "startup", STARTUP

    @property
    def one_line(self):
        """Forms that are complete after their first line (no end line)."""
        return self.form in ("startup", "panic")

    def stack(self, section):
        return self.stacks.get(section)

    def headers(self):
        return [s.header for s in list(self.stacks.values()) + self.leaks + list(self.threads.values()) if s.header]

    def __repr__(self):
        return "Report(%r)" % self.line


class Output(object):
    """Everything in one stream: reports and the lines around them."""

    def __init__(self):
        self.lines = []        # every line, without colour
        self.raw_lines = []    # every line as printed
        self.reports = []
        self.notices = []      # 'libpooldbg: NOTICE: ...' lines
        self.warnings = []     # 'libpooldbg: WARNING: ...' lines
        self.library = []      # other libpooldbg lines: statistics, help, lockstat
        self.program = []      # lines outside reports that are not the library's
        self.stray_ends = []   # end lines outside any report

    @property
    def error_lines(self):
        return [r.line for r in self.reports]

    def end_lines(self):
        return [r.end for r in self.reports if r.end] + self.stray_ends

    def interleaved(self):
        """True if a report began before the previous one ended, an end line
        came outside a report, or the last report never ended."""
        return bool(self.stray_ends) or any(not r.ended and not r.one_line for r in self.reports)


# ---------------------------------------------------------------- the parser

class _Parser(object):
    def __init__(self):
        self.out = Output()
        self.cur = None       # the report being read
        self.section = None   # its current Stack
        self.phase = None     # 'details' (before any stack), 'stacks', 'lost' (after a foreign line)

    def close(self):
        self.cur = None
        self.section = None
        self.phase = None

    def feed(self, raw):
        line = strip_ansi(raw)
        out = self.out
        out.lines.append(line)
        out.raw_lines.append(raw)
        if line.startswith(ERROR_PREFIX):
            r = Report(line, raw)
            out.reports.append(r)
            self.cur, self.section, self.phase = r, None, "details"
            if r.one_line:
                self.close()
            return
        r = self.cur
        if line.startswith(PREFIX):
            m = END_RE.match(line)
            if m:
                if r is None:
                    out.stray_ends.append(line)
                else:
                    r.end, r.pid = line, int(m.group("pid"))
                    r.lines.append(line)
                    self.close()
                return
            m = NOTICE_RE.match(line)
            if m:
                # Not part of a report even when it lands inside one: notices
                # and warnings do not wait for another thread's report.
                (out.notices if m.group("level") == "NOTICE" else out.warnings).append(line)
                return
            out.library.append(line)
            if r is not None:
                self.foreign(line)
            return
        if r is None:
            out.program.append(line)
            return
        r.lines.append(line)
        self.body_line(r, line)

    def foreign(self, line):
        self.cur.other.append(line)
        self.section = None
        self.phase = "lost"

    def open(self, stack):
        self.section = stack
        self.phase = "stacks"
        return stack

    def body_line(self, r, line):
        m = TRUNCATED_RE.match(line)
        if m and self.section is not None and self.section.frames:
            self.section.truncated = int(m.group("depth"))
            return
        if line.startswith("    "):
            f = match_frame(line, strict=True)
            if f is not None or line == NO_STACK_LINE:
                if self.phase == "details" and r.form != "leaks":
                    r.stacks["here"] = self.open(Stack("here"))
                if self.section is None:
                    if f is not None:
                        r.stray_frames.append(f)
                    else:
                        self.foreign(line)
                    return
                if f is not None:
                    self.section.frames.append(f)
                else:
                    self.section.no_stack = True
                return
        m = FREED_RE.match(line)
        if m and "freed" not in r.stacks:
            r.stacks["freed"] = self.open(Stack("freed", line, int(m.group("thread"))))
            return
        m = ALLOC_RE.match(line)
        if m and "alloc" not in r.stacks:
            r.stacks["alloc"] = self.open(Stack("alloc", line, int(m.group("thread")), m.group("by")))
            return
        m = CREATED_RE.match(line)
        if m and int(m.group("thread")) not in r.threads:
            s = self.open(Stack("thread", line, int(m.group("thread"))))
            s.creator = int(m.group("by"))
            r.threads[s.thread] = s
            return
        m = NOT_CREATED_RE.match(line)
        if m and int(m.group("thread")) not in r.threads:
            s = Stack("thread", line, int(m.group("thread")))
            s.why = m.group("why")
            r.threads[s.thread] = s
            self.section, self.phase = None, "stacks"  # no frames follow
            return
        m = LEAK_RE.match(line)
        if m and r.form == "leaks" and r.summary is None:
            s = self.open(Stack("leak", line))
            s.leak_kind, s.leak_bytes, s.leak_objects = m.group("kind"), int(m.group("bytes")), int(m.group("objects"))
            r.leaks.append(s)
            return
        m = BUG_SUMMARY_RE.match(line)
        if m and r.form != "leaks" and r.summary is None:
            r.summary = line
            r.summary_kind, r.summary_func = m.group("kind"), m.group("func")
            self.section, self.phase = None, "stacks"
            return
        m = SUMMARY_RE.match(line)
        if m and r.form == "leaks" and r.summary is None:
            r.summary = line
            r.leaked_bytes, r.leaked_allocations = int(m.group("bytes")), int(m.group("allocations"))
            self.section, self.phase = None, "stacks"
            return
        if self.phase == "details" and line.startswith("  "):
            r.details.append(line)
            m = LOCATION_RE.match(line)
            if m and r.location is None:
                r.location = Location(m, line)
            m = BUFFER_RE.match(line)
            if m and r.form == "syscall" and r.param is None:
                r.param = m.group("param")
                r.buffer = (int(m.group("start"), 16), int(m.group("end"), 16))
            return
        self.foreign(line)


def parse(text):
    """Parses libpooldbg output (str, or bytes decoded as UTF-8 with
    surrogateescape) mixed with anything else; returns an Output."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    p = _Parser()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        p.feed(line)
    return p.out


def parse_file(path):
    with open(path, "rb") as f:
        return parse(f.read())


# ---------------------------------------------------------------- as a script

def _describe(r):
    yield "report: %s" % r.line
    shown = []
    for k in ("form", "kind", "func", "call", "param", "address", "access", "size", "pc", "thread", "pid"):
        v = getattr(r, k)
        if v is not None:
            shown.append("%s=%s" % (k, hex(v) if k in ("address", "pc") else v))
    yield "  " + ", ".join(shown)
    if r.location:
        l = r.location
        yield "  location: %d bytes %s %s%d-byte block [%#x,%#x) in pool %s" % (
            l.distance, l.relation, "freed " if l.freed else "", l.size, l.start, l.end, l.pool)
    for d in r.details:
        yield "  detail: %s" % d.strip()
    for s in list(r.stacks.values()) + r.leaks + list(r.threads.values()):
        head = s.header.strip() if s.header else "(no header)"
        names = [f.symbol or f.func for f in s.frames[:3]]
        yield "  stack %s: %s %d frames%s %s" % (s.section, head, len(s.frames), " (none recorded)" if s.no_stack else "",
                                                 " ".join(names))
    if r.summary:
        yield "  summary: %s" % r.summary
    for o in r.other:
        yield "  other: %s" % o
    if not r.ended and not r.one_line:
        yield "  (no end line)"


def main(argv):
    paths = argv[1:] or ["-"]
    for path in paths:
        out = parse(sys.stdin.buffer.read()) if path == "-" else parse_file(path)
        for r in out.reports:
            for line in _describe(r):
                print(line)
        for n in out.notices + out.warnings:
            print("notice: %s" % n)
        if out.stray_ends:
            print("%d end lines outside reports" % len(out.stray_ends))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
