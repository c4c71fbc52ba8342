"""The peer link: a node forwards commands to the owner of their keys over one
pipelined connection per pair of nodes (docs/dht.md, "The peer link").

Real `ringkv node`s (and a router where the map must change) on 127.0.0.1
with ports picked at run time:
  - fifty clients pipelining through one non-owner share one link, and every
    reply is the one its command asked for;
  - an owner killed with SIGKILL under load: requests fail with -TRYAGAIN
    within the peer timeout, nothing hangs, and once the owner is back the
    link reconnects; a command that timed out on a stopped owner does not
    run when it wakes up;
  - a full window and queue refuse further requests at once with a clear
    -TRYAGAIN, and an owner that hangs fails what the link holds after the
    peer timeout;
  - map epochs checked per batch: a receiver with an older map fetches the
    sender's; a receiver with a newer one answers -MOVED with its map and
    the sender places the keys again; a map change while clients run
    through a non-owner loses nothing, and a client's pipelined commands on
    one key keep their order while an owner defers one of them.
"""
import json
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import grpc  # noqa: E402
import redis  # noqa: E402
import grpc_pb  # noqa: E402
from checker import Checker  # noqa: E402
from harness import (ClusterTestCase, RingkvProcess, connections_to, http_json,  # noqa: E402
                     metric, wait_for)

CLIENTS = 50


