#include "node/view/cluster_view.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

namespace ringkv::node {

namespace {

bool Holds(std::span<const uint32_t> list, uint32_t index) {
  return std::find(list.begin(), list.end(), index) != list.end();
}

}  // namespace

size_t ReplicaMove::ReplicasOf(std::string_view key, std::span<uint32_t> out) const {
  const size_t n =
      ring->Owners(ring->KeyPosition(key), out.first(std::min<size_t>(replication, out.size())));
  for (size_t i = 0; i < n; ++i) out[i] = table[out[i]];
  return n;
}

bool ClusterSnapshot::OwnsByMap(std::string_view key) const {
  if (epoch == 0 || self == ring::kNoNode) return false;
  std::array<uint32_t, ring::kMaxReplication> list{};
  if (move != nullptr && Holds(std::span(list).first(move->ReplicasOf(key, list)), self)) {
    return true;
  }
  if (replication <= 1) return ring->OwnerIndexOfKey(key) == self;
  return Holds(std::span(list).first(ReplicasOf(ring->KeyPosition(key), list)), self);
}

const std::string* ClusterSnapshot::DownHomeOf(std::string_view key) const {
  if (home_ring == nullptr || map == nullptr) return nullptr;
  const std::string& home = home_ring->OwnerOfKey(key);
  for (const cluster::NodeInfo& n : map->nodes) {
    if (n.id == home) return n.state == cluster::NodeState::kDown ? &n.id : nullptr;
  }
  return nullptr;
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

ClusterView::ClusterView(const Clock& clock, ClusterCounters& counters, const std::string& self_id,
                         uint64_t max_epoch_step)
    : clock_(clock),
      counters_(counters),
      self_id_(self_id),
      max_epoch_step_(max_epoch_step),
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
  const bool replicas = s.replication > 1 || (s.move && s.move->replication > 1);
  mode_.store((s.epoch > 0 ? kFence : 0) | (roles_held_ ? kRoles : 0) | (await ? kAwait : 0) |
                  (s.epoch > 0 && replicas ? kReplicas | kTombstones : 0) |
                  (s.epoch > 0 && s.any_down ? kTombstones : 0),
              std::memory_order_relaxed);
  counters_.epoch.store(s.epoch, std::memory_order_relaxed);
}

Status ClusterView::CheckOfferLocked(uint64_t offered, std::string_view registry,
                                     MapFrom from) const {
  // The registry always names itself; a push that names none once one is
  // known comes from something else. (A router restarted on another address
  // names a new one: without the cluster secret a forged name cannot be told
  // from that, so the epoch step is what bounds a map from anywhere.)
  if (from == MapFrom::kPush && registry.empty() && !registry_.empty()) {
    return Status(StatusCode::kPermissionDenied,
                  "cluster map epoch " + std::to_string(offered) +
                      " pushed without naming its registry; this node takes pushed maps only "
                      "from its registry (" +
                      registry_ + ")");
  }
  if (offered <= CurrentLocked()->epoch) return OkStatus();
  return CheckEpochStep(CurrentLocked()->epoch, offered, max_epoch_step_);
}

Status ClusterView::CheckEpoch(uint64_t offered) const {
  Status s = CheckEpochStep(epoch(), offered, max_epoch_step_);
  if (!s.ok()) counters_.refused.Count(Refusal::kEpochStep, s.message(), clock_.NowMs());
  return s;
}

StatusOr<uint64_t> ClusterView::SetMap(std::string_view map_json, std::string_view registry,
                                       MapFrom from) {
  StatusOr<cluster::ClusterMap> map = cluster::ClusterMapFromJson(map_json);
  if (!map.ok()) return InvalidArgument("bad cluster map: " + map.status().message());
  {
    MutexLock lock(mu_);
    if (Status s = CheckOfferLocked(map->epoch, registry, from); !s.ok()) {
      counters_.refused.Count(
          s.code() == StatusCode::kPermissionDenied ? Refusal::kMapSource : Refusal::kEpochStep,
          s.message(), clock_.NowMs());
      return s;
    }
    if (!registry.empty() && registry != registry_) {
      if (!registry_.empty()) spdlog::info("registry: {} -> {}", registry_, registry);
      registry_ = std::string(registry);
    }
    if (map->epoch <= CurrentLocked()->epoch) return CurrentLocked()->epoch;
  }
  StatusOr<ring::RingPtr> ring = cluster::BuildRing(*map);
  if (!ring.ok()) return InvalidArgument("bad cluster map: " + ring.status().message());
  MutexLock lock(mu_);
  InstallLocked(*std::move(map), *std::move(ring));
  return CurrentLocked()->epoch;
}

void ClusterView::InstallLocked(cluster::ClusterMap map, ring::RingPtr ring) {
  if (map.epoch <= CurrentLocked()->epoch) return;  // a newer one won
  ReplaceLocked(
      BuildLocked(std::make_shared<const cluster::ClusterMap>(std::move(map)), std::move(ring)));
  UpdateMode();
}

std::shared_ptr<ClusterSnapshot> ClusterView::BuildLocked(
    std::shared_ptr<const cluster::ClusterMap> map, ring::RingPtr ring) const {
  auto next = std::make_shared<ClusterSnapshot>();
  auto add = [&](const cluster::ClusterMap& from, const std::string& id) {
    const cluster::NodeInfo* found = nullptr;
    if (std::optional<size_t> i = from.Find(id)) found = &from.nodes[*i];
    next->addrs.push_back(found ? found->addr : std::string());
    next->grpc_addrs.push_back(found ? found->grpc_addr : std::string());
    next->down.push_back(found && found->state == cluster::NodeState::kDown ? 1 : 0);
  };
  for (const ring::NodeSpec& n : ring->nodes()) add(*map, n.id);
  next->self = ring->IndexOf(self_id_);
  if (move_ != nullptr) {
    auto move = std::make_shared<ReplicaMove>(*move_);
    for (const ring::NodeSpec& n : move->ring->nodes()) {
      uint32_t index = ring->IndexOf(n.id);
      if (index == ring::kNoNode) {
        index = static_cast<uint32_t>(next->addrs.size());
        next->old_only_ids.push_back(n.id);
        add(*move->from_map, n.id);
        if (n.id == self_id_) next->self = index;
      }
      move->table.push_back(index);
    }
    next->move = std::move(move);
  }
  for (const cluster::NodeInfo& info : map->nodes) {
    next->any_down = next->any_down || info.state == cluster::NodeState::kDown;
  }
  if (next->any_down && map->replication == 1) {
    std::vector<ring::NodeSpec> home;
    for (const cluster::NodeInfo& info : map->nodes) {
      if (info.state != cluster::NodeState::kLeaving) {
        home.push_back({info.id, info.weight});
      }
    }
    auto built = ring::Ring::Build(home, {.vnodes_per_weight = map->vnodes, .hash = map->hash});
    if (built.ok()) next->home_ring = *built;
  }
  next->replication = map->replication;
  next->epoch = map->epoch;
  next->ring = std::move(ring);
  next->map_json = cluster::ToJson(*map);
  next->map = std::move(map);
  return next;
}

void ClusterView::SetReplicaMove(std::shared_ptr<const cluster::ClusterMap> from, bool reads_new) {
  StatusOr<ring::RingPtr> ring = cluster::BuildRing(*from);
  if (!ring.ok()) return;  // the router built it from the same map
  auto move = std::make_shared<ReplicaMove>();
  move->from_map = from;
  move->ring = *ring;
  move->replication = from->replication;
  move->reads_new = reads_new;
  MutexLock lock(mu_);
  move_ = std::move(move);
  const ClusterSnapshot& cur = *CurrentLocked();
  if (from->epoch > cur.epoch) {
    InstallLocked(*from, *std::move(ring));
    return;
  }
  if (cur.epoch == 0) return;
  ReplaceLocked(BuildLocked(cur.map, cur.ring));
  UpdateMode();
}

void ClusterView::ClearReplicaMove() {
  MutexLock lock(mu_);
  if (move_ == nullptr) return;
  move_.reset();
  const ClusterSnapshot& cur = *CurrentLocked();
  if (cur.epoch == 0) return;
  ReplaceLocked(BuildLocked(cur.map, cur.ring));
  UpdateMode();
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
