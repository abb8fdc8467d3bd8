#!/usr/bin/env python3
"""Turn the raw results of scripts/bench.sh into the benchmark tables.

Usage: bench_table.py BENCHDIR [--md FILE]

BENCHDIR holds results.tsv (one line per run: kind, config, threads-or-program,
round, status, value, maxrss_kb, extra, reproduction command), meta.txt
(key=value: date, machine, command ...) and problems.txt.  Prints the tables
(aligned Markdown, readable in a terminal) on stdout and, with --md, writes
them with a header to FILE.  Every number is a median over the rounds of one
run; every ratio compares numbers of that same run.
"""
import re
import statistics
import sys

LABEL = {
    "guard": "guard floor (mmap+mprotect+touch+munmap)",
    "pool": "libpooldbg default",
    "uffd": "libpooldbg guard=uffd (userfaultfd)",
    "marker": "libpooldbg guard=marker (guard markers)",
    "mprotect": "libpooldbg guard=mprotect",
    "ablation": "libpooldbg ablation (lock held over prefault)",
    "depth0": "libpooldbg stack_depth=0",
    "concurrent": "libpooldbg serialize=0 (no page-table turns)",
    "efence": "Electric Fence",
    "duma": "DUMA",
    "glibcdbg": "glibc malloc-debug (MALLOC_CHECK_=3)",
    "glibc": "glibc malloc",
    "valgrind": "valgrind memcheck",
    "lockstat": "libpooldbg lockstat build",
}
NOTES = """## How to read this

- **Churn** (`c_tests/bench/churn.c`): T threads, each keeping K live blocks; one operation frees a random
  block (checking its first and last byte) and mallocs a new one of random size 16..4096 B (writing its first
  and last byte). Each thread has its own xorshift PRNG seeded by its index. A run lasts a fixed time
  (`-d`), so slow peers do fewer operations instead of taking longer; ops/s = operations / timed seconds,
  measured inside the program (start-up, the initial K allocations per thread and the final frees are not
  timed). `churn -x` hands the replaced block through a shared array (atomic exchange) so that another thread
  frees it.
- **Guard floor** (`c_tests/bench/guardfloor.c`): the same loop with no allocator; per object `mmap` of the
  rounded-up size plus one page, `mprotect(PROT_NONE)` on the last page, one write per page, and `munmap` when
  replaced. What a page-guard allocator pays if it does nothing clever.
- **Peak RSS** is `ru_maxrss` of the whole process, so it includes fixed costs (libraries, libpooldbg's
  metadata tables); at T=1 those dominate the ratio. valgrind's RSS is valgrind's own.
- **Lock statistics** come from the `lockstat` build (`make lockstat`), which does extra work inside every
  critical section (it reads the fault counters), so its ops/s are not comparable with the default build.
  On 2 cores, 8 threads oversubscribe: a thread preempted while holding the lock makes the others wait a
  whole time slice.
- **Real programs**: CPU time (user + sys of the command and every process it waited for, from `wait4`,
  `c_tests/bench/cputime.c`) natively, with `LD_PRELOAD=libpooldbg.so` and under `valgrind -q
  --trace-children=yes`. The output of every preloaded run is compared with the native one. `python` uses
  CPython's pymalloc (few, large mallocs; under valgrind it also triggers memcheck's well-known false reports),
  `python_malloc` sets `PYTHONMALLOC=malloc` so every object goes through malloc (fewer objects, same script).
- **Electric Fence** needs two mappings per live block (`vm.max_map_count` 65530): with more than ~32k live
  blocks it stops with "mprotect() failed"; K is kept small enough here for it to run, and a failure would be
  shown as "failed" in its row. **DUMA** runs with its defaults (`DUMA_PROTECT_FREE=-1`: freed memory is
  never reused, hence its RSS).
"""

CONFIG_ORDER = ["guard", "pool", "uffd", "marker", "mprotect", "ablation", "depth0", "concurrent", "efence", "duma", "glibcdbg", "glibc", "valgrind"]
THREADS = ["1", "2", "8"]


