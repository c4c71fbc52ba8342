#!/usr/bin/env bash
# Two ringkv binaries (A = before, B = after a change) side by side, in one
# run: for the node (`ringkv node`) or the router's RESP proxy (`ringkv
# router` over three redis-servers), redis-benchmark alternates between the
# two processes every round, flipping the order. Prints the median rps of
# each and the median of the per-round ratios B/A, with their range, and the
# CPU time (user + system) each process spent per request: on a busy machine
# the rps swing with the neighbours, the CPU per request much less.
#
# Usage: bench/ab-resp.sh node|router <binary A> <binary B> [rounds]
#   env: REQUESTS (100000), PIPELINES ("1 16"), TESTS (set,get), CLIENTS (50)
set -euo pipefail
# shellcheck source=bench/lib/pairs.sh
source "$(dirname "$0")/lib/pairs.sh"
cd "$(dirname "$0")/.."
MODE=$1 A=$2 B=$3 ROUNDS=${4:-5}
REQUESTS=${REQUESTS:-100000}
PIPELINES=${PIPELINES:-1 16}
TESTS=${TESTS:-set,get}
CLIENTS=${CLIENTS:-50}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
resp_port() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["resp_port"])' "$1"; }
wait_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }

nodes=""
if [ "$MODE" = router ]; then
  for i in 1 2 3; do
    p=$(free_port)
    redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
    nodes+="127.0.0.1:$p,"
  done
  sleep 0.5
fi
start() {  # start <binary> <name>
  if [ "$MODE" = node ]; then
    "$1" node --resp-port 0 --http-port 0 --grpc-port 0 --ports-file "$work/$2.json" --log-level warn &
  else
    "$1" router --http-port 0 --resp-port 0 --data-dir "$work/$2" --nodes "${nodes%,}" \
      --io-threads 1 --log-level warn --ports-file "$work/$2.json" >"$work/$2.log" 2>&1 &
  fi
  pid[$2]=$!
  wait_file "$work/$2.json"
}
declare -A pid cpu
cpu[a]=0 cpu[b]=0
start "$A" a
start "$B" b
pa=$(resp_port "$work/a.json") pb=$(resp_port "$work/b.json")

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
bench_cpu() {  # bench_cpu <a|b> <port> <pipeline>: bench, adding the process's CPU ticks to cpu[]
  local t0; t0=$(ticks "${pid[$1]}")
  bench "$2" "$3" >"$work/out"
  cpu[$1]=$((cpu[$1] + $(ticks "${pid[$1]}") - t0))
  cat "$work/out"
}
bench() {  # bench <port> <pipeline> -> "TEST rps" lines
  redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -r 100000 -n "$REQUESTS" -P "$2" -t "$TESTS" \
    --csv 2>/dev/null | tail -n +2 | tr -d '"' | awk -F, '{split($1, a, " "); print a[1], $2}'
}

for round in $(seq "$ROUNDS"); do
  for p in $PIPELINES; do
    if ((round % 2)); then
      bench_cpu a "$pa" "$p" >"$work/a.out"
      bench_cpu b "$pb" "$p" >"$work/b.out"
    else
      bench_cpu b "$pb" "$p" >"$work/b.out"
      bench_cpu a "$pa" "$p" >"$work/a.out"
    fi
    pair_record "" " P$p" "$work/a.out" "$work/b.out"
  done
done

printf '# %s, %s rounds, %s requests, -c %s\n' "$MODE" "$ROUNDS" "$REQUESTS" "$CLIENTS"
pair_report 10 8 test "A rps" "B rps" "B/A" "B/A min-max"
requests=$((ROUNDS * REQUESTS * $(wc -w <<<"$PIPELINES") * $(tr , ' ' <<<"$TESTS" | wc -w)))
hz=$(getconf CLK_TCK)
awk -v a="${cpu[a]}" -v b="${cpu[b]}" -v n="$requests" -v hz="$hz" 'BEGIN {
  printf "CPU per request: A %.2f us, B %.2f us, B/A %.2fx\n", a / hz * 1e6 / n, b / hz * 1e6 / n, b / a }'
