#!/usr/bin/env bash
# massif's slowdown and the RSS sampler's cost, side by side in one run (runs alternate, so they
# share the machine's load; medians of wall seconds of whole processes).
#  1. scenarios/c/scoreboard.c (cc -g -O1), `leaky N`: natively; under valgrind massif with its
#     defaults; under massif with membound's options (source::massif::MASSIF_OPTIONS) — what
#     every-snapshot-detailed, every-site, bytes-as-time cost on top of massif itself, and the
#     size of the file each writes.
#  2. The RSS sampler: membound's own CPU time (user + system, the launcher and the program
#     excluded by measuring a `sleep`) over a 3 s `profile = "rss"` run at 50 ms and at 5 ms.
# Usage: benches/massif_overhead.sh [TRANSACTIONS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
cargo build -q -p membound --bin membound
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -g -O1 -o "$work/scoreboard" scenarios/c/scoreboard.c
opts=(-q --tool=massif --detailed-freq=1 --threshold=0 --time-unit=B --max-snapshots=100)
now() { date +%s.%N; }
native=(); defaults=(); ours=()
for _ in $(seq "$runs"); do
  t0=$(now); "$work/scoreboard" leaky "$n" > /dev/null; t1=$(now)
  native+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now); valgrind -q --tool=massif --massif-out-file="$work/defaults.out" "$work/scoreboard" leaky "$n" > /dev/null; t1=$(now)
  defaults+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now); valgrind "${opts[@]}" --massif-out-file="$work/ours.out" "$work/scoreboard" leaky "$n" > /dev/null; t1=$(now)
  ours+=("$(echo "$t1 - $t0" | bc -l)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mn=$(median "${native[@]}"); md=$(median "${defaults[@]}"); mo=$(median "${ours[@]}")
printf 'scoreboard leaky %s, %s runs (median wall seconds)\n' "$n" "$runs"
printf 'native:                   %.3f s\n' "$mn"
printf 'massif, its defaults:     %.3f s  (%.1fx native)  massif.out %s bytes, %s detailed of %s snapshots\n' "$md" "$(echo "$md / $mn" | bc -l)" "$(stat -c %s "$work/defaults.out")" "$(grep -c 'heap_tree=\(detailed\|peak\)' "$work/defaults.out")" "$(grep -c '^snapshot=' "$work/defaults.out")"
printf 'massif, membound options: %.3f s  (%.1fx native)  massif.out %s bytes, %s detailed of %s snapshots\n' "$mo" "$(echo "$mo / $mn" | bc -l)" "$(stat -c %s "$work/ours.out")" "$(grep -c 'heap_tree=\(detailed\|peak\)' "$work/ours.out")" "$(grep -c '^snapshot=' "$work/ours.out")"

mkdir -p "$work/scenarios" "$work/baselines"
for interval in 50ms 5ms; do
  cat > "$work/scenarios/sleep_$interval.toml" <<TOML
description = "rss sampler cost"
[run]
command = ["sleep", "3"]
profile = "rss"
sample_interval = "$interval"
[[invariant]]
name = "bounded"
metric = "rss"
max = "64 MiB"
TOML
done
python3 - "$target_dir/debug/membound" "$work" "$runs" <<'PY'
import os, resource, subprocess, sys, time, statistics
exe, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
cpu = {"50ms": [], "5ms": []}
for _ in range(runs):
    for interval in cpu:
        # membound is the only child: its CPU (and its launcher's, which only waits) is what
        # the children's rusage adds; `sleep` itself uses ~1 ms.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([exe, "--scenarios", f"{work}/scenarios", "--baselines", f"{work}/baselines",
                        "--work-dir", f"{work}/w", "bless", f"sleep_{interval}"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[interval].append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
for interval, v in cpu.items():
    m = statistics.median(v)
    print(f"rss sampler, every {interval:>4}: membound CPU {m*1000:.0f} ms over a 3 s run ({m/3*100:.2f}% of a core)")
PY
