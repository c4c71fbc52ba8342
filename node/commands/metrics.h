// Metrics: counters of a node, rendered as Prometheus text and as JSON.
//
// Thread safety: all counters are atomics; Render* may run concurrently with
// updates (values are read individually, not as one snapshot).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "node/replication/replication.h"
#include "node/view/cluster_counters.h"
#include "store/engine.h"

namespace ringkv::node {

struct ServerState;

class Metrics {
 public:
  // Counts one call of command `name` (lower case; unknown names count as "unknown").
  void CountCommand(std::string_view name);
  // Counts one call of the command at `index` in the command table (0 =
  // "unknown"); the dispatcher's allocation-free fast path.
  void CountCommandAt(size_t index) { Bump(Local().calls[index < kMaxCommands ? index : 0]); }
  void CountHit() { Bump(Local().hits); }
  void CountMiss() { Bump(Local().misses); }
  void CountError() { Bump(Local().errors); }

  ClusterCounters& cluster() { return cluster_; }
  const ClusterCounters& cluster() const { return cluster_; }
  ReplicationCounters& replication() { return replication_; }
  const ReplicationCounters& replication() const { return replication_; }

  uint64_t hits() const;
  uint64_t misses() const;
  uint64_t errors() const;
  uint64_t commands_total() const;
  uint64_t command_calls(std::string_view name) const;

  // Prometheus text exposition (version 0.0.4): ringkv_commands_total{cmd="get"},
  // ringkv_keyspace_hits_total, ringkv_keyspace_misses_total, ringkv_keys,
  // ringkv_used_memory_bytes, ringkv_connected_clients, ringkv_evicted_keys_total,
  // ringkv_expired_keys_total, ...
  std::string RenderPrometheus(const store::EngineStats& stats, const ServerState& state) const;
  // The same facts as a JSON object.
  std::string RenderJson(const store::EngineStats& stats, const ServerState& state) const;

 private:
  static constexpr size_t kMaxCommands = 128;
  // Counters are striped over cache-line aligned shards so threads counting
  // the same hot command (GET) do not bounce one cache line; readers sum the
  // shards. A thread always uses the same shard.
  static constexpr size_t kShards = 16;
  struct alignas(64) Shard {
    std::atomic<uint64_t> calls[kMaxCommands] = {};
    std::atomic<uint64_t> hits{0};
    std::atomic<uint64_t> misses{0};
    std::atomic<uint64_t> errors{0};
  };

  static void Bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
  static size_t ShardIndex() {
    static std::atomic<size_t> next{0};
    thread_local const size_t index = next.fetch_add(1, std::memory_order_relaxed) % kShards;
    return index;
  }
  Shard& Local() { return shards_[ShardIndex()]; }
  uint64_t Sum(std::atomic<uint64_t> Shard::*field) const;
  uint64_t SumCalls(size_t index) const;

  Shard shards_[kShards];
  ClusterCounters cluster_;
  ReplicationCounters replication_;
};

}  // namespace ringkv::node
