"""Live rebalancing on real nodes: two `ringkv node`s driven over gRPC
(ringkv.v1.Peer) as the router drives them, with a real Redis client on the
new owner. Pull-on-miss, write-through (read-modify-write commands act on the
current value), tombstones, MoveArcs, the delayed drop, the SetMap fence and
keep-newer Apply.

The Python message classes are generated at test time with protoc from
proto/ringkv/v1/peer.proto; calls go through grpc's generic channel methods.
"""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import grpc  # noqa: E402
import redis  # noqa: E402
from harness import ClusterTestCase, RawClient, free_port, wait_for  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_PB = None
_PB_DIR = None


def peer_pb2():
    """ringkv/v1/peer.proto's message classes, compiled once per run."""
    global _PB, _PB_DIR
    if _PB is None:
        _PB_DIR = tempfile.mkdtemp(prefix="ringkv-pb-")
        subprocess.run(["protoc", f"--proto_path={ROOT}/proto", f"--python_out={_PB_DIR}",
                        f"{ROOT}/proto/ringkv/v1/peer.proto"], check=True)
        sys.path.insert(0, _PB_DIR)
        _PB = importlib.import_module("ringkv.v1.peer_pb2")
    return _PB


def tearDownModule():
    if _PB_DIR:
        shutil.rmtree(_PB_DIR, ignore_errors=True)


WHOLE_RING = (0, 0)  # lo == hi: every position


class Peer:
    """A ringkv.v1.Peer client for one node's gRPC address."""

    def __init__(self, addr):
        pb = peer_pb2()
        self.pb = pb
        self.channel = grpc.insecure_channel(addr)

        def method(kind, name, req, rep):
            return getattr(self.channel, kind)(
                f"/ringkv.v1.Peer/{name}", request_serializer=req.SerializeToString,
                response_deserializer=rep.FromString)

        self.BeginMigration = method("unary_unary", "BeginMigration", pb.BeginMigrationRequest,
                                     pb.BeginMigrationReply)
        self.EndMigration = method("unary_unary", "EndMigration", pb.EndMigrationRequest,
                                   pb.EndMigrationReply)
        self.MoveArcs = method("unary_stream", "MoveArcs", pb.MoveRequest, pb.MoveProgress)
        self.Transfer = method("stream_unary", "Transfer", pb.EntryBatch, pb.ApplySummary)
        # Apply and Fetch are streams (large values go in pieces): one batch
        # in, and the replies merged into one.
        apply_stream = method("stream_unary", "Apply", pb.EntryBatch, pb.ApplySummary)
        self.Apply = lambda batch, **kw: apply_stream(iter([batch]), **kw)
        fetch_stream = method("unary_stream", "Fetch", pb.FetchRequest, pb.FetchReply)
        self.Fetch = lambda req, **kw: pb.FetchReply(
            entries=[e for r in fetch_stream(req, **kw) for e in r.entries])
        self.SetMap = method("unary_unary", "SetMap", pb.SetMapRequest, pb.SetMapReply)
        self.Status = method("unary_unary", "Status", pb.StatusRequest, pb.StatusReply)

    def begin(self, migration_id, kind, peer_node, arcs=(WHOLE_RING,)):
        pb = self.pb
        role = pb.MigrationRole(kind=kind, peer_id=peer_node.id,
                                peer_grpc=f"127.0.0.1:{peer_node.grpc_port}",
                                arcs=[pb.Arc(lo=lo, hi=hi) for lo, hi in arcs])
        return self.BeginMigration(pb.BeginMigrationRequest(
            migration_id=migration_id, epoch=2, hash="xxh3", roles=[role]), timeout=5)

    def close(self):
        self.channel.close()


def run(client, *args):
    """The reply, or ('error', message) for an error reply."""
    try:
        return client.execute_command(*args)
    except redis.ResponseError as e:
        return ("error", str(e))


