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

#include "store/engine.h"

namespace ringkv::node {

struct ServerState;

class Metrics {
 public:
  // Counts one call of command `name` (lower case; unknown names count as "unknown").
  void CountCommand(std::string_view name);
  // Counts one call of the command at `index` in the command table (0 =
  // "unknown"); the dispatcher's allocation-free fast path.
  void CountCommandAt(size_t index) {
    calls_[index < kMaxCommands ? index : 0].fetch_add(1, std::memory_order_relaxed);
  }
  void CountHit() { hits_.fetch_add(1, std::memory_order_relaxed); }
  void CountMiss() { misses_.fetch_add(1, std::memory_order_relaxed); }
  void CountError() { errors_.fetch_add(1, std::memory_order_relaxed); }

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
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
  // Implementation-defined fixed table of command counters (no locks).
  static constexpr size_t kMaxCommands = 128;
  std::atomic<uint64_t> calls_[kMaxCommands] = {};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> errors_{0};
};

}  // namespace ringkv::node
