#include "router/registry.h"

namespace ringkv::router {

StatusOr<std::unique_ptr<Registry>> Registry::Open(std::unique_ptr<cluster::MapStore> store,
                                                   const cluster::ClusterMap& defaults) {
  auto loaded = store->Load();
  if (!loaded.ok()) return loaded.status();
  cluster::ClusterMap map = loaded->has_value() ? **loaded : defaults;
  auto table = MakeRouteTable(map);
  if (!table.ok()) return table.status();
  return std::unique_ptr<Registry>(new Registry(std::move(store), std::move(map), *table));
}

Registry::Registry(std::unique_ptr<cluster::MapStore> store, cluster::ClusterMap map,
                   RouteTablePtr table)
    : store_(std::move(store)), map_(std::move(map)) {
  routes_.Publish(std::move(table));
}

cluster::ClusterMap Registry::Map() const {
  std::lock_guard lock(mu_);
  return map_;
}

StatusOr<cluster::ClusterMap> Registry::Apply(Change change) {
  cluster::ClusterMap before;
  cluster::ClusterMap after;
  Observer observer;
  {
    std::lock_guard lock(mu_);
    auto next = change(map_);
    if (!next.ok()) return next.status();
    auto table = MakeRouteTable(*next);
    if (!table.ok()) return table.status();
    if (Status s = store_->Save(*next); !s.ok()) return s;
    before = std::move(map_);
    map_ = *next;
    after = map_;
    routes_.Publish(std::move(*table));
    observer = observer_;
  }
  if (observer) observer(before, after);
  return after;
}

void Registry::set_observer(Observer observer) {
  std::lock_guard lock(mu_);
  observer_ = std::move(observer);
}

}  // namespace ringkv::router
