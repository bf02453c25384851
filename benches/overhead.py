#!/usr/bin/env python3
"""Monitoring overhead of `membound run` on a passing Clash scenario, side by side.

    python3 benches/overhead.py [CYCLES ...] [--repeats R]    # default: 30000 300000, R = 7

For each CYCLES: `clash_register_wb_fixed` at that many cycles, blessed once into a scratch
baseline directory (so each measured run is a passing run compared with its baseline, as on a
pull request), then R alternating pairs: `membound run` (build cached, results and report
written) against the same program alone with the same RTS options in a fresh directory (with
several builds, in ABBA order). Prints wall-time medians and the overhead of the medians; the
median and quartiles of each pair's overhead (a `membound run` over the run alone right after
it, which cancels the machine's slow drifts); membound's own CPU time per census (user + system of
membound and its launcher: all its children's CPU less the program's own `total_cpu_seconds`
from that run's `rts.stats`, which leaves out about 2.5 ms of the program's start and exit, so
this is that much high per run); the program's own CPU time under watch and alone (from their
`rts.stats`: how much the watch, on the other core, slows the program it shares the machine
with); and membound's own peak RSS (`VmHWM` of the membound process alone,
read from /proc every 2 ms until it exits, in 3 more runs apart from the timed ones, whose
wall time the polling would disturb; its launcher and the program are other processes).

Needs a built membound (target/debug/membound, as `cargo test` builds it) and ghc with
clash-prelude. Everything goes under target/bench-overhead/.

With two or more CYCLES it also fits wall time = fixed + per-census cost, by least squares
over the medians, for membound and for the program alone: the fit's per-census overhead is
what watching costs as a run grows, apart from the fixed cost of starting membound, its
launcher and writing the results. It fits membound's own CPU time the same way, against the
program's CPU per census: that per-census share is the figure of issue 21's goal (at most 5%).
"""
import argparse
import glob
import os
import re
import resource
import shutil
import statistics
import subprocess
import time

from proc_hwm import peak_rss_until_exit

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MEMBOUND = os.path.join(ROOT, "target/debug/membound")
WORK = os.path.join(ROOT, "target/bench-overhead")
RTS = ["+RTS", "-hT", "-i0", "-A256k", "-V0", "-l", "-olprofile.eventlog",
       "-trts.stats", "--machine-readable", "-RTS"]
NAME = "clash_register_wb_fixed"


def setup(cycles):
    d = os.path.join(WORK, str(cycles))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "scenarios", "haskell"))
    for f in ("RegisterWb.hs", "Membound.hs"):
        shutil.copy(os.path.join(ROOT, "scenarios/haskell", f), os.path.join(d, "scenarios/haskell", f))
    text = open(os.path.join(ROOT, f"scenarios/{NAME}.toml")).read()
    assert '"fixed", "3000"' in text, "the scenario's command changed: update this script"
    text = text.replace('"fixed", "3000"', f'"fixed", "{cycles}"').replace('timeout = "120s"', 'timeout = "30 min"')
    open(os.path.join(d, "scenarios", f"{NAME}.toml"), "w").write(text)
    return d


def membound(d, command, poll_rss=False, binary=MEMBOUND):
    """Runs membound; returns (wall s, CPU s of membound with its children, peak VmHWM).

    The peak RSS is read only when `poll_rss` is set: polling /proc every 2 ms takes a core's
    share of a 2-core machine, so the timed runs do not poll and the RSS comes from runs of
    its own."""
    args = [binary, "--scenarios", os.path.join(d, "scenarios"), "--baselines",
            os.path.join(d, "baselines"), "--work-dir", os.path.join(d, "work")] + command
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "CI": ""})
    hwm = peak_rss_until_exit(p, 0.002) if poll_rss else 0
    err = p.communicate()[1]
    wall = time.time() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"membound {' '.join(command)} failed:\n{err.decode(errors='replace')}")
    # RUSAGE_CHILDREN counts membound with its launcher and the program: the caller subtracts
    # the program's own CPU time.
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), hwm


def program_cpu(run_dir):
    """The program's own CPU seconds, from the `rts.stats` GHC wrote in `run_dir`'s tree."""
    stats = max(glob.glob(os.path.join(run_dir, "**", "rts.stats"), recursive=True), key=os.path.getmtime)
    m = re.search(r'\("total_cpu_seconds", "([0-9.]+)"\)', open(stats).read())
    if not m:
        raise SystemExit(f"{stats}: no total_cpu_seconds")
    return float(m.group(1))


