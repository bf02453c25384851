#!/usr/bin/env bash
# The [build] step of the Verilator RegisterWb scenarios: Verilog from the Clash circuit
# (clash --verilog, RegisterWbTop.hs), then the Verilator model with the C++ testbench
# (verilator --cc --exe --build, tb.cpp), copied to OUT.
# Usage (from scenarios/): verilator/build.sh OUT OUTDIR
# Debug info (-g) so that valgrind massif names the testbench's allocation sites (function and
# file:line); --trace so that the testbench's --trace knob can write a waveform.
# Clash's Verilog trips two lint warnings that are not errors: WIDTH (a 64-bit vector index)
# and UNOPTFLAT (vectors flattened into one wide wire look circular to Verilator).
set -euo pipefail
if [ "$#" != 2 ]; then
  echo "usage: verilator/build.sh OUT OUTDIR" >&2
  exit 2
fi
out=$1
outdir=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$outdir/clash" "$outdir/obj"
clash --verilog -outputdir "$outdir/clash" -odir "$outdir/clash" -hidir "$outdir/clash" \
  "$here/RegisterWbTop.hs"
verilog=$outdir/clash/RegisterWbTop.topEntity/RegisterWbTop.v
if [ ! -f "$verilog" ]; then
  echo "clash wrote no $verilog (hint: is haskell-clash-lib-utils, which ships clash's primitives, installed? see .ci/setup)" >&2
  exit 1
fi
jobs=$(nproc 2>/dev/null || echo 1)
verilator --cc --exe --build -j "$jobs" --trace -Wno-WIDTH -Wno-UNOPTFLAT \
  -CFLAGS "-O2 -g -std=c++17" -LDFLAGS "-g" \
  --Mdir "$outdir/obj" --top-module RegisterWbTop -o tb \
  "$verilog" "$here/tb.cpp" > "$outdir/verilator.log"
cp "$outdir/obj/tb" "$out"
