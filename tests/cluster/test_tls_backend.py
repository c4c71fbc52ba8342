"""TLS between the router and its nodes (docs/security.md, "TLS between
router and nodes").

Nodes run with `resp_tls_only`: their one RESP port speaks TLS and takes
client certificates from a client CA (made here with the openssl CLI); no
plaintext RESP port is open. A router with `backend_tls_*` reaches them
over TLS: SET, GET and MGET through its proxy, its /kv API, and a move when
a node is added all work, and a plaintext client of a node's port gets no
answer. A router whose backend CA did not sign the nodes' certificates, and
a router without backend TLS, get -ERR for every command, never data; with
replicas, a node whose certificate does not verify is failed over.
`ringkv cluster up --tls` runs its nodes that way.
"""
import json
import os
import socket
import ssl
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import redis  # noqa: E402
from harness import ClusterCliTestCase, ClusterTestCase, http_json, wait_for  # noqa: E402
from test_tls_grpc import Pki  # noqa: E402

KEYS = 200


def tls_client(port, pki, who="client", host="127.0.0.1", password=None):
    """A redis client of a TLS port, trusting `pki`'s CA, presenting `who`'s
    certificate from it."""
    cert, key = (pki.issue(who) if isinstance(pki, Pki)
                 else (pki[who + ".crt"], pki[who + ".key"]))
    ca = pki.ca if isinstance(pki, Pki) else pki["ca.crt"]
    return redis.Redis(host=host, port=port, password=password, socket_timeout=10, ssl=True,
                       ssl_ca_certs=ca, ssl_certfile=cert, ssl_keyfile=key)


def plaintext_answer(port, host="127.0.0.1"):
    """What a plaintext PING on `port` gets back (b"" when the server closes
    or says nothing)."""
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        try:
            return s.recv(100)
        except (ConnectionResetError, socket.timeout):
            return b""


