// Where a key's replicas are, for the replica coordinator (replicated.h;
// docs/replication.md). Pure: reads a ClusterSnapshot, no I/O.
//
// While replica sets move (a migration with replication > 1, "Moves") a key
// has an old set (the view's ReplicaMove ring) and a new one (the map's);
// its plan holds their union, the set reads use first, each replica marked
// with the sets it is in. Without a move each replica is in both.
//
// Thread safety: pure functions over immutable snapshots.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "cluster/cluster_map.h"
#include "node/migration/migration_roles.h"
#include "node/replication/replication.h"
#include "node/view/cluster_view.h"

namespace ringkv::node::internal {

// Replica set bits: a key's set in the old ring and in the map's ring.
inline constexpr uint8_t kOldSet = 1;
inline constexpr uint8_t kNewSet = 2;
inline constexpr uint8_t kBothSets = kOldSet | kNewSet;

// One key of a command: its replicas and whether this node is one of them.
struct KeyPlan {
  std::string_view key;
  std::array<uint32_t, 2 * cluster::kMaxReplication> replicas{};  // node-table indices
  std::array<uint8_t, 2 * cluster::kMaxReplication> sets{};       // kOldSet | kNewSet each
  uint32_t n = 0;                                                 // replicas in use
  uint32_t n_old = 0;          // the old set's size (n_new without a move)
  uint32_t n_new = 0;          // the new set's size
  uint8_t read_set = kNewSet;  // the set reads ask: the old one until the move switched
  bool here = false;           // this node is one of the replicas
};

// The plan of `key`; requires a snapshot with a non-empty ring. `key` must
// outlive the plan.
KeyPlan PlanKey(const ClusterSnapshot& view, std::string_view key);

// Whether node-table entry `index` is believed up: not marked down in the
// map, not suspect here (`replication` may be null).
bool Live(const ClusterSnapshot& view, const Replication* replication, uint32_t index);

// The replica a node off the lists sends the command to: the first live one
// at or after position `from` of p.replicas, else (all believed down) the one
// at `from`.
uint32_t Coordinator(const ClusterSnapshot& view, const Replication* replication, const KeyPlan& p,
                     uint32_t from = 0);

// Whether a replica write (RINGKV.APPLY) of `key` may be installed here: the
// map places the key on this node (as a replica; while replica sets move, in
// the old ring too), or it lies in an arc of the migration under way here
// (`roles`; null = none). The test Peer Apply and Transfer make, so that a
// peer holding the cluster's credentials still cannot plant keys a node does
// not serve (docs/security.md, "Validation at the boundary").
bool ReplicaWriteAllowed(const ClusterSnapshot& view, const RoleSnapshot* roles,
                         std::string_view key);

}  // namespace ringkv::node::internal
