#!/usr/bin/env bash
# What `membound explore` costs against the runs it makes: for each Clash RegisterWb variant
# (its length written {n}), the wall time of `membound explore NAME --lengths N,4N` beside the
# wall time of the same program run alone at N and at 4N with the options explore's runs add
# (+RTS -hT -i0 -A256k -V0 -l), measured in the same loop, REPS times each, medians. For a
# leaking variant explore also attributes its top growing label (a profiled rerun at N; the
# profiled build is made once, before the timing, by the first exploration at tiny lengths).
#
#   benches/explore.sh [N] [REPS]        e.g. benches/explore.sh 3000 3
set -euo pipefail
n=${1:-3000}
reps=${2:-3}
cd "$(dirname "$0")/.."
cargo build -q -p membound
mb=$PWD/target/debug/membound
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/scenarios/haskell"
cp scenarios/haskell/*.hs "$tmp/scenarios/haskell/"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
echo "| variant | lengths | explore (s) | program alone at N + 4N (s) | explore / runs | verdict |"
echo "|---|---|---:|---:|---:|---|"
for v in fixed lazy_unzip lazy_record_update unshared_iterate; do
  sed -e "s/\"$v\", \"3000\"\]/\"$v\", \"{n}\"]\nlength = $n/" "scenarios/clash_register_wb_$v.toml" \
    >"$tmp/scenarios/x_$v.toml"
  # Build once (cached by input hash), outside the timing.
  "$mb" --scenarios "$tmp/scenarios" --work-dir "$tmp/work" explore "x_$v" --lengths 10,40 >/dev/null 2>&1 || true
  exe=$(ls -d "$tmp"/work/build/*/out | head -1)
  ex=(); alone=(); verdict=""
  for _ in $(seq "$reps"); do
    t0=$(now)
    if "$mb" --scenarios "$tmp/scenarios" --work-dir "$tmp/work" explore "x_$v" --lengths "$n,$((4 * n))" >"$tmp/out.txt" 2>&1; then
      verdict="no leak"
    else
      verdict="leak: $(grep -m1 -o 'leak suspected: `[^`]*`' "$tmp/out.txt" | sed 's/leak suspected: //')"
    fi
    t1=$(now)
    (cd "$tmp" && "$exe" "$v" "$n" +RTS -hT -i0 -A256k -V0 -l -RTS >/dev/null && "$exe" "$v" "$((4 * n))" +RTS -hT -i0 -A256k -V0 -l -RTS >/dev/null)
    t2=$(now)
    ex+=("$(echo "$t1 - $t0" | bc)"); alone+=("$(echo "$t2 - $t1" | bc)")
  done
  e=$(printf '%s\n' "${ex[@]}" | median); a=$(printf '%s\n' "${alone[@]}" | median)
  echo "| $v | $n, $((4 * n)) | $e | $a | $(echo "scale=2; $e / $a" | bc) | $verdict |"
done
