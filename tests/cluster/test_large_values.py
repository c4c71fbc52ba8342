"""Large values move everywhere: a value far beyond the gRPC message cap
between nodes is moved to a new owner by a migration and back by a removal,
written to every replica at replication 3, and repaired onto a replica that
lost it; a value over the node's max_bulk_len (Redis's proto-max-bulk-len)
is refused when it is written, with a clear error.

Every node runs with --transfer-chunk-bytes 256kb: gRPC messages between
nodes are capped at 4 x 256 KiB + 4 MiB = 5 MiB, twenty times below the
value, so only chunked transfers (docs/dht.md, "Large values on the wire")
carry it.

Placement is fixed by the node ids (--id), so the key that moves is found
with `ringkv ring locate` before the node is added.

Size: LARGE_VALUE_MB (default 100).
"""
import hashlib
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RINGKV, ClusterTestCase, RawClient, http_json, wait_for  # noqa: E402

import redis  # noqa: E402

SIZE = int(os.environ.get("LARGE_VALUE_MB", "100")) << 20
# The router waits for a 100 MB reply longer than for a small one, and so
# does a node reading the other replicas at quorum: a request's deadline
# grows with its own size, not with its reply's (docs/security.md).
SLOW_BACKENDS = ("--backend-timeout-ms", "30000")
SLOW_PEERS = ("--peer-timeout-ms", "15000")
CHUNKED = ("--transfer-chunk-bytes", "256kb")
MESSAGE_CAP = 4 * (256 << 10) + (4 << 20)


