#include "node/commands/internal/replica_sets.h"

#include <algorithm>
#include <span>

namespace ringkv::node::internal {

KeyPlan PlanKey(const ClusterSnapshot& view, std::string_view key) {
  KeyPlan p;
  p.key = key;
  std::array<uint32_t, cluster::kMaxReplication> now{};
  p.n_new = static_cast<uint32_t>(view.ReplicasOf(view.ring->KeyPosition(key), now));
  p.n_old = p.n_new;
  if (view.move == nullptr) {
    std::copy(now.begin(), now.begin() + p.n_new, p.replicas.begin());
    std::fill(p.sets.begin(), p.sets.begin() + p.n_new, kBothSets);
    p.n = p.n_new;
  } else {
    std::array<uint32_t, cluster::kMaxReplication> before{};
    p.n_old = static_cast<uint32_t>(view.move->ReplicasOf(key, before));
    auto add = [&](std::span<const uint32_t> list, uint8_t set) {
      for (uint32_t node : list) {
        uint32_t i = 0;
        while (i < p.n && p.replicas[i] != node) ++i;
        if (i == p.n) p.replicas[p.n++] = node;
        p.sets[i] |= set;
      }
    };
    // The read set first: a node off the lists forwards to its first live one.
    p.read_set = view.move->reads_new ? kNewSet : kOldSet;
    const std::span<const uint32_t> old_list(before.data(), p.n_old);
    const std::span<const uint32_t> new_list(now.data(), p.n_new);
    const bool old_first = p.read_set == kOldSet;
    add(old_first ? old_list : new_list, p.read_set);
    add(old_first ? new_list : old_list, old_first ? kNewSet : kOldSet);
  }
  p.here = std::find(p.replicas.begin(), p.replicas.begin() + p.n, view.self) !=
           p.replicas.begin() + p.n;
  return p;
}

bool Live(const ClusterSnapshot& view, const Replication* replication, uint32_t index) {
  if (view.MarkedDown(index)) return false;
  return replication == nullptr || !replication->IsSuspect(view.NodeId(index));
}

uint32_t Coordinator(const ClusterSnapshot& view, const Replication* replication, const KeyPlan& p,
                     uint32_t from) {
  for (uint32_t i = from; i < p.n; ++i) {
    if (Live(view, replication, p.replicas[i])) return p.replicas[i];
  }
  return p.replicas[std::min(from, p.n - 1)];
}

bool ReplicaWriteAllowed(const ClusterSnapshot& view, const RoleSnapshot* roles,
                         std::string_view key) {
  return (roles != nullptr && roles->RoleOfKey(key) != nullptr) || view.OwnsByMap(key);
}

}  // namespace ringkv::node::internal