class BackendTlsTest(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(os.path.join(self.workdir, "clients"), "clients")
        self.rogue = Pki(os.path.join(self.workdir, "rogue"), "rogue")
        self.nodes = [self.start_tls_node(f"n{i}") for i in range(2)]

    def start_tls_node(self, node_id):
        cert, key = self.pki.issue(node_id)
        return self.start_node("--id", node_id, "--resp-tls-only", "true", "--tls-cert-file", cert,
                               "--tls-key-file", key, "--tls-ca-cert-file", self.pki.ca,
                               name=node_id)

    def start_tls_router(self, ca, *extra, name="router"):
        cert, key = self.pki.issue(name)
        return self.start_router(
            "--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in self.nodes),
            "--rebalance-grace-ms", "300", "--backend-tls-ca-cert-file", ca,
            "--backend-tls-cert-file", cert, "--backend-tls-key-file", key, *extra, name=name)

    def test_data_kv_and_a_move_work_with_the_nodes_reachable_over_tls_only(self):
        router = self.start_tls_router(self.pki.ca)
        wait_for(lambda: self.active_count(router) == 2, timeout=30, what="two active nodes")
        # The router knows each node by its TLS port.
        self.assertEqual(sorted(n["addr"] for n in self.nodes_of(router)["nodes"]),
                         sorted(f"127.0.0.1:{n.resp_port}" for n in self.nodes))
        client = redis.Redis(host="127.0.0.1", port=router.resp_port, socket_timeout=10)
        pipe = client.pipeline(transaction=False)
        for i in range(KEYS):
            pipe.set(f"k:{i}", f"v{i}")
        self.assertTrue(all(pipe.execute()))
        self.assert_keys_readable(client, "k", KEYS)
        keys = [f"k:{i}" for i in range(KEYS)]
        self.assertEqual(client.mget(keys), [f"v{i}".encode() for i in range(KEYS)])
        # The keys are on the nodes, which a TLS client with a certificate reaches ...
        counts = [tls_client(n.resp_port, self.pki).dbsize() for n in self.nodes]
        self.assertEqual(sum(counts), KEYS)
        self.assertTrue(all(c > 0 for c in counts), counts)
        # ... and a plaintext one does not: no plaintext RESP port is open.
        for n in self.nodes:
            self.assertNotIn(b"PONG", plaintext_answer(n.resp_port))
            with self.assertRaises(redis.exceptions.ConnectionError):
                redis.Redis(host="127.0.0.1", port=n.resp_port, socket_timeout=5).ping()
        # The HTTP data API goes through the blocking client, over TLS too.
        status, body = http_json("PUT", f"{router.http}/kv/over-http", {"value": "yes"})
        self.assertIn(status, (200, 201), body)
        status, body = http_json("GET", f"{router.http}/kv/over-http")
        self.assertEqual(status, 200, body)
        self.assertIn("yes", json.dumps(body))
        # A move: n2 joins, keys stream to it, and everything stays readable.
        epoch = self.nodes_of(router)["epoch"]
        n2 = self.start_tls_node("n2")
        self.nodes.append(n2)
        status, data = http_json("POST", f"{router.http}/add-node",
                                 {"addr": f"127.0.0.1:{n2.http_port}", "id": "n2"})
        self.assertEqual(status, 200, data)
        wait_for(lambda: self.active_count(router) == 3 and
                 self.nodes_of(router)["epoch"] > epoch, timeout=60, what="n2 to become active")
        wait_for(lambda: tls_client(n2.resp_port, self.pki).dbsize() > 0, timeout=30,
                 what="keys to reach n2")
        self.assertEqual(client.mget(keys), [f"v{i}".encode() for i in range(KEYS)])
        client.set("after-move", "1")
        self.assertEqual(client.get("after-move"), b"1")

    def test_a_router_that_cannot_verify_the_nodes_gets_errors_not_data(self):
        good = tls_client(self.nodes[0].resp_port, self.pki)
        good.set("secret-key", "secret-value")
        for name, args in (("rogue-ca", ["--backend-tls-ca-cert-file", self.rogue.ca]),
                           ("no-certificate", ["--backend-tls-ca-cert-file", self.pki.ca]),
                           ("plaintext", [])):
            router = self.start_router(
                "--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in self.nodes), *args,
                name=name)
            wait_for(lambda: len(self.nodes_of(router)["nodes"]) == 2, timeout=30,
                     what=f"{name}: the nodes to be listed")
            client = redis.Redis(host="127.0.0.1", port=router.resp_port, socket_timeout=10)
            for key in ("secret-key", "k:1", "k:2", "k:3"):
                with self.assertRaises(redis.exceptions.ResponseError, msg=name) as ctx:
                    client.get(key)
                self.assertIn("unavailable", str(ctx.exception), name)
            with self.assertRaises(redis.exceptions.ResponseError, msg=name):
                client.set("secret-key", "overwritten")
            status, _ = http_json("GET", f"{router.http}/kv/secret-key")
            self.assertGreaterEqual(status, 500, name)
            if name == "rogue-ca":
                wait_for(lambda: "TLS handshake failed" in router.read_log(), timeout=10,
                         what="the handshake failure in the log")
                # Its health probes fail the same way: the nodes go down.
                wait_for(lambda: all(n["state"] == "down"
                                     for n in self.nodes_of(router)["nodes"]),
                         timeout=30, what="the nodes to be down")
                with self.assertRaises(redis.exceptions.ResponseError):
                    client.get("secret-key")
            if name == "no-certificate":
                # The node refuses the router after the handshake (TLS 1.3):
                # its alert's words reach the router's log.
                wait_for(lambda: "alert certificate required" in router.read_log(), timeout=10,
                         what="the node's refusal in the log")
            router.stop()
        self.assertEqual(good.get("secret-key"), b"secret-value")

    def test_with_replicas_a_node_that_does_not_verify_is_failed_over(self):
        # n2's certificate comes from another CA: the router cannot verify it.
        cert, key = self.rogue.issue("n2")
        self.nodes.append(self.start_node("--id", "n2", "--resp-tls-only", "true",
                                          "--tls-cert-file", cert, "--tls-key-file", key,
                                          "--tls-ca-cert-file", self.pki.ca, name="n2"))
        router = self.start_tls_router(self.pki.ca, "--replication", "2")
        wait_for(lambda: len(self.nodes_of(router)["nodes"]) == 3, timeout=30,
                 what="three nodes listed")
        client = redis.Redis(host="127.0.0.1", port=router.resp_port, socket_timeout=10)
        # Every key has a replica the router reaches over TLS.
        for i in range(KEYS):
            self.assertTrue(client.set(f"r:{i}", f"v{i}"))
        self.assert_keys_readable(client, "r", KEYS)
        self.assertIn("TLS handshake failed", router.read_log())
        wait_for(lambda: {n["id"]: n["state"] for n in self.nodes_of(router)["nodes"]}["n2"]
                 == "down", timeout=30, what="n2 to be down")

    def test_tls_only_settings_are_checked(self):
        cert, key = self.pki.issue("bad")
        import subprocess
        from harness import RINGKV
        cases = [
            (["--resp-tls-only", "true"], "tls-port needs tls-cert-file"),
            (["--resp-tls-only", "true", "--tls-port", "1", "--tls-cert-file", cert,
              "--tls-key-file", key, "--tls-ca-cert-file", self.pki.ca], "drop tls-port"),
        ]
        for args, words in cases:
            r = subprocess.run([RINGKV, "node", "--grpc-port", "0", "--http-port", "0",
                                "--resp-port", "0", *args], capture_output=True, text=True,
                               timeout=20, cwd=self.workdir)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(words, r.stderr + r.stdout, args)
        r = subprocess.run([RINGKV, "router", "--grpc-port", "0", "--http-port", "0",
                            "--resp-port", "0", "--backend-tls-cert-file", cert,
                            "--backend-tls-key-file", key], capture_output=True, text=True,
                           timeout=20, cwd=self.workdir)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("need backend_tls_ca_cert_file", r.stderr + r.stdout)


class ClusterUpBackendTlsTest(ClusterCliTestCase):
    def test_cluster_up_tls_runs_nodes_reachable_over_tls_only(self):
        self.cli("up", "--nodes", "2", "--tls", "--log-level", "warn")
        tls = os.path.join(self.run_dir, "tls", "clients")
        files = {f: os.path.join(tls, f) for f in os.listdir(tls)}
        with open(os.path.join(self.run_dir, "requirepass")) as f:
            password = f.read().strip()
        st = json.loads(self.cli("status", "--json").stdout)
        self.assertEqual([n["state"] for n in st["nodes"]], ["active", "active"])
        host, port = st["router"]["resp"].rsplit(":", 1)
        client = redis.Redis(host=host, port=int(port), password=password, socket_timeout=10)
        for i in range(100):
            client.set(f"k:{i}", f"v{i}")
        self.assertEqual(client.mget([f"k:{i}" for i in range(100)]),
                         [f"v{i}".encode() for i in range(100)])
        total = 0
        for n in st["nodes"]:
            h, p = n["addr"].rsplit(":", 1)
            self.assertNotIn(b"PONG", plaintext_answer(int(p), h))
            total += tls_client(int(p), files, host=h, password=password).dbsize()
        self.assertEqual(total, 100)
        self.cli("add-node")
        st = json.loads(self.cli("status", "--json").stdout)
        self.assertEqual(sorted(n["state"] for n in st["nodes"]), ["active"] * 3)
        self.assert_keys_readable(client, "k", 100)


if __name__ == "__main__":
    unittest.main()
