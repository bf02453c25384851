#!/usr/bin/env python3
"""membound's own peak RSS on a long simulator run, side by side across builds (BENCHMARKS.md).

    python3 benches/sim_memory.py [--cycles N] [--sample-every K] [--repeats R] [--membound BIN ...]

scenarios/register_wb.toml at N cycles (default 10,000,000) sampled every K cycles (default
1,000: N/K + 1 samples), run by each membound build given (default target/debug/membound),
alternating, R times each (default 2). Prints the largest `VmHWM` of the membound process
itself (read from /proc every 10 ms; the simulator runs in its probe child, another process)
and the median wall time. Everything goes under target/bench-sim-memory/.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import time

from proc_hwm import peak_rss_until_exit

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WORK = os.path.join(ROOT, "target/bench-sim-memory")


def setup(cycles, every):
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(os.path.join(WORK, "scenarios"))
    text = open(os.path.join(ROOT, "scenarios/register_wb.toml")).read()
    assert "cycles = 1_000_000" in text and 'timeout = "60s"' in text, "scenario changed: update this script"
    text = text.replace("cycles = 1_000_000", f"cycles = {cycles}\nsample_every = {every}")
    text = text.replace('timeout = "60s"', 'timeout = "30 min"')
    open(os.path.join(WORK, "scenarios", "register_wb_long.toml"), "w").write(text)


def run(binary):
    p = subprocess.Popen(
        [binary, "--scenarios", os.path.join(WORK, "scenarios"), "--baselines", os.path.join(WORK, "baselines"),
         "--work-dir", os.path.join(WORK, "work"), "run", "register_wb_long"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "CI": ""})
    start = time.time()
    hwm = peak_rss_until_exit(p, 0.01)
    return hwm, time.time() - start


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--cycles", type=int, default=10_000_000)
    a.add_argument("--sample-every", type=int, default=1000)
    a.add_argument("--repeats", type=int, default=2)
    a.add_argument("--membound", action="append", default=None)
    o = a.parse_args()
    binaries = o.membound or [os.path.join(ROOT, "target/debug/membound")]
    setup(o.cycles, o.sample_every)
    runs = {b: [] for b in binaries}
    for _ in range(o.repeats):
        for b in binaries:
            runs[b].append(run(b))
    print(f"| membound | cycles | samples | membound's own peak RSS | wall (median) |")
    print("|---|---:|---:|---:|---:|")
    for b in binaries:
        print(f"| {os.path.relpath(b, ROOT)} | {o.cycles:,} | {o.cycles // o.sample_every + 1:,} | "
              f"{max(h for h, _ in runs[b]) / 2**20:.1f} MiB | {statistics.median(w for _, w in runs[b]):.1f} s |")


if __name__ == "__main__":
    main()
