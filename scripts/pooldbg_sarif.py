#!/usr/bin/env python3
"""pooldbg_sarif.py - libpooldbg reports as SARIF 2.1.0, one result per report.

Usage: scripts/pooldbg_sarif.py [LOG] > report.sarif    (stdin without LOG)
       (the wrapper: scripts/pooldbg --sarif FILE -- program ...)

LOG is libpooldbg's text output, symbolized (pooldbg-symbolize, or the
wrapper's stderr) or not; it is parsed with pooldbg_report.py. Each report
is one result: its rule is the bug kind, its message the report's first line
and SUMMARY, its location the first frame in the program's own code that has
a file and line (else its module, with the offset in the properties), and
its stacks the report's stacks, so CI code scanning shows the bug on the
line. Exit status 0; 2 if LOG cannot be read.
"""

import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pooldbg_report  # noqa: E402

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# "function file:LINE" or "function file:LINE:COL", as the symbolizer writes.
FILE_LINE = re.compile(r"^(?P<func>.*?) (?P<file>\S+?):(?P<line>\d+)(?::(?P<col>\d+))?$")
# Runtime sources a location should not point into.
RUNTIME = ("/usr/include/", "sysdeps/", "csu/", "/usr/lib/gcc/", "libio/", "string/", "nptl/")

DESCRIPTIONS = {
    "heap-buffer-overflow": "An access beyond the end of a heap block",
    "heap-buffer-underflow": "An access before the start of a heap block",
    "heap-use-after-free": "An access to a freed heap block",
    "heap-wild-access": "An access into libpooldbg's heap near no block",
    "double-free": "A block released twice",
    "invalid-free": "A pointer that is no heap block released",
    "interior-pointer-free": "A pointer into a block, not its start, released",
    "corrupted-owner-link": "The bytes before a block overwritten",
    "alloc-dealloc-mismatch": "malloc/free, new/delete and new[]/delete[] mixed",
    "new-delete-type-mismatch": "Sized delete with the wrong size",
    "memory-leaks": "Heap blocks nothing points to at exit",
    "SEGV": "A fault outside the heap: a null, wild or dangling pointer",
    "BUS": "A SIGBUS outside the heap",
    "stack-overflow": "A thread's stack ran out",
}


def frame_location(f):
    """(physicalLocation or None, logical name) of one parsed frame."""
    m = FILE_LINE.match(f.func or "")
    if m and not any(r in m.group("file") for r in RUNTIME):
        region = {"startLine": int(m.group("line"))}
        if m.group("col"):
            region["startColumn"] = int(m.group("col"))
        uri = m.group("file")
        return {"artifactLocation": {"uri": ("file://" + uri) if uri.startswith("/") else uri},
                "region": region}, m.group("func")
    return None, f.symbol or f.func


def sarif_frame(f):
    loc, name = frame_location(f)
    out = {"location": {"message": {"text": f.func or "??"}}}
    if loc:
        out["location"]["physicalLocation"] = loc
    if f.module:
        out["module"] = f.module
        out["location"]["properties"] = {"offset": f.off, "pc": f.addr}
    if name:
        out["location"]["logicalLocations"] = [{"name": name, "kind": "function"}]
    return out


def stacks_of(r):
    order = [r.stacks[s] for s in ("here", "freed", "alloc") if s in r.stacks] + list(r.leaks)
    return [s for s in order if s.frames]


def result(r):
    stacks = stacks_of(r)
    location = None
    for s in stacks:
        for f in s.frames:
            loc, name = frame_location(f)
            if loc:
                location = {"physicalLocation": loc, "logicalLocations": [{"name": name, "kind": "function"}]}
                break
        if location:
            break
    if location is None and stacks and stacks[0].frames:
        f = stacks[0].frames[0]
        location = {"physicalLocation": {"artifactLocation": {"uri": "file://" + f.module if f.module else "unknown"}},
                    "properties": {"offset": f.off, "pc": f.addr}}
    text = r.what + ("\n" + r.summary if r.summary else "")
    res = {
        "ruleId": r.kind,
        "level": "warning" if r.kind == pooldbg_report.LEAKS else "error",
        "message": {"text": text},
        "locations": [location] if location else [],
        "stacks": [{"message": {"text": (s.header or "stack of the bug").strip()},
                    "frames": [sarif_frame(f) for f in s.frames]} for s in stacks],
    }
    if r.address is not None:
        res["properties"] = {"address": "0x%x" % r.address}
    return res


def to_sarif(output, version="unknown"):
    reports = [r for r in output.reports if r.kind]
    kinds = []
    for r in reports:
        if r.kind not in kinds:
            kinds.append(r.kind)
    rules = [{"id": k, "shortDescription": {"text": DESCRIPTIONS.get(k, k)},
              "helpUri": "https://github.com/libpooldbg/libpooldbg/blob/main/docs/REPORT-FORMAT.md"} for k in kinds]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "libpooldbg", "version": version, "rules": rules}},
            "results": [result(r) for r in reports],
        }],
    }


def main(argv):
    try:
        text = open(argv[1], errors="replace").read() if len(argv) > 1 else sys.stdin.read()
    except OSError as e:
        sys.stderr.write("pooldbg_sarif: cannot read %s: %s\n" % (argv[1], e.strerror))
        return 2
    json.dump(to_sarif(pooldbg_report.parse(text)), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
