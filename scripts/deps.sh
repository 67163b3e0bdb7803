#!/usr/bin/env bash
# deps.sh - install, as root, the Debian packages leakgraph builds and tests
# with; does nothing when they are all present (so CI pays no apt time).
set -euo pipefail
packages=(
    cmake make gcc g++ pkg-config     # the build
    libunwind-dev                     # stack capture in the shim
    uthash-dev                        # hash tables
    libcmocka-dev                     # unit tests
    libdw-dev libelf-dev              # offline symbolization (elfutils)
    jq                                # end-to-end tests read the JSON report
    python3-jsonschema                # validates SARIF output against its schema
    valgrind                          # e2e: compare leak numbers with memcheck
    clang libclang-rt-14-dev          # the trace reader's libFuzzer harness
    python3 sqlite3 git               # real programs the shim's tests wrap
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps.sh: missing packages: ${missing[*]}; run as root (apt-get)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
