#!/usr/bin/env bash
# Quick start (b): installs what is missing, builds, and runs the whole test
# suite with ctest. Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 -j "$(nproc)"
