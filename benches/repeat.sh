#!/usr/bin/env bash
# Runs the scenario suite N times (default 50) and counts the runs that failed: a metric the
# harness calls exact must repeat bit for bit, so any failure here is a determinism bug.
#
#   benches/repeat.sh [N] [FILTER]      e.g. benches/repeat.sh 50 clash
#
# Builds once first; each run's output is kept under target/repeat/ for the failures.
set -euo pipefail
n=${1:-50}
filter=${2:-}
cd "$(dirname "$0")/.."
out=target/repeat
rm -rf "$out" && mkdir -p "$out"
cargo test --test scenarios --no-run >/dev/null 2>&1
failed=0
start=$(date +%s)
for i in $(seq 1 "$n"); do
  if ! cargo test --test scenarios ${filter:+"$filter"} >"$out/run-$i.txt" 2>&1; then
    failed=$((failed + 1))
    echo "run $i failed: $(grep -E '^test .*FAILED' "$out/run-$i.txt" | tr '\n' ' ')"
  fi
done
echo "repeat: $failed of $n runs failed (cargo test --test scenarios ${filter}), $(( $(date +%s) - start )) s"
[ "$failed" -eq 0 ]
