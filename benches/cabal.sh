#!/usr/bin/env bash
# What a cabal build costs membound's example project (examples/clash-cabal) and what membound
# adds to a cabal scenario's run. Offline cabal: CABAL_DIR is a fresh directory with an empty
# config. Each figure is the median of N runs (wall clock, seconds).
#   cold build:   `cabal build test:unittests` after removing dist-newstyle/ (the whole project)
#   no-op build:  `cabal build test:unittests` with nothing changed, and `cabal list-bin`
#   program:      the test-suite (`-p Fixed`) run directly with the RTS options membound adds
#   membound:     `membound run counter_fixed`: no-op build check, list-bin, the run, the
#                 comparison with the baseline; added = membound - program
# Usage: benches/cabal.sh [N]   (from the workspace root, after `cargo build --release -p membound`)
set -euo pipefail
n=${1:-5}
bin=$PWD/target/release/membound
[ -x "$bin" ] || bin=$PWD/target/debug/membound
project=$PWD/examples/clash-cabal
export CABAL_DIR=$(mktemp -d)
touch "$CABAL_DIR/config"
work=$(mktemp -d)
run_dir=$(mktemp -d)
trap 'rm -rf "$CABAL_DIR" "$work" "$run_dir"' EXIT
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
time_of() { local s e; s=$(now); "$@" >/dev/null 2>&1; e=$(now); echo "$e - $s" | bc; }

cd "$project"
cold=$(for _ in $(seq "$n"); do rm -rf dist-newstyle; time_of cabal build test:unittests; done | median)
noop=$(for _ in $(seq "$n"); do time_of cabal build test:unittests; done | median)
listbin=$(for _ in $(seq "$n"); do time_of cabal list-bin test:unittests; done | median)
exe=$(cabal list-bin test:unittests)
cd "$run_dir"
program=$(for _ in $(seq "$n"); do
  time_of env MEMBOUND_MARKERS=markers "$exe" -p Fixed +RTS -hT -i0 -A256k -V0 -l -olprofile.eventlog -trts.stats --machine-readable -RTS
done | median)
cd "$project"
"$bin" --work-dir "$work" run counter_fixed >/dev/null  # the work directory's first use
mb=$(for _ in $(seq "$n"); do time_of "$bin" --work-dir "$work" run counter_fixed; done | median)
printf 'cold cabal build (test:unittests, whole project) %6.2f s\n' "$cold"
printf 'no-op cabal build                                 %6.2f s\n' "$noop"
printf 'cabal list-bin                                    %6.2f s\n' "$listbin"
printf 'program alone (-p Fixed, membound RTS options)    %6.2f s\n' "$program"
printf 'membound run counter_fixed                        %6.2f s\n' "$mb"
printf 'added by membound (incl. no-op build, list-bin)   %6.2f s\n' "$(echo "$mb - $program" | bc)"
