#!/bin/sh
# run_case.sh - one end-to-end case of the shim: runs PROGRAM under the shim
# (LD_PRELOAD and LEAKGRAPH_OUTPUT come from the test's ENVIRONMENT
# property; LEAKGRAPH_OUTPUT must contain %p), then checks the program's own
# trace with trace_dump.
#   run_case.sh DUMP PROGRAM [ARGS...] -- [CHECK...]
# Also checks that the program's exit status is EXPECT_STATUS (default 0).
set -u
dump=$1; shift
prog=$1; shift
args=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do args="$args $1"; shift; done
[ $# -gt 0 ] && shift
pattern=${LEAKGRAPH_OUTPUT:?LEAKGRAPH_OUTPUT must be set}
dir=$(dirname "$pattern")
mkdir -p "$dir"
rm -f "$(echo "$pattern" | sed 's/%p.*//')"*
# shellcheck disable=SC2086
"$prog" $args &
pid=$!
wait $pid
status=$?
if [ "$status" != "${EXPECT_STATUS:-0}" ]; then
    echo "run_case: $prog exited $status, expected ${EXPECT_STATUS:-0}" >&2
    exit 1
fi
trace=$(echo "$pattern" | sed "s/%p/$pid/")
if [ ! -f "$trace" ]; then
    echo "run_case: no trace $trace" >&2
    ls "$dir" >&2
    exit 1
fi
env -u LD_PRELOAD "$dump" "$trace" "$@"
