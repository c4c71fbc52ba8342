#!/usr/bin/env bash
# Sanitizer runs (docs/security.md, "Fuzzing and sanitizers"):
#
#   scripts/sanitize.sh asan   # Debug + ASan/UBSan build in build-asan/: every unit
#                              # test, then the end-to-end tests in SANITIZE_E2E
#   scripts/sanitize.sh tsan   # ThreadSanitizer build in build-tsan/: the unit tests
#                              # of the threaded code (TSAN_TESTS)
#
# Exits non-zero if the build fails or a test fails or a sanitizer reports.
# Settings (environment): SANITIZE_E2E (ctest regex of the end-to-end tests
# the asan run includes), TSAN_TESTS (test binaries the tsan run builds and
# runs), SANITIZE_JOBS (parallel builds and tests, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-}
JOBS=${SANITIZE_JOBS:-$(nproc)}
# A small end-to-end subset: the node's commands and bad input, its HTTP API,
# and the peer link between nodes (forwarding).
SANITIZE_E2E=${SANITIZE_E2E:-'^(node\.commands|node\.bad_input|node\.http|cluster\.link)$'}
# The test binaries of the code that runs threads: the worker pool and
# periodic task (base), the event and connection loops and the servers on
# them (net), the peer link's window (node/link), the memory engine and the
# job queue under concurrent callers, and the cluster view's snapshots.
TSAN_TESTS=${TSAN_TESTS:-"base_test net_event_loop_test net_connection_loop_test
  net_outbound_connection_test net_resp_server_test node_link_test store_memory_test jobs_test
  node_view_test"}
# End-to-end tests are named <area>.<name> in lower case (tests/CMakeLists.txt);
# unit tests are GoogleTest's Suite.Test names.
E2E_NAMES='^[a-z_]+\.[a-z_]+$'

export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"

configure() {  # configure <build dir> <build type> <cmake args...>
  local dir=$1 type=$2
  shift 2
  bash scripts/setup.sh >/dev/null
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" -DRINGKV_BUILD_BENCH=OFF "$@" >/dev/null
}

run_asan() {
  local dir=${BUILD_DIR:-build-asan} start=$SECONDS
  configure "$dir" Debug -DRINGKV_SANITIZE=ON
  cmake --build "$dir" -- -j "$JOBS"
  echo "sanitize: asan build in $((SECONDS - start)) s"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  local status=0
  start=$SECONDS
  (cd "$dir" && ctest --output-on-failure --timeout 600 -j "$JOBS" -E "$E2E_NAMES") || status=1
  echo "sanitize: asan unit tests in $((SECONDS - start)) s"
  start=$SECONDS
  (cd "$dir" && ctest --output-on-failure --timeout 600 -j "$JOBS" -R "$SANITIZE_E2E") || status=1
  echo "sanitize: asan end-to-end subset in $((SECONDS - start)) s"
  return $status
}

run_tsan() {
  local dir=${BUILD_DIR:-build-tsan} start=$SECONDS
  # shellcheck disable=SC2206
  local tests=($TSAN_TESTS)
  configure "$dir" RelWithDebInfo -DRINGKV_TSAN=ON -DRINGKV_JEMALLOC=OFF
  cmake --build "$dir" --target "${tests[@]}" -- -j "$JOBS"
  echo "sanitize: tsan build in $((SECONDS - start)) s"
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
  local status=0 t bin
  start=$SECONDS
  for t in "${tests[@]}"; do
    bin=$(find "$dir" -name "$t" -type f -perm -u+x | head -1)
    [ -n "$bin" ] || { echo "sanitize: no test binary $t in $dir" >&2; status=1; continue; }
    if "$bin" --gtest_brief=1 >"$dir/$t.tsan.log" 2>&1; then
      echo "sanitize: tsan $t: $(grep -o 'PASSED.*' "$dir/$t.tsan.log" | tail -1)"
    else
      status=1
      tail -60 "$dir/$t.tsan.log"
      echo "sanitize: tsan $t FAILED (log: $dir/$t.tsan.log)"
    fi
  done
  echo "sanitize: tsan tests in $((SECONDS - start)) s"
  return $status
}

case "$MODE" in
  asan) run_asan ;;
  tsan) run_tsan ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan" >&2
    exit 2
    ;;
esac
