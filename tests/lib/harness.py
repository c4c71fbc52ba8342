"""Test harness: start real ringkv and redis-server processes on 127.0.0.1
with ports chosen at run time, and talk to them.

Processes bind port 0 and report the ports they got through --ports-file, so
tests never guess a free port. Every process is killed when the test ends.

Secrets: on loopback a cluster runs without any (local development), so the
helpers start processes without credentials unless a test passes them, e.g.
`--cluster-secret-file` with a file from ClusterTestCase.secret_file(). A
secret never goes on a command line; `env` adds environment variables
(RINGKV_REQUIREPASS, RINGKV_CLUSTER_SECRET, ...) to a process.
"""
import json
import re
import urllib.error
import urllib.request
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

RINGKV = os.environ.get("RINGKV_BIN", "build/cli/ringkv")


def wait_for(predicate, timeout=10.0, what="condition"):
    """Polls predicate() until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def http_json(method, url, body=None, timeout=10, headers=None, context=None):
    """One HTTP call with a JSON body (or none, or raw bytes sent as they
    are); returns (status, the reply parsed as JSON, or its raw bytes when it
    is not JSON). 4xx/5xx are returned, not raised. `headers` add to (or
    replace) Content-Type: application/json. `context`: the ssl.SSLContext
    of an https:// URL (see RingkvProcess.use_https)."""
    data = body if isinstance(body, bytes) else (
        json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def metric(process, name):
    """The value of counter or gauge `ringkv_<name>` (no labels) in the
    /metrics of a node or router; 0 when absent."""
    _, raw = http_json("GET", f"{process.http}/metrics", context=process.ssl_context)
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    m = re.search(rf"^ringkv_{name} (\d+)", text, re.M)
    return int(m.group(1)) if m else 0


class Process:
    """A child process with a log file; killed on stop()."""

    def __init__(self, argv, log_path, env=None):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **env} if env else None)

    def alive(self):
        return self.proc.poll() is None

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout=10):
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)  # a SIGSTOPped process cannot act on SIGTERM
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        self.log.close()
        return self.proc.returncode

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class RingkvProcess(Process):
    """A `ringkv <subcommand>` that reports its run-time ports in a ports file."""

    def __init__(self, workdir, name, subcommand, argv_tail, timeout=10.0, env=None):
        self.ports_file = os.path.join(workdir, f"{name}.ports.json")
        if os.path.exists(self.ports_file):
            os.unlink(self.ports_file)
        self.subcommand = subcommand
        argv = [RINGKV, subcommand, "--ports-file", self.ports_file, *argv_tail]
        super().__init__(argv, os.path.join(workdir, f"{name}.log"), env=env)
        self.info = wait_for(self._read_ports, timeout=timeout,
                             what=f"{name} to start (log: {self.log_path})")

    def _read_ports(self):
        if not self.alive():
            raise AssertionError(
                f"ringkv {self.subcommand} exited with {self.proc.returncode}: {self.read_log()}")
        try:
            with open(self.ports_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    ssl_context = None  # set by use_https: the HTTP API speaks HTTPS

    def use_https(self, cafile, certfile=None, keyfile=None):
        """The process serves HTTPS (http_tls): `http` becomes an https://
        URL, and `ssl_context` trusts `cafile` and presents `certfile`, if
        given. Pass it to http_json; metric() does."""
        self.ssl_context = ssl.create_default_context(cafile=cafile)
        if certfile:
            self.ssl_context.load_cert_chain(certfile, keyfile)

    @property
    def http(self):
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.http_port}"


class Node(RingkvProcess):
    """A `ringkv node` on run-time ports (RESP, HTTP, gRPC), or on given ones
    (a restart that the cluster knows by its addresses)."""

    def __init__(self, workdir, *extra, name="node", resp_port=0, http_port=0, grpc_port=0,
                 env=None):
        super().__init__(workdir, name, "node",
                         ["--resp-port", str(resp_port), "--http-port", str(http_port),
                          "--grpc-port", str(grpc_port), "--log-level", "warn", *extra], env=env)
        self.resp_port = self.info["resp_port"]
        self.http_port = self.info["http_port"]
        self.grpc_port = self.info["grpc_port"]
        self.id = self.info["id"]


class Router(RingkvProcess):
    """A `ringkv router` on run-time ports (HTTP API, RESP proxy, gRPC registry).

    Its cluster map lives in `data_dir` (default: <workdir>/<name>.data), so a
    second Router with the same data_dir is a restart of the first. Ports are
    picked at run time unless given (a restart that clients reconnect to).
    """

    def __init__(self, workdir, *extra, name="router", data_dir=None, http_port=0, resp_port=0,
                 grpc_port=0, env=None):
        self.data_dir = data_dir or os.path.join(workdir, f"{name}.data")
        super().__init__(workdir, name, "router",
                         ["--http-port", str(http_port), "--resp-port", str(resp_port),
                          "--grpc-port", str(grpc_port), "--data-dir", self.data_dir, *extra],
                         timeout=20, env=env)
        self.http_port = self.info["http_port"]
        self.resp_port = self.info["resp_port"]
        self.grpc_port = self.info["grpc_port"]


