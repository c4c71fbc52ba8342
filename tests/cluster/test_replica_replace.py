"""Re-replication after a permanent loss, with health.replace_after_s.

Five nodes at replication 3 (quorum). A checker writes and reads through the
router without pause; one node is killed (kill -9) and never comes back. The
router, with --health-replace-after-s 2, removes it two seconds after
marking it down, and the migration that follows copies its keys from the
surviving replicas: 0 failed requests, 0 stale reads, 0 acknowledged writes
lost, and afterwards every live key is held by exactly 3 of the 4 nodes
(RINGKV.PEEK on each node's own port is a local-only read; DBSIZE counts
what a node holds, replicas included).

Size: REPLICATION_KEYS keys (default 600).
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from checker import Checker  # noqa: E402
from harness import http_json, wait_for  # noqa: E402
from test_replication import KEYS, THREADS, ReplicationTestCase  # noqa: E402

import redis  # noqa: E402

HEALTH = ("--health-interval-ms", "200", "--health-timeout-ms", "300",
          "--health-failures", "3", "--health-successes", "2", "--health-replace-after-s", "2")


class ReplaceAfterTest(ReplicationTestCase):
    def test_a_node_down_past_replace_after_s_is_removed_and_its_keys_get_3_copies_again(self):
        nodes, router = self.start_cluster(5, 3, *HEALTH)
        victim = nodes[3]
        checker = Checker(router.resp_port, keys_per_thread=KEYS // THREADS, threads=THREADS,
                          once_keys=KEYS, use_incr=False)
        checker.preload()
        checker.start()
        before = checker.ops
        wait_for(lambda: checker.ops > before + 100, timeout=30, what="client traffic")
        victim.kill9()

        def replaced():
            status, data = http_json("GET", router.http + "/nodes")
            self.assertEqual(status, 200, data)
            if any(n["id"] == "n3" for n in data["nodes"]):
                return False
            status, m = http_json("GET", router.http + "/migrations")
            return m["current"] is None and m["history"][-1]["state"] == "done"
        wait_for(replaced, timeout=120, what="n3 removed and its keys copied")
        before = checker.ops
        wait_for(lambda: checker.ops > before + 200, timeout=30, what="traffic afterwards")
        checker.stop()
        self.assertEqual(checker.failures[:10], [], f"{len(checker.failures)} failed requests")
        self.assertEqual(checker.stale[:10], [], f"{len(checker.stale)} stale reads")
        self.assertGreater(checker.acked_writes, 0)
        bad = checker.verify()
        self.assertEqual(bad[:10], [], f"{len(bad)} acknowledged writes lost")

        live = checker.live_keys()
        held = {k: 0 for k in live}
        total = 0
        for node in nodes:
            if node is victim:
                continue
            for k, e in self.local(node, live).items():
                held[k] += e is not None and e[0] == "value"
            c = redis.Redis(host="127.0.0.1", port=node.resp_port, socket_timeout=10)
            total += c.dbsize()
            c.close()
        wrong = {k: n for k, n in held.items() if n != 3}
        self.assertEqual(list(wrong.items())[:10], [], f"{len(wrong)} keys not on exactly 3 nodes")
        self.assertEqual(total, 3 * len(live))


if __name__ == "__main__":
    unittest.main()
