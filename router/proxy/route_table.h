// RouteTable: an immutable routing snapshot of one epoch, built from the
// cluster map and published atomically by the registry. The proxy and the
// HTTP data API read it without locks.
//
// With replication >= 2 a key has a preference list: the first
// `replication` distinct ring nodes clockwise, owner first. A request goes
// to the first LIVE replica of it (not down in the map, not suspect) and,
// when that one fails, to the next (docs/design.md, "Health and ejection").
// The suspect flags are the one mutable part of a table: atomics, set by the
// proxy when a request fails on a node and cleared by the health checker
// when the node answers a probe; MapOwner carries them to the next table.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
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
  bool down = false;       // down in the map (kept in the ring at replication >= 2)
};

// One flag per back end of a table: a request failed on it since its last
// good health probe. Relaxed atomics: a stale read costs one failover.
class SuspectFlags {
 public:
  explicit SuspectFlags(size_t n) : flags_(new std::atomic<bool>[n]), size_(n) {
    for (size_t i = 0; i < n; ++i) flags_[i].store(false, std::memory_order_relaxed);
  }
  size_t size() const { return size_; }
  bool Get(size_t i) const { return i < size_ && flags_[i].load(std::memory_order_relaxed); }
  void Set(size_t i, bool suspect) {
    if (i < size_) flags_[i].store(suspect, std::memory_order_relaxed);
  }

 private:
  std::unique_ptr<std::atomic<bool>[]> flags_;
  size_t size_;
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
  uint32_t replication = 1;               // copies of each key (the map's)
  std::shared_ptr<SuspectFlags> suspects;  // aligned with backends; never null once made

  // The back end owning `key`, or nullptr when no node is in service.
  const Backend* Route(std::string_view key) const {
    if (!ring || ring->empty()) return nullptr;
    return &backends[ring->OwnerIndexOfKey(key)];
  }

  // Whether requests may go to back end i: not down, not suspect.
  bool Live(uint32_t i) const { return !backends[i].down && !(suspects && suspects->Get(i)); }
  // Marks back end i suspect (or clears it); safe from any thread.
  void SetSuspect(uint32_t i, bool suspect) const {
    if (suspects) suspects->Set(i, suspect);
  }
  // Index of the back end whose RESP address is `addr`, or ring::kNoNode.
  uint32_t IndexOfAddr(std::string_view addr) const;

  // `key`'s preference list: min(replication, ring size) back-end indices,
  // owner first; empty when no node is in service.
  std::vector<uint32_t> Replicas(std::string_view key) const;
  // Where `key`'s request goes: its first live replica whose address is
  // not in `tried` (back ends that failed it already); when every untried replica is down or
  // suspect, the first untried one (it is tried anyway); ring::kNoNode when all were tried. At
  // replication 1 the owner, whatever its state (cache mode: the health
  // checker ejects a failed node from the ring).
  uint32_t Pick(std::string_view key, std::span<const std::string> tried = {}) const;
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