class RedisServer(Process):
    """A real redis-server, for comparisons. Port chosen by probing unless given."""

    def __init__(self, workdir, *extra, name="redis", port=None):
        self.port = port or free_port()
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", workdir, *extra]
        super().__init__(argv, os.path.join(workdir, f"{name}.log"))
        wait_for(lambda: can_connect(self.port), what="redis-server to listen")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def connections_to(port):
    """Established TCP connections whose remote end is 127.0.0.1:`port`."""
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            remote, state = fields[2], fields[3]
            if state == "01" and int(remote.split(":")[1], 16) == port:
                n += 1
    return n


class RawClient:
    """A byte-level RESP client for protocol edge cases."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send(self, data: bytes):
        self.sock.sendall(data)

    def recv_until_closed(self, limit=1 << 20):
        chunks = []
        total = 0
        while total < limit:
            try:
                b = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            chunks.append(b)
            total += len(b)
        return b"".join(chunks)

    def recv_some(self, n=65536):
        return self.sock.recv(n)

    def recv_exactly_reply(self):
        """Reads until one complete simple reply line (+, -, :) or bulk is in."""
        buf = b""
        while True:
            buf += self.sock.recv(65536)
            if buf.startswith((b"+", b"-", b":")) and buf.endswith(b"\r\n"):
                return buf
            if buf.startswith(b"$"):
                head, _, rest = buf.partition(b"\r\n")
                n = int(head[1:])
                if n < 0 or len(rest) >= n + 2:
                    return buf

    def close(self):
        self.sock.close()


class ClusterTestCase(unittest.TestCase):
    """Gives each test a temp dir and stops every process it started."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="ringkv-test-")
        self.processes = []

    def tearDown(self):
        for p in self.processes:
            p.stop()
        if self._failed():
            print(f"\nlogs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        if hasattr(outcome, "errors"):  # Python < 3.11
            return any(e for _, e in outcome.errors if e)
        result = getattr(outcome, "result", None)  # 3.11+: failures are recorded at once
        return bool(result) and any(t is self for t, _ in result.failures + result.errors)

    def assert_keys_readable(self, client, prefix, n):
        """Every key <prefix>:<i> (i < n) reads back as v<i> through `client`."""
        pipe = client.pipeline(transaction=False)
        for i in range(n):
            pipe.get(f"{prefix}:{i}")
        got = pipe.execute()
        missing = [f"{prefix}:{i}" for i, v in enumerate(got) if v != f"v{i}".encode()]
        self.assertEqual(missing[:10], [], f"{len(missing)} keys unreadable through the router")

    def secret_file(self, name, value=None):
        """A file holding `value` (random when None), mode 0600 as ringkv
        requires; returns (path, value)."""
        value = value or os.urandom(16).hex()
        path = os.path.join(self.workdir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        return path, value

    def start_node(self, *extra, name="node", **kw):
        n = Node(self.workdir, *extra, name=name, **kw)
        self.processes.append(n)
        return n

    def start_redis(self, *extra, name="redis", port=None):
        r = RedisServer(self.workdir, *extra, name=name, port=port)
        self.processes.append(r)
        return r

    def start_router(self, *extra, name="router", data_dir=None, env=None):
        r = Router(self.workdir, *extra, name=name, data_dir=data_dir, env=env)
        self.processes.append(r)
        return r

    def nodes_of(self, router):
        """The router's GET /nodes: the map's epoch and its nodes."""
        status, data = http_json("GET", f"{router.http}/nodes")
        self.assertEqual(status, 200, data)
        return data

    def active_count(self, router):
        """How many of the router's nodes are active."""
        return sum(n["state"] == "active" for n in self.nodes_of(router)["nodes"])

class ClusterCliTestCase(ClusterTestCase):
    """A test of `ringkv cluster ...` on a run directory of its own, taken
    down after the test."""

    def setUp(self):
        super().setUp()
        self.run_dir = os.path.join(self.workdir, "run")

    def tearDown(self):
        self.cli("down", check=False)
        super().tearDown()

    def cli(self, *args, check=True):
        """Runs `ringkv cluster <args> --run-dir <run dir>`; with `check`, a
        non-zero exit fails the test with both outputs."""
        argv = [RINGKV, "cluster", *args, "--run-dir", self.run_dir]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=180)
        if check and p.returncode != 0:
            self.fail(f"{' '.join(argv)} exited {p.returncode}\nstdout:\n{p.stdout}\n"
                      f"stderr:\n{p.stderr}")
        return p
