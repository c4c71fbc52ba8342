#!/usr/bin/env bash
# Installs the Debian packages ringkv needs to build, test and run its demo.
# Idempotent: when everything is present it does nothing (about a second).
set -euo pipefail

PACKAGES=(
  cmake ninja-build ccache g++ clang libclang-rt-14-dev pkg-config git
  libboost-dev libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  librocksdb-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libxxhash-dev
  nlohmann-json3-dev libcli11-dev libssl-dev openssl libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcurl4-openssl-dev
  redis-server redis-tools nutcracker curl python3 python3-redis python3-grpcio grpc-proto
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
