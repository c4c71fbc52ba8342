#!/usr/bin/env bash
# The cost of one anti-entropy pass: NODES `ringkv node`s behind a `ringkv
# router` with --replication REPLICATION, KEYS keys loaded through the router
# (redis-cli --pipe), then POST /repair (a pass on every node, each pair
# compared once). Prints, per node, the CPU-seconds the pass cost (utime +
# stime from /proc/PID/stat, before and after) and, per replica pair, the
# bytes exchanged, the buckets compared and the keys repaired.
#
# With MISSING > 0 the last node misses MISSING writes first: it is stopped
# (SIGSTOP) while the first node coordinates that many SETs of the loaded
# keys, hints are off (max_hint_bytes 1), and it is continued before the pass.
#
# Usage: bench/anti-entropy.sh [ringkv binary]
#   env: KEYS (1000000), NODES (3), REPLICATION (3), VALUE_BYTES (16), MISSING (0),
#        SCAN_RATE, REPAIR_RATE (node --anti-entropy-scan-keys-per-sec and
#        --anti-entropy-max-keys-per-sec; default the node's)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/cli/ringkv}
KEYS=${KEYS:-1000000}
NODES=${NODES:-3}
REPLICATION=${REPLICATION:-3}
VALUE_BYTES=${VALUE_BYTES:-16}
MISSING=${MISSING:-0}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
wait_file() { for _ in $(seq 400); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "no $1" >&2; exit 1; }
cpu_s() {  # utime + stime of a pid, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

https="" pids=()
extra=(--anti-entropy-interval-s 0)
[ -n "${SCAN_RATE:-}" ] && extra+=(--anti-entropy-scan-keys-per-sec "$SCAN_RATE")
[ -n "${REPAIR_RATE:-}" ] && extra+=(--anti-entropy-max-keys-per-sec "$REPAIR_RATE")
((MISSING > 0)) && extra+=(--max-hint-bytes 1)
for i in $(seq "$NODES"); do
  "$BIN" node --id "n$i" --resp-port 0 --http-port 0 --grpc-port 0 --log-level warn \
    "${extra[@]}" --ports-file "$work/n$i.json" >"$work/n$i.log" 2>&1 &
  wait_file "$work/n$i.json"
  https+="127.0.0.1:$(field "$work/n$i.json" http_port),"
  pids+=("$(field "$work/n$i.json" pid)")
done
"$BIN" router --http-port 0 --resp-port 0 --grpc-port 0 --data-dir "$work/router.data" \
  --nodes "${https%,}" --replication "$REPLICATION" --log-level warn \
  --ports-file "$work/router.json" >"$work/router.log" 2>&1 &
wait_file "$work/router.json"
router_http="127.0.0.1:$(field "$work/router.json" http_port)"
router_resp=$(field "$work/router.json" resp_port)
sleep 1

sets() {  # sets <count> <value byte>: RESP SETs of key:0.. to stdout
  python3 - "$1" "$VALUE_BYTES" "$2" <<'PY'
import sys
keys, size, byte = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
value = byte * size
out = sys.stdout.buffer
for i in range(keys):
    k = b"key:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, size, value))
PY
}
sets "$KEYS" v | redis-cli -p "$router_resp" --pipe >/dev/null
# Every replica holds its keys (the last acknowledgements may trail the replies).
want=$((KEYS * REPLICATION))
for _ in $(seq 600); do
  held=0
  for i in $(seq "$NODES"); do
    n=$(curl -s "127.0.0.1:$(field "$work/n$i.json" http_port)/stats" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"])')
    held=$((held + n))
  done
  [ "$held" -ge "$want" ] && break
  sleep 0.1
done
echo "# loaded $KEYS keys ($VALUE_BYTES-byte values), $held entries on $NODES nodes, replication $REPLICATION"
if ((MISSING > 0)); then
  last=${pids[$((NODES - 1))]}
  kill -STOP "$last"
  sets "$MISSING" w | redis-cli -p "$(field "$work/n1.json" resp_port)" --pipe >/dev/null
  sleep 2.5  # past peer_timeout_ms: what n1 sent the stopped node is dropped, not applied late
  kill -CONT "$last"
  echo "# n$NODES missed $MISSING writes n1 coordinated (stopped, no hints)"
fi

before=()
for p in "${pids[@]}"; do before+=("$(cpu_s "$p")"); done
start=$(date +%s.%N)
curl -s -X POST "$router_http/repair" >/dev/null
for _ in $(seq 3000); do
  done_=$(curl -s "$router_http/repair" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(1 if r["state"] == "idle" and r["totals"]["passes"] >= len(r["nodes"]) else 0)')
  [ "$done_" = 1 ] && break
  sleep 0.1
done
wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
echo "# one pass on every node (POST /repair), done in ${wall}s (wall, with polling)"
printf '%-6s %12s\n' node "CPU-seconds"
for i in "${!pids[@]}"; do
  printf '%-6s %12.2f\n' "n$((i + 1))" "$(awk -v a="${before[$i]}" -v b="$(cpu_s "${pids[$i]}")" 'BEGIN {print b - a}')"
done
curl -s "$router_http/repair" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("%-10s %12s %14s %10s %8s" % ("pair", "shared keys", "buckets", "bytes", "repaired"))
for n in r["nodes"]:
    for p in (n.get("last") or {}).get("peers", []):
        print("%-10s %12d %14s %10d %8d" % (n["id"] + "-" + p["id"], p["shared_keys"],
              "%d of %d differ" % (p["buckets_differing"], p["buckets_compared"]),
              p["bytes"], p["keys_pushed"] + p["keys_pulled"]))'
