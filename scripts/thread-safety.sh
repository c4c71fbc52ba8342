#!/usr/bin/env bash
# Compiles every ringkv source once with clang and -Wthread-safety -Werror
# (syntax only: no objects), so the lock annotations (base/thread_annotations.h)
# are checked on every CI run. Needs a configured build directory for its
# compile_commands.json and generated protobuf headers.
#
#   scripts/thread-safety.sh [build-dir]     # default: build
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-${BUILD_DIR:-build}}
command -v clang++ >/dev/null || { echo "thread-safety: clang++ is not installed" >&2; exit 1; }
[ -f "$BUILD_DIR/compile_commands.json" ] || { echo "thread-safety: no $BUILD_DIR/compile_commands.json" >&2; exit 1; }
python3 - "$BUILD_DIR/compile_commands.json" "$PWD" <<'PY' | xargs -0 -P "$(nproc)" -n 1 bash -c 'eval "$0" 2>&1 >/dev/null | head -40 || true' >"$BUILD_DIR/thread-safety.log"
import json, os, shlex, sys
db, root = sys.argv[1], sys.argv[2]
keep_prefix = ("-I", "-D", "-isystem", "-std=")
for e in json.load(open(db)):
    src = os.path.realpath(os.path.join(e["directory"], e["file"]))
    if not src.startswith(root + "/") or "/build" in src[len(root):].split("/", 2)[1][:6]:
        continue
    args = shlex.split(e["command"])
    flags, i = [], 0
    while i < len(args):
        a = args[i]
        if a in ("-isystem",):
            flags += [a, args[i + 1]]; i += 2; continue
        if a.startswith(keep_prefix):
            flags.append(a)
        i += 1
    cmd = ["clang++", "-fsyntax-only", "-Wthread-safety", "-Werror", "-Wno-unknown-warning-option",
           "-DBOOST_ASIO_HAS_CO_AWAIT=1", "-DBOOST_ASIO_HAS_STD_COROUTINE=1"] + flags + [src]
    sys.stdout.write("cd " + shlex.quote(e["directory"]) + " && " + shlex.join(cmd) + "\0")
PY
if grep -q "error:" "$BUILD_DIR/thread-safety.log"; then
  cat "$BUILD_DIR/thread-safety.log"
  echo "thread-safety: $(grep -c 'error:' "$BUILD_DIR/thread-safety.log") errors" >&2
  exit 1
fi
echo "thread-safety: clang -Wthread-safety passed"
