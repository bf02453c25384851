#!/usr/bin/env bash
# `membound profile` (the summary, and `--json`) against `ghc-events show` on the same ≥ 200 MB
# GHC eventlog, and on one 10× smaller to show that membound's peak RSS does not grow with the
# log (recorded in BENCHMARKS.md, "`membound profile` on a 222 MB eventlog").
#
#   benches/profile_vs_ghc_events.sh [CYCLES] [ROUNDS]     (default 900000, 3)
#
# The logs are the Clash RegisterWb `fixed` run for CYCLES and CYCLES/10 cycles, built as
# scenarios/clash_register_wb_fixed.toml's [build] does, under `+RTS -hT -i0 -A256k -V0 -l`
# (~30 s for 900,000 cycles; an existing log is reused). The three commands run alternating, in
# the same session, ROUNDS times per log, page cache warm; the table gives each one's median
# wall time and median peak RSS. membound is the dev build (`cargo build -p membound`: the
# profile `cargo test` uses, opt-level 3 for the harness).
#
# Needs ghc (9.0.2 was used) with clash-prelude, ghc-events, and GNU time (/usr/bin/time; a
# bench tool only, `apt-get install time` if it is missing, not a dependency of anything).
# Everything it builds or writes goes to $CARGO_TARGET_DIR (default target/)/bench-profile.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
out=$target/bench-profile
cycles=${1:-900000}
rounds=${2:-3}
mkdir -p "$out"
[ -x /usr/bin/time ] || { echo "GNU time is missing (apt-get install time)" >&2; exit 1; }

echo "== building RegisterWb" >&2
(cd "$root/scenarios" && ghc -O1 -eventlog -rtsopts -ihaskell -outputdir "$out/obj" -o "$out/register_wb" \
    haskell/RegisterWb.hs >&2)

log_for() { echo "$out/rwb-fixed-$1.eventlog"; }
for c in "$cycles" $((cycles / 10)); do
    log=$(log_for "$c")
    if [ ! -s "$log" ]; then
        echo "== generating $log" >&2
        (cd "$out" && ./register_wb fixed "$c" +RTS -hT -i0 -A256k -V0 -l "-ol$log.tmp" -RTS > /dev/null)
        mv "$log.tmp" "$log"
    fi
done

echo "== building membound" >&2
(cd "$root" && cargo build -p membound >&2)
membound=$target/debug/membound

# `measure NAME CMD...`: one run of CMD, stdout to /dev/null; appends "wall_s rss_kb" to
# $out/NAME.runs.
measure() {
    local name=$1; shift
    /usr/bin/time -f "%e %M" -o "$out/$name.time" "$@" > /dev/null
    cat "$out/$name.time" >> "$out/$name.runs"
}

# The median of column $2 of file $1.
median() { sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }

table() {
    local c=$1 log size
    log=$(log_for "$c")
    size=$(stat -c %s "$log")
    rm -f "$out"/*.runs
    cat "$log" > /dev/null # every command reads from the page cache
    for _ in $(seq "$rounds"); do
        measure summary "$membound" profile "$log"
        measure json "$membound" profile --json "$log"
        measure ghc-events ghc-events show "$log"
    done
    local ge s j
    ge=$(median "$out/ghc-events.runs" 1)
    s=$(median "$out/summary.runs" 1)
    j=$(median "$out/json.runs" 1)
    local censuses
    censuses=$("$membound" profile "$log" | sed -n 's/^samples: \([0-9]*\) .*/\1/p')
    cat <<EOF

$(basename "$log"): $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }') MiB), $censuses censuses; medians of $rounds alternating runs.

| command | wall s | peak RSS MiB | vs \`ghc-events show\` |
|---|---:|---:|---:|
| \`membound profile\` (summary) | $s | $(awk -v k="$(median "$out/summary.runs" 2)" 'BEGIN { printf "%.1f", k / 1024 }') | $(awk -v a="$ge" -v b="$s" 'BEGIN { printf "%.0f×", a / b }') |
| \`membound profile --json > /dev/null\` | $j | $(awk -v k="$(median "$out/json.runs" 2)" 'BEGIN { printf "%.1f", k / 1024 }') | $(awk -v a="$ge" -v b="$j" 'BEGIN { printf "%.0f×", a / b }') |
| \`ghc-events show > /dev/null\` | $ge | $(awk -v k="$(median "$out/ghc-events.runs" 2)" 'BEGIN { printf "%.1f", k / 1024 }') | 1× |

Every run (wall s, peak RSS KB): summary $(tr '\n' ';' < "$out/summary.runs"), --json $(tr '\n' ';' < "$out/json.runs"), ghc-events $(tr '\n' ';' < "$out/ghc-events.runs").
EOF
}

echo "machine load before: $(cut -d' ' -f1-3 /proc/loadavg)"
table "$cycles"
table $((cycles / 10))
echo
echo "machine load after: $(cut -d' ' -f1-3 /proc/loadavg)"
