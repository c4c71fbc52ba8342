"""Ring changes of a replicated cluster move replica sets (docs/replication.md,
"Moves"): 5 nodes at replication 3, quorum, a checker client writing and
reading through the router without pause while a node is added, a live node
is removed, the vnode count changes, and a node killed with kill -9 is
removed; a cancelled add-node leaves the old replica sets as they were; a
router killed with kill -9 while keys copy resumes the move; a change of
`replication` itself (PUT /config) moves replica sets the same way,
2 -> 3 -> 2. No request fails, no read is stale and every acknowledged write
reads back; after each change every live key is held by exactly its
replicas (DBSIZE on each node counts replicas; RINGKV.PEEK on a node's own
port is a local-only read).

Size: MOVES_KEYS keys per phase (default 300 here).
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checker import Checker  # noqa: E402
from harness import ClusterTestCase, Router, free_port, http_json, wait_for  # noqa: E402

import redis  # noqa: E402

KEYS = int(os.environ.get("MOVES_KEYS", "300"))
THREADS = 3
REPLICATION = 3
STEP_TIMEOUT = 60
FAST_HEALTH = ("--health-interval-ms", "100", "--health-timeout-ms", "300",
               "--health-failures", "2", "--health-successes", "1")


class ReplicaMovesTest(ClusterTestCase):
    def api(self, method, path, body=None, expect=200):
        status, data = http_json(method, self.router.http + path, body)
        self.assertEqual(status, expect, f"{method} {path}: {data!r}")
        return data

    def wait_done(self, what):
        def finished():
            m = self.api("GET", "/migrations")
            if m.get("current") is not None:
                return None
            hist = m.get("history") or []
            return hist[-1] if hist else {"state": "none"}
        last = wait_for(finished, timeout=STEP_TIMEOUT, what=f"migration of {what} to finish")
        self.assertEqual(last["state"], "done", f"{what}: {last!r}")
        self.assertGreater(last["keys_moved"], 0, f"{what}: {last!r}")

    def run_phase(self, name, change, use_incr=True):
        """A new checker (its own keys) runs while `change` happens; then every
        checker so far must read back all it wrote."""
        checker = Checker(self.router.resp_port, keys_per_thread=KEYS // THREADS,
                          threads=THREADS, prefix=name, once_keys=KEYS, use_incr=use_incr)
        checker.preload()
        checker.start()
        before = checker.ops
        wait_for(lambda: checker.ops > before + 100, timeout=30, what="client traffic")
        change()
        before = checker.ops
        wait_for(lambda: checker.ops > before + 100, timeout=30, what="traffic after the change")
        checker.stop()
        self.assertEqual(checker.failures[:10], [], f"{name}: {len(checker.failures)} failed")
        self.assertEqual(checker.stale[:10], [], f"{name}: {len(checker.stale)} stale reads")
        self.assertGreater(checker.acked_writes, 0)
        self.checkers.append(checker)
        for c in self.checkers:
            bad = c.verify()
            self.assertEqual(bad[:10], [], f"after {name}: {len(bad)} acknowledged writes lost")

    def holders(self, members, keys):
        """key -> sorted RESP addrs of the members holding a live value of it."""
        out = {k: [] for k in keys}
        for n in members:
            c = redis.Redis(host="127.0.0.1", port=n.resp_port, socket_timeout=10)
            addr = f"127.0.0.1:{n.resp_port}"
            for i in range(0, len(keys), 200):
                chunk = keys[i:i + 200]
                for k, e in zip(chunk, c.execute_command("RINGKV.PEEK", *chunk)):
                    if e is not None and e[1] != 1:
                        out[k].append(addr)
            c.close()
        return {k: sorted(v) for k, v in out.items()}

    def assert_on_exactly_their_replicas(self, members, what, copies=REPLICATION):
        live = sorted({k for c in self.checkers for k in c.live_keys()})
        want = {k: sorted(self.api("POST", "/get-node", {"value": k})["replicas"]) for k in live}
        for k in live[:5]:
            self.assertEqual(len(want[k]), copies, want[k])

        def misplaced():
            total = 0
            for n in members:
                c = redis.Redis(host="127.0.0.1", port=n.resp_port, socket_timeout=10)
                total += c.dbsize()
                c.close()
            got = self.holders(members, live)
            bad = [f"{k} on {got[k]}, replicas {want[k]}" for k in live if got[k] != want[k]]
            if total != copies * len(live):
                bad.append(f"DBSIZE sums to {total}, want {copies} x {len(live)}")
            return bad

        # Old replicas drop what they gave away after the grace period.
        deadline = time.monotonic() + 30
        while (bad := misplaced()) and time.monotonic() < deadline:
            time.sleep(0.3)
        self.assertEqual(bad[:10], [], f"after {what}: {len(bad)} keys not on exactly their "
                                       f"{copies} replicas")

    def test_add_then_remove_then_remove_a_dead_node(self):
        nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(6)]
        http = [f"127.0.0.1:{n.http_port}" for n in nodes]
        self.router = self.start_router("--nodes", ",".join(http[:5]),
                                        "--replication", str(REPLICATION),
                                        "--rebalance-grace-ms", "300", *FAST_HEALTH)
        self.checkers = []
        members = nodes[:5]

        def add():
            self.api("POST", "/add-node", {"value": http[5]})
            self.wait_done("add-node")
        self.run_phase("add", add)
        members = nodes[:6]
        self.assert_on_exactly_their_replicas(members, "add-node")

        def remove_live():
            self.api("POST", f"/remove-node/{http[1]}")
            self.wait_done("remove-node (live)")
        self.run_phase("remove", remove_live)
        members = [n for i, n in enumerate(nodes) if i != 1]
        self.assert_on_exactly_their_replicas(members, "remove-node (live)")

        def vnodes():
            self.assertEqual(self.api("PUT", "/config", {"vnodes": 48})["vnodes"], 48)
            self.wait_done("vnodes 48")
        self.run_phase("vnodes", vnodes)
        self.assert_on_exactly_their_replicas(members, "a vnodes change")

        victim = nodes[3]

        def remove_dead():
            victim.kill9()

            def marked_down():
                for n in self.api("GET", "/nodes")["nodes"]:
                    if n["http_addr"] == http[3]:
                        return n["state"] == "down"
                return False
            wait_for(marked_down, timeout=30, what="the killed node marked down")
            self.api("POST", f"/remove-node/{http[3]}")
            self.wait_done("remove-node (dead)")
        # No INCR: the router re-sends a command to the next replica when
        # the killed node does not answer (docs/replication.md).
        self.run_phase("dead", remove_dead, use_incr=False)
        members = [n for i, n in enumerate(nodes) if i not in (1, 3)]
        self.assert_on_exactly_their_replicas(members, "remove-node (dead)")
        listed = sorted(n["http_addr"] for n in self.api("GET", "/nodes")["nodes"])
        self.assertEqual(listed, sorted(http[i] for i in (0, 2, 4, 5)))

    def test_a_cancelled_add_leaves_the_old_replica_sets(self):
        nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(6)]
        http = [f"127.0.0.1:{n.http_port}" for n in nodes]
        self.router = self.start_router("--nodes", ",".join(http[:5]),
                                        "--replication", str(REPLICATION),
                                        "--rebalance-grace-ms", "300", *FAST_HEALTH)
        self.checkers = []
        self.api("PUT", "/migrations/rate", {"max_keys_per_sec": 40})

        def add_then_cancel():
            self.api("POST", "/add-node", {"value": http[5]})
            spare = redis.Redis(host="127.0.0.1", port=nodes[5].resp_port, socket_timeout=10)
            wait_for(lambda: spare.dbsize() > 0, timeout=30, what="keys copied to the new node")
            spare.close()
            self.api("POST", "/migrations/cancel")

            def cancelled():
                m = self.api("GET", "/migrations")
                hist = m.get("history") or []
                return m.get("current") is None and hist and hist[-1]["state"] == "cancelled"
            wait_for(cancelled, timeout=STEP_TIMEOUT, what="the cancel to finish")
        self.run_phase("cancel", add_then_cancel)
        self.assert_on_exactly_their_replicas(nodes[:5], "a cancelled add-node")
        spare = redis.Redis(host="127.0.0.1", port=nodes[5].resp_port, socket_timeout=10)
        wait_for(lambda: spare.dbsize() == 0, timeout=30, what="the new node to drop its copies")
        spare.close()

    def test_kill_9_router_during_the_copy_then_restart_resumes(self):
        nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(5)]
        http = [f"127.0.0.1:{n.http_port}" for n in nodes]
        http_port, resp_port = free_port(), free_port()
        data_dir = os.path.join(self.workdir, "router.data")

        def start_router():
            # The same ports across the restart, so clients reconnect.
            r = Router(self.workdir, "--nodes", ",".join(http[:4]),
                       "--replication", str(REPLICATION), "--rebalance-grace-ms", "300",
                       *FAST_HEALTH, name="router", data_dir=data_dir, http_port=http_port,
                       resp_port=resp_port)
            self.processes.append(r)
            return r

        self.router = start_router()
        self.checkers = []
        checker = Checker(resp_port, keys_per_thread=KEYS // THREADS, threads=THREADS,
                          prefix="crash", once_keys=KEYS, retry_connection_errors=True)
        checker.preload()
        checker.start()
        self.api("PUT", "/migrations/rate", {"max_keys_per_sec": 60})
        self.api("POST", "/add-node", {"value": http[4]})

        def copying():
            cur = self.api("GET", "/migrations").get("current") or {}
            return cur.get("state") == "copying" and cur.get("keys_moved", 0) > 0
        wait_for(copying, timeout=30, what="copying with progress")
        self.router.kill9()
        self.processes.remove(self.router)
        self.router = start_router()
        cur = self.api("GET", "/migrations")["current"]
        self.assertIsNotNone(cur, "the restarted router resumes the migration")
        self.api("PUT", "/migrations/rate", {"max_keys_per_sec": 0})
        self.wait_done("add-node after a router restart")
        before = checker.ops
        wait_for(lambda: checker.ops > before + 100, timeout=30, what="traffic after the move")
        checker.stop()
        self.assertEqual(checker.failures[:10], [], f"{len(checker.failures)} failed")
        self.assertEqual(checker.stale[:10], [], f"{len(checker.stale)} stale reads")
        bad = checker.verify()
        self.assertEqual(bad[:10], [], f"{len(bad)} acknowledged writes lost")
        self.checkers.append(checker)
        self.assert_on_exactly_their_replicas(nodes, "add-node after a router restart")

    def test_replication_changes_live(self):
        nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(5)]
        http = [f"127.0.0.1:{n.http_port}" for n in nodes]
        self.router = self.start_router("--nodes", ",".join(http), "--replication", "2",
                                        "--rebalance-grace-ms", "300", *FAST_HEALTH)
        self.checkers = []
        for copies in (3, 2):
            def change():
                got = self.api("PUT", "/config", {"replication": copies})
                self.assertEqual(got["replication"], copies)
                self.wait_done(f"replication {copies}")
            self.run_phase(f"r{copies}", change)
            self.assertEqual(self.api("GET", "/config")["replication"], copies)
            self.assert_on_exactly_their_replicas(nodes, f"replication {copies}", copies)


if __name__ == "__main__":
    unittest.main()
