#!/usr/bin/env bash
# One command: install the dependencies, build, and run the whole test suite twice: a normal
# build (g++), then a build with AddressSanitizer and UndefinedBehaviorSanitizer (clang); then
# run every fuzz target of that second build for 30 seconds (scripts/fuzz.sh; run it alone for
# longer campaigns with an optimised build).
#   scripts/test.sh           all of it (what CI runs)
#   scripts/test.sh --quick   the normal build only
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
[ "${1:-}" = "--quick" ] && quick=true
scripts/install-deps.sh
jobs=$(nproc)

echo "== build (RelWithDebInfo)"
# Line tables only (-g1): backtraces still name files and lines, and the build takes 40% less
# time than with full debug information.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
cmake --build build -j "$jobs"
echo "== tests"
ctest --test-dir build --output-on-failure -j "$jobs"

if [ "$quick" = false ]; then
  # clang here, g++ above: both compilers' warnings are errors, and clang compiles this code at
  # -O0 in about half the time g++ does. The same build carries the libFuzzer targets
  # (POLARIS_FUZZ), so the library is compiled twice in all, not three times.
  echo "== build (clang, AddressSanitizer + UndefinedBehaviorSanitizer, fuzz targets)"
  CC=clang CXX=clang++ cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DPOLARIS_SANITIZE=ON -DPOLARIS_FUZZ=ON -DPOLARIS_BUILD_EXAMPLES=OFF \
    -DPOLARIS_BUILD_BENCH=OFF -DPOLARIS_INSTALL=OFF
  cmake --build build-sanitize -j "$jobs"
  echo "== tests under sanitizers"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-sanitize --output-on-failure -j "$jobs"
  echo "== fuzzing (libFuzzer, 30 s per target)"
  FUZZ_BUILD_DIR=build-sanitize scripts/fuzz.sh 30
fi
