// Replication: what a node keeps about its replicas beside the command path
// (docs/replication.md) — which peers it currently believes unreachable
// ("suspects", fed by every failed request, not only by the router's
// probes), the hints it holds for them, and counters for /metrics.
//
// "Down" is a belief: a suspect is routed around for `suspect_ms` and then
// tried again; it is never emptied, and writes it missed are hinted.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/thread_annotations.h"
#include "store/hints.h"

namespace ringkv::node {

struct ReplicationOptions {
  int64_t suspect_ms = 1000;  // how long a peer that failed a request is routed around
};

struct ReplicationCounters {
  std::atomic<uint64_t> writes{0};         // writes coordinated here
  std::atomic<uint64_t> reads{0};          // quorum reads coordinated here
  std::atomic<uint64_t> replica_acks{0};   // RINGKV.APPLY answered by a replica
  std::atomic<uint64_t> replica_fails{0};  // RINGKV.APPLY or PEEK failed or timed out
  std::atomic<uint64_t> read_repairs{0};   // newer entries sent to (or taken from) a stale replica
  std::atomic<uint64_t> no_quorum{
      0};  // requests answered -NOREPLICAS / -TRYAGAIN for want of replicas
  std::atomic<uint64_t> failovers{0};  // forwards retried on the next replica
  std::atomic<uint64_t> speculative_reads{
      0};  // reads that asked more replicas: one failed or was slow
  std::atomic<uint64_t> hints_stored{0};
  std::atomic<uint64_t> hints_dropped{0};  // refused by the hint store's bounds
  std::atomic<uint64_t> hints_replayed{0};
  std::atomic<uint64_t> hints_expired{0};  // older than the map's hint_ttl_s
  std::atomic<uint64_t> hints_held{0};     // gauge, refreshed by ReplicaMaintenance
  // Anti-entropy (node/anti_entropy.h).
  std::atomic<uint64_t> repair_passes{0};
  std::atomic<uint64_t> repair_keys_pushed{0};  // entries a peer kept
  std::atomic<uint64_t> repair_keys_pulled{0};  // entries installed here
  std::atomic<uint64_t> repair_bytes{0};        // exchanged with peers
};

class Replication {
 public:
  // `hints` (the engine's, durable with RocksDB) and `counters` (the node's
  // Metrics own them) must outlive this.
  Replication(const Clock& clock, ReplicationOptions options, store::HintStore& hints,
              ReplicationCounters& counters);

  // A request to `node_id` failed: route around it for suspect_ms.
  void Suspect(std::string_view node_id) EXCLUDES(mu_);
  // It answered: no longer suspect.
  void Clear(std::string_view node_id) EXCLUDES(mu_);
  // Whether `node_id` is routed around now. No lock while nobody is suspect.
  bool IsSuspect(std::string_view node_id) const EXCLUDES(mu_);
  // The peers made suspect since the last call, each once: they may have
  // missed writes, so anti-entropy compares with them when they answer again.
  std::vector<std::string> TakeSuspected() EXCLUDES(mu_);

  // Remembers that `node_id` missed the newest write of `key` (replayed by
  // ReplicaMaintenance). False, counted as dropped, when the hint store's
  // bounds refuse it: a quorum read repairs that key instead.
  bool AddHint(std::string_view node_id, std::string_view key);

  ReplicationCounters& counters() { return counters_; }
  const ReplicationCounters& counters() const { return counters_; }

 private:
  const Clock& clock_;
  const ReplicationOptions options_;
  store::HintStore& hints_;
  ReplicationCounters& counters_;
  std::atomic<int> suspects_count_{0};
  mutable Mutex mu_;
  std::unordered_map<std::string, int64_t> suspect_until_ GUARDED_BY(mu_);
  std::set<std::string> suspected_ GUARDED_BY(mu_);  // since the last TakeSuspected
};

}  // namespace ringkv::node
