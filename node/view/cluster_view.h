// ClusterView: this node's view of the cluster — the newest cluster map with
// its ring, this node's index in it, the addresses of every node, the
// router's address, and whether the node must wait for a first map — and
// placement: where the keys of a command are served (docs/design.md
// "Placement and forwarding").
//
// With a map of epoch > 0, a key this node does not own is served by its
// owner (the command is forwarded, or answered "MOVED <epoch> <owner addr>"),
// unless the node holds it in a migration role: the migration roles
// (node/migration/) pass those arcs to PlaceOf and tell the view they hold
// some (kRoles), so the command path knows to ask them.
//
// Thread safety: every method may be called concurrently. What a command
// sees is an immutable ClusterSnapshot; mode() is one relaxed atomic load, so
// a node with no map and no migration pays nothing else per command, and
// FastHere and OwnsByMap take no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "cluster/cluster_map.h"
#include "node/view/cluster_counters.h"
#include "node/view/snapshot_cell.h"
#include "ring/arc_set.h"
#include "ring/hash.h"
#include "ring/ring.h"

namespace ringkv::node {

// Arcs this node serves whatever the map says: those it holds in a
// migration role (docs/design.md "Moving keys").
struct HeldArcs {
  ring::HashKind hash = ring::HashKind::kXxh3;  // the hash the arcs are in
  ring::ArcSet arcs;
};

// While replica sets move (docs/replication.md, "Moves"): the ring before
// the move, kept beside the map's. Node indices are into the snapshot's
// node table (ClusterSnapshot::NodeId).
struct ReplicaMove {
  std::shared_ptr<const cluster::ClusterMap> from_map;
  ring::RingPtr ring;           // the old ring
  uint32_t replication = 1;     // the old map's
  std::vector<uint32_t> table;  // node-table index of each ring->nodes() entry
  bool reads_new = false;       // switched: reads go to the new replica sets

  // The old preference list of `key` as node-table indices, written to
  // `out`; returns its length, min(replication, ring size, out.size()).
  size_t ReplicasOf(std::string_view key, std::span<uint32_t> out) const;
};

// An immutable snapshot of the cluster map (epoch 0 = none: this node owns
// everything).
class ClusterSnapshot {
 public:
  enum class Place : uint8_t {
    kHere,   // this node owns every key, or holds it in a migration role
    kOwner,  // one other node owns every key: `owner`
    kSplit,  // the keys live on several nodes
    kDown,   // the map has no node in service
  };

  // The place of one key; *owner is set for kOwner. `held`: arcs served
  // here whatever the map says (null: none).
  Place PlaceOf(std::string_view key, const HeldArcs* held, uint32_t* owner) const;
  // Whether the map (epoch > 0) places `key` on this node: as its owner or,
  // with replication > 1, as one of its replicas; while replica sets move,
  // in the old ring too.
  bool OwnsByMap(std::string_view key) const;

  // Replicas (docs/replication.md): the preference list of ring position
  // `pos`, the owner first, written to `out`; returns its length,
  // min(replication, ring size, out.size()). Requires epoch > 0.
  size_t ReplicasOf(uint64_t pos, std::span<uint32_t> out) const;
  // Whether the map marks ring node `index` down (it keeps its place in the
  // ring while replication > 1; the other replicas serve its keys).
  bool MarkedDown(uint32_t index) const { return index < down.size() && down[index] != 0; }
  // Replication 1 while a node is down: the id of the down node whose arc
  // holds `key` (its successor here serves the arc meanwhile), or null.
  const std::string* DownHomeOf(std::string_view key) const;
  // The id of node-table entry `index`: ring->nodes() first, then the nodes
  // only the old ring of a replica move holds.
  const std::string& NodeId(uint32_t index) const {
    return index < ring->size() ? ring->nodes()[index].id : old_only_ids[index - ring->size()];
  }

  // The node table is ring->nodes(), then (while replica sets move) the
  // nodes of the old ring the map's ring lacks; addrs, grpc_addrs and down
  // are aligned with it.
  uint64_t epoch = 0;
  ring::RingPtr ring;                              // null when epoch == 0
  uint32_t self = ring::kNoNode;                   // this node's index in the node table
  std::vector<std::string> addrs;                  // RESP addr of each node-table entry
  std::vector<std::string> grpc_addrs;             // gRPC addr of each node-table entry
  std::shared_ptr<const cluster::ClusterMap> map;  // null when epoch == 0
  uint32_t replication = 1;                        // the map's, or 1 without a map
  bool any_down = false;                           // some node of the map is down
  // Replication 1 with a node down: the ring as if the down nodes were in
  // it, for DownHomeOf; null otherwise.
  ring::RingPtr home_ring;
  std::vector<uint8_t> down;                // per node-table entry: marked down
  std::string map_json;                     // its JSON form
  std::shared_ptr<const ReplicaMove> move;  // null unless replica sets move
  std::vector<std::string> old_only_ids;    // node-table entries past ring->nodes()
};

class ClusterView {
 public:
  // mode() bits.
  static constexpr uint32_t kFence = 1;     // a map with epoch > 0 is held
  static constexpr uint32_t kRoles = 2;     // migration roles hold arcs here (SetRolesHeld)
  static constexpr uint32_t kAwait = 4;     // no map yet, and the node must not serve without one
  static constexpr uint32_t kReplicas = 8;  // the map's replication is > 1
  // Deletes leave tombstones (store/engine.h), also of keys absent here:
  // with replicas always; at replication 1 while a node is down, since it
  // may come back holding keys deleted meanwhile (MigrationKind::kReturn).
  static constexpr uint32_t kTombstones = 16;

