"""Any node serves any key (crustyring): a router and real `ringkv node`s.

A gRPC client built from crustyring's own message shapes (tests/lib/crustyring)
does Set, Get and Delete through every node and sees the same data; a node
that does not own a key forwards RESP, HTTP and gRPC requests to the owner in
one hop; a node with a stale map is corrected by the owner; a node that
joins through another node ends up owning its keys with none lost while
clients keep reading and writing through a node; server reflection lists
the services.
"""
import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import grpc  # noqa: E402
import redis  # noqa: E402
import grpc_pb  # noqa: E402
from checker import Checker  # noqa: E402
from harness import ClusterTestCase, metric, wait_for  # noqa: E402

STEP_TIMEOUT = 120


def http(method, url, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_json(url):
    status, raw = http("GET", url)
    assert status == 200, (url, status, raw)
    return json.loads(raw)


class Dht:
    """crustyring's client: dht.DhtNode/QueryDht with its own message shapes."""

    def __init__(self, addr):
        self.pb = grpc_pb.load("dht.proto", root=grpc_pb.CRUSTYRING)
        self.channel = grpc.insecure_channel(addr)
        self.call = grpc_pb.unary(self.channel, "/dht.DhtNode/QueryDht", self.pb.Query,
                                  self.pb.QueryResult)

    def query(self, ty, key, value=None):
        q = self.pb.Query(ty=ty, key=key.encode() if isinstance(key, str) else key)
        if value is not None:
            q.value = value.encode() if isinstance(value, str) else value
        return self.call(q, timeout=10)

    def get(self, key):
        return self.query(self.pb.Get, key)

    def set(self, key, value):
        return self.query(self.pb.Set, key, value)

    def delete(self, key):
        return self.query(self.pb.Delete, key)

    def close(self):
        self.channel.close()


def local_keys(node):
    """The keys one node holds itself (SCAN is keyless: never forwarded)."""
    c = redis.Redis(port=node.resp_port)
    keys = {k.decode(errors="replace") for k in c.scan_iter(count=1000)}
    c.close()
    return keys


class DhtClusterTestCase(ClusterTestCase):
    def start_cluster(self, n=3):
        self.nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(n)]
        addrs = [f"127.0.0.1:{x.http_port}" for x in self.nodes]
        self.router = self.start_router("--nodes", ",".join(addrs))
        self.wait_maps(self.nodes)

    def wait_maps(self, nodes):
        """Until every node holds the router's current map and serves in it."""
        def ready():
            views = [get_json(f"{n.http}/neighbors") for n in nodes]
            if all(v["in_service"] and v["nodes"] == len(nodes) for v in views):
                return views
            return None
        return wait_for(ready, timeout=30, what="nodes to receive the cluster map")

    def owner_addr(self, key):
        status, raw = http("POST", f"{self.router.http}/get-node", {"value": key})
        self.assertEqual(status, 200, raw)
        return json.loads(raw)["node"]

    def node_of(self, key):
        addr = self.owner_addr(key)
        return next(n for n in self.nodes if addr.endswith(f":{n.resp_port}"))

    def wait_migrations_done(self, what):
        def done():
            m = get_json(f"{self.router.http}/migrations")
            if m.get("current") is not None:
                return None
            hist = m.get("history") or []
            return hist[-1] if hist else None
        last = wait_for(done, timeout=STEP_TIMEOUT, what=f"migration of {what}")
        self.assertEqual(last["state"], "done", last)


