#!/usr/bin/env bash
# real_program.sh - the reporting extras on a real trace: a sample run under
# the real shim (PIE executable and shared libraries at random bases, real
# build ids), then one fact about SARIF, check, baselines, graph or diff.
#   real_program.sh LEAKGRAPH WORKDIR record SAMPLE [ARG...]
#   real_program.sh LEAKGRAPH WORKDIR FACT VALIDATOR SCHEMA SOURCE_ROOT
# `record` runs the sample once (ctest fixture); each FACT reads its trace.
set -euo pipefail
lg=$1 work=$2 what=$3
shift 3
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ "$what" = record ]; then
    rm -rf "$work" && mkdir -p "$work"
    cd "$work"
    "$lg" run --fail-on none --keep-traces "$work" -- "$@" >/dev/null 2>"$work/run.err" ||
        fail "leakgraph run: $(cat "$work/run.err")"
    ls "$work"/*.trace >/dev/null || fail "no trace in $work"
    exit 0
fi

trace=$(ls "$work"/*.trace | head -1)
cd "$work"
case "$what" in
sarif_valid)
    "$lg" report --format sarif --output "$work/$what.sarif" "$trace" || true
    /usr/bin/python3 "$1" "$2" "$work/$what.sarif" || fail "SARIF does not validate"
    ;;
sarif_points_at_source)
    # run from the source tree's root: the uri is relative to it
    cd "$3"
    "$lg" report --format sarif --output "$work/$what.sarif" "$trace" || true
    jq -e '.runs[0].results | map(select(.ruleId == "garbage-cycle")) | length == 1 and
           (.[0].locations[0].physicalLocation | .artifactLocation.uri == "samples/cycle_ab.c"
            and .artifactLocation.uriBaseId == "SRCROOT" and .region.startLine > 0)' \
        "$work/$what.sarif" >/dev/null || fail "$(jq -c '.runs[0].results[0].locations' "$work/$what.sarif")"
    ;;
check_fails)
    rc=0
    "$lg" check "$trace" >"$work/$what.txt" || rc=$?
    [ $rc -eq 1 ] || fail "check exited $rc, want 1: $(cat "$work/$what.txt")"
    grep -q '^leak: garbage cycle of 2 objects, .*: A\.b -> B, B\.a -> A at A_new (.*samples/cycle_ab\.c:[0-9]*)' \
        "$work/$what.txt" || fail "$(cat "$work/$what.txt")"
    ;;
baseline_passes)
    "$lg" check --write-baseline "$work/base.json" "$trace" >/dev/null
    "$lg" check --baseline "$work/base.json" "$trace" >"$work/$what.txt" ||
        fail "known leak failed: $(cat "$work/$what.txt")"
    jq -e '.leaks | map(.kind) == ["garbage_cycle"]' "$work/base.json" >/dev/null ||
        fail "$(cat "$work/base.json")"
    ;;
memcheck_suppression_passes)
    printf '{\n   cycle_ab_demo\n   Memcheck:Leak\n   match-leak-kinds: definite\n   fun:malloc\n   ...\n   fun:A_new\n   fun:demo\n}\n' \
        >"$work/vg.supp"
    "$lg" check --suppressions "$work/vg.supp" "$trace" >"$work/$what.txt" ||
        fail "suppressed leak failed: $(cat "$work/$what.txt")"
    grep -q 'suppressed: 144 bytes in 2 blocks' "$work/$what.txt" || fail "$(cat "$work/$what.txt")"
    ;;
graph_fields)
    "$lg" graph "$trace" --output "$work/g.dot"
    [ "$(grep -c -e '\[label="a"\]' -e '\[label="b"\]' "$work/g.dot")" = 2 ] || fail "$(cat "$work/g.dot")"
    ;;
diff_self_no_change)
    "$lg" diff "$trace" "$trace" >"$work/diff.txt"
    grep -q '^by allocating stack: no change$' "$work/diff.txt" || fail "$(cat "$work/diff.txt")"
    ;;
*)
    fail "unknown fact $what"
    ;;
esac
