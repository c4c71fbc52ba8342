// TombstoneTable: the version of the last delete of each key in a migration's
// role arcs, so an older entry arriving later (a stream, a fetch) cannot bring
// the key back. Lives only while the migration does.
//
// Thread safety: all methods may be called concurrently; striped locks. Lock
// order: an engine lock may be held while calling in, never the reverse.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/thread_annotations.h"
#include "ring/hash.h"

namespace ringkv::node::internal {

class TombstoneTable {
 public:
  // The tombstone's version, 0 when there is none.
  uint64_t Get(std::string_view key) const {
    if (size_.load(std::memory_order_relaxed) == 0) return 0;
    const Stripe& s = StripeOf(key);
    MutexLock lock(s.mu);
    auto it = s.versions.find(key);
    return it == s.versions.end() ? 0 : it->second;
  }

  // Records a delete at `version` unless a newer one is recorded. Returns
  // true when the key had no tombstone before.
  bool Raise(std::string_view key, uint64_t version) {
    Stripe& s = StripeOf(key);
    MutexLock lock(s.mu);
    auto it = s.versions.find(key);
    if (it != s.versions.end()) {
      if (it->second < version) it->second = version;
      return false;
    }
    s.versions.emplace(std::string(key), version);
    size_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  void Clear() {
    for (Stripe& s : stripes_) {
      MutexLock lock(s.mu);
      size_.fetch_sub(s.versions.size(), std::memory_order_relaxed);
      s.versions.clear();
    }
  }

  size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return ring::HashXxh3(k); }
  };
  struct Stripe {
    mutable Mutex mu;
    std::unordered_map<std::string, uint64_t, Hash, std::equal_to<>> versions GUARDED_BY(mu);
  };
  static constexpr size_t kStripes = 16;

  const Stripe& StripeOf(std::string_view key) const {
    return stripes_[ring::HashXxh3(key) % kStripes];
  }
  Stripe& StripeOf(std::string_view key) { return stripes_[ring::HashXxh3(key) % kStripes]; }

  std::array<Stripe, kStripes> stripes_;
  std::atomic<size_t> size_{0};
};

}  // namespace ringkv::node::internal
