"""Live rebalancing through the router over ringkv nodes (docs/rebalancing.md):
GET /migrations progress, one migration at a time (409), pause / resume,
cancel back to the old ring, remove-node transfers, vnodes via PUT /config,
weights via PUT /nodes/<addr>, and a router kill -9 while keys are copied.

Every key written before or during a move reads back through the router
afterwards. Needs nodes that serve ringkv.v1.Peer.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import ClusterTestCase, Router, free_port, wait_for, http_json  # noqa: E402

import redis  # noqa: E402

KEYS = 3000
SLOW = 300  # keys/s per source: keeps a move in copying for a few seconds
TIMEOUT = 90




class MigrationTestCase(ClusterTestCase):
    def api(self, method, path, body=None, expect=200, base=None):
        status, data = http_json(method, (base or self.router.http) + path, body)
        self.assertEqual(status, expect, f"{method} {path}: {data!r}")
        return data

    def cluster(self, n_nodes, n_in_map, *router_args):
        self.nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(n_nodes)]
        self.addrs = [f"127.0.0.1:{n.http_port}" for n in self.nodes]
        self.router = self.start_router("--nodes", ",".join(self.addrs[:n_in_map]),
                                        "--rebalance-grace-ms", "300", *router_args)
        self.client = redis.Redis(host="127.0.0.1", port=self.router.resp_port, socket_timeout=10)

    def write_keys(self, prefix="k", n=KEYS, client=None):
        c = client or self.client
        pipe = c.pipeline(transaction=False)
        for i in range(n):
            pipe.set(f"{prefix}:{i}", f"v{i}")
        pipe.execute()

    def assert_readable(self, prefix="k", n=KEYS):
        self.assert_keys_readable(self.client, prefix, n)
        for i in range(0, n, max(1, n // 20)):  # /kv routes the same way
            status, data = http_json("GET", f"{self.router.http}/kv/{prefix}:{i}")
            self.assertEqual((status, data), (200, {"value": f"v{i}"}))

    def migrations(self):
        return self.api("GET", "/migrations")

    def current(self):
        return self.migrations()["current"]

    def wait_copying(self):
        def copying():
            cur = self.current()
            return cur if cur and cur["state"] == "copying" and cur["keys_moved"] > 0 else None
        return wait_for(copying, timeout=TIMEOUT, what="copying with progress")

    def wait_finished(self):
        def finished():
            m = self.migrations()
            return m["history"][-1] if m["current"] is None and m["history"] else None
        return wait_for(finished, timeout=TIMEOUT, what="the migration to finish")

    def node_states(self):
        return {n["id"]: n["state"] for n in self.api("GET", "/nodes")["nodes"]}


class AddNodeTest(MigrationTestCase):
    def test_add_node_shows_progress_then_done_and_refuses_a_second_change(self):
        self.cluster(3, 2)
        self.write_keys()
        before = self.api("GET", "/nodes")
        self.api("PUT", "/migrations/rate", {"max_keys_per_sec": SLOW})
        j = self.api("POST", "/add-node", {"value": self.addrs[2]})
        self.assertEqual(j["status"], "processing")
        self.assertEqual(j["epoch"], before["epoch"] + 1)
        self.assertTrue(j["transfers"])
        m = j["migration"]
        self.assertEqual((m["kind"], m["state"]), ("add", "planned"))
        self.assertGreater(m["arcs_total"], 0)

        cur = self.wait_copying()
        self.assertEqual(cur["id"], m["id"])
        self.assertLess(cur["arcs_done"], cur["arcs_total"])
        self.assertEqual(cur["max_keys_per_sec"], SLOW)
        for field in ("rate", "eta_s", "bytes_moved", "keys_expected", "started_ms",
                      "last_error", "paused"):
            self.assertIn(field, cur)
        self.assertEqual(self.node_states()["n2"], "joining")
        # Keys are readable while they move, and new writes land.
        self.assert_readable()
        self.write_keys("during", 200)
        # One migration at a time: another change answers 409 and changes nothing.
        status, data = http_json("PUT", f"{self.router.http}/config", {"vnodes": 64})
        self.assertEqual(status, 409, data)
        self.assertIn(f"a migration is in progress (id {m['id']})", data["error"])
        status, _ = http_json("POST", f"{self.router.http}/remove-node/{self.addrs[0]}")
        self.assertEqual(status, 409)
        self.assertEqual(self.api("GET", "/nodes")["vnodes"], 160)

        self.api("PUT", "/migrations/rate", {"max_keys_per_sec": 0})
        done = self.wait_finished()
        self.assertEqual(done["state"], "done")
        self.assertEqual(done["arcs_done"], done["arcs_total"])
        self.assertGreater(done["keys_moved"], 0)
        self.assertEqual(self.node_states(), {"n0": "active", "n1": "active", "n2": "active"})
        self.assert_readable()
        self.assert_readable("during", 200)
        # The new node serves its share.
        owners = {self.api("POST", "/get-node", {"value": f"k:{i}"})["node"] for i in range(100)}
        self.assertIn(f"127.0.0.1:{self.nodes[2].resp_port}", owners)


class ControlsTest(MigrationTestCase):
    def test_pause_resume_and_errors_when_idle(self):
        self.cluster(3, 2)
        for path in ("/migrations/pause", "/migrations/resume", "/migrations/cancel"):
            self.assertIn("no migration", self.api("POST", path, expect=409)["error"])
        self.api("PUT", "/migrations/rate", {"max_keys_per_sec": "fast"}, expect=400)
        self.write_keys()
        self.api("PUT", "/migrations/rate", {"max_keys_per_sec": SLOW})
        self.api("POST", "/add-node", {"value": self.addrs[2]})
        self.wait_copying()
        self.assertTrue(self.api("POST", "/migrations/pause")["current"]["paused"])
        self.api("POST", "/migrations/pause", expect=409)
        time.sleep(0.5)  # calls in flight stop
        moved = self.current()["keys_moved"]
        time.sleep(1.0)
        cur = self.current()
        self.assertTrue(cur["paused"])
        self.assertEqual(cur["keys_moved"], moved, "a paused migration copies nothing")
        self.assert_readable()
        self.assertFalse(self.api("POST", "/migrations/resume")["current"]["paused"])
        self.api("PUT", "/migrations/rate", {"max_keys_per_sec": 0})
        self.assertEqual(self.wait_finished()["state"], "done")
        self.assert_readable()

    def test_cancel_returns_to_the_old_ring_with_every_key(self):
        self.cluster(3, 2)
        self.write_keys()
        before = self.api("GET", "/nodes")
        self.api("PUT", "/migrations/rate", {"max_keys_per_sec": SLOW})
        self.api("POST", "/add-node", {"value": self.addrs[2]})
        self.wait_copying()
        self.write_keys("during", 200)
        self.api("POST", "/migrations/cancel")
        self.api("POST", "/migrations/cancel", expect=409)
        last = self.wait_finished()
        self.assertEqual(last["state"], "cancelled")
        after = self.api("GET", "/nodes")
        self.assertGreater(after["epoch"], before["epoch"] + 1)
        self.assertEqual([n["id"] for n in after["nodes"]], ["n0", "n1"])
        self.assertEqual([n["state"] for n in after["nodes"]], ["active", "active"])
        self.assert_readable()
        self.assert_readable("during", 200)


class RemoveAndReshapeTest(MigrationTestCase):
    def test_remove_node_answers_transfers_and_leaves_when_done(self):
        self.cluster(3, 3)
        self.write_keys()
        victim = self.api("GET", "/nodes")["nodes"][1]
        transfers = self.api("POST", f"/remove-node/{victim['addr']}")
        self.assertIsInstance(transfers, list)
        self.assertTrue(transfers)
        for t in transfers:
            self.assertEqual(t["source"], victim["addr"])
            self.assertNotEqual(t["destination"], victim["addr"])
        last = self.wait_finished()
        self.assertEqual((last["kind"], last["state"]), ("remove", "done"))
        self.assertEqual(sorted(self.node_states()), ["n0", "n2"])
        self.assert_readable()
        # The last node in service cannot go.
        self.api("POST", f"/remove-node/{self.addrs[0]}")
        self.wait_finished()
        self.assertIn("last node", self.api("POST", f"/remove-node/{self.addrs[2]}",
                                            expect=409)["error"])
        self.assert_readable()

    def test_vnodes_via_put_config_and_weight_via_put_nodes(self):
        self.cluster(2, 2)
        self.write_keys()
        self.assertEqual(self.api("PUT", "/config", {"vnodes": 64})["vnodes"], 64)
        last = self.wait_finished()
        self.assertEqual((last["kind"], last["state"]), ("vnodes", "done"))
        self.assertEqual(self.api("GET", "/nodes")["vnodes"], 64)
        self.assert_readable()
        j = self.api("PUT", f"/nodes/{self.addrs[0]}", {"weight": 3})
        self.assertEqual(j["node"]["weight"], 3)
        last = self.wait_finished()
        self.assertEqual((last["kind"], last["state"]), ("weight", "done"))
        shares = {n["id"]: n["share"] for n in self.api("GET", "/nodes")["nodes"]}
        self.assertGreater(shares["n0"], 0.6)
        self.assert_readable()
        self.api("PUT", "/nodes/1.2.3.4:5", {"weight": 2}, expect=404)
        self.api("PUT", f"/nodes/{self.addrs[0]}", {"weight": 0}, expect=400)


class RouterCrashTest(MigrationTestCase):
    def test_kill_9_during_copying_then_restart_resumes_to_done(self):
        self.nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(3)]
        self.addrs = [f"127.0.0.1:{n.http_port}" for n in self.nodes]
        http_port, resp_port = free_port(), free_port()
        data_dir = os.path.join(self.workdir, "router.data")

        def start():
            r = Router(self.workdir, "--nodes", ",".join(self.addrs[:2]),
                       "--rebalance-grace-ms", "300", name="router", data_dir=data_dir,
                       http_port=http_port, resp_port=resp_port)
            self.processes.append(r)
            return r

        self.router = start()
        self.client = redis.Redis(host="127.0.0.1", port=resp_port, socket_timeout=10)
        self.write_keys()
        self.api("PUT", "/migrations/rate", {"max_keys_per_sec": SLOW // 3})
        mid = self.api("POST", "/add-node", {"value": self.addrs[2]})["migration"]["id"]
        self.wait_copying()
        self.router.kill9()
        self.processes.remove(self.router)
        self.router = start()
        cur = self.current()
        self.assertIsNotNone(cur, "the restarted router resumes the migration")
        self.assertEqual(cur["id"], mid)
        self.assertIn(cur["state"], ("copying", "switching", "cleaning"))
        self.assertEqual(cur["max_keys_per_sec"], SLOW // 3, "the rate limit is part of the record")
        self.assertIn("resuming migration", self.router.read_log())
        self.api("PUT", "/migrations/rate", {"max_keys_per_sec": 0})
        last = self.wait_finished()
        self.assertEqual((last["id"], last["state"]), (mid, "done"))
        self.assertEqual(self.node_states(), {"n0": "active", "n1": "active", "n2": "active"})
        self.assert_readable()


if __name__ == "__main__":
    unittest.main()
