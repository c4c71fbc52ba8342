#!/usr/bin/python3
"""Forwarded requests over the peer link in plaintext beside the same over
mutual TLS (cluster TLS on), in the same run.

    bench/link-tls-vs-plain.py [ringkv binary] [rounds]

Defaults: build/cli/ringkv, 3 rounds. Starts two clusters side by side, each
a router and two `ringkv node`s (ports picked at run time): one plaintext,
one with cluster TLS (a CA and certificates made here with the openssl
CLI). In each, KEYS keys of 100 bytes owned by n0 are written, then
redis-benchmark sends GET of one of them to n1, which forwards every request
to n0 over its peer link. Rounds alternate the order of the two clusters.
Prints each run, the TLS/plaintext ratio of throughput, p50 and p99, and the
CPU time the two nodes used per request (utime + stime from /proc/PID/stat).
Env: KEYS (1000), CLIENTS (50), REQUESTS (200000), IO_THREADS (node RESP
threads, 1).
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
CLIENTS = os.environ.get("CLIENTS", "50")
REQUESTS = os.environ.get("REQUESTS", "200000")
IO_THREADS = os.environ.get("IO_THREADS", "1")
TICK = os.sysconf("SC_CLK_TCK")
EXT = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"


def get_json(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(directory, names):
    """A CA and one certificate per name; returns {name: cluster TLS flags}."""
    os.makedirs(directory, mode=0o700)
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        f.write(EXT)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
            "-subj", "/CN=bench CA", cwd=directory)
    flags = {}
    for who in names:
        openssl("req", *ec, "-keyout", f"{who}.key", "-out", f"{who}.csr", "-subj", f"/CN={who}",
                cwd=directory)
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "1", "-extfile", "ext.cnf", "-out", f"{who}.crt",
                cwd=directory)
        os.chmod(os.path.join(directory, f"{who}.key"), 0o600)
        flags[who] = ["--cluster-tls-cert-file", os.path.join(directory, f"{who}.crt"),
                      "--cluster-tls-key-file", os.path.join(directory, f"{who}.key"),
                      "--cluster-tls-ca-file", os.path.join(directory, "ca.crt")]
    return flags


def start_cluster(work, name, tls, procs):
    """Two nodes and a router; returns (nodes, a key n0 owns)."""
    flags = make_pki(os.path.join(work, f"{name}-pki"), ["router", "n0", "n1"]) if tls else {}
    nodes = []
    for i in range(2):
        nodes.append(harness.Node(work, "--id", f"n{i}", "--io-threads", IO_THREADS,
                                  *flags.get(f"n{i}", []), name=f"{name}-n{i}"))
        procs.append(nodes[-1])
    router = harness.Router(work, "--nodes", ",".join(f"127.0.0.1:{n.http_port}" for n in nodes),
                            *flags.get("router", []), name=f"{name}-router")
    procs.append(router)
    harness.wait_for(lambda: all(get_json(f"{n.http}/neighbors")["nodes"] == 2 for n in nodes),
                     timeout=30, what="maps")
    owner = f"127.0.0.1:{nodes[0].resp_port}"
    keys, i = [], 0
    while len(keys) < KEYS:
        k = f"bench:{i}"
        i += 1
        if get_json(f"{router.http}/get-node", {"value": k})["node"] == owner:
            keys.append(k)
    import redis
    pipe = redis.Redis(port=nodes[0].resp_port).pipeline(transaction=False)
    for k in keys:
        pipe.set(k, "x" * 100)
    pipe.execute()
    return nodes, keys[0]


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
    work = tempfile.mkdtemp(prefix="ringkv-linktls-")
    procs = []
    try:
        clusters = {kind: start_cluster(work, kind, kind == "tls", procs)
                    for kind in ("plain", "tls")}
        print(f"# {KEYS} keys of 100 bytes owned by n0; redis-benchmark -c {CLIENTS} "
              f"-n {REQUESTS} GET through n1 (forwarded to n0 over the peer link)")
        ratios, cpu = [], {"plain": [], "tls": []}
        for rnd in range(ROUNDS):
            order = ["plain", "tls"] if rnd % 2 == 0 else ["tls", "plain"]
            res = {}
            for kind in order:
                nodes, key = clusters[kind]
                pids = [n.proc.pid for n in nodes]
                before = cpu_seconds(pids)
                res[kind] = resp_run(nodes[1].resp_port, key)
                cpu[kind].append((cpu_seconds(pids) - before) * 1e6 / int(REQUESTS))
            p, t = res["plain"], res["tls"]
            ratio = (t[0] / p[0], t[1] / p[1] if p[1] else 0, t[2] / p[2] if p[2] else 0)
            ratios.append(ratio)
            for kind in ("plain", "tls"):
                r = res[kind]
                print(f"round {rnd + 1} {kind:5s} {r[0]:9.0f} req/s p50 {r[1]:.3f} ms "
                      f"p99 {r[2]:.3f} ms  node CPU {cpu[kind][-1]:.1f} us/request")
            print(f"round {rnd + 1} tls/plain: throughput x{ratio[0]:.2f}, p50 x{ratio[1]:.2f}, "
                  f"p99 x{ratio[2]:.2f}")
        print(f"median tls/plain: throughput {statistics.median(x[0] for x in ratios):.2f}, "
              f"p50 {statistics.median(x[1] for x in ratios):.2f}, "
              f"p99 {statistics.median(x[2] for x in ratios):.2f}; node CPU per request "
              f"plain {statistics.median(cpu['plain']):.1f} us, "
              f"tls {statistics.median(cpu['tls']):.1f} us")
    finally:
        for p in procs:
            p.stop()


if __name__ == "__main__":
    main()
