"""Authentication of the cluster plane and the listeners (docs/security.md,
"Authentication and listeners").

A cluster of a router and three nodes runs with a cluster secret, a
requirepass and an admin token, each read from a 0600 file. Every
ringkv.v1.Peer and ringkv.v1.Registry method (and crustyring's registries on
the router) called with no credential or a wrong one answers
UNAUTHENTICATED and changes nothing: the map epochs and the data stay as
they were. With the right secret the cluster works end to end. A node or
router asked to listen beyond loopback without its credentials refuses to
start unless given --insecure.
"""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import grpc  # noqa: E402
import redis  # noqa: E402
from google.protobuf import empty_pb2  # noqa: E402
import grpc_pb  # noqa: E402
from harness import RINGKV, ClusterTestCase, RingkvProcess, http_json, wait_for  # noqa: E402

KEYS = 300
SECRET_KEY = "ringkv-cluster-secret"


def v1():
    return grpc_pb.load("ringkv/v1/peer.proto")


def dht():
    return grpc_pb.load("dht/dht.proto")


def peer_calls():
    """(method, kind, request, reply class) for every ringkv.v1.Peer method,
    each request one that would change something if it were served."""
    pb = v1()
    whole = pb.Arc(lo=0, hi=0)
    batch = pb.EntryBatch(migration_id="evil", epoch=1 << 62, entries=[
        pb.Entry(key=b"k:1", value=b"evil", version=(1 << 64) - 1)])
    evil_map = json.dumps({"epoch": 1 << 62, "nodes": []})
    return [
        ("BeginMigration", "unary", pb.BeginMigrationRequest(
            migration_id="evil", epoch=1 << 62, hash="xxh3", roles=[pb.MigrationRole(
                kind=pb.MigrationRole.IMPORT, peer_id="x", peer_grpc="127.0.0.1:1",
                arcs=[whole])]), pb.BeginMigrationReply),
        ("EndMigration", "unary", pb.EndMigrationRequest(migration_id="evil"),
         pb.EndMigrationReply),
        ("MoveArcs", "server_stream", pb.MoveRequest(migration_id="evil"), pb.MoveProgress),
        ("Transfer", "client_stream", batch, pb.ApplySummary),
        ("Apply", "client_stream", batch, pb.ApplySummary),
        ("Fetch", "server_stream", pb.FetchRequest(migration_id="evil", keys=[b"k:1"]),
         pb.FetchReply),
        ("SetMap", "unary", pb.SetMapRequest(map_json=evil_map, registry="127.0.0.1:1"),
         pb.SetMapReply),
        ("Status", "unary", pb.StatusRequest(), pb.StatusReply),
        ("Forward", "unary", pb.ForwardRequest(epoch=1 << 62, hops=1, args=[b"FLUSHALL"]),
         pb.ForwardReply),
        ("OpenLink", "unary", pb.OpenLinkRequest(), pb.OpenLinkReply),
        ("RepairDigests", "unary", pb.RepairDigestsRequest(from_id="x", epoch=1, bucket_bits=4),
         pb.RepairDigestsReply),
        ("RepairKeys", "unary", pb.RepairKeysRequest(from_id="x", epoch=1, bucket_bits=4,
                                                     buckets=[0]), pb.RepairKeysReply),
    ]


def registry_calls():
    pb, d = v1(), dht()
    calls = [("/ringkv.v1.Registry/Join", pb.JoinRequest(addr="127.0.0.1:1", weight=65536),
              pb.JoinReply),
             ("/ringkv.v1.Registry/GetMap", pb.GetMapRequest(), pb.GetMapReply)]
    for package in ("dht", "registry"):
        calls += [(f"/{package}.Registry/RegisterNode", d.ConnectionAddr(addr="127.0.0.1:1"),
                   d.RegisterInfo),
                  (f"/{package}.Registry/GetConnectedNodes", empty_pb2.Empty(), d.Nodes)]
    return calls


def call(channel, path, kind, request, reply_class, metadata, timeout=10):
    """One call of any kind; returns the reply (or the replies of a stream)."""
    ser, de = type(request).SerializeToString, reply_class.FromString
    if kind == "unary":
        return channel.unary_unary(path, ser, de)(request, metadata=metadata, timeout=timeout)
    if kind == "server_stream":
        return list(channel.unary_stream(path, ser, de)(request, metadata=metadata,
                                                        timeout=timeout))
    return channel.stream_unary(path, ser, de)(iter([request]), metadata=metadata,
                                               timeout=timeout)