def read_meta(d):
    meta = {}
    try:
        with open(f"{d}/meta.txt") as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    meta[k] = v
    except OSError:
        pass
    return meta


def read_results(d):
    rows = []
    with open(f"{d}/results.tsv") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            p += [""] * (9 - len(p))
            kind, cfg, t, rnd, status, val, rss, extra, cmd = p[:9]
            rows.append(dict(kind=kind, cfg=cfg, t=t, round=rnd, status=status,
                             val=float(val) if val else None,
                             rss=float(rss) if rss else None, extra=extra, cmd=cmd))
    return rows


class Cell:
    """Median of the successful runs of one (kind, config, threads/program)."""

    def __init__(self, runs):
        self.runs = runs
        ok = [r for r in runs if r["status"] == "ok" and r["val"] is not None]
        self.n = len(runs)
        self.nok = len(ok)
        self.val = statistics.median([r["val"] for r in ok]) if ok else None
        rss = [r["rss"] for r in ok if r["rss"] is not None]
        self.rss = statistics.median(rss) if rss else None
        self.fail = [r["status"] for r in runs if r["status"] != "ok"]
        self.ok_runs = ok

    @property
    def status(self):
        if self.n == 0:
            return "not run"
        if self.nok == self.n:
            return f"{self.nok}/{self.n} ok"
        reasons = sorted(set(self.fail))
        return f"{self.nok}/{self.n} ok; " + ", ".join(reasons)

    def ok(self):
        return self.val is not None


def cells(rows, kind):
    out = {}
    for r in rows:
        if r["kind"] == kind:
            out.setdefault((r["cfg"], r["t"]), []).append(r)
    return {k: Cell(v) for k, v in out.items()}


def real_programs(real):
    """The real programs of cells(rows, "real"), in the order they were run."""
    progs = []
    for (_mode, prog) in real:
        if prog not in progs:
            progs.append(prog)
    return progs


def real_slowdown(real, prog, mode):
    """CPU time of prog under mode (pool, sample, valgrind) over its native
    CPU time (medians), or None where either is missing or failed."""
    nat = real.get(("native", prog), Cell([]))
    x = real.get((mode, prog), Cell([]))
    return ratio(x.val, nat.val) if x.ok() else None


def fmt_ops(v):
    if v is None:
        return "failed"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.1f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(x, why=""):
    if x is None:
        return why or "n/a"
    if x >= 100:
        return f"{x:.0f}x"
    if x >= 10:
        return f"{x:.1f}x"
    if x >= 0.1:
        return f"{x:.2f}x"
    return f"{x:.2g}x"


