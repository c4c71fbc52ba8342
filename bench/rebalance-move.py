#!/usr/bin/python3
"""Adding a 4th node to 3 nodes that hold KEYS keys of VALUE bytes: how fast
the keys move, and what clients see meanwhile.

    bench/rebalance-move.py [ringkv binary] [keys] [value bytes]

Defaults: build/cli/ringkv, 1000000 keys, 100 bytes. Starts four `ringkv
node`s and a router over three of them (ports picked at run time), loads the
keys through the router with `redis-cli --pipe`, then measures client
latency with redis-benchmark (GET over the loaded keys, CLIENTS connections,
windows of WINDOW_S seconds): first with the cluster idle, then while
POST /add-node moves keys to the fourth node. Prints keys/s and MB/s moved,
the total time of the migration, and p50/p99 before and during the move.
Env: CLIENTS (default 8), WINDOW_S (0.5), IO_THREADS (node RESP threads, 1),
RATE (copy limit in keys/s, PUT /migrations/rate; default 0 = unlimited).
Windows are classified by wall-clock overlap with the copy phase
(copy_started_ms..copy_finished_ms of the migration record).
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
CLIENTS = int(os.environ.get("CLIENTS", "8"))
WINDOW_S = float(os.environ.get("WINDOW_S", "0.5"))
IO_THREADS = os.environ.get("IO_THREADS", "1")
RATE = int(os.environ.get("RATE", "0"))


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
        ["redis-benchmark", "-p", str(port), "-t", "get", "-c", str(CLIENTS), "-n", str(requests),
         "-r", str(KEYS), "--csv", "--precision", "3"],
        capture_output=True, check=True, text=True).stdout
    rows = [r for r in csv.reader(io.StringIO(out)) if r and r[0] == "GET"]
    if not rows:
        raise SystemExit(f"redis-benchmark printed no GET line: {out}")
    r = rows[0]
    return float(r[1]), float(r[4]), float(r[6]), t0, time.time() * 1000


def main():
    work = tempfile.mkdtemp(prefix="ringkv-move-")
    procs = []
    try:
        nodes = [harness.Node(work, "--id", f"n{i}", "--io-threads", IO_THREADS,
                              name=f"node{i}") for i in range(4)]
        procs += nodes
        addrs = [f"127.0.0.1:{n.http_port}" for n in nodes]
        router = harness.Router(work, "--nodes", ",".join(addrs[:3]), "--log-level", "warn")
        procs.append(router)
        base = router.http
        t0 = time.monotonic()
        load(router.resp_port)
        print(f"loaded {KEYS} keys of {VALUE} B in {time.monotonic() - t0:.1f} s")

        rps = window(router.resp_port, 20000)[0]  # warm-up and sizing
        per_window = max(2000, int(rps * WINDOW_S))
        idle = [window(router.resp_port, per_window) for _ in range(6)]

        api(base, "PUT", "/migrations/rate", {"max_keys_per_sec": RATE})
        started = time.monotonic()
        api(base, "POST", "/add-node", {"value": addrs[3]})
        windows = []
        while api(base, "GET", "/migrations").get("current") is not None:
            windows.append(window(router.resp_port, per_window))
        total_s = time.monotonic() - started
        last = api(base, "GET", "/migrations")["history"][-1]
        if last["state"] != "done":
            raise SystemExit(f"migration ended {last['state']}: {last}")
        copy_s = last["copy_seconds"]
        c0, c1 = last["copy_started_ms"], last["copy_finished_ms"]
        during = [w for w in windows if w[3] < c1 and w[4] > c0]  # overlaps the copy
        others = [w for w in windows if not (w[3] < c1 and w[4] > c0)]
        keys, nbytes = last["keys_moved"], last["bytes_moved"]
        after = [window(router.resp_port, per_window) for _ in range(3)]

        def med(ws, i):
            return statistics.median(w[i] for w in ws) if ws else float("nan")

        print(f"migration {last['id']}: {keys} keys, {nbytes / 1e6:.1f} MB moved "
              f"({keys / KEYS:.3f} of the keys; ideal 1/4 = 0.250)")
        print(f"  copy limit: {RATE or 'none'} keys/s")
        print(f"  copy phase {copy_s:.2f} s -> {keys / copy_s:,.0f} keys/s, "
              f"{nbytes / 1e6 / copy_s:.1f} MB/s; POST to done {total_s:.2f} s")
        print(f"  client GET ({CLIENTS} connections through the router), windows of {WINDOW_S} s:")
        print(f"    idle:   rps {med(idle, 0):,.0f}  p50 {med(idle, 1):.3f} ms  "
              f"p99 {med(idle, 2):.3f} ms  ({len(idle)} windows)")
        if during:
            worst = max(w[2] for w in during)
            print(f"    copying: rps {med(during, 0):,.0f}  p50 {med(during, 1):.3f} ms  "
                  f"p99 {med(during, 2):.3f} ms (median of {len(during)} windows overlapping "
                  f"the copy; worst {worst:.3f})")
            print(f"    p99 copying / idle = {med(during, 2) / med(idle, 2):.2f} median, "
                  f"{worst / med(idle, 2):.2f} worst window  (goal <= 2.0)")
        if others:
            print(f"    rest of the migration (grace, switch, cleaning): p99 {med(others, 2):.3f} ms "
                  f"({len(others)} windows)")
        print(f"    after:  rps {med(after, 0):,.0f}  p99 {med(after, 2):.3f} ms")
        print(f"  keys/s goal >= 300000: {'met' if keys / copy_s >= 300000 else 'NOT met'}")
    finally:
        for p in reversed(procs):
            p.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
