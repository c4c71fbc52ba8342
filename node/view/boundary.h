// The checks a node makes on what another process tells it, and the count
// of what they refuse (docs/security.md, "Validation at the boundary").
//
// The checks are pure: they take what was offered and what the node holds,
// and answer a Status whose message says what was refused and why.
// Refusals counts each refusal by reason (rendered in /metrics as
// ringkv_refused_total{reason="..."}) and logs it, at most one line per
// reason per second, so a flood of bad requests cannot flood the log.
//
// Thread safety: the checks are pure; Refusals is lock-free.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace ringkv::node {

enum class Refusal : uint8_t {
  kEpochStep,    // a map more than max_epoch_step epochs ahead
  kMapSource,    // a map not from this node's registry, or fetched from a non-member
  kClockDrift,   // a version beyond now + max_clock_drift
  kOutsideArcs,  // an arrival for a key no migration role or replica set places here
  kMoveTarget,   // a copy to a node that is not the migration's target
  kCount,
};

// The reason label of `r` in /metrics ("epoch_step", ...).
std::string_view RefusalReason(Refusal r);

// Whether a map of epoch `offered` may replace one of epoch `held` (0 = none)
// by at most `max_step` epochs. A node without a map takes any first epoch:
// nothing it holds bounds it. FailedPrecondition beyond the step.
Status CheckEpochStep(uint64_t held, uint64_t offered, uint64_t max_step);

class Refusals {
 public:
  static constexpr int64_t kLogIntervalMs = 1000;

  // Counts `r`; logs `why` (a warning) unless a line for `r` was logged in
  // the last kLogIntervalMs before `now_ms`.
  void Count(Refusal r, std::string_view why, int64_t now_ms);
  uint64_t count(Refusal r) const {
    return counts_[static_cast<size_t>(r)].load(std::memory_order_relaxed);
  }

 private:
  static constexpr size_t kN = static_cast<size_t>(Refusal::kCount);
  std::array<std::atomic<uint64_t>, kN> counts_{};
  std::array<std::atomic<int64_t>, kN> logged_ms_{};  // when each reason last logged
};

}  // namespace ringkv::node
