"""Replicas: every key on `replication` nodes, quorum reads and writes,
failover within the request, hints, and never a flush.

A checker client writes and reads through the router without pause while a
node is killed (kill -9) or stopped (SIGSTOP) and continued. With
replication 3 at quorum no request fails, no read is stale, and every
acknowledged write — keys written once and never again included — reads
back. A node that was away holds the newest value of each of its keys
afterwards (RINGKV.PEEK on its own port is a local-only read).

Size: REPLICATION_KEYS keys (default 600 here).
"""
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checker import Checker  # noqa: E402
from harness import ClusterTestCase, http_json, metric, wait_for  # noqa: E402

import redis  # noqa: E402

KEYS = int(os.environ.get("REPLICATION_KEYS", "600"))
THREADS = 3
AWAY_S = float(os.environ.get("REPLICATION_AWAY_S", "10"))
# Health checks that mark a node down within about a second.
HEALTH = ("--health-interval-ms", "200", "--health-timeout-ms", "300",
          "--health-failures", "3", "--health-successes", "2")


class ReplicationTestCase(ClusterTestCase):
    def start_cluster(self, n, replication, *router_extra, node_extra=()):
        nodes = [self.start_node("--id", f"n{i}", *node_extra, name=f"node{i}") for i in range(n)]
        addrs = [f"127.0.0.1:{x.http_port}" for x in nodes]
        router = self.start_router("--nodes", ",".join(addrs), "--replication", str(replication),
                                   *router_extra)
        return nodes, router

    def replicas_of(self, router, key):
        status, data = http_json("POST", router.http + "/get-node", {"value": key})
        self.assertEqual(status, 200, data)
        return data["replicas"]

    def local(self, node, keys):
        """What `node` itself holds for each key: (kind, value) or None."""
        c = redis.Redis(host="127.0.0.1", port=node.resp_port, socket_timeout=10)
        out = {}
        for i in range(0, len(keys), 200):
            chunk = keys[i:i + 200]
            for k, e in zip(chunk, c.execute_command("RINGKV.PEEK", *chunk)):
                out[k] = None if e is None else ("tomb" if e[1] == 1 else "value", e[3].decode())
        c.close()
        return out

    def node_state(self, router, node_id):
        status, data = http_json("GET", router.http + "/nodes")
        self.assertEqual(status, 200, data)
        return next(n["state"] for n in data["nodes"] if n["id"] == node_id)

    def start_checker(self, router):
        """A checker under way through `router`, its keys preloaded. No INCR:
        a command the router re-sends to the next replica after a timeout
        may also run on the stalled one (docs/replication.md)."""
        checker = Checker(router.resp_port, keys_per_thread=KEYS // THREADS, threads=THREADS,
                          once_keys=KEYS, use_incr=False)
        checker.preload()
        checker.start()
        self.wait_traffic(checker, 100, "client traffic")
        return checker

    def wait_traffic(self, checker, ops, what):
        before = checker.ops
        wait_for(lambda: checker.ops > before + ops, timeout=30, what=what)

    def stop_checker(self, checker, failures_allowed=False):
        """Stops `checker`: 0 stale reads and 0 acknowledged writes lost, and
        0 failed requests unless allowed."""
        checker.stop()
        if not failures_allowed:
            self.assertEqual(checker.failures[:10], [], f"{len(checker.failures)} failed requests")
        self.assertEqual(checker.stale[:10], [], f"{len(checker.stale)} stale reads")
        self.assertGreater(checker.acked_writes, 0)
        bad = checker.verify()
        self.assertEqual(bad[:10], [], f"{len(bad)} acknowledged writes lost")

    def run_checker_around(self, router, fault, settle=1.0):
        checker = self.start_checker(router)
        fault()
        self.wait_traffic(checker, 100, "traffic after the fault")
        time.sleep(settle)
        self.stop_checker(checker)
        return checker

    def assert_caught_up(self, router, node, checker, addr=None):
        """Within 30 s `node`'s own copy (RINGKV.PEEK) holds the newest value
        or tombstone of each of its keys that `checker` wrote."""
        addr = addr or f"127.0.0.1:{node.resp_port}"
        want = dict(checker.once)
        for t in range(checker.threads):
            want.update(checker.expected[t])
        mine = [k for k in want if addr in self.replicas_of(router, k)]
        self.assertTrue(mine)

        def behind():
            held = self.local(node, mine)
            return [k for k in mine
                    if (want[k] is None and held[k] is not None and held[k][0] == "value")
                    or (want[k] is not None and held[k] != ("value", want[k]))]
        deadline = time.monotonic() + 30
        while (bad := behind()) and time.monotonic() < deadline:
            time.sleep(0.3)
        self.assertEqual(bad[:10], [], f"{len(bad)} of {len(mine)} keys stale on {addr}")


class QuorumTest(ReplicationTestCase):
    def test_kill9_of_a_node_fails_no_request_and_loses_nothing(self):
        nodes, router = self.start_cluster(5, 3)
        victim = nodes[1]
        self.run_checker_around(router, victim.kill9, settle=2.0)

    def test_sigstop_then_sigcont_loses_nothing_and_the_node_catches_up(self):
        nodes, router = self.start_cluster(5, 3)
        victim = nodes[2]

        def stall():
            os.kill(victim.proc.pid, signal.SIGSTOP)
            time.sleep(AWAY_S)
            os.kill(victim.proc.pid, signal.SIGCONT)

        checker = self.run_checker_around(router, stall)
        # Reads that had asked only the stalled replica asked the others
        # after speculative_read_ms, not after the peer link's timeout.
        self.assertGreater(sum(metric(n, "replica_speculative_reads_total")
                               for n in nodes if n is not victim), 0)
        # The returned node holds the newest value of each of its keys, once
        # its hints are replayed: read its own copy, not a quorum.
        self.assert_caught_up(router, victim, checker)


if __name__ == "__main__":
    unittest.main()
