// Migration: a node's part in live rebalancing (DESIGN §6, ringkv.v1.Peer).
//
// It holds the roles of the current migration (IMPORT arcs from an old owner,
// EXPORT arcs to a new owner), the tombstones of deletes in those arcs, and
// the newest cluster map with its ring. The command path asks it to
//  - place keys: with a map of epoch > 0, a key this node does not own and
//    that lies in no role arc is served by its owner (MigrationView::PlaceOf;
//    the command is forwarded, or answered "MOVED <epoch> <owner addr>");
//  - pull on miss: before a command touches a key in an IMPORT arc that has
//    no local entry or tombstone, fetch it from the old owner (keep-newer);
//  - write through: after a write, send each key's resulting entry or a
//    tombstone to the peer of its role before the reply.
// Entries that arrive (Apply, Transfer, a fetch) are installed keep-newer:
// only when their version beats both the local entry and the local tombstone.
// EndMigration drops the arcs a node no longer owns on a background thread.
//
// Thread safety: every method may be called concurrently. What a command
// sees is an immutable MigrationView; mode() is one relaxed atomic load so a
// node with no map and no roles pays nothing else per command.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/hlc.h"
#include "base/process.h"
#include "base/status.h"
#include "cluster/cluster_map.h"
#include "node/metrics.h"
#include "node/peer_link.h"
#include "ring/arc_set.h"
#include "ring/diff.h"
#include "ring/hash.h"
#include "ring/ring.h"
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
};

// What BeginMigration asserts.
struct MigrationPlan {
  std::string id;  // non-empty
  uint64_t epoch = 0;
  ring::HashKind hash = ring::HashKind::kXxh3;
  std::vector<MigrationRole> roles;
};

// An immutable snapshot of the node's roles and cluster map.
class MigrationView {
 public:
  struct Role {
    MigrationRole role;
    ring::ArcSet set;  // role.arcs, for lookups
  };

  // The role whose arcs hold ring position `pos` (migration hash), or null.
  const Role* RoleAt(uint64_t pos) const;
  const Role* RoleOfKey(std::string_view key) const {
    return roles.empty() ? nullptr : RoleAt(ring::HashKey(hash, key));
  }
  // Whether the map (epoch > 0) says this node owns `key`.
  bool OwnsByMap(std::string_view key) const;

  // Migration (empty id = none).
  std::string migration_id;
  uint64_t migration_epoch = 0;
  ring::HashKind hash = ring::HashKind::kXxh3;
  std::vector<Role> roles;

  // Cluster map (epoch 0 = none: this node owns everything).
  uint64_t epoch = 0;
  ring::RingPtr ring;                              // null when epoch == 0
  uint32_t self = ring::kNoNode;                   // this node's index in ring->nodes()
  std::vector<std::string> addrs;                  // RESP addr of each ring->nodes() entry
  std::vector<std::string> grpc_addrs;             // gRPC addr of each ring->nodes() entry
  std::shared_ptr<const cluster::ClusterMap> map;  // null when epoch == 0
  std::string map_json;                            // its JSON form

  // Where a command's keys are served (forwarding, DESIGN §7).
  enum class Place : uint8_t {
    kHere,   // this node owns every key, or holds it in a migration role
    kOwner,  // one other node owns every key: `owner`
    kSplit,  // the keys live on several nodes
    kDown,   // the map has no node in service
  };
  // The place of one key; *owner is set for kOwner.
  Place PlaceOf(std::string_view key, uint32_t* owner) const;
};

class Migration {
 public:
  // mode() bits.
  static constexpr uint32_t kFence = 1;  // a map with epoch > 0 is held
  static constexpr uint32_t kRoles = 2;  // a migration with roles is held
  static constexpr uint32_t kAwait = 4;  // no map yet, and the node must not serve without one

  // Keep-newer outcome counts of a batch of arrivals.
  struct Tally {
    uint64_t applied = 0;
    uint64_t skipped = 0;
  };

  // None of the references is owned; all must outlive the Migration.
  // `self_id` is read when a map arrives (the node sets it before serving).
  // `bulk_yield`: how often the loops that move keys (the copy, the install
  // of arriving keys, the drop of moved ones) offer the CPU to the threads
  // serving requests; 0 = never (see CpuYielder).
  Migration(store::Engine& engine, const Clock& clock, HybridClock& hlc, Metrics& metrics,
            const std::string& self_id, PeerLink& link,
            std::chrono::microseconds bulk_yield = CpuYielder::kDefaultInterval);
  ~Migration();  // stops the drop thread (a drop under way stops between chunks)

