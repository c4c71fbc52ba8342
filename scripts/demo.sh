#!/usr/bin/env bash
# Quick start (a): installs what is missing, builds, starts a local cluster
# (a router and three ringkv nodes), writes and reads keys through it, and
# shows which node holds each, then adds a fourth node live and shows the
# keys that moved and that every key is still readable. Last, a second
# cluster of 4 nodes at replication 3 loses a node to kill -9: every key stays
# readable, and `cluster remove-node` of the dead node copies its arcs again
# until each key has 3 copies (DBSIZE of the live nodes). The first cluster
# keeps running afterwards.
#
# `cluster up` generates the cluster's secrets into 0600 files of the run
# directory; this script reads the password from there into the environment
# (REDISCLI_AUTH, which redis-cli and the Python snippets below use), never
# onto a command line.
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
REDISCLI_AUTH=$(cat "$RUN_DIR/requirepass"); export REDISCLI_AUTH
# curl reads the header from a file, so the password stays off its command line.
AUTH_HEADER=$RUN_DIR/.auth-header
(umask 077; printf 'Authorization: Bearer %s\n' "$REDISCLI_AUTH" > "$AUTH_HEADER")

step "Writing 6 keys through the router's Redis port ($RESP_PORT) and reading them back"
for k in user:1 user:2 user:3 cart:7 session:42 page:home; do
  redis-cli -p "$RESP_PORT" set "$k" "value-of-$k" >/dev/null
  printf '%-12s -> %s\n' "$k" "$(redis-cli -p "$RESP_PORT" get "$k")"
done

step "Which node holds each key (the consistent_hashing_server's POST /get-node, the FastAPI cache balancer's X-CacheServer-* headers)"
for k in user:1 user:2 user:3 cart:7 session:42 page:home; do
  node=$(curl -s -X POST -d "{\"value\": \"$k\"}" "http://$HTTP/get-node")
  index=$(curl -s -H @"$AUTH_HEADER" -D - -o /dev/null "http://$HTTP/kv/$k" | tr -d '\r' | awk -F': ' '/X-CacheServer-Index/ {print $2}')
  printf '%-12s %s  X-CacheServer-Index: %s\n' "$k" "$node" "$index"
done

step "The same through HTTP (the FastAPI cache balancer's /kv/{key})"
curl -s -X PUT -H @"$AUTH_HEADER" -H 'Content-Type: application/json' -d '{"value": "hello from http"}' "http://$HTTP/kv/greeting"; echo
curl -s -H @"$AUTH_HEADER" "http://$HTTP/kv/greeting"; echo

step "Cluster status"
"$RINGKV" cluster status --run-dir "$RUN_DIR"

step "Loading 20000 keys, then adding a 4th node while the cluster serves"
/usr/bin/python3 - "$RESP_PORT" <<'PY'
import os, sys, redis
r = redis.Redis(port=int(sys.argv[1]), password=os.environ["REDISCLI_AUTH"])
pipe = r.pipeline(transaction=False)
for i in range(20000):
    pipe.set(f"demo:{i}", f"value-{i}")
pipe.execute()
print("wrote 20000 keys; DBSIZE through the router:", r.dbsize())
PY
"$RINGKV" cluster add-node --run-dir "$RUN_DIR"

step "What moved: keys on the new node beside the ideal 1/(n+1) = 1/4, and every key still readable"
status=$("$RINGKV" cluster status --run-dir "$RUN_DIR" --json)
/usr/bin/python3 - "$RESP_PORT" "$status" <<'PY'
import json, os, sys, redis
PASS = os.environ["REDISCLI_AUTH"]
router = redis.Redis(port=int(sys.argv[1]), password=PASS)
nodes = json.loads(sys.argv[2])["nodes"]
counts = {}
for n in nodes:
    host, port = n["addr"].rsplit(":", 1)
    node = redis.Redis(host=host, port=int(port), password=PASS)
    counts[n["name"]] = sum(1 for _ in node.scan_iter("demo:*", count=1000))
newest = max(counts, key=lambda name: int(name.rsplit("-", 1)[1]))
for name, c in sorted(counts.items()):
    print(f"  {name:8} {c:6} keys")
