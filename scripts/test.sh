#!/usr/bin/env bash
# Quick start (b): installs what is missing, builds, checks the lock
# annotations with clang (scripts/thread-safety.sh) and runs the whole test
# suite with ctest. Exits non-zero if either fails.
#
#   scripts/test.sh              # RelWithDebInfo build in build/
#   SANITIZE=1 scripts/test.sh   # Debug + ASan/UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SANITIZE:-0}" = 1 ]; then
  export BUILD_DIR=${BUILD_DIR:-build-asan} BUILD_TYPE=Debug ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
  bash scripts/build.sh -DRINGKV_SANITIZE=ON -DRINGKV_BUILD_BENCH=OFF
  echo "test: skipping the clang thread-safety check in the sanitizer build"
else
  bash scripts/build.sh
  bash scripts/thread-safety.sh "${BUILD_DIR:-build}"
fi
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j "$(nproc)"
