"""The node's HTTP API: health, /kv/{key}, metrics, stats, and limits."""
import json
import os
import socket
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import redis  # noqa: E402
from harness import ClusterTestCase  # noqa: E402


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def raw_http(port, data: bytes, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        out += b
    s.close()
    return out


class NodeHttpTest(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.node = self.start_node("--id", "n1", "--http-body-limit", "1mb", "--http-read-timeout-ms", "500")

    def test_check_alive_reports_id_version_and_ports(self):
        status, body, _ = http("GET", self.node.http + "/check-alive")
        self.assertEqual(status, 200)
        j = json.loads(body)
        self.assertEqual(j["id"], "n1")
        self.assertEqual(j["status"], "ok")
        self.assertTrue(j["version"])
        self.assertEqual(j["ports"], {"resp": self.node.resp_port, "http": self.node.http_port,
                                      "grpc": self.node.grpc_port})

    def test_kv_round_trip_shared_with_resp(self):
        status, body, _ = http("GET", self.node.http + "/kv/missing")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body), {"message": "Key does not exist."})
        status, _, _ = http("PUT", self.node.http + "/kv/greeting", b"hello \x00 world")
        self.assertEqual(status, 201)
        status, body, _ = http("GET", self.node.http + "/kv/greeting")
        self.assertEqual((status, body), (200, b"hello \x00 world"))
        self.assertEqual(redis.Redis(port=self.node.resp_port).get("greeting"), b"hello \x00 world")
        status, _, _ = http("GET", self.node.http + "/kv/a%20key")
        self.assertEqual(status, 404)
        redis.Redis(port=self.node.resp_port).set("a key", "v")
        self.assertEqual(http("GET", self.node.http + "/kv/a%20key")[1], b"v")
        self.assertEqual(http("DELETE", self.node.http + "/kv/greeting")[0], 200)
        self.assertEqual(http("DELETE", self.node.http + "/kv/greeting")[0], 404)
        self.assertEqual(http("PATCH", self.node.http + "/kv/x")[0], 405)

    def test_metrics_in_prometheus_format(self):
        r = redis.Redis(port=self.node.resp_port)
        r.set("a", "1")
        r.get("a")
        r.get("nope")
        status, body, headers = http("GET", self.node.http + "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))
        text = body.decode()
        self.assertRegex(text, r'ringkv_commands_total\{cmd="get"\} 2')
        self.assertRegex(text, r'ringkv_commands_total\{cmd="set"\} 1')
        self.assertRegex(text, r"ringkv_keyspace_hits_total 1")
        self.assertRegex(text, r"ringkv_keyspace_misses_total 1")
        for name in ("ringkv_keys", "ringkv_used_memory_bytes", "ringkv_connected_clients",
                     "ringkv_evicted_keys_total", "ringkv_expired_keys_total"):
            self.assertIn(name, text)
        status, body, _ = http("GET", self.node.http + "/stats")
        self.assertEqual(status, 200)
        self.assertIsInstance(json.loads(body), dict)

    def test_oversized_body_gets_413(self):
        status, _, _ = http("PUT", self.node.http + "/kv/big", b"x" * (2 << 20))
        self.assertEqual(status, 413)
        self.assertEqual(http("GET", self.node.http + "/kv/big")[0], 404)

    def test_closed_connections_leave_room_under_the_connection_cap(self):
        node = self.start_node("--id", "capped", "--http-max-connections", "4")
        # Each request closes its connection (Connection: close): many more
        # requests than the cap, one after another, all get through.
        for i in range(40):
            status, _, _ = http("GET", node.http + "/check-alive")
            self.assertEqual(status, 200, f"request {i}")

    def test_oversized_headers_get_431(self):
        reply = raw_http(self.node.http_port,
                         b"GET /check-alive HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 431"), reply[:80])

    def test_slow_client_gets_408(self):
        start = time.time()
        reply = raw_http(self.node.http_port, b"GET /check-alive HTTP/1.1\r\nHost: x\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 408"), reply[:80])
        self.assertLess(time.time() - start, 5)

    def test_malformed_request_gets_400_and_unknown_path_404(self):
        self.assertTrue(raw_http(self.node.http_port, b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400"))
        self.assertEqual(http("GET", self.node.http + "/nope")[0], 404)
        self.assertEqual(http("GET", self.node.http + "/kv/%zz")[0], 400)

    def test_kv_requires_bearer_password_when_set(self):
        node = self.start_node("--requirepass", "pw", name="secured")
        self.assertEqual(http("GET", node.http + "/kv/a")[0], 401)
        self.assertEqual(http("GET", node.http + "/kv/a", headers={"Authorization": "Bearer nope"})[0], 401)
        self.assertEqual(http("GET", node.http + "/kv/a", headers={"Authorization": "Bearer pw"})[0], 404)
        self.assertEqual(http("GET", node.http + "/check-alive")[0], 200)


class NodeConfigFileTest(ClusterTestCase):
    def test_settings_come_from_yaml_and_flags_win(self):
        path = os.path.join(self.workdir, "node.yaml")
        with open(path, "w") as f:
            f.write("node:\n  id: from-yaml\n  requirepass: yamlpw\n  maxclients: 7\n")
        node = self.start_node("--config", path, "--maxclients", "9")
        status, body, _ = http("GET", node.http + "/check-alive")
        self.assertEqual(json.loads(body)["id"], "from-yaml")
        r = redis.Redis(port=node.resp_port, password="yamlpw")
        self.assertEqual(r.config_get("maxclients"), {"maxclients": "9"})

    def test_invalid_config_file_is_a_clear_error(self):
        import subprocess
        from harness import RINGKV
        path = os.path.join(self.workdir, "bad.yaml")
        with open(path, "w") as f:
            f.write("node:\n  resp_port: not-a-port\n")
        out = subprocess.run([RINGKV, "node", "--config", path], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("node.resp_port", out.stderr)


def thread_cpus(pid):
    """[(thread name, Cpus_allowed_list)] of a running process."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                cpus = [ln.split(":", 1)[1].strip() for ln in f
                        if ln.startswith("Cpus_allowed_list")]
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        out.append((comm, cpus[0]))
    return out


class CpuListTest(ClusterTestCase):
    """io_cpus / background_cpus: the RESP I/O threads on one list, the rest on the other."""

    def check_split(self, proc, io_threads):
        cpus = sorted(os.sched_getaffinity(0))
        io, background = str(cpus[0]), str(cpus[-1])
        # jemalloc's purging threads are the allocator's, started on its own.
        threads = [t for t in thread_cpus(proc.proc.pid) if not t[0].startswith("jemalloc")]
        if io != background:  # a 1-CPU machine cannot tell them apart
            self.assertEqual(len([t for t in threads if t[1] == io]), io_threads, threads)
        self.assertEqual(len([t for t in threads if t[1] not in (io, background)]), 0, threads)
        grpc = [t for t in threads if t[0] == "grpcpp_sync_ser"]
        self.assertTrue(grpc, threads)
        self.assertTrue(all(t[1] == background for t in grpc), threads)

    def test_node_runs_io_threads_and_the_rest_on_their_lists(self):
        cpus = sorted(os.sched_getaffinity(0))
        node = self.start_node("--io-threads", "2", "--io-cpus", str(cpus[0]),
                               "--background-cpus", str(cpus[-1]))
        self.check_split(node, io_threads=2)
        r = redis.Redis(port=node.resp_port)
        self.assertTrue(r.set("k", "v"))
        self.assertEqual(r.get("k"), b"v")

    def test_router_runs_proxy_threads_and_the_rest_on_their_lists(self):
        cpus = sorted(os.sched_getaffinity(0))
        node = self.start_node()
        router = self.start_router("--nodes", f"127.0.0.1:{node.http_port}",
                                   "--io-cpus", str(cpus[0]), "--background-cpus", str(cpus[-1]))
        self.check_split(router, io_threads=1)
        r = redis.Redis(port=router.resp_port)
        self.assertTrue(r.set("k", "v"))
        self.assertEqual(r.get("k"), b"v")

    def test_bad_cpu_lists_are_refused_at_start(self):
        import subprocess
        from harness import RINGKV
        missing = max(os.sched_getaffinity(0)) + 1
        for cmd, flag, value, expect in [
                ("node", "--io-cpus", str(missing), f"io_cpus: CPU {missing} is not one this process may run on"),
                ("node", "--background-cpus", "3-1", "background_cpus: bad CPU list item '3-1'"),
                ("router", "--io-cpus", "x", "io_cpus: bad CPU list item 'x'"),
                ("router", "--background-cpus", str(missing), f"background_cpus: CPU {missing} is not one"),
        ]:
            out = subprocess.run([RINGKV, cmd, flag, value, "--data-dir", self.workdir]
                                 if cmd == "router" else [RINGKV, cmd, flag, value],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 2, (cmd, flag, value, out.stderr))
            self.assertIn(expect, out.stderr)


class NodeGrpcHealthTest(ClusterTestCase):
    def test_grpc_health_service_answers_serving(self):
        import grpc
        node = self.start_node()
        channel = grpc.insecure_channel(f"127.0.0.1:{node.grpc_port}")
        # grpc.health.v1.Health/Check with HealthCheckRequest{service: ""} (empty
        # message); the reply HealthCheckResponse{status: SERVING = 1} is 08 01.
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=lambda b: b, response_deserializer=lambda b: b)
        self.assertEqual(check(b"", timeout=5), b"\x08\x01")


if __name__ == "__main__":
    unittest.main()
