// Membership changes as pure functions: each takes a map and returns the next
// one (epoch + 1) or an error that leaves the caller's map as it was.
//
// Errors: kInvalidArgument (bad address, weight, vnodes), kAlreadyExists
// (duplicate id or addr), kNotFound (unknown node), kFailedPrecondition
// (removing the last node in service).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "cluster/cluster_map.h"

namespace ringkv::cluster {

inline constexpr uint32_t kMaxVnodes = 4096;

// How far an operator or a joining node may push the ring's size: a node's
// weight and the vnodes per unit of weight (the router's `max_weight` and
// `max_vnodes` settings). A ring holds weight x vnodes points per node, so
// both are bounded well below what Ring::Build accepts.
struct MembershipLimits {
  uint32_t max_weight = 256;   // at most ring::kMaxNodeWeight
  uint32_t max_vnodes = 1024;  // at most kMaxVnodes
};
// Counts what was refused for going beyond MembershipLimits (the router's
// ringkv_router_refused_total{reason="membership"}). Count() answers
// whether to log this one: the 1st, 2nd, 4th, 8th, ..., so a flood of bad
// requests cannot flood the log. Thread safety: lock-free.
class LimitRefusals {
 public:
  bool Count() {
    const uint64_t n = count_.fetch_add(1, std::memory_order_relaxed) + 1;
    return (n & (n - 1)) == 0;
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> count_{0};
};

// InvalidArgument unless both bounds are >= 1 and within the ring's own limits.
Status ValidateLimits(const MembershipLimits& limits);
// InvalidArgument "weight must be in [1, <max_weight>] (max_weight), got w".
Status CheckWeight(uint32_t weight, const MembershipLimits& limits);
// InvalidArgument "vnodes must be in [1, <max_vnodes>] (max_vnodes), got v".
Status CheckVnodes(uint32_t vnodes, const MembershipLimits& limits);

// "host:port" with a non-empty host and a port in [1, 65535].
Status ValidateAddr(std::string_view addr);

// Appends `node` (id defaults to addr; weight in [1, max_weight]; addresses validated).
StatusOr<ClusterMap> AddNode(const ClusterMap& map, NodeInfo node,
                             const MembershipLimits& limits = {});
// Removes the node whose addr or id is `name`.
StatusOr<ClusterMap> RemoveNode(const ClusterMap& map, std::string_view name);
// Marks the node leaving: it keeps its place in the map but owns nothing in
// the ring, so a migration moves its keys off. Same errors as RemoveNode,
// plus kFailedPrecondition when it is already leaving.
StatusOr<ClusterMap> MarkLeaving(const ClusterMap& map, std::string_view name);
StatusOr<ClusterMap> SetWeight(const ClusterMap& map, std::string_view name, uint32_t weight,
                               const MembershipLimits& limits = {});
StatusOr<ClusterMap> SetState(const ClusterMap& map, std::string_view name, NodeState state);
// A node that answers again: its kind and addresses as `fresh` (found by
// fresh.id) now says, and `state`.
StatusOr<ClusterMap> Reinstate(const ClusterMap& map, const NodeInfo& fresh, NodeState state);
// vnodes in [1, max_vnodes].
StatusOr<ClusterMap> SetVnodes(const ClusterMap& map, uint32_t vnodes,
                               const MembershipLimits& limits = {});
// Copies of each key; checked like the map (CheckReplication: 1 to
// kMaxReplication, 1 for redis back ends).
StatusOr<ClusterMap> SetReplication(const ClusterMap& map, uint32_t replication);

}  // namespace ringkv::cluster
