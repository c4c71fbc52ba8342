#!/usr/bin/env bash
# Iterated SHA-512 (cloud-ex2 work) on one core: ringkv's chain against
# `openssl speed -evp sha512` at 64-byte input (one hash of a 64-byte digest is
# exactly one chain iteration) and against a Python hashlib loop, in one run.
# Every process is pinned to the same core; every rate is per CPU second
# (openssl speed divides by user CPU time, Google Benchmark by CPU time,
# Python by process time), so a busy machine skews them alike.
#
# Usage: bench/hash-vs-openssl.sh   (JOBS_HASH_BENCH=path/to/jobs_hash_bench)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${JOBS_HASH_BENCH:-build/bench/jobs_hash_bench}
CORE=${CORE:-0}
pin() { taskset -c "$CORE" "$@"; }

# openssl speed: "sha512  325131.61k" = thousands of bytes/s for 64-byte inputs.
if out=$(pin openssl speed -evp sha512 -bytes 64 -seconds 3 2>/dev/null); then
  kbytes=$(awk '$1=="sha512" {print $2}' <<<"$out" | tail -1)
else  # no -bytes: the 64-byte column of the full table
  out=$(pin openssl speed -evp sha512 -seconds 3 2>/dev/null)
  kbytes=$(awk '$1=="sha512" {print $3}' <<<"$out" | tail -1)
fi
openssl_rate=$(awk -v k="${kbytes%k}" 'BEGIN {printf "%.0f", k * 1000 / 64}')

python_rate=$(pin /usr/bin/python3 -c '
import hashlib, time
out = hashlib.sha512(b"hello").digest()
n, start = 0, time.process_time()
while time.process_time() - start < 2.0:
    for _ in range(10000):
        out = hashlib.sha512(out).digest()
    n += 10000
print(round(n / (time.process_time() - start)))')

json=$(pin "$BENCH" --benchmark_format=json --benchmark_min_time=1 \
  --benchmark_filter='BM_IterateHash$|BM_IterateHashReference|BM_IterateHashBatch/8$|BM_Sha512ChainPortable|BM_Sha512ChainOpenSslTransform|BM_Sha512ChainAvx512Single' 2>/dev/null)
rates=$(/usr/bin/python3 -c '
import json, sys
for b in json.loads(sys.argv[1])["benchmarks"]:
    print(b["name"], round(b["items_per_second"]))' "$json")
rate() { awk -v n="$1" '$1==n {print $2}' <<<"$rates"; }

line() { printf "%-44s %12.2fM it/s  %5.2fx openssl\n" "$1" "$(awk -v r="$2" 'BEGIN{print r/1e6}')" \
  "$(awk -v r="$2" -v o="$openssl_rate" 'BEGIN{print r/o}')"; }
echo "iterated sha512, iterations/s on one core (core $CORE), $(nproc) cpus, $(openssl version | cut -d' ' -f1-2)"
line "openssl speed -evp sha512 (64-byte input)" "$openssl_rate"
line "python3 hashlib chain" "$python_rate"
line "ringkv IterateHashReference (EVP per round)" "$(rate BM_IterateHashReference)"
line "ringkv chain, portable C++ compression" "$(rate BM_Sha512ChainPortable)"
line "ringkv chain, AVX-512 schedule + scalar" "$(rate BM_Sha512ChainAvx512Single)"
line "ringkv chain, SHA512_Transform" "$(rate BM_Sha512ChainOpenSslTransform)"
line "ringkv IterateHash (one job)" "$(rate BM_IterateHash)"
line "ringkv IterateHashBatch (8 jobs, per core)" "$(rate BM_IterateHashBatch/8)"
echo "ratio ringkv/openssl: IterateHash $(awk -v r="$(rate BM_IterateHash)" -v o="$openssl_rate" 'BEGIN{printf "%.2f", r/o}'), IterateHashBatch $(awk -v r="$(rate BM_IterateHashBatch/8)" -v o="$openssl_rate" 'BEGIN{printf "%.2f", r/o}')"
