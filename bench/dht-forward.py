#!/usr/bin/python3
"""Requests sent to a key's owner beside requests that need a forward (one
hop over gRPC), in the same run.

    bench/dht-forward.py [ringkv binary] [rounds]

Defaults: build/cli/ringkv, 3 rounds. Starts a router and three `ringkv
node`s (ports picked at run time), writes KEYS keys of 100 bytes owned by
node n0, then alternates, round by round and in alternating order:
  - crustyring's API: build/bench/dht_load (THREADS closed-loop clients, each
    with its own connection, SECONDS per run) sending QueryDht Get to n0
    (direct) and to n1 (every request forwarded to n0);
  - RESP: redis-benchmark GET of one key n0 owns, -c CLIENTS, REQUESTS
    requests, against n0 and against n1.
Prints each run and the forwarded/direct ratios of throughput, p50 and p99,
and for RESP the CPU time the three nodes used per request (utime + stime
from /proc/PID/stat), which a busy machine disturbs much less than
throughput.
Env: KEYS (1000), THREADS (8), SECONDS (3), CLIENTS (50), REQUESTS (100000),
IO_THREADS (node RESP threads, 1), DHT_LOAD (path of dht_load), APIS
("grpc resp").
"""
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
os.environ.setdefault("RINGKV_BIN", sys.argv[1] if len(sys.argv) > 1 else "build/cli/ringkv")
import harness  # noqa: E402

ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
KEYS = int(os.environ.get("KEYS", "1000"))
THREADS = os.environ.get("THREADS", "8")
SECONDS = os.environ.get("SECONDS", "3")
CLIENTS = os.environ.get("CLIENTS", "50")
REQUESTS = os.environ.get("REQUESTS", "100000")
IO_THREADS = os.environ.get("IO_THREADS", "1")
APIS = os.environ.get("APIS", "grpc resp").split()
TICK = os.sysconf("SC_CLK_TCK")
DHT_LOAD = os.environ.get("DHT_LOAD", os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(os.environ["RINGKV_BIN"]))), "bench",
    "dht_load"))


def get_json(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def dht_run(addr, keys_file):
    out = subprocess.run([DHT_LOAD, addr, keys_file, THREADS, SECONDS], capture_output=True,
                         check=True, text=True).stdout
    r = json.loads(out)
    if r["errors"]:
        raise SystemExit(f"dht_load saw {r['errors']} errors against {addr}")
    return r["ops_per_sec"], r["p50_us"] / 1000, r["p99_us"] / 1000


def resp_run(port, key):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", CLIENTS, "-n", REQUESTS,
                          "--csv", "--precision", "3", "GET", key],
                         capture_output=True, check=True, text=True).stdout
    rows = [r for r in csv.reader(io.StringIO(out)) if r and r[0].upper().startswith("GET")]
    if not rows:
        raise SystemExit(f"redis-benchmark printed no GET line: {out}")
    r = rows[0]
    return float(r[1]), float(r[4]), float(r[6])


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def main():
    if not os.path.exists(DHT_LOAD):
        raise SystemExit(f"{DHT_LOAD} not found: build the bench targets (or set DHT_LOAD)")
    work = tempfile.mkdtemp(prefix="ringkv-fwd-")
    procs = []
    try:
        nodes = [harness.Node(work, "--id", f"n{i}", "--io-threads", IO_THREADS,
                              name=f"node{i}") for i in range(3)]
        procs += nodes
        router = harness.Router(work, "--nodes",
                                ",".join(f"127.0.0.1:{n.http_port}" for n in nodes))
        procs.append(router)
        harness.wait_for(lambda: all(get_json(f"{n.http}/neighbors")["nodes"] == 3
                                     for n in nodes), timeout=30, what="maps")
        owner = f"127.0.0.1:{nodes[0].resp_port}"
        keys = []
        i = 0
        while len(keys) < KEYS:
            k = f"bench:{i}"
            i += 1
            if get_json(f"{router.http}/get-node", {"value": k})["node"] == owner:
                keys.append(k)
        import redis
        c = redis.Redis(port=nodes[0].resp_port)
        pipe = c.pipeline(transaction=False)
        for k in keys:
            pipe.set(k, "x" * 100)
        pipe.execute()
        keys_file = os.path.join(work, "keys.txt")
        with open(keys_file, "w") as f:
            f.write("\n".join(keys) + "\n")
        direct = f"127.0.0.1:{nodes[0].grpc_port}"
        forward = f"127.0.0.1:{nodes[1].grpc_port}"
        print(f"# {KEYS} keys of 100 bytes owned by n0; gRPC: {THREADS} threads x {SECONDS}s; "
              f"RESP: redis-benchmark -c {CLIENTS} -n {REQUESTS} GET {keys[0]}")
        pids = [n.proc.pid for n in nodes]
        ratios = {api: [] for api in APIS}
        cpu = {"direct": [], "forward": []}
        for rnd in range(ROUNDS):
            order = ["direct", "forward"] if rnd % 2 == 0 else ["forward", "direct"]
            res = {}
            for kind in order:
                if "grpc" in APIS:
                    res[("grpc", kind)] = dht_run(direct if kind == "direct" else forward,
                                                  keys_file)
                if "resp" in APIS:
                    port = nodes[0].resp_port if kind == "direct" else nodes[1].resp_port
                    before = cpu_seconds(pids)
                    res[("resp", kind)] = resp_run(port, keys[0])
                    cpu[kind].append((cpu_seconds(pids) - before) * 1e6 / int(REQUESTS))
            if "resp" in APIS:
                print(f"round {rnd + 1} resp node CPU per request: direct "
                      f"{cpu['direct'][-1]:.1f} us, forwarded {cpu['forward'][-1]:.1f} us")
            for api in APIS:
                d, f = res[(api, "direct")], res[(api, "forward")]
                ratio = (f[0] / d[0], f[1] / d[1] if d[1] else 0, f[2] / d[2] if d[2] else 0)
                ratios[api].append(ratio)
                print(f"round {rnd + 1} {api:4s} direct  {d[0]:9.0f} req/s p50 {d[1]:.3f} ms "
                      f"p99 {d[2]:.3f} ms")
                print(f"round {rnd + 1} {api:4s} forward {f[0]:9.0f} req/s p50 {f[1]:.3f} ms "
                      f"p99 {f[2]:.3f} ms   (throughput x{ratio[0]:.2f}, p50 x{ratio[1]:.2f}, "
                      f"p99 x{ratio[2]:.2f})")
        if "resp" in APIS:
            print(f"median resp node CPU per request: direct "
                  f"{statistics.median(cpu['direct']):.1f} us, forwarded "
                  f"{statistics.median(cpu['forward']):.1f} us")
        for api in APIS:
            r = ratios[api]
            print(f"median {api}: forwarded/direct throughput "
                  f"{statistics.median(x[0] for x in r):.2f}, p50 "
                  f"{statistics.median(x[1] for x in r):.2f}, p99 "
                  f"{statistics.median(x[2] for x in r):.2f}")
    finally:
        for p in procs:
            p.stop()


if __name__ == "__main__":
    main()
