#!/usr/bin/env bash
# Replication 3 at quorum against replication 1, through the router, in one
# run: two clusters of NODES `ringkv node`s, each behind its own `ringkv
# router` (--replication 1 and --replication 3), and redis-benchmark SET and
# GET against each router, alternating cluster order every round. Prints the
# median rps and p99 of each and the median ratios (replication 3 / 1), and
# the CPU time each cluster (its nodes and router: utime + stime from
# /proc/PID/stat) used per request, which a busy machine disturbs much less.
#
# Usage: bench/replication-vs-single.sh [ringkv binary] [rounds]
#   env: REQUESTS (100000), PIPELINES ("1 16"), CLIENTS (50), NODES (3)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/cli/ringkv} ROUNDS=${2:-3}
REQUESTS=${REQUESTS:-100000}
PIPELINES=${PIPELINES:-1 16}
CLIENTS=${CLIENTS:-50}
NODES=${NODES:-3}
work=$(mktemp -d)
# The clusters start in $( ) subshells, so `jobs` does not list them: their pids are in files.
trap 'kill $(jobs -p) $(cat "$work"/*.pids 2>/dev/null) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

port_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
wait_file() { for _ in $(seq 400); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }

cluster() {  # cluster <name> <replication>: nodes + router; prints the router's RESP port
  local https=""
  for i in $(seq "$NODES"); do
    "$BIN" node --id "$1-n$i" --resp-port 0 --http-port 0 --grpc-port 0 --log-level warn \
      --ports-file "$work/$1-n$i.json" >"$work/$1-n$i.log" 2>&1 &
    echo $! >>"$work/$1.pids"
    wait_file "$work/$1-n$i.json"
    https+="127.0.0.1:$(port_of "$work/$1-n$i.json" http_port),"
  done
  "$BIN" router --http-port 0 --resp-port 0 --grpc-port 0 --data-dir "$work/$1.data" \
    --nodes "${https%,}" --replication "$2" --log-level warn --ports-file "$work/$1.json" \
    >"$work/$1.log" 2>&1 &
  echo $! >>"$work/$1.pids"
  wait_file "$work/$1.json"
  port_of "$work/$1.json" resp_port
}
p1=$(cluster r1 1)
p3=$(cluster r3 3)
sleep 1

ticks() {  # ticks <cluster>: CPU clock ticks its processes used so far
  local t=0 p
  for p in $(cat "$work/$1.pids"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$t"
}
hz=$(getconf CLK_TCK)
bench() {  # bench <port> <pipeline> <cluster> -> "TEST rps p99_ms cpu_us_per_request" lines
  local t a b line
  for t in set get; do
    a=$(ticks "$3")
    line=$(redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -r 100000 -n "$REQUESTS" -P "$2" \
      -t "$t" --csv 2>/dev/null | tail -n +2 | tr -d '"' | awk -F, '{print $1, $2, $7}')
    b=$(ticks "$3")
    echo "$line $(awk -v d=$((b - a)) -v hz="$hz" -v n="$REQUESTS" 'BEGIN {print d * 1e6 / hz / n}')"
  done
}
declare -A r1 r3 l1 l3 c1 c3
for round in $(seq "$ROUNDS"); do
  for p in $PIPELINES; do
    if ((round % 2)); then
      bench "$p1" "$p" r1 >"$work/a"; bench "$p3" "$p" r3 >"$work/b"
    else
      bench "$p3" "$p" r3 >"$work/b"; bench "$p1" "$p" r1 >"$work/a"
    fi
    while read -r t v l c; do r1["$t P$p"]+="$v "; l1["$t P$p"]+="$l "; c1["$t P$p"]+="$c "; done <"$work/a"
    while read -r t v l c; do r3["$t P$p"]+="$v "; l3["$t P$p"]+="$l "; c3["$t P$p"]+="$c "; done <"$work/b"
    paste -d' ' "$work/a" "$work/b" | while read -r t v l _ _ w m _; do
      echo "$t P$p $(awk -v a="$v" -v b="$w" 'BEGIN {print b / a}') $(awk -v a="$l" -v b="$m" 'BEGIN {print (a > 0 ? b / a : 0)}')"
    done >>"$work/ratios"
  done
done

sorted() { tr ' ' '\n' | grep -v '^$' | sort -g; }
median() { sorted | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '# replication 3 (quorum) vs 1 through the router: %s nodes each, %s rounds, %s requests, -c %s\n' \
  "$NODES" "$ROUNDS" "$REQUESTS" "$CLIENTS"
printf '%-8s %10s %10s %8s %9s %9s %8s %8s %8s\n' test "rps r=1" "rps r=3" "ratio" "p99 r=1" "p99 r=3" \
  "p99 x" "cpu r=1" "cpu r=3"
for key in $(printf '%s\n' "${!r1[@]}" | sort | tr ' ' '_'); do
  k=${key//_/ }
  rps=$(grep "^$k " "$work/ratios" | awk '{print $3}' | median)
  lat=$(grep "^$k " "$work/ratios" | awk '{print $4}' | median)
  printf '%-8s %10.0f %10.0f %7.2fx %8.2fms %8.2fms %7.2fx %6.1fus %6.1fus\n' "$k" \
    "$(echo "${r1[$k]}" | median)" "$(echo "${r3[$k]}" | median)" "$rps" \
    "$(echo "${l1[$k]}" | median)" "$(echo "${l3[$k]}" | median)" "$lat" \
    "$(echo "${c1[$k]}" | median)" "$(echo "${c3[$k]}" | median)"
done
