#!/bin/sh
# regen.sh - rewrites the real traces of the fuzz corpus: each is what the
# shim wrote for a sample or a shim test program (committed, not generated
# at test time, so the fuzz test's inputs are fixed and it needs no shim;
# each is under 25 KB). real_truncated.trace is real_three_snapshots.trace
# cut inside its second snapshot (its region table), as a killed process
# leaves it. The real_ traces are format version 2; v1_*.trace are the same
# programs' traces in version 1, kept (not regenerated) so the fuzz run and
# the reader keep covering version 1.
#   regen.sh BUILD_DIR
set -eu
b=$(cd "$1" && pwd) here=$(cd "$(dirname "$0")" && pwd)
shim=$b/preload/libleakgraph.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rec() {   # rec NAME PROGRAM [ARGS...]
    n=$1; shift
    LD_PRELOAD=$shim LEAKGRAPH_OUTPUT=$tmp/$n.trace "$@" >/dev/null 2>&1 || true
    cp "$tmp/$n.trace" "$here/real_$n.trace"
}
rec cycle_ab "$b/samples/cycle_ab"
rec malloc_leak "$b/samples/malloc_leak"
rec user_purchase_history "$b/samples/user_purchase_history"
rec threads "$b/tests/preload/lg_prog_threads_hammer"
rec three_snapshots "$b/tests/preload/lg_prog_snapshots"
rec sigterm "$b/tests/preload/lg_prog_fatal" term
rec dl_swap "$b/tests/preload/lg_prog_dl_swap" "$b/tests/preload/liblg_swap_alpha_leak.so" \
    "$b/tests/preload/liblg_swap_gamma_leak.so"     # EPOCHS with two unloaded modules
head -c 2700 "$here/real_three_snapshots.trace" >"$here/real_truncated.trace"
chmod 644 "$here"/real_*.trace
