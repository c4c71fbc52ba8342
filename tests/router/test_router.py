"""End-to-end tests of `ringkv router`: the consistent_hashing_server's registry API, the the FastAPI cache balancer
/kv API, the RESP proxy over ringkv nodes and redis-servers, health checks,
live config, bad input, restart and start-up with an unreachable node.

Everything is a real process on 127.0.0.1 with ports picked at run time.
"""
import json
import os
import signal
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RINGKV, ClusterTestCase, free_port, wait_for  # noqa: E402

import redis  # noqa: E402

# Fast health checks: a node is down after 2 failed probes, back after 1.
FAST_HEALTH = ("--health-interval-ms", "100", "--health-timeout-ms", "200",
               "--health-failures", "2", "--health-successes", "1")


def http(method, url, body=None, headers=None):
    """(status, parsed JSON or raw bytes, headers)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    elif isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, data, hdrs = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        status, data, hdrs = e.code, e.read(), e.headers
    try:
        data = json.loads(data)
    except ValueError:
        pass
    return status, data, hdrs


def locate(ids, key, vnodes=160):
    """`ringkv ring locate --json`: the reference ring computation."""
    out = subprocess.run([RINGKV, "ring", "locate", "--json", "--nodes", ",".join(ids),
                          "--vnodes", str(vnodes), key],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


class RouterTestCase(ClusterTestCase):
    def ringkv_nodes(self, n=3):
        nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(n)]
        return nodes, [f"127.0.0.1:{x.http_port}" for x in nodes]

    def redis_servers(self, n=3):
        servers = [self.start_redis(name=f"redis{i}") for i in range(n)]
        return servers, [f"127.0.0.1:{s.port}" for s in servers]

    def client(self, port):
        c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
        self.addCleanup(c.close)
        return c

    def api(self, router, method, path, body=None, headers=None, expect=200):
        status, data, hdrs = http(method, router.http + path, body, headers)
        self.assertEqual(status, expect, f"{method} {path}: {data!r}")
        return data

    def nodes(self, router):
        return self.api(router, "GET", "/nodes")

    def state_of(self, router, addr):
        for n in self.nodes(router)["nodes"]:
            if addr in (n["addr"], n["http_addr"], n["id"]):
                return n["state"]
        return None

    def settle(self, router, timeout=30):
        """Waits until the router runs no migration (a change moves keys first)."""
        wait_for(lambda: self.api(router, "GET", "/migrations")["current"] is None,
                 timeout=timeout, what="the migration to finish")

    def owner(self, router, key):
        return self.api(router, "POST", "/get-node", {"value": key})["node"]

    def assert_error(self, router, method, path, body, status, headers=None):
        """A clear 4xx with {"error": ...}, and the cluster map unchanged."""
        before = self.nodes(router)
        got, data, _ = http(method, router.http + path, body, headers)
        self.assertEqual(got, status, f"{method} {path}: {data!r}")
        self.assertIsInstance(data, dict, data)
        self.assertIsInstance(data.get("error"), str, data)
        self.assertTrue(data["error"], data)
        self.assertEqual(self.nodes(router), before)
        return data["error"]


class SeedZeroTest(RouterTestCase):
    """POST /get-node, /add-node, /remove-node/<addr>, GET /nodes over ringkv nodes."""

    def setUp(self):
        super().setUp()
        self.node_procs, self.http_addrs = self.ringkv_nodes(3)
        self.router = self.start_router("--nodes", ",".join(self.http_addrs[:2]))

    def test_get_node_matches_ring_locate(self):
        m = self.nodes(self.router)
        by_id = {n["id"]: n for n in m["nodes"]}
        self.assertEqual(set(by_id), {"n0", "n1"})
        owners = set()
        for i in range(50):
            key = f"key:{i}"
            j = self.api(self.router, "POST", "/get-node", {"value": key})
            # The consistent_hashing_server's shape, plus the preference list
            # (the owner alone at replication 1).
            self.assertEqual(set(j), {"node", "hash", "index", "count", "replicas"})
            self.assertEqual(j["replicas"], [j["node"]])
            self.assertIsInstance(j["hash"], str)
            self.assertTrue(j["hash"].isdigit(), j)
            ref = locate(["n0", "n1"], key)
            self.assertEqual(j["hash"], str(ref["hash"]))
            node = by_id[ref["owner"]]
            self.assertEqual(j["node"], node["addr"])
            self.assertEqual(j["index"], node["index"])
            self.assertEqual(j["count"], 2)
            owners.add(j["node"])
        self.assertEqual(len(owners), 2)

    def test_add_node_reports_epoch_and_transfers_to_the_new_node(self):
        before = self.nodes(self.router)
        old_addrs = {n["addr"] for n in before["nodes"]}
        j = self.api(self.router, "POST", "/add-node", {"value": self.http_addrs[2]})
        self.assertEqual(j["epoch"], before["epoch"] + 1)
        new_addr = f"127.0.0.1:{self.node_procs[2].resp_port}"
        self.assertTrue(j["transfers"])
        for t in j["transfers"]:
            self.assertEqual(t["destination"], new_addr)
            self.assertIn(t["source"], old_addrs)
        self.settle(self.router)
        after = self.nodes(self.router)
        self.assertEqual(after["epoch"], j["epoch"] + 1)  # joining, then active
        self.assertEqual([n["id"] for n in after["nodes"]], ["n0", "n1", "n2"])
        self.assertEqual([n["state"] for n in after["nodes"]], ["active"] * 3)
        self.assertEqual(after["nodes"][2]["addr"], new_addr)
        self.assertEqual(after["nodes"][2]["http_addr"], self.http_addrs[2])
        self.assertEqual(after["nodes"][2]["kind"], "ringkv")
        # The transfers cover exactly the new node's share of the ring.
        moved = sum(((t["max"] - t["min"]) % 2**64) for t in j["transfers"]) / 2**64
        self.assertAlmostEqual(moved, after["nodes"][2]["share"], places=9)
        # Keys now route to the new node too.
        self.assertIn(new_addr, {self.owner(self.router, f"k{i}") for i in range(100)})

    def test_remove_node_answers_transfers_and_forgets_the_node(self):
        self.api(self.router, "POST", "/add-node", {"value": self.http_addrs[2]})
        self.settle(self.router)
        before = self.nodes(self.router)
        victim = before["nodes"][1]
        keys = [f"k{i}" for i in range(200)]
        owned = {k for k in keys if self.owner(self.router, k) == victim["addr"]}
        self.assertTrue(owned)
        transfers = self.api(self.router, "POST", f"/remove-node/{victim['addr']}")
        self.assertIsInstance(transfers, list)
        self.assertTrue(transfers)
        others = {n["addr"] for n in before["nodes"]} - {victim["addr"]}
        for t in transfers:
            self.assertEqual(set(t), {"source", "destination", "min", "max", "exception"})
            self.assertEqual(t["source"], victim["addr"])
            self.assertIn(t["destination"], others)
            self.assertEqual(t["exception"], t["min"] >= t["max"])
        moved = sum(((t["max"] - t["min"]) % 2**64) for t in transfers) / 2**64
        self.assertAlmostEqual(moved, victim["share"], places=9)
        self.settle(self.router)
        after = self.nodes(self.router)
        self.assertEqual(after["epoch"], before["epoch"] + 2)  # leaving, then gone
        self.assertNotIn(victim["id"], [n["id"] for n in after["nodes"]])
        self.assertNotIn(victim["addr"], [n["addr"] for n in after["nodes"]])
        # Each key of the removed node now lives where one transfer said it would go.
        for k in owned:
            j = self.api(self.router, "POST", "/get-node", {"value": k})
            h = int(j["hash"])
            dest = [t["destination"] for t in transfers
                    if (h <= t["max"] or h > t["min"] if t["exception"] else t["min"] < h <= t["max"])]
            self.assertEqual(dest, [j["node"]], k)
        # The HTTP address names the node too.
        self.api(self.router, "POST", f"/remove-node/{self.http_addrs[2]}")
        self.settle(self.router)
        self.assertEqual([n["id"] for n in self.nodes(self.router)["nodes"]], ["n0"])

    def test_nodes_lists_states_and_shares(self):
        self.api(self.router, "POST", "/add-node", {"value": self.http_addrs[2]})
        self.settle(self.router)
        m = self.nodes(self.router)
        self.assertEqual(m["vnodes"], 160)
        self.assertEqual(m["hash"], "xxh3")
        self.assertEqual(m["in_service"], 3)
        self.assertEqual([n["index"] for n in m["nodes"]], [0, 1, 2])
        self.assertEqual([n["state"] for n in m["nodes"]], ["active"] * 3)
        shares = [n["share"] for n in m["nodes"]]
        self.assertAlmostEqual(sum(shares), 1.0, places=6)
        for s in shares:
            self.assertGreater(s, 0.15)  # 160 vnodes: each of 3 nodes near 1/3


class SeedOneTest(RouterTestCase):
    """/kv/{key} with the X-CacheServer-* headers, over ringkv nodes."""

    def setUp(self):
        super().setUp()
        self.node_procs, self.http_addrs = self.ringkv_nodes(3)
        self.router = self.start_router("--nodes", ",".join(self.http_addrs))
        self.index = {n["addr"]: n["index"] for n in self.nodes(self.router)["nodes"]}

    def assert_headers(self, hdrs, key):
        node = hdrs["X-CacheServer-Node"]
        self.assertEqual(node, self.owner(self.router, key))
        self.assertEqual(int(hdrs["X-CacheServer-Index"]), self.index[node])
        self.assertEqual(int(hdrs["X-CacheServer-Count"]), 3)
        return node

    def test_put_post_get_delete(self):
        seen = set()
        for i in range(30):
            key = f"user:{i}"
            method = "PUT" if i % 2 else "POST"
            status, data, hdrs = http(method, f"{self.router.http}/kv/{key}", {"value": f"v{i}"})
            self.assertEqual(status, 201, data)
            node = self.assert_headers(hdrs, key)
            seen.add(node)
            status, data, hdrs = http("GET", f"{self.router.http}/kv/{key}")
            self.assertEqual((status, data), (200, {"value": f"v{i}"}))
            self.assertEqual(self.assert_headers(hdrs, key), node)
            # The node named in the header holds the key.
            c = self.client(int(node.rsplit(":", 1)[1]))
            self.assertEqual(c.get(key), f"v{i}".encode())
            for other in self.index:
                if other != node:  # SCAN is local (a GET would be forwarded to the owner)
                    other_client = self.client(int(other.rsplit(":", 1)[1]))
                    self.assertEqual(list(other_client.scan_iter(match=key)), [])
        self.assertEqual(len(seen), 3)
        # A raw (non-JSON) body is stored as is.
        status, _, _ = http("PUT", f"{self.router.http}/kv/raw", b"plain bytes")
        self.assertEqual(status, 201)
        self.assertEqual(http("GET", f"{self.router.http}/kv/raw")[:2], (200, {"value": "plain bytes"}))
        # DELETE, then 404 with the FastAPI cache balancer's message and the headers still there.
        status, _, hdrs = http("DELETE", f"{self.router.http}/kv/user:1")
        self.assertEqual(status, 200)
        self.assert_headers(hdrs, "user:1")
        status, data, hdrs = http("GET", f"{self.router.http}/kv/user:1")
        self.assertEqual((status, data), (404, {"message": "Key does not exist."}))
        self.assert_headers(hdrs, "user:1")

    def test_missing_key(self):
        status, data, hdrs = http("GET", f"{self.router.http}/kv/never-set")
        self.assertEqual((status, data), (404, {"message": "Key does not exist."}))
        self.assert_headers(hdrs, "never-set")

    def test_bad_json_value_is_400(self):
        status, data, _ = http("PUT", f"{self.router.http}/kv/k", b"{not json",
                               {"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertIn("error", data)
        self.assertEqual(http("GET", f"{self.router.http}/kv/k")[0], 404)


class RespThroughRouterMixin:
    """The same RESP checks over two kinds of back end (set by subclasses)."""

    def backends(self):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.resp_ports, addrs = self.backends()
        self.router = self.start_router("--nodes", ",".join(addrs))
        self.rc = self.client(self.router.resp_port)
        self.direct = {f"127.0.0.1:{p}": self.client(p) for p in self.resp_ports}
        self.assertEqual(set(self.direct), {n["addr"] for n in self.nodes(self.router)["nodes"]})

    def test_set_get_land_on_the_owner(self):
        for i in range(60):
            self.assertTrue(self.rc.set(f"k{i}", f"v{i}"))
        for i in range(60):
            self.assertEqual(self.rc.get(f"k{i}"), f"v{i}".encode())
            owner = self.owner(self.router, f"k{i}")
            self.assertEqual(self.direct[owner].get(f"k{i}"), f"v{i}".encode())
        counts = [c.dbsize() for c in self.direct.values()]
        self.assertEqual(sum(counts), 60)
        self.assertTrue(all(n > 0 for n in counts), counts)
        self.assertIsNone(self.rc.get("absent"))

    def test_pipeline_of_1000_keeps_order(self):
        p = self.rc.pipeline(transaction=False)
        for i in range(500):
            p.set(f"p{i}", str(i))
            p.get(f"p{i}")
        out = p.execute()
        self.assertEqual(len(out), 1000)
        for i in range(500):
            self.assertIs(out[2 * i], True)
            self.assertEqual(out[2 * i + 1], str(i).encode())

    def test_multi_key_commands_across_owners(self):
        keys = [f"m{i}" for i in range(40)]
        self.assertGreater(len({self.owner(self.router, k) for k in keys}), 1)
        self.assertTrue(self.rc.mset({k: k.upper() for k in keys}))
        self.assertEqual(self.rc.mget(keys + ["nope"]), [k.upper().encode() for k in keys] + [None])
        for k in keys:
            self.assertEqual(self.direct[self.owner(self.router, k)].get(k), k.upper().encode())
        self.assertEqual(self.rc.dbsize(), 40)
        self.assertEqual(self.rc.delete(*keys[:25], "nope"), 25)
        self.assertEqual(self.rc.dbsize(), 15)
        self.assertEqual(sum(c.dbsize() for c in self.direct.values()), 15)
        self.assertEqual(self.rc.mget(keys[20:30]), [None] * 5 + [k.upper().encode() for k in keys[25:30]])


class RespOverRingkvNodesTest(RespThroughRouterMixin, RouterTestCase):
    def backends(self):
        nodes, addrs = self.ringkv_nodes(3)
        return [n.resp_port for n in nodes], addrs


class RespOverRedisTest(RespThroughRouterMixin, RouterTestCase):
    def backends(self):
        servers, addrs = self.redis_servers(3)
        return [s.port for s in servers], addrs


class HealthTest(RouterTestCase):
    def key_owned_by(self, router, addr):
        for i in range(1000):
            if self.owner(router, f"h{i}") == addr:
                return f"h{i}"
        self.fail(f"no key owned by {addr}")

    def test_stopped_node_goes_down_and_comes_back_with_its_data(self):
        nodes, http_addrs = self.ringkv_nodes(3)
        router = self.start_router("--nodes", ",".join(http_addrs), *FAST_HEALTH)
        rc = self.client(router.resp_port)
        victim = nodes[1]
        vaddr = f"127.0.0.1:{victim.resp_port}"
        key = self.key_owned_by(router, vaddr)
        self.assertTrue(rc.set(key, "old"))
        direct = self.client(victim.resp_port)
        self.assertEqual(direct.get(key), b"old")
        epoch = self.nodes(router)["epoch"]

        os.kill(victim.proc.pid, signal.SIGSTOP)
        wait_for(lambda: self.state_of(router, vaddr) == "down", timeout=5, what="node down")
        m = self.nodes(router)
        self.assertEqual(m["in_service"], 2)
        self.assertGreater(m["epoch"], epoch)
        self.assertNotEqual(self.owner(router, key), vaddr)
        # Writes and reads keep working through the router, on the others. (The
        # proxy must not fail this SET with "backend <new owner> unavailable: read
        # failed: Operation canceled": see Worker::Refresh in proxy_backend.cc.)
        self.assertTrue(rc.set(key, "new"))
        self.assertEqual(rc.get(key), b"new")
        for i in range(50):
            self.assertTrue(rc.set(f"during{i}", "x"))
        self.assertEqual(rc.mget([f"during{i}" for i in range(50)]), [b"x"] * 50)
        status, data, hdrs = http("GET", f"{router.http}/kv/{key}")
        self.assertEqual((status, data), (200, {"value": "new"}))
        self.assertEqual(hdrs["X-CacheServer-Count"], "2")

        os.kill(victim.proc.pid, signal.SIGCONT)
        wait_for(lambda: self.state_of(router, vaddr) == "active", timeout=30, what="node back")
        self.assertEqual(self.nodes(router)["in_service"], 3)
        self.assertEqual(self.owner(router, key), vaddr)
        # A ringkv node is never flushed: it keeps what it held, and takes back
        # from its successor, newer versions winning, what that one took
        # meanwhile (a migration of kind "return").
        self.assertEqual(direct.get(key), b"new")
        self.assertEqual(rc.mget([f"during{i}" for i in range(50)]), [b"x"] * 50)
        self.assertGreater(direct.dbsize(), 0)
        self.assertTrue(rc.set(key, "newest"))
        self.assertEqual(direct.get(key), b"newest")

    def test_killed_redis_goes_down_and_a_restart_comes_back_flushed(self):
        servers, addrs = self.redis_servers(3)
        router = self.start_router("--nodes", ",".join(addrs), *FAST_HEALTH)
        rc = self.client(router.resp_port)
        victim = servers[0]
        key = self.key_owned_by(router, addrs[0])
        self.assertTrue(rc.set(key, "old"))
        victim.kill9()
        wait_for(lambda: self.state_of(router, addrs[0]) == "down", timeout=5, what="redis down")
        self.assertNotEqual(self.owner(router, key), addrs[0])
        self.assertIsNone(rc.get(key))
        self.assertTrue(rc.set(key, "new"))
        self.assertEqual(rc.get(key), b"new")
        # Same port, and (to prove the flush) a stale copy of the key in it.
        back = self.start_redis(name="redis0b", port=victim.port)
        bc = self.client(back.port)
        bc.set(key, "old")
        wait_for(lambda: self.state_of(router, addrs[0]) == "active", timeout=5, what="redis back")
        self.assertEqual(self.owner(router, key), addrs[0])
        self.assertEqual(bc.dbsize(), 0)
        self.assertIsNone(rc.get(key))


class ConfigFileTest(RouterTestCase):
    def write_config(self, path, text):
        """Writes the file and moves its mtime forward (coarse-mtime file systems)."""
        with open(path, "w") as f:
            f.write(text)
        self.mtime = max(getattr(self, "mtime", 0), time.time()) + 2
        os.utime(path, (self.mtime, self.mtime))

    def test_vnodes_change_live_and_invalid_file_is_ignored(self):
        _, addrs = self.redis_servers(3)
        cfg = os.path.join(self.workdir, "router.yaml")
        self.write_config(cfg, "router:\n  vnodes: 160\n  log_level: info\n")
        router = self.start_router("--config", cfg, "--nodes", ",".join(addrs), *FAST_HEALTH)
        before = self.nodes(router)
        self.assertEqual(before["vnodes"], 160)
        self.assertEqual(self.api(router, "GET", "/config")["vnodes"], 160)
        rc = self.client(router.resp_port)
        self.assertTrue(rc.set("a", "1"))

        self.write_config(cfg, "router:\n  vnodes: 64\n  log_level: info\n")
        wait_for(lambda: self.api(router, "GET", "/config")["vnodes"] == 64, timeout=3,
                 what="vnodes 64 from the edited file")
        after = self.nodes(router)
        self.assertEqual(after["vnodes"], 64)
        self.assertGreater(after["epoch"], before["epoch"])
        # Reloading the file keeps what the command line said: its nodes and health settings.
        self.assertEqual(sorted(n["addr"] for n in after["nodes"]), sorted(addrs))
        self.assertEqual(after["in_service"], 3)
        self.assertEqual(self.api(router, "GET", "/config")["health"],
                         {"interval_ms": 100, "timeout_ms": 200, "failures": 2, "successes": 1,
                          "replace_after_s": 0})
        j = self.api(router, "POST", "/get-node", {"value": "some-key"})
        self.assertEqual(j["hash"], str(locate(addrs, "some-key", 64)["hash"]))
        self.assertEqual(j["node"], locate(addrs, "some-key", 64)["owner"])

        # An invalid file: the running config stays, the router keeps serving.
        epoch = after["epoch"]
        self.write_config(cfg, "router:\n  vnodes: 0\n")
        time.sleep(1.5)  # longer than the 1 s poll: the watcher has seen it
        self.write_config(cfg, "router: [unbalanced\n")
        time.sleep(1.5)
        self.assertIn("invalid", router.read_log())
        self.assertEqual(self.api(router, "GET", "/config")["vnodes"], 64)
        self.assertEqual(self.nodes(router)["epoch"], epoch)
        self.assertTrue(rc.set("b", "2"))
        self.assertEqual(rc.get("b"), b"2")
        self.assertEqual(http("GET", f"{router.http}/kv/b")[:2], (200, {"value": "2"}))


    def test_reload_applies_what_changed_in_the_file(self):
        _, addrs = self.redis_servers(3)
        cfg = os.path.join(self.workdir, "router.yaml")
        self.write_config(cfg, f"router:\n  nodes: [{addrs[0]}, {addrs[1]}]\n  log_level: info\n")
        router = self.start_router("--config", cfg)
        self.assertEqual([n["addr"] for n in self.nodes(router)["nodes"]], addrs[:2])
        # PUT /config survives an edit of other settings; nodes follow the file's list.
        self.assertEqual(self.api(router, "PUT", "/config", {"vnodes": 32})["vnodes"], 32)
        self.settle(router)
        self.write_config(cfg, f"router:\n  nodes: [{addrs[1]}, {addrs[2]}]\n  log_level: warn\n")
        # Each change of the list moves keys first; the router applies them one by one.
        wait_for(lambda: [n["addr"] for n in self.nodes(router)["nodes"]] == addrs[1:], timeout=30,
                 what="the file's node list")
        self.settle(router)
        self.assertEqual(self.api(router, "GET", "/config")["log_level"], "warn")
        m = self.nodes(router)
        self.assertEqual(m["vnodes"], 32)
        self.assertEqual([n["state"] for n in m["nodes"]], ["active"] * 2)

    def test_sighup_rereads_the_file(self):
        _, addrs = self.redis_servers(2)
        cfg = os.path.join(self.workdir, "router.yaml")
        # A poll period of an hour: only SIGHUP can make the router notice.
        self.write_config(cfg, "router:\n  vnodes: 100\n  config_poll_ms: 3600000\n")
        router = self.start_router("--config", cfg, "--nodes", ",".join(addrs))
        self.assertEqual(self.nodes(router)["vnodes"], 100)
        self.write_config(cfg, "router:\n  vnodes: 50\n  config_poll_ms: 3600000\n")
        time.sleep(0.3)
        self.assertEqual(self.nodes(router)["vnodes"], 100)
        router.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.nodes(router)["vnodes"] == 50, timeout=3, what="SIGHUP reload")
        self.assertEqual(len(self.nodes(router)["nodes"]), 2)
        self.assertTrue(router.alive())


class BadInputTest(RouterTestCase):
    def setUp(self):
        super().setUp()
        self.servers, self.addrs = self.redis_servers(3)
        self.router = self.start_router("--nodes", ",".join(self.addrs), "--http-body-limit", "1kb")

    def test_malformed_json(self):
        for path in ("/add-node", "/get-node"):
            for body in (b"{not json", b"", b"[1, 2]", b'"just a string"'):
                self.assert_error(self.router, "POST", path, body, 400)
        self.assert_error(self.router, "POST", "/get-node", {"value": 5}, 400)
        self.assert_error(self.router, "POST", "/get-node", {"key": "x"}, 400)
        self.assert_error(self.router, "POST", "/add-node", {"value": 5}, 400)

    def test_bad_addresses(self):
        for addr in ("nonsense", "host:", ":80", "127.0.0.1:0", "127.0.0.1:99999", "a b:1"):
            self.assert_error(self.router, "POST", "/add-node", {"value": addr}, 400)
        # Nothing listens there: 400 naming the address.
        dead = f"127.0.0.1:{free_port()}"
        msg = self.assert_error(self.router, "POST", "/add-node", {"value": dead}, 400)
        self.assertIn(dead, msg)

    def test_unknown_duplicate_and_last_node(self):
        msg = self.assert_error(self.router, "POST", "/remove-node/1.2.3.4:5", None, 404)
        self.assertIn("1.2.3.4:5", msg)
        self.assert_error(self.router, "POST", "/add-node", {"value": self.addrs[0]}, 409)
        self.api(self.router, "POST", f"/remove-node/{self.addrs[0]}")
        self.settle(self.router)
        self.api(self.router, "POST", f"/remove-node/{self.addrs[1]}")
        self.settle(self.router)
        self.assert_error(self.router, "POST", f"/remove-node/{self.addrs[2]}", None, 409)
        self.assertEqual([n["addr"] for n in self.nodes(self.router)["nodes"]], [self.addrs[2]])

    def test_oversized_body_is_413(self):
        self.assert_error(self.router, "POST", "/add-node", {"value": "x" * 4096}, 413)
        self.assert_error(self.router, "POST", "/get-node", {"value": "x" * 4096}, 413)
        self.assert_error(self.router, "PUT", "/kv/big", b"x" * 4096, 413)
        self.assertEqual(http("GET", f"{self.router.http}/kv/big")[0], 404)

    def test_bad_config_values(self):
        for body in ({"vnodes": 0}, {"vnodes": -1}, {"vnodes": "64"}, {"vnodes": 100000},
                     {"health": {"interval_ms": 0}}, {"health": 5}, {"log_level": "loud"}):
            self.assert_error(self.router, "PUT", "/config", body, 400)
        self.assertEqual(self.api(self.router, "GET", "/config")["vnodes"], 160)
        # A valid change works and bumps the epoch.
        epoch = self.nodes(self.router)["epoch"]
        self.assertEqual(self.api(self.router, "PUT", "/config", {"vnodes": 64})["vnodes"], 64)
        self.settle(self.router)
        self.assertGreater(self.nodes(self.router)["epoch"], epoch)
        self.assertEqual(self.api(self.router, "GET", "/config")["vnodes"], 64)

    def test_unknown_endpoint_and_method(self):
        self.assertEqual(http("GET", f"{self.router.http}/nope")[0], 404)
        self.assertEqual(http("GET", f"{self.router.http}/add-node")[0], 405)
        self.assertEqual(http("PATCH", f"{self.router.http}/kv/a", b"x")[0], 405)


class AdminTokenTest(RouterTestCase):
    def test_mutations_need_the_token(self):
        servers, addrs = self.redis_servers(3)
        router = self.start_router("--nodes", ",".join(addrs[:2]), "--admin-token", "T")
        for headers in (None, {"Authorization": "Bearer wrong"}, {"Authorization": "T"},
                        {"Authorization": "Bearer T2"}):
            self.assert_error(router, "POST", "/add-node", {"value": addrs[2]}, 401, headers)
            self.assert_error(router, "POST", f"/remove-node/{addrs[0]}", None, 401, headers)
            self.assert_error(router, "PUT", "/config", {"vnodes": 64}, 401, headers)
        good = {"Authorization": "Bearer T"}
        self.api(router, "POST", "/add-node", {"value": addrs[2]}, good)
        self.settle(router)
        self.api(router, "POST", f"/remove-node/{addrs[0]}", None, good)
        self.settle(router)
        self.assertEqual(self.api(router, "PUT", "/config", {"vnodes": 64}, good)["vnodes"], 64)
        self.settle(router)
        m = self.nodes(router)  # reads need no token
        self.assertEqual([n["addr"] for n in m["nodes"]], addrs[1:])
        self.assertEqual(m["vnodes"], 64)
        self.api(router, "POST", "/get-node", {"value": "k"})
        self.assertEqual(http("PUT", f"{router.http}/kv/k", b"v")[0], 201)


class RestartTest(RouterTestCase):
    def test_restarted_router_keeps_its_map(self):
        nodes, http_addrs = self.ringkv_nodes(3)
        router = self.start_router("--nodes", ",".join(http_addrs[:2]))
        self.api(router, "POST", "/add-node", {"value": http_addrs[2]})
        self.settle(router)
        self.api(router, "PUT", "/config", {"vnodes": 80})
        self.settle(router)
        self.api(router, "POST", f"/remove-node/{http_addrs[0]}")
        self.settle(router)
        before = self.nodes(router)
        owners = {f"k{i}": self.owner(router, f"k{i}") for i in range(30)}
        self.assertEqual(router.stop(), 0)

        again = self.start_router(name="router2", data_dir=router.data_dir)
        after = self.nodes(again)
        self.assertEqual(after, before)
        self.assertEqual(after["vnodes"], 80)
        self.assertEqual([n["id"] for n in after["nodes"]], ["n1", "n2"])
        self.assertEqual({k: self.owner(again, k) for k in owners}, owners)
        rc = self.client(again.resp_port)
        self.assertTrue(rc.set("after-restart", "1"))
        owner = self.owner(again, "after-restart")
        self.assertEqual(self.client(int(owner.rsplit(":", 1)[1])).get("after-restart"), b"1")


class UnreachableAtStartTest(RouterTestCase):
    def test_unreachable_node_is_listed_down_and_joins_when_it_answers(self):
        _, addrs = self.redis_servers(2)
        dead_port = free_port()
        dead = f"127.0.0.1:{dead_port}"
        router = self.start_router("--nodes", ",".join(addrs + [dead]), *FAST_HEALTH)
        m = self.nodes(router)
        self.assertEqual(len(m["nodes"]), 3)
        self.assertEqual(self.state_of(router, dead), "down")
        self.assertEqual(m["in_service"], 2)
        rc = self.client(router.resp_port)
        for i in range(20):
            self.assertTrue(rc.set(f"k{i}", "v"))
            self.assertIn(self.owner(router, f"k{i}"), addrs)
        # Something starts listening there: a redis-server. It must join.
        self.start_redis(name="late", port=dead_port)
        wait_for(lambda: self.state_of(router, dead) == "active", timeout=5, what="late node active")
        node = [n for n in self.nodes(router)["nodes"] if n["addr"] == dead][0]
        self.assertEqual(node["kind"], "redis")
        self.assertEqual(self.nodes(router)["in_service"], 3)
        key = next(f"k{i}" for i in range(1000) if self.owner(router, f"k{i}") == dead)
        self.assertTrue(rc.set(key, "late"))
        self.assertEqual(self.client(dead_port).get(key), b"late")

    def test_only_unreachable_nodes(self):
        dead = f"127.0.0.1:{free_port()}"
        router = self.start_router("--nodes", dead)
        self.assertEqual(self.state_of(router, dead), "down")
        status, data, _ = http("POST", f"{router.http}/get-node", {"value": "k"})
        self.assertEqual(status, 503)
        self.assertIn("error", data)
        with self.assertRaises(redis.ResponseError):
            self.client(router.resp_port).get("k")


if __name__ == "__main__":
    unittest.main()
