// HybridClock: hybrid logical clock timestamps used as value versions.
//
// A timestamp is (physical ms << 16) | logical counter. Next() is strictly
// increasing in this process even if the wall clock steps back; Observe()
// merges a timestamp seen from another process so later local writes order
// after it.
//
// Thread safety: all methods are lock-free and safe to call concurrently.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/clock.h"

namespace ringkv {

class HybridClock {
 public:
  explicit HybridClock(const Clock& clock) : clock_(clock) {}

  uint64_t Next() {
    uint64_t physical = static_cast<uint64_t>(clock_.NowMs()) << 16;
    uint64_t last = last_.load(std::memory_order_relaxed);
    uint64_t next;
    do {
      next = physical > last ? physical : last + 1;
    } while (!last_.compare_exchange_weak(last, next, std::memory_order_relaxed));
    return next;
  }

  void Observe(uint64_t seen) {
    uint64_t last = last_.load(std::memory_order_relaxed);
    while (seen > last && !last_.compare_exchange_weak(last, seen, std::memory_order_relaxed)) {
    }
  }

  static int64_t PhysicalMs(uint64_t ts) { return static_cast<int64_t>(ts >> 16); }

 private:
  const Clock& clock_;
  std::atomic<uint64_t> last_{0};
};

}  // namespace ringkv
