"""End-to-end tests of the router's RESP proxy over real back ends.

The proxy runs in `proxy_harness` (PROXY_HARNESS_BIN), a test-only process
that serves a fixed cluster map; the back ends are real redis-servers and
real `ringkv node`s (RINGKV_BIN). Ports are picked at run time.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RINGKV, ClusterTestCase, Process, RedisServer, wait_for  # noqa: E402

import redis  # noqa: E402

HARNESS = os.environ.get("PROXY_HARNESS_BIN", "build-proxy/router/proxy_harness")


class ProxyProcess(Process):
    """proxy_harness over the given back ends ("host:port,kind")."""

    def __init__(self, workdir, backends, *extra, name="proxy"):
        self.ports_file = os.path.join(workdir, f"{name}.ports.json")
        argv = [HARNESS, "--port", "0", "--ports-file", self.ports_file]
        for b in backends:
            argv += ["--backend", b]
        super().__init__(argv + list(extra), os.path.join(workdir, f"{name}.log"))
        self.port = wait_for(self._read_port, what=f"{name} to start")

    def _read_port(self):
        if not self.alive():
            raise AssertionError(f"proxy_harness exited: {self.read_log()}")
        try:
            with open(self.ports_file) as f:
                return json.load(f)["resp_port"]
        except (OSError, ValueError, KeyError):
            return None


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class ReplyReader:
    """Reads RESP2 replies from a socket: bytes, int, list, None, or Err."""

    class Err(str):
        pass

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return ReplyReader.Err(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise AssertionError(f"bad reply line {line!r}")


def locate(addrs, key):
    """The owner of `key` as `ringkv ring locate` computes it (ring::Ring)."""
    out = subprocess.run([RINGKV, "ring", "locate", "--json", "--nodes", ",".join(addrs), key],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["owner"]


class ProxyTestCase(ClusterTestCase):
    def start_proxy(self, backends, *extra, name="proxy"):
        p = ProxyProcess(self.workdir, backends, *extra, name=name)
        self.processes.append(p)
        return p

    def redis_cluster(self, n=3, *extra, kind="redis"):
        servers = [self.start_redis(*extra, name=f"redis{i}") for i in range(n)]
        addrs = [f"127.0.0.1:{s.port}" for s in servers]
        return servers, addrs, [f"{a},{kind}" for a in addrs]

    def client(self, port, **kw):
        c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, **kw)
        self.addCleanup(c.close)
        return c

    def raw(self, port):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.addCleanup(s.close)
        return s, ReplyReader(s)


class RoutingTest(ProxyTestCase):
    def test_keys_land_on_the_ring_owner_of_redis_servers(self):
        servers, addrs, backends = self.redis_cluster()
        proxy = self.start_proxy(backends)
        c = self.client(proxy.port)
        keys = [f"user:{i}" for i in range(300)]
        for k in keys:
            self.assertTrue(c.set(k, k.upper()))
        direct = {a: self.client(s.port) for a, s in zip(addrs, servers)}
        owners = {}
        for k in keys:
            holders = [a for a, d in direct.items() if d.get(k) == k.upper().encode()]
            self.assertEqual(len(holders), 1, f"{k} held by {holders}")
            owners[k] = holders[0]
        self.assertEqual(len(set(owners.values())), 3, "every server owns some keys")
        for k in keys[:25]:
            self.assertEqual(owners[k], locate(addrs, k), k)
        self.assertEqual([c.get(k) for k in keys], [k.upper().encode() for k in keys])

    def test_keys_land_on_the_ring_owner_of_ringkv_nodes(self):
        nodes = [self.start_node(name=f"node{i}") for i in range(3)]
        addrs = [f"127.0.0.1:{n.resp_port}" for n in nodes]
        proxy = self.start_proxy([f"{a},ringkv" for a in addrs])
        c = self.client(proxy.port)
        keys = [f"k{i}" for i in range(200)]
        for k in keys:
            self.assertTrue(c.set(k, "v" + k))
        direct = {a: self.client(n.resp_port) for a, n in zip(addrs, nodes)}
        for i, k in enumerate(keys):
            holders = [a for a, d in direct.items() if d.get(k) == ("v" + k).encode()]
            self.assertEqual(len(holders), 1, f"{k} held by {holders}")
            if i < 20:
                self.assertEqual(holders[0], locate(addrs, k), k)
        self.assertEqual(c.incr("counter"), 1)
        self.assertEqual(c.incrby("counter", 5), 6)
        self.assertEqual(c.dbsize(), 201)

    def test_hash_and_list_commands_route_to_redis(self):
        _, _, backends = self.redis_cluster()
        c = self.client(self.start_proxy(backends).port)
        c.hset("h", mapping={"a": "1", "b": "2"})
        self.assertEqual(c.hgetall("h"), {b"a": b"1", b"b": b"2"})
        c.rpush("l", "x", "y", "z")
        self.assertEqual(c.lrange("l", 0, -1), [b"x", b"y", b"z"])
        c.sadd("s", "m")
        self.assertEqual(c.smembers("s"), {b"m"})

    def test_no_node_in_service(self):
        proxy = self.start_proxy([])
        s, r = self.raw(proxy.port)
        s.sendall(encode("GET", "k") + encode("MGET", "a", "b") + encode("DBSIZE") +
                  encode("PING"))
        self.assertEqual(r.read(), "ERR no node in service")
        self.assertEqual(r.read(), "ERR no node in service")
        self.assertEqual(r.read(), "ERR no node in service")
        self.assertEqual(r.read(), "PONG")


class PipelineTest(ProxyTestCase):
    def test_ten_thousand_mixed_commands_in_one_write_keep_their_order(self):
        _, _, backends = self.redis_cluster()
        proxy = self.start_proxy(backends)
        s, r = self.raw(proxy.port)
        cmds, expected = [], []
        values, counters = {}, {}
        for i in range(10000):
            op = i % 8
            if op == 0:
                cmds.append(encode("SET", f"k{i}", f"v{i}"))
                values[f"k{i}"] = f"v{i}".encode()
                expected.append("OK")
            elif op == 1:
                cmds.append(encode("GET", f"k{i - 1}"))
                expected.append(values[f"k{i - 1}"])
            elif op == 2:
                name = f"ctr{i % 13}"
                counters[name] = counters.get(name, 0) + 1
                cmds.append(encode("INCR", name))
                expected.append(counters[name])
            elif op == 3:
                cmds.append(encode("ECHO", f"e{i}"))
                expected.append(f"e{i}".encode())
            elif op == 4:
                keys = [f"k{i - 4}", f"k{i - 12}", "missing"]
                cmds.append(encode("MGET", *keys))
                expected.append([values.get(k) for k in keys])
            elif op == 5:
                cmds.append(encode("EXISTS", f"k{i - 5}", f"k{i - 13}", "missing"))
                expected.append(sum(1 for k in (f"k{i - 5}", f"k{i - 13}") if k in values))
            elif op == 6:
                cmds.append(b"PING\r\n" if i % 16 == 6 else encode("PING"))  # inline too
                expected.append("PONG")
            else:
                cmds.append(encode("GET", f"missing{i}"))
                expected.append(None)
        s.sendall(b"".join(cmds))
        got = [r.read() for _ in range(len(expected))]
        for i, (g, e) in enumerate(zip(got, expected)):
            self.assertEqual(g, e, f"reply {i}")


class MultiKeyTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        self.servers, self.addrs, backends = self.redis_cluster()
        self.proxy = self.start_proxy(backends)
        self.c = self.client(self.proxy.port)
        self.keys = [f"mk{i}" for i in range(40)]

    def total_on_servers(self, keys):
        return sum(self.client(s.port).exists(*keys) for s in self.servers)

    def test_mset_mget_across_owners(self):
        self.assertTrue(self.c.mset({k: k * 2 for k in self.keys}))
        # The 40 keys span all three owners (12 of them, with unlucky ports, may not).
        self.assertEqual(len({locate(self.addrs, k) for k in self.keys}), 3)
        self.assertEqual(self.total_on_servers(self.keys), 40)
        asked = ["nope"] + self.keys[::-1] + [self.keys[3], "nope2"]
        self.assertEqual(self.c.mget(asked),
                         [None] + [(k * 2).encode() for k in self.keys[::-1]] +
                         [(self.keys[3] * 2).encode(), None])

    def test_del_exists_unlink_touch_sum_over_owners(self):
        self.c.mset({k: "1" for k in self.keys})
        self.assertEqual(self.c.exists(*self.keys, "nope", self.keys[0]), 41)  # duplicates count
        self.assertEqual(self.c.touch(*self.keys[:10], "nope"), 10)
        self.assertEqual(self.c.delete(*self.keys[:20], "nope"), 20)
        self.assertEqual(self.c.unlink(*self.keys[15:30]), 10)
        self.assertEqual(self.total_on_servers(self.keys), 10)
        self.assertEqual(self.c.exists(*self.keys), 10)

    def test_dbsize_sums_every_backend(self):
        for i, s in enumerate(self.servers):
            self.client(s.port).mset({f"direct{i}:{j}": "x" for j in range(i + 1)})
        self.assertEqual(self.c.dbsize(), 6)

    def test_mset_arity(self):
        s, r = self.raw(self.proxy.port)
        s.sendall(encode("MSET", "a", "1", "b") + encode("MGET") + encode("DEL"))
        for cmd in ("mset", "mget", "del"):
            self.assertEqual(r.read(), f"ERR wrong number of arguments for '{cmd}' command")


class LocalCommandTest(ProxyTestCase):
    def setUp(self):
        super().setUp()
        _, _, backends = self.redis_cluster(2)
        self.proxy = self.start_proxy(backends)

    def test_local_commands(self):
        c = self.client(self.proxy.port)
        self.assertTrue(c.ping())
        self.assertEqual(c.echo("x y"), b"x y")
        self.assertTrue(c.execute_command("SELECT", "0"))
        with self.assertRaises(redis.ResponseError):
            c.execute_command("SELECT", "1")
        self.assertFalse(c.execute_command("COMMAND"))  # empty: redis-py parses it to {}
        self.assertFalse(c.execute_command("COMMAND", "DOCS"))
        self.assertEqual(c.config_get("save"), {"save": ""})
        self.assertEqual(c.config_get("appendonly"), {"appendonly": "no"})
        c.set("a", "1")
        info = c.info()
        self.assertEqual(info["ringkv_role"], "router")
        self.assertGreaterEqual(info["total_commands_processed"], 2)
        self.assertIn("connected_clients", info)
        self.assertTrue(c.client_setname("me"))
        self.assertEqual(c.client_getname(), "me")

    def test_ping_with_a_message(self):
        s, r = self.raw(self.proxy.port)
        s.sendall(encode("PING", "hello") + b"PING\r\n")
        self.assertEqual(r.read(), b"hello")
        self.assertEqual(r.read(), "PONG")

    def test_quit_closes_after_earlier_replies(self):
        s, r = self.raw(self.proxy.port)
        s.sendall(encode("SET", "q", "1") + encode("GET", "q") + encode("QUIT") + encode("PING"))
        self.assertEqual(r.read(), "OK")
        self.assertEqual(r.read(), b"1")
        self.assertEqual(r.read(), "OK")
        with self.assertRaises(ConnectionError):
            r.read()

    def test_unsupported_commands_name_the_reason(self):
        s, r = self.raw(self.proxy.port)
        cases = [
            (("KEYS", "*"), "keys", "keys live on several nodes"),
            (("SCAN", "0"), "scan", "keys live on several nodes"),
            (("FLUSHALL",), "flushall", "keys live on several nodes"),
            (("RANDOMKEY",), "randomkey", "keys live on several nodes"),
            (("MULTI",), "multi", "transactions cannot span nodes"),
            (("WATCH", "k"), "watch", "transactions cannot span nodes"),
            (("SUBSCRIBE", "ch"), "subscribe", "pub/sub is not proxied"),
            (("EVAL", "return 1", "0"), "eval", "scripts may touch keys on several nodes"),
            (("NOSUCH",), "nosuch", "unknown command"),
        ]
        s.sendall(b"".join(encode(*args) for args, _, _ in cases) + encode("PING"))
        for _, name, reason in cases:
            self.assertEqual(r.read(), f"ERR '{name}' is not supported by the ringkv router: {reason}")
        self.assertEqual(r.read(), "PONG")

    def test_protocol_error_closes_the_connection(self):
        s, r = self.raw(self.proxy.port)
        s.sendall(b"*1\r\n$x\r\n")
        self.assertTrue(r.read().startswith("ERR Protocol error"))
        with self.assertRaises(ConnectionError):
            r.read()


class AuthTest(ProxyTestCase):
    def test_client_auth(self):
        _, _, backends = self.redis_cluster(2)
        proxy = self.start_proxy(backends, "--requirepass", "s3cret")
        s, r = self.raw(proxy.port)
        s.sendall(encode("GET", "a") + encode("AUTH", "wrong") + encode("AUTH", "s3cret") +
                  encode("SET", "a", "1") + encode("GET", "a"))
        self.assertEqual(r.read(), "NOAUTH Authentication required.")
        self.assertTrue(r.read().startswith("WRONGPASS"))
        self.assertEqual(r.read(), "OK")
        self.assertEqual(r.read(), "OK")
        self.assertEqual(r.read(), b"1")
        c = self.client(proxy.port, password="s3cret")
        self.assertEqual(c.get("a"), b"1")

    def test_auth_to_backends(self):
        servers, _, backends = self.redis_cluster(3, "--requirepass", "bpw")
        proxy = self.start_proxy(backends, "--backend-password", "bpw")
        c = self.client(proxy.port)
        c.mset({f"a{i}": i for i in range(30)})
        self.assertEqual(c.get("a7"), b"7")
        self.assertEqual(c.dbsize(), 30)
        self.assertEqual(sum(self.client(s.port, password="bpw").dbsize() for s in servers), 30)

    def test_wrong_backend_password_is_an_error_not_a_hang(self):
        _, addrs, backends = self.redis_cluster(1, "--requirepass", "bpw")
        proxy = self.start_proxy(backends, "--backend-password", "nope")
        s, r = self.raw(proxy.port)
        s.sendall(encode("GET", "a"))
        err = r.read()
        self.assertIsInstance(err, ReplyReader.Err)
        self.assertTrue(err.startswith(f"ERR backend {addrs[0]} unavailable: AUTH refused"), err)


class BackendFailureTest(ProxyTestCase):
    TIMEOUT_MS = 400

    def setUp(self):
        super().setUp()
        self.servers, self.addrs, backends = self.redis_cluster()
        self.proxy = self.start_proxy(backends, "--backend-timeout-ms", str(self.TIMEOUT_MS))
        self.victim = self.servers[1]
        self.victim_addr = self.addrs[1]
        keys = [f"f{i}" for i in range(60)]
        self.dead_keys = [k for k in keys if locate(self.addrs, k) == self.victim_addr][:5]
        self.live_keys = [k for k in keys if locate(self.addrs, k) != self.victim_addr][:10]
        self.assertTrue(self.dead_keys and self.live_keys)
        self.client(self.proxy.port).mset({k: k for k in keys})

    def assert_degraded(self):
        s, r = self.raw(self.proxy.port)
        started = time.monotonic()
        cmds, kinds = [], []
        for dk, lk in zip(self.dead_keys, self.live_keys):
            cmds += [encode("GET", lk), encode("GET", dk)]
            kinds += [lk, None]
        cmds.append(encode("MGET", self.live_keys[0], self.dead_keys[0]))
        s.sendall(b"".join(cmds))
        for k in kinds:
            got = r.read()
            if k is None:
                self.assertIsInstance(got, ReplyReader.Err)
                self.assertTrue(got.startswith(f"ERR backend {self.victim_addr} unavailable: "), got)
            else:
                self.assertEqual(got, k.encode())
        self.assertTrue(r.read().startswith(f"ERR backend {self.victim_addr} unavailable"))
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, self.TIMEOUT_MS / 1000 * 2 + 1.0)
        # Keys elsewhere keep working, alone, at once.
        c = self.client(self.proxy.port)
        t0 = time.monotonic()
        self.assertEqual(c.mget(self.live_keys), [k.encode() for k in self.live_keys])
        self.assertLess(time.monotonic() - t0, 0.5)

    def test_stopped_backend_times_out(self):
        os.kill(self.victim.proc.pid, signal.SIGSTOP)
        try:
            self.assert_degraded()
            self.assert_degraded()  # a reset connection times out again, never hangs
        finally:
            os.kill(self.victim.proc.pid, signal.SIGCONT)
        c = self.client(self.proxy.port)

        def answered():
            try:
                return c.get(self.dead_keys[0])
            except redis.ResponseError:
                return None
        self.assertEqual(wait_for(answered, timeout=5, what="recovery"), self.dead_keys[0].encode())

    def test_killed_backend_fails_fast_and_comes_back(self):
        port = self.victim.port
        self.victim.kill9()
        self.assert_degraded()
        c = self.client(self.proxy.port)
        with self.assertRaises(redis.ResponseError):
            c.get(self.dead_keys[0])
        # The same address comes back (empty): the proxy reconnects.
        self.processes.append(Process(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.workdir],
            os.path.join(self.workdir, "redis-again.log")))

        def answered():
            try:
                return c.set(self.dead_keys[0], "again")
            except redis.ResponseError:
                return False
        wait_for(answered, timeout=10, what="reconnect")
        self.assertEqual(c.get(self.dead_keys[0]), b"again")


class BenchmarkTest(ProxyTestCase):
    def test_redis_benchmark_through_the_proxy(self):
        servers, _, backends = self.redis_cluster()
        proxy = self.start_proxy(backends, "--threads", "2")
        for pipeline in ("1", "16"):
            out = subprocess.run(
                ["redis-benchmark", "-h", "127.0.0.1", "-p", str(proxy.port), "-c", "20",
                 "-n", "20000", "-r", "1000", "-P", pipeline, "-t", "set,get,mset", "--csv"],
                capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            lines = [ln for ln in out.stdout.splitlines() if ln.startswith('"')]
            self.assertEqual(len(lines), 4, out.stdout)  # header + SET, GET, MSET
        keys = sum(self.client(s.port).dbsize() for s in servers)
        self.assertGreater(keys, 900)
        self.assertEqual(self.client(proxy.port).dbsize(), keys)
        info = self.client(proxy.port).info("stats")
        self.assertEqual(info["backend_failures"], 0)


if __name__ == "__main__":
    unittest.main()
