"""End-to-end tests of the router's part of replication: the replication
settings, POST /get-node's preference lists, PUT /config of the consistency
settings, failover of proxied requests between replicas when a ringkv node
stalls (SIGSTOP) or dies (kill -9), and a down node that returns with its
data (never flushed).

Real `ringkv node`s, redis-servers and a `ringkv router` on 127.0.0.1 with
ports picked at run time.
"""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RINGKV, wait_for  # noqa: E402
from test_router import FAST_HEALTH, RouterTestCase, http  # noqa: E402

import redis  # noqa: E402


class ReplicaSettingsTest(RouterTestCase):
    def test_get_node_lists_the_preference_list(self):
        nodes, addrs = self.ringkv_nodes(3)
        router = self.start_router("--nodes", ",".join(addrs), "--replication", "2")
        resp_addrs = {f"127.0.0.1:{n.resp_port}" for n in nodes}
        m = self.nodes(router)
        self.assertEqual(m["replication"], 2)
        self.assertEqual((m["write_consistency"], m["read_consistency"]), ("quorum", "quorum"))
        self.assertEqual((m["tombstone_ttl_s"], m["hint_ttl_s"]), (86400, 10800))
        firsts = set()
        for i in range(200):
            got = self.api(router, "POST", "/get-node", {"value": f"user:{i}"})
            # The consistent_hashing_server's shape, plus the replicas.
            self.assertEqual(set(got), {"node", "hash", "index", "count", "replicas"})
            self.assertEqual(got["count"], 3)
            self.assertEqual(len(got["replicas"]), 2)
            self.assertEqual(got["replicas"][0], got["node"])
            self.assertEqual(len(set(got["replicas"])), 2)
            self.assertTrue(set(got["replicas"]) <= resp_addrs)
            firsts.add(got["node"])
        self.assertEqual(firsts, resp_addrs)
        config = self.api(router, "GET", "/config")
        self.assertEqual(config["replication"], 2)
        # /kv says which replica served: all live, the first one.
        rc = self.client(router.resp_port)
        self.assertTrue(rc.set("user:7", "x"))
        status, data, hdrs = http("GET", f"{router.http}/kv/user:7")
        self.assertEqual((status, data), (200, {"value": "x"}))
        first = self.api(router, "POST", "/get-node", {"value": "user:7"})["node"]
        self.assertEqual(hdrs["X-Served-By"], first)
        self.assertEqual(hdrs["X-CacheServer-Node"], first)

    def test_replication_is_capped_by_the_ring(self):
        nodes, addrs = self.ringkv_nodes(2)
        router = self.start_router("--nodes", ",".join(addrs), "--replication", "3")
        got = self.api(router, "POST", "/get-node", {"value": "k"})
        self.assertEqual(len(got["replicas"]), 2)

    def test_redis_back_ends_with_replication_refuse_to_start(self):
        servers, addrs = self.redis_servers(1)
        log = os.path.join(self.workdir, "refused.log")
        with open(log, "wb") as f:
            rc = subprocess.run([RINGKV, "router", "--http-port", "0", "--resp-port", "0",
                                 "--grpc-port", "0", "--data-dir",
                                 os.path.join(self.workdir, "refused.data"), "--nodes", addrs[0],
                                 "--replication", "2"],
                                stdout=f, stderr=subprocess.STDOUT, timeout=60).returncode
        self.assertNotEqual(rc, 0)
        with open(log) as f:
            text = f.read()
        self.assertIn("redis back end", text)
        self.assertIn("replication 2", text)

    def test_bad_replication_settings_refuse_to_start(self):
        for args, words in ((["--replication", "6"], "replication"),
                            (["--write-consistency", "most"], "write_consistency"),
                            (["--tombstone-ttl-s", "10", "--hint-ttl-s", "20"], "tombstone_ttl_s")):
            out = subprocess.run([RINGKV, "router", "--http-port", "0", "--resp-port", "0",
                                  "--grpc-port", "0", "--data-dir",
                                  os.path.join(self.workdir, "bad.data"), *args],
                                 capture_output=True, text=True, timeout=60)
            self.assertNotEqual(out.returncode, 0, args)
            self.assertIn(words, out.stdout + out.stderr, args)

    def test_a_persisted_map_keeps_its_replication(self):
        nodes, addrs = self.ringkv_nodes(2)
        router = self.start_router("--nodes", ",".join(addrs), "--replication", "2")
        data_dir = router.data_dir
        router.stop()
        self.processes.remove(router)
        again = self.start_router("--replication", "1", name="again", data_dir=data_dir)
        self.assertEqual(self.nodes(again)["replication"], 2)

    def test_put_config_changes_consistency_at_a_new_epoch(self):
        nodes, addrs = self.ringkv_nodes(3)
        router = self.start_router("--nodes", ",".join(addrs), "--replication", "3")
        epoch = self.nodes(router)["epoch"]
        got = self.api(router, "PUT", "/config",
                       {"write_consistency": "all", "read_consistency": "one",
                        "tombstone_ttl_s": 7200, "hint_ttl_s": 3600})
        self.assertEqual((got["write_consistency"], got["read_consistency"]), ("all", "one"))
        self.assertEqual((got["tombstone_ttl_s"], got["hint_ttl_s"]), (7200, 3600))
        m = self.nodes(router)
        self.assertEqual(m["epoch"], epoch + 1)
        self.assertEqual((m["write_consistency"], m["read_consistency"]), ("all", "one"))
        # Every node got the new map.
        for n in nodes:
            status, view, _ = http("GET", f"{n.http}/neighbors")
            self.assertEqual((status, view["epoch"]), (200, epoch + 1))
        # The same values again: no new epoch.
        self.api(router, "PUT", "/config", {"write_consistency": "all"})
        self.assertEqual(self.nodes(router)["epoch"], epoch + 1)

    def test_put_config_refuses_bad_consistency_and_replication(self):
        nodes, addrs = self.ringkv_nodes(2)
        router = self.start_router("--nodes", ",".join(addrs), "--replication", "2")
        for body in ({"write_consistency": "most"}, {"read_consistency": 2},
                     {"tombstone_ttl_s": 100, "hint_ttl_s": 200}, {"hint_ttl_s": 0},
                     {"replication": 0}, {"replication": 6}, {"replication": "3"}):
            self.assert_error(router, "PUT", "/config", body, 400)
        # A new replication is a migration, as is a new vnode count: one at a time.
        error = self.assert_error(router, "PUT", "/config",
                                  {"replication": 1, "vnodes": 64, "read_consistency": "one"}, 409)
        self.assertIn("change one of them per request", error)
        # Nothing else in the body applied either.
        self.assertEqual(self.api(router, "GET", "/config")["read_consistency"], "quorum")
        self.api(router, "PUT", "/config", {"replication": 2})  # unchanged is fine


