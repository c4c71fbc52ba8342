"""The peer link under cluster TLS (docs/security.md, "The peer link under
cluster TLS").

Three nodes and a router run with cluster TLS (a CA made with the openssl
CLI, one certificate per process) and the cluster secret. Forwards between
nodes and a replication-3 write's replica calls travel over the peer link,
now mutual TLS with the cluster CA: every node has a link port, the nodes
hold established connections to each other's link ports, and the forward
and replica counters move with no error. The link port speaks only TLS: a
plaintext client, one without a certificate and one with a certificate from
another CA get no hello answered; a certificate from the cluster CA gets
through the handshake, and the hello's token is still checked.
"""
import os
import socket
import ssl
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import redis  # noqa: E402
from harness import ClusterTestCase, connections_to, metric, wait_for  # noqa: E402
from test_tls_grpc import Pki  # noqa: E402

KEYS = 200


def resp_command(*args):
    out = f"*{len(args)}\r\n".encode()
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def hello(token="0" * 32):
    return resp_command("RINGKV.LINK", "2", token, "intruder", "127.0.0.1:1")


def read_reply(sock):
    """What `sock` sends before it closes or a line ends (b"" when nothing);
    a TLS error counts as nothing."""
    data = b""
    try:
        while not data.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ssl.SSLError, ConnectionError, socket.timeout):
        pass
    return data


class TlsLinkTest(ClusterTestCase):
    def start_cluster(self, replication):
        self.pki = Pki(os.path.join(self.workdir, "pki"), "cluster")
        self.rogue = Pki(os.path.join(self.workdir, "rogue"), "rogue")
        self.secret_path, _ = self.secret_file("cluster-secret")
        self.nodes = [
            self.start_node("--id", f"n{i}", "--cluster-secret-file", self.secret_path,
                            *self.pki.flags(f"n{i}"), name=f"n{i}") for i in range(3)]
        self.router = self.start_router(
            "--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in self.nodes),
            "--cluster-secret-file", self.secret_path, "--replication", str(replication),
            *self.pki.flags("router"))
        wait_for(lambda: self.active_count(self.router) == 3, timeout=30, what="three active nodes")
        for n in self.nodes:
            self.assertNotEqual(n.info["link_port"], 0, f"{n.id} runs no peer link")

    def total(self, name):
        return sum(metric(n, name) for n in self.nodes)

    def link_connections(self):
        return sum(connections_to(n.info["link_port"]) for n in self.nodes)

    def test_forwarded_set_and_get_go_over_the_tls_link(self):
        self.start_cluster(replication=1)
        before = metric(self.nodes[0], "forwarded_total")
        direct = redis.Redis(host="127.0.0.1", port=self.nodes[0].resp_port, socket_timeout=10)
        pipe = direct.pipeline(transaction=False)
        for i in range(KEYS):
            pipe.set(f"k:{i}", f"v{i}")
        self.assertTrue(all(pipe.execute()))
        self.assertEqual([direct.get(f"k:{i}") for i in range(KEYS)],
                         [f"v{i}".encode() for i in range(KEYS)])
        # About two thirds of the keys live elsewhere: each SET and GET of
        # those went to its owner over a link, with no error.
        self.assertGreater(metric(self.nodes[0], "forwarded_total") - before, KEYS // 2)
        self.assertEqual(self.total("forward_errors_total"), 0)
        for n in self.nodes[1:]:
            self.assertGreaterEqual(connections_to(n.info["link_port"]), 1, n.id)
        # The owners hold the keys: nothing was lost between the nodes.
        self.assertEqual(sum(redis.Redis(port=n.resp_port).dbsize() for n in self.nodes), KEYS)

    def test_replication_3_writes_reach_every_replica_over_the_tls_link(self):
        self.start_cluster(replication=3)
        client = redis.Redis(host="127.0.0.1", port=self.router.resp_port, socket_timeout=10)
        acks = self.total("replica_acks_total")
        for i in range(KEYS):
            self.assertTrue(client.set(f"r:{i}", f"v{i}"))
        self.assert_keys_readable(client, "r", KEYS)
        # Each write went from its coordinator to the two other replicas.
        self.assertGreaterEqual(self.total("replica_acks_total") - acks, KEYS)
        self.assertEqual(self.total("replica_failures_total"), 0)
        self.assertGreaterEqual(self.link_connections(), 2)
        for n in self.nodes:
            wait_for(lambda n=n: redis.Redis(port=n.resp_port).dbsize() == KEYS, timeout=10,
                     what=f"every key on {n.id}")

    def tls_client(self, who, pki):
        """A TLS client context trusting the cluster CA, presenting `who`'s
        certificate from `pki` (none when `who` is None)."""
        ctx = ssl.create_default_context(cafile=self.pki.ca)
        ctx.check_hostname = False
        if who is not None:
            cert, key = pki.issue(who)
            ctx.load_cert_chain(cert, key)
        return ctx

    def hello_reply(self, port, ctx, token="0" * 32):
        """Sends a link hello to `port` (over TLS with `ctx`, or plaintext)
        and returns what came back; a failed handshake returns b""."""
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            if ctx is None:
                raw.sendall(hello(token))
                return read_reply(raw)
            try:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                    s.sendall(hello(token))
                    return read_reply(s)
            except (ssl.SSLError, ConnectionError):
                return b""

    def test_the_link_port_takes_only_tls_with_a_certificate_from_the_cluster_ca(self):
        self.start_cluster(replication=1)
        port = self.nodes[0].info["link_port"]
        cases = {
            "plaintext": None,
            "no client certificate": self.tls_client(None, self.pki),
            "a certificate from another CA": self.tls_client("intruder", self.rogue),
        }
        for what, ctx in cases.items():
            reply = self.hello_reply(port, ctx)
            self.assertFalse(reply.startswith((b"+", b"-")), f"{what}: {reply!r}")
        # A certificate from the cluster CA passes the handshake; the hello's
        # token is still checked.
        reply = self.hello_reply(port, self.tls_client("operator", self.pki))
        self.assertTrue(reply.startswith(b"-"), reply)
        self.assertIn(b"wrong token", reply)
        # The nodes' own links still work.
        direct = redis.Redis(host="127.0.0.1", port=self.nodes[0].resp_port, socket_timeout=10)
        for i in range(30):
            self.assertTrue(direct.set(f"k:{i}", "v"))
        self.assertEqual(self.total("forward_errors_total"), 0)


if __name__ == "__main__":
    unittest.main()
