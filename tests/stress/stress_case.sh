#!/bin/sh
# stress_case.sh - one case of the shim's stress matrix (tests/stress and
# bench/soak.sh): runs PROGRAM ARGS without the shim and under it, each
# bounded by a timeout (a deadlock fails the case, it never hangs CI),
# checks that output and exit status are the same, then checks the traces
# with trace_dump (tests/preload) and, where the report is the thing to
# check, `leakgraph run --format json` with jq.
#   stress_case.sh CASE DUMP SHIM CLI DIR PROGRAM [ARGS...]
# CASE says what the program's ARGS mean and so what the exact counts are:
#   threads N K ROUNDS SEED     N*K lost 4093-byte blocks, nothing else lost
#   fork FORKS THREADS SEED [spawn]  FORKS child traces with their own two 4242s
#   exec DEPTH THREADS SEED     one trace, from the chain's last image
#   signals THREADS SIGNALS SEED  every snapshot complete, exact exit counts
#   dlloop ITERS LIB_A LIB_B    one leak per iteration, symbolized per library
#   ending MODE THREADS SEED    MODE: exit, thread_exit, _exit, abort
# STRESS_TIMEOUT (seconds, default 30) bounds each run. Exits non-zero with
# one line saying what differed.
set -u
what=$1 dump=$2 shim=$3 cli=$4 dir=$5
shift 5
timeout_s=${STRESS_TIMEOUT:-30}
ulimit -c 0
exec 3>&2                       # the case's own stderr, whatever a run's is
rm -rf "$dir"
mkdir -p "$dir/traces"
fail() { echo "stress_case $what $*: $FAIL_ARGS" >&2; exit 1; }
FAIL_ARGS="$*"

# bounded: timeout's 124 (or 137 after -k) is a hang, whatever the program
bounded() {
    timeout -k 5 "$timeout_s" "$@"
    st=$?
    if [ "$st" = 124 ] || [ "$st" = 137 ]; then
        echo "stress_case $what: timed out after ${timeout_s}s (deadlock?): $*" >&3
        exit 1
    fi
    return "$st"
}

# the program alone, then under the shim: same output, same status
bounded "$@" >"$dir/plain.out" 2>"$dir/plain.err"
plain_status=$?
bounded env LD_PRELOAD="$shim" LEAKGRAPH_OUTPUT="$dir/traces/t.%p.trace" "$@" \
    >"$dir/shim.out" 2>"$dir/shim.err"
shim_status=$?
[ "$plain_status" = "$shim_status" ] || fail "status $plain_status without the shim, $shim_status with it"
for s in out err; do
    cmp -s "$dir/plain.$s" "$dir/shim.$s" ||
        fail "std$s differs: [$(cat "$dir/plain.$s")] vs [$(cat "$dir/shim.$s")]"
done

