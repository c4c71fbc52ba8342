#!/usr/bin/env python3
"""Writes the hand-made seed corpus in fuzz/corpus/<target>/: small valid
inputs of each format, so every fuzzer starts from the shapes a real peer,
client or file sends. Regression seeds (inputs that once crashed, named
regress-*) are kept by hand and left alone. gRPC requests are encoded with
the system protoc (--encode) from proto/.

    python3 fuzz/make_seeds.py
"""
import os
import struct
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")

MAP = (b'{"epoch": 3, "vnodes": 160, "hash": "xxh3", "replication": 1, '
       b'"write_consistency": "quorum", "read_consistency": "quorum", '
       b'"tombstone_ttl_s": 86400, "hint_ttl_s": 10800, "nodes": ['
       b'{"id": "a", "addr": "127.0.0.1:6380", "http_addr": "127.0.0.1:8080", '
       b'"grpc_addr": "127.0.0.1:7080", "kind": "ringkv", "weight": 1, "state": "active"}, '
       b'{"id": "b", "addr": "127.0.0.1:6381", "http_addr": "127.0.0.1:8081", '
       b'"grpc_addr": "127.0.0.1:7081", "kind": "ringkv", "weight": 2, "state": "joining"}]}')
MAP_R3 = (b'{"epoch": 7, "vnodes": 16, "hash": "sha256", "replication": 3, '
          b'"write_consistency": "all", "read_consistency": "one", "nodes": ['
          b'{"addr": "10.0.0.1:6379", "grpc_addr": "10.0.0.1:7000", "state": "active"}, '
          b'{"addr": "10.0.0.2:6379", "grpc_addr": "10.0.0.2:7000", "state": "down"}, '
          b'{"addr": "10.0.0.3:6379", "grpc_addr": "10.0.0.3:7000", "state": "leaving"}, '
          b'{"addr": "10.0.0.4:6379", "kind": "ringkv", "weight": 3}]}')
MAP_REDIS = (b'{"epoch": 1, "nodes": [{"addr": "127.0.0.1:6379", "kind": "redis"}]}')


def bulk(s):
    return b"$%d\r\n%s\r\n" % (len(s), s)


def command(*args):
    return b"*%d\r\n" % len(args) + b"".join(bulk(a) for a in args)


def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def zigzag(v):
    return varint(((v << 1) ^ (v >> 63)) & 0xFFFFFFFFFFFFFFFF)


def job(id, payload, iterations, algorithm, state, times, worker, output, attempts, pulled):
    s = lambda b: varint(len(b)) + b
    return (b"\x01" + s(id) + s(payload) + varint(iterations) + bytes([algorithm, state]) +
            b"".join(zigzag(t) for t in times) + s(worker) + s(output) + varint(attempts) +
            bytes([pulled]))


def protoc(message, text):
    proto = "dht/dht.proto" if message.startswith("dht.") else "ringkv/v1/peer.proto"
    return subprocess.run(["protoc", "--proto_path=" + os.path.join(ROOT, "proto"),
                           "--encode=" + message, proto],
                          input=text.encode(), check=True, capture_output=True).stdout


# The method numbers of peer_requests_fuzzer.cc.
METHODS = {"BeginMigration": 0, "EndMigration": 1, "MoveArcs": 2, "Transfer": 3, "Apply": 4,
           "Fetch": 5, "SetMap": 6, "Status": 7, "Forward": 8, "OpenLink": 9,
           "RepairDigests": 10, "RepairKeys": 11, "Join": 12, "GetMap": 13, "QueryDht": 14,
           "RegisterNode": 15}
