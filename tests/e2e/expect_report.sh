#!/usr/bin/env bash
# expect_report.sh - one end-to-end case: run a program under `leakgraph run
# --format json`, check leakgraph's exit status, then check facts in the JSON
# report. Each fact is a jq expression that must print true.
#
#   expect_report.sh LEAKGRAPH EXIT [RUN-OPTION...] -- PROGRAM [ARG...] ::: FACT...
#
# Facts see the report as `.`; `$p` is shorthand for .processes[0] and
# `$s` for its summary. Compare facts, not bytes: addresses and pids change.
set -u
leakgraph=$1 want_exit=$2
shift 2
run_opts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do run_opts+=("$1"); shift; done
shift    # --
prog=()
while [ $# -gt 0 ] && [ "$1" != ":::" ]; do prog+=("$1"); shift; done
shift    # :::

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$leakgraph" run --format json --output "$out/report.json" "${run_opts[@]}" -- "${prog[@]}" \
    >"$out/stdout" 2>"$out/stderr"
got_exit=$?

fail=0
if [ "$got_exit" -ne "$want_exit" ]; then
    echo "FAIL: leakgraph exited $got_exit, expected $want_exit"
    fail=1
fi
if ! jq -e . "$out/report.json" >/dev/null 2>&1; then
    echo "FAIL: the report is not valid JSON"
    fail=1
else
    for fact in "$@"; do
        verdict=$(jq -r ".processes[0] as \$p | \$p.summary as \$s | ($fact)" "$out/report.json" 2>&1)
        if [ "$verdict" = "true" ]; then
            echo "ok: $fact"
        else
            echo "FAIL: $fact  (got: $verdict)"
            fail=1
        fi
    done
fi
if [ "$fail" -ne 0 ]; then
    echo "--- program stdout"; cat "$out/stdout"
    echo "--- stderr"; cat "$out/stderr"
    echo "--- report"; cat "$out/report.json"
fi
exit "$fail"
