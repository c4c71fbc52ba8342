#include "node/view/boundary.h"

#include <spdlog/spdlog.h>

#include <string>

namespace ringkv::node {

std::string_view RefusalReason(Refusal r) {
  switch (r) {
    case Refusal::kEpochStep:
      return "epoch_step";
    case Refusal::kMapSource:
      return "map_source";
    case Refusal::kClockDrift:
      return "clock_drift";
    case Refusal::kOutsideArcs:
      return "outside_arcs";
    case Refusal::kMoveTarget:
      return "move_target";
    case Refusal::kCount:
      break;
  }
  return "unknown";
}

Status CheckEpochStep(uint64_t held, uint64_t offered, uint64_t max_step) {
  if (held == 0 || offered <= held || offered - held <= max_step) return OkStatus();
  return FailedPrecondition("cluster map epoch " + std::to_string(offered) + " is more than " +
                            std::to_string(max_step) + " (max_epoch_step) ahead of epoch " +
                            std::to_string(held) +
                            " held here; refused (a node that missed more changes than that takes "
                            "the map once restarted)");
}

void Refusals::Count(Refusal r, std::string_view why, int64_t now_ms) {
  const size_t i = static_cast<size_t>(r);
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  int64_t last = logged_ms_[i].load(std::memory_order_relaxed);
  if (last != 0 && now_ms - last < kLogIntervalMs) return;
  if (!logged_ms_[i].compare_exchange_strong(last, now_ms, std::memory_order_relaxed)) return;
  spdlog::warn("refused ({}): {} [{} refused so far]", RefusalReason(r), why,
               counts_[i].load(std::memory_order_relaxed));
}

}  // namespace ringkv::node
