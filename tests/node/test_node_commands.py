"""Every command of `ringkv node`, driven by a real Redis client (redis-py),
checked against a real redis-server running the same commands in the same
test: replies and error strings must match."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import redis  # noqa: E402
from harness import ClusterTestCase  # noqa: E402


def run(client, *args):
    """The reply, or ('error', message) for an error reply."""
    try:
        return client.execute_command(*args)
    except redis.ResponseError as e:
        return ("error", str(e))


# Each case is a list of commands run in order on a fresh database; every
# reply must equal redis-server's.
CASES = {
    "ping_echo": [["PING"], ["PING", "hello"], ["ECHO", "x y"], ["ECHO"], ["PING", "a", "b"]],
    "select": [["SELECT", "0"], ["SELECT", "x"]],
    "get_set": [["GET", "k"], ["SET", "k", "v"], ["GET", "k"], ["SET", "k", "w", "GET"],
                ["SET", "k"], ["GET", "k", "x"], ["SET", "e", ""], ["GET", "e"], ["STRLEN", "e"]],
    "set_nx_xx": [["SET", "a", "1", "NX"], ["SET", "a", "2", "NX"], ["SET", "b", "1", "XX"],
                  ["SET", "a", "3", "XX"], ["GET", "a"], ["SET", "a", "4", "NX", "XX"],
                  ["SET", "a", "5", "NX", "GET"], ["SET", "n", "5", "XX", "GET"]],
    "set_expire_opts": [["SET", "a", "1", "EX", "100"], ["TTL", "a"], ["SET", "a", "1", "PX", "100000"],
                        ["PTTL", "a"], ["SET", "a", "1", "EX", "0"], ["SET", "a", "1", "EX", "-5"],
                        ["SET", "a", "1", "PX", "abc"], ["SET", "a", "1", "EX", "10", "PX", "10"],
                        ["SET", "a", "1", "KEEPTTL", "EX", "5"], ["SET", "a", "2", "KEEPTTL"], ["TTL", "a"],
                        ["SET", "a", "3"], ["TTL", "a"], ["SET", "a", "1", "EXAT", "99999999999"], ["TTL", "a"],
                        ["SET", "a", "1", "PXAT", "1"], ["GET", "a"], ["SET", "a", "1", "FOO"]],
    "setnx_setex": [["SETNX", "a", "1"], ["SETNX", "a", "2"], ["GET", "a"], ["SETEX", "b", "100", "v"],
                    ["TTL", "b"], ["SETEX", "b", "0", "v"], ["SETEX", "b", "x", "v"], ["PSETEX", "c", "100000", "v"],
                    ["PSETEX", "c", "-1", "v"], ["SETNX", "a"]],
    "getset_getdel_getex": [["GETSET", "a", "1"], ["GETSET", "a", "2"], ["GETDEL", "a"], ["GETDEL", "a"],
                            ["SET", "b", "v"], ["GETEX", "b", "EX", "100"], ["TTL", "b"], ["GETEX", "b", "PERSIST"],
                            ["TTL", "b"], ["GETEX", "b", "PX", "0"], ["GETEX", "b", "FOO"], ["GETEX", "missing"],
                            ["GETEX", "b", "EX", "10", "PX", "10"]],
    "mget_mset": [["MSET", "a", "1", "b", "2"], ["MGET", "a", "b", "c"], ["MSET", "a"], ["MSET", "a", "1", "b"],
                  ["MSETNX", "c", "3", "d", "4"], ["MSETNX", "c", "5", "e", "6"], ["MGET", "c", "d", "e"]],
    "del_exists_touch": [["MSET", "a", "1", "b", "2"], ["EXISTS", "a", "a", "b", "z"], ["TOUCH", "a", "z"],
                         ["DEL", "a", "z"], ["UNLINK", "b"], ["EXISTS", "a", "b"], ["DEL"], ["TYPE", "a"],
                         ["SET", "a", "1"], ["TYPE", "a"]],
    "expire_family": [["SET", "a", "1"], ["EXPIRE", "a", "100"], ["TTL", "a"], ["PEXPIRE", "a", "200000"],
                      ["EXPIRE", "a", "50", "GT"], ["EXPIRE", "a", "50", "LT"], ["TTL", "a"],
                      ["EXPIRE", "a", "500", "NX"], ["PERSIST", "a"], ["PERSIST", "a"], ["TTL", "a"],
                      ["EXPIRE", "a", "10", "XX"], ["EXPIRE", "a", "10", "NX"], ["EXPIRE", "a", "20", "NX", "XX"],
                      ["EXPIRE", "a", "x"], ["EXPIREAT", "a", "99999999999"], ["TTL", "a"],
                      ["PEXPIREAT", "a", "1"], ["EXISTS", "a"], ["TTL", "a"], ["PTTL", "a"],
                      ["EXPIRE", "missing", "10"], ["SET", "b", "1"], ["EXPIRE", "b", "-1"], ["EXISTS", "b"],
                      ["EXPIRE", "b"]],
    "counters": [["INCR", "c"], ["INCRBY", "c", "10"], ["DECR", "c"], ["DECRBY", "c", "5"], ["GET", "c"],
                 ["INCRBY", "c", "x"], ["SET", "s", "abc"], ["INCR", "s"], ["SET", "m", "9223372036854775807"],
                 ["INCR", "m"], ["SET", "m", "-9223372036854775808"], ["DECR", "m"], ["SET", "sp", " 1"],
                 ["INCR", "sp"], ["INCRBY", "c", "9223372036854775808"], ["DECRBY", "c", "-9223372036854775808"]],
    "incrbyfloat": [["INCRBYFLOAT", "f", "10.5"], ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "-5"],
                    ["INCRBYFLOAT", "f", "1e3"], ["GET", "f"], ["INCRBYFLOAT", "f", "abc"],
                    ["SET", "s", "x"], ["INCRBYFLOAT", "s", "1"], ["INCRBYFLOAT", "g", "3.0e0"],
                    ["INCRBYFLOAT", "f", "inf"], ["SET", "h", "5.0e3"], ["INCRBYFLOAT", "h", "2.0e2"]],
    "append_strlen_ranges": [["APPEND", "a", "hello"], ["APPEND", "a", " world"], ["STRLEN", "a"],
                             ["GETRANGE", "a", "0", "4"], ["GETRANGE", "a", "-5", "-1"], ["GETRANGE", "a", "5", "2"],
                             ["GETRANGE", "a", "0", "-100"], ["GETRANGE", "a", "-100", "100"],
                             ["GETRANGE", "missing", "0", "1"], ["GETRANGE", "a", "x", "1"],
                             ["SETRANGE", "a", "6", "WORLD"], ["GET", "a"], ["SETRANGE", "z", "3", "x"], ["GET", "z"],
                             ["SETRANGE", "y", "0", ""], ["EXISTS", "y"], ["SETRANGE", "a", "-1", "x"],
                             ["SETRANGE", "a", "536870912", "x"], ["STRLEN", "missing"]],
    "dbsize_flush": [["MSET", "a", "1", "b", "2"], ["DBSIZE"], ["FLUSHDB"], ["DBSIZE"], ["SET", "a", "1"],
                     ["FLUSHALL", "ASYNC"], ["DBSIZE"], ["FLUSHALL", "SYNC"], ["FLUSHDB", "BAD"]],
    "keys_randomkey": [["RANDOMKEY"], ["MSET", "user:1", "a", "user:2", "b", "item:1", "c"], ["KEYS", "nomatch*"],
                       ["KEYS", "h?llo"], ["SCAN", "x"], ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "FOO", "1"]],
    "errors": [["NOSUCHCMD", "a", "b"], ["GET"], ["SET", "a"], ["AUTH", "x"],
               ["TTL"], ["MGET"]],
}


class NodeVsRedisTest(ClusterTestCase):
    @classmethod
    def setUpClass(cls):
        pass

    def setUp(self):
        super().setUp()
        self.node = self.start_node()
        self.redis = self.start_redis()
        self.ours = redis.Redis(port=self.node.resp_port)
        self.ref = redis.Redis(port=self.redis.port)

    def check_case(self, name, commands):
        self.ours.flushall()
        self.ref.flushall()
        for cmd in commands:
            want = run(self.ref, *cmd)
            got = run(self.ours, *cmd)
            if cmd[0] in ("TTL", "PTTL") and isinstance(want, int) and want > 0:
                self.assertGreater(got, 0, f"{name}: {cmd}")
                self.assertLessEqual(abs(got - want), 2000 if cmd[0] == "PTTL" else 2, f"{name}: {cmd}")
                continue
            self.assertEqual(got, want, f"{name}: {cmd}")

    def test_every_case_matches_redis(self):
        for name, commands in CASES.items():
            with self.subTest(case=name):
                self.check_case(name, commands)

    def test_keys_and_scan_return_the_same_sets(self):
        for c in (self.ours, self.ref):
            c.flushall()
            for i in range(500):
                c.set(f"user:{i}", i)
                c.set(f"item:{i}", i)
        for pattern in ("user:*", "item:1?", "*:4[0-2]", "user:[^1]*"):
            self.assertEqual(sorted(self.ours.keys(pattern)), sorted(self.ref.keys(pattern)), pattern)
            self.assertEqual(set(self.ours.scan_iter(match=pattern, count=37)),
                             set(self.ref.scan_iter(match=pattern, count=37)), pattern)
        self.assertEqual(len(set(self.ours.scan_iter(count=10))), 1000)
        self.assertIn(self.ours.randomkey(), set(self.ours.keys("*")))

    def test_keys_expire_in_real_time(self):
        self.ours.set("short", "v", px=150)
        self.ours.set("long", "v", ex=100)
        self.assertEqual(self.ours.get("short"), b"v")
        time.sleep(0.3)
        self.assertIsNone(self.ours.get("short"))
        self.assertEqual(self.ours.ttl("short"), -2)
        self.assertEqual(self.ours.get("long"), b"v")

    def test_active_expiry_reaps_untouched_keys(self):
        for i in range(200):
            self.ours.set(f"k{i}", "v", px=100)
        self.ours.set("keep", "v")
        time.sleep(0.2)
        # Nobody reads the keys: the active cycle must remove them.
        def reaped():
            info = self.ours.info("keyspace")
            return info.get("db0", {}).get("keys") == 1
        deadline = time.time() + 5
        while not reaped() and time.time() < deadline:
            time.sleep(0.05)
        self.assertTrue(reaped(), self.ours.info("keyspace"))
        self.assertGreaterEqual(self.ours.info("stats")["expired_keys"], 200)

    def test_single_database_and_resp2_only(self):
        # ringkv nodes hold one keyspace (as Redis Cluster does) and speak RESP2.
        self.assertEqual(run(self.ours, "SELECT", "1"), ("error", "DB index is out of range"))
        self.assertEqual(run(self.ours, "HELLO", "3"),
                         ("error", "NOPROTO sorry, this protocol version is not supported."))

    def test_binary_safe_keys_and_values(self):
        key = b"\x00k\r\n\xff"
        value = bytes(range(256)) * 10
        self.ours.set(key, value)
        self.assertEqual(self.ours.get(key), value)
        self.assertEqual(self.ours.strlen(key), len(value))

    def test_info_and_config_are_enough_for_tools(self):
        info = self.ours.info()
        for field in ("redis_version", "connected_clients", "used_memory", "keyspace_hits",
                      "keyspace_misses", "evicted_keys", "expired_keys", "total_commands_processed"):
            self.assertIn(field, info)
        cfg = self.ours.config_get("*")
        self.assertIn("maxmemory", cfg)
        self.assertIn("save", cfg)
        hello = self.ours.execute_command("HELLO", "2")
        self.assertIn(b"proto", hello)

    def test_redis_cli_and_redis_benchmark_work(self):
        import subprocess
        out = subprocess.run(["redis-cli", "-p", str(self.node.resp_port), "SET", "cli", "yes"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.stdout.strip(), "OK")
        out = subprocess.run(["redis-cli", "-p", str(self.node.resp_port), "GET", "cli"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.stdout.strip(), "yes")
        out = subprocess.run(["redis-benchmark", "-p", str(self.node.resp_port), "-n", "2000", "-c", "5",
                              "-t", "set,get,incr,mset", "-q"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        for test in ("SET", "GET", "INCR", "MSET"):
            self.assertRegex(out.stdout, test + r".*requests per second", out.stdout)


if __name__ == "__main__":
    unittest.main()
