#!/usr/bin/env python3
"""Monitoring overhead of `membound run` on a passing Clash scenario, side by side.

    python3 benches/overhead.py [CYCLES ...] [--repeats R]    # default: 30000 300000, R = 7

For each CYCLES: `clash_register_wb_fixed` at that many cycles, blessed once into a scratch
baseline directory (so each measured run is a passing run compared with its baseline, as on a
pull request), then R alternating pairs: `membound run` (build cached, results and report
written) against the same program alone with the same RTS options in a fresh directory. Prints
wall-time medians and the overhead, `membound run`'s own CPU time (user + system, its
children excluded) per census, and its own peak RSS (`VmHWM` of the membound process alone,
read from /proc every 2 ms until it exits, in 3 more runs apart from the timed ones, whose
wall time the polling would disturb; its launcher and the program are other processes).

Needs a built membound (target/debug/membound, as `cargo test` builds it) and ghc with
clash-prelude. Everything goes under target/bench-overhead/.
"""
import argparse
import os
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
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cycles", nargs="*", type=int, default=[30000, 300000])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--membound", action="append", default=None,
                   help="a membound binary to measure (repeat to compare builds side by side, "
                        "alternating in one run; default target/debug/membound)")
    a = p.parse_args()
    binaries = a.membound or [MEMBOUND]
    print("| membound | cycles | censuses | program alone (wall s) | `membound run` (wall s) | overhead | membound's own CPU per census | membound's own peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for cycles in a.cycles:
        d = setup(cycles)
        membound(d, ["bless", NAME], binary=binaries[0])  # builds, runs, writes the baseline
        mb = {b: [] for b in binaries}
        own = {b: [] for b in binaries}
        direct = []
        for _ in range(a.repeats):
            for b in binaries:
                w, cpu, _ = membound(d, ["run", "--exact", NAME], binary=b)
                dw, dcpu = alone(d, cycles)
                mb[b].append(w)
                direct.append(dw)
                own[b].append(cpu - dcpu)
        censuses = sum(1 for line in open(os.path.join(d, "alone", "out.hp")) if line.startswith("BEGIN_SAMPLE")) - 2
        t = statistics.median(direct)
        for b in binaries:
            rss = [membound(d, ["run", "--exact", NAME], poll_rss=True, binary=b)[2] for _ in range(3)]
            m = statistics.median(mb[b])
            print(f"| {os.path.relpath(b, ROOT)} | {cycles:,} | {censuses:,} | {t:.3f} | {m:.3f} | {m - t:+.3f} s ({100 * (m / t - 1):+.1f}%) "
                  f"| {1e6 * statistics.median(own[b]) / censuses:.1f} µs | {max(rss) / 2**20:.1f} MiB |")


if __name__ == "__main__":
    main()
