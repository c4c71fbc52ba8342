#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan + UBSan) into build-fuzz/
# and runs each one for a bounded time on a copy of its seed corpus
# (fuzz/corpus/<target>/), printing its execution count. Exits non-zero if
# any target crashed; the crashing input is left in build-fuzz/crashes/.
# docs/security.md, "Fuzzing and sanitizers".
#
#   scripts/fuzz.sh                         # every target, 30 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh resp_request cluster_map
#   fuzz/fuzz_<target> <crash file>         # replay (from build-fuzz/fuzz)
#
# Settings (environment): FUZZ_SECONDS (per target, default 30),
# FUZZ_TIMEOUT_S (one input slower than this is a failure, default 25),
# FUZZ_RSS_MB (memory limit per target, default 2048), BUILD_DIR (default
# build-fuzz), FUZZ_BUILD=0 to run an existing build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_TIMEOUT_S=${FUZZ_TIMEOUT_S:-25}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
for v in FUZZ_SECONDS FUZZ_TIMEOUT_S FUZZ_RSS_MB; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done

TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(ls fuzz/corpus)
fi
for t in "${TARGETS[@]}"; do
  [ -d "fuzz/corpus/$t" ] || { echo "fuzz: unknown target '$t' (no fuzz/corpus/$t)" >&2; exit 2; }
done

if [ "${FUZZ_BUILD:-1}" != 0 ]; then
  bash scripts/setup.sh
  command -v clang++ >/dev/null || { echo "fuzz: clang++ is not installed" >&2; exit 1; }
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
  export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
  start=$SECONDS
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DRINGKV_FUZZ=ON -DRINGKV_BUILD_TESTS=OFF \
    -DRINGKV_BUILD_BENCH=OFF >/dev/null
  cmake --build "$BUILD_DIR" --target fuzzers -- -j "${FUZZ_BUILD_JOBS:-$(nproc)}"
  echo "fuzz: built ${#TARGETS[@]} target(s) in $((SECONDS - start)) s"
fi

mkdir -p "$BUILD_DIR/crashes" "$BUILD_DIR/logs"
failed=()
for t in "${TARGETS[@]}"; do
  work="$BUILD_DIR/corpus/$t"  # new inputs land here, never in the repository
  mkdir -p "$work"
  log="$BUILD_DIR/logs/$t.log"
  status=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$BUILD_DIR/fuzz/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT_S" \
    -rss_limit_mb="$FUZZ_RSS_MB" -print_final_stats=1 \
    -artifact_prefix="$BUILD_DIR/crashes/$t-" "$work" "fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $status -ne 0 ]; then
    failed+=("$t")
    tail -40 "$log"
    echo "fuzz: $t: FAILED after ${execs:-?} executions; input: $(grep -o "$BUILD_DIR/crashes/$t-[^ ]*" "$log" | tail -1); log: $log"
  else
    echo "fuzz: $t: ${execs:-?} executions in ${FUZZ_SECONDS} s, corpus $(ls "$work" | wc -l) inputs, no crash"
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all ${#TARGETS[@]} target(s) passed"