def fit(xs, ys):
    """Least-squares (intercept, slope) of ys over xs."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - slope * mx, slope


def alone(d, cycles):
    builds = os.path.join(d, "work", "build")
    exe = next(os.path.join(builds, b, "out") for b in os.listdir(builds)
               if os.path.isfile(os.path.join(builds, b, "out")))
    run = os.path.join(d, "alone")
    shutil.rmtree(run, ignore_errors=True)
    os.makedirs(run)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    subprocess.run([exe, "fixed", str(cycles)] + RTS, cwd=run, stdout=subprocess.DEVNULL, check=True)
    wall = time.time() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), program_cpu(run)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cycles", nargs="*", type=int, default=[30000, 300000])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--membound", action="append", default=None,
                   help="a membound binary to measure (repeat to compare builds side by side, "
                        "alternating in one run; default target/debug/membound)")
    a = p.parse_args()
    binaries = a.membound or [MEMBOUND]
    print("| membound | cycles | censuses | program alone (wall s) | `membound run` (wall s) | overhead "
          "| overhead by pair: median (quartiles) | membound's own CPU per census | share of the program's CPU "
          "| program's CPU alone / watched | membound's own peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    points = {b: [] for b in binaries}
    for cycles in a.cycles:
        d = setup(cycles)
        membound(d, ["bless", NAME], binary=binaries[0])  # builds, runs, writes the baseline
        mb = {b: [] for b in binaries}
        own = {b: [] for b in binaries}
        watched = {b: [] for b in binaries}
        paired = {b: [] for b in binaries}
        direct, direct_cpu = [], []
        for i in range(a.repeats):
            # ABBA order: a build measured always first (or always after another) would carry
            # whatever the machine does at that place in the cycle.
            for b in (binaries if i % 2 == 0 else binaries[::-1]):
                w, cpu, _ = membound(d, ["run", "--exact", NAME], binary=b)
                pcpu = program_cpu(os.path.join(d, "work"))
                dw, _, dcpu = alone(d, cycles)
                mb[b].append(w)
                paired[b].append(w / dw - 1)
                direct.append(dw)
                direct_cpu.append(dcpu)
                own[b].append(cpu - pcpu)
                watched[b].append(pcpu)
        censuses = sum(1 for line in open(os.path.join(d, "alone", "out.hp")) if line.startswith("BEGIN_SAMPLE")) - 2
        t = statistics.median(direct)
        for b in binaries:
            rss = [membound(d, ["run", "--exact", NAME], poll_rss=True, binary=b)[2] for _ in range(3)]
            m = statistics.median(mb[b])
            own_cpu, program = statistics.median(own[b]), statistics.median(direct_cpu)
            points[b].append((censuses, t, m, own_cpu, program))
            q1, q2, q3 = statistics.quantiles(paired[b], n=4) if len(paired[b]) > 1 else [paired[b][0]] * 3
            print(f"| {os.path.relpath(b, ROOT)} | {cycles:,} | {censuses:,} | {t:.3f} | {m:.3f} | {m - t:+.3f} s ({100 * (m / t - 1):+.1f}%) "
                  f"| {100 * q2:+.1f}% ({100 * q1:+.1f}% to {100 * q3:+.1f}%) "
                  f"| {1e6 * own_cpu / censuses:.1f} µs "
                  f"| {100 * own_cpu / program:.1f}% "
                  f"| {program:.3f} / {statistics.median(watched[b]):.3f} s "
                  f"| {max(rss) / 2**20:.1f} MiB |")
    if len(a.cycles) < 2:
        return
    print()
    print("| membound | fixed cost: program alone / `membound run` | per census: program alone / `membound run` | per-census overhead "
          "| membound's own CPU: fixed / per census | program's CPU per census | per-census share |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for b in binaries:
        xs = [c for c, *_ in points[b]]
        t0, t1 = fit(xs, [p[1] for p in points[b]])
        m0, m1 = fit(xs, [p[2] for p in points[b]])
        # membound's own CPU as a fixed cost (starting, reading totals, writing results) plus
        # a cost per census, the share the goal of issue 21 is about.
        c0, c1 = fit(xs, [p[3] for p in points[b]])
        _, p1 = fit(xs, [p[4] for p in points[b]])
        print(f"| {os.path.relpath(b, ROOT)} | {1e3 * t0:.1f} / {1e3 * m0:.1f} ms | {1e6 * t1:.1f} / {1e6 * m1:.1f} µs "
              f"| {100 * (m1 / t1 - 1):+.1f}% | {1e3 * c0:.1f} ms / {1e6 * c1:.1f} µs | {1e6 * p1:.1f} µs | {100 * c1 / p1:.1f}% |")


if __name__ == "__main__":
    main()