class AuthTest(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.secret_path, self.secret = self.secret_file("cluster-secret")
        self.pass_path, self.password = self.secret_file("requirepass")
        self.token_path, self.token = self.secret_file("admin-token")
        self.channels = []
        self.nodes = [self.start_secure_node(f"n{i}") for i in range(3)]
        self.router = self.start_router(
            "--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in self.nodes),
            "--cluster-secret-file", self.secret_path, "--requirepass-file", self.pass_path,
            "--backend-password-file", self.pass_path, "--admin-token-file", self.token_path,
            "--rebalance-grace-ms", "300")
        self.client = redis.Redis(host="127.0.0.1", port=self.router.resp_port,
                                  password=self.password, socket_timeout=10)
        wait_for(lambda: self.active_count(self.router) == 3, timeout=30, what="three active nodes")

    def tearDown(self):
        for c in self.channels:
            c.close()
        super().tearDown()

    def start_secure_node(self, node_id, *extra):
        return self.start_node("--id", node_id, "--cluster-secret-file", self.secret_path,
                               "--requirepass-file", self.pass_path, *extra, name=node_id)

    def channel(self, port):
        c = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.channels.append(c)
        return c

    def node_status(self, node):
        pb = v1()
        return call(self.channel(node.grpc_port), "/ringkv.v1.Peer/Status", "unary",
                    pb.StatusRequest(), pb.StatusReply, [(SECRET_KEY, self.secret)])

    def snapshot(self):
        """The router's epoch, each node's epoch and key count, and every value."""
        epochs = [(self.node_status(n).epoch, self.node_status(n).keys) for n in self.nodes]
        pipe = self.client.pipeline(transaction=False)
        for i in range(KEYS):
            pipe.get(f"k:{i}")
        return self.nodes_of(self.router)["epoch"], epochs, pipe.execute()

    def write_keys(self):
        pipe = self.client.pipeline(transaction=False)
        for i in range(KEYS):
            pipe.set(f"k:{i}", f"v{i}")
        pipe.execute()

    def assert_unauthenticated(self, fn, what):
        with self.assertRaises(grpc.RpcError, msg=what) as ctx:
            fn()
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.UNAUTHENTICATED,
                         f"{what}: {ctx.exception.details()}")
        self.assertNotIn(self.secret, ctx.exception.details() or "")

    def test_every_cluster_method_refuses_a_missing_or_wrong_secret(self):
        self.write_keys()
        before = self.snapshot()
        self.assertEqual(before[2], [f"v{i}".encode() for i in range(KEYS)])
        bad = {"no credential": [], "a wrong secret": [(SECRET_KEY, self.secret[:-1] + "x")],
               "the client password": [("authorization", f"Bearer {self.password}")],
               "the secret as a password": [("authorization", f"Bearer {self.secret}")]}
        for node in self.nodes:
            ch = self.channel(node.grpc_port)
            for method, kind, request, reply in peer_calls():
                for label, md in bad.items():
                    self.assert_unauthenticated(
                        lambda: call(ch, f"/ringkv.v1.Peer/{method}", kind, request, reply, md),
                        f"Peer/{method} on {node.id} with {label}")
            for path, request, reply in registry_calls()[:2]:  # a node relays ringkv's registry
                for label, md in bad.items():
                    self.assert_unauthenticated(
                        lambda: call(ch, path, "unary", request, reply, md),
                        f"{path} on {node.id} with {label}")
        ch = self.channel(self.router.grpc_port)
        for path, request, reply in registry_calls():
            for label, md in bad.items():
                self.assert_unauthenticated(lambda: call(ch, path, "unary", request, reply, md),
                                            f"{path} on the router with {label}")
        self.assertEqual(self.snapshot(), before, "a refused call changed the cluster")

    def test_health_stays_open_and_dht_follows_requirepass(self):
        d = dht()
        ch = self.channel(self.nodes[0].grpc_port)
        health = ch.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=lambda _: b"",
                                response_deserializer=lambda b: b)
        health(None, timeout=10)  # no credential needed
        query = d.Query(ty=d.Set, key=b"dht:1", value=b"x")
        self.assert_unauthenticated(
            lambda: call(ch, "/dht.DhtNode/QueryDht", "unary", query, d.QueryResult, []),
            "QueryDht without the password")
        self.assert_unauthenticated(
            lambda: call(ch, "/dht.DhtNode/QueryDht", "unary", query, d.QueryResult,
                         [(SECRET_KEY, self.secret)]),
            "QueryDht with the cluster secret instead of the password")
        ok = call(ch, "/dht.DhtNode/QueryDht", "unary", query, d.QueryResult,
                  [("authorization", f"Bearer {self.password}")])
        self.assertFalse(ok.HasField("error"), ok.error)
        self.assertEqual(self.client.get("dht:1"), b"x")

    def test_the_cluster_works_end_to_end_with_the_secret(self):
        self.write_keys()
        # A node's client reads keys it does not own: forwarded over the peer
        # link, whose token comes from the guarded OpenLink.
        direct = redis.Redis(host="127.0.0.1", port=self.nodes[0].resp_port,
                             password=self.password, socket_timeout=10)
        self.assertEqual([direct.get(f"k:{i}") for i in range(KEYS)],
                         [f"v{i}".encode() for i in range(KEYS)])
        epoch = self.nodes_of(self.router)["epoch"]
        n3 = self.start_secure_node("n3")
        self.nodes.append(n3)
        status, data = http_json("POST", f"{self.router.http}/add-node",
                                 {"addr": f"127.0.0.1:{n3.http_port}", "id": "n3"},
                                 headers={"Authorization": f"Bearer {self.token}"})
        self.assertEqual(status, 200, data)
        wait_for(lambda: self.active_count(self.router) == 4 and self.nodes_of(self.router)["epoch"] > epoch, timeout=60,
                 what="n3 to become active")
        wait_for(lambda: self.node_status(n3).keys > 0, timeout=30, what="keys to reach n3")
        self.assert_keys_readable(self.client, "k", KEYS)

    def jobs_call(self, method, target, body=None, worker=None, token=None, password=True):
        headers = {}
        if password:
            headers["Authorization"] = f"Bearer {self.password}"
        if worker:
            headers["X-Worker-Id"] = worker
        if token:
            headers["X-Worker-Token"] = token
        return http_json(method, f"{self.router.http}{target}", body, headers=headers)

    def test_kv_and_jobs_need_the_password_and_workers_their_token(self):
        status, _ = http_json("PUT", f"{self.router.http}/kv/h", {"value": "x"})
        self.assertEqual(status, 401)
        self.assertEqual(self.jobs_call("PUT", "/kv/h", {"value": "x"})[0], 201)
        self.assertEqual(self.jobs_call("GET", "/getQueueLen", password=False)[0], 401)
        status, body = self.jobs_call("PUT", "/enqueue?iterations=3", "payload")
        self.assertEqual(status, 200, body)
        work_id = body["work_id"]
        # An id alone is not enough: a worker registers for a token first.
        self.assertEqual(self.jobs_call("GET", "/getWork", worker="w1")[0], 401)
        status, reg = self.jobs_call("POST", "/registerWorker", {}, worker="w1")
        self.assertEqual(status, 200, reg)
        token = reg["token"]
        # Nobody can take over a live worker's id.
        self.assertEqual(self.jobs_call("POST", "/registerWorker", {}, worker="w1")[0], 409)
        status, job = self.jobs_call("GET", "/getWork", worker="w1", token=token)
        self.assertEqual(status, 200, job)
        self.assertEqual(job["work_id"], work_id)
        done = {"work_id": work_id, "output": "00" * 64}
        for forged in (None, token[:-1] + "0" if token[-1] != "0" else token[:-1] + "1"):
            status, _ = self.jobs_call("POST", "/completeWork", done, worker="w1", token=forged)
            self.assertEqual(status, 401, forged)
            status, _ = self.jobs_call("POST", "/notifyKilled", {"worker": "w1"}, worker="w2",
                                       token=forged)
            self.assertEqual(status, 401)
        status, body = self.jobs_call("POST", "/notifyKilled", {"worker": "w1"}, worker="w1",
                                      token=token)
        self.assertEqual(status, 200, body)  # its lease goes back to the queue
        # A real worker, given the password through the environment, registers and computes it.
        worker = RingkvProcess(self.workdir, "worker", "worker",
                               ["--router", f"127.0.0.1:{self.router.http_port}", "--id", "w3",
                                "--idle-exit", "0"], env={"RINGKV_REQUIREPASS": self.password})
        self.processes.append(worker)

        def done_job():
            status, j = self.jobs_call("GET", f"/jobs/{work_id}")
            return status == 200 and j.get("state") == "done" and j
        j = wait_for(done_job, timeout=30, what="the worker to complete the job")
        self.assertNotEqual(j.get("output"), "00" * 64)

    def test_a_join_relayed_by_a_node_carries_the_secret(self):
        self.write_keys()
        # Node -> node (the relay) -> router, each call with the secret.
        n3 = self.start_secure_node("n3", "--join", f"127.0.0.1:{self.nodes[0].grpc_port}")
        self.nodes.append(n3)
        wait_for(lambda: "n3" in [n["id"] for n in self.nodes_of(self.router)["nodes"]
                                  if n["state"] == "active"], timeout=60,
                 what="n3 to join through n0 and become active")
        self.assert_keys_readable(self.client, "k", KEYS)

    def test_a_node_without_the_secret_cannot_join(self):
        epoch = self.nodes_of(self.router)["epoch"]
        intruder = self.start_node("--id", "intruder", "--join",
                                   f"127.0.0.1:{self.router.grpc_port}", name="intruder")
        wait_for(lambda: "UNAUTHENTICATED" in intruder.read_log()
                 or "cluster secret" in intruder.read_log(), timeout=20,
                 what="the intruder's join to be refused")
        after = self.nodes_of(self.router)
        self.assertEqual(after["epoch"], epoch)
        self.assertNotIn("intruder", [n["id"] for n in after["nodes"]])


