#!/usr/bin/env bash
# test.sh - the README's second command and what CI runs: install what is
# missing, build, run every test; then build the runtime, the CLI and their
# unit tests with AddressSanitizer+UBSan and run those again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 300

# The shim is never preloaded sanitized (it replaces the allocator ASan
# needs), and programs run under it cannot load a sanitized librefcount, so
# the sanitized pass runs the runtime's, the CLI's and the shim's own unit
# tests (preload_unit_*: its parts built into plain programs), not the
# programs run under the shim or e2e.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLEAKGRAPH_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 300 \
    -E '^((e2e|sample|stress)_|preload_([^u]|u[^n]|un[^i]))'
