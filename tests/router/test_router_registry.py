"""The router's gRPC registry (docs/api.md, "gRPC (router)"): ringkv.v1.Registry
Join / GetMap, and crustyring's dht.Registry and registry.Registry
(RegisterNode, GetConnectedNodes) on real nodes.

A join adds the node as POST /add-node does: its keys move to it through a
migration while every key stays readable through the router. The router runs
with --hash sha256 so the test computes ring ids (the first 8 bytes of
sha256(node id), big-endian) on its own.

The Python message classes are generated at test time with protoc; calls go
through grpc's generic channel methods.
"""
import hashlib
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import grpc  # noqa: E402
import redis  # noqa: E402
from google.protobuf import empty_pb2  # noqa: E402
import grpc_pb  # noqa: E402
from harness import ClusterTestCase, wait_for, http_json  # noqa: E402

KEYS = 2000
TIMEOUT = 60
_MODULES = {"ringkv.v1.peer_pb2": "ringkv/v1/peer.proto", "dht.dht_pb2": "dht/dht.proto"}


def pb(module):
    """Message classes of peer.proto and dht.proto, compiled once (tests/lib/grpc_pb.py)."""
    return grpc_pb.load(_MODULES[module])


def ring_id(node_id):
    return int.from_bytes(hashlib.sha256(node_id.encode()).digest()[:8], "big")


class Grpc:
    """Generic unary calls on one gRPC address."""

    def __init__(self, addr):
        self.channel = grpc.insecure_channel(addr)

    def call(self, path, request, reply_class, timeout=10):
        method = self.channel.unary_unary(path, request_serializer=type(request).SerializeToString,
                                          response_deserializer=reply_class.FromString)
        return method(request, timeout=timeout)

    def join(self, addr, **kw):
        v1 = pb("ringkv.v1.peer_pb2")
        return self.call("/ringkv.v1.Registry/Join", v1.JoinRequest(addr=addr, **kw), v1.JoinReply)

    def get_map(self):
        v1 = pb("ringkv.v1.peer_pb2")
        return self.call("/ringkv.v1.Registry/GetMap", v1.GetMapRequest(), v1.GetMapReply)

    def register_node(self, package, addr):
        dht = pb("dht.dht_pb2")
        return self.call(f"/{package}.Registry/RegisterNode", dht.ConnectionAddr(addr=addr),
                         dht.RegisterInfo)

    def connected_nodes(self, package):
        dht = pb("dht.dht_pb2")
        return self.call(f"/{package}.Registry/GetConnectedNodes", empty_pb2.Empty(), dht.Nodes)

    def close(self):
        self.channel.close()




class RegistryTestCase(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.channels = []

    def tearDown(self):
        for c in self.channels:
            c.close()
        super().tearDown()

    def cluster(self, n_nodes, n_in_map, *router_args):
        self.nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(n_nodes)]
        self.router = self.start_router(
            "--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in self.nodes[:n_in_map]),
            "--hash", "sha256", "--rebalance-grace-ms", "300", *router_args)
        self.registry_addr = f"127.0.0.1:{self.router.grpc_port}"
        self.rpc = self.grpc(self.registry_addr)
        self.client = redis.Redis(host="127.0.0.1", port=self.router.resp_port, socket_timeout=10)

    def grpc(self, addr):
        c = Grpc(addr)
        self.channels.append(c)
        return c

    def node_grpc(self, node):
        return f"127.0.0.1:{node.grpc_port}"

    def map(self):
        reply = self.rpc.get_map()
        return json.loads(reply.map_json)

    def wait_in_map(self, node_id):
        def published():
            m = self.map()
            return m if node_id in [n["id"] for n in m["nodes"]] else None
        return wait_for(published, what=f"{node_id} in the router's map")

    def migrations(self):
        status, data = http_json("GET", f"{self.router.http}/migrations")
        self.assertEqual(status, 200, data)
        return data

    def wait_done(self, migration_id):
        def done():
            m = self.migrations()
            if m["current"] is not None:
                return False
            return [h for h in m["history"] if h["id"] == migration_id]
        finished = wait_for(done, timeout=TIMEOUT, what=f"migration {migration_id} to end")
        self.assertEqual(finished[0]["state"], "done", finished[0])

    def write_keys(self, n=KEYS):
        pipe = self.client.pipeline(transaction=False)
        for i in range(n):
            pipe.set(f"k:{i}", f"v{i}")
        pipe.execute()

    def assert_readable(self, n=KEYS):
        self.assert_keys_readable(self.client, "k", n)

    def expected_ring(self, cluster_map):
        """(id, grpc addr) of the ringkv nodes in service, ordered by id."""
        return sorted((ring_id(n["id"]), n["grpc_addr"]) for n in cluster_map["nodes"]
                      if n["state"] in ("active", "joining") and n["grpc_addr"])

    def assert_registered(self, info, node, cluster_map):
        ring = self.expected_ring(cluster_map)
        me = (ring_id(node.id), self.node_grpc(node))
        self.assertIn(me, ring)
        self.assertEqual(info.id, me[0])
        previous = ring[ring.index(me) - 1]  # wraps: index -1 is the last
        self.assertEqual((info.neighbor.id, info.neighbor.addr), previous)


