// MigrationRoles: a node's part in live rebalancing (docs/design.md "Moving
// keys", ringkv.v1.Peer).
//
// It holds the roles of the current migration (IMPORT arcs from an old
// owner, EXPORT arcs to a new owner) and the tombstones of deletes in those
// arcs. It reads the cluster view (node/view/cluster_view.h) but does not own it;
// it tells the view whether it holds arcs, so placement serves the keys in
// them here. The command path asks it to
//  - pull on miss: before a command touches a key in an IMPORT arc that has
//    no local entry or tombstone, fetch it from the old owner (keep-newer);
//  - write through: after a write, send each key's resulting entry or a
//    tombstone to the peer of its role before the reply.
// Entries that arrive (Apply, Transfer, a fetch) are installed keep-newer:
// only when their version beats both the local entry and the local tombstone.
// End drops the arcs a node no longer owns on a background thread.
//
// When replica sets move (MigrationPlan::from_map) the command path leaves
// the roles alone (the replica coordinator writes to both sets instead):
// Begin hands the old map to the view, arrivals are installed keep-newer
// against the store's own tombstones, and End drops, in every arc of the
// roles, the keys and tombstones this node no longer replicates.
//
// Thread safety: every method may be called concurrently. What a command
// sees is an immutable RoleSnapshot.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/hlc.h"
#include "base/process.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "cluster/cluster_map.h"
#include "node/migration/peer_link.h"
#include "node/view/cluster_counters.h"
#include "node/view/cluster_view.h"
#include "node/view/snapshot_cell.h"
#include "ring/arc_set.h"
#include "ring/diff.h"
#include "ring/hash.h"
#include "store/engine.h"

namespace ringkv::node {

namespace internal {
class ArcDropper;
class TombstoneTable;
}  // namespace internal

struct MigrationRole {
  enum class Kind : uint8_t {
    kImport,  // this node is the new owner; the peer is the old owner
    kExport,  // this node is the old owner; the peer is the new owner
  };
  Kind kind = Kind::kImport;
  std::string peer_id;
  std::string peer_grpc;  // "host:port" of the peer's gRPC listener
  std::vector<ring::Arc> arcs;
  // A replication-1 node back after its successor served its arcs
  // (cluster::MigrationKind::kReturn). kImport: what this node holds in the
  // arcs may be older than the peer's, so every key touched is fetched
  // keep-newer, held here or not. kExport: the peer holds keys this node
  // never had, so a key not held here is unknown, not absent.
  bool refresh = false;
};

// What BeginMigration asserts.
struct MigrationPlan {
  std::string id;  // non-empty
  uint64_t epoch = 0;
  ring::HashKind hash = ring::HashKind::kXxh3;
  std::vector<MigrationRole> roles;
  // Set when replica sets move (docs/replication.md, "Moves"): the map
  // before the move. The roles then only steer the copy and the drop.
  std::shared_ptr<const cluster::ClusterMap> from_map;
  bool switched = false;  // a replica move whose reads went to the new sets
};

// An immutable snapshot of the node's migration roles (no migration: an
// empty id and no roles).
class RoleSnapshot {
 public:
  struct Role {
    MigrationRole role;
    ring::ArcSet set;  // role.arcs, for lookups
  };

  RoleSnapshot() = default;
  explicit RoleSnapshot(MigrationPlan plan);

  // The role whose arcs hold ring position `pos` (migration hash), or null.
  const Role* RoleAt(uint64_t pos) const;
  const Role* RoleOfKey(std::string_view key) const {
    return roles.empty() ? nullptr : RoleAt(ring::HashKey(hash, key));
  }
  // The arcs of every role, for placement; null without roles.
  const HeldArcs* held() const { return roles.empty() ? nullptr : &held_; }

  std::string migration_id;  // empty = none
  uint64_t migration_epoch = 0;
  bool replicas = false;  // replica sets move: no pull-on-miss, no write-through
  ring::HashKind hash = ring::HashKind::kXxh3;
  std::vector<Role> roles;
  bool refresh_exports = false;  // some EXPORT role has refresh set

 private:
  HeldArcs held_{ring::HashKind::kXxh3, ring::ArcSet({})};
};

class MigrationRoles {
 public:
  // Keep-newer outcome counts of a batch of arrivals.
  struct Tally {
    uint64_t applied = 0;
    uint64_t skipped = 0;
  };

  // None of the references is owned; all must outlive the MigrationRoles.
  // `bulk_yield`: how often the loops that move keys (the copy, the install
  // of arriving keys, the drop of moved ones) offer the CPU to the threads
  // serving requests; 0 = never (see CpuYielder).
  MigrationRoles(ClusterView& view, store::Engine& engine, const Clock& clock, HybridClock& hlc,
                 ClusterCounters& counters, PeerLink& link,
                 std::chrono::microseconds bulk_yield = CpuYielder::kDefaultInterval);
  ~MigrationRoles();  // stops the drop thread (a drop under way stops between chunks)

