#!/usr/bin/env bash
# The Rust simulator against the same RegisterWb system simulated by Clash/GHC, side by side in
# one run: sim/examples/bare.rs (4 slaves, no leak, census on) and scenarios/haskell/RegisterWb.hs
# (`fixed`, GHC 9.0.2 -O1, no profiling), same cycle count, whole processes, alternating.
# Usage: benches/sim_vs_clash.sh [CYCLES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-1000000}
runs=${2:-3}
cargo build -q -p sim --example bare
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
out="$target_dir/bench-clash"
mkdir -p "$out"
ghc -O1 -rtsopts -iscenarios/haskell -outputdir "$out/build" -o "$out/RegisterWb" scenarios/haskell/RegisterWb.hs > /dev/null
now() { date +%s.%N; }
rust=(); clash=()
for _ in $(seq "$runs"); do
  t0=$(now); "$target_dir/debug/examples/bare" "$cycles" > /dev/null; t1=$(now)
  rust+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now); "$out/RegisterWb" fixed "$cycles" > /dev/null; t1=$(now)
  clash+=("$(echo "$t1 - $t0" | bc -l)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mr=$(median "${rust[@]}"); mc=$(median "${clash[@]}")
printf 'cycles %s, runs %s (median wall seconds, whole processes)\n' "$cycles" "$runs"
printf 'Rust sim (census on): %.3f s  (%.0f cycles/s)\n' "$mr" "$(echo "$cycles / $mr" | bc -l)"
printf 'Clash/GHC fixed:      %.3f s  (%.0f cycles/s)\n' "$mc" "$(echo "$cycles / $mc" | bc -l)"
printf 'speed-up:             %.1fx\n' "$(echo "$mc / $mr" | bc -l)"
