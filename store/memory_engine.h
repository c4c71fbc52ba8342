// Memory engine: a sharded in-memory hash table with versions, TTLs, an
// approximate LRU per shard and max-memory accounting.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "store/engine.h"

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
};

std::unique_ptr<Engine> NewMemoryEngine(const MemoryEngineOptions& options);

}  // namespace ringkv::store
