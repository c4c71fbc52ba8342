#!/usr/bin/env bash
# The replica fault tests at full size: the same tests as ctest's
# cluster.replication, cluster.replica_restart, cluster.return (and
# cluster.replica_moves when present) with KEYS keys (default 100000) under
# the consistency checker: kill -9 and SIGSTOP 10 s of a node at replication
# 3 (0 failed, 0 stale, 0 lost, the node caught up), a RocksDB node killed
# and restarted on its data dir, and a replication-1 node stopped 8 s (0
# stale, 0 lost). Keys written once and never again are checked with the
# rest.
#
#   bench/replication-checker.sh [ringkv binary] [keys]
set -euo pipefail
cd "$(dirname "$0")/.."
RINGKV_BIN=$(realpath "${1:-build/cli/ringkv}")
export RINGKV_BIN
KEYS=${2:-100000}
export REPLICATION_KEYS=$KEYS RETURN_KEYS=$KEYS MOVES_KEYS=$KEYS
export PYTHONDONTWRITEBYTECODE=1
cd tests
for t in cluster/test_replication.py cluster/test_replica_restart.py cluster/test_return.py \
         cluster/test_replica_moves.py; do
  [ -f "$t" ] || continue
  start=$(date +%s)
  /usr/bin/python3 -m unittest -v "$t"
  echo "$t: $KEYS keys: passed in $(( $(date +%s) - start )) s"
done
