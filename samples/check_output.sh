#!/bin/sh
# check_output.sh EXPECTED PROGRAM [ARGS...] - run a sample, require exit 0
# and output equal to EXPECTED once addresses (0x...) read 0xADDR.
expected=$1
shift
out=$("$@") || { echo "check_output: $* exited with $?"; exit 1; }
printf '%s\n' "$out" | sed -E 's/0x[0-9a-f]+/0xADDR/g' | diff -u "$expected" - || exit 1
