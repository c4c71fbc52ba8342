#!/usr/bin/env bash
# ringkv's RESP proxy vs twemproxy (nutcracker) over the same three
# redis-servers, in one run, alternating, plus one redis-server directly as
# the baseline for the latency each proxy adds.
#
#   bench/router-vs-twemproxy.sh [ringkv binary] [requests] [rounds]
#
# Env: THREADS (ringkv router RESP I/O threads, default 1), CLIENTS (50),
# KEYSPACE (100000). Ports are picked at run time; everything started here is
# stopped on exit. Prints, per test and pipeline depth, the rps of each and
# their ratio, and p50/p99 added over direct Redis (the best of `rounds`).
set -euo pipefail

RINGKV=${1:-${RINGKV_BIN:-build/cli/ringkv}}
REQUESTS=${2:-200000}
ROUNDS=${3:-3}
THREADS=${THREADS:-1}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}

for tool in redis-server redis-benchmark nutcracker python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
[[ -x $RINGKV ]] || { echo "ringkv not found at $RINGKV (run scripts/build.sh first)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/ringkv-bench-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listening on $1" >&2
  exit 1
}

REDIS_PORTS=()
for i in 1 2 3; do
  p=$(free_port)
  redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
    --logfile "$WORK/redis$i.log" &
  PIDS+=($!)
  REDIS_PORTS+=("$p")
done
for p in "${REDIS_PORTS[@]}"; do wait_port "$p"; done

# ringkv router in front of the same servers (it detects them as redis by PING)
nodes=$(printf '127.0.0.1:%s,' "${REDIS_PORTS[@]}")
"$RINGKV" router --http-port 0 --resp-port 0 --data-dir "$WORK/router" --nodes "${nodes%,}" \
  --io-threads "$THREADS" --log-level warn --ports-file "$WORK/ringkv.json" \
  >"$WORK/ringkv.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do [[ -s $WORK/ringkv.json ]] && break; sleep 0.05; done
RINGKV_PORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["resp_port"])' \
  "$WORK/ringkv.json")

# nutcracker: ketama over the same servers, one connection per server (as ringkv per thread)
TW_PORT=$(free_port)
{
  echo "ring:"
  echo "  listen: 127.0.0.1:$TW_PORT"
  echo "  hash: fnv1a_64"
  echo "  distribution: ketama"
  echo "  redis: true"
  echo "  auto_eject_hosts: false"
  echo "  timeout: 1000"
  echo "  server_connections: 1"
  echo "  servers:"
  for p in "${REDIS_PORTS[@]}"; do echo "   - 127.0.0.1:$p:1"; done
} >"$WORK/nutcracker.yml"
nutcracker -c "$WORK/nutcracker.yml" -s "$(free_port)" -a 127.0.0.1 -p "$WORK/nutcracker.pid" \
  -o "$WORK/nutcracker.log" &
PIDS+=($!)
wait_port "$TW_PORT"
wait_port "$RINGKV_PORT"

# bench <port> <pipeline> -> lines "TEST rps p50 p99"
bench() {
  redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -r "$KEYSPACE" -n "$REQUESTS" -P "$2" \
    -t set,get --csv 2>/dev/null |
    awk -F, 'NR > 1 { gsub(/"/, ""); split($0, f, ","); print f[1], f[2], f[5], f[7] }'
}

declare -A RPS P50 P99
record() {  # record <who> <pipeline>: keeps the best rps and lowest latencies over rounds
  local who=$1 pl=$2 test rps p50 p99 k
  while read -r test rps p50 p99; do
    k="$who/$test/$pl"
    if [[ -z ${RPS[$k]:-} ]] || awk -v a="$rps" -v b="${RPS[$k]}" 'BEGIN{exit !(a>b)}'; then
      RPS[$k]=$rps
    fi
    if [[ -z ${P50[$k]:-} ]] || awk -v a="$p50" -v b="${P50[$k]}" 'BEGIN{exit !(a<b)}'; then
      P50[$k]=$p50
    fi
    if [[ -z ${P99[$k]:-} ]] || awk -v a="$p99" -v b="${P99[$k]}" 'BEGIN{exit !(a<b)}'; then
      P99[$k]=$p99
    fi
  done < <(bench "$3" "$pl")
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; $REQUESTS requests, -c $CLIENTS -r $KEYSPACE," \
  "best of $ROUNDS rounds; ringkv router threads=$THREADS"
for round in $(seq "$ROUNDS"); do
  for pl in 1 16; do
    record ringkv "$pl" "$RINGKV_PORT"
    record twemproxy "$pl" "$TW_PORT"
    record redis "$pl" "${REDIS_PORTS[0]}"
  done
  echo "# round $round done" >&2
done

printf '%-4s %-3s %12s %12s %7s %12s | %-28s | %-28s\n' test P ringkv twemproxy ratio redis \
  "ringkv adds p50/p99 ms" "twemproxy adds p50/p99 ms"
for pl in 1 16; do
  for test in SET GET; do
    r=${RPS[ringkv/$test/$pl]} t=${RPS[twemproxy/$test/$pl]} d=${RPS[redis/$test/$pl]}
    awk -v test="$test" -v pl="$pl" -v r="$r" -v t="$t" -v d="$d" \
      -v r50="${P50[ringkv/$test/$pl]}" -v r99="${P99[ringkv/$test/$pl]}" \
      -v t50="${P50[twemproxy/$test/$pl]}" -v t99="${P99[twemproxy/$test/$pl]}" \
      -v d50="${P50[redis/$test/$pl]}" -v d99="${P99[redis/$test/$pl]}" 'BEGIN {
        printf "%-4s %-3s %12.0f %12.0f %6.2fx %12.0f | %+8.3f / %+8.3f           | %+8.3f / %+8.3f\n",
          test, pl, r, t, r / t, d, r50 - d50, r99 - d99, t50 - d50, t99 - d99 }'
  done
done
