// Membership changes as pure functions: each takes a map and returns the next
// one (epoch + 1) or an error that leaves the caller's map as it was.
//
// Errors: kInvalidArgument (bad address, weight, vnodes), kAlreadyExists
// (duplicate id or addr), kNotFound (unknown node), kFailedPrecondition
// (removing the last node in service).
#pragma once

#include <string_view>

#include "base/status.h"
#include "cluster/cluster_map.h"

namespace ringkv::cluster {

inline constexpr uint32_t kMaxVnodes = 4096;

// "host:port" with a non-empty host and a port in [1, 65535].
Status ValidateAddr(std::string_view addr);

// Appends `node` (id defaults to addr; weight >= 1; addresses validated).
StatusOr<ClusterMap> AddNode(const ClusterMap& map, NodeInfo node);
// Removes the node whose addr or id is `name`.
StatusOr<ClusterMap> RemoveNode(const ClusterMap& map, std::string_view name);
// Marks the node leaving: it keeps its place in the map but owns nothing in
// the ring, so a migration moves its keys off. Same errors as RemoveNode,
// plus kFailedPrecondition when it is already leaving.
StatusOr<ClusterMap> MarkLeaving(const ClusterMap& map, std::string_view name);
StatusOr<ClusterMap> SetWeight(const ClusterMap& map, std::string_view name, uint32_t weight);
StatusOr<ClusterMap> SetState(const ClusterMap& map, std::string_view name, NodeState state);
// A node that answers again: its kind and addresses as `fresh` (found by
// fresh.id) now says, and `state`.
StatusOr<ClusterMap> Reinstate(const ClusterMap& map, const NodeInfo& fresh, NodeState state);
// vnodes in [1, kMaxVnodes].
StatusOr<ClusterMap> SetVnodes(const ClusterMap& map, uint32_t vnodes);
// Copies of each key; checked like the map (CheckReplication: 1 to
// kMaxReplication, 1 for redis back ends).
StatusOr<ClusterMap> SetReplication(const ClusterMap& map, uint32_t replication);

}  // namespace ringkv::cluster