class DhtApiTest(DhtClusterTestCase):
    def test_set_get_delete_through_every_node_see_the_same_data(self):
        self.start_cluster()
        clients = [Dht(f"127.0.0.1:{n.grpc_port}") for n in self.nodes]
        keys = [f"seed:{i}" for i in range(60)]
        for i, k in enumerate(keys):
            r = clients[i % 3].set(k, f"v{i}")
            self.assertFalse(r.HasField("error"), r.error)
            self.assertFalse(r.HasField("value"))  # no previous value
        for c in clients:
            for i, k in enumerate(keys):
                r = c.get(k)
                self.assertFalse(r.HasField("error"), (k, r.error))
                self.assertEqual(r.value, f"v{i}".encode())
        # Set returns the previous value; Delete the deleted one.
        r = clients[1].set(keys[0], "again")
        self.assertEqual(r.value, b"v0")
        r = clients[2].delete(keys[0])
        self.assertEqual(r.value, b"again")
        for c in clients:
            r = c.get(keys[0])
            self.assertEqual(r.error, "Key not present in database.")
            self.assertFalse(r.HasField("value"))
            r = c.delete(keys[0])
            self.assertEqual(r.error, "Key not present in database.")
        r = clients[0].query(clients[0].pb.Set, "no-value")
        self.assertEqual(r.error, "Value not provided.")
        # Binary keys and values round-trip; the key itself is stored, not its hash.
        r = clients[0].set(b"bin\x00key\xff", b"\x00\x01\xfe")
        self.assertFalse(r.HasField("error"))
        self.assertEqual(clients[2].get(b"bin\x00key\xff").value, b"\x00\x01\xfe")
        # Each key lives on its owner alone, under its own name.
        held = {n.id: local_keys(n) for n in self.nodes}
        for k in keys[1:]:
            owner = self.node_of(k)
            where = [nid for nid, ks in held.items() if k in ks]
            self.assertEqual(where, [owner.id], k)
        # Two of every three queries went through a node that does not own the key.
        self.assertGreater(sum(metric(n, "forwarded_total") for n in self.nodes), 60)
        self.assertGreater(sum(metric(n, "forwards_served_total") for n in self.nodes), 60)
        for c in clients:
            c.close()

    def test_a_forwarded_request_returns_what_the_owner_holds(self):
        self.start_cluster()
        keys = [f"fw:{i}" for i in range(30)]
        for i, k in enumerate(keys):
            owner = self.node_of(k)
            redis.Redis(port=owner.resp_port).set(k, f"owner-{i}")
        for n in self.nodes:
            c = redis.Redis(port=n.resp_port)
            dht = Dht(f"127.0.0.1:{n.grpc_port}")
            for i, k in enumerate(keys):
                want = f"owner-{i}".encode()
                self.assertEqual(c.get(k), want)                              # RESP
                self.assertEqual(http("GET", f"{n.http}/kv/{k}"), (200, want))  # HTTP
                self.assertEqual(dht.get(k).value, want)                      # gRPC
            # Multi-key commands over several owners are split and merged in order.
            self.assertEqual(c.mget(keys), [f"owner-{i}".encode() for i in range(30)])
            self.assertEqual(c.exists(*keys), 30)
            dht.close()
            c.close()
        # Writes through a non-owner land on the owner only.
        k = keys[0]
        owner = self.node_of(k)
        other = next(n for n in self.nodes if n is not owner)
        self.assertTrue(redis.Redis(port=other.resp_port).set(k, "via-other"))
        self.assertEqual(http("PUT", f"{other.http}/kv/{k}", raw=b"via-http")[0], 201)
        self.assertEqual(redis.Redis(port=owner.resp_port).get(k), b"via-http")
        self.assertNotIn(k, local_keys(other))
        c = redis.Redis(port=other.resp_port)
        self.assertEqual(c.delete(keys[0], keys[1], "fw:none"), 2)
        self.assertEqual(c.mset({keys[2]: "m2", keys[3]: "m3"}), True)
        self.assertEqual(redis.Redis(port=self.node_of(keys[3]).resp_port).get(keys[3]), b"m3")
        with self.assertRaises(redis.ResponseError) as e:
            c.msetnx({keys[4]: "x", keys[5]: "y", keys[6]: "z", keys[7]: "w"})
        self.assertIn("CROSSSLOT", str(e.exception))

    def test_a_stale_map_is_corrected_by_the_owner(self):
        self.start_cluster()
        pb = grpc_pb.load("ringkv/v1/peer.proto")
        ch = grpc.insecure_channel(f"127.0.0.1:{self.nodes[0].grpc_port}")
        get_map = grpc_pb.unary(ch, "/ringkv.v1.Registry/GetMap", pb.GetMapRequest,
                                pb.GetMapReply)
        old = get_map(pb.GetMapRequest(), timeout=5)
        self.assertGreater(old.epoch, 0)
        ch.close()
        # A fourth node joins; the keys it takes change owner.
        n3 = self.start_node("--id", "n3", name="node3")
        status, raw = http("POST", f"{self.router.http}/add-node",
                           {"value": f"127.0.0.1:{n3.http_port}"})
        self.assertEqual(status, 200, raw)
        self.wait_migrations_done("n3")
        self.nodes.append(n3)
        self.wait_maps(self.nodes)
        moved = [k for k in (f"st:{i}" for i in range(400)) if self.node_of(k) is n3][:20]
        self.assertGreater(len(moved), 5)
        router = redis.Redis(port=self.router.resp_port)
        for k in moved:
            router.set(k, f"new-{k}")
        # A node outside the cluster that still holds the old map forwards
        # to the old owner, which answers with its newer map.
        x = self.start_node("--id", "x", name="stale")
        xch = grpc.insecure_channel(f"127.0.0.1:{x.grpc_port}")
        set_map = grpc_pb.unary(xch, "/ringkv.v1.Peer/SetMap", pb.SetMapRequest, pb.SetMapReply)
        self.assertEqual(set_map(pb.SetMapRequest(map_json=old.map_json), timeout=5).epoch,
                         old.epoch)
        c = redis.Redis(port=x.resp_port)
        for k in moved:
            self.assertEqual(c.get(k), f"new-{k}".encode())
        self.assertGreater(get_json(f"{x.http}/neighbors")["epoch"], old.epoch)
        self.assertGreaterEqual(metric(x, "forward_retries_total"), 1)
        self.assertEqual(local_keys(x), set())
        # Loops are cut: a forwarded command takes exactly one hop.
        fwd = grpc_pb.unary(xch, "/ringkv.v1.Peer/Forward", pb.ForwardRequest, pb.ForwardReply)
        with self.assertRaises(grpc.RpcError) as e:
            fwd(pb.ForwardRequest(epoch=1, hops=2, args=[b"GET", b"k"]), timeout=5)
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        xch.close()
        # A request that shows a newer epoch makes the receiver fetch the sender's map.
        new_epoch = get_json(f"{self.nodes[0].http}/neighbors")["epoch"]
        y = self.start_node("--id", "y", name="stale2")
        ych = grpc.insecure_channel(f"127.0.0.1:{y.grpc_port}")
        grpc_pb.unary(ych, "/ringkv.v1.Peer/SetMap", pb.SetMapRequest, pb.SetMapReply)(
            pb.SetMapRequest(map_json=old.map_json), timeout=5)
        self.assertEqual(get_json(f"{y.http}/neighbors")["epoch"], old.epoch)
        reply = grpc_pb.unary(ych, "/ringkv.v1.Peer/Forward", pb.ForwardRequest,
                              pb.ForwardReply)(
            pb.ForwardRequest(epoch=new_epoch, hops=1,
                              from_grpc=f"127.0.0.1:{self.nodes[0].grpc_port}",
                              args=[b"GET", moved[0].encode()]), timeout=5)
        self.assertEqual(get_json(f"{y.http}/neighbors")["epoch"], new_epoch)
        self.assertEqual(reply.epoch, new_epoch)
        self.assertTrue(reply.moved)  # y owns nothing; a forwarded command is not forwarded again
        self.assertTrue(reply.reply.startswith(b"-MOVED "), reply.reply)
        self.assertEqual(metric(y, "map_refreshes_total"), 1)
        ych.close()

    def test_server_reflection_lists_the_services(self):
        self.start_cluster(1)
        node = grpc_pb.list_services(f"127.0.0.1:{self.nodes[0].grpc_port}")
        for s in ("dht.DhtNode", "ringkv.v1.Peer", "ringkv.v1.Registry",
                  "grpc.health.v1.Health"):
            self.assertIn(s, node)
        router = grpc_pb.list_services(f"127.0.0.1:{self.router.grpc_port}")
        for s in ("dht.Registry", "registry.Registry", "ringkv.v1.Registry"):
            self.assertIn(s, router)
        files = grpc_pb.file_containing(f"127.0.0.1:{self.nodes[0].grpc_port}", "dht.DhtNode")
        self.assertTrue(any(b"QueryDht" in f for f in files))