class ListenerTest(ClusterTestCase):
    def run_ringkv(self, *argv, env=None):
        return subprocess.run([RINGKV, *argv], capture_output=True, text=True, timeout=20,
                              env={**os.environ, **(env or {})})

    def node_args(self, *extra):
        return ["node", "--resp-port", "0", "--http-port", "0", "--grpc-port", "0",
                "--log-level", "warn", *extra]

    def router_args(self, *extra):
        return ["router", "--resp-port", "0", "--http-port", "0", "--grpc-port", "0",
                "--data-dir", os.path.join(self.workdir, "router.data"), *extra]

    def assert_refused(self, r, *words):
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        for w in ("refusing to listen", "--insecure true", *words):
            self.assertIn(w, r.stderr)

    def test_beyond_loopback_needs_credentials_or_insecure(self):
        self.assert_refused(self.run_ringkv(*self.node_args("--bind", "0.0.0.0")), "requirepass")
        self.assert_refused(self.run_ringkv(*self.node_args("--cluster-bind", "0.0.0.0")),
                            "cluster_secret_file")
        self.assert_refused(self.run_ringkv(*self.router_args("--bind", "0.0.0.0")),
                            "admin_token_file")
        self.assert_refused(self.run_ringkv(*self.router_args("--cluster-bind", "0.0.0.0")),
                            "cluster_secret_file")
        # With its credential (here from the environment), or with --insecure, each starts.
        secret_path, _ = self.secret_file("s")
        node = self.start_node("--cluster-bind", "0.0.0.0", "--cluster-secret-file", secret_path,
                               env={"RINGKV_REQUIREPASS": "pw"}, name="exposed")
        self.assertEqual(node.info["cluster_bind"], "0.0.0.0")
        insecure = self.start_node("--bind", "0.0.0.0", "--cluster-bind", "0.0.0.0",
                                   "--insecure", "true", name="insecure")
        self.assertEqual(insecure.info["bind"], "0.0.0.0")
        router = self.start_router("--bind", "0.0.0.0", "--insecure", "true")
        self.assertTrue(router.alive())

    def test_a_secret_file_others_can_read_is_refused(self):
        path, _ = self.secret_file("loose")
        os.chmod(path, 0o644)
        r = self.run_ringkv(*self.node_args("--cluster-secret-file", path))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("chmod 600", r.stderr)

    def test_the_secret_from_the_environment_guards_the_node(self):
        node = self.start_node(env={"RINGKV_CLUSTER_SECRET": "from-env"}, name="envnode")
        pb = v1()
        with grpc.insecure_channel(f"127.0.0.1:{node.grpc_port}") as ch:
            with self.assertRaises(grpc.RpcError) as ctx:
                call(ch, "/ringkv.v1.Peer/Status", "unary", pb.StatusRequest(), pb.StatusReply, [])
            self.assertEqual(ctx.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
            ok = call(ch, "/ringkv.v1.Peer/Status", "unary", pb.StatusRequest(), pb.StatusReply,
                      [(SECRET_KEY, "from-env")])
            self.assertEqual(ok.id, node.id)


if __name__ == "__main__":
    unittest.main()
