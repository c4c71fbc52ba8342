#!/usr/bin/env bash
# Drives `ringkv ring simulate|locate` as a user would: tables, JSON, and
# clear errors with a non-zero exit for bad arguments.
set -uo pipefail
RINGKV=${1:?usage: ring_cli_test.sh path/to/ringkv}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

expect_ok() {  # expect_ok "<description>" <regex> cmd...
  local what=$1 pattern=$2; shift 2
  local out
  if ! out=$("$@" 2>&1); then fail "$what: exit $?: $out"; return; fi
  grep -Eq -- "$pattern" <<<"$out" || fail "$what: output lacks /$pattern/: $out"
}

expect_error() {  # expect_error "<description>" <regex> cmd...
  local what=$1 pattern=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  [ "$rc" -ne 0 ] || fail "$what: exit 0, wanted an error"
  grep -Eq -- "$pattern" <<<"$out" || fail "$what: message lacks /$pattern/: $out"
}

expect_ok "simulate table" "add 1 node +moved [0-9.]+% .*ideal 9.09%.*surviving nodes: 0" \
  "$RINGKV" ring simulate --nodes 10 --vnodes 160 --keys 100000 --add 1
expect_ok "simulate remove" "remove 2 nodes moved .*ideal 20.00%" \
  "$RINGKV" ring simulate --nodes 10 --keys 50000 --remove 2
for algo in ring jump maglev rendezvous; do
  expect_ok "simulate $algo" "algorithm +$algo" "$RINGKV" ring simulate --nodes 5 --keys 20000 --algo "$algo" --add 1
done

json=$("$RINGKV" ring simulate --nodes 10 --keys 100000 --add 1 --json) || fail "simulate --json exit"
/usr/bin/python3 - "$json" <<'PY' || fail "simulate --json content"
import json, sys
j = json.loads(sys.argv[1])
assert j["nodes"] == 10 and j["keys"] == 100000, j
a = j["add"]
assert a["minimal"] is True and a["stray_moves"] == 0, a
assert abs(a["moved_fraction"] - 1 / 11) < 0.25 / 11, a
assert len(j["balance"]["share"]) == 10
PY

json=$("$RINGKV" ring locate user:1000 --nodes a,b,c --replicas 3 --json) || fail "locate --json exit"
/usr/bin/python3 - "$json" <<'PY' || fail "locate --json content"
import json, sys
j = json.loads(sys.argv[1])
assert j["hash"] == "18115801733967645855", j  # XXH3_64("user:1000"), pinned
assert sorted(j["preference_list"]) == ["a", "b", "c"], j
assert j["owner"] == j["preference_list"][0]
PY
"$RINGKV" ring locate user:1000 --nodes a,b,c,d,e --replication 3 --json >/tmp/ring_cli_locate.$$ \
  || fail "locate --replication --json exit"
/usr/bin/python3 - "$(cat /tmp/ring_cli_locate.$$)" <<'PY' || fail "locate --replication --json content"
import json, sys
j = json.loads(sys.argv[1])
assert j["replication"] == 3 and len(set(j["replicas"])) == 3, j
assert j["replicas"] == j["preference_list"] and j["replicas"][0] == j["owner"], j
PY
rm -f /tmp/ring_cli_locate.$$
expect_ok "locate replication table" "preference list +[a-e], [a-e], [a-e]\$" \
  "$RINGKV" ring locate user:1000 --nodes a,b,c,d,e --replication 3
expect_ok "simulate replication" "replica sets changed [0-9.]+% of keys +copies 0\.[0-9]+ per key +ideal 0\.2727" \
  "$RINGKV" ring simulate --nodes 10 --keys 50000 --add 1 --replication 3

json=$("$RINGKV" ring simulate --nodes 10 --keys 100000 --add 1 --remove 1 --replication 3 --json) \
  || fail "simulate --replication --json exit"
/usr/bin/python3 - "$json" <<'PY' || fail "simulate --replication --json content"
import json, sys
j = json.loads(sys.argv[1])
assert j["replication"] == 3, j
assert abs(sum(j["balance_copies_arcs"]["share"]) - 1) < 1e-9, j
r = j["add"]["replicas"]
assert abs(r["copies_per_key"] - 3 / 11) < 0.25 * 3 / 11, r
assert r["dropped"] == r["copies"], r
assert abs(j["remove"]["replicas"]["ideal_copies_per_key"] - 0.3) < 1e-9, j["remove"]
PY

expect_ok "locate sha256" "hash +3238736544897475342 \(sha256\)" \
  "$RINGKV" ring locate hello --nodes a,b --hash sha256

expect_error "nodes 0" "--nodes must be in" "$RINGKV" ring simulate --nodes 0
expect_error "nodes not a number" "nodes" "$RINGKV" ring simulate --nodes abc
expect_error "unknown algo" "--algo must be one of" "$RINGKV" ring simulate --algo ketama
expect_error "remove all" "--remove must leave at least one node" "$RINGKV" ring simulate --nodes 3 --remove 3
expect_error "bad hash" "--hash must be" "$RINGKV" ring locate k --nodes a --hash md5
expect_error "duplicate node" "duplicate node id 'a'" "$RINGKV" ring locate k --nodes a,a
expect_error "no nodes" "nodes" "$RINGKV" ring locate k
expect_error "replication 6" "--replication must be in \[1, 5\] \(got 6\)" \
  "$RINGKV" ring locate k --nodes a,b --replication 6
expect_error "replication 0" "--replication must be in \[1, 5\]" "$RINGKV" ring simulate --replication 0
expect_error "replication jump" "--replication above 1 needs --algo ring" \
  "$RINGKV" ring simulate --algo jump --replication 2
expect_error "no subcommand" "subcommand" "$RINGKV" ring

if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all ring CLI checks passed"
