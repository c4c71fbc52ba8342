"""The rebalancing bar: a checker client writes and reads through the router
without pause while the cluster goes 3 -> 4 -> 5 -> 4 -> 3 nodes and the
vnode count 160 -> 64 -> 256. At the end every acknowledged write reads back
with its latest value, every key lives only on its owner, and no client
request failed. The same again with a kill -9 of the router while keys are
being copied, and a restart that resumes the move.

Size: CHECKER_KEYS keys (default 1000 here; bench/rebalance-checker.sh runs
the full size).
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checker import Checker  # noqa: E402
from harness import ClusterTestCase, Router, free_port, wait_for, http_json  # noqa: E402

import redis  # noqa: E402

KEYS = int(os.environ.get("CHECKER_KEYS", "1000"))
THREADS = int(os.environ.get("CHECKER_THREADS", "4"))
# Generous: the full-size script moves 100k+ keys per step on a busy machine.
STEP_TIMEOUT = float(os.environ.get("CHECKER_STEP_TIMEOUT", "120"))




class RebalanceTestCase(ClusterTestCase):
    def api(self, base, method, path, body=None, expect=200):
        status, data = http_json(method, base + path, body)
        self.assertEqual(status, expect, f"{method} {path}: {data!r}")
        return data

    def start_nodes(self, n, per_node=lambda i: ()):
        """n nodes; per_node(i) gives extra flags of node i."""
        nodes = [self.start_node("--id", f"n{i}", *per_node(i), name=f"node{i}")
                 for i in range(n)]
        return nodes, [f"127.0.0.1:{x.http_port}" for x in nodes]

    def migrations(self, base):
        return self.api(base, "GET", "/migrations")

    def wait_done(self, base, what, checker=None):
        """Waits until no migration runs and the last one finished; returns it."""
        def finished():
            m = self.migrations(base)
            cur = m.get("current")
            if cur is not None:
                return None
            hist = m.get("history") or []
            return hist[-1] if hist else {"state": "done"}
        last = wait_for(finished, timeout=STEP_TIMEOUT, what=f"migration of {what} to finish")
        self.assertEqual(last["state"], "done", f"{what}: {last!r}")
        if checker is not None:
            self.assertEqual(checker.failures, [], f"failed requests during {what}")
        return last

    def assert_keys_only_on_owners(self, base, nodes, checker):
        """Every key a node holds is one it owns in the router's final map,
        and every live key is held by exactly one node."""
        owners = {}
        for k in checker.all_keys():
            owners[k] = self.api(base, "POST", "/get-node", {"value": k})["node"]

        def misplaced():
            held = {}
            for n in nodes:
                c = redis.Redis(host="127.0.0.1", port=n.resp_port, socket_timeout=10)
                addr = f"127.0.0.1:{n.resp_port}"
                for k in c.scan_iter(match=f"{checker.prefix}:*", count=1000):
                    held.setdefault(k.decode(), []).append(addr)
                c.close()
            bad = [f"{k} on {where}, owner {owners.get(k)}" for k, where in held.items()
                   if where != [owners.get(k)]]
            missing = [k for k in checker.live_keys() if k not in held]
            return bad + [f"{k} held nowhere" for k in missing]

        # The old owner drops moved arcs after a grace period: give it time.
        deadline = time.monotonic() + 30
        while True:
            bad = misplaced()
            if not bad or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(bad[:20], [], f"{len(bad)} keys not only on their owner")

    def finish(self, checker, base, nodes):
        checker.stop()
        self.assertEqual(checker.failures[:20], [], f"{len(checker.failures)} failed requests")
        self.assertEqual(checker.stale[:20], [], f"{len(checker.stale)} stale reads")
        self.assertGreater(checker.acked_writes, 0)
        bad = checker.verify()
        self.assertEqual(bad[:20], [], f"{len(bad)} acknowledged writes lost")
        self.assert_keys_only_on_owners(base, nodes, checker)


class CheckerTest(RebalanceTestCase):
    def test_add_add_remove_remove_then_vnodes_with_zero_failures(self):
        # Copies that never give the CPU away (0), the default (50 us) and
        # rare yields keep the same guarantees: the setting only trades speed
        # against client latency.
        yields = ["0", "50", "2000", "0", "50"]
        nodes, addrs = self.start_nodes(5, lambda i: ("--migration-yield-us", yields[i]))
        router = self.start_router("--nodes", ",".join(addrs[:3]))
        base = router.http
        checker = Checker(router.resp_port, keys_per_thread=KEYS // THREADS, threads=THREADS)
        checker.preload()
        checker.start()
        steps = 0

        def progressed():
            nonlocal steps
            steps += 1
            before = checker.ops
            wait_for(lambda: checker.ops > before + 50, timeout=30, what="client traffic")

        progressed()
        for addr in addrs[3:5]:  # 3 -> 4 -> 5
            self.api(base, "POST", "/add-node", {"value": addr})
            self.wait_done(base, f"add {addr}", checker)
            progressed()
        self.assertEqual(len(self.api(base, "GET", "/nodes")["nodes"]), 5)
        for addr in (addrs[4], addrs[3]):  # 5 -> 4 -> 3
            transfers = self.api(base, "POST", f"/remove-node/{addr}")
            self.assertIsInstance(transfers, list)
            self.assertTrue(transfers, "a removed node hands its arcs to others")
            self.wait_done(base, f"remove {addr}", checker)
            progressed()
        listed = [n["http_addr"] for n in self.api(base, "GET", "/nodes")["nodes"]]
        self.assertEqual(sorted(listed), sorted(addrs[:3]))
        for vnodes in (64, 256):  # 160 -> 64 -> 256
            self.assertEqual(self.api(base, "PUT", "/config", {"vnodes": vnodes})["vnodes"],
                             vnodes)
            self.wait_done(base, f"vnodes {vnodes}", checker)
            progressed()
        self.finish(checker, base, nodes[:3])
        # Each of the six ring changes moved keys and finished.
        hist = self.migrations(base)["history"]
        self.assertGreaterEqual(len([m for m in hist if m["state"] == "done"]), 6)
        self.assertTrue(all(m["keys_moved"] > 0 for m in hist[-6:]), hist[-6:])
        self.assertTrue(all(m["copy_seconds"] >= 0 for m in hist[-6:]), hist[-6:])


class RedisBackendTest(RebalanceTestCase):
    """The same plan over redis-servers: SCAN + MIGRATE by the router, and the
    proxy moves each key a command names before running it on the new owner."""

    def test_redis_add_then_remove_with_zero_failures(self):
        servers = [self.start_redis(name=f"redis{i}") for i in range(4)]
        addrs = [f"127.0.0.1:{s.port}" for s in servers]
        router = self.start_router("--nodes", ",".join(addrs[:3]))
        base = router.http
        checker = Checker(router.resp_port, keys_per_thread=KEYS // THREADS, threads=THREADS,
                          prefix="rchk")
        checker.preload()
        # Keys no client touches during the move: the router's copy moves them.
        rc = redis.Redis(host="127.0.0.1", port=router.resp_port, socket_timeout=10)
        self.addCleanup(rc.close)
        cold = {f"cold:{i}": f"c{i}" for i in range(2000)}
        rc.mset(cold)
        checker.start()
        before = checker.ops
        wait_for(lambda: checker.ops > before + 50, timeout=30, what="client traffic")
        self.api(base, "POST", "/add-node", {"value": addrs[3]})
        last = self.wait_done(base, "add a redis-server", checker)
        self.assertGreater(last["keys_moved"], 0)
        self.assertEqual(rc.mget(list(cold)), [v.encode() for v in cold.values()])
        before = checker.ops
        wait_for(lambda: checker.ops > before + 50, timeout=30, what="client traffic")
        self.api(base, "POST", f"/remove-node/{addrs[0]}")
        self.wait_done(base, "remove a redis-server", checker)

        class Srv:  # what assert_keys_only_on_owners needs of a server
            def __init__(self, port):
                self.resp_port = port
        self.finish(checker, base, [Srv(s.port) for s in servers[1:]])
        self.assertEqual(rc.mget(list(cold)), [v.encode() for v in cold.values()])


class RouterCrashTest(RebalanceTestCase):
    def test_kill_9_router_during_copy_then_restart_resumes(self):
        nodes, addrs = self.start_nodes(4)
        http_port, resp_port = free_port(), free_port()
        data_dir = os.path.join(self.workdir, "router.data")

        def start_router():
            # Harness routers bind port 0; this one keeps its ports across restarts
            # so clients reconnect to the same address.
            r = Router(self.workdir, "--nodes", ",".join(addrs[:3]), name="router",
                       data_dir=data_dir, http_port=http_port, resp_port=resp_port)
            self.processes.append(r)
            return r

        router = start_router()
        base = f"http://127.0.0.1:{http_port}"
        checker = Checker(resp_port, keys_per_thread=KEYS // THREADS, threads=THREADS,
                          retry_connection_errors=True)
        checker.preload()
        checker.start()
        # Slow copy, so the kill lands while keys are being copied.
        self.api(base, "PUT", "/migrations/rate", {"max_keys_per_sec": max(50, KEYS // 20)})
        self.api(base, "POST", "/add-node", {"value": addrs[3]})
        wait_for(lambda: (self.migrations(base).get("current") or {}).get("state") == "copying"
                 and self.migrations(base)["current"]["keys_moved"] > 0,
                 timeout=30, what="copying with progress")
        router.kill9()
        self.processes.remove(router)
        time.sleep(0.5)  # clients keep retrying against a dead port
        router = start_router()
        cur = self.migrations(base)["current"]
        self.assertIsNotNone(cur, "the restarted router resumes the migration")
        self.assertIn(cur["state"], ("copying", "switching", "cleaning"))
        self.api(base, "PUT", "/migrations/rate", {"max_keys_per_sec": 0})
        self.wait_done(base, "add after router restart", checker)
        self.finish(checker, base, nodes)
        self.assertEqual(len(self.api(base, "GET", "/nodes")["nodes"]), 4)


if __name__ == "__main__":
    unittest.main()
