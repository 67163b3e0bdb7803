#!/bin/sh
# soak.sh - the shim's stress matrix (tests/stress) run for a while with
# larger parameters and random timing: each round picks a case (threads,
# fork, exec, signals, dlopen loop, exit/exit from a thread/_exit/abort),
# random sizes and a random seed (the programs' seed drives their sleeps
# and allocation mix), and runs tests/stress/stress_case.sh on it, which
# compares output and exit status with a run without the shim, bounds
# every run by a timeout (a deadlock fails) and checks exact counts.
#   bench/soak.sh [BUILD_DIR] [MINUTES]
# BUILD_DIR defaults to ./build, MINUTES to 10. Needs the stress programs
# built (cmake --build BUILD_DIR --target leakgraph leakgraph_preload
# lg_trace_dump and the lg_stress_* targets, or the whole tree), jq and
# timeout. SOAK_SEED=N replays a whole soak (same case sequence); a failure
# prints the one command that repeats that round alone, and the round's
# files (program output, traces) are kept under BUILD_DIR/soak/fail-<round>.
# STRESS_TIMEOUT (default 120 here) bounds each run in seconds. Exits 0 when
# every round passed, 1 otherwise.
set -u
build=${1:-build}
minutes=${2:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
case_sh=$here/tests/stress/stress_case.sh
st=$build/tests/stress
dump=$build/tests/preload/lg_trace_dump
shim=$build/preload/libleakgraph.so
cli=$build/cli/leakgraph
for f in "$dump" "$shim" "$cli" "$st/lg_stress_st_threads" "$st/lg_stress_st_fork" \
         "$st/lg_stress_st_exec" "$st/lg_stress_st_signals" "$st/lg_stress_st_dlloop" \
         "$st/lg_stress_st_ending" "$st/libst_dl_a.so" "$st/libst_dl_b.so"; do
    [ -e "$f" ] || { echo "soak: $f is missing; build the stress targets first" >&2; exit 2; }
done
command -v jq >/dev/null && command -v timeout >/dev/null ||
    { echo "soak: needs jq and timeout" >&2; exit 2; }
export STRESS_TIMEOUT=${STRESS_TIMEOUT:-120}

# a small LCG, so SOAK_SEED replays the same rounds
seed=${SOAK_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
rng=$seed
rand() {   # rand N: R = a number in 0..N-1 (no subshell: rng must advance)
    rng=$(( (rng * 1103515245 + 12345) % 2147483648 ))
    R=$(( (rng / 256) % $1 ))
}

work=$build/soak
rm -rf "$work"
mkdir -p "$work"
end=$(( $(date +%s) + minutes * 60 ))
rounds=0 failures=0
echo "soak: $minutes minutes, SOAK_SEED=$seed"
while [ "$(date +%s)" -lt "$end" ]; do
    rounds=$((rounds + 1))
    rand 1000000; s=$R
    rand 9; pick=$R
    rand 31; a=$R; rand 20; b=$R; rand 200000; c=$R
    case $pick in
    0) set -- threads "$st/lg_stress_st_threads" $((2 + a)) $((1 + b)) $((1000 + c)) "$s" ;;
    1) spawn=""                              # odd rounds keep threads starting
       [ $((c % 2)) = 1 ] && spawn=spawn
       set -- fork "$st/lg_stress_st_fork" $((1 + a * 3)) $((1 + b % 8)) "$s" $spawn ;;
    2) set -- exec "$st/lg_stress_st_exec" $((1 + b)) $((a % 6)) "$s" ;;
    3) set -- signals "$st/lg_stress_st_signals" $((1 + a % 12)) $((1 + c % 400)) "$s" ;;
    4) lib2=$st/libst_dl_a.so                # odd rounds alternate two libraries
       [ $((c % 2)) = 1 ] && lib2=$st/libst_dl_b.so
       set -- dlloop "$st/lg_stress_st_dlloop" $((1 + c % 1000)) "$st/libst_dl_a.so" "$lib2" ;;
    5) set -- ending "$st/lg_stress_st_ending" exit $((1 + a % 12)) "$s" ;;
    6) set -- ending "$st/lg_stress_st_ending" thread_exit $((1 + a % 12)) "$s" ;;
    7) set -- ending "$st/lg_stress_st_ending" _exit $((1 + a % 12)) "$s" ;;
    *) set -- ending "$st/lg_stress_st_ending" abort $((1 + a % 12)) "$s" ;;
    esac
    what=$1
    shift
    [ -n "${SOAK_VERBOSE:-}" ] && echo "soak: round $rounds: $what $*"
    if ! sh "$case_sh" "$what" "$dump" "$shim" "$cli" "$work/round" "$@" 2>"$work/err"; then
        failures=$((failures + 1))
        rm -rf "$work/fail-$rounds"
        mv "$work/round" "$work/fail-$rounds"
        echo "soak: round $rounds FAILED: $(cat "$work/err")"
        echo "  repeat: STRESS_TIMEOUT=$STRESS_TIMEOUT sh $case_sh $what $dump $shim $cli" \
             "$work/repeat $*"
        echo "  files: $work/fail-$rounds (SOAK_SEED=$seed replays the soak)"
    fi
done
rm -rf "$work/round" "$work/err"
echo "soak: $rounds rounds, $failures failed (SOAK_SEED=$seed)"
[ "$failures" = 0 ]
