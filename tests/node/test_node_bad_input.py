"""Redis's own protocol edge cases thrown at `ringkv node`: each gets a clear
error (the connection that misbehaved is closed) and the node keeps serving
everyone else."""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import redis  # noqa: E402
from harness import ClusterTestCase, RawClient  # noqa: E402

# (bytes sent, expected error text in the reply)
PROTOCOL_ERRORS = [
    (b"*20000000\r\n", b"-ERR Protocol error: invalid multibulk length"),
    (b"*1\r\n$-10\r\n", b"-ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$2000000000\r\n", b"-ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$blabla\r\n", b"-ERR Protocol error: invalid bulk length"),
    (b"*1\r\nfoo\r\n", b"-ERR Protocol error: expected '$', got 'f'"),
    (b"*blabla\r\n", b"-ERR Protocol error: invalid multibulk length"),
    (b"SET \"unbalanced\r\n", b"-ERR Protocol error: unbalanced quotes in request"),
]


class BadInputTest(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.node = self.start_node("--max-inline-len", "64kb")
        self.bystander = redis.Redis(port=self.node.resp_port)
        self.bystander.set("canary", "alive")

    def assert_still_serving(self):
        self.assertTrue(self.node.alive(), self.node.read_log())
        self.assertEqual(self.bystander.get("canary"), b"alive")
        fresh = redis.Redis(port=self.node.resp_port)
        self.assertTrue(fresh.ping())

    def test_protocol_errors_answer_and_close(self):
        for payload, expected in PROTOCOL_ERRORS:
            with self.subTest(payload=payload):
                c = RawClient(self.node.resp_port)
                c.send(payload)
                reply = c.recv_until_closed()
                self.assertTrue(reply.startswith(expected), reply)
                c.close()
                self.assert_still_serving()

    def test_empty_query_and_negative_count_are_ignored(self):
        c = RawClient(self.node.resp_port)
        c.send(b"\r\n*-10\r\n*0\r\nPING\r\n")
        self.assertEqual(c.recv_exactly_reply(), b"+PONG\r\n")
        c.close()
        self.assert_still_serving()

    def test_incomplete_command_then_silence_does_not_block_others(self):
        c = RawClient(self.node.resp_port)
        c.send(b"*1\r\nfoo")  # never completed
        time.sleep(0.1)
        self.assert_still_serving()
        c.close()

    def rss_kb(self):
        with open(f"/proc/{self.node.proc.pid}/status") as f:
            return int(f.read().split("VmRSS:")[1].split()[0])

    def test_big_claim_allocates_only_what_arrives(self):
        # Growth, not the total: a sanitizer build starts far above a plain one.
        before = self.rss_kb()
        c = RawClient(self.node.resp_port)
        c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$400000000\r\n")  # claims 400 MB, sends nothing
        time.sleep(0.2)
        grown_kb = self.rss_kb() - before
        self.assertLess(grown_kb, 200 * 1024, "node allocated what the header claimed")
        self.assert_still_serving()
        c.close()

    def test_nul_bytes_are_data(self):
        c = RawClient(self.node.resp_port)
        c.send(b"*3\r\n$3\r\nSET\r\n$3\r\na\x00b\r\n$3\r\n\x00\x00\x00\r\n")
        self.assertEqual(c.recv_exactly_reply(), b"+OK\r\n")
        self.assertEqual(self.bystander.get(b"a\x00b"), b"\x00\x00\x00")
        c.close()

    def test_one_byte_at_a_time(self):
        c = RawClient(self.node.resp_port)
        cmd = b"*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$4\r\nslow\r\n"
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(cmd)):
            c.send(cmd[i:i + 1])
        got = b""
        while not got.endswith(b"$5\r\nvalue\r\n"):
            got += c.recv_some()
        self.assertEqual(got, b"+OK\r\n$5\r\nvalue\r\n")
        c.close()

    def test_megabyte_pipeline_of_good_and_bad_commands(self):
        good = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"
        unknown = b"*1\r\n$7\r\nNOTACMD\r\n"
        arity = b"*1\r\n$3\r\nGET\r\n"
        chunk = good + unknown + arity
        count = (1 << 20) // len(chunk)
        c = RawClient(self.node.resp_port, timeout=20)
        c.send(chunk * count + b"*1\r\n$4\r\nPING\r\n")
        expected_tail = b"+PONG\r\n"
        got = b""
        while not got.endswith(expected_tail):
            b = c.recv_some(1 << 20)
            self.assertTrue(b, "connection closed early")
            got += b
        self.assertEqual(got.count(b"+OK\r\n"), count)
        self.assertEqual(got.count(b"-ERR unknown command 'NOTACMD'"), count)
        self.assertEqual(got.count(b"-ERR wrong number of arguments for 'get' command"), count)
        c.close()
        self.assert_still_serving()

    def test_pipeline_with_a_protocol_error_answers_what_came_before(self):
        c = RawClient(self.node.resp_port)
        c.send(b"PING\r\nPING\r\n*1\r\n$x\r\nPING\r\n")
        reply = c.recv_until_closed()
        self.assertEqual(reply, b"+PONG\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n")
        self.assert_still_serving()

    def test_too_big_inline_request(self):
        c = RawClient(self.node.resp_port)
        c.send(b"A" * (70 * 1024))
        reply = c.recv_until_closed()
        self.assertTrue(reply.startswith(b"-ERR Protocol error: too big inline request"), reply[:100])
        self.assert_still_serving()


