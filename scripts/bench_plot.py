#!/usr/bin/env python3
"""Draw the benchmark plots from the raw results of scripts/bench.sh.

Usage: bench_plot.py BENCHDIR [--out DIR] [--md FILE]

BENCHDIR holds results.tsv and meta.txt, as bench.sh writes them (and
keeps a copy of in docs/bench/).  Writes into DIR (default BENCHDIR) three
SVG files, from the same cells (medians over the rounds) that
scripts/bench_table.py puts in the tables:

  churn.svg        churn operations/s against threads, one line per
                   configuration measured (guard floor, libpooldbg and each
                   guard mechanism, Electric Fence, DUMA, glibc, valgrind ...)
  churn_cross.svg  the same for the cross-thread-free runs (churn -x)
  real.svg         real programs' CPU-time slowdown against native, one bar
                   per program and configuration (libpooldbg, sample=1000,
                   valgrind), where measured

A configuration, program or thread count without a successful run is left
out (a gap, not a zero).  With --md, FILE (BENCHMARKS.md) gets a "Plots"
section linking them, between two marker comments: replaced when present,
else put before the first "## " heading.

Reruns on the same data give byte-identical files: no date in the SVG
metadata, a fixed id salt, text kept as text (svg.fonttype none).  Every
line has the id series-CONFIG and every bar bar-MODE-PROGRAM, so that a
test can find them.  Needs matplotlib (Debian: python3-matplotlib;
scripts/bench_plot.sh installs it and picks a Python that has it).
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_table as bt  # noqa: E402  (the tables' reader: the same cells)

import matplotlib  # noqa: E402

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

plt.rcParams.update({
    "svg.hashsalt": "libpooldbg-bench",  # clip-path ids from a fixed salt
    "svg.fonttype": "none",              # text as <text>: smaller, searchable, no glyph paths
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
})
METADATA = {"Date": None}  # no timestamp: the same data gives the same file

BEGIN = "<!-- plots: written by scripts/bench_plot.py; do not edit by hand -->"
END = "<!-- end of plots -->"

# One look per configuration, kept when others come and go.
STYLE = {
    "guard": ("black", "o", "--"),
    "pool": ("tab:blue", "o", "-"),
    "uffd": ("tab:cyan", "^", "-"),
    "marker": ("tab:green", "v", "-"),
    "mprotect": ("tab:olive", "s", "-"),
    "ablation": ("tab:purple", "D", ":"),
    "depth0": ("tab:pink", "P", "-."),
    "concurrent": ("tab:brown", "X", ":"),
    "efence": ("tab:red", "s", "--"),
    "duma": ("tab:orange", "d", "--"),
    "glibcdbg": ("tab:gray", "^", "--"),
    "glibc": ("dimgray", "o", ":"),
    "valgrind": ("darkred", "*", "-."),
}
REAL_MODES = [
    ("pool", "libpooldbg", "tab:blue"),
    ("sample", "libpooldbg sample=1000", "tab:cyan"),
    ("valgrind", "valgrind memcheck", "darkred"),
]


def count(v, _pos=None):
    """1000 -> '1k', 2500000 -> '2.5M' (axis ticks)."""
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if v >= div:
            x = v / div
            return ("%.0f%s" if x == int(x) else "%.1f%s") % (x, suffix)
    return "%g" % v


def times(v, _pos=None):
    return "%gx" % v


def subtitle(meta):
    parts = [meta.get("date", ""), "nproc=%s" % meta.get("nproc", "?"), "Linux %s" % meta.get("kernel", "?"),
             "source %s" % meta.get("git", "?")]
    return ", ".join(p for p in parts if p)


def churn_plot(cells, meta, path, title):
    """ops/s against threads, one line per configuration; None if no data."""
    threads = sorted({int(t) for (_cfg, t) in cells})
    fig, ax = plt.subplots(figsize=(9, 5))
    drawn = 0
    for cfg in bt.CONFIG_ORDER + sorted({c for (c, _t) in cells} - set(bt.CONFIG_ORDER)):
        pts = [(t, cells[(cfg, str(t))].val) for t in threads
               if (cfg, str(t)) in cells and cells[(cfg, str(t))].ok()]
        if not pts:
            continue
        colour, marker, style = STYLE.get(cfg, ("black", "o", "-"))
        line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], color=colour, marker=marker, linestyle=style,
                        label=bt.LABEL.get(cfg, cfg))
        line.set_gid("series-" + cfg)
        drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xscale("log", base=2)
    ax.set_xticks(threads)
    ax.set_xticklabels([str(t) for t in threads])
    ax.minorticks_off()
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(count))
    ax.set_xlabel("threads")
    ax.set_ylabel("operations/s (malloc + free), log scale")
    ax.set_title("%s\n%s" % (title, subtitle(meta)), fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata=METADATA)
    plt.close(fig)
    return path


def real_plot(real, meta, path):
    """Slowdown bars per program and configuration; None if no data."""
    progs = bt.real_programs(real)
    modes = [m for m in REAL_MODES if any(bt.real_slowdown(real, p, m[0]) is not None for p in progs)]
    progs = [p for p in progs if any(bt.real_slowdown(real, p, m[0]) is not None for m in modes)]
    if not progs or not modes:
        return None
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(modes)
    top = 1.0
    for i, (mode, label, colour) in enumerate(modes):
        first = True
        for j, p in enumerate(progs):
            x = bt.real_slowdown(real, p, mode)
            if x is None:
                continue
            top = max(top, x)
            xpos = j - 0.4 + width * (i + 0.5)
            bar = ax.bar([xpos], [x], width=width * 0.95, color=colour, label=label if first else None)
            bar.patches[0].set_gid("bar-%s-%s" % (mode, p))
            first = False
            ax.annotate(bt.fmt_ratio(x), (xpos, x), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=6.5, rotation=90)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylim(0.5, 10 ** (math.log10(top) + 0.45))
    ax.yaxis.set_major_formatter(FuncFormatter(times))
    ax.set_xticks(range(len(progs)))
    ax.set_xticklabels(progs)
    ax.set_xlim(-0.6, len(progs) - 0.4)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("CPU time / native (user+sys), log scale")
    ax.set_title("Real programs: slowdown against native (1x)\n%s" % subtitle(meta), fontsize=9)
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=len(modes))
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata=METADATA)
    plt.close(fig)
    return path


def md_section(files, md, meta, benchdir):
    here = os.path.dirname(os.path.abspath(md))
    lines = [BEGIN, "## Plots", ""]
    src = meta.get("plots_from") or ("the raw results of this run (`%s`), the same medians as the tables below"
                                     % os.path.relpath(os.path.join(os.path.abspath(benchdir), "results.tsv"), here))
    lines.append("Drawn by `scripts/bench_plot.py` (matplotlib; `make bench-plot` draws them again) from %s. "
                 "Log scales.\n" % src)
    for alt, f in files:
        lines.append("![%s](%s)\n" % (alt, os.path.relpath(os.path.abspath(f), here)))
    lines.append(END)
    return "\n".join(lines) + "\n"


def update_md(md, section):
    with open(md) as f:
        text = f.read()
    if BEGIN in text and END in text:
        a = text.index(BEGIN)
        b = text.index(END) + len(END)
        if text[b:b + 1] == "\n":
            b += 1
        new = text[:a] + section + text[b:]
    else:
        i = text.find("\n## ")
        i = len(text) if i < 0 else i + 1
        new = text[:i] + section + "\n" + text[i:]
    if new != text:
        with open(md, "w") as f:
            f.write(new)


def main(argv):
    args = argv[1:]
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(__doc__)
        return 0 if args else 2
    d = args.pop(0)
    out = d
    md = None
    while args:
        a = args.pop(0)
        if a == "--out" and args:
            out = args.pop(0)
        elif a == "--md" and args:
            md = args.pop(0)
        else:
            sys.stderr.write("bench_plot: unknown argument '%s'\n" % a)
            return 2
    if not os.path.isfile(os.path.join(d, "results.tsv")):
        sys.stderr.write("bench_plot: no %s (the raw results of scripts/bench.sh)\n" % os.path.join(d, "results.tsv"))
        return 2
    meta = bt.read_meta(d)
    rows = bt.read_results(d)
    os.makedirs(out, exist_ok=True)
    made = []
    p = churn_plot(bt.cells(rows, "churn"), meta, os.path.join(out, "churn.svg"),
                   "Churn: operations per second against threads (median of rounds)")
    if p:
        made.append(("Churn: operations per second against threads, every configuration", p))
    p = churn_plot(bt.cells(rows, "cross"), meta, os.path.join(out, "churn_cross.svg"),
                   "Churn with cross-thread frees (-x): operations per second against threads")
    if p:
        made.append(("Churn with cross-thread frees: operations per second against threads", p))
    p = real_plot(bt.cells(rows, "real"), meta, os.path.join(out, "real.svg"))
    if p:
        made.append(("Real programs: CPU-time slowdown against native, per configuration", p))
    for _alt, f in made:
        print("bench_plot: wrote %s" % f)
    if md:
        update_md(md, md_section(made, md, meta, d))
        print("bench_plot: plots section of %s" % md)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
