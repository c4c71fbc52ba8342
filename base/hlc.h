// HybridClock: hybrid logical clock timestamps used as value versions.
//
// A timestamp is (physical ms << 16) | logical counter. Next() is strictly
// increasing in this process even if the wall clock steps back; Observe()
// merges a timestamp seen from another process so later local writes order
// after it.
//
// Observed timestamps are bounded (docs/security.md, "Validation at the
// boundary"): one whose physical part is more than max_drift_ms ahead of
// this process's wall clock is refused, not merged, so no peer can push the
// clock (and every later version) far into the future or make it wrap.
//
// Thread safety: all methods are lock-free and safe to call concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "base/clock.h"
#include "base/status.h"

namespace ringkv {

class HybridClock {
 public:
  static constexpr uint64_t kDefaultMaxDriftMs = 60'000;

  explicit HybridClock(const Clock& clock, uint64_t max_drift_ms = kDefaultMaxDriftMs)
      : clock_(clock), max_drift_ms_(max_drift_ms) {}

  // Strictly increasing, except that it saturates at UINT64_MAX (which the
  // drift bound keeps out of reach).
  uint64_t Next() {
    uint64_t physical = static_cast<uint64_t>(clock_.NowMs()) << 16;
    uint64_t last = last_.load(std::memory_order_relaxed);
    uint64_t next;
    do {
      next = physical > last ? physical : last + (last != UINT64_MAX);  // saturates, never wraps
    } while (!last_.compare_exchange_weak(last, next, std::memory_order_relaxed));
    return next;
  }

  // Whether `seen` is within the drift bound (see Ceiling); only then is it
  // merged. A refused timestamp leaves the clock as it was and is reported
  // to the refusal hook, if any.
  [[nodiscard]] bool Observe(uint64_t seen) {
    if (seen > Ceiling()) {
      if (on_refused_) on_refused_(seen);
      return false;
    }
    uint64_t last = last_.load(std::memory_order_relaxed);
    while (seen > last && !last_.compare_exchange_weak(last, seen, std::memory_order_relaxed)) {
    }
    return true;
  }

  // Observe, as a Status: OutOfRange, naming the version of `key` and the
  // bound, when the clock refuses it.
  Status Admit(uint64_t seen, std::string_view key) {
    if (Observe(seen)) return OkStatus();
    return OutOfRange("version " + std::to_string(seen) + " of key '" +
                      std::string(key.substr(0, 64)) + "' is more than max_clock_drift (" +
                      std::to_string(max_drift_ms_) +
                      " ms) ahead of this node's clock; refused (are the clocks in sync?)");
  }

  // The largest timestamp Observe accepts now: the last one of the
  // millisecond now + max_drift_ms (saturating).
  uint64_t Ceiling() const {
    const int64_t now = clock_.NowMs();
    const uint64_t limit_ms = static_cast<uint64_t>(now < 0 ? 0 : now) + max_drift_ms_;
    if (limit_ms >= (uint64_t{1} << 48)) return UINT64_MAX;
    return (limit_ms << 16) | 0xffff;
  }

  // Before serving: the drift bound, and what to call (from any thread)
  // with each refused timestamp.
  void set_max_drift_ms(uint64_t ms) { max_drift_ms_ = ms; }
  void set_refusal_hook(std::function<void(uint64_t seen)> hook) { on_refused_ = std::move(hook); }
  uint64_t max_drift_ms() const { return max_drift_ms_; }

  static int64_t PhysicalMs(uint64_t ts) { return static_cast<int64_t>(ts >> 16); }

 private:
  const Clock& clock_;
  uint64_t max_drift_ms_;
  std::function<void(uint64_t)> on_refused_;
  std::atomic<uint64_t> last_{0};
};

}  // namespace ringkv