TYPES = {"BeginMigration": "ringkv.v1.BeginMigrationRequest",
         "EndMigration": "ringkv.v1.EndMigrationRequest", "MoveArcs": "ringkv.v1.MoveRequest",
         "Transfer": "ringkv.v1.EntryBatch", "Apply": "ringkv.v1.EntryBatch",
         "Fetch": "ringkv.v1.FetchRequest", "SetMap": "ringkv.v1.SetMapRequest",
         "Status": "ringkv.v1.StatusRequest", "Forward": "ringkv.v1.ForwardRequest",
         "OpenLink": "ringkv.v1.OpenLinkRequest",
         "RepairDigests": "ringkv.v1.RepairDigestsRequest",
         "RepairKeys": "ringkv.v1.RepairKeysRequest", "Join": "ringkv.v1.JoinRequest",
         "GetMap": "ringkv.v1.GetMapRequest", "QueryDht": "dht.Query",
         "RegisterNode": "dht.ConnectionAddr"}


def calls(*pairs):
    out = b""
    for method, text in pairs:
        body = protoc(TYPES[method], text)
        out += struct.pack("<BH", METHODS[method], len(body)) + body
    return out


def quoted(b):
    return '"' + b.decode().replace("\\", "\\\\").replace('"', '\\"') + '"'


BEGIN = ('migration_id: "m1" epoch: 4 hash: "xxh3" roles { kind: IMPORT peer_id: "a" '
         'peer_grpc: "127.0.0.1:7080" arcs { lo: 0 hi: 0 } }')
BEGIN_EXPORT = ('migration_id: "m2" epoch: 4 hash: "sha256" roles { kind: EXPORT peer_id: "b" '
                'peer_grpc: "127.0.0.1:7081" refresh: true arcs { lo: 100 hi: 9000000000 } '
                'arcs { lo: 18000000000000000000 hi: 5 } }')
ENTRIES = ('migration_id: "m1" epoch: 4 entries { key: "k1" value: "v1" version: 1700000000000000 } '
           'entries { key: "k2" version: 1700000000000001 tombstone: true } '
           'entries { key: "k3" value: "v3" version: 5 expire_at_ms: 1700000009999 }')


