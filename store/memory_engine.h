// Memory engine: a sharded in-memory hash table with versions, TTLs,
// tombstones, an approximate LRU per shard and max-memory accounting. Hints
// are kept in memory only.
//
// Memory: used_bytes counts every entry and every tombstone (its key plus
// about 50 bytes: node header, malloc's rounding, purge index slot) and the
// tables, so tombstones press on max_memory like entries do. Eviction never takes a tombstone, because
// dropping one could let an older copy of the key come back; a tombstone
// write is never refused (under allkeys-lru it evicts live entries to make
// room; under noeviction it may pass max_memory). PurgeTombstones is what
// bounds them. Hints are bounded by MemoryEngineOptions::hints and are not
// counted in used_bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "store/engine.h"
#include "store/hints.h"

namespace ringkv::store {

enum class EvictionPolicy : uint8_t {
  kAllKeysLru,  // evict least recently used keys until a write fits (default)
  kNoEviction,  // refuse writes that would exceed max memory (kResourceExhausted)
};

// As Redis's maxmemory-policy spells them (the node's setting, INFO memory).
inline constexpr std::pair<std::string_view, EvictionPolicy> kEvictionPolicyNames[] = {
    {"allkeys-lru", EvictionPolicy::kAllKeysLru},
    {"noeviction", EvictionPolicy::kNoEviction},
};

struct MemoryEngineOptions {
  uint64_t max_memory = 0;  // bytes; 0 = unlimited
  EvictionPolicy policy = EvictionPolicy::kAllKeysLru;
  uint32_t shards = 16;  // power of two, >= 1
  HintLimits hints;      // bounds of hints(); see store/hints.h for defaults
};

std::unique_ptr<Engine> NewMemoryEngine(const MemoryEngineOptions& options);

}  // namespace ringkv::store