  uint32_t mode() const { return mode_.load(std::memory_order_relaxed); }
  std::chrono::microseconds bulk_yield() const { return bulk_yield_; }
  std::shared_ptr<const MigrationView> View() const;
  // Whether this node serves `key` itself while mode() == kFence (lock-free).
  bool FastHere(std::string_view key) const {
    uint32_t owner = 0;
    return fast_.load(std::memory_order_acquire)->PlaceOf(key, &owner) ==
           MigrationView::Place::kHere;
  }

  // --- Peer RPCs ---
  // BeginMigration. Same id: re-asserts the roles and keeps the tombstones;
  // another id replaces the migration. InvalidArgument for an empty id.
  Status Begin(MigrationPlan plan);
  // EndMigration; ignores ids other than the current one. Schedules the drop
  // of the EXPORT arcs (completed) or the IMPORT arcs (cancelled).
  void End(std::string_view id, bool cancelled, uint32_t drop_after_ms);
  // SetMap: keeps the map if its epoch is newer. Returns the epoch held after
  // the call; InvalidArgument for a malformed map. A non-empty `registry` (the
  // router's gRPC address) is remembered, whatever the epoch.
  StatusOr<uint64_t> SetMap(std::string_view map_json, std::string_view registry = {});
  // The router's gRPC address, as learned from SetMap or --join ("" = unknown).
  std::string registry() const;
  void SetRegistry(std::string addr);
  // A node started with --join serves no data until its first map arrives:
  // commands on keys answer -TRYAGAIN meanwhile.
  void AwaitMap(std::string reason);
  // FailedPrecondition unless `id` is the current migration.
  Status CheckId(std::string_view id) const;
  // For Apply and Fetch: also accepts a migration this node ended recently.
  // The router ends a migration node by node, so a peer that has not ended
  // yet may still write through to (or fetch from) this one; keep-newer makes
  // those arrivals safe, and an old owner's drop removes what it no longer owns.
  Status CheckIdOrRecent(std::string_view id) const;
  // Installs one arrival keep-newer (expired live entries are dropped).
  // Errors: the engine's (e.g. kResourceExhausted).
  Status Install(std::string_view key, std::string_view value, uint64_t version,
                 int64_t expire_at_ms, bool tombstone, int64_t now_ms, Tally& tally);
  // Fetch: the live entry or the tombstone of `key`, or nullopt.
  std::optional<WireEntry> Read(std::string_view key, int64_t now_ms);

  uint64_t epoch() const;
  std::string migration_id() const;
  // Why the node waits for a map (kAwait), for the -TRYAGAIN reply.
  std::string await_reason() const;
  size_t pending_drops() const;

  // --- The command path (mode() & kRoles) ---
  // Whether running a command on `keys` here calls a peer: a write on a key
  // in any role arc (write-through), or a key in an IMPORT arc that has no
  // entry and no tombstone here (pull-on-miss).
  bool NeedsPeer(const MigrationView& view, std::span<const std::string_view> keys, bool write,
                 int64_t now_ms);
  // Fetches the keys in IMPORT arcs that have no entry and no tombstone here.
  // Errors: "migration peer <addr> unavailable: ..." and the like.
  Status PullMissing(const MigrationView& view, std::span<const std::string_view> keys,
                     int64_t now_ms);
  // Sends the state of each key in a role arc to that role's peer.
  Status WriteThrough(const MigrationView& view, std::span<const std::string_view> keys,
                      int64_t now_ms);

 private:
  void Publish(std::shared_ptr<const MigrationView> view);  // requires mu_
  bool KeepOnDrop(std::string_view key) const;
  // Whether `key` has an entry or a tombstone here.
  bool HeldHere(std::string_view key, int64_t now_ms);

  store::Engine& engine_;
  const Clock& clock_;
  HybridClock& hlc_;
  Metrics& metrics_;
  const std::string& self_id_;
  PeerLink& link_;
  const std::chrono::microseconds bulk_yield_;

  std::atomic<uint32_t> mode_{0};
  std::atomic<const MigrationView*> fast_;
  mutable std::mutex mu_;
  std::shared_ptr<const MigrationView> view_;  // guarded by mu_
  std::vector<std::string> recently_ended_;    // guarded by mu_; the last few ids
  std::string registry_;                       // guarded by mu_
  std::string await_reason_;                   // guarded by mu_; non-empty: kAwait until a map
  // Replaced views stay alive for a grace period, since FastHere reads them
  // through a raw pointer. Guarded by mu_.
  std::vector<std::pair<int64_t, std::shared_ptr<const MigrationView>>> retired_;
  std::unique_ptr<internal::TombstoneTable> tombstones_;
  std::unique_ptr<internal::ArcDropper> dropper_;  // last: its thread uses the rest
};

}  // namespace ringkv::node
