#!/usr/bin/env bash
# RESP over TLS against plaintext, for ringkv (the router's proxy over one
# `ringkv node`, or a node alone) and for redis-server in the same run:
# redis-benchmark --tls and plain alternate every round against each server,
# flipping the order. Prints each server's median rps over TLS and plain and
# the median of the per-round ratios TLS/plain; the goal is ringkv's ratio
# >= 0.7 and no worse than redis-server's. Certificates: a throwaway CA made
# with openssl in a temp dir; redis-benchmark presents a client certificate
# (tls-auth-clients yes on both servers).
#
# Usage: bench/tls-vs-plain.sh <ringkv binary> [rounds]
#   env: TARGET (router|node, default router), REQUESTS (100000),
#        PIPELINES ("1 16"), TESTS (set,get), CLIENTS (50),
#        THREADS (redis-benchmark --threads; 1 = its default single thread)
set -euo pipefail
# shellcheck source=bench/lib/pairs.sh
source "$(dirname "$0")/lib/pairs.sh"
cd "$(dirname "$0")/.."
BIN=$1 ROUNDS=${2:-5}
TARGET=${TARGET:-router}
REQUESTS=${REQUESTS:-100000}
PIPELINES=${PIPELINES:-1 16}
TESTS=${TESTS:-set,get}
CLIENTS=${CLIENTS:-50}
THREADS=${THREADS:-1}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json_port() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
wait_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }
wait_port() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; exit 1; }

# A CA, a server certificate for 127.0.0.1 and a client certificate.
ssl() { openssl "$@" >/dev/null 2>&1; }
(
  cd "$work"
  ssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=bench CA"
  echo "subjectAltName=IP:127.0.0.1" >san.cnf
  for n in server client; do
    ssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj "/CN=$n"
    ext=(); [ $n = server ] && ext=(-extfile san.cnf)
    ssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $n.crt -days 2 "${ext[@]}"
  done
)
tls_server=(--tls-cert-file "$work/server.crt" --tls-key-file "$work/server.key"
  --tls-ca-cert-file "$work/ca.crt")
tls_client=(--tls --cacert "$work/ca.crt" --cert "$work/client.crt" --key "$work/client.key")

declare -A pid plain tls
# ringkv: the proxy over one node, or the node alone.
rk_tls=$(free_port)
if [ "$TARGET" = router ]; then
  "$BIN" node --resp-port 0 --http-port 0 --grpc-port 0 --ports-file "$work/node.json" \
    --log-level warn >"$work/node.log" 2>&1 &
  wait_file "$work/node.json"
  "$BIN" router --http-port 0 --resp-port 0 --grpc-port 0 --data-dir "$work/router" \
    --nodes "127.0.0.1:$(json_port "$work/node.json" http_port)" --io-threads 1 \
    --tls-port "$rk_tls" "${tls_server[@]}" --log-level warn --ports-file "$work/rk.json" \
    >"$work/rk.log" 2>&1 &
else
  "$BIN" node --resp-port 0 --http-port 0 --grpc-port 0 --tls-port "$rk_tls" "${tls_server[@]}" \
    --log-level warn --ports-file "$work/rk.json" >"$work/rk.log" 2>&1 &
fi
pid[ringkv]=$!
wait_file "$work/rk.json"
plain[ringkv]=$(json_port "$work/rk.json" resp_port) tls[ringkv]=$rk_tls
# redis-server, both ports, as shipped by Debian.
plain[redis]=$(free_port) tls[redis]=$(free_port)
redis-server --port "${plain[redis]}" --tls-port "${tls[redis]}" "${tls_server[@]}" \
  --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pid[redis]=$!
wait_port "${plain[redis]}"

bench() {  # bench <port> <pipeline> [tls flags] -> "TEST rps" lines
  local port=$1 p=$2
  shift 2
  local threads=()
  ((THREADS > 1)) && threads=(--threads "$THREADS")
  redis-benchmark -h 127.0.0.1 -p "$port" "$@" "${threads[@]}" -c "$CLIENTS" -r 100000 -n "$REQUESTS" -P "$p" \
    -t "$TESTS" --csv 2>/dev/null | tail -n +2 | tr -d '"' | awk -F, '{split($1, a, " "); print a[1], $2}'
}

for round in $(seq "$ROUNDS"); do
  for p in $PIPELINES; do
    for s in ringkv redis; do
      if ((round % 2)); then
        bench "${plain[$s]}" "$p" >"$work/p.out"
        bench "${tls[$s]}" "$p" "${tls_client[@]}" >"$work/t.out"
      else
        bench "${tls[$s]}" "$p" "${tls_client[@]}" >"$work/t.out"
        bench "${plain[$s]}" "$p" >"$work/p.out"
      fi
      pair_record "$s " " P$p" "$work/p.out" "$work/t.out"
    done
  done
done

printf '# TLS vs plaintext, ringkv = %s; %s rounds, %s requests, -c %s, --threads %s\n' "$TARGET" \
  "$ROUNDS" "$REQUESTS" "$CLIENTS" "$THREADS"
pair_report 20 9 "server test" "plain rps" "TLS rps" "TLS/plain" "min-max"
