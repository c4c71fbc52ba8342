"""RESP over TLS (Redis's tls-port and friends) on `ringkv node` and on the
router's proxy, checked with redis-cli --tls, redis-benchmark --tls and
redis-py over ssl; HTTPS (http_tls) on the node's and the router's HTTP API,
checked with curl. A test CA and certificates are made with openssl in the
test's directory."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import redis  # noqa: E402
from harness import (RINGKV, ClusterCliTestCase, ClusterTestCase, RingkvProcess,  # noqa: E402
                     free_port, http_json, metric, wait_for)


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=ringkv test CA")
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, extra in (("server", ["-extfile", "san.cnf"]), ("client", [])):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", *extra)
    return {k: os.path.join(d, f) for k, f in
            (("ca", "ca.crt"), ("cert", "server.crt"), ("key", "server.key"),
             ("client_cert", "client.crt"), ("client_key", "client.key"))}


class TlsTestCase(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.certs = make_certs(self.workdir)

    def tls_flags(self, port, *extra):
        c = self.certs
        return ["--tls-port", str(port), "--tls-cert-file", c["cert"], "--tls-key-file", c["key"],
                "--tls-ca-cert-file", c["ca"], *extra]

    def cli(self, port, *args, cert=True):
        c = self.certs
        argv = ["redis-cli", "--tls", "--cacert", c["ca"], "-p", str(port)]
        if cert:
            argv += ["--cert", c["client_cert"], "--key", c["client_key"]]
        return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=30)

    def tls_client(self, port):
        c = self.certs
        r = redis.Redis(port=port, ssl=True, ssl_ca_certs=c["ca"], ssl_certfile=c["client_cert"],
                        ssl_keyfile=c["client_key"], socket_timeout=30)
        self.addCleanup(r.close)
        return r


class NodeTlsTest(TlsTestCase):
    def test_redis_cli_over_tls_sees_the_plain_port_data(self):
        port = free_port()
        node = self.start_node(*self.tls_flags(port))
        self.assertEqual(self.cli(port, "SET", "k", "over-tls").stdout.strip(), "OK")
        self.assertEqual(redis.Redis(port=node.resp_port).get("k"), b"over-tls")
        self.assertEqual(self.cli(port, "GET", "k").stdout.strip(), "over-tls")

    def test_client_certificate_required_by_default(self):
        port = free_port()
        self.start_node(*self.tls_flags(port))
        self.assertNotIn("PONG", self.cli(port, "PING", cert=False).stdout)
        self.assertEqual(self.cli(port, "PING").stdout.strip(), "PONG")

    def test_tls_auth_clients_no_takes_clients_without_certificates(self):
        port = free_port()
        self.start_node(*self.tls_flags(port, "--tls-auth-clients", "no"))
        self.assertEqual(self.cli(port, "PING", cert=False).stdout.strip(), "PONG")

    def test_large_values_and_pipelines_over_tls(self):
        port = free_port()
        self.start_node(*self.tls_flags(port))
        r = self.tls_client(port)
        big = os.urandom(3 << 20)
        r.set("big", big)
        self.assertEqual(r.get("big"), big)
        p = r.pipeline(transaction=False)
        for i in range(2000):
            p.set(f"k{i}", i)
            p.get(f"k{i}")
        got = p.execute()
        self.assertEqual(got[1::2], [str(i).encode() for i in range(2000)])
        p = r.pipeline(transaction=False)
        for _ in range(20):
            p.get("big")
        self.assertEqual(p.execute(), [big] * 20)

    def test_redis_benchmark_over_tls(self):
        port = free_port()
        self.start_node(*self.tls_flags(port))
        c = self.certs
        out = subprocess.run(
            ["redis-benchmark", "--tls", "--cacert", c["ca"], "--cert", c["client_cert"], "--key",
             c["client_key"], "-p", str(port), "-t", "set,get", "-n", "20000", "-P", "16", "-q"],
            capture_output=True, text=True, timeout=120)
        self.assertIn("GET:", out.stdout, out.stderr)
        self.assertEqual(self.cli(port, "DBSIZE").stdout.strip(), "1")  # key:__rand_int__

    def test_bad_certificate_file_is_a_clear_error(self):
        port = free_port()
        r = subprocess.run([RINGKV, "node", "--resp-port", "0", "--http-port", "0", "--grpc-port",
                            "0", "--tls-port", str(port), "--tls-cert-file",
                            os.path.join(self.workdir, "missing.crt"), "--tls-key-file",
                            self.certs["key"], "--tls-ca-cert-file", self.certs["ca"]],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("missing.crt", r.stdout + r.stderr)


class NodeHttpsTest(TlsTestCase):
    """http_tls on a node: its HTTP API (/metrics, /check-alive, /kv, ...)
    speaks HTTPS with the tls_* files, as the router's does."""

    def https_flags(self, *extra):
        c = self.certs
        return ["--http-tls", "true", "--tls-cert-file", c["cert"], "--tls-key-file", c["key"],
                "--tls-ca-cert-file", c["ca"], *extra]

    def curl(self, url, *args):
        return subprocess.run(["curl", "-sS", "--max-time", "20", *args, url],
                              capture_output=True, text=True, timeout=30)

    def test_curl_with_the_ca_reads_metrics_and_health(self):
        node = self.start_node(*self.https_flags("--tls-auth-clients", "no"))
        c = self.certs
        ok = self.curl(f"https://127.0.0.1:{node.http_port}/metrics", "--cacert", c["ca"])
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("ringkv_", ok.stdout)
        alive = self.curl(f"https://127.0.0.1:{node.http_port}/check-alive", "--cacert", c["ca"])
        self.assertEqual(alive.returncode, 0, alive.stderr)
        self.assertIn('"status":"ok"', alive.stdout.replace(" ", ""))
        # The harness's helpers follow the node to HTTPS.
        node.use_https(c["ca"])
        redis.Redis(port=node.resp_port).set("k", "v")
        self.assertEqual(http_json("GET", f"{node.http}/kv/k", context=node.ssl_context)[1], b"v")
        self.assertGreaterEqual(metric(node, "connections_received_total"), 1)

    def test_plain_http_to_the_https_port_gets_nothing(self):
        node = self.start_node(*self.https_flags("--tls-auth-clients", "no"))
        plain = self.curl(f"http://127.0.0.1:{node.http_port}/metrics")
        self.assertNotIn("ringkv_", plain.stdout)
        self.assertNotEqual(plain.returncode, 0)

    def test_a_certificate_from_another_ca_is_refused(self):
        node = self.start_node(*self.https_flags("--tls-auth-clients", "no"))
        other_dir = os.path.join(self.workdir, "other")
        os.mkdir(other_dir)
        other = make_certs(other_dir)
        wrong = self.curl(f"https://127.0.0.1:{node.http_port}/metrics", "--cacert", other["ca"])
        self.assertNotEqual(wrong.returncode, 0)
        self.assertNotIn("ringkv_", wrong.stdout)

    def test_client_certificate_required_by_default(self):
        node = self.start_node(*self.https_flags())
        c = self.certs
        url = f"https://127.0.0.1:{node.http_port}/metrics"
        without = self.curl(url, "--cacert", c["ca"])
        self.assertNotEqual(without.returncode, 0)
        self.assertNotIn("ringkv_", without.stdout)
        ok = self.curl(url, "--cacert", c["ca"], "--cert", c["client_cert"], "--key",
                       c["client_key"])
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("ringkv_", ok.stdout)

    def test_a_router_with_backend_http_tls_reaches_the_node_only_with_its_ca(self):
        c = self.certs
        node = self.start_node("--id", "n0", "--resp-tls-only", "true", *self.https_flags(),
                               name="node0")
        other_dir = os.path.join(self.workdir, "other")
        os.mkdir(other_dir)
        other = make_certs(other_dir)

        def router(ca, name):
            return self.start_router(
                "--nodes", f"127.0.0.1:{node.http_port}", "--backend-tls-ca-cert-file", ca,
                "--backend-tls-cert-file", c["client_cert"], "--backend-tls-key-file",
                c["client_key"], "--backend-http-tls", "true", name=name)

        good = router(c["ca"], "good")
        wait_for(lambda: self.active_count(good) == 1, timeout=30, what="the node, over HTTPS")
        client = redis.Redis(port=good.resp_port, socket_timeout=10)
        client.set("k", "over-https-discovery")
        self.assertEqual(client.get("k"), b"over-https-discovery")
        rogue = router(other["ca"], "rogue")
        wait_for(lambda: "registered as down" in rogue.read_log(), timeout=30,
                 what="the router to fail to reach the node")
        self.assertEqual(self.active_count(rogue), 0)

    def test_https_without_a_certificate_is_a_clear_error(self):
        r = subprocess.run([RINGKV, "node", "--resp-port", "0", "--http-port", "0", "--grpc-port",
                            "0", "--http-tls", "true"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("tls", (r.stdout + r.stderr).lower())


class ClusterUpHttpsTest(ClusterCliTestCase):
    """`ringkv cluster up --tls`: the nodes' HTTP APIs speak HTTPS with their
    client-plane certificates, and the router (discovery, health checks,
    /repair) reaches them over HTTPS with its back-end certificate."""

    def curl(self, url, *args):
        return subprocess.run(["curl", "-sS", "--max-time", "20", *args, url],
                              capture_output=True, text=True, timeout=30)

    def test_nodes_serve_https_and_the_router_reaches_them(self):
        out = self.cli("up", "--nodes", "2", "--replication", "2", "--tls",
                       "--log-level", "warn").stdout
        self.assertIn("HTTPS", out)
        clients = os.path.join(self.run_dir, "tls", "clients")
        ca, cert, key = (os.path.join(clients, f) for f in ("ca.crt", "client.crt", "client.key"))
        st = json.loads(self.cli("status", "--json").stdout)
        self.assertEqual([n["state"] for n in st["nodes"]], ["active", "active"])
        for n in st["nodes"]:
            url = f"https://{n['http_addr']}/metrics"
            ok = self.curl(url, "--cacert", ca, "--cert", cert, "--key", key)
            self.assertEqual(ok.returncode, 0, ok.stderr)
            self.assertIn("ringkv_cluster_epoch", ok.stdout)
            plain = self.curl(f"http://{n['http_addr']}/metrics")
            self.assertNotIn("ringkv_cluster_epoch", plain.stdout)
            no_cert = self.curl(url, "--cacert", ca)  # tls_auth_clients yes
            self.assertNotIn("ringkv_cluster_epoch", no_cert.stdout)
        # The router asks every node for its anti-entropy progress over HTTPS.
        with open(os.path.join(self.run_dir, "admin-token")) as f:
            token = f.read().strip()
        status, body = http_json("GET", f"http://{st['router']['http']}/repair",
                                 headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["nodes"]), 2, body)
        for n in body["nodes"]:
            self.assertNotIn("error", n, body)
        # A node added later is discovered over HTTPS, and health checks keep
        # every node active.
        self.cli("add-node")
        wait_for(lambda: sorted(n["state"] for n in json.loads(
            self.cli("status", "--json").stdout)["nodes"]) == ["active"] * 3,
            timeout=60, what="three active nodes")


class RouterTlsTest(TlsTestCase):
    def worker(self, name, *args):
        w = RingkvProcess(self.workdir, name, "worker", ["--id", name, *args])
        self.processes.append(w)
        return w

    def test_redis_cli_over_tls_through_the_router(self):
        node = self.start_node("--id", "n0", name="node0")
        port = free_port()
        router = self.start_router("--nodes", f"127.0.0.1:{node.http_port}",
                                   *self.tls_flags(port))
        self.assertEqual(self.cli(port, "SET", "k", "routed").stdout.strip(), "OK")
        self.assertEqual(redis.Redis(port=node.resp_port).get("k"), b"routed")
        self.assertEqual(redis.Redis(port=router.resp_port).get("k"), b"routed")
        r = self.tls_client(port)
        big = os.urandom(2 << 20)
        r.set("big", big)
        self.assertEqual(r.get("big"), big)

    def test_https_api_with_curl(self):
        node = self.start_node("--id", "n0", name="node0")
        router = self.start_router("--nodes", f"127.0.0.1:{node.http_port}", "--http-tls", "true",
                                   *self.tls_flags(free_port()))
        c = self.certs
        url = f"https://127.0.0.1:{router.http_port}/nodes"
        ok = subprocess.run(["curl", "-sS", "--cacert", c["ca"], "--cert", c["client_cert"],
                             "--key", c["client_key"], url], capture_output=True, text=True,
                            timeout=30)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("127.0.0.1:%d" % node.resp_port, ok.stdout)
        no_cert = subprocess.run(["curl", "-sS", "--cacert", c["ca"], url], capture_output=True,
                                 text=True, timeout=30)
        self.assertNotEqual(no_cert.returncode, 0)  # tls_auth_clients yes
        plain = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{router.http_port}/nodes"],
                               capture_output=True, text=True, timeout=30)
        self.assertNotIn("127.0.0.1:%d" % node.resp_port, plain.stdout)

    def https_router(self, *extra):
        """A router over one node whose HTTP API is HTTPS; the test trusts it."""
        node = self.start_node("--id", "n0", name="node0")
        router = self.start_router("--nodes", f"127.0.0.1:{node.http_port}", "--http-tls", "true",
                                   *extra, *self.tls_flags(free_port()))
        c = self.certs
        router.use_https(c["ca"], c["client_cert"], c["client_key"])
        return router

    def enqueue(self, router, payload):
        """Enqueues a 3-iteration job over HTTPS; returns its job(), the job's state."""
        status, body = http_json("PUT", router.http + "/enqueue?iterations=3", payload,
                                 headers={"Content-Type": "application/octet-stream"},
                                 context=router.ssl_context)
        self.assertEqual(status, 200, body)

        def job():
            status, state = http_json("GET", f"{router.http}/jobs/{body['work_id']}",
                                      context=router.ssl_context)
            self.assertEqual(status, 200, state)
            return state
        return job

    def test_a_worker_over_https_completes_a_job_and_a_wrong_ca_never_talks(self):
        router = self.https_router()
        c = self.certs
        job = self.enqueue(router, b"abc")
        addr = f"127.0.0.1:{router.http_port}"
        # Another CA: the worker refuses the router's certificate, says why,
        # and never falls back to plain HTTP.
        os.mkdir(os.path.join(self.workdir, "other"))
        other = make_certs(os.path.join(self.workdir, "other"))
        rogue = self.worker("rogue", "--router", addr,
                           "--router-tls-ca-cert-file", other["ca"],
                           "--router-tls-cert-file", c["client_cert"],
                           "--router-tls-key-file", c["client_key"])
        wait_for(lambda: "certificate verify failed" in rogue.read_log(), timeout=20,
                 what="the rogue worker's certificate error")
        worker = self.worker("w-tls", "--router", addr, "--router-tls-ca-cert-file", c["ca"],
                             "--router-tls-cert-file", c["client_cert"],
                             "--router-tls-key-file", c["client_key"])
        wait_for(lambda: job()["state"] == "done", timeout=30, what="the job done over HTTPS")
        self.assertEqual(job()["worker"], "w-tls")
        self.assertIn("https://", worker.read_log())

    def test_autoscaled_workers_reach_an_https_router(self):
        router = self.https_router("--run-dir", os.path.join(self.workdir, "run"),
                                   "--autoscale", "true", "--scale-after-ms", "300",
                                   "--autoscale-interval-ms", "200", "--max-workers", "1",
                                   "--worker-idle-exit", "2s")
        job = self.enqueue(router, b"scaled")
        wait_for(lambda: job()["state"] == "done", timeout=30,
                 what="the job done by a worker the autoscaler launched")
        self.assertRegex(job()["worker"], r"^worker-\d+$")
        workers = http_json("GET", f"{router.http}/workers", context=router.ssl_context)[1]
        self.assertGreaterEqual(workers["autoscaler"]["launches"], 1, workers)
        wait_for(lambda: not http_json("GET", f"{router.http}/workers",
                                       context=router.ssl_context)[1]["workers"],
                 timeout=15, what="the idle worker to leave")


if __name__ == "__main__":
    unittest.main()
