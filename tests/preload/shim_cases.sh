#!/bin/sh
# shim_cases.sh - end-to-end cases of the shim that need more than one trace
# or look at the program's own output: fork, failure modes, real programs.
#   shim_cases.sh CASE DUMP SHIM DIR [PROGRAM...]
# Each case runs its programs with LD_PRELOAD=SHIM (and LEAKGRAPH_OUTPUT in
# DIR) and exits non-zero with one line saying what differed.
set -u
case_name=$1 dump=$2 shim=$3 dir=$4
shift 4
rm -rf "$dir"
mkdir -p "$dir"
fail() { echo "shim_cases $case_name: $*" >&2; exit 1; }
under() { env LD_PRELOAD="$shim" LEAKGRAPH_OUTPUT="$dir/t.%p.trace" "$@"; }

case $case_name in
fork)   # every child writes its own complete trace; the parent too
    under "$1" || fail "program failed"
    n=$(ls "$dir" | wc -l)
    [ "$n" = 21 ] || fail "expected 21 traces, found $n"
    kids=0 parent=0
    for t in "$dir"/*.trace; do
        out=$("$dump" "$t" complete=1) || fail "$t incomplete: $out"
        if "$dump" "$t" sizes:4242=1 lost_bytes=4242 >/dev/null 2>&1; then
            kids=$((kids + 1))
        elif "$dump" "$t" sizes:2424=1 sizes:4242=0 >/dev/null 2>&1; then
            parent=$((parent + 1))
        fi
    done
    [ "$kids" = 20 ] && [ "$parent" = 1 ] || fail "children $kids/20, parent $parent/1"
    ;;
unwritable)   # one line on stderr, the program runs and exits as it would
    err=$(env LD_PRELOAD="$shim" LEAKGRAPH_OUTPUT=/nonexistent-dir/x.trace "$@" 2>&1 >/dev/null)
    st=$?
    [ "$st" = 0 ] || fail "exit status $st"
    want="leakgraph: cannot write /nonexistent-dir/x.trace: No such file or directory; no trace written"
    [ "$err" = "$want" ] || fail "stderr was: $err"
    ;;
bad_env)   # one line per bad value, defaults used, the trace still written
    err=$(env LD_PRELOAD="$shim" LEAKGRAPH_OUTPUT="$dir/t.%p.trace" LEAKGRAPH_DEPTH=abc \
          LEAKGRAPH_HISTORY=lots LEAKGRAPH_SIGNAL=SIGNOPE "$@" 2>&1 >/dev/null)
    st=$?
    [ "$st" = 0 ] || fail "exit status $st"
    want="leakgraph: LEAKGRAPH_DEPTH=abc is not a number; using 32
leakgraph: LEAKGRAPH_HISTORY=lots is not on, off or a number up to 1024; using 64
leakgraph: LEAKGRAPH_SIGNAL=SIGNOPE is not a usable signal; using 12"
    [ "$err" = "$want" ] || fail "stderr was: $err"
    "$dump" "$dir"/t.*.trace complete=1 >/dev/null || fail "no complete trace"
    ;;
same_output)   # output and status identical with and without the shim (and,
               # with LG_EXPECT_NO_LOSS=1, no block lost in any trace)
    plain=$("$@" 2>&1); pst=$?
    shimmed=$(under "$@" 2>&1); sst=$?
    [ "$pst" = "$sst" ] || fail "status $pst without the shim, $sst with it"
    [ "$plain" = "$shimmed" ] || fail "output differs: [$plain] vs [$shimmed]"
    ls "$dir"/t.*.trace >/dev/null 2>&1 || fail "no trace written"
    for t in "$dir"/*.trace; do
        "$dump" "$t" complete=1 >/dev/null || fail "$t incomplete"
        if [ "${LG_EXPECT_NO_LOSS:-0}" = 1 ]; then
            out=$("$dump" "$t" lost_bytes=0 2>&1) || fail "$t: lost bytes: $out"
        fi
    done
    ;;
secure)   # a setuid target is left alone: runs normally, writes no trace
    [ "$(id -u)" = 0 ] || fail "needs root to make a setuid-to-nobody copy"
    cp "$1" "$dir/setuid_prog" && chown nobody "$dir/setuid_prog" && chmod 4755 "$dir/setuid_prog" \
        || fail "cannot make a setuid copy"
    chmod 777 "$dir"
    shift
    out=$(env LD_PRELOAD="$shim" LEAKGRAPH_OUTPUT="$dir/t.%p.trace" "$dir/setuid_prog" "$@" 2>&1)
    st=$?
    [ "$st" = 0 ] || fail "exit status $st: $out"
    ! ls "$dir"/t.*.trace >/dev/null 2>&1 || fail "a trace was written"
    ;;
env_cleared)   # `env -i PROG` (execvp with an empty environ) keeps the shim
    (cd "$dir" && env LD_PRELOAD="$shim" LEAKGRAPH_OUTPUT="$dir/t.%p.trace" \
        sh -c 'cd / && exec env -i "$0"' "$1") || fail "program failed"
    n=$(ls "$dir"/t.*.trace 2>/dev/null | wc -l)
    [ "$n" = 1 ] || fail "expected the program's trace only, found $n"
    "$dump" "$dir"/t.*.trace sizes:100=1 lost_bytes=196 >/dev/null || fail "not the program's trace"
    ;;
relative_output)   # a relative output path is resolved where the program starts
    mkdir -p "$dir/start" "$dir/elsewhere"
    (cd "$dir/start" && env LD_PRELOAD="$shim" LEAKGRAPH_OUTPUT=rel.%p.trace "$1" "$dir/elsewhere") \
        || fail "program failed"
    ls "$dir"/start/rel.*.trace >/dev/null 2>&1 || fail "no trace in the starting directory"
    ! ls "$dir"/elsewhere/rel.*.trace >/dev/null 2>&1 || fail "trace followed the chdir"
    "$dump" "$dir"/start/rel.*.trace sizes:321=1 lost_bytes=321 >/dev/null || fail "wrong trace"
    ;;
*)
    fail "unknown case"
    ;;
esac
