"""End-to-end tests of the hash jobs (cloud-ex2, docs/jobs.md): ringkv nodes
hold the queues, `ringkv router` fronts them, `ringkv worker` processes pull,
compute and complete. Results are checked against Python's hashlib.

Everything is a real process on 127.0.0.1 with ports picked at run time. One
cluster (2 nodes + a router with a short lease) is shared by the tests of
JobsTest; each test leaves its queue empty. The autoscaler test runs its own.
"""
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import RINGKV, Node, RingkvProcess, Router, http_json, wait_for  # noqa: E402

LEASE_MS = 500
MAX_PAYLOAD = 200000


def chained(payload: bytes, iterations: int, algorithm="sha512") -> str:
    out = hashlib.new(algorithm, payload).digest()
    for _ in range(iterations - 1):
        out = hashlib.new(algorithm, out).digest()
    return out.hex()


def http(method, url, body=None, headers=None, timeout=15):
    """(status, parsed JSON, or raw bytes; None when empty). A str body is
    sent as its bytes."""
    if isinstance(body, str):
        body = body.encode()
    status, data = http_json(method, url, body, timeout, headers)
    return status, None if data == b"" else data


class Worker(RingkvProcess):
    """A `ringkv worker` process; ready once it wrote its ports file."""

    def __init__(self, workdir, router_url, name, *extra):
        self.name = name
        super().__init__(workdir, name, "worker",
                         ["--router", router_url, "--id", name, "--log-level", "info", *extra])
        assert self.info["pid"] == self.proc.pid, self.info


