#include "cluster/health.h"

#include <algorithm>
#include <limits>

namespace ringkv::cluster {
namespace {

// Counts saturate: a node probed forever must not wrap back to zero.
void Bump(uint32_t& n) {
  if (n < std::numeric_limits<uint32_t>::max()) ++n;
}

}  // namespace

HealthTransition HealthTracker::Record(const std::string& node_id, bool ok, bool currently_down) {
  Counters& c = counters_[node_id];
  // A threshold of 0 would mean "transition without evidence"; treat it as 1.
  uint32_t need_failures = std::max<uint32_t>(options_.failures, 1);
  uint32_t need_successes = std::max<uint32_t>(options_.successes, 1);
  if (!ok) {
    Bump(c.failures);
    c.successes = 0;
    if (!currently_down && c.failures >= need_failures) {
      c = {};
      return HealthTransition::kWentDown;
    }
  } else {
    Bump(c.successes);
    c.failures = 0;
    if (currently_down && c.successes >= need_successes) {
      c = {};
      return HealthTransition::kCameBack;
    }
  }
  return HealthTransition::kNone;
}

}  // namespace ringkv::cluster
