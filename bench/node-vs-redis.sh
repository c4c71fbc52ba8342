#!/usr/bin/env bash
# ringkv node against redis-server, started the same way on run-time ports,
# measured alternately in one run with redis-benchmark. Prints requests/s of
# each and the ratio ringkv/redis per line.
#
# Usage: bench/node-vs-redis.sh [rounds]   (env: REQUESTS, PIPELINED_REQUESTS, RINGKV_BIN)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-1}
REQUESTS=${REQUESTS:-200000}
PIPELINED_REQUESTS=${PIPELINED_REQUESTS:-2000000}
RINGKV=${RINGKV_BIN:-build/cli/ringkv}
TESTS=${TESTS:-set,get,incr,mset}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$RINGKV" node --resp-port 0 --http-port 0 --grpc-port 0 --ports-file "$work/node.json" --log-level warn &
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
for _ in $(seq 100); do [ -s "$work/node.json" ] && redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
node_port=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["resp_port"])' "$work/node.json")

bench() {  # bench <port> <pipeline> <requests> -> "TEST rps" lines
  redis-benchmark -p "$1" -c 50 -r 100000 -n "$3" -P "$2" -t "$TESTS" --csv 2>/dev/null |
    tail -n +2 | tr -d '"' | awk -F, '{split($1, a, " "); print a[1], $2}'
}

declare -A ours theirs
for round in $(seq "$ROUNDS"); do
  for p in 1 16; do
    n=$REQUESTS; [ "$p" -gt 1 ] && n=$PIPELINED_REQUESTS
    while read -r t v; do theirs["$t P$p"]+="$v "; done < <(bench "$redis_port" "$p" "$n")
    while read -r t v; do ours["$t P$p"]+="$v "; done < <(bench "$node_port" "$p" "$n")
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-12s %14s %14s %8s\n' "test" "redis rps" "ringkv rps" "ratio"
for p in 1 16; do
  for t in SET GET INCR MSET; do
    key="$t P$p"
    [ -n "${ours[$key]:-}" ] || continue
    o=$(echo "${ours[$key]}" | median); r=$(echo "${theirs[$key]}" | median)
    printf '%-12s %14.0f %14.0f %7.2fx\n' "$t -P $p" "$r" "$o" "$(awk -v o="$o" -v r="$r" 'BEGIN {print o / r}')"
  done
done
