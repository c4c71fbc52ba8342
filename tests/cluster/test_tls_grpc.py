"""Mutual TLS on the cluster plane (docs/security.md, "TLS on the cluster
plane").

A router and three nodes run with cluster TLS (a CA made here with the
openssl CLI, one certificate per process) and the cluster secret. Data
flows through the router, between nodes (forwards, which go as Peer/Forward
calls: no plaintext peer link runs) and in a move when a node is added. A
Python gRPC client with the CA, a client certificate and the secret calls
Peer/Status; without a client certificate, with one from another CA, or in
plaintext, the handshake fails and nothing changes. `ringkv cluster up --tls`
makes its own CA and certificates (keys 0600) and the cluster works.
"""
import json
import os
import re
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import grpc  # noqa: E402
import redis  # noqa: E402
import grpc_pb  # noqa: E402
from harness import RINGKV, ClusterCliTestCase, ClusterTestCase, http_json, wait_for  # noqa: E402

KEYS = 300
SECRET_KEY = "ringkv-cluster-secret"
SAN = "subjectAltName=IP:127.0.0.1,DNS:localhost"


def v1():
    return grpc_pb.load("ringkv/v1/peer.proto")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class Pki:
    """A CA in `directory` and certificates it signs, with the openssl CLI."""

    def __init__(self, directory, name):
        self.dir, self.name = directory, name
        os.makedirs(directory, exist_ok=True)
        self.ca = self.path("ca.crt")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                "-subj", f"/CN={name} CA", cwd=directory)

    def path(self, f):
        return os.path.join(self.dir, f)

    def issue(self, who):
        """(cert, key) paths of a new certificate for `who`; the key 0600."""
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{who}.key", "-out", f"{who}.csr", "-subj", f"/CN={who}", cwd=self.dir)
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", f"{who}.crt",
                "-extfile", self.ext_file(), cwd=self.dir)
        os.chmod(self.path(f"{who}.key"), 0o600)
        return self.path(f"{who}.crt"), self.path(f"{who}.key")

    def ext_file(self):
        path = self.path("ext.cnf")
        with open(path, "w") as f:
            f.write(SAN + "\nextendedKeyUsage=serverAuth,clientAuth\n")
        return path

    def flags(self, who):
        cert, key = self.issue(who)
        return ["--cluster-tls-cert-file", cert, "--cluster-tls-key-file", key,
                "--cluster-tls-ca-file", self.ca]

    def credentials(self, who=None, root=None):
        """grpc channel credentials trusting `root` (default this CA),
        presenting `who`'s certificate (none when None)."""
        with open(root or self.ca, "rb") as f:
            ca = f.read()
        if who is None:
            return grpc.ssl_channel_credentials(root_certificates=ca)
        cert, key = self.issue(who)
        with open(cert, "rb") as c, open(key, "rb") as k:
            return grpc.ssl_channel_credentials(root_certificates=ca, private_key=k.read(),
                                                certificate_chain=c.read())


def status_call(channel, metadata, timeout=5):
    pb = v1()
    return channel.unary_unary("/ringkv.v1.Peer/Status", pb.StatusRequest.SerializeToString,
                               pb.StatusReply.FromString)(pb.StatusRequest(), metadata=metadata,
                                                          timeout=timeout)


def set_map_call(channel, metadata, timeout=5):
    pb = v1()
    evil = pb.SetMapRequest(map_json=json.dumps({"epoch": 1 << 62, "nodes": []}),
                            registry="127.0.0.1:1")
    return channel.unary_unary("/ringkv.v1.Peer/SetMap", pb.SetMapRequest.SerializeToString,
                               pb.SetMapReply.FromString)(evil, metadata=metadata,
                                                          timeout=timeout)


