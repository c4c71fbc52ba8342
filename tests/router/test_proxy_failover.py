"""End-to-end tests of the proxy's failover between replicas.

The proxy runs in `proxy_harness` (PROXY_HARNESS_BIN) with `--replication N`
over real redis-servers, each holding every key (the test writes each key to
all of them), so what is tested is the proxy alone: with N replicas a
command goes to the key's first live replica and, when that back end stalls
(SIGSTOP) or dies (kill -9), to the next one within the same client request.
A client sees no error. Ports are picked at run time.
"""
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import ClusterTestCase  # noqa: E402
from test_proxy import ProxyProcess  # noqa: E402

import redis  # noqa: E402

KEYS = 300


class ProxyFailoverTest(ClusterTestCase):
    def start_cluster(self, replication, timeout_ms=500):
        self.redis = [self.start_redis(name=f"redis{i}") for i in range(3)]
        for r in self.redis:
            c = redis.Redis(port=r.port)
            pipe = c.pipeline(transaction=False)
            for i in range(KEYS):
                pipe.set(f"k:{i}", f"v{i}")
            pipe.execute()
            c.close()
        backends = [f"127.0.0.1:{r.port},redis" for r in self.redis]
        self.proxy = ProxyProcess(self.workdir, backends, "--replication", str(replication),
                                  "--backend-timeout-ms", str(timeout_ms), "--vnodes", "32")
        self.processes.append(self.proxy)
        return redis.Redis(port=self.proxy.port, socket_timeout=20)

    def read_all(self, client):
        """GET of every key, pipelined, then one MGET of them all; returns
        the keys that did not read back (errors included)."""
        pipe = client.pipeline(transaction=False)
        for i in range(KEYS):
            pipe.get(f"k:{i}")
        got = pipe.execute(raise_on_error=False)
        bad = [f"k:{i}" for i, v in enumerate(got) if v != f"v{i}".encode()]
        try:
            values = client.mget([f"k:{i}" for i in range(KEYS)])
        except redis.ResponseError as e:
            return bad + [f"mget: {e}"]
        bad += [f"mget k:{i}" for i, v in enumerate(values) if v != f"v{i}".encode()]
        return bad

    def test_a_stalled_replica_is_failed_over_within_the_request(self):
        client = self.start_cluster(replication=3)
        self.assertEqual(self.read_all(client), [])
        self.redis[0].proc.send_signal(signal.SIGSTOP)
        try:
            start = time.monotonic()
            self.assertEqual(self.read_all(client), [])  # waits one timeout, then the next replica
            self.assertEqual(self.read_all(client), [])  # the stalled node is now skipped at once
            self.assertLess(time.monotonic() - start, 15)
            # Writes and multi-key commands fail over too.
            self.assertTrue(client.set("k:0", "v0"))
            self.assertEqual(client.delete("nothing:1", "nothing:2", "nothing:3"), 0)
            self.assertTrue(client.mset({f"m:{i}": str(i) for i in range(50)}))
        finally:
            self.redis[0].proc.send_signal(signal.SIGCONT)

    def test_a_killed_replica_is_failed_over_within_the_request(self):
        client = self.start_cluster(replication=2)
        self.assertEqual(self.read_all(client), [])
        self.redis[1].kill9()
        self.assertEqual(self.read_all(client), [])
        self.assertEqual(self.read_all(client), [])

    def test_pipelined_commands_on_a_failing_connection_keep_their_order(self):
        client = self.start_cluster(replication=3, timeout_ms=300)
        self.redis[2].proc.send_signal(signal.SIGSTOP)
        try:
            pipe = client.pipeline(transaction=False)
            for i in range(KEYS):
                pipe.get(f"k:{i}")
                pipe.echo(f"e{i}")
            got = pipe.execute(raise_on_error=False)
            want = []
            for i in range(KEYS):
                want += [f"v{i}".encode(), f"e{i}".encode()]
            self.assertEqual(got, want)
        finally:
            self.redis[2].proc.send_signal(signal.SIGCONT)

    def test_replication_one_still_answers_an_error(self):
        client = self.start_cluster(replication=1, timeout_ms=300)
        self.redis[0].kill9()
        bad = self.read_all(client)
        self.assertGreater(len(bad), 0)  # cache mode: no failover in the proxy
        self.assertLess(len(bad), 2 * KEYS)


if __name__ == "__main__":
    unittest.main()
