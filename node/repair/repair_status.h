// What a node's GET /repair shows of its anti-entropy (docs/api.md): whether
// a pass runs, the running or last pass per peer, and totals since start.
// Plain values and a pure renderer; the node's AntiEntropy fills them.
//
// Thread safety: value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "node/repair/pair_repair.h"

namespace ringkv::node {

// Why a pass runs.
enum class RepairTrigger : uint8_t {
  kRequest,   // POST /repair (the router's starts one on every node)
  kPeriodic,  // every anti_entropy_interval_s
  kReturn,    // a peer this node believed down answers again
};
std::string_view RepairTriggerName(RepairTrigger t);

struct PeerRepairStatus {
  std::string peer;  // node id
  PairRepairResult result;
  bool done = false;
  std::string error;  // empty: no error
};

struct RepairPassStatus {
  RepairTrigger trigger = RepairTrigger::kRequest;
  uint64_t epoch = 0;  // the map the pass compared under
  int64_t started_ms = 0;
  int64_t finished_ms = 0;  // 0 while it runs
  std::vector<PeerRepairStatus> peers;

  // The sums over peers.
  PairRepairResult Totals() const;
};

struct RepairTotals {
  uint64_t passes = 0;  // finished
  uint64_t buckets_compared = 0;
  uint64_t buckets_differing = 0;
  uint64_t keys_pushed = 0;
  uint64_t keys_pulled = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;  // peers whose exchange failed
};

struct RepairStatus {
  std::string id;                           // this node
  uint32_t interval_s = 0;                  // 0: only on request
  RepairTotals totals;                      // finished passes since start
  std::optional<RepairPassStatus> current;  // the pass that runs
  std::optional<RepairPassStatus> last;     // the last finished pass
};

// GET /repair's body.
std::string RenderRepairJson(const RepairStatus& s);

}  // namespace ringkv::node
