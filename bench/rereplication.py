#!/usr/bin/env python3
"""Re-replication after a kill, at replication 3: how fast a dead node's
keys get their third copy back.

Five memory-engine `ringkv node`s behind a router with --replication 3 hold
KEYS keys (default 1000000, VALUE bytes each, default 100), loaded through
the router with `redis-cli --pipe`. One node is killed (kill -9); once the
health checks mark it down, `POST /remove-node` starts the migration that
copies its arcs from the surviving replicas to the nodes that gain them.
For comparison the same cluster shape at replication 1 adds a node (a plain
move) in the same run. Prints keys/s of each copy phase
(copy_started_ms..copy_finished_ms of the migration record) and checks that
every key is on exactly 3 nodes afterwards (sum of DBSIZE).

Usage: bench/rereplication.py [ringkv binary] [keys] [value bytes]
"""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
os.environ.setdefault("RINGKV_BIN", os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                                                    else os.path.join(ROOT, "build/cli/ringkv")))
from harness import Node, Router, wait_for  # noqa: E402

import redis  # noqa: E402

KEYS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
VALUE = int(sys.argv[3]) if len(sys.argv) > 3 else 100
HEALTH = ["--health-interval-ms", "200", "--health-timeout-ms", "300",
          "--health-failures", "3", "--health-successes", "2"]


def api(router, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", router.http_port, timeout=60)
    conn.request(method, path, json.dumps(body) if body is not None else None)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, json.loads(data) if data else None


def load(port):
    value = "x" * VALUE
    proto = "".join(f"*3\r\n$3\r\nSET\r\n${len(k)}\r\n{k}\r\n${VALUE}\r\n{value}\r\n"
                    for k in (f"rr:{i}" for i in range(KEYS)))
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=proto.encode(), check=True,
                   stdout=subprocess.DEVNULL)


def last_migration(router):
    wait_for(lambda: api(router, "GET", "/migrations")[1]["current"] is None, timeout=1800,
             what="the migration done")
    m = api(router, "GET", "/migrations")[1]["history"][-1]
    assert m["state"] == "done", m
    secs = max(1, m["copy_finished_ms"] - m["copy_started_ms"]) / 1000
    total = (m["finished_ms"] - m["created_ms"]) / 1000
    return m["keys_moved"], secs, total


def run(replication, work):
    procs = []
    try:
        nodes = [Node(work, "--id", f"r{replication}n{i}", name=f"r{replication}n{i}")
                 for i in range(5)]
        procs += nodes
        spare = None
        members = nodes if replication > 1 else nodes[:4]
        router = Router(work, "--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in members),
                        "--replication", str(replication), "--log-level", "warn", *HEALTH,
                        name=f"router{replication}")
        procs.append(router)
        load(router.resp_port)
        if replication > 1:
            victim = nodes[4]
            victim.kill9()
            wait_for(lambda: any(n["state"] == "down" for n in api(router, "GET", "/nodes")[1]["nodes"]),
                     timeout=30, what="the killed node marked down")
            status, data = api(router, "POST", f"/remove-node/127.0.0.1:{victim.http_port}")
            assert status in (200, 202), (status, data)
            keys, secs, whole = last_migration(router)
            held = sum(redis.Redis(port=n.resp_port).dbsize() for n in nodes[:4])
            assert held == 3 * KEYS, (held, 3 * KEYS)
            what = "re-replication after a kill (r=3, 5 -> 4 nodes)"
        else:
            spare = nodes[4]
            status, data = api(router, "POST", "/add-node", {"value": f"127.0.0.1:{spare.http_port}"})
            assert status in (200, 202), (status, data)
            keys, secs, whole = last_migration(router)
            what = "a plain move (r=1, add a 5th node)"
        print(f"{what}: {keys} keys copied in {secs:.2f} s = {keys / secs:,.0f} keys/s "
              f"(the whole migration, grace periods and cleanup included: {whole:.1f} s)")
        return keys / secs
    finally:
        for p in procs:
            p.stop()


def main():
    work = tempfile.mkdtemp(prefix="ringkv-rerepl-")
    r3 = run(3, work)
    r1 = run(1, work)
    print(f"re-replication / plain move: {r3 / r1:.2f}x ({KEYS} keys of {VALUE} bytes)")


if __name__ == "__main__":
    main()