def sigstop(proc):
    """Stops `proc` and waits until every thread of it is stopped (a thread
    may still run for a moment after kill() returns)."""
    proc.send_signal(signal.SIGSTOP)
    task_dir = f"/proc/{proc.pid}/task"

    def stopped():
        for tid in os.listdir(task_dir):
            try:
                with open(f"{task_dir}/{tid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state not in ("T", "t"):
                return False
        return True
    wait_for(stopped, timeout=10, what="the process to stop")


class NodeOnPorts(RingkvProcess):
    """A `ringkv node` restarted on the ports a previous one had."""

    def __init__(self, workdir, node_id, resp_port, http_port, grpc_port):
        super().__init__(workdir, f"{node_id}-again", "node",
                         ["--id", node_id, "--resp-port", str(resp_port), "--http-port",
                          str(http_port), "--grpc-port", str(grpc_port), "--log-level", "warn"],
                         timeout=20)
        self.id = node_id
        self.resp_port, self.http_port, self.grpc_port = resp_port, http_port, grpc_port


class PeerLinkTestCase(ClusterTestCase):
    def node_map(self, epoch, nodes, leaving=()):
        """A cluster map of `nodes` (ringkv nodes), as the router would push it."""
        return json.dumps({
            "epoch": epoch, "vnodes": 16, "hash": "xxh3", "replication": 1,
            "nodes": [{"id": n.id, "addr": f"127.0.0.1:{n.resp_port}",
                       "http_addr": f"127.0.0.1:{n.http_port}",
                       "grpc_addr": f"127.0.0.1:{n.grpc_port}", "kind": "ringkv", "weight": 1,
                       "state": "leaving" if n.id in leaving else "active"} for n in nodes]})

    def set_map(self, node, map_json):
        pb = grpc_pb.load("ringkv/v1/peer.proto")
        ch = grpc.insecure_channel(f"127.0.0.1:{node.grpc_port}")
        try:
            call = grpc_pb.unary(ch, "/ringkv.v1.Peer/SetMap", pb.SetMapRequest, pb.SetMapReply)
            return call(pb.SetMapRequest(map_json=map_json), timeout=5).epoch
        finally:
            ch.close()

    def epoch(self, node):
        return http_json("GET", f"{node.http}/neighbors")[1]["epoch"]

    def two_nodes(self, *sender_flags, epoch=5):
        """n0 (the owner of the keys used) and n1 (the sender), sharing a map."""
        self.n0 = self.start_node("--id", "n0", name="node0")
        self.n1 = self.start_node("--id", "n1", *sender_flags, name="node1")
        m = self.node_map(epoch, [self.n0, self.n1])
        for n in (self.n0, self.n1):
            self.assertEqual(self.set_map(n, m), epoch)

    def keys_owned_by_n0(self, count, prefix="k"):
        """Keys n0 owns: written through n1, then found on n0 (SCAN is never forwarded)."""
        c = redis.Redis(port=self.n1.resp_port)
        candidates = [f"{prefix}:{i}" for i in range(count * 4)]
        # One at a time: a pipeline would run into a test's small link
        # window and queue, which refuse what does not fit (-TRYAGAIN).
        for k in candidates:
            self.assertTrue(c.set(k, f"v-{k}"))
        held = {k.decode() for k in redis.Redis(port=self.n0.resp_port).scan_iter(count=1000)}
        keys = [k for k in candidates if k in held][:count]
        self.assertEqual(len(keys), count)
        return keys


class ManyClientsTest(PeerLinkTestCase):
    def test_fifty_pipelining_clients_share_one_link_and_every_reply_matches(self):
        nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(3)]
        m = self.node_map(3, nodes)
        for n in nodes:
            self.set_map(n, m)
        self.n0, self.n1 = nodes[0], nodes[1]
        keys = self.keys_owned_by_n0(CLIENTS * 8)
        before = metric(self.n1, "forwarded_total")
        errors = []

        def client(t):
            c = redis.Redis(port=self.n1.resp_port, socket_timeout=30)
            mine = keys[t * 8:(t + 1) * 8]
            try:
                for rnd in range(6):
                    pipe = c.pipeline(transaction=False)
                    for k in mine:
                        pipe.set(k, f"{k}/{t}/{rnd}")
                        pipe.get(k)
                    pipe.incr(f"ctr:{t}")
                    pipe.append(mine[0], "+")
                    got = pipe.execute(raise_on_error=False)
                    want = []
                    for k in mine:
                        want += [True, f"{k}/{t}/{rnd}".encode()]
                    want += [rnd + 1, len(f"{mine[0]}/{t}/{rnd}+")]
                    if got != want:
                        errors.append((t, rnd, got, want))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append((t, repr(e)))
            finally:
                c.close()

        threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(CLIENTS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        self.assertEqual(errors[:3], [], f"{len(errors)} clients saw a wrong reply")
        # Every write landed on the owner.
        owner = redis.Redis(port=self.n0.resp_port)
        for t in range(CLIENTS):
            k = keys[t * 8 + 1]
            self.assertEqual(owner.get(k), f"{k}/{t}/5".encode())
        self.assertGreaterEqual(metric(self.n1, "forwarded_total") - before,
                                CLIENTS * 6 * 17 // 2)
        # One link carried it all: n1 holds one connection to n0's link listener.
        self.assertEqual(connections_to(self.n0.info["link_port"]), 1)


class OwnerFailureTest(PeerLinkTestCase):
    def test_an_owner_killed_under_load_fails_fast_and_the_link_comes_back(self):
        timeout_ms = 1500
        self.two_nodes("--peer-timeout-ms", str(timeout_ms))
        keys = self.keys_owned_by_n0(40)
        stop = threading.Event()
        results = []  # (seconds, outcome)
        lock = threading.Lock()

        def client(t):
            c = redis.Redis(port=self.n1.resp_port, socket_timeout=30)
            i = 0
            while not stop.is_set():
                k = keys[(t * 7 + i) % len(keys)]
                i += 1
                start = time.monotonic()
                try:
                    outcome = "ok" if c.set(k, f"x{i}") else "nil"
                except redis.ResponseError as e:
                    outcome = str(e)
                except redis.RedisError as e:
                    outcome = "client: " + repr(e)
                with lock:
                    results.append((time.monotonic() - start, outcome))
                if outcome != "ok":
                    time.sleep(0.005)  # a client backs off a little, as clients do

        threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(8)]
        self.addCleanup(stop.set)  # a failed step must not leave the clients running
        for th in threads:
            th.start()
        wait_for(lambda: sum(1 for _, o in results if o == "ok") > 200, timeout=30,
                 what="forwarded writes")
        grpc_port, resp_port, http_port = self.n0.grpc_port, self.n0.resp_port, self.n0.http_port
        self.n0.kill9()
        killed = len(results)
        wait_for(lambda: sum(1 for _, o in results[killed:] if o != "ok") > 50, timeout=30,
                 what="requests failing after the owner died")
        # The owner comes back on the same ports (a new link listener and token).
        self.n0 = NodeOnPorts(self.workdir, "n0", resp_port, http_port, grpc_port)
        self.processes.append(self.n0)
        self.set_map(self.n0, self.node_map(5, [self.n0, self.n1]))
        back = len(results)
        wait_for(lambda: sum(1 for _, o in results[back:] if o == "ok") > 100, timeout=30,
                 what="forwarding to work again after the owner restarted")
        stop.set()
        for th in threads:
            th.join(30)
        failed = [(s, o) for s, o in results if o != "ok"]
        self.assertGreater(len(failed), 0)
        for s, o in failed:
            self.assertTrue(o.startswith("TRYAGAIN forward to node n0 at "), o)
            self.assertLess(s, timeout_ms / 1000 + 1.0, o)  # within the peer timeout
        slowest = max(s for s, _ in results)
        self.assertLess(slowest, timeout_ms / 1000 + 3.0)  # nothing hangs
        # The restarted owner holds what was written after it came back.
        self.assertGreater(len(redis.Redis(port=self.n0.resp_port).keys("k:*")), 0)


    def test_a_command_that_timed_out_does_not_run_when_the_owner_wakes_up(self):
        timeout_ms = 1000
        self.two_nodes("--peer-timeout-ms", str(timeout_ms))
        key = self.keys_owned_by_n0(1)[0]
        c = redis.Redis(port=self.n1.resp_port, socket_timeout=30)
        self.assertTrue(c.set(key, 10))
        sigstop(self.n0.proc)
        try:
            with self.assertRaises(redis.ResponseError) as e:
                c.incr(key)  # sent, then waits in n0's socket
            self.assertTrue(str(e.exception).startswith("TRYAGAIN forward to node n0 at "),
                            str(e.exception))
            time.sleep(timeout_ms / 1000)  # past the batch's deadline
        finally:
            self.n0.proc.send_signal(signal.SIGCONT)

        def value():
            try:
                return c.get(key)
            except redis.ResponseError:
                return None
        self.assertEqual(wait_for(value, timeout=20, what="forwarding after the owner woke up"),
                         b"10")  # the INCR the client was told failed never ran
        self.assertEqual(redis.Redis(port=self.n0.resp_port).get(key), b"10")


class WindowTest(PeerLinkTestCase):
    def test_a_full_window_and_queue_refuse_at_once_and_a_hung_owner_times_out(self):
        timeout_ms = 3000
        self.two_nodes("--peer-link-window", "1", "--peer-link-queue", "2",
                       "--peer-timeout-ms", str(timeout_ms))
        keys = self.keys_owned_by_n0(10)
        self.assertEqual(redis.Redis(port=self.n1.resp_port).get(keys[0]), f"v-{keys[0]}".encode())
        sigstop(self.n0.proc)
        try:
            results = [None] * 10

            def client(i):
                c = redis.Redis(port=self.n1.resp_port, socket_timeout=30)
                start = time.monotonic()
                try:
                    c.get(keys[i])
                    results[i] = (time.monotonic() - start, "ok")
                except redis.RedisError as e:
                    results[i] = (time.monotonic() - start, str(e))

            threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(10)]
            for th in threads:
                th.start()
            for th in threads:
                th.join(30)
        finally:
            self.n0.proc.send_signal(signal.SIGCONT)
        full = [(s, o) for s, o in results if "is full" in o]
        timed_out = [(s, o) for s, o in results if "no reply within" in o]
        # window 1 + queue 2 wait; the other 7 are refused at once.
        self.assertEqual(len(full), 7, results)
        self.assertEqual(len(timed_out), 3, results)
        for s, o in full:
            self.assertTrue(o.startswith("TRYAGAIN forward to node n0 at "), o)
            self.assertIn("peer_link_queue", o)
            self.assertLess(s, timeout_ms / 1000 / 2, o)
        for s, o in timed_out:
            self.assertTrue(o.startswith("TRYAGAIN forward to node n0 at "), o)
            self.assertGreater(s, timeout_ms / 1000 * 0.8, o)
            self.assertLess(s, timeout_ms / 1000 + 1.5, o)
        # The owner runs again: the link is dialled again and forwards flow.
        c = redis.Redis(port=self.n1.resp_port)

        def works():
            try:
                return c.get(keys[1]) == f"v-{keys[1]}".encode()
            except redis.ResponseError:
                return False
        wait_for(works, timeout=20, what="forwarding after the owner resumed")


