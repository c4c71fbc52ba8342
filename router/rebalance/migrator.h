// Migrator: runs live rebalancing (docs/design.md, "Moving keys"; docs/rebalancing.md). Every
// change of the ring — add, remove, weight, vnodes — goes through Change(),
// which plans the move (cluster/migration.h) and runs the persisted state
// machine on its own thread:
//
//   planned → copying:  persist; BeginMigration on every involved node;
//                       publish the routing map E+1 (Registry::Apply); SetMap
//                       on every node; wait a grace period; MoveArcs on every
//                       source in parallel (retried with backoff, roles
//                       re-asserted first), marking sources done
//   → switching:        replica moves: BeginMigration(switched) on every
//                       involved node (reads go to the new replica sets),
//                       wait the grace period;
//                       EndMigration(completed) on every involved node;
//                       joining nodes become active, leaving ones leave
//                       (a new epoch, same ring); SetMap
//   → cleaning → done:  after the grace period the old owners have dropped
//                       the moved arcs
//   cancel:             publish the old membership with a new epoch; SetMap;
//                       wait the grace period; EndMigration(cancelled)
//
// The record (<data_dir>/migration.json, with the last finished ones) is
// written durably at every state change and as sources finish; each step is
// idempotent, so a router killed at any point resumes from the record (Open).
//
// One migration at a time: Change() while one runs fails with kAborted.
//
// Thread safety: all public methods are safe to call concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/function_ref.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "cluster/migration.h"
#include "router/map/map_owner.h"
#include "router/rebalance/arc_mover.h"

namespace ringkv::router {

class NodeClient;

// One migration as GET /migrations shows it (JSON object): the record less
// its maps and arc lists, plus from_epoch, to_epoch, started_ms, rate
// (keys/s over the last seconds; 0 when unknown) and eta_s (null when
// unknown).
std::string MigrationSummaryJson(const cluster::Migration& m, double rate = 0,
                                 std::optional<double> eta_s = std::nullopt);

struct MigratorOptions {
  std::string data_dir;            // migration.json lives here (the registry's directory)
  uint32_t grace_ms = 1000;        // wait after publishing a map, and before old owners drop arcs
  uint64_t max_keys_per_sec = 0;   // default copy rate limit per source; 0 = unlimited
  uint64_t max_bytes_per_sec = 0;  // likewise in key + value bytes
  // Sources copying at once; 0 = every source of the migration. Each copy
  // keeps a source's scan thread and its targets' install threads busy.
  uint32_t max_parallel_copies = 0;
  uint32_t retry_min_ms = 200;  // backoff of a failed step: doubles up to retry_max_ms
  uint32_t retry_max_ms = 5000;
  size_t history = 10;  // finished migrations kept for GET /migrations
};

class Migrator {
 public:
  // `mover` drives ringkv nodes; `peers` probes them before a migration (null:
  // no probe). Neither is owned.
  Migrator(MigratorOptions options, MapOwner& map_owner, ArcMover& mover, NodeClient* peers,
           Clock& clock = SystemClock::Instance());
  ~Migrator();

  // Loads the record; resumes an unfinished migration.
  Status Open();
  // Stops the threads (the record stays; the next Open resumes).
  void Stop();

  using MapChange = FunctionRef<StatusOr<cluster::ClusterMap>(const cluster::ClusterMap&)>;
  struct Started {
    cluster::ClusterMap before;
    cluster::ClusterMap after;  // the routing map of the move, or the map applied at once
    std::optional<cluster::Migration> migration;  // nullopt: applied at once
    bool remapped = false;  // applied at once although keys changed owner (cache remap)
  };
  // `change` maps the current map to the routing map of the move (added
  // nodes joining, removed ones leaving). When no key has to move, or the
  // back ends cannot move keys, the settled map is applied at once.
  // kAborted while another migration runs; change's own errors as they are.
  StatusOr<Started> Change(cluster::MigrationKind kind, std::string subject, MapChange change);

  // Operator controls; kFailedPrecondition when nothing (or nothing
  // pausable / cancellable) runs.
  Status Pause();
  Status Resume();
  Status Cancel();
  // New limits for the running migration (its copy calls restart with them)
  // and for the next ones.
  void SetRate(uint64_t max_keys_per_sec, uint64_t max_bytes_per_sec);

  // GET /migrations: {"current": {...} | null, "history": [...], "rate_limit": {...}}.
  std::string StatusJson() const;
  bool Running() const;
  std::string RunningId() const;  // empty when none
  // A node answers again: tell it the current map (and its part, if it has one).
  void NodeUp(const cluster::NodeInfo& node);

 private:
  // Runner thread and its phases.
  void Run();
  void Copy();
  bool BeginAll();
  bool BeginEach(const cluster::Migration& m, std::vector<std::string> pending);
  Status PublishRoutingMap();
  void CopySource(const std::string& source_id);
  void MarkSourceDoneLocked(const std::string& source_id) REQUIRES(mu_);
  void Reassert(const cluster::Migration& m, const std::string& source_id);
  void ReassertNodes(const cluster::Migration& m, const std::vector<std::string>& ids);
  void KeepReplicaParts(const cluster::Migration& m);
  void Switch();
  void SwitchReads();
  void CancelSteps();
  void Finish();

  // Helpers.
  void PushMapToAll(const cluster::ClusterMap& map);
  void EndAll(bool cancelled);
  // False when interrupted by Stop (or a cancel, when `cancel_interrupts`).
  bool SleepMs(uint32_t ms, bool cancel_interrupts) EXCLUDES(mu_);
  bool Interrupted() const REQUIRES(mu_);
  Status PersistLocked() REQUIRES(mu_);
  cluster::Migration Snapshot() const EXCLUDES(mu_);  // needs a current migration
  std::optional<cluster::Migration> SnapshotIfAny() const EXCLUDES(mu_);
  void SetStateLocked(cluster::MigrationState next) REQUIRES(mu_);
  void StopCallsLocked() REQUIRES(mu_);
  void SetError(const std::string& error) EXCLUDES(mu_);
  std::string FallbackReason(const cluster::Migration& plan);
  Status CheckNodesAnswer(const cluster::Migration& plan);
  StatusOr<cluster::ClusterMap> ApplySettled(const cluster::ClusterMap& from,
                                             const cluster::ClusterMap& to);
  double RateLocked() const REQUIRES(mu_);
  void RecordProgressLocked(uint64_t delta) REQUIRES(mu_);

  const MigratorOptions options_;
  MapOwner& map_owner_;
  ArcMover& mover_;
  NodeClient* peers_;
  Clock& clock_;

  Mutex change_mu_ ACQUIRED_BEFORE(mu_);  // serializes Change()
  mutable Mutex mu_;
  CondVar cv_;
  cluster::MigrationLog log_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  bool cancel_requested_ GUARDED_BY(mu_) = false;
  bool dirty_ GUARDED_BY(mu_) = false;  // progress not yet persisted
  uint64_t max_keys_per_sec_ GUARDED_BY(mu_);
  uint64_t max_bytes_per_sec_ GUARDED_BY(mu_);
  // Running copy calls by source.
  std::map<std::string, std::atomic<bool>*> calls_ GUARDED_BY(mu_);
  // Sources inside a Move call; at most max_parallel_copies.
  uint32_t copying_ GUARDED_BY(mu_) = 0;
  // (ms, keys sent so far) for the rate.
  std::deque<std::pair<int64_t, uint64_t>> samples_ GUARDED_BY(mu_);
  uint64_t sent_total_ GUARDED_BY(mu_) = 0;
  std::thread runner_ GUARDED_BY(change_mu_);
};

}  // namespace ringkv::router
