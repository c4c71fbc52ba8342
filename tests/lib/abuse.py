"""Helpers for the client-limit tests: a process's memory and CPU time from
/proc, raw sockets that send without reading, and Prometheus counters."""
import re
import resource
import socket
import urllib.request


def rss_bytes(pid):
    """VmRSS of `pid`, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def cpu_seconds(pid):
    """User + system CPU time `pid` has used, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / float(__import__("os").sysconf("SC_CLK_TCK"))


def metric(http_base, name):
    """The value of Prometheus metric `name` at <http_base>/metrics."""
    with urllib.request.urlopen(http_base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    if m is None:
        raise AssertionError(f"{name} not in /metrics")
    return float(m.group(1))


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def silent_client(port, payload, rcvbuf=4096):
    """A socket that sends `payload` and never reads (a small receive buffer,
    so the server cannot park much in the kernel)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.sendall(payload)
    return s


def is_cut(sock, timeout=0.5):
    """True once the server has closed `sock`: reading what is buffered
    ends in EOF or a reset."""
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                return True
    except ConnectionResetError:
        return True
    except (socket.timeout, BlockingIOError):
        return False


def raise_nofile(wanted):
    """Raises this process's open-file limit to `wanted` if it can; returns
    the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
