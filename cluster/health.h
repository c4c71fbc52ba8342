// HealthTracker: turns a stream of probe results into state transitions.
// Pure: the caller probes (HTTP /check-alive or PING) on its own timer and
// feeds the results in.
//
// Thread safety: none; one tracker per health checker thread.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace ringkv::cluster {

struct HealthOptions {
  uint32_t interval_ms = 1000;  // probe period
  uint32_t timeout_ms = 500;    // one probe's deadline
  uint32_t failures = 3;        // consecutive failures before a node is down
  uint32_t successes = 2;       // consecutive successes before a down node returns
  // Replication > 1: a node down this long is removed, and its keys get
  // their copies back from the other replicas (a migration); 0 = never.
  uint32_t replace_after_s = 0;
};

enum class HealthTransition : uint8_t { kNone, kWentDown, kCameBack };

class HealthTracker {
 public:
  explicit HealthTracker(HealthOptions options) : options_(options) {}

  // Records one probe of `node_id`. `currently_down` is the registry's view.
  HealthTransition Record(const std::string& node_id, bool ok, bool currently_down);
  void Forget(const std::string& node_id) { counters_.erase(node_id); }
  void set_options(HealthOptions options) { options_ = options; }

 private:
  struct Counters {
    uint32_t failures = 0;
    uint32_t successes = 0;
  };
  HealthOptions options_;
  std::unordered_map<std::string, Counters> counters_;
};

}  // namespace ringkv::cluster
