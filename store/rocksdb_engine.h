// RocksDB engine: a persistent Engine. Keys are stored under an 8-byte
// big-endian ring position prefix (HashKey(hash, key)) followed by the key
// bytes, so the entries of a ring arc are one contiguous range and SCAN walks
// the ring in order. Values carry a format byte (entry or tombstone), version
// and expiry in a small header. Tombstones are also indexed by version, so
// PurgeTombstones reads only the ones old enough to go; hints live in a
// column family of their own and are written through on every change, so
// tombstones and hints survive a restart like entries do. The format and its
// compatibility with directories written before tombstones:
// store/internal/rocksdb_format.h.
//
// Memory: tombstones cost a key and a 17-byte header on disk, plus an index
// record; nothing is ever evicted (max_memory is not enforced).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"
#include "ring/hash.h"
#include "store/engine.h"
#include "store/hints.h"

namespace ringkv::store {

enum class FsyncPolicy : uint8_t {
  kAlways,    // every acknowledged write is fsynced (survives kill -9 and power loss)
  kEverySec,  // WAL written per write, fsynced once a second (survives kill -9 of the process)
  kNo,        // WAL written, fsync left to the OS
};

// As the node's fsync setting spells them (like Redis's appendfsync).
inline constexpr std::pair<std::string_view, FsyncPolicy> kFsyncPolicyNames[] = {
    {"always", FsyncPolicy::kAlways},
    {"everysec", FsyncPolicy::kEverySec},
    {"no", FsyncPolicy::kNo},
};

struct RocksDbEngineOptions {
  std::string path;  // directory; created if missing
  FsyncPolicy fsync = FsyncPolicy::kEverySec;
  ring::HashKind hash = ring::HashKind::kXxh3;  // key layout; fixed for the life of the directory
  uint64_t block_cache_bytes = 64ull << 20;
  HintLimits hints;  // bounds of hints(); see store/hints.h for defaults
};

StatusOr<std::unique_ptr<Engine>> OpenRocksDbEngine(const RocksDbEngineOptions& options);

}  // namespace ringkv::store
