#!/usr/bin/env python3
"""Live watching of the Clash reproduction, side by side in one run (recorded in BENCHMARKS.md).

    python3 benches/live.py [N] [REPEATS]      (default N = 3000 cycles, 5 repeats; medians)

Measures, with scenarios/haskell/RegisterWb.hs built as the clash scenarios build it:
1. latency at N and 10 N cycles, with the violation attributed (the committed scenario) and
   without (`diagnose = false`): from the moment GHC flushes lazy_unzip's first violating
   census to its `.hp` (a watcher polls the file every 2 ms) to the moment `membound run` has
   exited with its verdict, and the census it stopped at;
2. wall time of lazy_unzip at N and 10 N cycles: `membound run` (stops at the violation),
   the program alone under `+RTS -M2M` (what bittide's CI does, with a bound that `fixed`
   passes), and the program run to completion with membound's census options (the old
   post-mortem);
3. monitoring overhead on the passing `fixed` scenario: `membound run` against the program
   alone with the same RTS options.
Needs a built membound (target/debug/membound) and ghc with clash-prelude.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MEMBOUND = os.path.join(ROOT, "target/debug/membound")
WORK = os.path.join(ROOT, "target/bench-live")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
RTS = ["+RTS", "-hT", "-i0", "-A256k", "-V0", "-l", "-olprofile.eventlog", "-RTS"]


def scenarios(cycles):
    """A scenarios directory holding the clash scenarios at `cycles` cycles."""
    d = os.path.join(WORK, f"scenarios-{cycles}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "haskell"))
    for f in ("RegisterWb.hs", "Membound.hs"):
        shutil.copy(os.path.join(ROOT, "scenarios/haskell", f), os.path.join(d, "haskell", f))
    for v in ("fixed", "lazy_unzip"):
        src = os.path.join(ROOT, f"scenarios/clash_register_wb_{v}.toml")
        text = open(src).read().replace(f'"{v}", "3000"', f'"{v}", "{cycles}"')
        text = text.replace('timeout = "120s"', 'timeout = "30 min"')
        open(os.path.join(d, f"clash_register_wb_{v}.toml"), "w").write(text)
        if v == "lazy_unzip":
            # The same scenario without the profiled reruns that attribute the violation.
            text = text.replace('profile = "ghc-eventlog"', 'profile = "ghc-eventlog"\ndiagnose = false')
            text = "\n".join(l for l in text.splitlines() if not l.startswith(("expect_site", "expect_retainer")))
            open(os.path.join(d, "clash_register_wb_lazy_unzip_plain.toml"), "w").write(text + "\n")
    return d


def membound_run(sdir, name, watch_hp=False):
    """Runs one scenario; returns (wall seconds, result json, census-flush-to-verdict seconds)."""
    work = os.path.join(WORK, "work")
    os.makedirs(os.path.join(WORK, "baselines"), exist_ok=True)
    run_dir = os.path.join(work, "runs", name)
    hp = os.path.join(run_dir, "out.hp")
    flushes = []
    stop = threading.Event()

    def watch():
        seen = 0
        while not stop.is_set():
            try:
                with open(hp, "rb") as f:
                    n = f.read().count(b"\nEND_SAMPLE")
            except OSError:
                n = 0
            now = time.time()
            while seen < n:
                flushes.append(now)
                seen += 1
            time.sleep(0.002)

    shutil.rmtree(run_dir, ignore_errors=True)
    t = threading.Thread(target=watch)
    start = time.time()
    if watch_hp:
        t.start()
    subprocess.run(
        [MEMBOUND, "--scenarios", sdir, "--baselines", os.path.join(WORK, "baselines"),
         "--work-dir", work, "run", "--exact", name],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "CI": ""},
    )
    end = time.time()
    stop.set()
    if watch_hp:
        t.join()
    result = json.load(open(os.path.join(work, "results", f"{name}.json")))
    latency = None
    k = result.get("stopped_at")
    # The .hp's first sample is the RTS's empty one at start: census k is END_SAMPLE k + 2.
    if watch_hp and k is not None and len(flushes) >= k + 2:
        latency = end - flushes[k + 1]
    return end - start, result, latency


def exe():
    """The scenarios' plain build: not the profiled one the attribution of a violation builds
    beside it (its objects are `.p_o`), which runs several times slower."""
    builds = os.path.join(WORK, "work", "build")
    plain = [os.path.join(builds, d) for d in os.listdir(builds)
             if os.path.isfile(os.path.join(builds, d, "out"))
             and not any(f.endswith(".p_o") for f in os.listdir(os.path.join(builds, d)))]
    assert plain, f"no plain build under {builds}"
    return os.path.join(max(plain, key=os.path.getmtime), "out")


def program(args, rts):
    d = os.path.join(WORK, "direct")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    start = time.time()
    r = subprocess.run([exe()] + args + rts, cwd=d, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    return time.time() - start, r.returncode, r.stderr.decode(errors="replace").strip()[-80:]


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    small, large = scenarios(N), scenarios(10 * N)
    membound_run(small, "clash_register_wb_fixed")  # builds (cached) and warms up
    membound_run(small, "clash_register_wb_lazy_unzip")  # and the attribution's profiled build
    print(f"# membound live watching, RegisterWb, N = {N} cycles, median of {REPEATS}")
    for cycles, sdir in ((N, small), (10 * N, large)):
        for name, what in (("clash_register_wb_lazy_unzip", "attributed"),
                           ("clash_register_wb_lazy_unzip_plain", "diagnose = false")):
            lat, stops, walls = [], [], []
            for _ in range(REPEATS):
                w, r, l = membound_run(sdir, name, watch_hp=True)
                walls.append(w)
                if l is not None:
                    lat.append(l)
                stops.append(r.get("stopped_at"))
            print(f"lazy_unzip {cycles:>6} cycles, {what}: first violating census flushed -> "
                  f"verdict median {median(lat) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms; "
                  f"membound run median {median(walls):.2f} s; stopped at census {sorted(set(stops))}")
    for cycles, sdir in ((N, small), (10 * N, large)):
        mb = [membound_run(sdir, "clash_register_wb_lazy_unzip")[0] for _ in range(REPEATS)]
        capped = [program(["lazy_unzip", str(cycles)], ["+RTS", "-M2M", "-RTS"]) for _ in range(REPEATS)]
        # Minutes at 10 N under -i0 (quadratic): once is enough.
        full = [program(["lazy_unzip", str(cycles)], RTS) for _ in range(REPEATS if cycles == N else 1)]
        print(f"lazy_unzip {cycles:>6} cycles: membound run {median(mb):6.2f} s | "
              f"+RTS -M2M {median([c[0] for c in capped]):6.2f} s (exit {capped[0][1]}: {capped[0][2]!r}) | "
              f"to completion with -hT -i0 {median([f[0] for f in full]):6.2f} s")
    for cycles, sdir in ((N, small), (10 * N, large)):
        mb, direct = [], []
        for _ in range(REPEATS):  # alternating, to share the machine's load
            mb.append(membound_run(sdir, "clash_register_wb_fixed")[0])
            direct.append(program(["fixed", str(cycles)],
                                  RTS + ["+RTS", "-trts.stats", "--machine-readable", "-RTS"])[0])
        print(f"overhead on fixed {cycles}: membound run {median(mb):.3f} s vs the program alone "
              f"with the same RTS options {median(direct):.3f} s: "
              f"{median(mb) - median(direct):+.3f} s, {100 * (median(mb) / median(direct) - 1):+.1f}%")
    t0 = time.time()
    subprocess.run(["ghc-pkg", "--simple-output", "field", "clash-prelude", "version"],
                   stdout=subprocess.DEVNULL)
    print(f"of which the requirement check `ghc-pkg field clash-prelude version`: {time.time() - t0:.3f} s")


if __name__ == "__main__":
    main()