ntraces=$(ls "$dir"/traces | wc -l)
only_trace() {
    [ "$ntraces" = 1 ] || fail "expected one trace, found $ntraces"
    echo "$dir"/traces/*.trace
}
# check TRACE CHECK...: trace_dump's checks on the last snapshot
check() {
    t=$1
    shift
    out=$(env -u LD_PRELOAD "$dump" "$t" "$@" 2>&1) || fail "$(basename "$t"): $out"
}
# run_json STATUS: `leakgraph run --format json` on the program, expecting
# STATUS, the same program output, the report in $dir/report.json
run_json() {
    want_run=$1
    bounded "$cli" run --format json --output "$dir/report.json" -- "$prog" $prog_args \
        >"$dir/run.out" 2>"$dir/run.err"
    st=$?
    [ "$st" = "$want_run" ] || fail "leakgraph run exited $st, expected $want_run: $(cat "$dir/run.err")"
    cmp -s "$dir/plain.out" "$dir/run.out" || fail "program output differs under leakgraph run"
    jq -e . "$dir/report.json" >/dev/null || fail "leakgraph run wrote no valid JSON"
}
prog=$1
shift
prog_args="$*"

case $what in
threads)
    want=$(($1 * $2))
    [ "$shim_status" = 0 ] || fail "exit status $shim_status"
    check "$(only_trace)" complete=1 kind=1 snapshots=1 sizes:4093="$want" lost:4093="$want" \
        lost_blocks="$want"
    run_json 23
    got=$(jq '[.processes[0].leaks[] | select(.kind == "definitely_lost" and .bytes == .blocks * 4093)
               | .blocks] | add' "$dir/report.json")
    [ "$got" = "$want" ] || fail "report: $got definitely lost 4093-byte blocks, expected $want"
    got=$(jq '.processes[0].summary.definitely_lost.blocks' "$dir/report.json")
    [ "$got" = "$want" ] || fail "report: $got definitely lost blocks, expected $want"
    ;;
fork)
    [ "$shim_status" = 0 ] || fail "exit status $shim_status"
    [ "$ntraces" = $(($1 + 1)) ] || fail "expected $(($1 + 1)) traces, found $ntraces"
    kids=0 parent=0
    for t in "$dir"/traces/*.trace; do
        check "$t" complete=1 kind=1 snapshots=1
        if env -u LD_PRELOAD "$dump" "$t" sizes:4848=1 >/dev/null 2>&1; then
            check "$t" lost:4848=1 lost_blocks=1 sizes:4242=0
            parent=$((parent + 1))
        else   # a child: its own two blocks; nothing of its siblings' or the parent's end
            check "$t" sizes:4242=2 lost:4242=2 sizes:4848=0
            kids=$((kids + 1))
        fi
    done
    [ "$kids" = "$1" ] && [ "$parent" = 1 ] || fail "children $kids/$1, parent $parent/1"
    ;;
exec)
    [ "$shim_status" = 0 ] || fail "exit status $shim_status"
    check "$(only_trace)" complete=1 kind=1 snapshots=1 sizes:4321=1 lost:4321=1 \
        sizes:1000=1 lost:1000=1 lost_blocks=2
    ;;
signals)
    want=$(($1 * 3))
    [ "$shim_status" = 0 ] || fail "exit status $shim_status"
    t=$(only_trace)
    # trace_dump checks every snapshot's framing and end counts on the way
    check "$t" complete=1 kind=1 snapshots\>=2 snapshots\<=$(($2 + 1)) sizes:2777="$want" \
        lost:2777="$want" lost_blocks="$want"
    env -u LD_PRELOAD "$dump" "$t" | grep -q incomplete && fail "an incomplete snapshot"
    bounded "$cli" report --format json --output "$dir/report.json" "$t" 2>"$dir/report.err"
    st=$?
    [ "$st" = 0 ] || [ "$st" = 23 ] || fail "leakgraph report exited $st: $(cat "$dir/report.err")"
    got=$(jq '.processes[0].summary.definitely_lost.blocks' "$dir/report.json")
    [ "$got" = "$want" ] || fail "report: $got definitely lost blocks, expected $want"
    ;;
dlloop)
    a=$((($1 + 1) / 2)) b=$(($1 / 2))
    [ "$2" = "$3" ] && a=$1 b=0     # one library loaded again and again
    [ "$shim_status" = 0 ] || fail "exit status $shim_status"
    check "$(only_trace)" complete=1 kind=1 sizes:7171=$a lost:7171=$a sizes:7272=$b lost:7272=$b \
        lost_blocks=$1 module:libst_dl_a.so\>=1 module:libst_dl_b.so\>=$((b > 0))
    run_json 23
    # every record allocated in a library names that library's function and
    # file, and its size is that library's: the module map kept both
    for v in a:7171 b:7272; do
        [ "$v" = b:7272 ] && [ "$b" = 0 ] && continue
        fn=stress_dl_leak_${v%%:*} size=${v#*:} lib=libst_dl_${v%%:*}.so
        n=$([ "$fn" = stress_dl_leak_a ] && echo $a || echo $b)
        got=$(jq --arg fn "$fn" --arg lib "$lib" --argjson size "$size" '
            [.processes[0].leaks[] | select(.kind == "definitely_lost" and .stack[0].function == $fn)
             | select(.bytes == .blocks * $size and .stack[0].module == $lib
                      and (.stack[0].file | endswith("st_dl_lib.c")))
             | .blocks] | add' "$dir/report.json")
        [ "$got" = "$n" ] || fail "report: $got blocks from $fn in $lib, expected $n"
    done
    ;;
ending)
    mode=$1 n=$(($2 * 2))
    case $mode in
    exit|thread_exit)
        want_status=$([ "$mode" = exit ] && echo 5 || echo 7)
        [ "$shim_status" = "$want_status" ] || fail "exit status $shim_status"
        check "$(only_trace)" complete=1 kind=1 snapshots=1 sizes:5151=1 lost:5151=1 \
            sizes:3333="$n" lost:3333="$n"
        ;;
    _exit)   # no exit snapshot, so no trace; leakgraph run says why
        [ "$shim_status" = 9 ] || fail "exit status $shim_status"
        [ "$ntraces" = 0 ] || fail "a trace was written after _exit"
        bounded "$cli" run -- "$prog" $prog_args >"$dir/run.out" 2>"$dir/run.err"
        st=$?
        [ "$st" = 3 ] || fail "leakgraph run exited $st, expected 3"
        grep -q "wrote no trace.*_exit" "$dir/run.err" ||
            fail "leakgraph run did not say why: $(cat "$dir/run.err")"
        ;;
    abort)
        [ "$shim_status" = 134 ] || fail "exit status $shim_status"
        check "$(only_trace)" complete=1 kind=4 signal=6 snapshots=1 sizes:5151=1 lost:5151=1 \
            sizes:3333="$n" lost:3333="$n"
        run_json 134
        got=$(jq -r '.processes[0] | "\(.snapshot) \(.signal) \(.summary.definitely_lost.blocks)"' \
            "$dir/report.json")
        [ "$got" = "fatal 6 $((n + 1))" ] || fail "report says: $got, expected fatal 6 $((n + 1))"
        ;;
    *) fail "unknown mode $mode" ;;
    esac
    ;;
*)
    fail "unknown case"
    ;;
esac
exit 0