class ClusterTlsTest(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(os.path.join(self.workdir, "pki"), "cluster")
        self.rogue = Pki(os.path.join(self.workdir, "rogue"), "rogue")
        self.secret_path, self.secret = self.secret_file("cluster-secret")
        self.channels = []
        self.nodes = [self.start_tls_node(f"n{i}") for i in range(3)]
        self.router = self.start_router(
            "--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in self.nodes),
            "--cluster-secret-file", self.secret_path, "--rebalance-grace-ms", "300",
            *self.pki.flags("router"))
        self.client = redis.Redis(host="127.0.0.1", port=self.router.resp_port, socket_timeout=10)
        wait_for(lambda: self.active_count(self.router) == 3, timeout=30, what="three active nodes")

    def tearDown(self):
        for c in self.channels:
            c.close()
        super().tearDown()

    def start_tls_node(self, node_id):
        return self.start_node("--id", node_id, "--cluster-secret-file", self.secret_path,
                               *self.pki.flags(node_id), name=node_id)

    def channel(self, port, creds):
        c = grpc.secure_channel(f"127.0.0.1:{port}", creds) if creds else \
            grpc.insecure_channel(f"127.0.0.1:{port}")
        self.channels.append(c)
        return c

    def node_status(self, node):
        ch = self.channel(node.grpc_port, self.pki.credentials("operator"))
        return status_call(ch, [(SECRET_KEY, self.secret)])

    def write_keys(self):
        pipe = self.client.pipeline(transaction=False)
        for i in range(KEYS):
            pipe.set(f"k:{i}", f"v{i}")
        pipe.execute()

    def snapshot(self):
        """The router's epoch, each node's epoch and key count, and every value."""
        pipe = self.client.pipeline(transaction=False)
        for i in range(KEYS):
            pipe.get(f"k:{i}")
        return (self.nodes_of(self.router)["epoch"],
                [(self.node_status(n).epoch, self.node_status(n).keys) for n in self.nodes],
                pipe.execute())

    def test_data_forwards_and_a_move_work_over_tls(self):
        self.write_keys()
        self.assert_keys_readable(self.client, "k", KEYS)
        # No plaintext peer link runs: forwards between nodes are gRPC calls.
        for n in self.nodes:
            self.assertEqual(n.info["link_port"], 0, n.id)
        direct = redis.Redis(host="127.0.0.1", port=self.nodes[0].resp_port, socket_timeout=10)
        self.assertEqual([direct.get(f"k:{i}") for i in range(KEYS)],
                         [f"v{i}".encode() for i in range(KEYS)])
        direct.set("via-node", "1")
        self.assertEqual(self.client.get("via-node"), b"1")
        # A move: keys stream node to node over TLS.
        epoch = self.nodes_of(self.router)["epoch"]
        n3 = self.start_tls_node("n3")
        self.nodes.append(n3)
        status, data = http_json("POST", f"{self.router.http}/add-node",
                                 {"addr": f"127.0.0.1:{n3.http_port}", "id": "n3"})
        self.assertEqual(status, 200, data)
        wait_for(lambda: self.active_count(self.router) == 4 and self.nodes_of(self.router)["epoch"] > epoch, timeout=60,
                 what="n3 to become active")
        wait_for(lambda: self.node_status(n3).keys > 0, timeout=30, what="keys to reach n3")
        self.assert_keys_readable(self.client, "k", KEYS)

    def test_a_client_certificate_from_the_ca_and_the_secret_are_both_needed(self):
        node = self.nodes[0]
        reply = status_call(self.channel(node.grpc_port, self.pki.credentials("operator")),
                            [(SECRET_KEY, self.secret)])
        self.assertEqual(reply.id, "n0")
        self.assertGreater(reply.epoch, 0)
        # The secret check still runs over TLS.
        with self.assertRaises(grpc.RpcError) as ctx:
            status_call(self.channel(node.grpc_port, self.pki.credentials("operator")), [])
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_no_client_certificate_another_ca_or_plaintext_fails_and_changes_nothing(self):
        self.write_keys()
        before = self.snapshot()
        good = [(SECRET_KEY, self.secret)]
        cases = {
            "no client certificate": self.pki.credentials(None),
            "a certificate from another CA": self.rogue.credentials("intruder", root=self.pki.ca),
            "plaintext": None,
        }
        for what, creds in cases.items():
            for target in [*self.nodes, self.router]:
                with self.assertRaises(grpc.RpcError, msg=what) as ctx:
                    set_map_call(self.channel(target.grpc_port, creds), good)
                # Refused in the handshake, before any call is read.
                self.assertEqual(ctx.exception.code(), grpc.StatusCode.UNAVAILABLE,
                                 f"{what}: {ctx.exception.details()}")
        self.assertEqual(self.snapshot(), before)

    def test_a_node_with_a_certificate_from_another_ca_cannot_join(self):
        epoch = self.nodes_of(self.router)["epoch"]
        intruder = self.start_node("--id", "intruder", "--cluster-secret-file", self.secret_path,
                                   "--join", f"127.0.0.1:{self.router.grpc_port}",
                                   *self.rogue.flags("intruder"), name="intruder")
        wait_for(lambda: "join through" in intruder.read_log(), timeout=20,
                 what="the intruder's join to fail")
        after = self.nodes_of(self.router)
        self.assertEqual(after["epoch"], epoch)
        self.assertNotIn("intruder", [n["id"] for n in after["nodes"]])

    def test_incomplete_or_unreadable_tls_settings_are_refused(self):
        cert, key = self.pki.issue("bad")
        os.chmod(key, 0o644)
        cases = [
            (["--cluster-tls-cert-file", cert], "all three"),
            (["--cluster-tls-cert-file", cert, "--cluster-tls-key-file", key,
              "--cluster-tls-ca-file", self.pki.ca], "readable by other users"),
            (["--cluster-tls-cert-file", cert, "--cluster-tls-key-file", self.secret_path,
              "--cluster-tls-ca-file", self.pki.ca], "no PEM block"),
        ]
        for args, words in cases:
            for sub in ("node", "router"):
                r = subprocess.run([RINGKV, sub, "--grpc-port", "0", "--http-port", "0",
                                    "--resp-port", "0", *args], capture_output=True, text=True,
                                   timeout=20, cwd=self.workdir)
                self.assertNotEqual(r.returncode, 0, f"{sub} {args}")
                self.assertIn(words, r.stderr + r.stdout, f"{sub} {args}")


class ClusterUpTlsTest(ClusterCliTestCase):
    def read(self, *parts):
        with open(os.path.join(self.run_dir, *parts), "rb") as f:
            return f.read()

    def test_cluster_up_tls_makes_certificates_and_the_cluster_works(self):
        # Two replicas of each key: the copies travel node to node as Peer/Forward calls.
        out = self.cli("up", "--nodes", "2", "--replication", "2", "--tls",
                       "--log-level", "warn").stdout
        tls = os.path.join(self.run_dir, "tls")
        self.assertIn(os.path.join(tls, "cluster", "ca.crt"), out)
        self.assertIn(os.path.join(tls, "clients", "client.crt"), out)
        for plane in ("cluster", "clients"):
            for f in os.listdir(os.path.join(tls, plane)):
                mode = stat.S_IMODE(os.stat(os.path.join(tls, plane, f)).st_mode)
                if f.endswith(".key"):
                    self.assertEqual(mode, 0o600, f"{plane}/{f}")
        for who in ("router", "node-1", "node-2", "operator"):
            self.assertTrue(os.path.exists(os.path.join(tls, "cluster", f"{who}.key")), who)
        # Every process runs with cluster TLS, and no secret is on a command line.
        st = json.loads(self.cli("status", "--json").stdout)
        self.assertEqual([n["state"] for n in st["nodes"]], ["active", "active"])
        table = self.cli("status").stdout
        self.assertIn("cluster TLS", table)
        password = self.read("requirepass").decode().strip()
        secret = self.read("cluster-secret").decode().strip()
        host, port = st["router"]["resp"].rsplit(":", 1)
        client = redis.Redis(host=host, port=int(port), password=password, socket_timeout=10)
        for i in range(100):
            client.set(f"k:{i}", f"v{i}")
        self.assert_keys_readable(client, "k", 100)
        for n in st["nodes"]:
            h, p = n["addr"].rsplit(":", 1)
            # The nodes' RESP port speaks TLS only (the router reaches them over TLS).
            clients = os.path.join(tls, "clients")
            node = redis.Redis(host=h, port=int(p), password=password, socket_timeout=10,
                               ssl=True, ssl_ca_certs=os.path.join(clients, "ca.crt"),
                               ssl_certfile=os.path.join(clients, "client.crt"),
                               ssl_keyfile=os.path.join(clients, "client.key"))
            self.assertEqual(node.dbsize(), 100, n["name"])
        # The operator's certificate and the secret reach a node's Peer/Status.
        creds = grpc.ssl_channel_credentials(
            root_certificates=self.read("tls", "cluster", "ca.crt"),
            private_key=self.read("tls", "cluster", "operator.key"),
            certificate_chain=self.read("tls", "cluster", "operator.crt"))
        node_grpc = [n for n in st["nodes"] if n["name"] == "node-1"][0]["grpc_addr"]
        with grpc.secure_channel(node_grpc, creds) as ch:
            self.assertEqual(status_call(ch, [(SECRET_KEY, secret)]).id, "node-1")
        with grpc.insecure_channel(node_grpc) as ch:
            with self.assertRaises(grpc.RpcError) as ctx:
                status_call(ch, [(SECRET_KEY, secret)])
            self.assertEqual(ctx.exception.code(), grpc.StatusCode.UNAVAILABLE)
        # add-node issues the new node's certificate from the same CA.
        self.cli("add-node")
        self.assertTrue(os.path.exists(os.path.join(tls, "cluster", "node-3.key")))
        st = json.loads(self.cli("status", "--json").stdout)
        self.assertEqual(sorted(n["state"] for n in st["nodes"]), ["active"] * 3)
        self.assert_keys_readable(client, "k", 100)
        cmdlines = self.cmdlines()
        self.assertTrue(re.search(r"--cluster-tls-cert-file", cmdlines))
        self.assertNotIn(secret, cmdlines)
        self.assertNotIn("BEGIN", cmdlines)

    def cmdlines(self):
        """Every ringkv process's command line of this run directory."""
        text = ""
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    line = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if self.run_dir in line:
                text += line + "\n"
        return text


if __name__ == "__main__":
    unittest.main()
