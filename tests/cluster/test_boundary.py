"""Validation at the boundary (docs/security.md): every bad request another
process can send a node or the router over gRPC (or the router's admin
API) is refused with a clear status, counted in the node's /metrics as
ringkv_refused_total{reason=...}, and leaves the map epoch and the data as
they were.

Placement is fixed by the node ids and `ringkv ring locate` gives a key's
ring position, so keys inside and outside an arc are chosen, not guessed.
"""
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import grpc_pb  # noqa: E402
from harness import RINGKV, ClusterTestCase, http_json, wait_for  # noqa: E402

import grpc  # noqa: E402
import redis  # noqa: E402

HALF = 1 << 63  # the arc (0, 2^63]: half the ring
MAX_U64 = (1 << 64) - 1


def position(key):
    out = subprocess.run([RINGKV, "ring", "locate", "--nodes", "x", "--json", key], check=True,
                         capture_output=True, text=True).stdout
    return int(json.loads(out)["hash"])


def keys_where(inside, n=1):
    """`n` keys whose ring positions are inside (or outside) the arc (0, HALF]."""
    return [k for k in (f"b:{i}" for i in range(100)) if (0 < position(k) <= HALF) == inside][:n]


def refused(node, reason):
    status, raw = http_json("GET", f"{node.http}/metrics")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    m = re.search(rf'^ringkv_refused_total{{reason="{reason}"}} (\d+)', text, re.M)
    assert m, f"no ringkv_refused_total{{reason={reason}}} in /metrics"
    return int(m.group(1))


def epoch(node):
    return http_json("GET", f"{node.http}/neighbors")[1]["epoch"]


def peek(node, key):
    """(version, value) that `node` itself holds for `key`, or None."""
    e = redis.Redis(port=node.resp_port).execute_command("RINGKV.PEEK", key)[0]
    return None if e is None else (e[0], e[3])


class Peer:
    """A ringkv.v1.Peer client of one node."""

    def __init__(self, node):
        self.pb = pb = grpc_pb.load("ringkv/v1/peer.proto")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{node.grpc_port}")

        def method(kind, name, req, rep, service="Peer"):
            return getattr(self.channel, kind)(
                f"/ringkv.v1.{service}/{name}", request_serializer=req.SerializeToString,
                response_deserializer=rep.FromString)

        self.SetMap = method("unary_unary", "SetMap", pb.SetMapRequest, pb.SetMapReply)
        self.GetMap = method("unary_unary", "GetMap", pb.GetMapRequest, pb.GetMapReply,
                             service="Registry")
        self.BeginMigration = method("unary_unary", "BeginMigration", pb.BeginMigrationRequest,
                                     pb.BeginMigrationReply)
        self.EndMigration = method("unary_unary", "EndMigration", pb.EndMigrationRequest,
                                   pb.EndMigrationReply)
        self.MoveArcs = method("unary_stream", "MoveArcs", pb.MoveRequest, pb.MoveProgress)
        self.Transfer = method("stream_unary", "Transfer", pb.EntryBatch, pb.ApplySummary)
        apply_stream = method("stream_unary", "Apply", pb.EntryBatch, pb.ApplySummary)
        self.Apply = lambda batch, **kw: apply_stream(iter([batch]), **kw)  # a stream of batches
        self.Forward = method("unary_unary", "Forward", pb.ForwardRequest, pb.ForwardReply)

    def role(self, kind, peer_id, peer_grpc, arcs):
        pb = self.pb
        return pb.MigrationRole(kind=kind, peer_id=peer_id, peer_grpc=peer_grpc,
                                arcs=[pb.Arc(lo=lo, hi=hi) for lo, hi in arcs])

    def entry(self, key, version, value=b"v"):
        return self.pb.Entry(key=key.encode(), value=value, version=version)

    def close(self):
        self.channel.close()


class BoundaryTestCase(ClusterTestCase):
    def assert_refused(self, call, code, words=()):
        with self.assertRaises(grpc.RpcError) as e:
            call()
        self.assertEqual(e.exception.code(), code, e.exception.details())
        for w in words:
            self.assertIn(w, e.exception.details())
        return e.exception.details()


