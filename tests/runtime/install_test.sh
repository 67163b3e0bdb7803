#!/bin/sh
# install_test.sh MODE BUILD_DIR SAMPLES_DIR [CFLAGS...] - install librefcount
# (component "refcount" only, so other areas' install rules do not matter)
# into a temporary prefix, build samples/cycle_ab.c against the installed
# copy, with `pkg-config` (MODE pkg-config) or `find_package(refcount)`
# (MODE find-package), run it and compare its output with the expected one.
set -eu
mode=$1 build=$2 samples=$3
shift 3
cflags="$*"                     # e.g. -fsanitize=address,undefined in ASan builds
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" --component refcount >/dev/null
libdir=$(dirname "$(find "$prefix" -name librefcount.so | head -n 1)")
[ -n "$libdir" ] || { echo "install_test: librefcount.so was not installed"; exit 1; }

case $mode in
pkg-config)
    export PKG_CONFIG_PATH="$libdir/pkgconfig"
    # shellcheck disable=SC2046,SC2086
    cc $cflags -I"$samples" $(pkg-config --cflags refcount) "$samples/cycle_ab.c" \
        $(pkg-config --libs refcount) -o "$tmp/cycle_ab"
    ;;
find-package)
    mkdir "$tmp/consumer"
    cp "$samples/cycle_ab.c" "$samples/rc_seed.h" "$tmp/consumer/"
    cat >"$tmp/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(refcount 0.1 REQUIRED)
add_executable(cycle_ab cycle_ab.c)
target_link_libraries(cycle_ab PRIVATE refcount::refcount)
CMAKE
    cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$cflags" >/dev/null
    cmake --build "$tmp/consumer/build" >/dev/null
    cp "$tmp/consumer/build/cycle_ab" "$tmp/cycle_ab"
    ;;
*)
    echo "install_test: unknown mode $mode"
    exit 2
    ;;
esac

# the program must load the installed library, not the build tree's
LD_LIBRARY_PATH="$libdir" ldd "$tmp/cycle_ab" | grep -q "$libdir/librefcount.so" ||
    { echo "install_test: not linked against the installed librefcount.so"; exit 1; }
LD_LIBRARY_PATH="$libdir" sh "$samples/check_output.sh" \
    "$samples/expected/cycle_ab_collect.txt" "$tmp/cycle_ab" --collect
