"""Python message classes for the tests' gRPC clients, compiled at test time
with the system protoc (--python_out) into a temp dir; calls go through
grpc's generic channel methods, so no grpc_tools are needed.

    pb = grpc_pb.load("ringkv/v1/peer.proto")            # from proto/
    seed = grpc_pb.load("dht.proto", root=grpc_pb.CRUSTYRING)  # crustyring's shapes
"""
import atexit
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

import grpc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROTO = os.path.join(ROOT, "proto")
CRUSTYRING = os.path.join(ROOT, "tests", "lib", "crustyring")
REFLECTION = "/usr/share/grpc-proto"  # Debian package grpc-proto

_out = None
_loaded = {}


def _outdir(root):
    global _out
    if _out is None:
        _out = tempfile.mkdtemp(prefix="ringkv-pb-")
        atexit.register(shutil.rmtree, _out, True)
    d = os.path.join(_out, str(abs(hash(root))))
    os.makedirs(d, exist_ok=True)
    return d


def load(path, root=PROTO):
    """The _pb2 module of `path` (relative to `root`)."""
    key = (root, path)
    if key not in _loaded:
        out = _outdir(root)
        subprocess.run(["protoc", f"--proto_path={root}", f"--python_out={out}",
                        os.path.join(root, path)], check=True)
        if out not in sys.path:
            sys.path.insert(0, out)
        name = path[:-len(".proto")].replace("/", ".") + "_pb2"
        # Modules of the same name from another root must not shadow each other.
        sys.modules.pop(name, None)
        _loaded[key] = importlib.import_module(name)
        sys.path.remove(out)
    return _loaded[key]


def unary(channel, path, request_cls, reply_cls):
    return channel.unary_unary(path, request_serializer=request_cls.SerializeToString,
                               response_deserializer=reply_cls.FromString)


def reflection_pb2():
    """grpc.reflection.v1alpha's messages. The .proto is copied under another
    file name first: its own path would make a Python module `grpc.reflection...`
    that the grpc package shadows."""
    src = os.path.join(REFLECTION, "grpc", "reflection", "v1alpha", "reflection.proto")
    root = _outdir("reflection-src")
    dst = os.path.join(root, "ringkv_reflection_v1alpha.proto")
    if not os.path.exists(dst):
        shutil.copyfile(src, dst)
    return load("ringkv_reflection_v1alpha.proto", root=root)


def _reflect(addr, request, timeout):
    refl = reflection_pb2()
    with grpc.insecure_channel(addr) as ch:
        call = ch.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=refl.ServerReflectionRequest.SerializeToString,
            response_deserializer=refl.ServerReflectionResponse.FromString)
        replies = list(call(iter([refl.ServerReflectionRequest(**request)]), timeout=timeout))
    for r in replies:
        if r.HasField("error_response"):
            raise AssertionError(f"reflection: {r.error_response.error_message}")
    return replies


def list_services(addr, timeout=5):
    """Service names the server at `addr` lists through server reflection."""
    replies = _reflect(addr, {"list_services": "*"}, timeout)
    return sorted(s.name for r in replies for s in r.list_services_response.service)


def file_containing(addr, symbol, timeout=5):
    """The serialized FileDescriptorProtos reflection returns for `symbol`."""
    replies = _reflect(addr, {"file_containing_symbol": symbol}, timeout)
    return [f for r in replies for f in r.file_descriptor_response.file_descriptor_proto]
