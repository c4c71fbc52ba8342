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
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/clock.h"
#include "base/thread_annotations.h"

namespace ringkv::node {

struct ReplicationOptions {
  int64_t suspect_ms = 1000;     // how long a peer that failed a request is routed around
  uint64_t max_hints = 1000000;  // hints held for all peers together; more are dropped
};

struct ReplicationCounters {
  std::atomic<uint64_t> writes{0};         // writes coordinated here
  std::atomic<uint64_t> reads{0};          // quorum reads coordinated here
  std::atomic<uint64_t> replica_acks{0};   // RINGKV.APPLY answered by a replica
  std::atomic<uint64_t> replica_fails{0};  // RINGKV.APPLY or PEEK failed or timed out
  std::atomic<uint64_t> read_repairs{0};   // newer entries sent to (or taken from) a stale replica
  std::atomic<uint64_t> no_quorum{0};      // requests answered -NOREPLICAS / -TRYAGAIN for want of replicas
  std::atomic<uint64_t> failovers{0};      // forwards retried on the next replica
  std::atomic<uint64_t> hints_stored{0};
  std::atomic<uint64_t> hints_dropped{0};  // over max_hints
  std::atomic<uint64_t> hints_replayed{0};
};

class Replication {
 public:
  Replication(const Clock& clock, ReplicationOptions options);

  // A request to `node_id` failed: route around it for suspect_ms.
  void Suspect(std::string_view node_id) EXCLUDES(mu_);
  // It answered: no longer suspect.
  void Clear(std::string_view node_id) EXCLUDES(mu_);
  // Whether `node_id` is routed around now. No lock while nobody is suspect.
  bool IsSuspect(std::string_view node_id) const EXCLUDES(mu_);

  // Remembers that `node_id` missed the newest write of `key`. False (and
  // counted as dropped) when max_hints are held already.
  bool AddHint(std::string_view node_id, std::string_view key) EXCLUDES(mu_);
  // Up to `max` keys hinted for `node_id`, removed from the hints (the caller
  // adds back what it fails to deliver).
  std::vector<std::string> TakeHints(std::string_view node_id, size_t max) EXCLUDES(mu_);
  // Peers with hints.
  std::vector<std::string> HintedNodes() const EXCLUDES(mu_);
  uint64_t hints() const EXCLUDES(mu_);

  ReplicationCounters& counters() { return counters_; }
  const ReplicationCounters& counters() const { return counters_; }

 private:
  const Clock& clock_;
  const ReplicationOptions options_;
  ReplicationCounters counters_;
  std::atomic<int> suspects_count_{0};
  mutable Mutex mu_;
  std::unordered_map<std::string, int64_t> suspect_until_ GUARDED_BY(mu_);
  std::unordered_map<std::string, std::unordered_set<std::string>> hints_ GUARDED_BY(mu_);
  uint64_t hint_count_ GUARDED_BY(mu_) = 0;
};

}  // namespace ringkv::node
