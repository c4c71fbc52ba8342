#!/usr/bin/env bash
# Hash jobs end to end through the router: small jobs (64-byte payloads,
# iterations 1 and 1000) with 1 and 2 `ringkv worker` processes over 2 ringkv
# nodes.
#
#   bench/jobs-e2e.sh [ringkv binary] [jobs per run]
#
# Env: CLIENTS (concurrent enqueuers, default 8), THREADS (threads per worker,
# default 1). Ports are picked at run time; everything started here is
# stopped on exit. Per run it prints enqueue/s (PUT /enqueue), jobs/s from the
# workers' start until every job is done (GET /getWork + compute +
# POST /completeWork) and the end-to-end jobs/s from the first enqueue until
# every result was pulled (POST /pullCompleted).
set -euo pipefail

RINGKV=${1:-${RINGKV_BIN:-build/cli/ringkv}}
JOBS=${2:-2000}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-1}

command -v python3 >/dev/null || { echo "missing python3" >&2; exit 2; }
[[ -x $RINGKV ]] || { echo "ringkv not found at $RINGKV (run scripts/build.sh first)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/ringkv-jobs-bench-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# wait_ports FILE PID LOG: waits until process PID has written its ports
# file, at most WAIT_S seconds (default 60: on a loaded machine a start can
# take well over 10 s). Fails at once, with the end of LOG, if PID exits first.
wait_ports() {
  local file=$1 pid=$2 log=$3 deadline=$((SECONDS + ${WAIT_S:-60}))
  until [[ -s $file ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "process $pid exited before writing $file; the end of $log:" >&2
      tail -n 40 "$log" >&2 || true
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "timed out after ${WAIT_S:-60} s waiting for $file; the end of $log:" >&2
      tail -n 40 "$log" >&2 || true
      exit 1
    fi
    sleep 0.05
  done
}
json_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

NODES=()
for i in 1 2; do
  "$RINGKV" node --id "n$i" --resp-port 0 --http-port 0 --grpc-port 0 --log-level warn \
    --ports-file "$WORK/node$i.ports" >"$WORK/node$i.log" 2>&1 &
  PIDS+=($!)
  wait_ports "$WORK/node$i.ports" "$!" "$WORK/node$i.log"
  NODES+=("127.0.0.1:$(json_field "$WORK/node$i.ports" http_port)")
done
"$RINGKV" router --http-port 0 --resp-port 0 --grpc-port 0 --data-dir "$WORK/router.data" \
  --autoscale false --nodes "$(IFS=,; echo "${NODES[*]}")" --log-level warn \
  --ports-file "$WORK/router.ports" \
  >"$WORK/router.log" 2>&1 &
PIDS+=($!)
wait_ports "$WORK/router.ports" "$!" "$WORK/router.log"
ROUTER="http://127.0.0.1:$(json_field "$WORK/router.ports" http_port)"

echo "ringkv jobs end to end: $JOBS jobs per run, 64-byte payloads, $CLIENTS enqueuers," \
  "$THREADS thread(s) per worker, $(nproc) cores"
printf '%-10s %-8s %12s %12s %14s\n' iterations workers enqueue/s work/s end-to-end/s
for iterations in 1 1000; do
  for workers in 1 2; do
    python3 - "$ROUTER" "$JOBS" "$CLIENTS" "$iterations" "$workers" "$THREADS" "$RINGKV" "$WORK" <<'PY'
import concurrent.futures, json, os, subprocess, sys, time, urllib.request

router, jobs, clients, iterations, workers, threads, ringkv, work = sys.argv[1:]
jobs, clients, workers = int(jobs), int(clients), int(workers)

def call(method, target, body=None, headers=None):
    req = urllib.request.Request(router + target, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as r:
        data = r.read()
        return json.loads(data) if data else None

for _ in range(200):  # the job API answers once the nodes are in service
    try:
        call("GET", "/getQueueLen")
        break
    except Exception:
        time.sleep(0.05)
call("POST", "/pullCompleted?top=10000")
payload = os.urandom(64)
octet = {"Content-Type": "application/octet-stream"}
t0 = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(clients) as pool:
    ids = list(pool.map(lambda _: call("PUT", f"/enqueue?iterations={iterations}", payload,
                                       octet)["work_id"], range(jobs)))
t1 = time.monotonic()
procs = [subprocess.Popen([ringkv, "worker", "--router", router, "--threads", threads,
                           "--id", f"bench-{i}", "--log-level", "warn"],
                          stdout=open(f"{work}/worker{i}.log", "ab"), stderr=subprocess.STDOUT)
         for i in range(workers)]
t2 = time.monotonic()
while True:
    q = call("GET", "/getQueueLen")
    if q["queued"] == 0 and q["leased"] == 0:
        break
    time.sleep(0.01)
t3 = time.monotonic()
pulled = set()
while len(pulled) < jobs:
    items = call("POST", "/pullCompleted?top=10000")["work_items"]
    pulled.update(i["work_id"] for i in items)
    if not items:
        time.sleep(0.01)
t4 = time.monotonic()
for p in procs:
    p.terminate()
for p in procs:
    p.wait()
# A stopped worker's last long poll may still wait at the router (up to 5 s)
# and would lease a job of the next run to nobody: let it run out first.
time.sleep(6)
assert pulled >= set(ids), "some results were not pulled"
print(f"{iterations:<10} {workers:<8} {jobs / (t1 - t0):12.0f} {jobs / (t3 - t2):12.0f} "
      f"{jobs / (t4 - t0):14.0f}")
PY
  done
done
