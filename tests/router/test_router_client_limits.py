"""The router's RESP proxy under a client that pipelines 10k GETs of a 1 MB
value and never reads: the client is cut at client-output-buffer-limit and
the router's memory (VmRSS) stays under the limit plus slack."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import redis  # noqa: E402
from abuse import is_cut, metric, resp, rss_bytes, silent_client  # noqa: E402
from harness import ClusterTestCase, wait_for  # noqa: E402

MB = 1 << 20
VALUE = b"v" * MB


class RouterOutputLimitTest(ClusterTestCase):
    def start(self, *limits):
        node = self.start_node("--id", "n0", name="node0")
        router = self.start_router("--nodes", f"127.0.0.1:{node.http_port}", *limits)
        # Long timeout: after the cut, the back end still streams the replies
        # the silent client asked for, and the router drops them.
        c = redis.Redis(port=router.resp_port, socket_timeout=60)
        self.addCleanup(c.close)
        c.set("big", VALUE)
        return router, c

    def flood(self, router, c, limit_bytes):
        base = rss_bytes(router.proc.pid)
        sock = silent_client(router.resp_port, resp("GET", "big") * 10000)
        self.addCleanup(sock.close)
        peak = [base]

        def cut():
            peak[0] = max(peak[0], rss_bytes(router.proc.pid))
            return metric(router.http, "ringkv_router_client_output_limit_disconnects_total") >= 1

        wait_for(cut, timeout=20, what="the silent client to be cut")
        self.assertTrue(wait_for(lambda: is_cut(sock), timeout=10, what="the socket to close"))
        grown = peak[0] - base
        print(f"\n  router RSS {base >> 20} MB before, peak +{grown >> 20} MB", file=sys.stderr)
        # The reply buffer grows by doubling (old and new alive for a moment),
        # plus the back-end connection's buffer and allocator slack.
        self.assertLess(grown, 2 * limit_bytes + 32 * MB, f"RSS grew {grown >> 20} MB")
        self.assertEqual(c.get("big"), VALUE)

    def test_soft_limit_cuts_a_silent_client(self):
        # The proxy forwards the whole batch at once: replies arrive faster
        # than a pause could stop them, so the hard limit bounds the memory.
        router, c = self.start("--client-output-buffer-limit", "normal 32mb 2mb 1")
        self.flood(router, c, 32 * MB)

    def test_hard_limit_cuts_a_silent_client(self):
        router, c = self.start("--client-output-pause", "0",
                               "--client-output-buffer-limit", "normal 16mb 0 0")
        self.flood(router, c, 16 * MB)


if __name__ == "__main__":
    unittest.main()