def seeds():
    return {
        "resp_request": {
            "get": b"\x05" + command(b"GET", b"k"),
            "pipeline": b"\x10" + command(b"SET", b"k", b"hello") + command(b"PING") +
                        command(b"MGET", b"a", b"b", b"c"),
            "inline": b"\x03PING\r\nSET a \"b c\" 'd e'\r\nGET \"\\x41\\n\"\n",
            "empty_lines": b"\x00\r\n\r\n\nPING\n",
            "binary": b"\x21" + command(b"SET", bytes(range(256)), b"\r\n\x00"),
        },
        "resp_reply": {
            "ok": b"+OK\r\n", "error": b"-ERR unknown command\r\n", "integer": b":-42\r\n",
            "bulk": b"$5\r\nhello\r\n", "null": b"$-1\r\n", "null_array": b"*-1\r\n",
            "nested": b"*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n*0\r\n",
        },
        "http_request": {
            "get": b"GET /kv/a%20b?x=1&y=two+words HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            "put": b"PUT /kv/key HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                   b"Content-Type: application/octet-stream\r\n\r\nvalue",
            "chunked": b"POST /jobs HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                       b"X-Worker-Id: w1\r\n\r\n4\r\n{\"a\"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n",
            "keepalive": b"GET /check-alive HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"
                         b"GET /metrics HTTP/1.0\r\n\r\n",
        },
        "cluster_map": {"two_nodes": MAP, "replicas": MAP_R3, "redis": MAP_REDIS,
                        "empty": b'{"epoch": 0, "nodes": []}'},
        "job_codec": {
            "queued": job(b"0b7c5c3e-8f7a-4f6e-9d2a-3c1b2a4d5e6f", b"payload", 1, 0, 0,
                          [1700000000000, 0, 0, 0], b"", b"", 0, 0),
            "done": job(b"1b7c5c3e-8f7a-4f6e-9d2a-3c1b2a4d5e6f", bytes(range(256)), 1000, 1, 2,
                        [1700000000000, 1700000000100, 1700000030100, 1700000001000], b"worker-1",
                        b"ab" * 32, 3, 1),
            "leased": job(b"2b7c5c3e-8f7a-4f6e-9d2a-3c1b2a4d5e6f", b"", 4294967295, 0, 1,
                          [-1, -9223372036854775807, 9223372036854775807, 0], b"w", b"", 1, 0),
        },
        "yaml_config": {
            "node": b"node:\n  port: 6380\n  max_memory: 64mb\n  requirepass: secret\n"
                    b"  health:\n    interval_ms: 500\nrouter:\n  port: 7000\n",
            "lists": b"node:\n  bind: 127.0.0.1\n  join: [\"127.0.0.1:7000\", \"127.0.0.1:7001\"]\n",
            "flow": b"{node: {port: 0, data_dir: /tmp/x, fsync: always}}\n",
            "anchors": b"defaults: &d\n  port: 1\nnode:\n  <<: *d\n  port: 2\n",
        },
        "link_frame": {
            "hello_batch": b"\x00" + command(b"RINGKV.LINK", b"2", b"tok", b"a", b"127.0.0.1:7080") +
                           b"*10\r\n" + bulk(b"RINGKV.BATCH") + bulk(b"3") + bulk(b"10") +
                           bulk(b"1700000000000") + bulk(b"2") + bulk(b"GET") + bulk(b"k") +
                           bulk(b"2") + bulk(b"DEL") + bulk(b"k"),
            # Each reply travels as a bulk string holding one RESP2 reply.
            "replies": b"\x01*3\r\n:10\r\n:3\r\n" + bulk(b"$1\r\nv\r\n") +
                       b"*4\r\n:11\r\n:4\r\n" + bulk(b"-MOVED 4 127.0.0.1:6381\r\n") + bulk(MAP) +
                       b"*3\r\n:12\r\n:4\r\n" + bulk(b"*1\r\n:1\r\n"),
        },
        "replica_entry": {
            "peek": bytes([3 * 2]) + b"*3\r\n$-1\r\n*4\r\n:1700000000000000\r\n:0\r\n:0\r\n$1\r\nv\r\n"
                    b"*4\r\n:1700000000000001\r\n:1\r\n:0\r\n$0\r\n\r\n",
            "apply": b"\x01" + command(b"k1", b"1700000000000000", b"0", b"0", b"v",
                                       b"k2", b"1700000000000001", b"1", b"0", b""),
        },
        "peer_requests": {
            "begin_apply_fetch_end": calls(("BeginMigration", BEGIN), ("Apply", ENTRIES),
                                           ("Transfer", ENTRIES.replace("k1", "k4")),
                                           ("Fetch", 'migration_id: "m1" keys: "k1" keys: "k2" keys: "zz"'),
                                           ("MoveArcs", 'migration_id: "m1" batch_keys: 10'),
                                           ("EndMigration", 'migration_id: "m1" cancelled: true')),
            "begin_replica_move": calls(("SetMap", "map_json: " + quoted(MAP)),
                                        ("BeginMigration", BEGIN_EXPORT + " from_map_json: " +
                                         quoted(MAP) + " switched: true"),
                                        ("Status", "")),
            "set_maps": calls(("SetMap", "map_json: " + quoted(MAP_R3) + ' registry: "127.0.0.1:7000"'),
                              ("SetMap", "map_json: " + quoted(MAP)), ("GetMap", ""),
                              ("Status", "")),
            "others": calls(("Forward", 'args: "GET" args: "k" epoch: 3 hops: 1 from_grpc: "127.0.0.1:7081"'),
                            ("OpenLink", ""), ("RepairDigests", ""), ("RepairKeys", ""),
                            ("Join", 'addr: "127.0.0.1:6390" weight: 2 id: "c"'),
                            ("QueryDht", 'ty: Set key: "k" value: "v"'),
                            ("RegisterNode", 'addr: "127.0.0.1:7090"')),
        },
    }


def main():
    for target, files in seeds().items():
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
