#!/usr/bin/env bash
# Memory per key: loads N keys of 16 bytes with 32-byte values into a ringkv
# node and into redis-server, and reports (used_memory after - before) / N from
# INFO, and the growth of the process's resident set, for both.
#
# Usage: bench/bytes-per-key.sh [N]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
RINGKV=${RINGKV_BIN:-build/cli/ringkv}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$RINGKV" node --resp-port 0 --http-port 0 --grpc-port 0 --ports-file "$work/node.json" --log-level warn &
node_pid=$!
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
redis_pid=$!
for _ in $(seq 100); do [ -s "$work/node.json" ] && redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
node_port=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["resp_port"])' "$work/node.json")

# RESP SET commands: key:%012d (16 bytes), value of 32 bytes.
/usr/bin/python3 - "$N" > "$work/load.resp" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
for i in range(n):
    k = b"key:%012d" % i
    v = b"v" * 20 + b"%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$16\r\n" + k + b"\r\n$32\r\n" + v + b"\r\n")
PY

used() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1=="used_memory" {print $2}'; }
rss() { awk '/VmRSS/ {print $2 * 1024}' "/proc/$1/status"; }

report() {  # report <name> <port> <pid>
  local before rss_before after rss_after
  before=$(used "$2"); rss_before=$(rss "$3")
  redis-cli -p "$2" --pipe < "$work/load.resp" >/dev/null
  after=$(used "$2"); rss_after=$(rss "$3")
  local keys; keys=$(redis-cli -p "$2" dbsize)
  awk -v name="$1" -v n="$keys" -v a="$after" -v b="$before" -v ra="$rss_after" -v rb="$rss_before" \
    'BEGIN {printf "%-8s keys %d   used_memory %.1f bytes/key   RSS %.1f bytes/key\n", name, n, (a-b)/n, (ra-rb)/n}'
}
report redis "$redis_port" "$redis_pid"
report ringkv "$node_port" "$node_pid"
