// Balance statistics: how evenly a placement spreads load over its nodes.
//
// Load is normalised by weight: a node's load is its share of the keys (or of
// the ring) divided by its share of the total weight, so 1.0 is ideal for
// every node whatever its weight.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "ring/ring.h"

namespace ringkv::ring {

struct Balance {
  std::vector<double> share;  // fraction of the ring or of the keys, per node
  std::vector<double> load;   // share / weight share; 1.0 is ideal
  double max_over_mean = 0;   // max(load)
  double min_over_mean = 0;   // min(load)
  double cv = 0;              // coefficient of variation of load
};

// From exact arc lengths: each node's share is the sum of the arcs it owns.
// With replication r, the share of the copies a node stores: the sum of the
// arcs whose preference list of r nodes holds it, over min(r, nodes), so the
// shares still add up to 1.
Balance BalanceFromArcs(const Ring& ring, uint32_t replication = 1);

// From counts of sampled keys per node; weights align with counts.
Balance BalanceFromCounts(const std::vector<uint64_t>& counts, const std::vector<uint32_t>& weights);

}  // namespace ringkv::ring