class JoinTest(DhtClusterTestCase):
    def test_a_node_joining_through_another_node_owns_its_keys_with_none_lost(self):
        self.start_cluster()
        # Clients read and write through node 0 (forwarding) the whole time.
        checker = Checker(self.nodes[0].resp_port, keys_per_thread=500, threads=3)
        checker.preload()
        checker.start()
        time.sleep(0.5)
        n3 = self.start_node("--id", "n3", "--join", f"127.0.0.1:{self.nodes[1].grpc_port}",
                             name="node3")
        wait_for(lambda: len(get_json(f"{self.router.http}/nodes")["nodes"]) == 4,
                 timeout=30, what="n3 to be registered")
        self.wait_migrations_done("n3's join")
        self.nodes.append(n3)
        views = self.wait_maps(self.nodes)
        time.sleep(0.5)
        checker.stop()
        self.assertEqual(checker.failures[:20], [], f"{len(checker.failures)} failed requests")
        self.assertEqual(checker.stale[:20], [], f"{len(checker.stale)} stale reads")
        self.assertGreater(checker.acked_writes, 0)
        # Every acknowledged write reads back through the router and through n3.
        self.assertEqual(checker.verify(), [])
        via_n3 = Checker(n3.resp_port, keys_per_thread=500, threads=3)
        via_n3.expected, via_n3.counters = checker.expected, checker.counters
        self.assertEqual(via_n3.verify(), [])
        # n3 holds its keys, and only keys it owns; nobody else holds them.
        def placed():
            held = {n.id: local_keys(n) for n in self.nodes}
            mine = held["n3"]
            if not mine:
                return None
            for k in mine:
                if self.node_of(k) is not n3:
                    return None
            for nid, ks in held.items():
                if nid != "n3" and ks & mine:
                    return None
            return mine
        mine = wait_for(placed, timeout=30, what="n3 to hold exactly its keys")
        self.assertGreater(len(mine), 100)
        # Neighbours: each node's next names it as previous; one cycle through all four.
        by_id = {v["id"]: v for v in views}
        self.assertEqual(set(by_id), {"n0", "n1", "n2", "n3"})
        for v in views:
            self.assertEqual(by_id[v["next"]["id"]]["previous"]["id"], v["id"])
        seen, cur = [], "n0"
        for _ in range(4):
            seen.append(cur)
            cur = by_id[cur]["next"]["id"]
        self.assertEqual(cur, "n0")
        self.assertEqual(sorted(seen), ["n0", "n1", "n2", "n3"])

    def test_join_refuses_a_wildcard_bind_without_advertise_host(self):
        import subprocess
        from harness import RINGKV
        r = subprocess.run([RINGKV, "node", "--bind", "0.0.0.0", "--resp-port", "0",
                            "--http-port", "0", "--grpc-port", "0", "--join", "127.0.0.1:1"],
                           capture_output=True, text=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--advertise-host", r.stderr + r.stdout)


if __name__ == "__main__":
    unittest.main()
