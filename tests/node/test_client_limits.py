"""Memory and descriptor limits of `ringkv node`'s RESP port under abuse:
clients that never read, huge requests, thousands of idle connections, a
process out of file descriptors. Each test checks the node's own memory or
CPU time from /proc and that it keeps serving others."""
import os
import resource
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import redis  # noqa: E402
from abuse import (cpu_seconds, is_cut, metric, raise_nofile, resp, rss_bytes,  # noqa: E402
                   silent_client)
from harness import ClusterTestCase, wait_for  # noqa: E402

MB = 1 << 20
VALUE = b"v" * MB


class OutputLimitTest(ClusterTestCase):
    """10k pipelined GETs of a 1 MB value from a client that never reads."""

    def flood(self, node, limit_bytes):
        c = redis.Redis(port=node.resp_port)
        c.set("big", VALUE)
        base = rss_bytes(node.proc.pid)
        sock = silent_client(node.resp_port, resp("GET", "big") * 10000)
        self.addCleanup(sock.close)
        peak = [base]

        def cut():
            peak[0] = max(peak[0], rss_bytes(node.proc.pid))
            return metric(node.http, "ringkv_client_output_limit_disconnects_total") >= 1

        wait_for(cut, timeout=20, what="the silent client to be cut")
        self.assertTrue(wait_for(lambda: is_cut(sock), timeout=10, what="the socket to close"))
        grown = peak[0] - base
        print(f"\n  node RSS {base >> 20} MB before, peak +{grown >> 20} MB", file=sys.stderr)
        # The reply buffer grows by doubling: at the limit, the old and the new
        # buffer are both alive for a moment; plus one reply and allocator slack.
        self.assertLess(grown, 2 * limit_bytes + 32 * MB, f"RSS grew {grown >> 20} MB")
        self.assertEqual(c.get("big"), VALUE)  # and the node serves others
        return grown

    def test_soft_limit_cuts_a_client_that_stops_reading(self):
        node = self.start_node("--client-output-buffer-limit", "normal 64mb 4mb 1")
        self.flood(node, 8 * MB)  # the batch pauses at client_output_pause (8mb)

    def test_hard_limit_cuts_without_a_pause(self):
        node = self.start_node("--client-output-pause", "0",
                               "--client-output-buffer-limit", "normal 32mb 0 0")
        self.flood(node, 32 * MB)

    def test_a_client_that_reads_gets_every_reply(self):
        node = self.start_node("--client-output-pause", "2mb")
        c = redis.Redis(port=node.resp_port)
        c.set("big", VALUE)
        p = c.pipeline(transaction=False)
        for _ in range(100):
            p.get("big")
        self.assertEqual(p.execute(), [VALUE] * 100)
        self.assertEqual(metric(node.http, "ringkv_client_output_limit_disconnects_total"), 0)


class InputMemoryTest(ClusterTestCase):
    def mem_clients(self, c):
        return c.info("memory")["mem_clients_normal"]

    def test_read_buffer_is_freed_after_a_large_request(self):
        node = self.start_node()
        c = redis.Redis(port=node.resp_port)
        c.set("huge", b"x" * (8 * MB))
        self.assertLess(self.mem_clients(c), 256 * 1024)
        self.assertEqual(c.strlen("huge"), 8 * MB)

    def test_maxmemory_clients_cuts_the_largest(self):
        node = self.start_node("--maxmemory-clients", "16mb")
        bystander = redis.Redis(port=node.resp_port)
        bystander.ping()
        socks = []
        for size in (3, 4, 12):  # MB of a SET whose value never completes
            s = socket.create_connection(("127.0.0.1", node.resp_port))
            self.addCleanup(s.close)
            s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (64 * MB) + b"x" * (size * MB))
            socks.append(s)
        wait_for(lambda: bystander.info("stats")["evicted_clients"] >= 1, timeout=10,
                 what="a client to be evicted")
        self.assertTrue(wait_for(lambda: is_cut(socks[2]), timeout=10, what="the largest cut"))
        self.assertFalse(is_cut(socks[0], timeout=0.1))
        self.assertLessEqual(self.mem_clients(bystander), 16 * MB)
        self.assertTrue(bystander.ping())


