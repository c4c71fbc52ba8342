#!/usr/bin/env bash
# The rebalancing checker at full size: the same test as ctest's
# cluster.rebalance (tests/cluster/test_rebalance.py) with KEYS keys
# (default 100000): 3 -> 4 -> 5 -> 4 -> 3 nodes, vnodes 160 -> 64 -> 256, and
# a router kill -9 during copying, while client threads write and read without
# pause. Fails if any request failed, any read was stale, any acknowledged
# write is lost, or any key is held by a node that does not own it.
#
#   bench/rebalance-checker.sh [ringkv binary] [keys] [client threads]
set -euo pipefail
cd "$(dirname "$0")/.."
RINGKV_BIN=$(realpath "${1:-build/cli/ringkv}")
export RINGKV_BIN
export CHECKER_KEYS=${2:-100000}
export CHECKER_THREADS=${3:-4}
export CHECKER_STEP_TIMEOUT=${CHECKER_STEP_TIMEOUT:-600}
export PYTHONDONTWRITEBYTECODE=1
cd tests
start=$(date +%s)
/usr/bin/python3 -m unittest -v cluster/test_rebalance.py
echo "checker: $CHECKER_KEYS keys, $CHECKER_THREADS client threads: passed in $(( $(date +%s) - start )) s"