  std::chrono::microseconds bulk_yield() const { return bulk_yield_; }
  std::shared_ptr<const RoleSnapshot> Roles() const EXCLUDES(mu_);

  // --- Peer RPCs ---
  // BeginMigration. Same id: re-asserts the roles and keeps the tombstones;
  // another id replaces the migration. InvalidArgument for an empty id.
  Status Begin(MigrationPlan plan) EXCLUDES(mu_);
  // EndMigration; ignores ids other than the current one. Schedules the drop
  // of the EXPORT arcs (completed) or the IMPORT arcs (cancelled); for a
  // replica move, of every role arc, keeping what the map then places here.
  void End(std::string_view id, bool cancelled, uint32_t drop_after_ms) EXCLUDES(mu_);
  // FailedPrecondition unless `id` is the current migration.
  Status CheckId(std::string_view id) const EXCLUDES(mu_);
  // For Apply and Fetch: also accepts a migration this node ended recently.
  // The router ends a migration node by node, so a peer that has not ended
  // yet may still write through to (or fetch from) this one; keep-newer makes
  // those arrivals safe, and an old owner's drop removes what it no longer owns.
  Status CheckIdOrRecent(std::string_view id) const EXCLUDES(mu_);
  // Installs one arrival keep-newer (expired live entries are dropped).
  // Refused, counted and nothing installed (docs/security.md, "Validation at
  // the boundary"): PermissionDenied for a key in no role arc of the current
  // or a recently ended migration that the map does not place here either;
  // OutOfRange for a version beyond the clock's drift bound (HybridClock).
  // Errors: the engine's (e.g. kResourceExhausted). `value` is taken (moved
  // into the store when installed): a large value is not copied again.
  Status Install(std::string_view key, std::string value, uint64_t version, int64_t expire_at_ms,
                 bool tombstone, int64_t now_ms, Tally& tally);
  // Fetch: the live entry or the tombstone of `key`, or nullopt.
  std::optional<WireEntry> Read(std::string_view key, int64_t now_ms);

  std::string migration_id() const EXCLUDES(mu_);
  size_t pending_drops() const;

  // --- The command path (ClusterView::kRoles) ---
  // Whether running a command on `keys` here calls a peer: a write on a key
  // in any role arc (write-through), or a key in an IMPORT arc that has no
  // entry and no tombstone here (pull-on-miss), or any key in a refresh
  // IMPORT arc.
  bool NeedsPeer(const RoleSnapshot& roles, std::span<const std::string_view> keys, bool write,
                 int64_t now_ms);
  // Fetches the keys in IMPORT arcs that have no entry and no tombstone here,
  // and every key in a refresh IMPORT arc.
  // Errors: "migration peer <addr> unavailable: ..." and the like.
  Status PullMissing(const RoleSnapshot& roles, std::span<const std::string_view> keys,
                     int64_t now_ms);
  // Sends the state of each key in a role arc to that role's peer.
  Status WriteThrough(const RoleSnapshot& roles, std::span<const std::string_view> keys,
                      int64_t now_ms);

 private:
  // cell_ is read without a lock by Peek (KeepOnDrop), so it cannot be
  // GUARDED_BY(mu_); its current() and Replace() go through these two.
  const std::shared_ptr<const RoleSnapshot>& CurrentLocked() const REQUIRES(mu_) {
    return cell_.current();
  }
  void Publish(std::shared_ptr<const RoleSnapshot> next) REQUIRES(mu_);  // Replace()s cell_
  bool KeepOnDrop(std::string_view key) const;
  // Whether a role arc (current or recently ended) or the map places `key` here.
  bool PlacedHere(std::string_view key) const EXCLUDES(mu_);
  // Install's boundary checks; the clock observes `version` when it passes.
  Status CheckArrival(std::string_view key, uint64_t version, int64_t now_ms);
  // Whether `key` has an entry or a tombstone here.
  bool HeldHere(std::string_view key, int64_t now_ms);

  ClusterView& view_;
  store::Engine& engine_;
  const Clock& clock_;
  HybridClock& hlc_;
  ClusterCounters& counters_;
  PeerLink& link_;
  const std::chrono::microseconds bulk_yield_;

  mutable Mutex mu_;
  SnapshotCell<RoleSnapshot> cell_;  // current(), Replace(): CurrentLocked(), Publish()
  // The last few ended migrations (their ids and arcs).
  std::vector<std::shared_ptr<const RoleSnapshot>> recently_ended_ GUARDED_BY(mu_);
  std::unique_ptr<internal::TombstoneTable> tombstones_;
  std::unique_ptr<internal::ArcDropper> dropper_;  // last: its thread uses the rest
};

}  // namespace ringkv::node
