// ReplicaMaintenance: the node's background work for its replicas
// (docs/replication.md), one round every `interval_ms`:
//  - replays hints: for each peer this node holds hints for that is neither
//    marked down in the map nor suspect here, sends this node's current
//    entry or tombstone of each hinted key (RINGKV.APPLY, keep newer) in
//    batches, and drops the hints the peer took; a failed batch makes the
//    peer suspect and keeps its hints;
//  - drops hints older than the map's hint_ttl_s (quorum reads repair
//    what they carried) and purges tombstones older than tombstone_ttl_s.
//
// Thread safety: Start/Stop from the owner; the round runs on its own thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/clock.h"
#include "base/periodic_task.h"
#include "node/commands/forward_link.h"
#include "node/replication/replication.h"
#include "node/view/cluster_view.h"
#include "store/engine.h"

namespace ringkv::node {

struct ReplicaMaintenanceOptions {
  uint32_t interval_ms = 200;
  size_t batch_keys = 256;            // keys per RINGKV.APPLY of a replay
  size_t tombstone_purge_budget = 10000;  // tombstones examined per round
};

class ReplicaMaintenance {
 public:
  // Not owned; all must outlive the task.
  ReplicaMaintenance(ClusterView& view, store::Engine& engine, ForwardLink& link,
                     Replication& replication, const Clock& clock,
                     ReplicaMaintenanceOptions options = {});
  ~ReplicaMaintenance() { Stop(); }

  void Start();
  void Stop() { task_.Stop(); }
  // One round now, on the caller's thread (tests, and the task's body).
  void RunOnce();

 private:
  // Replays up to one batch per call for `target`; false when it failed.
  bool ReplayBatch(const ClusterSnapshot& view, uint32_t target);

  ClusterView& view_;
  store::Engine& engine_;
  ForwardLink& link_;
  Replication& replication_;
  const Clock& clock_;
  const ReplicaMaintenanceOptions options_;
  PeriodicTask task_;
};

}  // namespace ringkv::node