def pid_running(pid):
    """True if `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class JobsCluster:
    """Nodes + a router in a temporary directory, with helpers for the API."""

    def __init__(self, nodes, *router_extra):
        self.workdir = tempfile.mkdtemp(prefix="ringkv-jobs-")
        self.processes = []
        self.workers = []
        try:
            self.nodes = [self._keep(Node(self.workdir, "--id", f"n{i}", name=f"node{i}"))
                          for i in range(nodes)]
            addrs = ",".join(f"127.0.0.1:{n.http_port}" for n in self.nodes)
            self.router = self._keep(Router(self.workdir, "--nodes", addrs, *router_extra))
            self.url = self.router.http
            wait_for(lambda: self.call("GET", "/getQueueLen")[0] == 200, timeout=15,
                     what="the router's job API")
        except BaseException:
            self.close()
            raise

    def _keep(self, p):
        self.processes.append(p)
        return p

    def close(self):
        for p in reversed(self.workers + self.processes):
            p.stop()
        if os.environ.get("RINGKV_KEEP_LOGS"):
            print(f"logs kept in {self.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def call(self, method, target, body=None, headers=None, timeout=15):
        return http(method, self.url + target, body, headers, timeout)

    def worker(self, name, *extra):
        w = Worker(self.workdir, self.url, name, *extra)
        self.workers.append(w)
        return w

    def enqueue(self, payload: bytes, iterations, algorithm=None):
        target = f"/enqueue?iterations={iterations}"
        if algorithm:
            target += f"&algorithm={algorithm}"
        status, body = self.call("PUT", target, payload,
                                 {"Content-Type": "application/octet-stream"})
        assert status == 200, (status, body)
        return body["work_id"]

    def job(self, work_id):
        status, body = self.call("GET", f"/jobs/{work_id}")
        assert status == 200, (status, body)
        return body

    def wait_done(self, ids, timeout=30):
        def all_done():
            return all(self.job(i)["state"] == "done" for i in ids)
        wait_for(all_done, timeout=timeout, what=f"{len(ids)} jobs to complete")
        return {i: self.job(i) for i in ids}

    def drain_completed(self):
        status, body = self.call("POST", "/pullCompleted?top=100000")
        assert status == 200, (status, body)
        return body["work_items"]

    def queue_len(self):
        status, body = self.call("GET", "/getQueueLen")
        assert status == 200, (status, body)
        return body

    def run_cli(self, *args, stdin=b""):
        return subprocess.run([RINGKV, "job", *args, "--router", self.url], input=stdin,
                              capture_output=True, timeout=30)


class JobsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = JobsCluster(2, "--job-lease-ms", str(LEASE_MS), "--job-max-payload",
                            str(MAX_PAYLOAD), "--autoscale", "false")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def setUp(self):
        self.c.drain_completed()

    def tearDown(self):
        for w in self.c.workers:
            w.stop()
        self.c.workers.clear()
        q = self.c.queue_len()
        self.assertEqual((q["queued"], q["leased"]), (0, 0), "a test left jobs behind")

    def lease(self, worker="tester"):
        status, body = self.c.call("GET", "/getWork", headers={"X-Worker-Id": worker})
        self.assertIn(status, (200, 204), body)
        return body if status == 200 else None

    def complete(self, work_id, output, worker="tester"):
        return self.c.call("POST", "/completeWork", {"work_id": work_id, "output": output},
                           {"X-Worker-Id": worker})

    # --- results --------------------------------------------------------------

    def test_results_equal_hashlib(self):
        rng = random.Random(2)
        cases = {}
        for size in (0, 1, 64, 1000, 100000):
            payload = bytes(rng.getrandbits(8) for _ in range(size))
            for iterations in (1, 2, 1000, 100000):
                cases[self.c.enqueue(payload, iterations)] = chained(payload, iterations)
            cases[self.c.enqueue(payload, 1000, "sha256")] = chained(payload, 1000, "sha256")
        # The CLI, from a file and from stdin.
        path = os.path.join(self.c.workdir, "payload.bin")
        with open(path, "wb") as f:
            f.write(b"hello world")
        r = self.c.run_cli("enqueue", "--iterations", "3", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        cases[r.stdout.decode().strip()] = chained(b"hello world", 3)
        r = self.c.run_cli("enqueue", "--iterations", "5", "--algorithm", "sha256", "-",
                           stdin=b"\x00\xffbin")
        self.assertEqual(r.returncode, 0, r.stderr)
        cases[r.stdout.decode().strip()] = chained(b"\x00\xffbin", 5, "sha256")

        self.c.worker("w-a", "--threads", "2")
        self.c.worker("w-b", "--threads", "2")
        done = self.c.wait_done(list(cases), timeout=40)
        for work_id, want in cases.items():
            self.assertEqual(done[work_id]["output"], want, done[work_id])
            self.assertIn(done[work_id]["worker"], ("w-a", "w-b"))
        some = next(iter(cases))
        r = self.c.run_cli("status", some)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"state: done", r.stdout)
        self.assertIn(f"output: {cases[some]}".encode(), r.stdout)
        r = self.c.run_cli("status", some, "--json")
        self.assertEqual(json.loads(r.stdout)["output"], cases[some])

    def test_fifo_lease_order(self):
        ids = []
        for i in range(6):
            ids.append(self.c.enqueue(f"fifo-{i}".encode(), 1))
            time.sleep(0.005)  # distinct enqueue times
        leased = [self.lease()["work_id"] for _ in ids]
        self.assertEqual(leased, ids, "getWork must hand out the oldest job first")
        self.assertIsNone(self.lease())
        for i, work_id in enumerate(ids):
            self.assertEqual(self.complete(work_id, chained(f"fifo-{i}".encode(), 1))[0], 200)

    def test_duplicate_and_conflicting_completions(self):
        work_id = self.c.enqueue(b"dup", 2)
        job = self.lease()
        self.assertEqual(job["work_id"], work_id)
        right = chained(b"dup", 2)
        self.assertEqual(self.complete(work_id, right), (200, {"status": "stored"}))
        self.assertEqual(self.complete(work_id, right), (200, {"status": "duplicate"}))
        self.assertEqual(self.complete(work_id, "00" * 64), (200, {"status": "conflict"}))
        # cloud-ex2's [output, work_id] form.
        status, body = self.c.call("POST", "/completeWork", ["ff" * 64, work_id],
                                   {"X-Worker-Id": "tester"})
        self.assertEqual((status, body["status"]), (200, "conflict"))
        job = self.c.job(work_id)
        self.assertEqual((job["state"], job["output"], job["attempts"]), ("done", right, 1))
        self.assertEqual([i["work_id"] for i in self.c.drain_completed()], [work_id])

    def test_pull_completed_oldest_first_once(self):
        N = 20000  # some ms per job
        payloads = [f"pull-{i}".encode() for i in range(5)]
        ids = []
        for p in payloads:
            ids.append(self.c.enqueue(p, N))
        self.c.worker("w-pull", "--threads", "1")  # one at a time: distinct completion times
        done = self.c.wait_done(ids)
        # Oldest completion first (a lease lost to a stale long poll can
        # reorder completions against enqueues, so order by completed_ms).
        order = sorted(range(len(ids)), key=lambda k: done[ids[k]]["completed_ms"])
        ids, payloads = [ids[k] for k in order], [payloads[k] for k in order]
        first = self.c.call("POST", "/pullCompleted?top=2")[1]
        self.assertEqual([i["work_id"] for i in first["work_items"]], ids[:2],
                         [self.c.job(i["work_id"]) for i in first["work_items"]])
        r = self.c.run_cli("pull", "--top", "10")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode().split("\n")[:-1]
        self.assertEqual(lines, [f"{i} {chained(p, N)}" for i, p in zip(ids[2:], payloads[2:])])
        self.assertEqual(self.c.drain_completed(), [])
        for i, p in zip(ids, payloads):  # results stay readable after pulling
            self.assertEqual(self.c.job(i)["output"], chained(p, N))

    # --- failures -------------------------------------------------------------

    def test_kill9_mid_job_loses_nothing(self):
        iterations = 300000  # a few hundred ms per job: killed while computing
        payloads = [f"kill-{i}".encode() for i in range(12)]
        ids = [self.c.enqueue(p, iterations) for p in payloads]
        kills = 0
        while kills < 20:
            if self.c.queue_len()["queued"] == 0:  # workers finished some: keep one waiting
                payloads.append(f"kill-{len(payloads)}".encode())
                ids.append(self.c.enqueue(payloads[-1], iterations))
            w = self.c.worker(f"w-kill-{kills}")

            def leased_by_w():
                return any(j["state"] == "leased" and j["worker"] == w.name
                           for j in map(self.c.job, ids))
            wait_for(leased_by_w, timeout=10, what=f"{w.name} to lease a job")
            time.sleep(random.uniform(0, 0.05))
            w.kill9()
            self.c.workers.remove(w)
            w.stop()
            kills += 1
        self.c.worker("w-final-1", "--threads", "2")
        self.c.worker("w-final-2", "--threads", "2")
        done = self.c.wait_done(ids, timeout=40)
        for work_id, p in zip(ids, payloads):
            self.assertEqual(done[work_id]["output"], chained(p, iterations))
        self.assertGreater(sum(j["attempts"] for j in done.values()), len(ids))
        pulled = [i["work_id"] for i in self.c.drain_completed()]
        self.assertEqual(sorted(pulled), sorted(ids), "each job completes exactly once")

    def test_sigterm_releases_the_lease_at_once(self):
        work_id = self.c.enqueue(b"term", 5_000_000)
        w = self.c.worker("w-term")
        wait_for(lambda: self.c.job(work_id)["worker"] == "w-term", what="the lease")
        time.sleep(0.3)  # mid-job, past a lease renewal
        self.assertEqual(self.c.job(work_id)["state"], "leased")
        started = time.monotonic()
        w.proc.send_signal(signal.SIGTERM)
        self.assertEqual(w.proc.wait(5), 0)
        self.assertLess(time.monotonic() - started, 3)
        self.assertIn("signal", w.read_log())
        job = self.c.job(work_id)
        self.assertNotEqual((job["state"], job["worker"]), ("leased", "w-term"), job)
        status, body = self.c.call("GET", "/workers")
        self.assertNotIn("w-term", [x["id"] for x in body["workers"]])
        # Finish it off with a cheap fake completion (the real one takes long).
        # (A long poll left by an earlier test's stopped worker may hold it
        # until its lease expires.)
        job = wait_for(self.lease, timeout=5, what="the released job")
        self.assertEqual(job["work_id"], work_id)
        self.assertEqual(self.complete(work_id, chained(b"term", 1))[0], 200)

    def test_a_poll_left_behind_by_a_departed_worker_leases_nothing(self):
        import threading
        result = {}

        def stale_poll():
            result["poll"] = self.c.call("GET", "/getWork?wait=3", headers={"X-Worker-Id": "ghost"})

        t = threading.Thread(target=stale_poll)
        t.start()
        time.sleep(0.3)  # the poll is waiting on the router
        status, body = self.c.call("POST", "/notifyKilled", {"worker": "ghost"})
        self.assertEqual(status, 200, body)
        work_id = self.c.enqueue(b"after-ghost", 1)
        t.join()
        self.assertEqual(result["poll"][0], 204, result)  # the departed worker's poll took nothing
        job = self.lease("alive")
        self.assertIsNotNone(job)
        self.assertEqual(job["work_id"], work_id)
        self.assertEqual(self.complete(work_id, chained(b"after-ghost", 1), "alive")[0], 200)

    def test_worker_leaves_when_idle_and_survives_router_errors(self):
        w = self.c.worker("w-idle", "--idle-exit", "1s")
        wait_for(lambda: "w-idle" in [x["id"] for x in self.c.call("GET", "/workers")[1]["workers"]],
                 what="w-idle to poll")
        self.assertEqual(w.proc.wait(8), 0)
        self.assertNotIn("w-idle", [x["id"] for x in self.c.call("GET", "/workers")[1]["workers"]])
        # A worker whose router is down keeps retrying, then leaves when idle.
        lonely = Worker(self.c.workdir, "http://127.0.0.1:1", "w-lonely", "--idle-exit", "1s")
        self.c.workers.append(lonely)
        self.assertEqual(lonely.proc.wait(8), 0)
        self.assertIn("retrying", lonely.read_log())

    # --- bad input ------------------------------------------------------------

    def test_bad_input(self):
        octet = {"Content-Type": "application/octet-stream"}
        for bad in ("0", "-1", "abc", "", "1.5", "10000001", "99999999999999999999"):
            status, body = self.c.call("PUT", f"/enqueue?iterations={bad}", b"x", octet)
            self.assertEqual(status, 400, (bad, body))
            self.assertIn("error", body)
        self.assertEqual(self.c.call("PUT", "/enqueue", b"x", octet)[0], 400)
        self.assertEqual(self.c.call("PUT", "/enqueue?iterations=1&algorithm=md5", b"x",
                                     octet)[0], 400)
        self.assertEqual(self.c.call("PUT", "/enqueue?iterations=1", b"x" * (MAX_PAYLOAD + 1),
                                     octet)[0], 413)
        unknown = str(uuid.uuid4())
        self.assertEqual(self.complete(unknown, "00")[0], 404)
        self.assertEqual(self.c.call("GET", f"/jobs/{unknown}")[0], 404)
        self.assertEqual(self.c.call("POST", "/renewLease", {"work_id": unknown},
                                     {"X-Worker-Id": "tester"})[0], 404)
        for raw in (b"{", b"[1,", b"not json", b"{}", b'{"work_id": 5}'):
            status, _ = self.c.call("POST", "/completeWork", raw,
                                    {"Content-Type": "application/json", "X-Worker-Id": "t"})
            self.assertEqual(status, 400, raw)
        self.assertEqual(self.c.call("POST", "/renewLease", b"{",
                                     {"Content-Type": "application/json"})[0], 400)
        # Renewing someone else's lease.
        work_id = self.c.enqueue(b"mine", 1)
        self.assertEqual(self.lease("owner")["work_id"], work_id)
        self.assertEqual(self.c.call("POST", "/renewLease", {"work_id": work_id},
                                     {"X-Worker-Id": "thief"})[0], 409)
        self.assertEqual(self.complete(work_id, chained(b"mine", 1), "owner")[0], 200)
        # The CLI: 2 for bad arguments, 1 for failures.
        for args in (("enqueue", "--iterations", "abc", "-"), ("enqueue", "--iterations", "0", "-"),
                     ("enqueue", "--iterations", "1", "--algorithm", "md5", "-"),
                     ("enqueue", "--iterations", "10000001", "-"), ("status", "not-a-uuid"),
                     ("pull", "--top", "0")):
            r = self.c.run_cli(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(b"error:", r.stderr)
        self.assertEqual(self.c.run_cli("status", unknown).returncode, 1)
        r = subprocess.run([RINGKV, "job", "pull", "--router", "http://127.0.0.1:1"],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 1, r.stderr)
        r = subprocess.run([RINGKV, "worker", "--router", "https://x:1"], capture_output=True,
                           timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)


class AutoscalerTest(unittest.TestCase):
    def test_scales_out_when_jobs_wait_and_workers_leave_when_idle(self):
        c = JobsCluster(1)  # a router of its own: GET /workers is its alone
        self.addCleanup(c.close)
        c.router.stop()
        c.processes.remove(c.router)
        run_dir = os.path.join(c.workdir, "run")
        c.router = Router(c.workdir, "--nodes", f"127.0.0.1:{c.nodes[0].http_port}",
                          "--run-dir", run_dir, "--autoscale", "true", "--scale-after-ms", "500",
                          "--max-workers", "2", "--worker-idle-exit", "2s",
                          "--autoscale-interval-ms", "200", name="router-as")
        c.processes.append(c.router)
        c.url = c.router.http
        wait_for(lambda: c.call("GET", "/getQueueLen")[0] == 200, timeout=15, what="job API")
        payloads = [f"scale-{i}".encode() for i in range(6)]
        ids = [c.enqueue(p, 200000) for p in payloads]
        seen = {}

        def workers():
            body = c.call("GET", "/workers")[1]
            for w in body["workers"]:
                seen[w["id"]] = w
            self.assertLessEqual(len(body["workers"]), 2, body)
            return body["workers"]
        wait_for(workers, timeout=10, what="the autoscaler to launch a worker")
        done = c.wait_done(ids, timeout=30)
        for work_id, p in zip(ids, payloads):
            self.assertEqual(done[work_id]["output"], chained(p, 200000))
        # No worker was started here: the autoscaler launched them.
        for w in seen.values():
            self.assertTrue(w["launched_by_autoscaler"], w)
            self.assertRegex(w["id"], r"^worker-\d+$")
        status = c.call("GET", "/workers")[1]["autoscaler"]
        self.assertGreaterEqual(status["launches"], 1, status)
        pids = [w["pid"] for w in seen.values() if w.get("pid")]
        self.assertTrue(pids, seen)
        wait_for(lambda: not workers(), timeout=15, what="idle workers to leave")
        wait_for(lambda: not any(map(pid_running, pids)), timeout=5, what="worker processes to end")


if __name__ == "__main__":
    unittest.main()