class LimitsTest(ClusterTestCase):
    def test_max_bulk_len_and_max_args_are_configurable(self):
        node = self.start_node("--max-bulk-len", "1kb", "--max-args", "4")
        c = RawClient(node.resp_port)
        c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000\r\n")
        self.assertTrue(c.recv_until_closed().startswith(b"-ERR Protocol error: invalid bulk length"))
        c = RawClient(node.resp_port)
        c.send(b"*5\r\n")
        self.assertTrue(c.recv_until_closed().startswith(b"-ERR Protocol error: invalid multibulk length"))
        self.assertTrue(redis.Redis(port=node.resp_port).set("k", "x" * 1000))

    def test_maxclients_rejects_with_error_then_closes(self):
        node = self.start_node("--maxclients", "2")
        a = redis.Redis(port=node.resp_port, single_connection_client=True)
        b = redis.Redis(port=node.resp_port, single_connection_client=True)
        a.ping()
        b.ping()
        c = RawClient(node.resp_port)
        self.assertEqual(c.recv_until_closed(), b"-ERR max number of clients reached\r\n")
        a.connection_pool.disconnect()
        time.sleep(0.2)
        self.assertTrue(redis.Redis(port=node.resp_port).ping())

    def test_idle_timeout_closes_idle_clients(self):
        node = self.start_node("--idle-timeout", "1")
        c = RawClient(node.resp_port, timeout=5)
        c.send(b"PING\r\n")
        self.assertEqual(c.recv_exactly_reply(), b"+PONG\r\n")
        start = time.time()
        self.assertEqual(c.recv_until_closed(), b"")
        self.assertLess(time.time() - start, 4)

    def test_auth_required_and_stricter_limits_before_auth(self):
        node = self.start_node("--requirepass", "s3cret")
        c = RawClient(node.resp_port)
        c.send(b"GET k\r\n")
        self.assertEqual(c.recv_exactly_reply(), b"-NOAUTH Authentication required.\r\n")
        c.send(b"AUTH wrong\r\n")
        self.assertTrue(c.recv_exactly_reply().startswith(b"-WRONGPASS"))
        c.send(b"*20\r\n")  # more arguments than an unauthenticated client may send
        self.assertIn(b"Protocol error", c.recv_until_closed())
        ok = redis.Redis(port=node.resp_port, password="s3cret")
        self.assertTrue(ok.set("k", "v"))
        self.assertEqual(ok.get("k"), b"v")


class EvictionTest(ClusterTestCase):
    def test_allkeys_lru_evicts_and_keeps_recent_keys(self):
        node = self.start_node("--max-memory", "4mb")
        r = redis.Redis(port=node.resp_port)
        value = "x" * 1000
        for i in range(20000):
            r.set(f"k{i}", value)
            if i % 100 == 0:
                r.get("k0")  # keep k0 hot
        info = r.info()
        self.assertGreater(info["evicted_keys"], 0)
        self.assertLessEqual(info["used_memory"], 4 * 1024 * 1024 * 1.05)
        self.assertEqual(r.get("k0"), value.encode())
        self.assertEqual(r.get("k19999"), value.encode())

    def test_noeviction_refuses_writes_with_oom(self):
        node = self.start_node("--max-memory", "2mb", "--maxmemory-policy", "noeviction")
        r = redis.Redis(port=node.resp_port)
        with self.assertRaises(redis.ResponseError) as e:
            for i in range(100000):
                r.set(f"k{i}", "x" * 1000)
        self.assertIn("OOM command not allowed when used memory > 'maxmemory'", str(e.exception))
        self.assertEqual(r.get("k0"), b"x" * 1000)  # nothing lost
        r.delete("k0")  # deletes always work


if __name__ == "__main__":
    unittest.main()
