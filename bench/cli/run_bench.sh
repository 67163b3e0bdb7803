#!/usr/bin/env bash
# run_bench.sh - times `leakgraph report --format json` on a large synthetic
# trace and prints the wall time and peak RSS (GNU time -v).
#
#   bench/cli/run_bench.sh BUILD_DIR [BLOCKS [EDGES]]
#
# BUILD_DIR holds cli/leakgraph and bench/cli/gen_big_trace (build both:
# cmake --build BUILD_DIR --target leakgraph gen_big_trace). The trace (about
# 0.8 GB at the default 10M blocks / 20M edges) goes to $TMPDIR and is
# removed afterwards. Run it once: the machine is shared.
set -eu
build=$1 blocks=${2:-10000000} edges=${3:-20000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trace=$tmp/big.trace

/usr/bin/time -f "generate: %e s, peak RSS %M KiB" \
    "$build/bench/cli/gen_big_trace" "$trace" "$blocks" "$edges"
ls -l "$trace" | awk '{printf "trace size: %.0f MB\n", $5 / 1e6}'
/usr/bin/time -v "$build/cli/leakgraph" report --format json "$trace" \
    >"$tmp/report.json" 2>"$tmp/time.txt" || true
grep -E "Elapsed \(wall clock\)|Maximum resident set size|Exit status" "$tmp/time.txt"
jq -c '.processes[0].summary' "$tmp/report.json"
jq -r '"records: \(.processes[0].leaks | length)"' "$tmp/report.json"
