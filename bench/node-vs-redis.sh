#!/usr/bin/env bash
# ringkv node against redis-server, started the same way on run-time ports,
# measured alternately in one run with redis-benchmark. Prints requests/s of
# each and the ratio ringkv/redis per line.
#
# Usage: bench/node-vs-redis.sh [rounds]
#   env: RINGKV_BIN, REQUESTS, PIPELINED_REQUESTS, TESTS, PIPELINES ("1 16"),
#        CLIENT_THREADS (redis-benchmark --threads; 0 = its single-threaded
#        client), NODE_ARGS (extra `ringkv node` flags, e.g. "--io-threads 2")
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-1}
REQUESTS=${REQUESTS:-200000}
PIPELINED_REQUESTS=${PIPELINED_REQUESTS:-2000000}
RINGKV=${RINGKV_BIN:-build/cli/ringkv}
TESTS=${TESTS:-set,get,incr,mset}
PIPELINES=${PIPELINES:-1 16}
CLIENT_THREADS=${CLIENT_THREADS:-0}
read -r -a node_args <<<"${NODE_ARGS:-}"
client_args=()
[ "$CLIENT_THREADS" -gt 0 ] && client_args=(--threads "$CLIENT_THREADS")
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$RINGKV" node --resp-port 0 --http-port 0 --grpc-port 0 --ports-file "$work/node.json" --log-level warn "${node_args[@]}" &
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
for _ in $(seq 100); do [ -s "$work/node.json" ] && redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
node_port=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["resp_port"])' "$work/node.json")

bench() {  # bench <port> <pipeline> <requests> -> "TEST rps" lines
  redis-benchmark -p "$1" -c 50 -r 100000 -n "$3" -P "$2" -t "$TESTS" "${client_args[@]}" --csv 2>/dev/null |
    tail -n +2 | tr -d '"' | awk -F, '{split($1, a, " "); print a[1], $2}'
}

# Each round measures both servers back to back, the order flipping every
# round; a round's ratio compares two runs seconds apart under the same
# neighbours. Printed: median rps of each, median ratio, min-max of the ratios.
declare -A ours theirs ratios
for round in $(seq "$ROUNDS"); do
  for p in $PIPELINES; do
    n=$REQUESTS; [ "$p" -gt 1 ] && n=$PIPELINED_REQUESTS
    declare -A rr=() oo=()
    if ((round % 2)); then
      while read -r t v; do rr[$t]=$v; done < <(bench "$redis_port" "$p" "$n")
      while read -r t v; do oo[$t]=$v; done < <(bench "$node_port" "$p" "$n")
    else
      while read -r t v; do oo[$t]=$v; done < <(bench "$node_port" "$p" "$n")
      while read -r t v; do rr[$t]=$v; done < <(bench "$redis_port" "$p" "$n")
    fi
    for t in "${!oo[@]}"; do
      [ -n "${rr[$t]:-}" ] || continue
      theirs["$t P$p"]+="${rr[$t]} "
      ours["$t P$p"]+="${oo[$t]} "
      ratios["$t P$p"]+="$(awk -v o="${oo[$t]}" -v r="${rr[$t]}" 'BEGIN {print o / r}') "
    done
    unset rr oo
  done
done

sorted() { tr ' ' '\n' | grep -v '^$' | sort -g; }
median() { sorted | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-12s %12s %12s %8s %14s\n' "test" "redis rps" "ringkv rps" "ratio" "ratio min-max"
for p in $PIPELINES; do
  for t in SET GET INCR MSET; do
    key="$t P$p"
    [ -n "${ours[$key]:-}" ] || continue
    o=$(echo "${ours[$key]}" | median); r=$(echo "${theirs[$key]}" | median)
    m=$(echo "${ratios[$key]}" | median)
    lo=$(echo "${ratios[$key]}" | sorted | head -1); hi=$(echo "${ratios[$key]}" | sorted | tail -1)
    printf '%-12s %12.0f %12.0f %7.2fx %8.2f-%.2f\n' "$t -P $p" "$r" "$o" "$m" "$lo" "$hi"
  done
done