class ClusterBoundaryTest(BoundaryTestCase):
    """Maps and membership, on a cluster of two nodes and a router."""

    def setUp(self):
        super().setUp()
        self.n0 = self.start_node("--id", "n0", name="node0")
        self.n1 = self.start_node("--id", "n1", name="node1")
        self.router = self.start_router(
            "--nodes", f"127.0.0.1:{self.n0.http_port},127.0.0.1:{self.n1.http_port}")
        wait_for(lambda: epoch(self.n0) > 0 and epoch(self.n1) > 0, what="the first map")
        # The registry's address arrives with the map; wait until the router has pushed it.
        self.peer = Peer(self.n0)
        wait_for(lambda: self.peer.GetMap(self.peer.pb.GetMapRequest(), timeout=5).registry,
                 what="the registry's address")
        self.map = self.peer.GetMap(self.peer.pb.GetMapRequest(), timeout=5)
        self.client = redis.Redis(port=self.router.resp_port)
        for i in range(20):
            self.client.set(f"data:{i}", f"v{i}")

    def tearDown(self):
        self.peer.close()
        super().tearDown()

    def assert_unchanged(self):
        self.assertEqual(epoch(self.n0), self.map.epoch)
        for i in range(20):
            self.assertEqual(self.client.get(f"data:{i}"), f"v{i}".encode())

    def with_epoch(self, e):
        m = json.loads(self.map.map_json)
        m["epoch"] = e
        return json.dumps(m)

    def test_a_map_too_far_ahead_is_refused(self):
        pb = self.peer.pb
        self.assert_refused(
            lambda: self.peer.SetMap(pb.SetMapRequest(map_json=self.with_epoch(1 << 62),
                                                      registry=self.map.registry), timeout=5),
            grpc.StatusCode.FAILED_PRECONDITION, ["max_epoch_step"])
        self.assertEqual(refused(self.n0, "epoch_step"), 1)
        self.assert_unchanged()
        # The router can still push: the next map arrives.
        status, body = http_json("PUT", f"{self.router.http}/config", {"vnodes": 32})
        self.assertEqual(status, 200, body)
        wait_for(lambda: epoch(self.n0) > self.map.epoch, timeout=30, what="the router's next map")

    def test_a_pushed_map_must_name_the_registry(self):
        pb = self.peer.pb
        self.assert_refused(
            lambda: self.peer.SetMap(pb.SetMapRequest(map_json=self.with_epoch(self.map.epoch + 1)),
                                     timeout=5),
            grpc.StatusCode.PERMISSION_DENIED, ["registry"])
        self.assertEqual(refused(self.n0, "map_source"), 1)
        self.assert_unchanged()

    def test_a_forward_showing_a_far_epoch_fetches_no_map(self):
        pb = self.peer.pb
        before = refused(self.n0, "epoch_step")
        reply = self.peer.Forward(pb.ForwardRequest(
            epoch=1 << 62, hops=1, from_grpc=f"127.0.0.1:{self.n1.grpc_port}",
            args=[b"DBSIZE"]), timeout=5)
        self.assertEqual(reply.epoch, self.map.epoch)
        self.assertEqual(refused(self.n0, "epoch_step"), before + 1)
        self.assert_unchanged()

    def test_a_migration_too_far_ahead_is_refused(self):
        pb = self.peer.pb
        role = self.peer.role(pb.MigrationRole.IMPORT, "n1", f"127.0.0.1:{self.n1.grpc_port}",
                              [(0, HALF)])
        self.assert_refused(
            lambda: self.peer.BeginMigration(pb.BeginMigrationRequest(
                migration_id="far", epoch=1 << 62, hash="xxh3", roles=[role]), timeout=5),
            grpc.StatusCode.FAILED_PRECONDITION, ["max_epoch_step"])
        self.assertEqual(refused(self.n0, "epoch_step"), 1)
        self.assert_unchanged()

    def apply(self, *entries, epoch=0):
        """RINGKV.APPLY of (key, version, value) entries to n0, as a peer
        sends it (ringkv.v1.Peer/Forward with the cluster's credentials)."""
        args = [b"RINGKV.APPLY"]
        for key, version, value in entries:
            args += [key.encode(), str(version).encode(), b"0", b"0", value]
        return self.peer.Forward(self.peer.pb.ForwardRequest(epoch=epoch, hops=1, args=args),
                                 timeout=5).reply

    def test_a_replica_write_of_a_key_the_map_places_elsewhere_is_refused(self):
        held = {i: peek(self.n0, f"data:{i}") is not None for i in range(20)}
        mine = [f"data:{i}" for i in range(20) if held[i]]
        theirs = [f"data:{i}" for i in range(20) if not held[i]]
        self.assertTrue(mine and theirs, held)
        now = int(time.time() * 1000) << 16
        # Alone: refused, counted, not installed.
        reply = self.apply((theirs[0], now, b"planted"))
        self.assertTrue(reply.startswith(b"-REFUSED 0 "), reply)
        self.assertIn(b"does not place it on this node", reply)
        self.assertEqual(refused(self.n0, "outside_arcs"), 1)
        self.assertIsNone(peek(self.n0, theirs[0]))
        # Coalesced with keys n0 serves: those are installed, only the
        # refused one is named.
        reply = self.apply((mine[0], now, b"new0"), (theirs[1], now, b"planted"),
                           (mine[1], now, b"new1"))
        self.assertTrue(reply.startswith(b"-REFUSED 1 "), reply)
        self.assertEqual(refused(self.n0, "outside_arcs"), 2)
        self.assertEqual(peek(self.n0, mine[0]), (now, b"new0"))
        self.assertEqual(peek(self.n0, mine[1]), (now, b"new1"))
        self.assertIsNone(peek(self.n0, theirs[1]))
        # Nothing refused: the count of installed keys, as before.
        self.assertEqual(self.apply((mine[2], now, b"new2")), b":1\r\n")
        self.assertEqual(refused(self.n0, "outside_arcs"), 2)
        self.assertEqual(self.client.get(theirs[0]), b"v" + theirs[0].split(":")[1].encode())

    def test_weights_and_vnodes_beyond_their_bounds_are_refused(self):
        pb = self.peer.pb
        spare = self.start_node("--id", "n2", name="node2")
        ch = grpc.insecure_channel(f"127.0.0.1:{self.router.grpc_port}")
        join = grpc_pb.unary(ch, "/ringkv.v1.Registry/Join", pb.JoinRequest, pb.JoinReply)
        self.assert_refused(
            lambda: join(pb.JoinRequest(addr=f"127.0.0.1:{spare.resp_port}", weight=65536),
                         timeout=10),
            grpc.StatusCode.INVALID_ARGUMENT, ["max_weight"])
        ch.close()
        status, body = http_json("POST", f"{self.router.http}/add-node",
                                 {"addr": f"127.0.0.1:{spare.http_port}", "weight": 257})
        self.assertEqual(status, 400, body)
        self.assertIn("max_weight", json.dumps(body))
        status, body = http_json("PUT", f"{self.router.http}/nodes/n1", {"weight": 257})
        self.assertEqual(status, 400, body)
        status, body = http_json("PUT", f"{self.router.http}/config", {"vnodes": 1025})
        self.assertEqual(status, 400, body)
        raw = http_json("GET", f"{self.router.http}/metrics")[1]
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        self.assertIn('ringkv_router_refused_total{reason="membership"} 4\n', text)
        self.assertEqual(http_json("GET", f"{self.router.http}/nodes")[1]["epoch"],
                         self.map.epoch)
        self.assert_unchanged()


