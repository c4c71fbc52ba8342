"""The JOB.* commands of a real `ringkv node` (jobs/protocol.h), driven by a
real Redis client: FIFO leases, lease expiry, idempotent completion, results
kept after a pull, persistence with --data-dir, and jobs kept apart from the
keyspace."""
import os
import sys
import time
import unittest
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import redis  # noqa: E402
from harness import ClusterTestCase, wait_for  # noqa: E402


def new_id():
    return str(uuid.uuid4())


def run(client, *args):
    """The reply, or ('error', message) for an error reply (redis-py drops a
    leading "ERR ", keeps other prefixes such as NOTFOUND)."""
    try:
        return client.execute_command(*args)
    except redis.ResponseError as e:
        return ("error", str(e))


def as_dict(flat):
    it = iter(flat)
    return {k.decode(): v.decode() for k, v in zip(it, it)}


class NodeJobsTest(ClusterTestCase):
    def client(self, node):
        return redis.Redis(port=node.resp_port)

    def enqueue(self, r, payload=b"abc", iterations=1, algorithm="sha512"):
        job_id = new_id()
        self.assertEqual(r.execute_command("JOB.ENQUEUE", job_id, iterations, algorithm, payload), b"OK")
        return job_id

    def test_round_trip(self):
        r = self.client(self.start_node())
        job_id = self.enqueue(r, payload=b"\x00bin\r\nary", iterations=3, algorithm="sha256")
        self.assertEqual(r.execute_command("JOB.STATS")[:3], [1, 0, 0])

        before = int(time.time() * 1000)
        leased = r.execute_command("JOB.LEASE", "w1", 60000)
        self.assertEqual(len(leased), 7)
        self.assertEqual(leased[:4], [job_id.encode(), 3, b"sha256", b"\x00bin\r\nary"])
        self.assertGreaterEqual(leased[5], before + 60000)
        self.assertEqual(leased[6], 1)
        self.assertIsNone(r.execute_command("JOB.LEASE", "w1", 60000))

        got = as_dict(r.execute_command("JOB.GET", job_id))
        self.assertEqual(list(got), ["id", "state", "iterations", "algorithm", "enqueued_ms", "leased_ms",
                                     "lease_expires_ms", "completed_ms", "worker", "output", "attempts",
                                     "pulled"])
        self.assertEqual((got["state"], got["worker"], got["attempts"], got["pulled"]), ("leased", "w1", "1", "0"))

        self.assertEqual(r.execute_command("JOB.RENEW", job_id, "w1", 60000), b"OK")
        self.assertEqual(r.execute_command("JOB.COMPLETE", job_id, "w1", "beef"), b"STORED")
        self.assertEqual(r.execute_command("JOB.STATS")[:3], [0, 0, 1])

        pulled = r.execute_command("JOB.PULL", 10)
        self.assertEqual(pulled[:2], [job_id.encode(), b"beef"])
        self.assertIsInstance(pulled[2], int)
        self.assertEqual(r.execute_command("JOB.PULL", 10), [])
        got = as_dict(r.execute_command("JOB.GET", job_id))
        self.assertEqual((got["state"], got["output"], got["pulled"]), ("done", "beef", "1"))
        self.assertIsNone(r.execute_command("JOB.GET", new_id()))

    def test_fifo(self):
        r = self.client(self.start_node())
        ids = []
        for i in range(5):
            ids.append(self.enqueue(r, payload=str(i).encode()))
            time.sleep(0.003)  # distinct enqueue milliseconds; within one ms the order is by id
        leased = [r.execute_command("JOB.LEASE", "w", 60000)[0].decode() for _ in ids]
        self.assertEqual(leased, ids)
        stats = r.execute_command("JOB.STATS")
        self.assertEqual(stats, [0, 5, 0, 0])

    def test_expired_lease_is_handed_out_again_in_its_place(self):
        r = self.client(self.start_node())
        first = self.enqueue(r)
        time.sleep(0.003)
        second = self.enqueue(r)
        self.assertEqual(r.execute_command("JOB.LEASE", "dead", 150)[0].decode(), first)
        # The periodic tick requeues it without any further command.
        wait_for(lambda: r.execute_command("JOB.STATS")[:2] == [2, 0], timeout=5, what="lease to expire")
        again = r.execute_command("JOB.LEASE", "alive", 60000)
        self.assertEqual((again[0].decode(), again[6]), (first, 2))
        self.assertEqual(r.execute_command("JOB.LEASE", "alive", 60000)[0].decode(), second)
        self.assertEqual(run(r, "JOB.RENEW", first, "dead", 1000), ("error", "not leased by dead"))

    def test_release_requeues_a_dead_workers_leases(self):
        r = self.client(self.start_node())
        for _ in range(3):
            self.enqueue(r)
        r.execute_command("JOB.LEASE", "dead", 60000)
        r.execute_command("JOB.LEASE", "dead", 60000)
        self.assertEqual(r.execute_command("JOB.RELEASE", "dead"), 2)
        self.assertEqual(r.execute_command("JOB.RELEASE", "dead"), 0)
        self.assertEqual(r.execute_command("JOB.STATS")[:2], [3, 0])

    def test_completion_is_idempotent(self):
        r = self.client(self.start_node())
        job_id = self.enqueue(r)
        r.execute_command("JOB.LEASE", "w1", 60000)
        self.assertEqual(r.execute_command("JOB.COMPLETE", job_id, "w1", "aa"), b"STORED")
        self.assertEqual(r.execute_command("JOB.COMPLETE", job_id, "w2", "aa"), b"DUPLICATE")
        self.assertEqual(r.execute_command("JOB.COMPLETE", job_id, "w2", "bb"), b"CONFLICT")
        got = as_dict(r.execute_command("JOB.GET", job_id))
        self.assertEqual((got["output"], got["worker"]), ("aa", "w1"))
        missing = new_id()
        self.assertEqual(run(r, "JOB.COMPLETE", missing, "w", "aa"), ("error", f"NOTFOUND no job {missing}"))
        self.assertEqual(run(r, "JOB.RENEW", missing, "w", 10), ("error", f"NOTFOUND no job {missing}"))

    def test_duplicate_and_too_many_jobs(self):
        r = self.client(self.start_node("--max-jobs", "2"))
        job_id = self.enqueue(r)
        self.assertEqual(run(r, "JOB.ENQUEUE", job_id, 1, "sha512", "x"),
                         ("error", f"EXISTS job {job_id} already exists"))
        self.enqueue(r)
        self.assertEqual(run(r, "JOB.ENQUEUE", new_id(), 1, "sha512", "x"), ("error", "OOM too many jobs"))

    def test_results_expire_after_retention(self):
        r = self.client(self.start_node("--job-retention", "300ms"))
        job_id = self.enqueue(r)
        self.assertEqual(r.execute_command("JOB.COMPLETE", job_id, "w", "aa"), b"STORED")
        self.assertIsNotNone(r.execute_command("JOB.GET", job_id))
        wait_for(lambda: r.execute_command("JOB.GET", job_id) is None, timeout=5, what="retention")
        self.assertEqual(r.execute_command("JOB.STATS")[:3], [0, 0, 0])

    def test_restart_with_data_dir_keeps_jobs(self):
        data = os.path.join(self.workdir, "data")
        node = self.start_node("--data-dir", data, name="n1")
        r = self.client(node)
        queued = self.enqueue(r, payload=b"q")
        time.sleep(0.003)
        leased = self.enqueue(r, payload=b"l")
        time.sleep(0.003)
        done = self.enqueue(r, payload=b"d")
        time.sleep(0.003)
        pulled = self.enqueue(r, payload=b"p")
        r.execute_command("JOB.COMPLETE", pulled, "w", "11")
        self.assertEqual(r.execute_command("JOB.PULL", 1)[0].decode(), pulled)
        r.execute_command("JOB.COMPLETE", done, "w", "22")
        self.assertEqual(r.execute_command("JOB.LEASE", "w", 600000)[0].decode(), queued)
        self.assertEqual(r.execute_command("JOB.LEASE", "w", 600000)[0].decode(), leased)
        self.assertEqual(r.execute_command("JOB.RELEASE", "w"), 2)
        r.execute_command("JOB.LEASE", "w", 600000)  # `queued` again, now leased
        r.set("plain", "key")
        node.stop()

        node = self.start_node("--data-dir", data, name="n2")
        r = self.client(node)
        self.assertEqual(r.execute_command("JOB.STATS")[:3], [1, 1, 2])
        self.assertEqual(r.execute_command("JOB.LEASE", "w2", 60000)[0].decode(), leased)
        self.assertEqual(as_dict(r.execute_command("JOB.GET", queued))["state"], "leased")
        pulled_now = r.execute_command("JOB.PULL", 10)
        self.assertEqual([x.decode() for x in pulled_now[:2]], [done, "22"])
        self.assertEqual(len(pulled_now), 3)
        self.assertEqual(as_dict(r.execute_command("JOB.GET", pulled))["output"], "11")
        self.assertEqual(r.dbsize(), 1)
        self.assertEqual(r.get("plain"), b"key")

    def test_jobs_are_not_keys(self):
        r = self.client(self.start_node())
        job_id = self.enqueue(r)
        self.assertEqual(r.dbsize(), 0)
        self.assertEqual(list(r.scan_iter()), [])
        self.assertEqual(r.keys("*"), [])
        self.assertIsNone(r.get(job_id))
        r.set("k", "v")
        r.flushall()
        self.assertEqual(r.execute_command("JOB.STATS")[0], 1)
        self.assertEqual(as_dict(r.execute_command("JOB.GET", job_id))["state"], "queued")

    def test_commands_are_counted_and_need_auth(self):
        node = self.start_node("--requirepass", "secret")
        r = redis.Redis(port=node.resp_port)
        with self.assertRaises(redis.exceptions.AuthenticationError):
            r.execute_command("JOB.STATS")
        r = redis.Redis(port=node.resp_port, password="secret")
        r.execute_command("JOB.STATS")
        r.execute_command("JOB.STATS")
        # The refused call counts too, as every command the dispatcher answers.
        self.assertIn("ringkv_commands_total{cmd=\"job.stats\"} 3", self.metrics(node))

    def metrics(self, node):
        with urllib.request.urlopen(node.http + "/metrics", timeout=5) as f:
            return f.read().decode()

    def test_argument_errors(self):
        r = self.client(self.start_node())
        job_id = new_id()
        cases = [
            (["JOB.ENQUEUE", "not-a-uuid", 1, "sha512", "x"],
             "invalid job id 'not-a-uuid': expected a lower-case UUID"),
            (["JOB.ENQUEUE", job_id.upper(), 1, "sha512", "x"], None),
            (["JOB.ENQUEUE", job_id, 0, "sha512", "x"], "iterations must be an integer in [1, 4294967295], got '0'"),
            (["JOB.ENQUEUE", job_id, "x", "sha512", "x"], "iterations must be an integer in [1, 4294967295], got 'x'"),
            (["JOB.ENQUEUE", job_id, 4294967296, "sha512", "x"], None),
            (["JOB.ENQUEUE", job_id, 1, "md5", "x"], "algorithm must be sha512 or sha256, got 'md5'"),
            (["JOB.ENQUEUE", job_id, 1, "sha512"], "wrong number of arguments for 'job.enqueue' command"),
            (["JOB.LEASE", "w", 0], "lease_ms must be an integer >= 1, got '0'"),
            (["JOB.LEASE", "w", "-5"], "lease_ms must be an integer >= 1, got '-5'"),
            (["JOB.LEASE", "", 100], "worker must be 1 to 256 bytes"),
            (["JOB.LEASE", "w"], "wrong number of arguments for 'job.lease' command"),
            (["JOB.RENEW", job_id, "w", "soon"], "lease_ms must be an integer >= 1, got 'soon'"),
            (["JOB.COMPLETE", job_id, "w", ""], "output must not be empty"),
            (["JOB.GET", "x"], "invalid job id 'x': expected a lower-case UUID"),
            (["JOB.PULL", 0], "top must be an integer >= 1, got '0'"),
            (["JOB.PULL"], "wrong number of arguments for 'job.pull' command"),
            (["JOB.RELEASE", "w" * 257], "worker must be 1 to 256 bytes"),
            (["JOB.STATS", "x"], "wrong number of arguments for 'job.stats' command"),
        ]
        for args, message in cases:
            reply = run(r, *args)
            self.assertIsInstance(reply, tuple, args)
            if message is not None:
                self.assertEqual(reply, ("error", message), args)
        self.assertEqual(r.execute_command("JOB.STATS"), [0, 0, 0, 0])  # nothing was enqueued
        self.assertEqual(r.ping(), True)


if __name__ == "__main__":
    unittest.main()
