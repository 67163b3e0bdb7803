#!/usr/bin/env bash
# valgrind_compare.sh - run one program under memcheck and under leakgraph and
# require the same definitely / indirectly / possibly lost bytes and blocks.
#   valgrind_compare.sh LEAKGRAPH PROGRAM [ARG...]
set -u
leakgraph=$1; shift
if ! command -v valgrind >/dev/null; then
    echo "valgrind is not installed (scripts/deps.sh installs it)"; exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --leak-check=full --show-leak-kinds=all --log-file="$out/vg.log" "$@" >/dev/null 2>&1
"$leakgraph" run --format json --fail-on none --output "$out/lg.json" -- "$@" >/dev/null 2>"$out/lg.err"

# memcheck prints "definitely lost: 1,234 bytes in 5 blocks" (or nothing at
# all for a kind when there is no leak of any kind).
vg() {
    local line
    line=$(grep -E "^==[0-9]+== +$1 lost: " "$out/vg.log" | head -n1)
    if [ -z "$line" ]; then echo "0 0"; return; fi
    echo "$line" | sed -E 's/.*lost: ([0-9,]+) bytes in ([0-9,]+) blocks.*/\1 \2/' | tr -d ,
}
fail=0
for kind in definitely indirectly possibly; do
    want=$(vg "$kind")
    got=$(jq -r ".processes[0].summary.${kind}_lost | \"\(.bytes) \(.blocks)\"" "$out/lg.json")
    if [ "$want" = "$got" ]; then
        echo "ok: $kind lost: $got (bytes blocks), as memcheck"
    else
        echo "FAIL: $kind lost: leakgraph $got, memcheck $want (bytes blocks)"
        fail=1
    fi
done
if [ $fail -ne 0 ]; then
    grep -A12 "LEAK SUMMARY" "$out/vg.log"; cat "$out/lg.err"; jq .processes[0].summary "$out/lg.json"
fi
exit $fail
