#!/usr/bin/env bash
# Quick start (a): installs what is missing, builds, and shows ringkv working.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
RINGKV=build/cli/ringkv
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "Balance of 10 nodes x 160 vnodes, and keys moved by adding/removing one node" \
  "$RINGKV" ring simulate --nodes 10 --vnodes 160 --keys 1000000 --add 1 --remove 1
step "The same change with jump hash and Maglev, for comparison" \
  "$RINGKV" ring simulate --nodes 10 --keys 1000000 --algo maglev --add 1
step "Where does a key live?" \
  "$RINGKV" ring locate user:1000 --nodes 10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379 --replicas 2
