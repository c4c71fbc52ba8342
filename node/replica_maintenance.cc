#include "node/replica_maintenance.h"

#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "node/replication/replica_entry.h"
#include "store/hints.h"

namespace ringkv::node {

ReplicaMaintenance::ReplicaMaintenance(ClusterView& view, store::Engine& engine, ForwardLink& link,
                                        Replication& replication,
                                       const Clock& clock, ReplicaMaintenanceOptions options)
    : view_(view),
      engine_(engine),
      link_(link),
      replication_(replication),
      clock_(clock),
      options_(options) {}

void ReplicaMaintenance::Start() {
  task_.Start(std::chrono::milliseconds(options_.interval_ms), [this] {
    RunOnce();
    return true;
  });
}

void ReplicaMaintenance::RunOnce() {
  std::shared_ptr<const ClusterSnapshot> view = view_.Snapshot();
  if (view->epoch == 0 || view->map == nullptr) return;
  const int64_t now = clock_.NowMs();
  const cluster::ClusterMap& map = *view->map;
  store::HintStore& hints = engine_.hints();
  if (StatusOr<size_t> dropped =
          hints.Expire(now, static_cast<int64_t>(map.hint_ttl_s) * 1000);
      dropped.ok() && *dropped > 0) {
    replication_.counters().hints_expired.fetch_add(*dropped, std::memory_order_relaxed);
    spdlog::warn("replicas: dropped {} hints older than hint_ttl_s={}s; quorum reads repair those keys",
                 *dropped, map.hint_ttl_s);
  }
  engine_.PurgeTombstones(now, static_cast<int64_t>(map.tombstone_ttl_s) * 1000,
                          options_.tombstone_purge_budget);
  const store::HintStats stats = hints.Stats();
  replication_.counters().hints_held.store(stats.total.hints, std::memory_order_relaxed);
  for (const auto& [target, usage] : stats.targets) {
    const uint32_t index = view->ring->IndexOf(target);
    if (index == ring::kNoNode || index == view->self) continue;  // not a ring node any more
    if (view->MarkedDown(index) || replication_.IsSuspect(target)) continue;
    // Batches until the target's hints are gone or one fails.
    for (uint64_t sent = 0; sent < usage.hints; sent += options_.batch_keys) {
      if (!ReplayBatch(*view, index)) break;
    }
  }
}

bool ReplicaMaintenance::ReplayBatch(const ClusterSnapshot& view, uint32_t target) {
  const std::string& id = view.ring->nodes()[target].id;
  store::HintStore& hints = engine_.hints();
  std::vector<std::string> keys;
  hints.ForEach(id, [&](std::string_view key, int64_t) {
    keys.emplace_back(key);
    return keys.size() < options_.batch_keys;
  });
  if (keys.empty()) return false;
  const int64_t now = clock_.NowMs();
  std::vector<std::string> args{"ringkv.apply"};
  for (const std::string& key : keys) {
    if (std::optional<ReplicaEntry> e = PeekLocal(engine_, key, now)) AppendApplyArgs(args, key, *e);
  }
  if (args.size() > 1) {
    std::vector<std::string_view> views(args.begin(), args.end());
    std::string reply;
    link_.Forward(view, target, views, reply);
    // "-REFUSED <positions> <why>": the target took the other keys and no
    // longer replicates the refused ones (the map moved them), so their
    // hints are moot; a retry would be refused again.
    if (reply.starts_with("-REFUSED ")) {
      spdlog::info("replicas: {} refused some replayed hints ({}); dropped", id,
                   reply.substr(1, reply.find('\r') - 1));
    } else if (!reply.starts_with(':')) {
      replication_.Suspect(id);
      spdlog::info("replicas: replaying hints to {} failed ({}); retried later", id,
                   reply.substr(0, reply.find('\r')));
      return false;
    }
  }
  (void)hints.Remove(id, keys);
  replication_.counters().hints_replayed.fetch_add(keys.size(), std::memory_order_relaxed);
  return true;
}

}  // namespace ringkv::node
