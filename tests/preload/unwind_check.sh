#!/bin/sh
# unwind_check.sh - run a program under the shim with LEAKGRAPH_UNWIND=check,
# which walks every stack with both the shim's fast unwinder and libunwind
# and prints any difference on stderr: the program must exit as it does
# without the shim and the shim must print nothing.
#   unwind_check.sh SHIM PROGRAM [ARG...]
shim=$1; shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$@" >"$tmp/bare.out" 2>/dev/null
bare=$?
LD_PRELOAD=$shim LEAKGRAPH_UNWIND=check LEAKGRAPH_OUTPUT="$tmp/t.%p.trace" "$@" \
    >"$tmp/out" 2>"$tmp/err"
got=$?
fail=0
[ "$got" -eq "$bare" ] || { echo "FAIL: exit $got under the shim, $bare without"; fail=1; }
cmp -s "$tmp/out" "$tmp/bare.out" || { echo "FAIL: output differs under the shim"; fail=1; }
if grep -q "leakgraph" "$tmp/err"; then
    echo "FAIL: the unwinders disagree:"; cat "$tmp/err"; fail=1
fi
ls "$tmp"/t.*.trace >/dev/null 2>&1 || { echo "FAIL: no trace written"; fail=1; }
[ $fail -eq 0 ] && echo "ok: fast unwinder and libunwind agree on every stack of $1"
exit $fail