class NodeBoundaryTest(BoundaryTestCase):
    """Arrivals and copies, on a node of its own (it owns every key) and a decoy."""

    def setUp(self):
        super().setUp()
        self.node = self.start_node("--id", "s", name="node")
        self.decoy = self.start_node("--id", "decoy", name="decoy")
        self.peer = Peer(self.node)
        self.inside = keys_where(True)[0]
        # `kept` is outside the arcs the tests' migrations import, which their
        # cancel drops.
        self.outside, self.kept = keys_where(False, 2)
        self.client = redis.Redis(port=self.node.resp_port)
        self.client.set(self.kept, "v")

    def tearDown(self):
        self.peer.close()
        super().tearDown()

    def begin(self, migration_id, kind, peer_id, peer_grpc):
        pb = self.peer.pb
        role = self.peer.role(kind, peer_id, peer_grpc, [(0, HALF)])
        self.peer.BeginMigration(pb.BeginMigrationRequest(
            migration_id=migration_id, epoch=2, hash="xxh3", roles=[role]), timeout=5)

    def end(self, migration_id):
        self.peer.EndMigration(self.peer.pb.EndMigrationRequest(
            migration_id=migration_id, cancelled=True), timeout=5)

    def assert_clock_sane(self):
        # A key outside the imported arcs: a cancelled import drops the keys
        # inside them, in the background, after EndMigration has returned.
        self.client.set(self.kept, "v")
        version = peek(self.node, self.kept)[0]
        self.assertLess(version >> 16, int(time.time() * 1000) + 60_000)

    def test_arrivals_outside_the_arcs_or_beyond_the_drift_are_refused(self):
        pb = self.peer.pb
        self.begin("m1", pb.MigrationRole.IMPORT, "decoy", f"127.0.0.1:{self.decoy.grpc_port}")
        now = int(time.time() * 1000) << 16
        # Outside the migration's arcs, and the node holds no map that places it here.
        self.assert_refused(
            lambda: self.peer.Apply(pb.EntryBatch(migration_id="m1", epoch=2,
                                                  entries=[self.peer.entry(self.outside, now)]),
                                    timeout=5),
            grpc.StatusCode.PERMISSION_DENIED, ["no arc"])
        self.assertEqual(refused(self.node, "outside_arcs"), 1)
        # Inside, but with a version far ahead of the clock, or the largest one.
        for version in (now + (120_000 << 16), MAX_U64):
            self.assert_refused(
                lambda v=version: self.peer.Apply(
                    pb.EntryBatch(migration_id="m1", epoch=2,
                                  entries=[self.peer.entry(self.inside, v)]), timeout=5),
                grpc.StatusCode.OUT_OF_RANGE, ["max_clock_drift"])
        self.assert_refused(
            lambda: self.peer.Transfer(iter([pb.EntryBatch(
                migration_id="m1", epoch=2, entries=[self.peer.entry(self.inside, MAX_U64)])]),
                timeout=5),
            grpc.StatusCode.OUT_OF_RANGE, ["max_clock_drift"])
        self.assertEqual(refused(self.node, "clock_drift"), 3)
        self.assertIsNone(peek(self.node, self.inside))
        self.assertIsNone(peek(self.node, self.outside))
        # A good arrival still installs.
        reply = self.peer.Apply(pb.EntryBatch(migration_id="m1", epoch=2,
                                              entries=[self.peer.entry(self.inside, now)]),
                                timeout=5)
        self.assertEqual(reply.applied, 1, reply)
        self.assertEqual(peek(self.node, self.inside), (now, b"v"))
        self.end("m1")
        self.assert_clock_sane()
        self.assertEqual(self.client.get(self.kept), b"v")

    def apply(self, *entries):
        """RINGKV.APPLY of (key, version) entries, as a peer sends it."""
        args = [b"RINGKV.APPLY"]
        for key, version in entries:
            args += [key.encode(), str(version).encode(), b"0", b"0", b"v"]
        return self.peer.Forward(self.peer.pb.ForwardRequest(epoch=0, hops=1, args=args),
                                 timeout=5).reply

    def test_a_replica_write_beyond_the_drift_is_refused(self):
        pb = self.peer.pb
        self.begin("m3", pb.MigrationRole.IMPORT, "decoy", f"127.0.0.1:{self.decoy.grpc_port}")
        reply = self.apply((self.inside, MAX_U64))
        self.assertTrue(reply.startswith(b"-REFUSED 0 "), reply)
        self.assertIn(b"max_clock_drift", reply)
        self.assertEqual(refused(self.node, "clock_drift"), 1)
        self.assertIsNone(peek(self.node, self.inside))
        self.end("m3")
        self.assert_clock_sane()

    def test_a_replica_write_outside_the_arcs_is_refused(self):
        pb = self.peer.pb
        now = int(time.time() * 1000) << 16
        # No map places a key here, and no migration is under way.
        self.assertTrue(self.apply((self.inside, now)).startswith(b"-REFUSED 0 "))
        self.assertEqual(refused(self.node, "outside_arcs"), 1)
        self.assertIsNone(peek(self.node, self.inside))
        # Inside a migration's arcs: installed; outside: refused, the others kept.
        self.begin("m4", pb.MigrationRole.IMPORT, "decoy", f"127.0.0.1:{self.decoy.grpc_port}")
        reply = self.apply((self.outside, now), (self.inside, now), (self.kept, now + 1))
        self.assertTrue(reply.startswith(b"-REFUSED 0,2 "), reply)
        self.assertIn(b"does not place it on this node", reply)
        self.assertEqual(refused(self.node, "outside_arcs"), 3)
        self.assertEqual(peek(self.node, self.inside), (now, b"v"))
        self.assertIsNone(peek(self.node, self.outside))
        self.assertNotEqual(peek(self.node, self.kept)[0], now + 1)
        self.assertEqual(self.apply((self.inside, now + 2)), b":1\r\n")
        self.end("m4")

    def test_arcs_are_copied_only_to_the_migrations_target(self):
        pb = self.peer.pb
        self.client.set(self.inside, "secret")
        # The role names node n9, but the address is the decoy's (another node).
        self.begin("m2", pb.MigrationRole.EXPORT, "n9", f"127.0.0.1:{self.decoy.grpc_port}")
        self.assert_refused(
            lambda: list(self.peer.MoveArcs(pb.MoveRequest(migration_id="m2"), timeout=10)),
            grpc.StatusCode.PERMISSION_DENIED, ["will not copy", "decoy"])
        self.assertEqual(refused(self.node, "move_target"), 1)
        self.assertEqual(redis.Redis(port=self.decoy.resp_port).dbsize(), 0)
        self.end("m2")
        self.assertEqual(self.client.get(self.inside), b"secret")


if __name__ == "__main__":
    unittest.main()
