"""`ringkv cluster up --replication N [--write-consistency C] [--read-consistency C]`:
the settings reach the router's new cluster map; what the router would refuse
(redis-servers with replicas, more replicas than nodes, unknown levels) is
refused before anything starts. Real processes through the local provider."""
import json
import os
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from harness import RINGKV, ClusterCliTestCase  # noqa: E402


class ClusterUpReplicationTest(ClusterCliTestCase):
    def test_up_passes_replication_and_consistency_to_the_router(self):
        out = self.cli("up", "--nodes", "3", "--replication", "3", "--write-consistency", "all",
                       "--read-consistency", "one", "--timeout-ms", "60000").stdout
        self.assertIn("3 replicas of each key", out)
        status = json.loads(self.cli("status", "--json").stdout)
        with urllib.request.urlopen(f"http://{status['router']['http']}/nodes", timeout=10) as r:
            m = json.loads(r.read())
        self.assertEqual(m["replication"], 3)
        self.assertEqual((m["write_consistency"], m["read_consistency"]), ("all", "one"))
        with urllib.request.urlopen(urllib.request.Request(
                f"http://{status['router']['http']}/get-node", data=b'{"value": "k"}',
                method="POST"), timeout=10) as r:
            self.assertEqual(len(json.loads(r.read())["replicas"]), 3)

    def test_up_refuses_what_the_router_would_refuse(self):
        for args, words in ((["--backend", "redis", "--replication", "2"], "redis"),
                            (["--nodes", "2", "--replication", "3"], "at least 3 nodes"),
                            (["--replication", "6"], "[1, 5]"),
                            (["--read-consistency", "most"], "--read-consistency")):
            p = self.cli("up", *args, check=False)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(words, p.stderr, args)
            self.assertFalse(os.path.exists(os.path.join(self.run_dir, "router.log")), args)

    def test_help_explains_the_flags(self):
        out = subprocess.run([RINGKV, "cluster", "up", "--help"], capture_output=True, text=True,
                             timeout=30).stdout
        for flag in ("--replication", "--write-consistency", "--read-consistency"):
            self.assertIn(flag, out)
        self.assertIn("quorum", out)


if __name__ == "__main__":
    unittest.main()
