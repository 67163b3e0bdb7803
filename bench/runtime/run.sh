#!/bin/sh
# run.sh [BUILD_DIR] - build bench_runtime (Release-like flags come from the
# build dir; default build/) and print librefcount's figures, each the median
# of 5 runs, then CPython's figures for the same collections when python3 is
# installed, as the class to aim for.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target bench_runtime >/dev/null
"$(find "$build" -name bench_runtime -type f -perm -u+x | head -n 1)"

command -v python3 >/dev/null 2>&1 || exit 0
python3 - <<'PY'
import gc, statistics, time
class Node:
    __slots__ = ("peer", "__weakref__")
def garbage():
    for _ in range(500000):
        a, b = Node(), Node()
        a.peer, b.peer = b, a
    t = time.perf_counter(); n = gc.collect(); return time.perf_counter() - t
def live():
    holder = [Node() for _ in range(1000000)]
    t = time.perf_counter(); gc.collect(); s = time.perf_counter() - t
    del holder
    return s
gc.disable(); gc.collect()
g = statistics.median(garbage() for _ in range(5))
l = statistics.median(live() for _ in range(5))
import sys
print("%-52s %10s" % ("CPython %d.%d gc.collect() (median of 5)" % sys.version_info[:2], "result"))
print("%-52s %10.3f" % ("gc.collect s, 1M tracked objects, all garbage", g))
print("%-52s %10.3f" % ("gc.collect s, 1M tracked objects, all live", l))
PY
