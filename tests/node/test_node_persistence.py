"""The RocksDB engine behind a real `ringkv node`: data and TTLs survive a
restart, and with --fsync always a kill -9 loses no acknowledged write."""
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import redis  # noqa: E402
from harness import ClusterTestCase, metric, wait_for  # noqa: E402


class PersistenceTest(ClusterTestCase):
    def data_dir(self):
        return os.path.join(self.workdir, "data")

    def test_data_and_ttls_survive_restart(self):
        node = self.start_node("--data-dir", self.data_dir(), name="n1")
        r = redis.Redis(port=node.resp_port)
        for i in range(1000):
            r.set(f"k{i}", f"v{i}")
        r.set("ttl", "x", ex=1000)
        r.set("gone", "x", px=200)
        r.incrby("counter", 41)
        node.stop()
        time.sleep(0.3)
        node = self.start_node("--data-dir", self.data_dir(), name="n2")
        r = redis.Redis(port=node.resp_port)
        self.assertEqual(r.get("k999"), b"v999")
        self.assertEqual(r.incr("counter"), 42)
        self.assertGreater(r.ttl("ttl"), 990)
        self.assertIsNone(r.get("gone"))
        self.assertEqual(r.dbsize(), 1002)
        self.assertEqual(len(set(r.scan_iter(count=100))), 1002)

    def kill9_loses_nothing(self, fsync):
        node = self.start_node("--data-dir", self.data_dir(), "--fsync", fsync, name="victim")
        acked = []
        stop = threading.Event()

        def writer():
            r = redis.Redis(port=node.resp_port, socket_timeout=2)
            i = 0
            while not stop.is_set():
                try:
                    r.set(f"key:{i}", f"value:{i}")
                except redis.RedisError:
                    return
                acked.append(i)
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        while len(acked) < 500:
            time.sleep(0.01)
        node.kill9()
        stop.set()
        t.join()
        node = self.start_node("--data-dir", self.data_dir(), name="revived")
        r = redis.Redis(port=node.resp_port)
        pipe = r.pipeline(transaction=False)
        for i in acked:
            pipe.get(f"key:{i}")
        values = pipe.execute()
        missing = [i for i, v in zip(acked, values) if v != f"value:{i}".encode()]
        self.assertEqual(missing, [], f"{len(missing)} acknowledged writes lost of {len(acked)}")

    def test_kill9_with_fsync_always_loses_no_acknowledged_write(self):
        self.kill9_loses_nothing("always")

    def test_kill9_with_fsync_everysec_loses_no_acknowledged_write_of_the_process(self):
        # everysec protects against a process crash (the WAL is written before
        # the reply); only a machine crash can lose the last second.
        self.kill9_loses_nothing("everysec")

    def test_a_full_disk_refuses_writes_keeps_reads_and_writes_resume_when_it_has_room(self):
        # A real full disk: the data directory on a 16 MB tmpfs of its own.
        mount = os.path.join(self.workdir, "disk")
        os.mkdir(mount)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", mount], check=False)
        data = os.path.join(mount, "data")
        # everysec: the WAL syncer runs each second, and must not sync after the failure.
        node = self.start_node("--data-dir", data, "--fsync", "everysec", name="full")
        r = redis.Redis(port=node.resp_port, socket_timeout=5)
        r.set("once", "written once and never again")
        acked = {"once": b"written once and never again"}
        value = b"x" * 50_000
        error = None
        for i in range(2000):
            try:
                r.set(f"big:{i}", value + str(i).encode())
                acked[f"big:{i}"] = value + str(i).encode()
            except redis.ResponseError as e:
                error = str(e)
                break
        self.assertIsNotNone(error, "16 MB took 100 MB of values")
        self.assertIn("No space left on device", error)
        self.assertGreater(len(acked), 20)
        # Writes stay refused with the first error, and a second past the
        # WAL syncer's tick the node still serves every acknowledged key.
        time.sleep(2.5)
        self.assertTrue(node.alive(), node.read_log())
        with self.assertRaises(redis.ResponseError) as refused:
            r.set("small", "v")
        self.assertIn("writes stopped", str(refused.exception))
        self.assertEqual(metric(node, "store_writes_stopped"), 1)
        self.assert_all_read(r, acked)
        self.assertIn("no more writes until RocksDB recovers", node.read_log())
        # Room for a memtable (64 MB) again: RocksDB recovers by itself
        # within seconds, and writes go on without a restart.
        subprocess.run(["mount", "-o", "remount,size=160m", mount], check=True)

        def writes_again():
            try:
                return r.set("after", "room")
            except redis.ResponseError as e:
                self.assertIn("writes stopped", str(e))
                return False
        wait_for(writes_again, timeout=30, what="writes to resume once the disk has room")
        acked["after"] = b"room"
        self.assertEqual(metric(node, "store_writes_stopped"), 0)
        self.assertIn("writes go on", node.read_log())
        for i in range(100):  # and the WAL syncer syncs again, without harm
            r.set(f"more:{i}", "v")
            acked[f"more:{i}"] = b"v"
        time.sleep(1.5)
        self.assertTrue(node.alive(), node.read_log())
        # A restart keeps every acknowledged write, from before and after.
        self.assertEqual(node.stop(), 0, node.read_log())
        node = self.start_node("--data-dir", data, name="restarted")
        self.assert_all_read(redis.Redis(port=node.resp_port), acked)

    def assert_all_read(self, r, acked):
        pipe = r.pipeline(transaction=False)
        for key in acked:
            pipe.get(key)
        got = pipe.execute()
        missing = [k for k, v in zip(acked, got) if v != acked[k]]
        self.assertEqual(missing, [], f"{len(missing)} acknowledged writes unreadable")

    def test_bad_engine_settings_are_rejected(self):
        from harness import RINGKV
        out = subprocess.run([RINGKV, "node", "--data-dir", self.data_dir(), "--fsync", "sometimes"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("fsync: expected always, everysec or no, got 'sometimes'", out.stderr)
        out = subprocess.run([RINGKV, "node", "--max-memory", "lots"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("max_memory", out.stderr)


if __name__ == "__main__":
    unittest.main()
