#!/bin/sh
# compare.sh - the shim side by side with heaptrack, LeakSanitizer and
# Valgrind, in one run: wall-clock medians of RUNS runs (hyperfine), as a
# multiple of the bare program, and peak RSS on the live-heap workload.
#   bench/preload/compare.sh BUILD_DIR [RUNS]
# Workloads (sizes chosen so the whole script takes a few minutes):
#   mixed1   lg_bench_mixed_malloc 5000000 1   5M malloc/free pairs, 1 thread
#   mixed2   lg_bench_mixed_malloc 5000000 2   the same pairs over 2 threads
#   rc       lg_bench_rc_workload 200000       librefcount objects, incref/decref
#   rc_nohist  the same with LEAKGRAPH_HISTORY=off (no stack per incref/decref)
#   python   /usr/bin/python3 (PYTHONMALLOC=malloc) building a dict of 1M strs
#   cc1      gcc's cc1 -O2 on a generated C file (gen_c_input.py 150)
#   live     lg_bench_live_blocks 3200000      3.2M live blocks (233 MB) at exit
set -eu
build=$(cd "${1:?usage: compare.sh BUILD_DIR [RUNS]}" && pwd)
runs=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
shim=$build/preload/libleakgraph.so
lsan=/usr/lib/x86_64-linux-gnu/liblsan.so.0
tmp=$(mktemp -d /tmp/lg-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3                     # the binary, not a pyenv wrapper script
cc1=$(gcc -print-prog-name=cc1)
python3 "$here/gen_c_input.py" 150 > "$tmp/input.c"
$cc1 -quiet -O2 "$tmp/input.c" -o /dev/null || { echo "cc1 workload fails" >&2; exit 1; }

b=$build/bench/preload
workload() {
    case $1 in
    mixed1) echo "$b/lg_bench_mixed_malloc 5000000 1" ;;
    mixed2) echo "$b/lg_bench_mixed_malloc 5000000 2" ;;
    rc) echo "$b/lg_bench_rc_workload 200000" ;;
    rc_nohist) echo "$b/lg_bench_rc_workload 200000" ;;
    python) echo "$py -c 'd={}
for i in range(1000000): d.setdefault(i%5000,[]).append(str(i)*3)'" ;;
    cc1) echo "$cc1 -quiet -O2 $tmp/input.c -o /dev/null" ;;
    live) echo "$b/lg_bench_live_blocks 3200000" ;;
    esac
}
# No `env VAR=...` in front of a workload: heaptrack would trace env, not
# the program. Settings go into the tool's own prefix or the environment.
export PYTHONMALLOC=malloc
tool() {   # prefix for the tool, then the command
    case $1 in
    bare) echo "" ;;
    leakgraph) echo "env LD_PRELOAD=$shim LEAKGRAPH_OUTPUT=$tmp/lg.%p.trace $lgextra" ;;
    leakgraph_d0) echo "env LD_PRELOAD=$shim LEAKGRAPH_DEPTH=0 LEAKGRAPH_OUTPUT=$tmp/lg.%p.trace $lgextra" ;;
    heaptrack) echo "heaptrack -o $tmp/ht" ;;
    lsan) echo "env LD_PRELOAD=$lsan LSAN_OPTIONS=exitcode=0:log_path=$tmp/lsan" ;;
    valgrind) echo "valgrind -q --leak-check=full --log-file=$tmp/vg.%p" ;;
    esac
}
median() {   # hyperfine median in seconds
    hyperfine -N -i --runs "$runs" --warmup 0 --export-json "$tmp/h.json" "$1" >/dev/null 2>&1 ||
        hyperfine -i --runs "$runs" --export-json "$tmp/h.json" "$1" >/dev/null 2>&1
    jq '.results[0].median' "$tmp/h.json"
}

printf '| workload | bare (s) | leakgraph | leakgraph depth 0 | heaptrack | LeakSanitizer | Valgrind |\n'
printf '|---|---|---|---|---|---|---|\n'
for w in mixed1 mixed2 rc rc_nohist python cc1 live; do
    cmd=$(workload $w)
    lgextra=""
    [ $w = rc_nohist ] && lgextra="LEAKGRAPH_HISTORY=off"
    base=$(median "$cmd")
    line="| $w | $(printf %.3f "$base")"
    for t in leakgraph leakgraph_d0 heaptrack lsan valgrind; do
        if [ $t = valgrind ] && [ $w != mixed1 ]; then line="$line | -"; continue; fi
        if [ $t = valgrind ]; then
            s=$(runs=1 median "$(tool $t) $cmd")
        else
            s=$(median "$(tool $t) $cmd")
        fi
        line="$line | $(echo "$s $base" | awk '{printf "%.2fx", $1 / $2}')"
        rm -rf "$tmp"/lg.* "$tmp"/ht* "$tmp"/lsan* "$tmp"/vg.*
    done
    echo "$line |"
done

echo
echo "live heap (3.2M blocks, 233 MB): peak RSS and exit snapshot"
lgextra=""
for t in bare leakgraph lsan heaptrack; do
    /usr/bin/time -o "$tmp/rss" -f %M $(tool $t) $(workload live) >/dev/null 2>&1
    echo "  $t: peak RSS $(tail -1 "$tmp/rss") KB"
    rm -rf "$tmp"/lg.* "$tmp"/lsan*
done
env LD_PRELOAD="$shim" LEAKGRAPH_OUTPUT="$tmp/lg.%p.trace" LEAKGRAPH_STATS=1 \
    $(workload live) 2>&1 | sed 's/^/  /'
ls -l "$tmp"/lg.*.trace | awk '{print "  trace size " $5 " bytes"}'

# LeakSanitizer's exit-time leak check alone: the same run with the check on
# and off, medians of RUNS runs each, and the difference.
on=$(median "env LD_PRELOAD=$lsan LSAN_OPTIONS=exitcode=0:detect_leaks=1:log_path=$tmp/lsan $(workload live)")
off=$(median "env LD_PRELOAD=$lsan LSAN_OPTIONS=exitcode=0:detect_leaks=0 $(workload live)")
echo "  lsan: leak check of the live heap $(echo "$on $off" | awk '{printf "%.0f ms", ($1 - $2) * 1000}') (detect_leaks=1 minus =0)"
rm -rf "$tmp"/lsan*
