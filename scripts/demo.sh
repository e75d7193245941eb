#!/usr/bin/env bash
# One command: install the dependencies, build, and run the clustering failover demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build
examples/clustering/run-demo.sh build/bin
