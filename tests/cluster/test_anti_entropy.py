"""Anti-entropy: replicas that missed writes get them from a pass that
compares digests of the keys they share (docs/replication.md,
"Anti-entropy").

Hints are made unavailable (max_hint_bytes 1 refuses every hint), so a
replica that was stopped (SIGSTOP) while keys were written and deleted at
quorum misses them for good until a pass runs. RINGKV.PEEK on a node's own
port is a local-only read: it shows what that node holds.

Three nodes, replication 3: every node replicates every key.
"""
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import ClusterTestCase, http_json, wait_for  # noqa: E402

import redis  # noqa: E402

KEYS = 300


class AntiEntropyTest(ClusterTestCase):
    def start_cluster(self, interval_s):
        node_extra = ("--max-hint-bytes", "1", "--peer-timeout-ms", "500", "--suspect-ms", "500",
                      "--anti-entropy-interval-s", str(interval_s),
                      "--anti-entropy-max-keys-per-sec", "0")
        nodes = [self.start_node("--id", f"n{i}", *node_extra, name=f"node{i}")
                 for i in (1, 2, 3)]
        # The health checker never marks a node down here: the map, and so
        # the keys each pair shares, stays the same while a node is stopped.
        router = self.start_router(
            "--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in nodes),
            "--replication", "3", "--health-failures", "100000")
        for n in nodes:
            wait_for(lambda n=n: http_json("GET", n.http + "/neighbors")[1].get("epoch", 0) > 0,
                     timeout=10, what=f"{n.id} to get the map")
        return nodes, router

    def client(self, node):
        c = redis.Redis(host="127.0.0.1", port=node.resp_port, socket_timeout=10)
        self.addCleanup(c.close)
        return c

    def held(self, node, keys):
        """What `node` itself holds of each key: ("value", v), ("tomb",) or None."""
        c = self.client(node)
        out = {}
        for i in range(0, len(keys), 200):
            chunk = keys[i:i + 200]
            for k, e in zip(chunk, c.execute_command("RINGKV.PEEK", *chunk)):
                out[k] = None if e is None else (("tomb",) if e[1] == 1 else ("value", e[3].decode()))
        return out

    def stopped(self, node):
        """A context: `node` is stopped (SIGSTOP) inside, continued after."""
        test = self

        class Stopped:
            def __enter__(self):
                os.kill(node.proc.pid, signal.SIGSTOP)
                test.addCleanup(node.proc.send_signal, signal.SIGCONT)  # never left stopped

            def __exit__(self, *exc):
                os.kill(node.proc.pid, signal.SIGCONT)
        return Stopped()

    def seed(self, coordinator, nodes, prefix):
        c = self.client(coordinator)
        p = c.pipeline(transaction=False)
        for i in range(KEYS):
            p.set(f"{prefix}:{i}", "v1")
        p.execute()
        keys = [f"{prefix}:{i}" for i in range(KEYS)]
        for n in nodes:  # every replica took them (the third ack may come after the reply)
            wait_for(lambda n=n: all(v == ("value", "v1") for v in self.held(n, keys).values()),
                     timeout=10, what=f"{n.id} to hold the seeded keys")

    def write_while_stopped(self, coordinator, victim, prefix):
        """Overwrites half the keys, deletes a sixth, adds new ones while
        `victim` is stopped; returns what every replica must end with."""
        want = {f"{prefix}:{i}": ("value", "v1") for i in range(KEYS)}
        c = self.client(coordinator)
        with self.stopped(victim):
            for i in range(KEYS // 2):
                c.set(f"{prefix}:{i}", "v2")
                want[f"{prefix}:{i}"] = ("value", "v2")
            for i in range(KEYS // 2, KEYS // 2 + KEYS // 6):
                self.assertEqual(c.delete(f"{prefix}:{i}"), 1)
                want[f"{prefix}:{i}"] = ("tomb",)
            for i in range(100):
                c.set(f"{prefix}:new:{i}", "n")
                want[f"{prefix}:new:{i}"] = ("value", "n")
            # Past peer_timeout_ms: the coordinator gives up on what it sent
            # the stopped node, which then drops it instead of applying it late.
            time.sleep(1.5)
        return want

    def behind(self, node, want):
        held = self.held(node, list(want))
        return [k for k, v in want.items() if held[k] != v]

    def repair_and_wait(self, router, since_passes):
        status, body = http_json("POST", router.http + "/repair")
        self.assertEqual(status, 202, body)
        self.assertEqual(body["requested"], 3, body)

        def done():
            _, agg = http_json("GET", router.http + "/repair")
            return agg if (agg["state"] == "idle"
                           and agg["totals"]["passes"] >= since_passes + 3) else None
        return wait_for(done, timeout=30, what="a repair pass on every node")

    def test_a_pass_on_request_repairs_both_ways(self):
        nodes, router = self.start_cluster(interval_s=0)
        n1, n2, n3 = nodes
        self.seed(n1, nodes, "a")

        # n3 misses writes n1 coordinates: n1, which compares the pair (n1, n3), pushes.
        want = self.write_while_stopped(n1, n3, "a")
        time.sleep(1.0)  # no hint, no pass: still behind after a while
        missed = self.behind(n3, want)
        self.assertGreaterEqual(len(missed), KEYS // 2, "n3 should have missed the writes")
        self.assertEqual(self.behind(n1, want), [])
        agg = self.repair_and_wait(router, 0)
        for n in nodes:
            self.assertEqual(self.behind(n, want)[:10], [], f"{n.id} after the pass")
        by_id = {n["id"]: n for n in agg["nodes"]}
        # n1 and n2 both compare with n3 (at once): between them they pushed
        # every entry n3 missed.
        pairs = [next(p for p in by_id[i]["last"]["peers"] if p["id"] == "n3") for i in ("n1", "n2")]
        for pair in pairs:
            self.assertEqual(pair["error"], "")
            self.assertGreater(pair["buckets_differing"], 0)
            self.assertGreater(pair["bytes"], 0)
        self.assertGreaterEqual(sum(p["keys_pushed"] for p in pairs), len(missed))
        self.assertEqual(by_id["n1"]["last"]["trigger"], "request")
        self.assertEqual(by_id["n3"]["last"]["peers"], [])  # n1 and n2 compared its pairs

        # The other direction: n1 misses writes n2 coordinates; n1 compares
        # both its pairs and pulls.
        self.seed(n2, nodes, "b")
        want = self.write_while_stopped(n2, n1, "b")
        self.assertGreaterEqual(len(self.behind(n1, want)), KEYS // 2)
        agg = self.repair_and_wait(router, 3)
        for n in nodes:
            self.assertEqual(self.behind(n, want)[:10], [], f"{n.id} after the second pass")
        by_id = {n["id"]: n for n in agg["nodes"]}
        self.assertGreaterEqual(by_id["n1"]["last"]["keys_pulled"], KEYS // 2)

        # In sync: a pass sends digests only.
        agg = self.repair_and_wait(router, 6)
        for n in agg["nodes"]:
            self.assertEqual(n["last"]["buckets_differing"], 0, n)
            self.assertEqual(n["last"]["keys_pushed"] + n["last"]["keys_pulled"], 0, n)
        _, metrics = http_json("GET", n1.http + "/metrics")
        text = metrics.decode() if isinstance(metrics, bytes) else str(metrics)
        self.assertIn("ringkv_repair_keys_pushed_total", text)

    def test_a_peer_that_answers_again_is_repaired_without_a_request(self):
        nodes, router = self.start_cluster(interval_s=3600)
        n1, n2, n3 = nodes
        self.seed(n1, nodes, "c")
        want = self.write_while_stopped(n1, n3, "c")
        # n1 made n3 suspect when its writes timed out; once n3 answers,
        # n1 compares with it.
        deadline = time.monotonic() + 30
        while (bad := self.behind(n3, want)) and time.monotonic() < deadline:
            time.sleep(0.3)
        self.assertEqual(bad[:10], [], f"{len(bad)} keys still stale on n3")
        _, body = http_json("GET", n1.http + "/repair")
        self.assertEqual(body["last"]["trigger"], "return", body)
        self.assertEqual([p["id"] for p in body["last"]["peers"]], ["n3"])

    def test_passes_run_every_interval(self):
        nodes, router = self.start_cluster(interval_s=1)
        n1, n2, n3 = nodes

        def periodic(node):
            _, body = http_json("GET", node.http + "/repair")
            last = body["last"]
            return body if last and last["trigger"] == "periodic" else None
        # Each pair once: n1 compares with n2 and n3, n2 with n3, n3 with none.
        self.assertEqual([p["id"] for p in wait_for(lambda: periodic(n1), timeout=15,
                                                    what="a periodic pass on n1")["last"]["peers"]],
                         ["n2", "n3"])
        self.assertEqual([p["id"] for p in wait_for(lambda: periodic(n2), timeout=15,
                                                    what="a periodic pass on n2")["last"]["peers"]],
                         ["n3"])
        self.assertEqual(wait_for(lambda: periodic(n3), timeout=15,
                                  what="a periodic pass on n3")["last"]["peers"], [])


if __name__ == "__main__":
    unittest.main()
