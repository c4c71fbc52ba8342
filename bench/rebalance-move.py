#!/usr/bin/python3
"""Adding a 4th node to 3 nodes that hold KEYS keys of VALUE bytes: how fast
the keys move, and what clients see meanwhile.

    bench/rebalance-move.py [ringkv binary] [keys] [value bytes]

Defaults: build/cli/ringkv, 1000000 keys, 100 bytes. Starts four `ringkv
node`s and a router over three of them (ports picked at run time), loads the
keys through the router with `redis-cli --pipe`, then POST /add-node moves a
quarter of them to the fourth node while clients read through the router.
Prints keys/s and MB/s moved, the total time of the migration, and client
p50/p99 before and during the copy, for two kinds of client load, each on a
fresh cluster:

  open loop    build/bench/resp_load: GETs at a fixed LOAD_RPS (default
               8000), latency counted from when each request was due, in
               windows of WINDOW_S; it also checks that every GET finds its
               value (nil = a lost key).
  closed loop  redis-benchmark GET with CLIENTS connections (default 8),
               each sending its next request as soon as it has a reply, so
               the cluster runs as fast as the machine allows: on a 2-core
               machine that keeps both cores ~90% busy, and any other work
               (such as the copy) lengthens its queues.
  none         no clients: the copy alone (MODES=none; not in the default).

Each kind runs ROUNDS times (default 3) and the last line gives the medians.
Env: MODES ("open,closed"), ROUNDS, LOAD_RPS, CLIENTS, WINDOW_S (0.5), IO_THREADS
(node RESP threads, 1), RATE (copy limit in keys/s, PUT /migrations/rate;
default 0 = unlimited), RESP_LOAD (path of resp_load), NODE_ARGS and
ROUTER_ARGS (extra flags, e.g. NODE_ARGS="--migration-yield-us 250"
ROUTER_ARGS="--rebalance-parallel-copies 0"), LOAD_CPUS (a CPU list such as
"0": run the client load generators there, with taskset; default: any
CPU). Windows are classified
by wall-clock overlap with the copy phase (copy_started_ms..copy_finished_ms
of the migration record).
"""
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
os.environ.setdefault("RINGKV_BIN", sys.argv[1] if len(sys.argv) > 1 else "build/cli/ringkv")
import harness  # noqa: E402

KEYS = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
VALUE = int(sys.argv[3]) if len(sys.argv) > 3 else 100
MODES = os.environ.get("MODES", "open,closed").split(",")
LOAD_RPS = int(os.environ.get("LOAD_RPS", "8000"))
CLIENTS = int(os.environ.get("CLIENTS", "8"))
WINDOW_S = float(os.environ.get("WINDOW_S", "0.5"))
IO_THREADS = os.environ.get("IO_THREADS", "1")
RATE = int(os.environ.get("RATE", "0"))
RESP_LOAD = os.environ.get("RESP_LOAD", os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(os.environ["RINGKV_BIN"]))), "bench",
    "resp_load"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
# Clients of a real cluster run on other machines. On one machine, LOAD_CPUS
# keeps the load generators off the CPUs given to the copy (background_cpus).
LOAD_CPUS = os.environ.get("LOAD_CPUS", "")
PIN = ["taskset", "-c", LOAD_CPUS] if LOAD_CPUS else []
IDLE_S = 4.0  # open loop: load before the POST
SETTLE_S = 5.0  # after loading: the kernel's work on the fresh heap settles


def api(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def load(port):
    """KEYS SETs of key:%012d through the router, as raw RESP into redis-cli --pipe."""
    value = b"v" * VALUE
    buf = io.BytesIO()
    for i in range(KEYS):
        k = b"key:%012d" % i
        buf.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(value), value))
    out = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=buf.getvalue(),
                         capture_output=True, check=True).stdout.decode()
    if "errors: 0" not in out:
        raise SystemExit(f"loading failed: {out}")


def window(port, requests):
    """One redis-benchmark GET run; (rps, p50 ms, p99 ms, start ms, end ms)."""
    t0 = time.time() * 1000
    out = subprocess.run(
        [*PIN, "redis-benchmark", "-p", str(port), "-t", "get", "-c", str(CLIENTS), "-n", str(requests),
         "-r", str(KEYS), "--csv", "--precision", "3"],
        capture_output=True, check=True, text=True).stdout
    rows = [r for r in csv.reader(io.StringIO(out)) if r and r[0] == "GET"]
    if not rows:
        raise SystemExit(f"redis-benchmark printed no GET line: {out}")
    r = rows[0]
    return float(r[1]), float(r[4]), float(r[6]), t0, time.time() * 1000


