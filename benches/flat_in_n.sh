#!/usr/bin/env bash
# Time to verdict of a leaking Clash program at N, 10·N and 100·N cycles when its bound covers
# the whole run (recorded in BENCHMARKS.md): lazy_unzip under the `signal cells bounded`
# invariant of scenarios/clash_register_wb_lazy_unzip.toml with `during = "always"`, and, as the
# check that the bound is fair, `fixed` at 100·N under the same bound (it must hold).
#
#   benches/flat_in_n.sh [N] [REPEATS]     (default 3000, 3)
#
# Needs a built membound (target/debug/membound), ghc with clash-prelude, GNU time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-3000}; repeats=${2:-3}
m=$root/target/debug/membound
out=${CARGO_TARGET_DIR:-$root/target}/bench-flat
rm -rf "$out/s" "$out/b"; mkdir -p "$out/s/haskell" "$out/b"
cp "$root"/scenarios/haskell/*.hs "$out/s/haskell/"
src=$root/scenarios/clash_register_wb_lazy_unzip.toml
for k in 1 10 100; do
  c=$((n * k))
  sed -e "s/\"lazy_unzip\", \"3000\"/\"lazy_unzip\", \"$c\"/" -e 's/^during = "steady"/during = "always"/' \
      -e 's/^timeout = .*/timeout = "30 min"/' "$src" > "$out/s/flat_$c.toml"
done
sed -e "s/\"lazy_unzip\", \"3000\"/\"fixed\", \"$((n * 100))\"/" -e 's/^during = "steady"/during = "always"/' \
    -e '/^expect/d' -e 's/^timeout = .*/timeout = "30 min"/' "$src" > "$out/s/fixed_$((n * 100)).toml"
run() { "$m" --scenarios "$out/s" --baselines "$out/b" --work-dir "$out/w" "$@"; }
run bless '*' > /dev/null 2>&1 || { echo "bless failed: run it by hand to see why" >&2; exit 1; }
echo "| scenario | first violating census | wall s (each run) |"
echo "|---|---:|---|"
for f in "$out"/s/*.toml; do
  name=$(basename "$f" .toml)
  at=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['invariants'])" "$out/b/$name.json")
  times=""
  for _ in $(seq "$repeats"); do
    t=$( { /usr/bin/time -f "%e" "$m" --scenarios "$out/s" --baselines "$out/b" --work-dir "$out/w" run "$name" > /dev/null; } 2>&1 | tail -1)
    times="$times $t"
  done
  echo "| $name | $at | $times |"
done
