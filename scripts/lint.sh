#!/usr/bin/env bash
# clang-format (check or --fix) and clang-tidy over the project's C++ sources.
# Needs a configured build/ (for compile_commands.json).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
fi
mapfile -t sources < <(git ls-files 'src/*.cpp' 'examples/*.cpp' 'bench/*.cpp')
clang-tidy -p build --quiet "${sources[@]}"