class Cluster:
    """Four nodes and a router over three of them, loaded with KEYS keys."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="ringkv-move-")
        self.procs = []
        self.nodes = [harness.Node(self.work, "--id", f"n{i}", "--io-threads", IO_THREADS,
                                   *os.environ.get("NODE_ARGS", "").split(), name=f"node{i}")
                      for i in range(4)]
        self.procs += self.nodes
        self.addrs = [f"127.0.0.1:{n.http_port}" for n in self.nodes]
        self.router = harness.Router(self.work, "--nodes", ",".join(self.addrs[:3]),
                                     "--log-level", "warn",
                                     *os.environ.get("ROUTER_ARGS", "").split())
        self.procs.append(self.router)
        self.base = self.router.http
        t0 = time.monotonic()
        load(self.router.resp_port)
        print(f"loaded {KEYS} keys of {VALUE} B in {time.monotonic() - t0:.1f} s")
        api(self.base, "PUT", "/migrations/rate", {"max_keys_per_sec": RATE})
        time.sleep(SETTLE_S)

    def add_node(self):
        """POST /add-node of the 4th node; returns the seconds until it was done."""
        started = time.monotonic()
        api(self.base, "POST", "/add-node", {"value": self.addrs[3]})
        while api(self.base, "GET", "/migrations").get("current") is not None:
            time.sleep(0.05)
        return time.monotonic() - started

    def last_migration(self):
        last = api(self.base, "GET", "/migrations")["history"][-1]
        if last["state"] != "done":
            raise SystemExit(f"migration ended {last['state']}: {last}")
        return last

    def stop(self):
        for p in reversed(self.procs):
            p.stop()
        subprocess.run(["rm", "-rf", self.work])


def report_move(last, total_s):
    copy_s = last["copy_seconds"]
    keys, nbytes = last["keys_moved"], last["bytes_moved"]
    print(f"  migration {last['id']}: {keys} keys, {nbytes / 1e6:.1f} MB moved "
          f"({keys / KEYS:.3f} of the keys; ideal 1/4 = 0.250); copy limit: "
          f"{RATE or 'none'} keys/s")
    print(f"  copy phase {copy_s:.2f} s -> {keys / copy_s:,.0f} keys/s, "
          f"{nbytes / 1e6 / copy_s:.1f} MB/s; POST to done {total_s:.2f} s "
          f"(keys/s goal >= 300,000: {'met' if keys / copy_s >= 300000 else 'NOT met'})")
    return keys / copy_s


def overlaps(w, last):
    return w["start_ms"] < last["copy_finished_ms"] and w["end_ms"] > last["copy_started_ms"]


def med(values):
    return statistics.median(values) if values else float("nan")


def open_loop():
    """resp_load at LOAD_RPS from IDLE_S before the POST until after the move."""
    print(f"open loop: GET at {LOAD_RPS:,} requests/s (resp_load, 8 connections), "
          f"windows of {WINDOW_S} s")
    c = Cluster()
    try:
        seconds = IDLE_S + 30
        loader = subprocess.Popen(
            [*PIN, RESP_LOAD, str(c.router.resp_port), str(LOAD_RPS), str(seconds), "8", str(KEYS),
             str(int(WINDOW_S * 1000))], stdout=subprocess.PIPE, text=True)
        time.sleep(IDLE_S + 0.05)
        post_ms = time.time() * 1000
        total_s = c.add_node()
        last = c.last_migration()
        out, _ = loader.communicate()
        lines = [json.loads(x) for x in out.splitlines() if x.strip()]
        summary = lines[-1]
        windows = [w for w in lines[:-1] if w["requests"] > 0]
        if os.environ.get("VERBOSE"):
            for w in windows:
                print(f"      {w['start_ms'] - post_ms:+8.0f} ms  n {w['requests']:5d}  p50 "
                      f"{w['p50_us']:6d} us  p99 {w['p99_us']:6d} us  max {w['max_us']:6d} us")
            print(f"      copy {last['copy_started_ms'] - post_ms:+.0f}..."
                  f"{last['copy_finished_ms'] - post_ms:+.0f} ms")
        idle = [w for w in windows if w["end_ms"] <= post_ms and w["start_ms"] >= 0]
        idle = idle[1:]  # the first window includes connecting
        during = [w for w in windows if overlaps(w, last)]
        after = [w for w in windows if w["start_ms"] >= last["copy_finished_ms"]]
        rate = report_move(last, total_s)
        idle_p99 = med([w["p99_us"] for w in idle]) / 1000
        print(f"    idle:    p50 {med([w['p50_us'] for w in idle]) / 1000:.3f} ms  "
              f"p99 {idle_p99:.3f} ms  ({len(idle)} windows)")
        ratio = float("nan")
        if during:
            p99 = med([w["p99_us"] for w in during]) / 1000
            worst = max(w["p99_us"] for w in during) / 1000
            ratio = p99 / idle_p99
            print(f"    copying: p50 {med([w['p50_us'] for w in during]) / 1000:.3f} ms  "
                  f"p99 {p99:.3f} ms (median of {len(during)} windows overlapping the copy; "
                  f"worst {worst:.3f})")
            print(f"    p99 copying / idle = {ratio:.2f} median, {worst / idle_p99:.2f} worst "
                  f"window (goal <= 2.0: {'met' if ratio <= 2.0 else 'NOT met'})")
        if after:
            print(f"    after the copy (switch, cleaning, done): p99 "
                  f"{med([w['p99_us'] for w in after]) / 1000:.3f} ms ({len(after)} windows)")
        print(f"    requests {summary['total']:,}, nil {summary['nil']}, errors "
              f"{summary['errors']}, sent late {summary['late']}")
        if summary["nil"] or summary["errors"]:
            raise SystemExit("clients saw lost keys or errors")
        return rate, ratio
    finally:
        c.stop()


def closed_loop():
    """redis-benchmark windows back to back, before and during the move."""
    print(f"closed loop: redis-benchmark GET, {CLIENTS} connections, windows of {WINDOW_S} s")
    c = Cluster()
    try:
        rps = window(c.router.resp_port, 20000)[0]  # warm-up and sizing
        per_window = max(2000, int(rps * WINDOW_S))
        idle = [window(c.router.resp_port, per_window) for _ in range(6)]
        started = time.monotonic()
        api(c.base, "POST", "/add-node", {"value": c.addrs[3]})
        windows = []
        while api(c.base, "GET", "/migrations").get("current") is not None:
            windows.append(window(c.router.resp_port, per_window))
        total_s = time.monotonic() - started
        last = c.last_migration()
        c0, c1 = last["copy_started_ms"], last["copy_finished_ms"]
        during = [w for w in windows if w[3] < c1 and w[4] > c0]
        others = [w for w in windows if not (w[3] < c1 and w[4] > c0)]
        after = [window(c.router.resp_port, per_window) for _ in range(3)]

        def m(ws, i):
            return med([w[i] for w in ws])

        rate = report_move(last, total_s)
        print(f"    idle:    rps {m(idle, 0):,.0f}  p50 {m(idle, 1):.3f} ms  "
              f"p99 {m(idle, 2):.3f} ms  ({len(idle)} windows)")
        ratio = float("nan")
        if during:
            worst = max(w[2] for w in during)
            ratio = m(during, 2) / m(idle, 2)
            print(f"    copying: rps {m(during, 0):,.0f}  p50 {m(during, 1):.3f} ms  "
                  f"p99 {m(during, 2):.3f} ms (median of {len(during)} windows overlapping "
                  f"the copy; worst {worst:.3f})")
            print(f"    p99 copying / idle = {ratio:.2f} median, {worst / m(idle, 2):.2f} worst "
                  f"window (goal <= 2.0: {'met' if ratio <= 2.0 else 'NOT met'})")
        if others:
            print(f"    rest of the migration (grace, switch, cleaning): p99 "
                  f"{m(others, 2):.3f} ms ({len(others)} windows)")
        print(f"    after:   rps {m(after, 0):,.0f}  p99 {m(after, 2):.3f} ms")
        return rate, ratio
    finally:
        c.stop()


def no_load():
    """The move alone: no client load."""
    print("no client load")
    c = Cluster()
    try:
        total_s = c.add_node()
        return report_move(c.last_migration(), total_s), float("nan")
    finally:
        c.stop()


def main():
    if LOAD_CPUS:
        print(f"client load pinned to CPUs {LOAD_CPUS}")
    if "open" in MODES and not os.access(RESP_LOAD, os.X_OK):
        raise SystemExit(f"{RESP_LOAD} not found: build the resp_load target "
                         f"(or set RESP_LOAD)")
    for mode in MODES:
        results = []
        for r in range(ROUNDS):
            print(f"--- round {r + 1} of {ROUNDS}")
            results.append({"open": open_loop, "closed": closed_loop, "none": no_load}[mode]())
        rates = [x[0] for x in results]
        ratios = [x[1] for x in results]
        line = (f"== {mode}, {ROUNDS} rounds: copy keys/s median {med(rates):,.0f} "
                f"(each: {', '.join(f'{x:,.0f}' for x in rates)})")
        if mode != "none":
            line += (f"; p99 copying/idle median {med(ratios):.2f} "
                     f"(each: {', '.join(f'{x:.2f}' for x in ratios)})")
        print(line)


if __name__ == "__main__":
    main()
