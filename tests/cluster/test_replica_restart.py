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
from harness import wait_for  # noqa: E402
from test_replication import HEALTH, ReplicationTestCase  # noqa: E402

DEAD_S = float(os.environ.get("REPLICATION_DEAD_S", "4"))


class RocksDbRestartTest(ReplicationTestCase):
    def test_kill9_and_restart_on_the_same_data_dir_loses_nothing(self):
        dirs = [os.path.join(self.workdir, f"n{i}.db") for i in range(5)]
        nodes = [self.start_node("--id", f"n{i}", "--data-dir", dirs[i], name=f"node{i}")
                 for i in range(5)]
        router = self.start_router(
            "--nodes", ",".join(f"127.0.0.1:{x.http_port}" for x in nodes),
            "--replication", "3", *HEALTH)
        victim = nodes[2]
        checker = self.start_checker(router)

        victim.kill9()
        wait_for(lambda: self.node_state(router, "n2") == "down", timeout=15,
                 what="the killed node marked down")
        self.wait_traffic(checker, 300, "traffic without n2")
        time.sleep(DEAD_S)
        restarted = self.start_node("--id", "n2", "--data-dir", dirs[2], name="node2-restarted",
                                    resp_port=victim.resp_port, http_port=victim.http_port,
                                    grpc_port=victim.grpc_port)
        wait_for(lambda: self.node_state(router, "n2") == "active", timeout=30,
                 what="the restarted node active again")
        self.wait_traffic(checker, 300, "traffic with n2 back")
        time.sleep(1.0)
        self.stop_checker(checker)
        # Caught up: the restarted node holds the newest state of its keys.
        self.assert_caught_up(router, restarted, checker)


if __name__ == "__main__":
    unittest.main()
