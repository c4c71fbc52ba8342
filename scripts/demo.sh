#!/usr/bin/env bash
# Quick start (a): installs what is missing, builds, starts a local cluster
# (a router and three ringkv nodes), writes and reads keys through it, and
# shows which node holds each. The cluster keeps running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
RINGKV=$PWD/build/cli/ringkv
RUN_DIR=${RUN_DIR:-$PWD/run}
step() { printf '\n\033[1m== %s\033[0m\n' "$1"; }

step "Starting a router and 3 nodes in $RUN_DIR"
"$RINGKV" cluster down --run-dir "$RUN_DIR" >/dev/null 2>&1 || true
"$RINGKV" cluster up --nodes 3 --run-dir "$RUN_DIR"
status=$("$RINGKV" cluster status --run-dir "$RUN_DIR" --json)
field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["router"][sys.argv[2]])' "$status" "$1"; }
HTTP=$(field http)
RESP_PORT=$(field resp); RESP_PORT=${RESP_PORT##*:}

step "Writing 6 keys through the router's Redis port ($RESP_PORT) and reading them back"
for k in user:1 user:2 user:3 cart:7 session:42 page:home; do
  redis-cli -p "$RESP_PORT" set "$k" "value-of-$k" >/dev/null
  printf '%-12s -> %s\n' "$k" "$(redis-cli -p "$RESP_PORT" get "$k")"
done

step "Which node holds each key (seed 000's POST /get-node, seed 001's X-CacheServer-* headers)"
for k in user:1 user:2 user:3 cart:7 session:42 page:home; do
  node=$(curl -s -X POST -d "{\"value\": \"$k\"}" "http://$HTTP/get-node")
  index=$(curl -s -D - -o /dev/null "http://$HTTP/kv/$k" | tr -d '\r' | awk -F': ' '/X-CacheServer-Index/ {print $2}')
  printf '%-12s %s  X-CacheServer-Index: %s\n' "$k" "$node" "$index"
done

step "The same through HTTP (seed 001's /kv/{key})"
curl -s -X PUT -H 'Content-Type: application/json' -d '{"value": "hello from http"}' "http://$HTTP/kv/greeting"; echo
curl -s "http://$HTTP/kv/greeting"; echo

step "Cluster status"
"$RINGKV" cluster status --run-dir "$RUN_DIR"

step "What-if: keys moved by adding a 4th node, beside the ideal 1/(n+1)"
"$RINGKV" ring simulate --nodes 3 --vnodes 160 --keys 200000 --add 1

printf '\nThe cluster is still running. Try:\n'
printf '  redis-cli -p %s\n  curl -s http://%s/nodes\n' "$RESP_PORT" "$HTTP"
printf '  %s cluster add-node --run-dir %s\n  %s cluster down --run-dir %s\n' "$RINGKV" "$RUN_DIR" "$RINGKV" "$RUN_DIR"
