#!/usr/bin/env bash
# Harness overhead, side by side in one run: the bare RegisterWb simulation (sim/examples/bare.rs:
# jemalloc, census on, no harness) against the same cycles as a membound scenario (probe child,
# counting allocator, a sample with census snapshot, jemalloc stats and RSS every 1000 cycles,
# invariants checked by the parent). Both are whole processes built with the profile `cargo test`
# uses; runs alternate to share the machine's load.
# Usage: benches/harness_overhead.sh [CYCLES] [RUNS] [SAMPLE_EVERY]   (SAMPLE_EVERY: omit for the default)
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-2000000}
runs=${2:-5}
sample_every=${3:-}
cargo build -q -p sim --example bare
cargo build -q -p membound --bin membound
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
work=$(mktemp -d)
mkdir -p "$work/scenarios" "$work/baselines"
if [ -n "$sample_every" ]; then every="sample_every = $sample_every"; else every=""; fi
sed -e "s/^cycles = .*/cycles = $cycles/" -e "s/^sample_every = .*/$every/" scenarios/register_wb.toml > "$work/scenarios/overhead.toml"
now() { date +%s.%N; }
bare=(); harness=()
for _ in $(seq "$runs"); do
  t0=$(now); "$target_dir/debug/examples/bare" "$cycles" > /dev/null; t1=$(now)
  bare+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now)
  "$target_dir/debug/membound" --scenarios "$work/scenarios" --baselines "$work/baselines" --work-dir "$work/w" run > /dev/null || true
  t1=$(now)
  harness+=("$(echo "$t1 - $t0" | bc -l)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mb=$(median "${bare[@]}"); mh=$(median "${harness[@]}")
printf 'cycles %s, sample_every %s, runs %s (median wall seconds, whole processes)\n' "$cycles" "${sample_every:-default}" "$runs"
printf 'bare simulation:   %.3f s  (%.0f cycles/s)\n' "$mb" "$(echo "$cycles / $mb" | bc -l)"
printf 'membound scenario: %.3f s  (%.0f cycles/s)\n' "$mh" "$(echo "$cycles / $mh" | bc -l)"
printf 'harness overhead:  %+.1f%%\n' "$(echo "($mh / $mb - 1) * 100" | bc -l)"
rm -rf "$work"
