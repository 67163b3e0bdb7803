#!/usr/bin/env bash
# demo.sh - the README's first command: install what is missing, build, and
# run leakgraph on the seeds' cycle sample so a newcomer sees a real report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
echo
echo "== leakgraph run -- build/samples/cycle_ab"
status=0
./build/cli/leakgraph run -- ./build/samples/cycle_ab || status=$?
echo "== leakgraph exited $status (23: a leak fails the gate)"
[ "$status" -eq 23 ]