class AuthTimeoutTest(ClusterTestCase):
    def test_unauthenticated_connection_is_closed(self):
        node = self.start_node("--requirepass", "s3cret", "--auth-timeout", "1")
        idle = socket.create_connection(("127.0.0.1", node.resp_port))
        self.addCleanup(idle.close)
        authed = redis.Redis(port=node.resp_port, password="s3cret")
        authed.ping()
        self.assertTrue(wait_for(lambda: is_cut(idle), timeout=10, what="the AUTH timeout"))
        self.assertTrue(authed.ping())  # the same connection, past the timeout
        self.assertGreaterEqual(metric(node.http, "ringkv_client_auth_timeouts_total"), 1)


class IdleConnectionsTest(ClusterTestCase):
    WANTED = 20000

    def test_20k_idle_connections(self):
        # 20k where the hard open-file limit allows (the node needs as many
        # descriptors as this process); else as many as it allows.
        limit = raise_nofile(self.WANTED + 1000)
        count = min(self.WANTED, limit - 300)
        if count < 1000:
            self.skipTest(f"ulimit -n {limit} is too low")
        node = self.start_node("--maxclients", str(count + 10), "--reserved-fds", "100")
        c = redis.Redis(port=node.resp_port)
        c.set("k", "v")
        self.assertGreaterEqual(c.info("clients")["maxclients"], count + 1)
        base = rss_bytes(node.proc.pid)
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for i in range(count):
            s = socket.create_connection(("127.0.0.1", node.resp_port))
            if i % 2 == 0:
                s.sendall(b"PING\r\n")  # half of them have used their buffers once
            socks.append(s)
            if i % 5000 == 4999:
                self.assertEqual(c.get("k"), b"v")  # a normal client is served meanwhile
        wait_for(lambda: c.info("clients")["connected_clients"] >= count + 1, timeout=60,
                 what="every connection to be accepted")
        # Idle buffers are given back within a few seconds.
        wait_for(lambda: c.info("memory")["mem_clients_normal"] < 64 * count, timeout=10,
                 what="idle buffers to be freed")
        per_conn = (rss_bytes(node.proc.pid) - base) / count
        print(f"\n  {count} idle connections: {per_conn:.0f} bytes of RSS each", file=sys.stderr)
        self.assertLess(per_conn, 8 * 1024, f"{per_conn:.0f} bytes per idle connection")
        self.assertEqual(c.get("k"), b"v")
        start = time.monotonic()
        self.assertTrue(c.ping())
        self.assertLess(time.monotonic() - start, 1.0)


class OutOfFdsTest(ClusterTestCase):
    def test_emfile_does_not_spin_and_recovers(self):
        node = self.start_node()
        pid = node.proc.pid
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (128, 128))
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        refused = 0
        for _ in range(300):  # far more than 128 descriptors
            s = socket.create_connection(("127.0.0.1", node.resp_port), timeout=5)
            socks.append(s)
        for s in socks:
            s.settimeout(0.05)
            try:
                if s.recv(100).startswith(b"-ERR server out of file descriptors"):
                    refused += 1
            except (socket.timeout, ConnectionResetError):
                pass
        self.assertGreater(refused, 0)
        # Flooded: further connections keep arriving; the node must not spin.
        before = cpu_seconds(pid)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.0:
            extra = socket.create_connection(("127.0.0.1", node.resp_port), timeout=5)
            extra.close()
            time.sleep(0.01)
        used = cpu_seconds(pid) - before
        self.assertLess(used, 0.5, f"{used:.2f} s of CPU in 2 s out of descriptors")
        self.assertTrue(node.alive())
        for s in socks:
            s.close()
        socks.clear()
        c = redis.Redis(port=node.resp_port, socket_timeout=5)
        self.assertTrue(wait_for(lambda: c.ping(), timeout=10, what="the node to serve again"))
        self.assertGreater(metric(node.http, "ringkv_accept_out_of_fds_total"), 0)


if __name__ == "__main__":
    unittest.main()