def raw_command(port, *args):
    """One command over a raw socket; the reply bytes as sent."""
    c = RawClient(port)
    try:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        c.send(out)
        return c.recv_exactly_reply()
    finally:
        c.close()


def info_section(client, section):
    return client.info(section)


def hlc(now_ms, logical=0):
    return (now_ms << 16) | logical


def cluster_map(epoch, nodes):
    import json
    return json.dumps({
        "epoch": epoch, "vnodes": 160, "hash": "xxh3", "replication": 1,
        "nodes": [{"id": n.id, "addr": f"127.0.0.1:{n.resp_port}",
                   "http_addr": f"127.0.0.1:{n.http_port}",
                   "grpc_addr": f"127.0.0.1:{n.grpc_port}", "kind": "ringkv", "weight": 1,
                   "state": "active"} for n in nodes]})


class NodeMigrationTest(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.old = self.start_node("--id", "old", name="old")  # exporter
        self.new = self.start_node("--id", "new", "--peer-timeout-ms", "1000", name="new")
        self.old_peer = Peer(f"127.0.0.1:{self.old.grpc_port}")
        self.new_peer = Peer(f"127.0.0.1:{self.new.grpc_port}")
        self.old_r = redis.Redis(port=self.old.resp_port)
        self.new_r = redis.Redis(port=self.new.resp_port)
        self.pb = peer_pb2()

    def tearDown(self):
        self.old_peer.close()
        self.new_peer.close()
        super().tearDown()

    def begin(self, migration_id="m1"):
        pb = self.pb
        self.old_peer.begin(migration_id, pb.MigrationRole.EXPORT, self.new)
        self.new_peer.begin(migration_id, pb.MigrationRole.IMPORT, self.old)

    def move(self, migration_id="m1", **kw):
        return list(self.old_peer.MoveArcs(self.pb.MoveRequest(migration_id=migration_id, **kw),
                                           timeout=60))

    def test_live_move_between_two_nodes(self):
        pipe = self.old_r.pipeline(transaction=False)
        for i in range(3000):
            pipe.set(f"k{i}", f"v{i}")
        pipe.execute()
        self.old_r.set("counter", 10)
        self.old_r.set("s", "ab")
        self.old_r.set("del-me", "x")
        self.old_r.set("ttl", "t", px=600000)
        self.begin()

        # Reads at the new owner fall back to the old one; RMW acts on the current value.
        self.assertEqual(self.new_r.get("k5"), b"v5")
        self.assertIsNone(self.new_r.get("nowhere"))
        self.assertEqual(self.new_r.incr("counter"), 11)
        self.assertEqual(self.new_r.append("s", "cd"), 4)
        self.assertEqual(self.new_r.set("s", "x", nx=True), None)
        self.assertEqual(self.new_r.getset("k7", "seven"), b"v7")
        self.assertTrue(0 < self.new_r.pttl("ttl") <= 600000)
        # Writes land on both owners.
        self.assertTrue(self.new_r.set("fresh", "1"))
        self.assertTrue(self.new_r.mset({"m1": "1", "m2": "2"}))
        for key, value in [("counter", b"11"), ("s", b"abcd"), ("k7", b"seven"),
                           ("fresh", b"1"), ("m2", b"2")]:
            self.assertEqual(self.old_r.get(key), value, key)
        # A delete leaves a tombstone: the copy that follows cannot bring it back.
        self.assertEqual(self.new_r.delete("del-me"), 1)
        self.assertIsNone(self.old_r.get("del-me"))

        progress = self.move(batch_keys=100)
        self.assertTrue(progress[-1].done)
        self.assertFalse(any(p.done for p in progress[:-1]))
        self.assertGreaterEqual(progress[-1].keys_sent, 3000)
        self.assertEqual(progress[-1].keys_sent, progress[-1].keys_scanned)

        values = self.new_r.mget([f"k{i}" for i in range(3000)])
        expected = [b"seven" if i == 7 else f"v{i}".encode() for i in range(3000)]
        self.assertEqual(values, expected)
        self.assertIsNone(self.new_r.get("del-me"))
        self.assertEqual(self.new_r.get("counter"), b"11")

        status = self.new_peer.Status(self.pb.StatusRequest(), timeout=5)
        self.assertEqual((status.id, status.migration_id), ("new", "m1"))
        self.assertGreaterEqual(status.keys, 3000)
        info = self.new_r.info("migration")
        self.assertEqual(info["migration_id"], "m1")
        self.assertEqual(info["migration_active"], 1)
        self.assertGreater(info["migration_keys_fetched"], 0)
        self.assertGreater(info["migration_keys_applied"], 3000 - 10)
        self.assertGreater(info["migration_keys_written_through"], 0)
        self.assertGreater(self.old_r.info("migration")["migration_keys_sent"], 0)

        # Completed: the exporter drops what it exported after the delay; the importer keeps it.
        end = self.pb.EndMigrationRequest(migration_id="m1", drop_after_ms=1500)
        self.new_peer.EndMigration(end, timeout=5)
        self.old_peer.EndMigration(end, timeout=5)
        self.old_peer.EndMigration(end, timeout=5)  # idempotent
        self.assertGreater(self.old_r.dbsize(), 3000)  # not before the delay
        wait_for(lambda: self.old_r.dbsize() == 0, timeout=15, what="the exporter's drop")
        self.assertEqual(self.new_r.dbsize(), 3000 + 6)
        self.assertEqual(self.new_r.info("migration")["migration_active"], 0)
        with urllib.request.urlopen(self.old.http + "/metrics", timeout=5) as resp:
            metrics = resp.read().decode()
        self.assertIn("ringkv_migration_keys_dropped_total 3", metrics)

    def test_move_is_rate_limited_and_refuses_unknown_migrations(self):
        pipe = self.old_r.pipeline(transaction=False)
        for i in range(400):
            pipe.set(f"k{i}", "v" * 100)
        pipe.execute()
        self.begin()
        with self.assertRaises(grpc.RpcError) as e:
            self.move(migration_id="other")
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        # Cancelling the call stops the copy; calling again restarts it.
        call = self.old_peer.MoveArcs(self.pb.MoveRequest(migration_id="m1", max_keys_per_sec=100),
                                      timeout=60)
        first = next(call)
        self.assertFalse(first.done)
        call.cancel()
        start = time.monotonic()
        progress = self.move(max_keys_per_sec=1000)
        self.assertGreaterEqual(time.monotonic() - start, 0.25)
        self.assertGreaterEqual(len(progress), 3)  # reported at least every 200 ms
        self.assertEqual(progress[-1].keys_sent, 400)
        self.assertEqual(self.new_r.dbsize(), 400)
        # The cancelled pass (4 s at 100 keys/s) stopped instead of running on.
        self.assertLess(self.old_r.info("migration")["migration_keys_sent"], 400 + 100)

    def test_stale_apply_is_skipped(self):
        self.begin()
        pb = self.pb
        now = int(time.time() * 1000)

        def apply(value, version, migration_id="m1", tombstone=False):
            return self.new_peer.Apply(pb.EntryBatch(migration_id=migration_id, epoch=2, entries=[
                pb.Entry(key=b"x", value=value, version=version, tombstone=tombstone)]), timeout=5)

        self.assertEqual(apply(b"new", hlc(now + 1000)).applied, 1)
        summary = apply(b"old", hlc(now - 1000))
        self.assertEqual((summary.applied, summary.skipped), (0, 1))
        self.assertEqual(self.new_r.get("x"), b"new")
        with self.assertRaises(grpc.RpcError) as e:
            apply(b"other", hlc(now + 2000), migration_id="m0")
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertIn("m1", e.exception.details())
        # A tombstone beats the entry; an older copy cannot come back.
        self.assertEqual(apply(b"", hlc(now + 3000), tombstone=True).applied, 1)
        self.assertIsNone(self.new_r.get("x"))
        self.assertEqual(apply(b"new", hlc(now + 1000)).skipped, 1)
        fetched = self.new_peer.Fetch(pb.FetchRequest(migration_id="m1", keys=[b"x", b"y"]),
                                      timeout=5)
        self.assertEqual([(e.key, e.tombstone) for e in fetched.entries], [(b"x", True)])
        # Later writes on the node order after versions it has seen.
        self.new_r.set("x", "local")
        self.assertEqual(self.old_r.get("x"), b"local")

    def test_set_map_forwards_commands_on_keys_owned_elsewhere(self):
        reply = self.old_peer.SetMap(self.pb.SetMapRequest(
            map_json=cluster_map(3, [self.old, self.new])), timeout=5)
        self.assertEqual(reply.epoch, 3)
        for i in range(50):
            self.assertEqual(raw_command(self.old.resp_port, "SET", f"f{i}", "1"), b"+OK\r\n")
        # Each key landed on its owner alone (SCAN is local: never forwarded).
        on_old = {k.decode() for k in self.old_r.scan_iter("f*")}
        on_new = {k.decode() for k in self.new_r.scan_iter("f*")}
        self.assertEqual(on_old | on_new, {f"f{i}" for i in range(50)})
        self.assertEqual(on_old & on_new, set())
        self.assertGreater(len(on_old), 0)
        self.assertGreater(len(on_new), 0)
        for k in on_new:
            self.assertEqual(self.old_r.get(k), b"1")  # read through the owner
        # Older maps are ignored.
        reply = self.old_peer.SetMap(self.pb.SetMapRequest(
            map_json=cluster_map(2, [self.old])), timeout=5)
        self.assertEqual(reply.epoch, 3)
        self.assertEqual(self.old_peer.Status(self.pb.StatusRequest(), timeout=5).epoch, 3)
        with self.assertRaises(grpc.RpcError) as e:
            self.old_peer.SetMap(self.pb.SetMapRequest(map_json="{"), timeout=5)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        # A map without this node: every command goes to the owner, which
        # takes the newer map from the forward before it runs the command.
        self.new_peer.SetMap(self.pb.SetMapRequest(map_json=cluster_map(4, [self.old])), timeout=5)
        self.assertEqual(raw_command(self.new.resp_port, "SET", "any", "1"), b"+OK\r\n")
        self.assertEqual(self.old_peer.Status(self.pb.StatusRequest(), timeout=5).epoch, 4)
        self.assertIn(b"any", set(self.old_r.scan_iter("any")))
        self.assertNotIn(b"any", set(self.new_r.scan_iter("any")))

    def test_an_unreachable_peer_fails_the_command(self):
        pb = self.pb
        dead = f"127.0.0.1:{free_port()}"
        role = pb.MigrationRole(kind=pb.MigrationRole.IMPORT, peer_id="gone", peer_grpc=dead,
                                arcs=[pb.Arc(lo=0, hi=0)])
        self.new_peer.BeginMigration(pb.BeginMigrationRequest(
            migration_id="m9", epoch=2, hash="xxh3", roles=[role]), timeout=5)
        kind, message = run(self.new_r, "GET", "k")
        self.assertEqual(kind, "error")
        self.assertIn(f"migration peer {dead} unavailable", message)
        kind, message = run(self.new_r, "SET", "k", "v")
        self.assertIn(f"migration peer {dead} unavailable", message)
        # Ending the migration restores normal service.
        self.new_peer.EndMigration(pb.EndMigrationRequest(migration_id="m9", cancelled=True),
                                   timeout=5)
        self.assertTrue(self.new_r.set("k", "v"))

    def test_migration_yield_out_of_range_is_refused(self):
        from harness import RINGKV
        out = subprocess.run([RINGKV, "node", "--migration-yield-us", "1000001"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("migration_yield_us: expected an integer in [0, 1000000]", out.stderr)


if __name__ == "__main__":
    unittest.main()
