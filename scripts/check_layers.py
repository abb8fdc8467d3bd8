#!/usr/bin/env python3
"""check_layers.py — the module graph of src/: no import cycle, and every
import points down the layers (docs/ARCHITECTURE.md).

Each .rs file under src/ is a module (src/a/b.rs is a::b, src/a/mod.rs is a,
src/lib.rs is the crate root). An import is a `use crate::…`, `use super::…`
or `use self::…` path, or an inline `crate::…`/`super::…` path anywhere in
code outside comments and string literals, resolved to the longest known
module prefix. `mod x;` declarations are not imports. Test modules
(`#[cfg(test)]` to the end of a file) are not counted.

  scripts/check_layers.py [--graph]   exit 1 on a cycle or a layer violation
"""
import os
import re
import sys

LAYERS = ["util", "sys", "config", "out", "heap", "diag", "front", "init"]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def modules():
    mods = {}
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), ROOT)[:-3].split(os.sep)
            if rel == ["lib"]:
                path = ()
            elif rel[-1] == "mod":
                path = tuple(rel[:-1])
            else:
                path = tuple(rel)
            mods[path] = os.path.join(dirpath, f)
    return mods


def strip(text):
    text = text.split("#[cfg(test)]\nmod tests")[0]
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'b?"(?:\\.|[^"\\])*"', '""', text)
    return text


def expand(tree):
    """`a::{b, c::{d, self}}` → ["a::b", "a::c::d", "a::c"]."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)\{(.*)\}$", tree)
    if not m:
        return [tree]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        continue
    if cur:
        parts.append(cur)
    out = []
    for p in parts:
        for e in expand(p):
            out.append(prefix.rstrip(":") if e == "self" else prefix + e)
    return out


def resolve(me, path, mods):
    segs = [s for s in path.split("::") if s]
    if not segs:
        return None
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    elif segs[0] in ("super", "self"):
        base = list(me)
        # a mod.rs is its folder's module: `super` of a::b (file a/b.rs) is a
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    elif tuple(me) + (segs[0],) in mods:
        base = list(me)  # a child module, named from its parent (`use mem::PAGE`)
    else:
        return None
    best = tuple(base)
    cand = list(base)
    for s in segs:
        cand.append(re.sub(r"\W.*", "", s))
        if tuple(cand) in mods:
            best = tuple(cand)
        else:
            break
    return best


def imports(me, file, mods):
    text = strip(open(file).read())
    found = set()
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        for p in expand(m.group(1)):
            r = resolve(me, p, mods)
            if r is not None:
                found.add(r)
    for m in re.finditer(r"(?<![\w:])((?:crate|super)(?:::\w+)+)", text):
        r = resolve(me, m.group(1), mods)
        if r is not None:
            found.add(r)
    # a child module used by name in its parent (`marker::Marker`)
    for child in [c for c in mods if len(c) == len(me) + 1 and c[:-1] == me]:
        if re.search(r"(?<![\w:])" + child[-1] + r"::\w", text):
            found.add(child)
    found.discard(me)
    return found


def layer(path):
    return LAYERS.index(path[0]) if path and path[0] in LAYERS else None


def name(path):
    return "::".join(path) or "lib"


def main():
    mods = modules()
    graph = {m: imports(m, f, mods) for m, f in mods.items()}
    problems = []
    for m, deps in sorted(graph.items()):
        for d in sorted(deps):
            if d == ():
                problems.append(f"{name(m)} imports the crate root")
            lm, ld = layer(m), layer(d)
            if lm is not None and ld is not None and ld > lm:
                problems.append(f"{name(m)} (layer {LAYERS[lm]}) imports {name(d)} (layer {LAYERS[ld]}, higher)")
    # cycles: Tarjan's strongly connected components
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    for c in sccs:
        problems.append("import cycle: " + " <-> ".join(name(m) for m in c))
    if "--graph" in sys.argv:
        for m, deps in sorted(graph.items()):
            print(f"{name(m)}: {' '.join(sorted(name(d) for d in deps))}")
    edges = sum(len(d) for d in graph.values())
    for p in problems:
        print("check_layers: " + p)
    print(f"check_layers: {len(mods)} modules, {edges} imports, {len(sccs)} cycles, "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
