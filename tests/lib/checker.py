"""A consistency checker for live rebalancing.

Client threads write and read continuously through one RESP endpoint while
the cluster changes. Each thread owns its own keys (one writer per key), so
after every acknowledged write the thread knows the one value a read of that
key must return. Writes carry unique values; deletes and INCRs are mixed in.

What counts:
  - failures: requests answered with an error (or not answered) — must be 0;
  - stale reads: a read that returned something other than the last
    acknowledged value of the key — must be 0. A write that failed may or
    may not have taken effect: until the key's next acknowledged write a
    read may also return what it wrote (and from then on must keep doing
    so, until a newer write);
  - acknowledged: every write the server acknowledged, kept per key as the
    key's expected final value, for verify();
  - written once: `once_keys` keys that preload() writes and nothing writes
    again, so a node that comes back empty cannot hide behind later writes;
    verify() checks them with the rest.

With retry_connection_errors=True a request whose connection failed is
retried on a new connection (for a router that is killed and restarted on
the same port); such retries are counted apart, never as failures of the
cluster, and only idempotent operations are used (SET of a unique value,
GET, DEL).
"""
import random
import threading
import time

import redis


class Checker:
    def __init__(self, port, keys_per_thread=250, threads=4, prefix="chk",
                 retry_connection_errors=False, seed=1, once_keys=0, use_incr=True):
        self.port = port
        self.once = {f"{prefix}:once:{i}": f"once{i}" for i in range(once_keys)}
        # INCR is not idempotent: off when anything may send a command twice
        # (our own retries, or a router failing over between replicas).
        self.use_incr = use_incr and not retry_connection_errors
        self.threads = threads
        self.prefix = prefix
        self.retry = retry_connection_errors
        self.keys = [[f"{prefix}:{t}:{i}" for i in range(keys_per_thread)]
                     for t in range(threads)]
        self.expected = [dict() for _ in range(threads)]  # key -> value or None (deleted)
        # key -> what failed writes since its last acknowledged one may have left
        self.maybe = [dict() for _ in range(threads)]
        self.counters = [dict() for _ in range(threads)]  # counter key -> int
        self.failures = []
        self.stale = []
        self.ops = 0
        self.acked_writes = 0
        self.connection_retries = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._seed = seed

    # --- set-up -----------------------------------------------------------

    def preload(self):
        """Writes every key once (pipelined) so the cluster holds data to move."""
        c = self._client()
        for t in range(self.threads):
            pipe = c.pipeline(transaction=False)
            for k in self.keys[t]:
                v = f"{k}=init"
                pipe.set(k, v)
                self.expected[t][k] = v
            for r in pipe.execute():
                assert r is True, r
            ck = f"{self.prefix}:{t}:counter"
            c.set(ck, 0)
            self.counters[t][ck] = 0
        items = list(self.once.items())
        for i in range(0, len(items), 500):
            assert c.mset(dict(items[i:i + 500])) is True
        c.close()

    # --- running ------------------------------------------------------------

    def start(self):
        for t in range(self.threads):
            th = threading.Thread(target=self._run, args=(t,), daemon=True)
            th.start()
            self._threads.append(th)

    def stop(self):
        self._stop.set()
        for th in self._threads:
            th.join(30)

    def _client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10,
                           socket_connect_timeout=2)

    def _call(self, state, fn):
        """Runs fn(client); returns (ok, result). Connection errors are retried
        when allowed; every other exception is a failure."""
        while True:
            try:
                return True, fn(state["c"])
            except (redis.ConnectionError, redis.TimeoutError) as e:
                if not self.retry or self._stop.is_set():
                    return False, e
                with self._lock:
                    self.connection_retries += 1
                try:
                    state["c"].close()
                except Exception:  # noqa: BLE001 - best effort
                    pass
                time.sleep(0.05)
                state["c"] = self._client()
            except redis.RedisError as e:
                return False, e

    def _stale(self, what):
        """Records a stale read with the wall-clock time, to set beside the logs."""
        now = time.time()
        with self._lock:
            self.stale.append(f"{time.strftime('%H:%M:%S', time.gmtime(now))}."
                              f"{int(now * 1000) % 1000:03d} {what}")

    def _fail(self, what):
        with self._lock:
            self.failures.append(what)

    def _run(self, t):
        rng = random.Random(self._seed * 1000 + t)
        state = {"c": self._client()}
        keys = self.keys[t]
        exp = self.expected[t]
        maybe = self.maybe[t]
        counter = f"{self.prefix}:{t}:counter"
        seq = 0
        use_incr = self.use_incr
        while not self._stop.is_set():
            k = rng.choice(keys)
            r = rng.random()
            seq += 1
            if r < 0.45:
                v = f"{k}={t}.{seq}"
                ok, res = self._call(state, lambda c: c.set(k, v))
                if ok and res is True:
                    exp[k] = v
                    maybe.pop(k, None)
                    self._count(write=True)
                else:
                    maybe.setdefault(k, set()).add(v)
                    self._fail(f"SET {k}: {res!r}")
            elif r < 0.50:
                ok, res = self._call(state, lambda c: c.delete(k))
                if ok:
                    exp[k] = None
                    maybe.pop(k, None)
                    self._count(write=True)
                else:
                    maybe.setdefault(k, set()).add(None)
                    self._fail(f"DEL {k}: {res!r}")
            elif r < 0.55 and use_incr:
                ok, res = self._call(state, lambda c: c.incr(counter))
                want = self.counters[t][counter] + 1
                if ok and res == want:
                    self.counters[t][counter] = want
                    self._count(write=True)
                elif ok:
                    self.counters[t][counter] = res
                    self._stale(f"INCR {counter}: got {res}, want {want}")
                else:
                    self._fail(f"INCR {counter}: {res!r}")
            else:
                ok, res = self._call(state, lambda c: c.get(k))
                if not ok:
                    self._fail(f"GET {k}: {res!r}")
                else:
                    got = res.decode() if res is not None else None
                    if got != exp.get(k) and got in maybe.get(k, ()):
                        exp[k] = got  # a failed write took effect after all
                        maybe.pop(k)
                    if got != exp.get(k):
                        self._stale(f"GET {k}: got {got!r}, want {exp.get(k)!r}")
                    self._count(write=False)
        state["c"].close()

    def _count(self, write):
        with self._lock:
            self.ops += 1
            if write:
                self.acked_writes += 1

    # --- verdict --------------------------------------------------------------

    def verify(self):
        """Every acknowledged write reads back with its latest value; returns
        the list of mismatches (empty when all is well)."""
        c = self._client()
        bad = []
        groups = [list(self.expected[t].items()) + list(self.counters[t].items())
                  for t in range(self.threads)] + [list(self.once.items())]
        for items in groups:
            for i in range(0, len(items), 200):
                chunk = items[i:i + 200]
                got = c.mget([k for k, _ in chunk])
                for (k, want), g in zip(chunk, got):
                    g = g.decode() if g is not None else None
                    if want is not None:
                        want = str(want)
                    if g != want and any(g in m.get(k, ()) for m in self.maybe):
                        continue  # a failed write took effect
                    if g != want:
                        bad.append(f"{k}: got {g!r}, want {want!r}")
        c.close()
        return bad

    def all_keys(self):
        out = list(self.once)
        for t in range(self.threads):
            out.extend(self.keys[t])
            out.extend(self.counters[t].keys())
        return out

    def live_keys(self):
        out = list(self.once)
        for t in range(self.threads):
            out.extend(k for k, v in self.expected[t].items() if v is not None)
            out.extend(self.counters[t].keys())
        return out