class EpochTest(PeerLinkTestCase):
    def test_a_receiver_with_an_older_map_fetches_the_senders_first(self):
        self.two_nodes(epoch=5)
        keys = self.keys_owned_by_n0(3)
        self.assertEqual(self.set_map(self.n1, self.node_map(6, [self.n0, self.n1])), 6)
        self.assertEqual(self.epoch(self.n0), 5)
        c = redis.Redis(port=self.n1.resp_port)
        self.assertEqual(c.get(keys[0]), f"v-{keys[0]}".encode())
        self.assertEqual(self.epoch(self.n0), 6)
        self.assertEqual(metric(self.n0, "map_refreshes_total"), 1)
        self.assertEqual(c.get(keys[1]), f"v-{keys[1]}".encode())
        self.assertEqual(metric(self.n0, "map_refreshes_total"), 1)

    def test_a_receiver_with_a_newer_map_answers_moved_and_the_sender_places_again(self):
        self.two_nodes(epoch=5)
        keys = self.keys_owned_by_n0(3)
        # Epoch 6, known to n0 alone: n0 is leaving, so n1 owns every key.
        self.assertEqual(self.set_map(self.n0, self.node_map(6, [self.n0, self.n1],
                                                             leaving={"n0"})), 6)
        c = redis.Redis(port=self.n1.resp_port)
        retries = metric(self.n1, "forward_retries_total")
        self.assertIsNone(c.get(keys[0]))  # n1 placed it again: its own, and it holds none
        self.assertEqual(self.epoch(self.n1), 6)
        self.assertEqual(metric(self.n1, "forward_retries_total"), retries + 1)
        self.assertTrue(c.set(keys[0], "on-n1"))
        self.assertEqual(c.keys(keys[0]), [keys[0].encode()])  # written on n1 itself (KEYS is local)
        # n0 forwards to n1 now; its own old copy was not touched.
        self.assertEqual(redis.Redis(port=self.n0.resp_port).get(keys[0]), b"on-n1")

    def add_n3_and_wait(self, router):
        """Adds a node n3 through the router; returns the migration's record once done."""
        n3 = self.start_node("--id", "n3", name="node3")
        status, body = http_json("POST", f"{router.http}/add-node",
                                 {"value": f"127.0.0.1:{n3.http_port}"})
        self.assertEqual(status, 200, body)

        def done():
            m = http_json("GET", f"{router.http}/migrations")[1]
            hist = m.get("history") or []
            return m.get("current") is None and hist and hist[-1]
        return wait_for(done, timeout=120, what="the migration to n3")

    def test_pipelined_commands_on_a_key_keep_their_order_while_keys_move(self):
        # While keys move, an owner defers a command that calls the other
        # owner of its key (write-through, pull on a miss); the commands
        # behind it on the same key wait for it, the others do not. The
        # client's node owns none of the keys checked, before or after, so
        # every command on them goes over a link.
        nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(3)]
        router = self.start_router("--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in nodes))
        wait_for(lambda: all(http_json("GET", f"{n.http}/neighbors")[1]["nodes"] == 3
                             for n in nodes), timeout=30, what="maps")
        client_node = nodes[1]
        me = f"127.0.0.1:{client_node.resp_port}"

        def owner(k):
            status, data = http_json("POST", f"{router.http}/get-node", {"value": k})
            self.assertEqual(status, 200, data)
            return data["node"]
        keys = [k for k in (f"ord:{i}" for i in range(200)) if owner(k) != me][:64]
        stop = threading.Event()
        bad, rounds = {}, [0]

        def client(t):
            c = redis.Redis(port=client_node.resp_port, socket_timeout=30)
            mine = keys[t * 8:(t + 1) * 8]
            i = 0
            while not stop.is_set():
                i += 1
                pipe = c.pipeline(transaction=False)
                for k in mine:
                    pipe.set(k, f"{i}")
                    pipe.append(k, "+")
                    pipe.get(k)
                got = pipe.execute(raise_on_error=False)
                for j, k in enumerate(mine):
                    if got[3 * j:3 * j + 3] != [True, len(f"{i}+"), f"{i}+".encode()]:
                        bad.setdefault(k, (i, got[3 * j:3 * j + 3]))
                rounds[0] += 1

        threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(8)]
        for th in threads:
            th.start()
        wait_for(lambda: rounds[0] > 50, timeout=30, what="pipelines")
        last = self.add_n3_and_wait(router)
        stop.set()
        for th in threads:
            th.join(60)
        self.assertEqual(last["state"], "done", last)
        checked = [k for k in keys if owner(k) != me]  # never the client node's
        self.assertGreater(len(checked), 30)
        wrong = {k: v for k, v in bad.items() if k in checked}
        self.assertEqual(wrong, {}, f"{len(wrong)} keys saw their commands out of order")
        self.assertGreater(rounds[0], 100)

    def test_a_map_change_while_clients_run_through_a_non_owner_loses_nothing(self):
        nodes = [self.start_node("--id", f"n{i}", name=f"node{i}") for i in range(3)]
        router = self.start_router("--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in nodes))
        wait_for(lambda: all(http_json("GET", f"{n.http}/neighbors")[1]["nodes"] == 3
                             for n in nodes), timeout=30, what="maps")
        checker = Checker(nodes[1].resp_port, keys_per_thread=300, threads=6, prefix="epoch")
        checker.preload()
        checker.start()
        time.sleep(0.5)
        last = self.add_n3_and_wait(router)
        self.assertEqual(last["state"], "done", last)
        time.sleep(0.5)
        checker.stop()
        self.assertEqual(checker.failures[:10], [], f"{len(checker.failures)} failed requests")
        self.assertEqual(checker.stale[:10], [], f"{len(checker.stale)} stale reads")
        self.assertGreater(checker.acked_writes, 0)
        self.assertEqual(checker.verify(), [])
        self.assertGreater(self.epoch(nodes[1]), 1)
        self.assertGreater(metric(nodes[1], "forwarded_total"), 100)


if __name__ == "__main__":
    unittest.main()
