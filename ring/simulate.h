// Simulate: the what-if engine behind `ringkv ring simulate`. Places a sample
// of keys with one placement algorithm, measures balance, and measures how
// many keys move when nodes are added or removed, beside the ideal. With
// replication r > 1 (ring only) it also measures the copies each node stores
// (the key's preference list of r nodes, Ring::Owners) and what a change
// does to replica sets: keys whose set changes and copies to make.
//
// Nodes are named "node-0" ... "node-<n-1>"; keys are "key:<i>". Adding M
// nodes appends node-n ... node-(n+M-1); removing M drops the last M, which
// is the only minimal-movement removal for jump hash.
//
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "ring/balance.h"
#include "ring/placement.h"

namespace ringkv::ring {

struct SimulateOptions {
  size_t nodes = 10;                 // 1 .. kMaxRingNodes
  uint32_t vnodes = 160;             // vnodes per unit of weight (ring only)
  size_t keys = 1000000;             // 1 .. kMaxSimulateKeys
  Algorithm algorithm = Algorithm::kRing;
  HashKind hash = HashKind::kXxh3;
  size_t add = 0;                    // nodes to add
  size_t remove = 0;                 // nodes to remove; < nodes
  uint32_t replication = 1;          // 1 .. kMaxReplication; above 1 needs kRing
};

inline constexpr size_t kMaxSimulateKeys = 100'000'000;

// What a change does to replica sets (replication r > 1). Lists hold
// min(r, nodes) nodes on each side.
struct ReplicaMoves {
  uint64_t changed = 0;  // keys whose set of replica nodes changed
  double fraction = 0;   // changed / keys
  uint64_t copies = 0;   // copies to make: per key, the nodes that gain it
  uint64_t dropped = 0;  // copies that may be deleted once the change is done
  // The fewest copies per key any balanced placement makes: when adding M to
  // n nodes, the new nodes' share, r_after * M/(n+M); when removing, the
  // copies the survivors lack, r_after - r_before * (n-M)/n.
  double ideal = 0;
};

struct MoveResult {
  size_t nodes_changed = 0;  // M
  uint64_t moved = 0;        // keys whose node changed
  double fraction = 0;       // moved / keys
  double ideal = 0;          // M/(n+M) when adding, M/n when removing
  // Keys that moved between two nodes present before and after (0 is minimal).
  uint64_t stray = 0;
  std::optional<ReplicaMoves> replicas;  // when options.replication > 1
};

struct SimulateResult {
  SimulateOptions options;
  Balance balance;                    // from the key sample
  std::optional<Balance> arcs;        // exact, ring only
  // Each node's share of the stored copies, when options.replication > 1.
  std::optional<Balance> copies;       // from the key sample
  std::optional<Balance> copies_arcs;  // exact
  std::optional<MoveResult> added;    // when options.add > 0
  std::optional<MoveResult> removed;  // when options.remove > 0
};

StatusOr<SimulateResult> Simulate(const SimulateOptions& options);

}  // namespace ringkv::ring
