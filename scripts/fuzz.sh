#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (build-fuzz/, or FUZZ_BUILD_DIR) and runs each for SECONDS
# (default 60), two at a time. Each run starts from the seeds in fuzz/corpus/<target>/ (read
# only) and writes what it discovers to a scratch corpus. Fails on any crash, leak, timeout or
# out-of-memory, and prints the input that reproduces it. See docs/FUZZING.md.
#   scripts/fuzz.sh [SECONDS]
#   FUZZ_TARGETS="sse schema" scripts/fuzz.sh 10    only these targets
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
parallel=${FUZZ_JOBS:-2}
build=${FUZZ_BUILD_DIR:-build-fuzz}
# Each target's work: its scratch corpus, crash artifacts and log. Kept after a failure.
work=${FUZZ_WORK_DIR:-$(mktemp -d /tmp/fuzz-run.XXXXXX)}

# A build directory already configured with POLARIS_FUZZ (scripts/test.sh's sanitizer build) is
# reused as it is; otherwise build-fuzz/ is configured optimised, for longer campaigns.
if grep -qs '^POLARIS_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  echo "== fuzz: build (reusing $build)"
else
  echo "== fuzz: build (clang, libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer)"
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPOLARIS_FUZZ=ON -DPOLARIS_BUILD_TESTS=OFF -DPOLARIS_BUILD_EXAMPLES=OFF \
    -DPOLARIS_BUILD_BENCH=OFF -DPOLARIS_INSTALL=OFF >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target polaris_fuzzers

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for source in fuzz/*_fuzz.cpp; do
    name=$(basename "$source" _fuzz.cpp)
    targets+=("$name")
  done
fi

# Runs one target; its exit status goes to $work/<target>/status.
run_target() {
  local target=$1 dir="$work/$1"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  local options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
                 -artifact_prefix="$dir/artifacts/")
  [ -f "fuzz/dict/$target.dict" ] && options+=(-dict="fuzz/dict/$target.dict")
  local status=0
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/bin/${target}_fuzz" "${options[@]}" "$dir/corpus" "fuzz/corpus/$target" \
    >"$dir/log" 2>&1 || status=$?
  echo "$status" >"$dir/status"
}

echo "== fuzz: ${#targets[@]} targets, ${seconds}s each, $parallel at a time (work: $work)"
start=$(date +%s)
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  run_target "$target" &
done
wait

failed=0
passed=0
for target in "${targets[@]}"; do
  dir="$work/$target"
  status=$(cat "$dir/status" 2>/dev/null || echo "?")
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | grep -o '[0-9]*$' || true)
  if [ "$status" = 0 ]; then
    echo "fuzz: $target ok (${runs:-?} runs)"
    passed=$((passed + 1))
    continue
  fi
  failed=$((failed + 1))
  echo "fuzz: $target FAILED (exit $status); log: $dir/log"
  grep -E 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error|fuzz invariant' \
    "$dir/log" | head -5 || true
  for artifact in "$dir"/artifacts/*; do
    [ -e "$artifact" ] || continue
    echo "  reproduce: $build/bin/${target}_fuzz $artifact"
    # CI's /tmp is gone after the run: small inputs are printed so they can be recreated.
    if [ "$(stat -c %s "$artifact")" -le 4096 ]; then
      echo "  input (base64): $(base64 -w0 "$artifact")"
    fi
  done
done
echo "fuzz: ran for $(($(date +%s) - start))s"
echo "fuzz: $passed passed, $failed failed"
if [ "$failed" -eq 0 ]; then
  [ -n "${FUZZ_WORK_DIR:-}" ] || rm -rf "$work"
  exit 0
fi
exit 1
