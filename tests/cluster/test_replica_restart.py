"""Replicas on RocksDB: a node killed with kill -9 and restarted on its data
directory rejoins, catches up, and nothing acknowledged is lost.

Five RocksDB nodes at replication 3, quorum reads and writes. A checker
writes and reads through the router without pause; one node is killed
(kill -9), the others serve its keys (0 failed requests), and it is
restarted on the same data directory and ports. The router marks it active
again (nothing flushed), its peers replay the hints they kept for it, and
it ends up holding the newest value or tombstone of each of its keys
(RINGKV.PEEK on its own port is a local-only read).

Size: REPLICATION_KEYS keys (default 600).
"""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from checker import Checker  # noqa: E402
from harness import http_json, wait_for  # noqa: E402
from test_replication import KEYS, THREADS, ReplicationTestCase  # noqa: E402

DEAD_S = float(os.environ.get("REPLICATION_DEAD_S", "4"))
HEALTH = ("--health-interval-ms", "200", "--health-timeout-ms", "300",
          "--health-failures", "3", "--health-successes", "2")


class RocksDbRestartTest(ReplicationTestCase):
    def node_state(self, router, node_id):
        status, data = http_json("GET", router.http + "/nodes")
        self.assertEqual(status, 200, data)
        return next(n["state"] for n in data["nodes"] if n["id"] == node_id)

    def test_kill9_and_restart_on_the_same_data_dir_loses_nothing(self):
        dirs = [os.path.join(self.workdir, f"n{i}.db") for i in range(5)]
        nodes = [self.start_node("--id", f"n{i}", "--data-dir", dirs[i], name=f"node{i}")
                 for i in range(5)]
        router = self.start_router(
            "--nodes", ",".join(f"127.0.0.1:{x.http_port}" for x in nodes),
            "--replication", "3", *HEALTH)
        victim = nodes[2]
        checker = Checker(router.resp_port, keys_per_thread=KEYS // THREADS, threads=THREADS,
                          once_keys=KEYS, use_incr=False)
        checker.preload()
        checker.start()
        before = checker.ops
        wait_for(lambda: checker.ops > before + 100, timeout=30, what="client traffic")

        victim.kill9()
        wait_for(lambda: self.node_state(router, "n2") == "down", timeout=15,
                 what="the killed node marked down")
        before = checker.ops
        wait_for(lambda: checker.ops > before + 300, timeout=30, what="traffic without n2")
        time.sleep(DEAD_S)
        restarted = self.start_node("--id", "n2", "--data-dir", dirs[2], name="node2-restarted",
                                    resp_port=victim.resp_port, http_port=victim.http_port,
                                    grpc_port=victim.grpc_port)
        wait_for(lambda: self.node_state(router, "n2") == "active", timeout=30,
                 what="the restarted node active again")
        before = checker.ops
        wait_for(lambda: checker.ops > before + 300, timeout=30, what="traffic with n2 back")
        time.sleep(1.0)
        checker.stop()
        self.assertEqual(checker.failures[:10], [], f"{len(checker.failures)} failed requests")
        self.assertEqual(checker.stale[:10], [], f"{len(checker.stale)} stale reads")
        self.assertGreater(checker.acked_writes, 0)
        bad = checker.verify()
        self.assertEqual(bad[:10], [], f"{len(bad)} acknowledged writes lost")

        # Caught up: the restarted node holds the newest state of its keys.
        want = dict(checker.once)
        for t in range(checker.threads):
            want.update(checker.expected[t])
        addr = f"127.0.0.1:{victim.resp_port}"
        mine = [k for k in want if addr in self.replicas_of(router, k)]
        self.assertTrue(mine)

        def behind():
            held = self.local(restarted, mine)
            return [k for k in mine
                    if (want[k] is None and held[k] is not None and held[k][0] == "value")
                    or (want[k] is not None and held[k] != ("value", want[k]))]
        deadline = time.monotonic() + 30
        while (bad := behind()) and time.monotonic() < deadline:
            time.sleep(0.3)
        self.assertEqual(bad[:10], [], f"{len(bad)} of {len(mine)} keys stale on the restarted node")


if __name__ == "__main__":
    unittest.main()
