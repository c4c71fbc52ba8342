#!/usr/bin/env bash
# Quick start (b): installs what is missing, builds, checks the lock
# annotations with clang (scripts/thread-safety.sh), runs the extra CI stages,
# and runs the whole test suite with ctest, whose summary ends the output.
# Exits non-zero if any step fails.
#
#   scripts/test.sh              # RelWithDebInfo build in build/
#   SANITIZE=1 scripts/test.sh   # Debug + ASan/UBSan build in build-asan/
#
# Extra stages, before the main ctest run (docs/security.md, "Fuzzing and
# sanitizers"); each is on unless its variable is 0, and RINGKV_CI_EXTRA=0
# turns them all off:
#   RINGKV_CI_FUZZ=0   scripts/fuzz.sh: every fuzz target for FUZZ_SECONDS (30) s
#   RINGKV_CI_ASAN=0   scripts/sanitize.sh asan: unit tests + an end-to-end subset
#   RINGKV_CI_TSAN=0   scripts/sanitize.sh tsan: the threaded unit tests
# RINGKV_CI_PRUNE=1 (set by .ci/run) deletes each extra stage's build
# directory when the stage ends, keeping its logs and any fuzz crash inputs,
# so that the run's disk use peaks near one build's size, not four.
set -euo pipefail
cd "$(dirname "$0")/.."
# disk <when>: free space where the builds and the tests' data go. A disk
# that fills mid-run fails tests with errors that do not name it (RocksDB
# aborts on ENOSPC), so the log says how much there was.
disk() {
  echo "test: disk $1: $(df -h --output=avail . | tail -1 | tr -d ' ') free here," \
    "$(df -h --output=avail "${TMPDIR:-/tmp}" | tail -1 | tr -d ' ') in ${TMPDIR:-/tmp}"
}
disk "at start"
if [ "${SANITIZE:-0}" = 1 ]; then
  export BUILD_DIR=${BUILD_DIR:-build-asan} BUILD_TYPE=Debug ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
  bash scripts/build.sh -DRINGKV_SANITIZE=ON -DRINGKV_BUILD_BENCH=OFF
  echo "test: skipping the clang thread-safety check in the sanitizer build"
  RINGKV_CI_ASAN=0  # this run is the ASan run
else
  bash scripts/build.sh
  bash scripts/thread-safety.sh "${BUILD_DIR:-build}"
fi

# stage <name> <command...>: runs one extra stage unless RINGKV_CI_<NAME>=0;
# a failure is remembered, reported before ctest, and fails the run.
summary=()
failed=0
stage() {
  local name=$1 var="RINGKV_CI_${1^^}"
  shift
  if [ "${RINGKV_CI_EXTRA:-1}" = 0 ] || [ "${!var:-1}" = 0 ]; then
    summary+=("$name skipped")
    return
  fi
  local start=$SECONDS
  echo "test: stage $name: $*"
  if (unset BUILD_DIR BUILD_TYPE; "$@"); then
    summary+=("$name passed in $((SECONDS - start)) s")
  else
    summary+=("$name FAILED after $((SECONDS - start)) s")
    failed=1
  fi
  if [ "${RINGKV_CI_PRUNE:-0}" = 1 ] && [ -d "build-$name" ]; then
    find "build-$name" -type f ! -name '*.log' ! -path '*/crashes/*' -delete
    disk "after pruning build-$name"
  fi
}
stage fuzz bash scripts/fuzz.sh
stage asan bash scripts/sanitize.sh asan
stage tsan bash scripts/sanitize.sh tsan
for s in "${summary[@]}"; do echo "test: stage $s"; done
disk "before ctest"

cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j "$(nproc)" || failed=1
exit $failed