class FailoverTest(RouterTestCase):
    """3 ringkv nodes, replication 3. Every key is written to all three nodes
    before the router installs its map (nodes without a map serve any key),
    so each replica holds it whatever the nodes' own replication does."""

    KEYS = 300

    def start_cluster(self, *extra):
        self.nodes_ = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(3)]
        for n in self.nodes_:
            c = redis.Redis(port=n.resp_port)
            pipe = c.pipeline(transaction=False)
            for i in range(self.KEYS):
                pipe.set(f"k:{i}", f"v{i}")
            pipe.execute()
            c.close()
        addrs = ",".join(f"127.0.0.1:{n.http_port}" for n in self.nodes_)
        self.router = self.start_router("--nodes", addrs, "--replication", "3",
                                        "--backend-timeout-ms", "500", *extra)
        return self.client(self.router.resp_port)

    def keys_first_on(self, addr):
        out = []
        for i in range(self.KEYS):
            got = self.api(self.router, "POST", "/get-node", {"value": f"k:{i}"})
            if got["replicas"][0] == addr:
                out.append(i)
        self.assertGreater(len(out), 10)
        return out

    def read(self, client, ids):
        pipe = client.pipeline(transaction=False)
        for i in ids:
            pipe.get(f"k:{i}")
        got = pipe.execute(raise_on_error=False)
        return [(i, v) for i, v in zip(ids, got) if v != f"v{i}".encode()]

    def errors(self):
        status, text, _ = http("GET", f"{self.router.http}/metrics")
        for line in text.decode().splitlines() if isinstance(text, bytes) else []:
            if line.startswith("ringkv_router_errors_total "):
                return int(line.split()[1])
        return None

    def test_a_stalled_first_replica_costs_no_error(self):
        client = self.start_cluster()
        victim = self.nodes_[0]
        ids = self.keys_first_on(f"127.0.0.1:{victim.resp_port}")
        self.assertEqual(self.read(client, ids), [])
        before = self.errors()
        victim.proc.send_signal(signal.SIGSTOP)
        try:
            self.assertEqual(self.read(client, ids), [])
            self.assertEqual(self.read(client, ids), [])
            status, data, hdrs = http("GET", f"{self.router.http}/kv/k:{ids[0]}")
            self.assertEqual((status, data), (200, {"value": f"v{ids[0]}"}))
            self.assertNotEqual(hdrs["X-Served-By"], f"127.0.0.1:{victim.resp_port}")
            self.assertEqual(self.errors(), before)
        finally:
            victim.proc.send_signal(signal.SIGCONT)

    def test_a_killed_first_replica_costs_no_error(self):
        client = self.start_cluster()
        victim = self.nodes_[1]
        ids = self.keys_first_on(f"127.0.0.1:{victim.resp_port}")
        before = self.errors()
        victim.kill9()
        self.assertEqual(self.read(client, ids), [])
        self.assertEqual(self.read(client, ids), [])
        self.assertEqual(self.errors(), before)


class NoFlushTest(RouterTestCase):
    def test_a_down_node_stays_in_the_ring_and_returns_with_its_data(self):
        nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(3)]
        addrs = ",".join(f"127.0.0.1:{n.http_port}" for n in nodes)
        router = self.start_router("--nodes", addrs, "--replication", "2", *FAST_HEALTH)
        victim = nodes[2]
        vaddr = f"127.0.0.1:{victim.resp_port}"
        # Keys the victim owns (first replica), written on it directly: it
        # runs commands on keys it owns.
        owned = [f"h{i}" for i in range(400)
                 if self.api(router, "POST", "/get-node", {"value": f"h{i}"})["node"] == vaddr]
        self.assertGreater(len(owned), 10)
        direct = self.client(victim.resp_port)
        for k in owned:
            self.assertTrue(direct.set(k, "kept"))
        epoch = self.nodes(router)["epoch"]

        victim.proc.send_signal(signal.SIGSTOP)
        try:
            wait_for(lambda: self.state_of(router, vaddr) == "down", timeout=10, what="node down")
            m = self.nodes(router)
            self.assertGreater(m["epoch"], epoch)
            self.assertEqual(m["in_service"], 2)
            # Still in the ring: its keys keep it as their first replica.
            got = self.api(router, "POST", "/get-node", {"value": owned[0]})
            self.assertEqual(got["node"], vaddr)
        finally:
            victim.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: self.state_of(router, vaddr) == "active", timeout=10, what="node back")
        # Not flushed: a local read on its own port finds every key.
        self.assertEqual(direct.mget(owned), [b"kept"] * len(owned))


if __name__ == "__main__":
    unittest.main()
