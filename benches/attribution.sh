#!/usr/bin/env bash
# What GHC attribution (issue #10) costs and whether it names each Clash culprit's function.
# For each culprit scenario: `membound diagnose` in a fresh work directory (cold: the plain and
# the profiled build are compiled), then again (warm: both cached). "diagnosis" is the time the
# attribution itself reports (profiled build + reruns); "run" is the rest (the plain run).
# Usage: benches/attribution.sh   (from the workspace root, after `cargo build -p membound`)
set -euo pipefail
bin=target/debug/membound
for v in lazy_unzip lazy_record_update unshared_iterate; do
  name=clash_register_wb_$v
  work=$(mktemp -d)
  for pass in cold warm; do
    start=$(date +%s.%N)
    out=$($bin --scenarios scenarios --baselines baselines --work-dir "$work" diagnose "$name" 2>/dev/null)
    end=$(date +%s.%N)
    took=$(grep -o 'took [0-9.]* s' <<<"$out" | head -1 | awk '{print $2}')
    wall=$(echo "$end - $start" | bc)
    site=$(grep -E '^expect_site' "scenarios/$name.toml" | cut -d'"' -f2 || true)
    retainer=$(grep -E '^expect_retainer' "scenarios/$name.toml" | cut -d'"' -f2 || true)
    named_r=no; named_s=-
    [ -n "$retainer" ] && grep -q "\`$retainer" <<<"$out" && named_r=yes
    if [ -n "$site" ]; then named_s=no; grep -q "\`$site" <<<"$out" && named_s=yes; fi
    printf '%-38s %-5s wall %6.1f s  diagnosis %5s s  run %5.1f s  retainer %-10s %-4s site %-16s %s\n' \
      "$name" "$pass" "$wall" "$took" "$(echo "$wall - $took" | bc)" "${retainer:--}" "$named_r" "${site:--}" "$named_s"
  done
  rm -rf "$work"
done
