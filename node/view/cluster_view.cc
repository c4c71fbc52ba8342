#include "node/view/cluster_view.h"

#include <algorithm>
#include <utility>

namespace ringkv::node {

bool ClusterSnapshot::OwnsByMap(std::string_view key) const {
  return epoch != 0 && self != ring::kNoNode && ring->OwnerIndexOfKey(key) == self;
}

ClusterSnapshot::Place ClusterSnapshot::PlaceOf(std::string_view key, const HeldArcs* held,
                                                uint32_t* owner) const {
  if (epoch == 0) return Place::kHere;
  const uint64_t pos = ring->KeyPosition(key);
  const uint32_t o = ring->OwnerIndex(pos);
  if (o != ring::kNoNode && o == self) return Place::kHere;
  if (held != nullptr &&
      held->arcs.Contains(held->hash == ring->options().hash ? pos
                                                             : ring::HashKey(held->hash, key))) {
    return Place::kHere;
  }
  if (o == ring::kNoNode) return Place::kDown;
  *owner = o;
  return Place::kOwner;
}

size_t ClusterSnapshot::ReplicasOf(uint64_t pos, std::span<uint32_t> out) const {
  return ring->Owners(pos, out.first(std::min<size_t>(replication, out.size())));
}

ClusterView::ClusterView(const Clock& clock, ClusterCounters& counters, const std::string& self_id)
    : clock_(clock),
      counters_(counters),
      self_id_(self_id),
      cell_(std::make_shared<ClusterSnapshot>()) {}

std::shared_ptr<const ClusterSnapshot> ClusterView::Snapshot() const {
  MutexLock lock(mu_);
  return CurrentLocked();
}

uint64_t ClusterView::epoch() const {
  return Snapshot()->epoch;
}

void ClusterView::UpdateMode() {
  const ClusterSnapshot& s = *CurrentLocked();
  const bool await = s.epoch == 0 && !await_reason_.empty();
  mode_.store((s.epoch > 0 ? kFence : 0) | (roles_held_ ? kRoles : 0) | (await ? kAwait : 0) |
                  (s.epoch > 0 && s.replication > 1 ? kReplicas : 0),
              std::memory_order_relaxed);
  counters_.epoch.store(s.epoch, std::memory_order_relaxed);
}

StatusOr<uint64_t> ClusterView::SetMap(std::string_view map_json, std::string_view registry) {
  StatusOr<cluster::ClusterMap> map = cluster::ClusterMapFromJson(map_json);
  if (!map.ok()) return InvalidArgument("bad cluster map: " + map.status().message());
  {
    MutexLock lock(mu_);
    if (!registry.empty()) registry_ = std::string(registry);
    if (map->epoch <= CurrentLocked()->epoch) return CurrentLocked()->epoch;
  }
  StatusOr<ring::RingPtr> ring = cluster::BuildRing(*map);
  if (!ring.ok()) return InvalidArgument("bad cluster map: " + ring.status().message());
  auto next = std::make_shared<ClusterSnapshot>();
  for (const ring::NodeSpec& n : (*ring)->nodes()) {
    const cluster::NodeInfo* found = nullptr;
    for (const cluster::NodeInfo& info : map->nodes) {
      if (info.id == n.id) found = &info;
    }
    next->addrs.push_back(found ? found->addr : std::string());
    next->grpc_addrs.push_back(found ? found->grpc_addr : std::string());
    next->down.push_back(found && found->state == cluster::NodeState::kDown ? 1 : 0);
  }
  next->replication = map->replication;
  next->epoch = map->epoch;
  next->ring = *ring;
  next->map_json = cluster::ToJson(*map);
  next->map = std::make_shared<const cluster::ClusterMap>(std::move(*map));
  MutexLock lock(mu_);
  if (next->epoch <= CurrentLocked()->epoch) return CurrentLocked()->epoch;  // a newer one won
  next->self = next->ring->IndexOf(self_id_);
  ReplaceLocked(std::move(next));
  UpdateMode();
  return CurrentLocked()->epoch;
}

std::string ClusterView::registry() const {
  MutexLock lock(mu_);
  return registry_;
}

void ClusterView::SetRegistry(std::string addr) {
  MutexLock lock(mu_);
  registry_ = std::move(addr);
}

void ClusterView::AwaitMap(std::string reason) {
  MutexLock lock(mu_);
  await_reason_ = std::move(reason);
  UpdateMode();
}

std::string ClusterView::await_reason() const {
  MutexLock lock(mu_);
  return await_reason_;
}

void ClusterView::SetRolesHeld(bool held) {
  MutexLock lock(mu_);
  roles_held_ = held;
  UpdateMode();
}

}  // namespace ringkv::node
