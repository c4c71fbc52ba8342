#include "node/repair/scan_pacer.h"

#include <algorithm>
#include <thread>

namespace ringkv::node {
namespace {

// The rate is checked every this many items, so a fast loop reads the
// clock rarely.
constexpr uint64_t kCheckEvery = 64;

}  // namespace

void ScanPacer::Tick(uint64_t n) {
  items_ += n;
  yielder_.MaybeYield();
  if (per_sec_ == 0 || items_ < next_check_) return;
  next_check_ = items_ + std::max<uint64_t>(kCheckEvery, per_sec_ / 1000);
  const auto due = start_ + std::chrono::microseconds(items_ * 1'000'000 / per_sec_);
  const auto now = std::chrono::steady_clock::now();
  if (due > now) std::this_thread::sleep_for(due - now);
}

}  // namespace ringkv::node
