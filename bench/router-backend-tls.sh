#!/usr/bin/env bash
# TLS between the router and its node against plaintext: two routers, each
# over one `ringkv node`, one reaching its node in plaintext, the other over
# TLS (backend_tls_*, the node with resp_tls_only); plaintext redis-benchmark
# against both routers' proxies, alternating every round and flipping the
# order. Prints the median rps of each and the median per-round ratio
# TLS/plain. Certificates: a throwaway CA made with openssl in a temp dir.
#
# Usage: bench/router-backend-tls.sh <ringkv binary> [rounds]
#   env: REQUESTS (100000), PIPELINES ("1 16"), TESTS (set,get), CLIENTS (50)
set -euo pipefail
# shellcheck source=bench/lib/pairs.sh
source "$(dirname "$0")/lib/pairs.sh"
cd "$(dirname "$0")/.."
BIN=$1 ROUNDS=${2:-5}
REQUESTS=${REQUESTS:-100000}
PIPELINES=${PIPELINES:-1 16}
TESTS=${TESTS:-set,get}
CLIENTS=${CLIENTS:-50}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

json_port() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
wait_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }

ssl() { openssl "$@" >/dev/null 2>&1; }
(
  cd "$work"
  ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 2 -subj "/CN=bench CA"
  echo "subjectAltName=IP:127.0.0.1" >san.cnf
  for n in node router; do
    ssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr \
      -subj "/CN=$n"
    ssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $n.crt -days 2 \
      -extfile san.cnf
  done
)

declare -A extra_node extra_router port
extra_node[plain]=""
extra_router[plain]=""
extra_node[tls]="--resp-tls-only true --tls-cert-file $work/node.crt --tls-key-file $work/node.key --tls-ca-cert-file $work/ca.crt"
extra_router[tls]="--backend-tls-ca-cert-file $work/ca.crt --backend-tls-cert-file $work/router.crt --backend-tls-key-file $work/router.key"
for m in plain tls; do
  # shellcheck disable=SC2086 # the extra flags are words
  "$BIN" node --resp-port 0 --http-port 0 --grpc-port 0 --ports-file "$work/node-$m.json" \
    --log-level warn ${extra_node[$m]} >"$work/node-$m.log" 2>&1 &
  wait_file "$work/node-$m.json"
  # shellcheck disable=SC2086
  "$BIN" router --http-port 0 --resp-port 0 --grpc-port 0 --data-dir "$work/router-$m" \
    --nodes "127.0.0.1:$(json_port "$work/node-$m.json" http_port)" --io-threads 1 \
    --log-level warn --ports-file "$work/router-$m.json" ${extra_router[$m]} \
    >"$work/router-$m.log" 2>&1 &
  wait_file "$work/router-$m.json"
  port[$m]=$(json_port "$work/router-$m.json" resp_port)
  redis-cli -p "${port[$m]}" set warm-up 1 | grep -q OK || { echo "router $m: no OK" >&2; exit 1; }
done

bench() {  # bench <port> <pipeline> -> "TEST rps" lines
  redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -r 100000 -n "$REQUESTS" -P "$2" \
    -t "$TESTS" --csv 2>/dev/null | tail -n +2 | tr -d '"' | awk -F, '{split($1, a, " "); print a[1], $2}'
}

for round in $(seq "$ROUNDS"); do
  for p in $PIPELINES; do
    if ((round % 2)); then
      bench "${port[plain]}" "$p" >"$work/p.out"
      bench "${port[tls]}" "$p" >"$work/t.out"
    else
      bench "${port[tls]}" "$p" >"$work/t.out"
      bench "${port[plain]}" "$p" >"$work/p.out"
    fi
    pair_record "" " P$p" "$work/p.out" "$work/t.out"
  done
done

printf '# router->node TLS vs plaintext; %s rounds, %s requests, -c %s\n' "$ROUNDS" "$REQUESTS" \
  "$CLIENTS"
pair_report 12 9 "test" "plain rps" "TLS rps" "TLS/plain" "min-max"
