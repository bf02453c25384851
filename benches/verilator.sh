#!/usr/bin/env bash
# Cycles per second of the same RegisterWb under three simulators, side by side in one run:
# - Verilator: the Verilog that clash --verilog makes of scenarios/verilator/RegisterWbTop.hs,
#   with the C++ testbench scenarios/verilator/tb.cpp (`fixed`), built by
#   scenarios/verilator/build.sh (verilator -O3 default, C++ -O2 -g, --trace compiled in, off);
# - the Rust simulator: sim/examples/bare.rs (4 slaves, no leak, census on, the profile
#   `cargo test` uses), as in benches/sim_vs_clash.sh;
# - Clash/GHC: scenarios/haskell/RegisterWb.hs `fixed` (GHC 9.0.2 -O1, no profiling);
# plus the Verilator model under valgrind massif (the `profile = "massif"` scenarios' setting),
# for massif's slowdown. Same cycle count, whole processes, alternating, medians of RUNS; wall
# and CPU (user+sys) seconds from GNU time. Checks first that the Verilator testbench prints
# the same transactions/reads/errs/checksum/lookahead line as the Clash program.
# Usage: benches/verilator.sh [CYCLES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-1000000}
runs=${2:-3}
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
out="$target_dir/bench-verilator"
mkdir -p "$out"
cargo build -q -p sim --example bare
ghc -O1 -rtsopts -iscenarios/haskell -outputdir "$out/ghc" -o "$out/RegisterWb" scenarios/haskell/RegisterWb.hs > /dev/null
(cd scenarios && bash verilator/build.sh "$out/tb" "$out/verilator" > /dev/null)

vl_line=$("$out/tb" fixed "$cycles" | sed -n 2p)
clash_line=$("$out/RegisterWb" fixed "$cycles" | sed -n 3p)
if [ "$vl_line" != "$clash_line" ]; then
  printf 'outputs differ:\n  verilator: %s\n  clash:     %s\n' "$vl_line" "$clash_line" >&2
  exit 1
fi

# Runs a command under GNU time, appends "wall cpu" to the named array.
measure() {
  local -n into=$1
  shift
  /usr/bin/time -o "$out/time" -f '%e %U %S' "$@" > /dev/null 2> /dev/null
  into+=("$(awk 'NF == 3 {printf "%s %.2f", $1, $2 + $3; ok = 1} END {exit !ok}' "$out/time")")
}
vl=(); rust=(); clash=(); massif=()
for _ in $(seq "$runs"); do
  measure vl "$out/tb" fixed "$cycles"
  measure rust "$target_dir/debug/examples/bare" "$cycles"
  measure clash "$out/RegisterWb" fixed "$cycles"
  measure massif valgrind --tool=massif --massif-out-file=/dev/null "$out/tb" fixed "$cycles"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
row() {
  local name=$1
  shift
  local walls=() cpus=()
  for m in "$@"; do
    walls+=("${m% *}")
    cpus+=("${m#* }")
  done
  local w c
  w=$(median "${walls[@]}")
  c=$(median "${cpus[@]}")
  printf '| %s | %.2f | %.0f | %.2f | %.0f |\n' "$name" "$w" "$(echo "$cycles / $w" | bc -l)" "$c" "$(echo "$cycles / $c" | bc -l)"
}
printf 'RegisterWb, %s cycles, seed 7, median of %s runs (whole processes, alternating)\n' "$cycles" "$runs"
printf 'outputs identical (Verilator and Clash): %s\n\n' "$vl_line"
printf '| simulator | wall s | cycles/s (wall) | CPU s | cycles/s (CPU) |\n|---|---:|---:|---:|---:|\n'
row "Verilator 5.006 (clash --verilog)" "${vl[@]}"
row "Rust sim (census on)" "${rust[@]}"
row "Clash/GHC fixed" "${clash[@]}"
row "Verilator under valgrind massif" "${massif[@]}"