class GetMapTest(RegistryTestCase):
    def test_get_map_answers_the_routers_map_and_address(self):
        self.cluster(2, 2)
        reply = self.rpc.get_map()
        m = json.loads(reply.map_json)
        self.assertEqual(reply.epoch, m["epoch"])
        self.assertEqual(reply.registry, self.registry_addr)
        self.assertEqual(sorted(n["id"] for n in m["nodes"]), ["n0", "n1"])
        self.assertEqual(self.router.info["grpc_port"], self.router.grpc_port)


class JoinTest(RegistryTestCase):
    def test_join_adds_the_node_through_a_migration(self):
        self.cluster(3, 2)
        self.write_keys()
        before = self.map()["epoch"]
        joiner = self.nodes[2]
        # A node names itself by its RESP address (the router finds its HTTP
        # port in INFO server).
        reply = self.rpc.join(f"127.0.0.1:{joiner.resp_port}")
        self.assertEqual(reply.status, "processing")
        self.assertTrue(reply.migration_id)
        self.assertGreater(reply.epoch, before)
        self.assertEqual(reply.registry, self.registry_addr)
        m = json.loads(reply.map_json)
        self.assertEqual(m["epoch"], reply.epoch)
        added = [n for n in m["nodes"] if n["id"] == "n2"]
        self.assertEqual(len(added), 1, m)
        self.assertEqual(added[0]["addr"], f"127.0.0.1:{joiner.resp_port}")
        self.assertEqual(added[0]["grpc_addr"], self.node_grpc(joiner))

        self.wait_done(reply.migration_id)
        after = self.map()
        self.assertEqual({n["id"]: n["state"] for n in after["nodes"]},
                         {"n0": "active", "n1": "active", "n2": "active"})
        self.assert_readable()
        self.assertGreater(redis.Redis(host="127.0.0.1", port=joiner.resp_port).dbsize(), 0)

        # Every push of the map names the registry; nodes answer
        # ringkv.v1.Registry/GetMap with the map and registry they were sent.
        for n in self.nodes:
            got = self.grpc(self.node_grpc(n)).get_map()
            self.assertEqual(got.registry, self.registry_addr, n.id)
            self.assertEqual(got.epoch, after["epoch"], n.id)

    def test_join_by_http_address_and_with_an_id_and_weight(self):
        self.cluster(3, 2)
        reply = self.rpc.join(f"127.0.0.1:{self.nodes[2].http_port}", id="third", weight=2)
        self.assertEqual(reply.status, "processing")
        added = [n for n in json.loads(reply.map_json)["nodes"] if n["id"] == "third"]
        self.assertEqual([(n["addr"], n["weight"], n["state"]) for n in added],
                         [(f"127.0.0.1:{self.nodes[2].resp_port}", 2, "joining")])
        self.wait_done(reply.migration_id)

    def test_join_of_a_member_answers_member(self):
        self.cluster(2, 2)
        epoch = self.map()["epoch"]
        for addr in (f"127.0.0.1:{self.nodes[0].resp_port}",
                     f"127.0.0.1:{self.nodes[0].http_port}"):
            reply = self.rpc.join(addr)
            self.assertEqual(reply.status, "member", addr)
            self.assertEqual(reply.epoch, epoch)
            self.assertEqual(reply.registry, self.registry_addr)
            self.assertEqual(json.loads(reply.map_json)["epoch"], epoch)
        self.assertEqual(self.rpc.join("127.0.0.1:1", id="n1").status, "member")
        self.assertEqual(self.migrations()["current"], None)

    def test_bad_and_unreachable_addresses(self):
        self.cluster(1, 1)
        for bad in ("", "no-port", "127.0.0.1:0", "127.0.0.1:99999", ":6379"):
            with self.assertRaises(grpc.RpcError) as e:
                self.rpc.join(bad)
            self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT, bad)
        with self.assertRaises(grpc.RpcError) as e:
            self.rpc.join(f"127.0.0.1:{self.nodes[0].resp_port}", weight=70000)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        # Nothing listens on a port just released by a node that stopped.
        gone = self.start_node("--id", "gone", name="gone")
        gone_addr = f"127.0.0.1:{gone.http_port}"
        gone.stop()
        for call in (lambda: self.rpc.join(gone_addr),
                     lambda: self.rpc.register_node("dht", f"127.0.0.1:{gone.grpc_port}")):
            with self.assertRaises(grpc.RpcError) as e:
                call()
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        with self.assertRaises(grpc.RpcError) as e:
            self.rpc.register_node("registry", "bad address")
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual([n["id"] for n in self.map()["nodes"]], ["n0"])

    def test_join_while_a_migration_runs_is_aborted(self):
        self.cluster(4, 2)
        self.write_keys()
        status, _ = http_json("PUT", f"{self.router.http}/migrations/rate", {"max_keys_per_sec": 100})
        self.assertEqual(status, 200)
        status, data = http_json("POST", f"{self.router.http}/add-node",
                            {"value": f"127.0.0.1:{self.nodes[2].http_port}"})
        self.assertEqual(status, 200, data)
        running = data["migration"]["id"]
        with self.assertRaises(grpc.RpcError) as e:
            self.rpc.join(f"127.0.0.1:{self.nodes[3].http_port}")
        self.assertEqual(e.exception.code(), grpc.StatusCode.ABORTED)
        self.assertIn("retry", e.exception.details())
        self.assertEqual(self.migrations()["current"]["id"], running)
        self.assertNotIn("n3", [n["id"] for n in self.map()["nodes"]])


