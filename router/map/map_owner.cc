#include "router/map/map_owner.h"

namespace ringkv::router {

StatusOr<std::unique_ptr<MapOwner>> MapOwner::Open(std::unique_ptr<cluster::MapStore> store,
                                                   const cluster::ClusterMap& defaults) {
  auto loaded = store->Load();
  if (!loaded.ok()) return loaded.status();
  cluster::ClusterMap map = loaded->has_value() ? **loaded : defaults;
  auto table = MakeRouteTable(map);
  if (!table.ok()) return table.status();
  return std::unique_ptr<MapOwner>(new MapOwner(std::move(store), std::move(map), *table));
}

MapOwner::MapOwner(std::unique_ptr<cluster::MapStore> store, cluster::ClusterMap map,
                   RouteTablePtr table)
    : store_(std::move(store)), map_(std::move(map)) {
  routes_.Publish(std::move(table));
}

cluster::ClusterMap MapOwner::Map() const {
  MutexLock lock(mu_);
  return map_;
}

StatusOr<cluster::ClusterMap> MapOwner::Apply(Change change) {
  cluster::ClusterMap before;
  cluster::ClusterMap after;
  Observer observer;
  {
    MutexLock lock(mu_);
    auto next = change(map_);
    if (!next.ok()) return next.status();
    if (Status s = cluster::CheckReplication(*next); !s.ok()) return s;
    auto table = MakeTableLocked(*next);
    if (!table.ok()) return table.status();
    if (Status s = store_->Save(*next); !s.ok()) return s;
    before = std::move(map_);
    map_ = *next;
    after = map_;
    if (pre_publish_ && after.epoch != before.epoch) pre_publish_(after);
    routes_.Publish(std::move(*table));
    observer = observer_;
  }
  if (observer) observer(before, after);
  return after;
}

StatusOr<RouteTablePtr> MapOwner::MakeTableLocked(const cluster::ClusterMap& map) const {
  auto table = MakeRouteTable(map);
  if (!table.ok()) return table;
  // A mark set on the old table after this copy is lost: the next failed
  // request sets it again.
  if (RouteTablePtr old = routes_.Current(); old && old->suspects) {
    const RouteTable& t = **table;
    for (uint32_t i = 0; i < t.backends.size(); ++i) {
      uint32_t was = old->ring ? old->ring->IndexOf(t.backends[i].id) : ring::kNoNode;
      if (was != ring::kNoNode && old->suspects->Get(was)) t.SetSuspect(i, true);
    }
  }
  if (!moves_) return table;
  auto with_moves = std::make_shared<RouteTable>(**table);
  with_moves->moves = moves_;
  return RouteTablePtr(std::move(with_moves));
}

void MapOwner::ClearSuspect(std::string_view id) const {
  RouteTablePtr t = routes_.Current();
  if (!t || !t->ring) return;
  uint32_t i = t->ring->IndexOf(id);
  if (i != ring::kNoNode) t->SetSuspect(i, false);
}

Status MapOwner::SetMovesFrom(std::optional<cluster::ClusterMap> from) {
  std::shared_ptr<const KeyMoves> moves;
  if (from) {
    auto old = MakeRouteTable(*from);
    if (!old.ok()) return old.status();
    auto m = std::make_shared<KeyMoves>();
    m->from_ring = (*old)->ring;
    m->from_backends = (*old)->backends;
    moves = std::move(m);
  }
  MutexLock lock(mu_);
  moves_ = std::move(moves);
  auto table = MakeTableLocked(map_);
  if (!table.ok()) return table.status();
  routes_.Publish(std::move(*table));
  return OkStatus();
}

void MapOwner::set_pre_publish(PrePublish hook) {
  MutexLock lock(mu_);
  pre_publish_ = std::move(hook);
}

void MapOwner::set_observer(Observer observer) {
  MutexLock lock(mu_);
  observer_ = std::move(observer);
}

}  // namespace ringkv::router