  static constexpr uint64_t kDefaultMaxEpochStep = 1000;

  // None of the references is owned; all must outlive the view. `self_id` is
  // read when a map arrives (the node sets it before serving).
  // `max_epoch_step`: how far ahead of the held epoch a new map may be.
  ClusterView(const Clock& clock, ClusterCounters& counters, const std::string& self_id,
              uint64_t max_epoch_step = kDefaultMaxEpochStep);

  uint32_t mode() const { return mode_.load(std::memory_order_relaxed); }
  std::shared_ptr<const ClusterSnapshot> Snapshot() const EXCLUDES(mu_);
  // Whether this node serves `key` itself by the map alone (no held arcs).
  // For mode() == kFence, the common case.
  bool FastHere(std::string_view key) const {
    uint32_t owner = 0;
    return cell_.Peek().PlaceOf(key, nullptr, &owner) == ClusterSnapshot::Place::kHere;
  }
  // Whether the map says this node owns `key`.
  bool OwnsByMap(std::string_view key) const { return cell_.Peek().OwnsByMap(key); }
  uint64_t epoch() const EXCLUDES(mu_);

  // Where a map comes from: pushed to this node (Peer/SetMap, as the
  // registry does), or fetched or relayed by a peer (GetMap, a forward's
  // reply, a Join's answer).
  enum class MapFrom : uint8_t { kPush, kPeer };
  // Keeps the map if its epoch is newer. Returns the epoch held after the
  // call; InvalidArgument for a malformed map. A non-empty `registry` (the
  // router's gRPC address) is remembered, whatever the epoch.
  // Refused (docs/security.md, "Validation at the boundary"), counted in
  // ClusterCounters::refused, nothing changed:
  //  - PermissionDenied: once the node knows its registry, a map pushed
  //    (kPush) naming none;
  //  - FailedPrecondition: a map more than max_epoch_step epochs ahead of
  //    the one held (CheckEpochStep).
  StatusOr<uint64_t> SetMap(std::string_view map_json, std::string_view registry = {},
                            MapFrom from = MapFrom::kPeer) EXCLUDES(mu_);
  // CheckEpochStep against the epoch held, counted when refused.
  Status CheckEpoch(uint64_t offered) const EXCLUDES(mu_);
  uint64_t max_epoch_step() const { return max_epoch_step_; }
  // The router's gRPC address, as learned from SetMap or --join ("" = unknown).
  std::string registry() const EXCLUDES(mu_);
  void SetRegistry(std::string addr) EXCLUDES(mu_);
  // A node started with --join serves no data until its first map arrives:
  // commands on keys answer -TRYAGAIN meanwhile (kAwait).
  void AwaitMap(std::string reason) EXCLUDES(mu_);
  // Why the node waits for a map, for the -TRYAGAIN reply.
  std::string await_reason() const EXCLUDES(mu_);
  // Called by the migration roles: whether they hold arcs on this node.
  void SetRolesHeld(bool held) EXCLUDES(mu_);
  // Called by the migration roles while replica sets move: the map before
  // the move, kept beside the newest map until ClearReplicaMove, and whether
  // reads have switched to the new sets. `from` becomes the map too when it
  // is newer than the one held (a node just added may hold none).
  void SetReplicaMove(std::shared_ptr<const cluster::ClusterMap> from, bool reads_new)
      EXCLUDES(mu_);
  void ClearReplicaMove() EXCLUDES(mu_);

 private:
  void UpdateMode() REQUIRES(mu_);
  // The source and step checks of SetMap.
  Status CheckOfferLocked(uint64_t offered, std::string_view registry, MapFrom from) const
      REQUIRES(mu_);
  // A snapshot of `map` (its ring built) with the replica move held, if any.
  std::shared_ptr<ClusterSnapshot> BuildLocked(std::shared_ptr<const cluster::ClusterMap> map,
                                               ring::RingPtr ring) const REQUIRES(mu_);
  // Installs `map` when it is newer than the one held.
  void InstallLocked(cluster::ClusterMap map, ring::RingPtr ring) REQUIRES(mu_);
  // cell_ is read without a lock by Peek (FastHere, OwnsByMap), so it cannot
  // be GUARDED_BY(mu_); its current() and Replace() go through these two.
  const std::shared_ptr<const ClusterSnapshot>& CurrentLocked() const REQUIRES(mu_) {
    return cell_.current();
  }
  void ReplaceLocked(std::shared_ptr<const ClusterSnapshot> next) REQUIRES(mu_) {
    cell_.Replace(std::move(next), clock_.NowMs());
  }

  const Clock& clock_;
  ClusterCounters& counters_;
  const std::string& self_id_;
  const uint64_t max_epoch_step_;

  std::atomic<uint32_t> mode_{0};
  mutable Mutex mu_;
  SnapshotCell<ClusterSnapshot> cell_;  // current(), Replace(): CurrentLocked(), ReplaceLocked()
  std::string registry_ GUARDED_BY(mu_);
  std::string await_reason_ GUARDED_BY(mu_);  // non-empty: kAwait until a map
  bool roles_held_ GUARDED_BY(mu_) = false;
  std::shared_ptr<const ReplicaMove> move_ GUARDED_BY(mu_);  // its table is rebuilt per map
};

}  // namespace ringkv::node
