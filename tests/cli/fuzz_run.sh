#!/usr/bin/env bash
# fuzz_run.sh - a bounded fuzzing run of the trace reader: seeds a corpus
# with every scenario make_trace knows, then runs the libFuzzer harness for
# a fixed number of inputs (not a fixed time) with a fixed seed.
#
#   fuzz_run.sh FUZZER MAKE_TRACE [RUNS]
set -eu
fuzzer=$1 make_trace=$2 runs=${3:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/corpus"
for s in leak clean possible many weird; do "$make_trace" "$s" "$tmp/corpus/$s.trace"; done
"$fuzzer" -runs="$runs" -seed=1 -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$tmp/" "$tmp/corpus" 2>"$tmp/log" || {
    tail -60 "$tmp/log"
    for a in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-*; do
        [ -e "$a" ] && { echo "finding: $a"; xxd "$a" | head -20; }
    done
    exit 1
}
tail -3 "$tmp/log"
echo "1 passed, 0 failed"
