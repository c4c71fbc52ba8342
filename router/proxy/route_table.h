// RouteTable: an immutable routing snapshot of one epoch, built from the
// cluster map and published atomically by the registry. The proxy and the
// HTTP data API read it without locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "cluster/cluster_map.h"
#include "ring/ring.h"

namespace ringkv::router {

struct Backend {
  std::string id;
  std::string addr;  // "host:port" (RESP)
  std::string host;
  uint16_t port = 0;
  cluster::BackendKind kind = cluster::BackendKind::kRingkv;
  uint32_t map_index = 0;  // index in the cluster map: X-CacheServer-Index
};

// The ring before a migration, while keys move (from its copying phase to
// its switch). The proxy uses it two ways, by the kind of the new owner:
//  - ringkv nodes: read-only commands on a moving key go to the OLD owner.
//    Every write lands on both owners before it is acknowledged (the new
//    owner writes through to the old one), so the old owner holds every
//    acknowledged write, and a read costs no fetch from it;
//  - redis-servers, which cannot fetch a key they lack: the proxy first moves
//    every key a command names (MIGRATE from the old owner to the new one,
//    never replacing a key the new owner already has), then runs the command
//    on the new owner.
struct KeyMoves {
  ring::RingPtr from_ring;             // the ring before the move
  std::vector<Backend> from_backends;  // aligned with from_ring->nodes()
};

struct RouteTable {
  uint64_t epoch = 0;
  ring::RingPtr ring;             // nodes in service
  std::vector<Backend> backends;  // aligned with ring->nodes(): backends[ring->OwnerIndex(p)]
  size_t in_service = 0;          // X-CacheServer-Count
  std::shared_ptr<const KeyMoves> moves;  // null unless keys are moving

  // The back end owning `key`, or nullptr when no node is in service.
  const Backend* Route(std::string_view key) const {
    if (!ring || ring->empty()) return nullptr;
    return &backends[ring->OwnerIndexOfKey(key)];
  }
};

using RouteTablePtr = std::shared_ptr<const RouteTable>;

StatusOr<RouteTablePtr> MakeRouteTable(const cluster::ClusterMap& map);

// Where readers get the current table. Current() is cheap and thread-safe.
class RouteSource {
 public:
  virtual ~RouteSource() = default;
  virtual RouteTablePtr Current() const = 0;
};

// A RouteSource holding one table, replaced atomically by Publish().
class AtomicRouteSource final : public RouteSource {
 public:
  RouteTablePtr Current() const override { return table_.load(std::memory_order_acquire); }
  void Publish(RouteTablePtr table) { table_.store(std::move(table), std::memory_order_release); }

 private:
  std::atomic<RouteTablePtr> table_;
};

}  // namespace ringkv::router