def owner(key, nodes, replication=1):
    """The preference list of `key` on a ring of node ids `nodes` (default vnodes and hash)."""
    out = subprocess.run([RINGKV, "ring", "locate", "--nodes", ",".join(nodes),
                          "--replication", str(replication), "--json", key],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def big_value():
    # Not one repeated byte: a copy that loses or reorders a chunk shows.
    block = hashlib.sha256(b"ringkv").digest() * 32768  # 1 MiB
    return (block * (SIZE // len(block) + 1))[:SIZE]


def client(node):
    return redis.Redis(host="127.0.0.1", port=node.resp_port, socket_timeout=120)


def local(node, key):
    """What `node` itself holds for `key` (RINGKV.PEEK is a local read): its value or None."""
    e = client(node).execute_command("RINGKV.PEEK", key)[0]
    return None if e is None or e[1] == 1 else e[3]


class LargeValueTest(ClusterTestCase):
    def wait_migration(self, router, migrations=1):
        """The record of the last migration, once `migrations` have ended."""
        def done():
            m = http_json("GET", f"{router.http}/migrations")[1]
            hist = m.get("history") or []
            return m.get("current") is None and len(hist) >= migrations and hist[-1]
        return wait_for(done, timeout=300, what="the migration")

    def assert_holds(self, node, key, digest, what):
        held = local(node, key)
        self.assertIsNotNone(held, f"{node.id} does not hold the large value {what}")
        self.assertEqual(len(held), SIZE, what)
        self.assertEqual(hashlib.sha256(held).digest(), digest, what)

    def test_a_value_beyond_one_grpc_message_survives_add_and_remove_node(self):
        self.assertLess(MESSAGE_CAP * 4, SIZE, "the value must dwarf the message cap")
        key = next(k for k in (f"big:{i}" for i in range(1000))
                   if owner(k, ["n0", "n1"])["owner"] == "n0"
                   and owner(k, ["n0", "n1", "n2"])["owner"] == "n2")
        n0 = self.start_node("--id", "n0", *CHUNKED, name="node0")
        n1 = self.start_node("--id", "n1", *CHUNKED, name="node1")
        router = self.start_router("--nodes", f"127.0.0.1:{n0.http_port},127.0.0.1:{n1.http_port}",
                                   "--rebalance-grace-ms", "300", *SLOW_BACKENDS)
        value = big_value()
        digest = hashlib.sha256(value).digest()
        self.assertTrue(client(n0).set(key, value))
        del value
        n2 = self.start_node("--id", "n2", *CHUNKED, name="node2")
        n2_addr = f"127.0.0.1:{n2.http_port}"
        status, body = http_json("POST", f"{router.http}/add-node", {"value": n2_addr})
        self.assertEqual(status, 200, body)
        record = self.wait_migration(router)
        self.assertEqual(record.get("state"), "done", record)
        self.assert_holds(n2, key, digest, "after add-node")
        got = redis.Redis(port=router.resp_port, socket_timeout=120).get(key)
        self.assertEqual(hashlib.sha256(got).digest(), digest)
        del got

        # And back: the removed node hands the value to the owner it had before.
        status, body = http_json("POST", f"{router.http}/remove-node/{n2_addr}")
        self.assertEqual(status, 200, body)
        record = self.wait_migration(router, migrations=2)
        self.assertEqual(record.get("state"), "done", record)
        self.assert_holds(n0, key, digest, "after remove-node")
        got = redis.Redis(port=router.resp_port, socket_timeout=120).get(key)
        self.assertEqual(hashlib.sha256(got).digest(), digest)

    def test_pull_on_miss_and_write_through_carry_values_beyond_one_grpc_message(self):
        # While keys move from n0 to n2 (slowly: one key a second), a read on
        # n2 of a key it lacks pulls it from n0 (Fetch), and a write on n0 of
        # a moving key reaches n2 before the reply (Apply).
        size = 20 << 20  # still four messages' worth
        moving = [k for k in (f"mid:{i}" for i in range(200))
                  if owner(k, ["n0", "n1"])["owner"] == "n0"
                  and owner(k, ["n0", "n1", "n2"])["owner"] == "n2"][:4]
        self.assertEqual(len(moving), 4)
        n0 = self.start_node("--id", "n0", *SLOW_PEERS, *CHUNKED, name="node0")
        n1 = self.start_node("--id", "n1", *SLOW_PEERS, *CHUNKED, name="node1")
        router = self.start_router("--nodes", f"127.0.0.1:{n0.http_port},127.0.0.1:{n1.http_port}",
                                   "--rebalance-max-keys-per-sec", "1", *SLOW_BACKENDS)
        values = {k: big_value()[i:i + size] for i, k in enumerate(moving[:3])}
        for k, v in values.items():
            self.assertTrue(client(n0).set(k, v))
        r = redis.Redis(port=router.resp_port, socket_timeout=120)
        p = r.pipeline(transaction=False)
        for i in range(600):  # keys enough to keep the copy busy for minutes
            p.set(f"filler:{i}", "x")
        p.execute()
        n2 = self.start_node("--id", "n2", *SLOW_PEERS, *CHUNKED, name="node2")
        status, body = http_json("POST", f"{router.http}/add-node",
                                 {"value": f"127.0.0.1:{n2.http_port}"})
        self.assertEqual(status, 200, body)
        wait_for(lambda: client(n2).execute_command("RINGKV.PEEK", "filler:0") is not None
                 and http_json("GET", f"{router.http}/migrations")[1].get("current"),
                 timeout=30, what="the migration to begin")

        lacking = [k for k in values if local(n2, k) is None]
        self.assertTrue(lacking, "the slow copy already moved every large value")
        got = client(n2).get(lacking[0])
        self.assertEqual(hashlib.sha256(got).digest(), hashlib.sha256(values[lacking[0]]).digest())
        self.assertEqual(local(n2, lacking[0]), values[lacking[0]], "pulled, not only read")

        written = big_value()[5:5 + size]
        self.assertTrue(client(n0).set(moving[3], written))
        self.assertIsNotNone(http_json("GET", f"{router.http}/migrations")[1].get("current"),
                             "the migration ended before the write: nothing was written through")
        self.assertEqual(local(n2, moving[3]), written, "not written through to the new owner")

    def test_a_value_beyond_one_grpc_message_reaches_every_replica(self):
        nodes = [self.start_node("--id", f"n{i}", *SLOW_PEERS, *CHUNKED, name=f"node{i}")
                 for i in range(3)]
        router = self.start_router("--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in nodes),
                                   "--replication", "3", *SLOW_BACKENDS)
        value = big_value()
        # Written through a node that forwards it to the key's coordinator.
        key = "big:replicated"
        first = owner(key, ["n0", "n1", "n2"], replication=3)["owner"]
        other = next(n for n in nodes if n.id != first)
        self.assertTrue(client(other).set(key, value))
        digest = hashlib.sha256(value).digest()
        del value
        for n in nodes:
            held = wait_for(lambda n=n: local(n, key), timeout=60, what=f"the value on {n.id}")
            self.assertEqual(len(held), SIZE, n.id)
            self.assertEqual(hashlib.sha256(held).digest(), digest, n.id)
        self.assertEqual(len(redis.Redis(port=router.resp_port, socket_timeout=120).get(key)), SIZE)

    def test_anti_entropy_repairs_a_lost_replica_of_a_value_beyond_one_grpc_message(self):
        # No hints (max_hint_bytes 1 refuses each), no periodic pass, and a
        # router that never marks a node down: only a pass on request repairs.
        extra = (*SLOW_PEERS, *CHUNKED, "--max-hint-bytes", "1",
                 "--anti-entropy-interval-s", "0", "--anti-entropy-max-keys-per-sec", "0")
        nodes = [self.start_node("--id", f"n{i}", *extra, name=f"node{i}") for i in range(3)]
        router = self.start_router("--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in nodes),
                                   "--replication", "3", "--health-failures", "100000",
                                   *SLOW_BACKENDS)
        key = "big:repaired"
        value = big_value()
        digest = hashlib.sha256(value).digest()
        self.assertTrue(client(nodes[0]).set(key, value))
        del value
        for n in nodes:
            wait_for(lambda n=n: local(n, key), timeout=60, what=f"the value on {n.id}")

        # n2 loses everything: killed and restarted empty on the same ports;
        # it takes the map by joining (it is a member already).
        lost = nodes[2]
        lost.kill9()
        lost = self.start_node("--id", "n2", *extra, "--join", f"127.0.0.1:{router.grpc_port}",
                               name="node2-restarted",
                               resp_port=lost.resp_port, http_port=lost.http_port,
                               grpc_port=lost.grpc_port)
        wait_for(lambda: http_json("GET", lost.http + "/neighbors")[1].get("epoch", 0) > 0,
                 timeout=30, what="the restarted node to get the map")
        self.assertIsNone(local(lost, key))

        status, body = http_json("POST", router.http + "/repair")
        self.assertEqual(status, 202, body)
        wait_for(lambda: local(lost, key), timeout=180, what="the repaired replica")
        self.assert_holds(lost, key, digest, "after the repair pass")

        def totals():
            _, agg = http_json("GET", router.http + "/repair")
            done = agg["state"] == "idle" and agg["totals"]["passes"] >= 3
            return agg["totals"] if done else None
        t = wait_for(totals, timeout=60, what="the repair passes to end")
        self.assertGreaterEqual(t["keys_pushed"] + t["keys_pulled"], 1, t)
        self.assertGreaterEqual(t["bytes"], SIZE, t)

    def test_a_node_refuses_a_chunk_size_out_of_range(self):
        for bad in ("1kb", "128mb"):
            with self.assertRaises(AssertionError) as ctx:
                self.start_node("--transfer-chunk-bytes", bad, name=f"bad-{bad}")
            self.assertIn("transfer-chunk-bytes must be in [64kb, 64mb]", str(ctx.exception))

    def test_under_cluster_tls_a_forward_beyond_one_grpc_message_crosses_the_tls_link(self):
        # With cluster TLS the peer link runs over mutual TLS: a forwarded
        # command and its reply are a byte stream, not one Peer/Forward
        # message (at most 4 x 256 KiB here), so they carry any value.
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import test_tls_grpc as tls  # the test PKI (openssl CLI)
        pki = tls.Pki(os.path.join(self.workdir, "pki"), "cluster")
        secret_path, _ = self.secret_file("cluster-secret")
        key = next(k for k in (f"fwd:{i}" for i in range(1000))
                   if owner(k, ["n0", "n1"])["owner"] == "n1")
        nodes = [self.start_node("--id", f"n{i}", *CHUNKED, "--cluster-secret-file", secret_path,
                                 *pki.flags(f"n{i}"), name=f"node{i}") for i in range(2)]
        router = self.start_router("--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in nodes),
                                   "--cluster-secret-file", secret_path, *pki.flags("router"))
        wait_for(lambda: self.active_count(router) == 2, timeout=30, what="two active nodes")
        n0, n1 = nodes
        big = os.urandom(4 << 20)
        self.assertTrue(client(n0).set(key, big))  # forwarded to n1
        self.assertEqual(local(n1, key), big)
        self.assertEqual(client(n0).get(key), big)  # the reply is forwarded back

    def test_a_value_over_the_limit_is_refused_when_written(self):
        node = self.start_node("--id", "n0", "--max-bulk-len", "1mb")
        c = client(node)
        self.assertTrue(c.set("fits", b"x" * (1 << 20)))
        # The node answers the header of a bulk over the limit, before its bytes.
        raw = RawClient(node.resp_port)
        raw.send(b"*3\r\n$3\r\nSET\r\n$7\r\ntoo-big\r\n$%d\r\n" % ((1 << 20) + 1))
        reply = raw.recv_exactly_reply()
        raw.close()
        self.assertTrue(reply.startswith(b"-ERR Protocol error"), reply)
        self.assertIn(b"bulk length", reply)
        self.assertIsNone(c.get("too-big"))
        self.assertEqual(len(c.get("fits")), 1 << 20)


if __name__ == "__main__":
    unittest.main()