moved = counts[newest] / 20000
print(f"moved to {newest}: {moved:.3f} of the keys (ideal 1/4 = 0.250)")
keys = [f"demo:{i}" for i in range(20000)]
ok = sum(1 for i in range(0, 20000, 1000)
         for k, v in zip(keys[i:i + 1000], router.mget(keys[i:i + 1000]))
         if v == f"value-{k.split(':')[1]}".encode())
print(f"readable through the router with the right value: {ok}/20000")
sys.exit(0 if ok == 20000 else 1)
PY

step "Any node serves any key: GET user:1 on every node (non-owners forward it to the owner in one hop)"
/usr/bin/python3 - "$status" <<'PY'
import json, os, sys, redis
for n in json.loads(sys.argv[1])["nodes"]:
    host, port = n["addr"].rsplit(":", 1)
    c = redis.Redis(host=host, port=int(port), password=os.environ["REDISCLI_AUTH"])
    here = bool(list(c.scan_iter("user:1")))
    print(f"  {n['name']:8} GET user:1 -> {c.get('user:1').decode()}  ({'owner' if here else 'forwarded'})")
PY

step "Replicas: a second cluster with --replication 3 keeps serving when a node is killed (kill -9), then restores 3 copies"
R3_DIR=$RUN_DIR-r3
"$RINGKV" cluster down --run-dir "$R3_DIR" >/dev/null 2>&1 || true
"$RINGKV" cluster up --nodes 4 --replication 3 --run-dir "$R3_DIR" >/dev/null
r3=$("$RINGKV" cluster status --run-dir "$R3_DIR" --json)
R3_AUTH=$(cat "$R3_DIR/requirepass")
export R3_AUTH
victim=$(/usr/bin/python3 - "$r3" <<'PY'
import json, os, signal, sys, time, redis
status = json.loads(sys.argv[1])
router = redis.Redis(port=int(status["router"]["resp"].rsplit(":", 1)[1]), socket_timeout=5,
                     password=os.environ["R3_AUTH"])
keys = [f"r3:{i}" for i in range(1000)]
router.mset({k: f"value-{k}" for k in keys})
victim = status["nodes"][0]
print(f"wrote 1000 keys at replication 3 on 4 nodes; killing {victim['name']} (pid {victim['pid']}) with SIGKILL", file=sys.stderr)
os.kill(victim["pid"], signal.SIGKILL)
time.sleep(0.2)
ok = sum(1 for k, v in zip(keys, router.mget(keys)) if v == f"value-{k}".encode())
print(f"readable through the router right after the kill, with the right value: {ok}/1000", file=sys.stderr)
router.set("r3:after-kill", "written with a node dead")
print("a write after the kill:", router.get("r3:after-kill").decode(), file=sys.stderr)
print(victim["name"])
sys.exit(0 if ok == 1000 else 1)
PY
)
echo "removing the dead $victim: its arcs are copied again from the surviving replicas"
"$RINGKV" cluster remove-node "$victim" --run-dir "$R3_DIR" >/dev/null
r3=$("$RINGKV" cluster status --run-dir "$R3_DIR" --json)
/usr/bin/python3 - "$r3" "$victim" <<'PY'
import json, os, sys, redis
status, victim = json.loads(sys.argv[1]), sys.argv[2]
total = 0
for node in status["nodes"]:
    if node["name"] == victim or not node["alive"]:
        continue
    host, port = node["addr"].rsplit(":", 1)
    size = redis.Redis(host=host, port=int(port), socket_timeout=5,
                       password=os.environ["R3_AUTH"]).dbsize()
    print(f"  {node['name']}: DBSIZE {size}")
    total += size
print(f"copies on the 3 live nodes: {total} = 3 x {total // 3} keys" if total == 3 * 1001 else f"copies: {total}, expected {3 * 1001}")
sys.exit(0 if total == 3 * 1001 else 1)
PY
"$RINGKV" cluster down --run-dir "$R3_DIR" >/dev/null

printf '\nThe cluster is still running. Try:\n'
printf '  REDISCLI_AUTH=$(cat %s/requirepass) redis-cli -p %s\n  curl -s http://%s/nodes\n' "$RUN_DIR" "$RESP_PORT" "$HTTP"
printf '  %s cluster add-node --run-dir %s\n  %s cluster down --run-dir %s\n' "$RINGKV" "$RUN_DIR" "$RINGKV" "$RUN_DIR"