class SeedRegistryTest(RegistryTestCase):
    def test_register_node_and_connected_nodes_on_both_packages(self):
        self.cluster(3, 3)
        cluster_map = self.map()
        epoch = cluster_map["epoch"]
        for package in ("dht", "registry"):
            for node in self.nodes:
                info = self.rpc.register_node(package, self.node_grpc(node))
                self.assert_registered(info, node, cluster_map)
            listed = self.rpc.connected_nodes(package).nodes
            self.assertEqual([(n.id, n.addr) for n in listed], self.expected_ring(cluster_map))
            self.assertEqual([n.id for n in listed], sorted(n.id for n in listed))
        self.assertEqual(self.map()["epoch"], epoch)  # members: nothing changed

    def test_register_node_adds_a_new_node(self):
        self.cluster(3, 2)
        self.write_keys()
        joiner = self.nodes[2]
        info = self.rpc.register_node("dht", self.node_grpc(joiner))
        # The router publishes the map with the new node once every node of
        # the move has its part.
        cluster_map = self.wait_in_map("n2")
        self.assert_registered(info, joiner, cluster_map)
        self.assertEqual(next(n for n in cluster_map["nodes"] if n["id"] == "n2")["state"],
                         "joining")
        current = self.migrations()["current"]
        self.assertIsNotNone(current)
        self.wait_done(current["id"])
        self.assert_readable()
        again = self.rpc.register_node("registry", self.node_grpc(joiner))  # now a member
        self.assertEqual((again.id, again.neighbor), (info.id, info.neighbor))
        listed = self.rpc.connected_nodes("registry").nodes
        self.assertEqual([(n.id, n.addr) for n in listed], self.expected_ring(self.map()))
        self.assertEqual(len(listed), 3)


if __name__ == "__main__":
    unittest.main()
