// Registry: the router's single source of truth for the cluster map. Changes
// are serialized, persisted (MapStore) before they are published, and each
// publication replaces the route table atomically, so readers never lock.
//
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "base/function_ref.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "cluster/cluster_map.h"
#include "cluster/map_store.h"
#include "router/proxy/route_table.h"

namespace ringkv::router {

class MapOwner : public RouteSource {
 public:
  using Change = FunctionRef<StatusOr<cluster::ClusterMap>(const cluster::ClusterMap&)>;
  // Called after every published change with the old and the new map.
  using Observer =
      std::function<void(const cluster::ClusterMap& before, const cluster::ClusterMap& after)>;

  // Loads the persisted map, or starts from `defaults` when there is none.
  static StatusOr<std::unique_ptr<MapOwner>> Open(std::unique_ptr<cluster::MapStore> store,
                                                  const cluster::ClusterMap& defaults);

  RouteTablePtr Current() const override { return routes_.Current(); }
  cluster::ClusterMap Map() const EXCLUDES(mu_);

  // Computes the next map from the current one, checks it
  // (cluster::CheckReplication), persists it, publishes it. On any error
  // nothing changes. Returns the new map. `change` runs under the registry's
  // lock: it must not call back into the registry.
  StatusOr<cluster::ClusterMap> Apply(Change change) EXCLUDES(mu_);

  void set_observer(Observer observer);
  // Called with every new map after it is persisted and before the router
  // routes by it (under the registry's lock: keep it short and bounded).
  // The router pushes the map to its nodes here, so a node never holds an
  // older map than the router routes by (docs/design.md, "Cluster map and membership").
  using PrePublish = std::function<void(const cluster::ClusterMap& after)>;
  void set_pre_publish(PrePublish hook);

  // While keys move, every published table carries RouteTable::moves built
  // from `from` (the map before the move). nullopt ends it. Republishes the
  // current table at once.
  Status SetMovesFrom(std::optional<cluster::ClusterMap> from);

  // The health checker saw node `id` answer a probe: requests may go to it
  // again (RouteTable::suspects). Lock-free; a no-op for unknown ids.
  void ClearSuspect(std::string_view id) const;

 private:
  MapOwner(std::unique_ptr<cluster::MapStore> store, cluster::ClusterMap map, RouteTablePtr table);

  mutable Mutex mu_;
  std::unique_ptr<cluster::MapStore> store_ PT_GUARDED_BY(mu_);
  // The table of `map`, with the current moves and the current table's
  // suspect flags carried over by node id.
  StatusOr<RouteTablePtr> MakeTableLocked(const cluster::ClusterMap& map) const REQUIRES(mu_);

  cluster::ClusterMap map_ GUARDED_BY(mu_);
  std::shared_ptr<const KeyMoves> moves_ GUARDED_BY(mu_);
  AtomicRouteSource routes_;
  Observer observer_ GUARDED_BY(mu_);
  PrePublish pre_publish_ GUARDED_BY(mu_);
};

}  // namespace ringkv::router
