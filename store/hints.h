// HintStore: the keys a coordinator must re-send to a replica that missed
// their writes (hinted handoff; docs/design.md, "Storage"). A hint is only
// (target node id, key, creation ms): no value is kept, because at replay the
// coordinator sends its current entry or tombstone of the key and the newest
// version wins on the target anyway.
//
// Every engine owns one (Engine::hints()). The memory engine keeps hints in
// memory; the RocksDB engine writes each change through to its directory
// before applying it, so hints survive a restart. Hints are not entries: no
// read, Scan, Stats().keys, ForEachInArcs or Clear of the engine sees them.
//
// Bounds: HintLimits caps the count and the bytes of all hints together. An
// Add that would pass either cap changes nothing and returns
// kResourceExhausted, so the caller can count a dropped hint (and rely on
// anti-entropy for that key). Expire drops hints by age.
//
// Thread safety: every method may be called concurrently from any thread,
// and from inside a ForEach callback.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "base/function_ref.h"
#include "base/status.h"

namespace ringkv::store {

struct HintLimits {
  uint64_t max_hints = 1'000'000;    // all targets together; 0 = unlimited
  uint64_t max_bytes = 64ull << 20;  // HintBytes summed over all hints; 0 = unlimited
};

// The bytes a hint counts against HintLimits::max_bytes: its target id, its
// key and its 8-byte creation time (what the RocksDB record holds; the
// memory engine's container overhead is not counted).
inline uint64_t HintBytes(std::string_view target, std::string_view key) {
  return target.size() + key.size() + sizeof(int64_t);
}

struct HintUsage {
  uint64_t hints = 0;
  uint64_t bytes = 0;  // HintBytes summed
};

struct HintStats {
  HintUsage total;
  std::map<std::string, HintUsage, std::less<>> targets;  // only targets holding hints
  uint64_t refused = 0;                                   // Adds refused for the bounds since start
  uint64_t expired = 0;                                   // hints dropped by Expire since start
};

class HintStore {
 public:
  virtual ~HintStore() = default;

  // Records that `key` must be re-sent to `target`, created at now_ms. A hint
  // already held is kept with its creation time moved to now_ms (it now
  // stands for a newer write), and is never refused. Errors:
  // kResourceExhausted when a new hint would pass a bound (nothing changes);
  // kInvalidArgument for an empty target; I/O errors from a durable store.
  virtual Status Add(std::string_view target, std::string_view key, int64_t now_ms) = 0;

  // Calls `fn` with each hint of `target`, in key order, until it returns
  // false. Not a snapshot: hints added or removed meanwhile may or may not
  // be seen; a hint held throughout is seen exactly once.
  virtual void ForEach(std::string_view target,
                       FunctionRef<bool(std::string_view key, int64_t created_ms)> fn) const = 0;

  // Removes the hints of `target` for `keys`; absent ones are ignored.
  virtual Status Remove(std::string_view target, std::span<const std::string> keys) = 0;
  Status Remove(std::string_view target, std::string_view key) {
    const std::string one(key);
    return Remove(target, std::span<const std::string>(&one, 1));
  }

  // Drops every hint with created_ms + max_age_ms <= now_ms (negative
  // max_age_ms counts as 0). Returns how many were dropped.
  virtual StatusOr<size_t> Expire(int64_t now_ms, int64_t max_age_ms) = 0;

  virtual HintStats Stats() const = 0;
};

}  // namespace ringkv::store
