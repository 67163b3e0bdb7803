#!/usr/bin/env bash
# fuzz_run.sh - a bounded fuzzing run of the trace reader: seeds a corpus
# with every scenario make_trace knows and the real traces of CORPUS_DIR
# (tests/cli/corpus: traces the shim wrote for samples and test programs),
# then runs the libFuzzer harness for a fixed number of inputs (not a fixed
# time) with a fixed seed. Prints libFuzzer's last lines ("Done N runs").
#
#   fuzz_run.sh FUZZER MAKE_TRACE [RUNS] [CORPUS_DIR]
#
# ctest runs 100000 inputs; the long run (issue 6) is
#   nice -n 19 tests/cli/fuzz_run.sh build/tests/cli/fuzz_trace_read \
#       build/tests/cli/lg_make_trace 10000000 tests/cli/corpus
# FUZZ_SEED=N (default 1) picks the seed, so runs can go side by side.
# FUZZ_FORK=N runs N fuzzing processes in one campaign (libFuzzer -fork):
# RUNS counts the executions of all of them.
set -eu
fuzzer=$1 make_trace=$2 runs=${3:-20000} seeds=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/corpus"
for s in leak clean possible many weird epochs; do "$make_trace" "$s" "$tmp/corpus/$s.trace"; done
nreal=0
if [ -n "$seeds" ]; then
    for f in "$seeds"/*.trace; do
        [ -e "$f" ] || continue
        cp "$f" "$tmp/corpus/" && nreal=$((nreal + 1))
    done
    [ "$nreal" -gt 0 ] || { echo "no real traces in $seeds"; exit 1; }
fi
echo "corpus: 6 synthetic traces, $nreal real traces"
fork=""
[ -n "${FUZZ_FORK:-}" ] && fork="-fork=$FUZZ_FORK"
# shellcheck disable=SC2086
"$fuzzer" $fork -runs="$runs" -seed="${FUZZ_SEED:-1}" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$tmp/" "$tmp/corpus" 2>"$tmp/log" || {
    tail -60 "$tmp/log"
    for a in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-*; do
        [ -e "$a" ] || continue
        echo "finding: $a"; xxd "$a" | head -20
        [ -n "${FUZZ_KEEP_FINDINGS:-}" ] && cp "$a" "$FUZZ_KEEP_FINDINGS/"
    done
    exit 1
}
grep -E '^(Done|stat::|INFO: fuzzed for)' "$tmp/log" || true
tail -3 "$tmp/log"
echo "1 passed, 0 failed"
