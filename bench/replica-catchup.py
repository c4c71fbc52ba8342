#!/usr/bin/env python3
"""Catching up a replica that was away, at replication 3 (quorum).

Five memory-engine `ringkv node`s behind a `ringkv router` with
--replication 3. One node is stopped (SIGSTOP) for AWAY_S seconds (default
10) while a writer puts KEYS distinct keys (default 100000) through the
router, pipelined; the other replicas acknowledge them (quorum) and keep
hints for the stopped one. Then it is continued (SIGCONT). Prints the write
rate while it was away, the hints held for it, and the seconds from SIGCONT
until its peers hold no hint any more and a sample of its keys reads back
newest from its own copy (RINGKV.PEEK, a local-only read).

Usage: bench/replica-catchup.py [ringkv binary] [keys] [away seconds]
"""
import http.client
import json
import os
import random
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
os.environ.setdefault("RINGKV_BIN", os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                                                    else os.path.join(ROOT, "build/cli/ringkv")))
from harness import Node, Router, wait_for  # noqa: E402

import redis  # noqa: E402

KEYS = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
AWAY_S = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
SAMPLE = 2000


def metric(node, name):
    conn = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=10)
    conn.request("GET", "/metrics")
    body = conn.getresponse().read().decode()
    conn.close()
    return sum(float(line.split()[-1]) for line in body.splitlines()
               if line.startswith(name + " ") or line.startswith(name + "{"))


def main():
    work = tempfile.mkdtemp(prefix="ringkv-catchup-")
    procs = []
    try:
        nodes = [Node(work, "--id", f"n{i}", name=f"n{i}") for i in range(5)]
        procs += nodes
        router = Router(work, "--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in nodes),
                        "--replication", "3", "--log-level", "warn")
        procs.append(router)
        rc = redis.Redis(host="127.0.0.1", port=router.resp_port, socket_timeout=30)
        victim = nodes[2]
        vaddr = f"127.0.0.1:{victim.resp_port}"
        others = [n for n in nodes if n is not victim]

        os.kill(victim.proc.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        written = 0
        while written < KEYS:
            pipe = rc.pipeline(transaction=False)
            for i in range(written, min(KEYS, written + 1000)):
                pipe.set(f"cu:{i}", f"v{i}")
            for r in pipe.execute():
                assert r is True, r
            written = min(KEYS, written + 1000)
        write_s = time.monotonic() - stopped
        time.sleep(max(0.0, AWAY_S - write_s))
        hints = sum(metric(n, "ringkv_replica_hints") for n in others)
        os.kill(victim.proc.pid, signal.SIGCONT)
        resumed = time.monotonic()
        wait_for(lambda: sum(metric(n, "ringkv_replica_hints") for n in others) == 0,
                 timeout=600, what="every hint replayed")
        hinted_s = time.monotonic() - resumed

        # A sample of the stopped node's keys reads back newest from its own copy.
        conn = http.client.HTTPConnection("127.0.0.1", router.http_port, timeout=10)
        rng = random.Random(1)
        mine = []
        while len(mine) < SAMPLE:
            k = f"cu:{rng.randrange(KEYS)}"
            conn.request("POST", "/get-node", json.dumps({"value": k}))
            if vaddr in json.loads(conn.getresponse().read())["replicas"]:
                mine.append(k)
        direct = redis.Redis(host="127.0.0.1", port=victim.resp_port, socket_timeout=30)

        def caught_up():
            held = direct.execute_command("RINGKV.PEEK", *mine)
            return all(e is not None and e[3].decode() == "v" + k[3:] for k, e in zip(mine, held))
        wait_for(caught_up, timeout=600, what="the sample caught up")
        total_s = time.monotonic() - resumed
        print(f"replica catch-up: {KEYS} keys written in {write_s:.1f} s "
              f"({KEYS / write_s:.0f}/s) while one of 5 nodes was stopped "
              f"{max(AWAY_S, write_s):.1f} s; {hints:.0f} hints held for it; "
              f"hints replayed {hinted_s:.2f} s after SIGCONT; "
              f"{SAMPLE} sampled keys newest on it {total_s:.2f} s after SIGCONT")
    finally:
        for p in procs:
            p.stop()


if __name__ == "__main__":
    main()