def table(header, rows, align=None):
    """Aligned Markdown pipe table."""
    align = align or ["l"] + ["r"] * (len(header) - 1)
    w = [len(h) for h in header]
    for r in rows:
        for i, c in enumerate(r):
            w[i] = max(w[i], len(c))
    def line(cells):
        out = []
        for i, c in enumerate(cells):
            out.append(c.ljust(w[i]) if align[i] == "l" else c.rjust(w[i]))
        return "| " + " | ".join(out) + " |"
    sep = "|" + "|".join(("-" * (w[i] + 1) + ":") if align[i] == "r" else (":" + "-" * (w[i] + 1))
                         for i in range(len(w))) + "|"
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def kv(s):
    return {k: v for k, v in re.findall(r"(\w+)=([0-9.]+)", s)}


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    md = None
    if "--md" in sys.argv:
        md = sys.argv[sys.argv.index("--md") + 1]
    meta = read_meta(d)
    rows = read_results(d)
    try:
        problems = open(f"{d}/problems.txt").read().strip()
    except OSError:
        problems = ""

    churn = cells(rows, "churn")
    cross = cells(rows, "cross")
    lock = cells(rows, "lock")
    rsslong = cells(rows, "rsslong")
    real = cells(rows, "real")
    out = []
    targets = []  # (target, measured, verdict)

    def c(cfg, t):
        return churn.get((cfg, t), Cell([]))

    def verdict(x, ok):
        if x is None:
            return "not measured"
        return "met" if ok else "NOT met"

    # ---- churn table
    out.append("## Churn: operations/s (median of rounds), ratios in the same run\n")
    out.append(f"Each thread keeps {meta.get('live', '?')} live blocks and replaces a random one per "
               f"operation (16..4096 B, first and last byte written); {meta.get('secs', '?')} s timed per run, "
               f"{meta.get('rounds', '?')} interleaved rounds. Ratios are this configuration's ops/s divided by the "
               "other's at the same thread count (> 1: faster). Peak RSS is the process's ru_maxrss.\n")
    hdr = ["configuration", "T", "ops/s", "runs", "x guard", "x EF", "x DUMA", "x glibc", "peak RSS", "RSS x guard"]
    body = []
    for t in THREADS:
        g, ef, du, gl = c("guard", t), c("efence", t), c("duma", t), c("glibc", t)
        for cfg in CONFIG_ORDER:
            x = c(cfg, t)
            if x.n == 0:
                continue
            ef_why = "EF failed" if ef.n and not ef.ok() else ""
            du_why = "DUMA failed" if du.n and not du.ok() else ""
            body.append([
                LABEL[cfg], t, fmt_ops(x.val), x.status,
                fmt_ratio(ratio(x.val, g.val)) if cfg != "guard" else "1",
                fmt_ratio(ratio(x.val, ef.val), ef_why) if cfg != "efence" else "1",
                fmt_ratio(ratio(x.val, du.val), du_why) if cfg != "duma" else "1",
                fmt_ratio(ratio(x.val, gl.val)) if cfg != "glibc" else "1",
                f"{x.rss / 1024:.1f} MB" if x.rss else "-",
                fmt_ratio(ratio(x.rss, g.rss)) if cfg != "guard" else "1",
            ])
    out.append(table(hdr, body, ["l", "r", "r", "l", "r", "r", "r", "r", "r", "r"]))
    out.append("")

    # ---- cross-thread frees
    if cross:
        out.append("## Churn with cross-thread frees (-x: the replaced block is handed through a shared array and freed by another thread)\n")
        hdr = ["configuration", "T", "ops/s", "runs", "x guard", "x glibc", "peak RSS"]
        body = []
        for t in ["2", "8"]:
            g, gl = cross.get(("guard", t), Cell([])), cross.get(("glibc", t), Cell([]))
            for cfg in CONFIG_ORDER:
                x = cross.get((cfg, t))
                if not x:
                    continue
                body.append([LABEL[cfg], t, fmt_ops(x.val), x.status,
                             fmt_ratio(ratio(x.val, g.val)) if cfg != "guard" else "1",
                             fmt_ratio(ratio(x.val, gl.val)) if cfg != "glibc" else "1",
                             f"{x.rss / 1024:.1f} MB" if x.rss else "-"])
        out.append(table(hdr, body, ["l", "r", "r", "l", "r", "r", "r"]))
        out.append("")

    # ---- the seed's A/B
    cost = cells(rows, "cost")
    if cost:
        out.append("## Where the time goes (one malloc + one free, churn -t 1)\n")
        out.append("Counted, not timed: kernel entries from `strace -f -c` (the benchmark's own waiting "
                   "left out) and page faults from `wait4`'s minflt, which includes the pages "
                   "`MADV_POPULATE_WRITE` faults in on our behalf (`UFFDIO_COPY` installs its page without a "
                   "fault), over 50,000 operations minus a run of none, divided by 50,000. Stack capture's "
                   "share is what `stack_depth=0` gains at T=1 in the churn table above.\n")
        hdr = ["guard mechanism", "system calls / op", "of which", "page faults / op", "ops/s, T=1"]
        body = []
        for m in ["uffd", "marker", "mprotect"]:
            x = cost.get((m, "1"))
            if not x or not x.ok():
                continue
            extra = x.ok_runs[0].get("extra", "")
            faults = re.search(r"faults=([0-9.]+)", extra)
            calls = re.search(r"calls=(.*)", extra)
            body.append([LABEL[m], f"{x.val:.2f}", calls.group(1) if calls else "",
                         faults.group(1) if faults else "", fmt_ops(c(m, "1").val)])
        out.append(table(hdr, body, ["l", "r", "l", "r", "r"]))
        d0, p1 = c("depth0", "1").val, c("pool", "1").val
        if d0 and p1:
            out.append(f"\nStack capture (16 frames at malloc and at free): {100 * (1 - p1 / d0):.0f}% of an "
                       f"operation at T=1 ({fmt_ops(p1)} ops/s with it, {fmt_ops(d0)} without).\n")
    out.append("## The seed's A/B: default vs lock-held ablation (pool lock held across prefault and header writes)\n")
    hdr = ["threads", "default ops/s", "ablation ops/s", "default / ablation"]
    body = []
    for t in THREADS:
        a, b = c("pool", t), c("ablation", t)
        body.append([f"T={t}", fmt_ops(a.val), fmt_ops(b.val), fmt_ratio(ratio(a.val, b.val))])
    for t in ["2", "8"]:
        a, b = cross.get(("pool", t), Cell([])), cross.get(("ablation", t), Cell([]))
        if a.n:
            body.append([f"T={t} cross-thread", fmt_ops(a.val), fmt_ops(b.val), fmt_ratio(ratio(a.val, b.val))])
    out.append(table(hdr, body))
    out.append("")

    # ---- lockstat
    lk = lock.get(("lockstat", "8"), Cell([]))
    share_med = sleep_med = wait_med = wait_max = None
    if lk.ok_runs:
        shares, sleeps, waits, faults, sections, holds, rounds = [], [], [], [], [], [], []
        for r in lk.ok_runs:
            k = kv(r["extra"])
            try:
                el = float(k["elapsed"])
                share = float(k["spin_ns"]) / (8 * el * 1e9)
                asleep = float(k.get("sleep_ns", 0)) / (8 * el * 1e9)
                wait = float(k["max_wait_ns"]) / 1e6
                section = int(float(k["sections"]))
                hold = float(k["max_hold_ns"]) / 1e6
                # The time-only build does not count faults (make test does).
                fault = k.get("faults_under_lock", "not counted")
            except (KeyError, ValueError):
                continue
            shares.append(share)
            sleeps.append(asleep)
            waits.append(wait)
            faults.append(fault)
            sections.append(section)
            holds.append(hold)
            rounds.append(r)
        if shares:
            share_med = statistics.median(shares)
            sleep_med = statistics.median(sleeps)
            wait_med = statistics.median(waits)
            wait_max = max(waits)
            out.append("## Pool lock at 8 threads (lockstat build, churn -t 8)\n")
            out.append("A waiter spins briefly, then sleeps on a futex until the holder's release wakes it "
                       "(src/heap/lock.rs). Shares of thread time = spin_ns or sleep_ns / (8 x timed seconds) "
                       "(the counters cover the whole process, set-up included, so this slightly overstates "
                       "them). A wait is from the first attempt to the acquisition, asleep or not; a hold "
                       "is wall time, so a holder preempted inside its section shows here. This is the time-only "
                       "lockstat build; page faults under the lock are counted by `make test` "
                       "(lockstat_faults build: 0 expected, and > 0 for the lock_prefault ablation).\n")
            hdr = ["run", "ops/s", "sections", "faults under lock", "time spinning", "time asleep", "longest wait", "longest hold"]
            body = []
            for i, r in enumerate(rounds):
                body.append([f"round {r['round']}", fmt_ops(r["val"]), str(sections[i]), str(faults[i]),
                             f"{shares[i] * 100:.2f}%", f"{sleeps[i] * 100:.2f}%", f"{waits[i]:.2f} ms", f"{holds[i]:.2f} ms"])
            body.append(["median", fmt_ops(lk.val), str(int(statistics.median(sections))), str(faults[-1]),
                         f"{share_med * 100:.2f}%", f"{sleep_med * 100:.2f}%", f"{wait_med:.2f} ms",
                         f"{statistics.median(holds):.2f} ms"])
            out.append(table(hdr, body))
            out.append("")
    if lk.n and not lk.ok_runs:
        out.append(f"## Pool lock at 8 threads: lockstat runs failed ({lk.status})\n")

    # ---- RSS flatness
    rl = rsslong.get(("pool", "2"), Cell([]))
    short = c("pool", "2")
    flat = ratio(rl.rss, short.rss)
    if rl.n:
        out.append("## Peak RSS over run length (libpooldbg default, T=2)\n")
        hdr = ["run length", "ops (median)", "peak RSS"]
        def medops(cell):
            v = [float(kv(r["extra"]).get("ops", "nan")) for r in cell.ok_runs]
            return f"{statistics.median(v):,.0f}" if v else "-"
        body = [[f"{meta.get('secs', '?')} s", medops(short), f"{short.rss / 1024:.1f} MB" if short.rss else "-"],
                [f"3 x {meta.get('secs', '?')} s", medops(rl), f"{rl.rss / 1024:.1f} MB" if rl.rss else "-"]]
        out.append(table(hdr, body, ["l", "r", "r"]))
        out.append(f"\nlong / short peak RSS: {fmt_ratio(flat)}\n")

    # ---- real programs
    progs = real_programs(real)
    real_slow = {}
    if progs:
        have_sample = any(m == "sample" for (m, _) in real)
        out.append("## Real programs: CPU time (user+sys, median), slowdown vs native\n")
        hdr = ["program", "native", "libpooldbg", "slowdown"]
        if have_sample:
            hdr += ["sample=1000", "slowdown"]
        hdr += ["valgrind", "slowdown", "libpooldbg < valgrind"]
        body = []
        for p in progs:
            nat = real.get(("native", p), Cell([]))
            row = [p, f"{nat.val:.3f} s" if nat.ok() else nat.status]
            modes = ["pool"] + (["sample"] if have_sample else []) + ["valgrind"]
            sl = {}
            for m in modes:
                x = real.get((m, p), Cell([]))
                if x.ok():
                    sl[m] = real_slowdown(real, p, m)
                    row += [f"{x.val:.3f} s", fmt_ratio(sl[m])]
                else:
                    sl[m] = None
                    row += [x.status if x.n else "not run", "-"]
            real_slow[p] = sl
            if sl.get("pool") is not None and sl.get("valgrind") is not None:
                row.append("yes" if sl["pool"] < sl["valgrind"] else "NO")
            else:
                row.append("n/a")
            body.append(row)
        out.append(table(hdr, body))
        if meta.get("vg_rounds"):
            out.append(f"\nvalgrind runs with --trace-children=yes, in {meta['vg_rounds']} of the "
                       f"{meta.get('rounds', '?')} rounds; the others in every round.\n")

    # ---- targets
    def chk(name, x, goal, fmt=fmt_ratio, cmp=lambda a, b: a >= b, why=None):
        if x is None:
            targets.append([name, why or "not measured", "not measured"])
        else:
            targets.append([name, fmt(x), "met" if cmp(x, goal) else "NOT met"])

    chk("churn >= 1.5x guard floor, T=1", ratio(c("pool", "1").val, c("guard", "1").val), 1.5)
    chk("churn, guard=uffd >= 1.3x guard=marker, T=1", ratio(c("uffd", "1").val, c("marker", "1").val), 1.3)
    chk("churn, guard=uffd >= 2.5x guard floor, T=1", ratio(c("uffd", "1").val, c("guard", "1").val), 2.5)
    chk("churn >= 2x guard floor, T=2", ratio(c("pool", "2").val, c("guard", "2").val), 2.0)
    for peer, name in (("efence", "Electric Fence"), ("duma", "DUMA")):
        for t in ["2", "8"]:
            p = c(peer, t)
            why = f"{name} failed ({p.status})" if p.n and not p.ok() else None
            chk(f">= 10x {name}, T={t}", ratio(c("pool", t).val, p.val), 10.0, why=why)
    chk("seed's A/B: default >= 2x ablation, T=8", ratio(c("pool", "8").val, c("ablation", "8").val), 2.0)
    chk("< 1% of thread time spinning for the lock, T=8", share_med, 0.01,
        fmt=lambda x: f"{x * 100:.2f}% (and {sleep_med * 100:.2f}% asleep waiting)", cmp=lambda a, b: a < b)
    chk("longest lock wait < 10 ms, T=8 (median of rounds)", wait_med, 10.0,
        fmt=lambda x: f"{x:.2f} ms (max over rounds {wait_max:.2f} ms)", cmp=lambda a, b: a < b)
    for t in THREADS:
        chk(f"peak RSS <= 1.2x guard floor, T={t}", ratio(c("pool", t).rss, c("guard", t).rss), 1.2,
            cmp=lambda a, b: a <= b)
    chk("peak RSS flat over run length (3x longer run <= 1.1x)", flat, 1.1, cmp=lambda a, b: a <= b)
    for p, sl in real_slow.items():
        if sl.get("pool") is None or sl.get("valgrind") is None:
            targets.append([f"{p}: slowdown below valgrind's", "not measured", "not measured"])
        else:
            targets.append([f"{p}: slowdown below valgrind's",
                            f"{fmt_ratio(sl['pool'])} vs {fmt_ratio(sl['valgrind'])}",
                            "met" if sl["pool"] < sl["valgrind"] else "NOT met"])
    if any("sample" in sl for sl in real_slow.values()):
        for p, sl in real_slow.items():
            chk(f"{p}: sample=1000 within 2x native", sl.get("sample"), 2.0, cmp=lambda a, b: a <= b)
    else:
        targets.append(["sample=1000 within 2x native", "library does not accept sample=N yet", "not measured"])

    tgt = ["## Issue targets\n", table(["target", "measured", "verdict"], targets, ["l", "r", "l"]), ""]
    nmet = sum(1 for t in targets if t[2] == "met")
    tgt.append(f"{nmet} of {len(targets)} targets met.\n")

    head = []
    head.append(f"Date: {meta.get('date', '?')}  ")
    head.append(f"Machine: nproc={meta.get('nproc', '?')}, kernel {meta.get('kernel', '?')}, "
                f"CPU {meta.get('cpu', '?')}, vm.max_map_count={meta.get('max_map_count', '?')}  ")
    head.append(f"Command: `{meta.get('command', 'make bench')}` (runtime {meta.get('runtime', '?')} s)  ")
    head.append(f"Guard mechanisms offered here: {meta.get('mechanisms', '?')}; the default (guard=auto) used "
                f"{meta.get('default_mechanism', '?')}  ")
    head.append(f"Source: `{meta.get('git', '?')}`  ")
    head.append(f"Load average at start / end: {meta.get('load_start', '?')} / {meta.get('load_end', '?')}  ")
    head.append(f"Peers: Electric Fence `{meta.get('efence', '')}` (EF_ALLOW_MALLOC_0=1), DUMA "
                f"`{meta.get('duma', '')}` (DUMA_ALLOW_MALLOC_0=1, defaults otherwise: freed memory is never "
                f"reused), glibc `{meta.get('glibcdbg', '')}` with MALLOC_CHECK_=3, {meta.get('valgrind', 'valgrind')} memcheck")
    if meta.get("note"):
        head.append(f"\nNote: {meta['note']}")
    head.append("")

    text = "\n".join(out + tgt)
    print("\n".join(head))
    print(text)
    if problems:
        text += "\n## libpooldbg problems seen during this run\n\n```\n" + problems + "\n```\n"
    if md:
        with open(md, "w") as f:
            f.write("# libpooldbg benchmarks\n\n")
            f.write("Written by `make bench` (scripts/bench.sh, scripts/bench_table.py; programs in "
                    "c_tests/bench/). Every number below comes from one run: configurations are "
                    "interleaved round by round (A B C A B C ...) and each cell is the median over the "
                    "rounds, because the machine is shared and noisy. Ratios compare numbers of this "
                    "same run. Nothing here is a pass/fail threshold of `make test`.\n\n")
            f.write("\n".join(head) + "\n")
            f.write(text)
            f.write("\n" + NOTES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
