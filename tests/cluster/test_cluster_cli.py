"""`ringkv cluster up|status|add-node|remove-node|down`: a whole local cluster
(router + nodes, or router + redis-servers) started by the CLI through the
local provider, used through the router's RESP port with redis-py."""
import json
import os
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import redis  # noqa: E402
from harness import RINGKV, ClusterCliTestCase  # noqa: E402

KEYS = 300


def router_available():
    try:
        return subprocess.run([RINGKV, "router", "--help"], capture_output=True,
                              timeout=30).returncode == 0
    except OSError:
        return False


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (not yet reaped by init) is not alive either.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@unittest.skipUnless(router_available(), f"{RINGKV} has no `router` subcommand yet")
class ClusterCliTest(ClusterCliTestCase):
    def status(self):
        return json.loads(self.cli("status", "--json").stdout)

    def secret(self, name):
        """One of the secrets `cluster up` generated in the run directory."""
        path = os.path.join(self.run_dir, name)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, path)
        with open(path) as f:
            return f.read().strip()

    def router_client(self, st):
        host, port = st["router"]["resp"].rsplit(":", 1)
        return redis.Redis(host=host, port=int(port), socket_timeout=10,
                           password=self.secret("requirepass"))

    def check_secrets_stay_off_command_lines(self, st):
        """No secret appears in the command line of any process `cluster up`
        started (anyone on the machine can read /proc/<pid>/cmdline), and
        the router refuses a client without the password."""
        secrets = [self.secret(n) for n in ("requirepass", "admin-token", "cluster-secret")]
        self.assertEqual(len(set(secrets)), 3)
        pids = [st["router"]["pid"]] + [n["pid"] for n in st["nodes"]]
        for pid in pids:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().decode(errors="replace")
            for s in secrets:
                self.assertNotIn(s, cmdline, f"a secret is on the command line of pid {pid}")
        host, port = st["router"]["resp"].rsplit(":", 1)
        with self.assertRaises(redis.exceptions.AuthenticationError):
            redis.Redis(host=host, port=int(port), socket_timeout=10).get("k")

    def readable(self, r, keys):
        values = r.mget(keys)
        return sum(1 for k, v in zip(keys, values) if v == f"v-{k}".encode())

    def check_members(self, st, names):
        self.assertEqual(sorted(n["name"] for n in st["nodes"]), sorted(names), st)
        for n in st["nodes"]:
            self.assertTrue(n["alive"], n)
            self.assertEqual(n["state"], "active", n)
        self.assertAlmostEqual(sum(n["share"] for n in st["nodes"]), 1.0, places=3)
        self.assertIsInstance(st["epoch"], int)

    def check_grpc_addrs(self, st, backend):
        """Each member's gRPC address: the one the router's cluster map holds
        (ringkv nodes), empty for redis-servers, which speak no gRPC."""
        with urllib.request.urlopen(f"http://{st['router']['http']}/nodes", timeout=10) as res:
            by_addr = {n["addr"]: n for n in json.load(res)["nodes"]}
        for n in st["nodes"]:
            self.assertIn("grpc_addr", n, n)
            if backend == "redis":
                self.assertEqual(n["grpc_addr"], "", n)
                continue
            self.assertRegex(n["grpc_addr"], r"^[0-9.]+:[0-9]+$", n)
            self.assertNotIn(n["grpc_addr"], (n["addr"], n["http_addr"]), n)
            self.assertEqual(n["grpc_addr"], by_addr[n["addr"]]["grpc_addr"], n)

    def run_scenario(self, backend, prefix):
        up = self.cli("up", "--nodes", "3", "--backend", backend)
        self.assertIn("router", up.stdout)
        again = self.cli("up", "--nodes", "3", "--backend", backend, check=False)
        self.assertEqual(again.returncode, 1, again)
        self.assertIn("cluster down", again.stderr)

        st = self.status()
        self.check_members(st, [f"{prefix}-{i}" for i in (1, 2, 3)])
        self.check_grpc_addrs(st, backend)
        table = self.cli("status").stdout
        for i in (1, 2, 3):
            self.assertIn(f"{prefix}-{i}", table)
        self.assertIn("redis-cli -p", table)
        self.assertIn(os.path.join(self.run_dir, "requirepass"), table)
        self.check_secrets_stay_off_command_lines(st)

        r = self.router_client(st)
        keys = [f"key:{i}" for i in range(KEYS)]
        for k in keys:
            self.assertTrue(r.set(k, f"v-{k}"))
        self.assertEqual(self.readable(r, keys), KEYS)
        # The keys are spread over every back end.
        for n in st["nodes"]:
            host, port = n["addr"].rsplit(":", 1)
            password = self.secret("requirepass") if backend == "ringkv" else None
            self.assertGreater(redis.Redis(host=host, port=int(port), password=password).dbsize(),
                               0, n)

        added = self.cli("add-node")
        self.assertIn(f"{prefix}-4", added.stdout)
        self.assertIn("epoch", added.stdout)
        st = self.status()
        self.check_members(st, [f"{prefix}-{i}" for i in (1, 2, 3, 4)])
        self.check_grpc_addrs(st, backend)
        # Only the new node's share of the keys may move; the rest stay readable.
        share4 = next(n["share"] for n in st["nodes"] if n["name"] == f"{prefix}-4")
        self.assertGreaterEqual(self.readable(r, keys), int((1 - share4 - 0.1) * KEYS))
        for k in keys:
            r.set(k, f"v-{k}")
        self.assertEqual(self.readable(r, keys), KEYS)

        victim = next(n for n in st["nodes"] if n["name"] == f"{prefix}-2")
        removed = self.cli("remove-node", f"{prefix}-2")
        self.assertIn("change owner", removed.stdout)
        self.assertIn(f"{victim['addr']} -> ", removed.stdout)
        self.assertFalse(pid_alive(victim["pid"]))
        st = self.status()
        self.check_members(st, [f"{prefix}-{i}" for i in (1, 3, 4)])
        self.assertGreaterEqual(self.readable(r, keys), int((1 - victim["share"] - 0.1) * KEYS))

        # By address instead of name.
        by_addr = next(n for n in st["nodes"] if n["name"] == f"{prefix}-3")
        self.cli("remove-node", by_addr["addr"])
        self.assertFalse(pid_alive(by_addr["pid"]))
        st = self.status()
        self.check_members(st, [f"{prefix}-1", f"{prefix}-4"])
        for k in keys[:50]:
            r.set(k, "new")
        self.assertEqual(r.mget(keys[:50]), [b"new"] * 50)

        unknown = self.cli("remove-node", "nope-9", check=False)
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("nope-9", unknown.stderr)

        pids = [st["router"]["pid"]] + [n["pid"] for n in st["nodes"]]
        down = self.cli("down")
        self.assertIn("stopped router", down.stdout)
        for pid in pids:
            self.assertFalse(pid_alive(pid), pid)
        self.assertEqual(self.cli("status", check=False).returncode, 1)
        self.assertTrue(os.path.exists(os.path.join(self.run_dir, "router.log")))

    def test_ringkv_backend(self):
        self.run_scenario("ringkv", "node")

    def test_redis_backend(self):
        self.run_scenario("redis", "redis")

    def test_bad_arguments(self):
        p = self.cli("up", "--nodes", "2", "--backend", "memcached", check=False)
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("--backend", p.stderr)
        p = self.cli("add-node", check=False)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("cluster up", p.stderr)
        p = self.cli("status", check=False)
        self.assertEqual(p.returncode, 1, p)


if __name__ == "__main__":
    unittest.main()
