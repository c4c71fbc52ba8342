"""Replication 1: a node that stalls comes back without losing a key.

While a node is stopped (SIGSTOP) the router ejects it and its successors
serve its arcs; writes and deletes land there. When it continues, it is not
flushed and not simply put back (its entries would hide the newer ones): it
takes its arcs back by a migration of kind "return" that keeps the newer of
its entries and its successors' — also their tombstones of keys deleted
while it was away. Requests may fail while it is away; afterwards no
acknowledged write is lost (keys written once and never again included) and
no read is stale.

Size: RETURN_KEYS keys (default 600).
"""
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checker import Checker  # noqa: E402
from harness import ClusterTestCase, http_json, wait_for  # noqa: E402

import redis  # noqa: E402

KEYS = int(os.environ.get("RETURN_KEYS", "600"))
THREADS = 3
AWAY_S = float(os.environ.get("RETURN_AWAY_S", "8"))
HEALTH = ("--health-interval-ms", "200", "--health-timeout-ms", "300",
          "--health-failures", "3", "--health-successes", "2")


class ReturnTest(ClusterTestCase):
    def node_state(self, router, node_id):
        status, data = http_json("GET", router.http + "/nodes")
        self.assertEqual(status, 200, data)
        return next(n["state"] for n in data["nodes"] if n["id"] == node_id)

    def keys_of(self, router, addr, prefix, count):
        out = []
        i = 0
        while len(out) < count:
            status, data = http_json("POST", router.http + "/get-node", {"value": f"{prefix}{i}"})
            self.assertEqual(status, 200, data)
            if data["node"] == addr:
                out.append(f"{prefix}{i}")
            i += 1
        return out

    def local(self, node, keys):
        """What `node` itself holds of each key (RINGKV.PEEK: a local-only read)."""
        c = redis.Redis(host="127.0.0.1", port=node.resp_port, socket_timeout=10)
        held = c.execute_command("RINGKV.PEEK", *keys)
        c.close()
        return {k: None if e is None or e[1] == 1 else e[3].decode() for k, e in zip(keys, held)}

    def test_sigstop_at_replication_1_loses_nothing_and_serves_nothing_stale(self):
        nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(3)]
        router = self.start_router(
            "--nodes", ",".join(f"127.0.0.1:{x.http_port}" for x in nodes), *HEALTH)
        victim = nodes[1]
        vaddr = f"127.0.0.1:{victim.resp_port}"
        rc = redis.Redis(host="127.0.0.1", port=router.resp_port, socket_timeout=10)
        # Keys of the victim that nothing touches after the outage: deleted
        # while it is away, or written while it is away.
        gone = self.keys_of(router, vaddr, "gone:", 20)
        away = self.keys_of(router, vaddr, "away:", 20)
        unknown = self.keys_of(router, vaddr, "unknown:", 1)[0]
        self.assertTrue(rc.mset({k: "before" for k in gone + away}))
        checker = Checker(router.resp_port, keys_per_thread=KEYS // THREADS, threads=THREADS,
                          once_keys=KEYS, use_incr=False)
        checker.preload()
        checker.start()
        before = checker.ops
        wait_for(lambda: checker.ops > before + 100, timeout=30, what="client traffic")

        os.kill(victim.proc.pid, signal.SIGSTOP)
        wait_for(lambda: self.node_state(router, "n1") == "down", timeout=15,
                 what="the stopped node marked down")
        before = checker.ops
        wait_for(lambda: checker.ops > before + 200, timeout=30,
                 what="traffic served by the successors")
        self.assertEqual(rc.delete(*gone), 0)  # the successors do not hold them
        self.assertTrue(rc.mset({k: "while-away" for k in away}))
        with self.assertRaisesRegex(redis.ResponseError, "TRYAGAIN node n1 holds this key"):
            rc.get(unknown)  # unknown, not nil, while n1 is away
        time.sleep(max(0.0, AWAY_S - 2))
        os.kill(victim.proc.pid, signal.SIGCONT)

        def returned():
            status, data = http_json("GET", router.http + "/migrations")
            self.assertEqual(status, 200, data)
            done = [m for m in data["history"] if m["kind"] == "return"]
            return data["current"] is None and done and done[-1]["state"] == "done"
        wait_for(returned, timeout=60, what="the return migration done")
        self.assertEqual(self.node_state(router, "n1"), "active")
        # The copy brought its successors' writes and deletes back.
        self.assertEqual(self.local(victim, away), {k: "while-away" for k in away})
        self.assertEqual(self.local(victim, gone), {k: None for k in gone})
        self.assertEqual(rc.mget(gone), [None] * len(gone))
        before = checker.ops
        wait_for(lambda: checker.ops > before + 300, timeout=30, what="traffic after the return")
        checker.stop()

        self.assertEqual(checker.stale[:10], [], f"{len(checker.stale)} stale reads")
        self.assertGreater(checker.acked_writes, 0)
        bad = checker.verify()
        self.assertEqual(bad[:10], [], f"{len(bad)} acknowledged writes lost")
        # The node is back at work: it serves its keys again.
        status, data = http_json("POST", router.http + "/get-node", {"value": "chk:once:1"})
        self.assertEqual(status, 200, data)
        print(f"{checker.acked_writes} acknowledged writes, {len(checker.failures)} failed "
              f"requests while the node was away", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
