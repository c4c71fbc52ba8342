#include "node/commands/metrics.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "node/commands/dispatcher.h"
#include "node/commands/internal/command_table.h"

namespace ringkv::node {
namespace {

struct Fact {
  std::string_view name;  // Prometheus name without the ringkv_ prefix
  std::string_view type;  // "counter" or "gauge"
  std::string_view help;
  uint64_t value;
};

uint64_t Load(const std::atomic<uint64_t>& c) {
  return c.load(std::memory_order_relaxed);
}

std::vector<Fact> Facts(const Metrics& m, const store::EngineStats& st, const ServerState& s) {
  const ClusterCounters& mig = m.cluster();
  const ReplicationCounters& rep = m.replication();
  return {
      {"keyspace_hits_total", "counter", "Key lookups that found a live key.", m.hits()},
      {"keyspace_misses_total", "counter", "Key lookups that found no live key.", m.misses()},
      {"command_errors_total", "counter", "Commands answered with an error reply.", m.errors()},
      {"keys", "gauge", "Entries held, including expired ones not yet reaped.", st.keys},
      {"keys_with_expiry", "gauge", "Entries that carry an expiry.", st.keys_with_expiry},
      {"used_memory_bytes", "gauge", "Memory used by the storage engine.", st.used_bytes},
      {"max_memory_bytes", "gauge", "Configured memory limit (0 = unlimited).", st.max_memory},
      {"evicted_keys_total", "counter", "Keys evicted to respect max memory.", st.evicted_keys},
      {"expired_keys_total", "counter", "Expired keys reaped.", st.expired_keys},
      {"connected_clients", "gauge", "Open client connections.",
       static_cast<uint64_t>(s.connected_clients.load(std::memory_order_relaxed))},
      {"connections_received_total", "counter", "Client connections accepted.",
       s.total_connections.load(std::memory_order_relaxed)},
      {"rejected_connections_total", "counter", "Client connections refused (maxclients).",
       s.rejected_connections.load(std::memory_order_relaxed)},
      {"max_clients", "gauge", "Configured client connection limit.", s.maxclients},
      {"client_buffer_bytes", "gauge", "Input and output buffers of all client connections.",
       static_cast<uint64_t>(std::max<int64_t>(0, s.clients.buffer_bytes.load()))},
      {"client_output_limit_disconnects_total", "counter",
       "Clients disconnected at client-output-buffer-limit.",
       Load(s.clients.output_limit_disconnects)},
      {"client_query_buffer_limit_disconnects_total", "counter",
       "Clients disconnected for a query buffer over max_query_buffer.",
       Load(s.clients.query_limit_disconnects)},
      {"evicted_clients_total", "counter", "Clients disconnected at maxmemory-clients.",
       Load(s.clients.memory_evictions)},
      {"client_auth_timeouts_total", "counter",
       "Clients disconnected for not authenticating within auth_timeout.",
       Load(s.clients.auth_timeouts)},
      {"accept_out_of_fds_total", "counter",
       "Accepts that failed for want of file descriptors (EMFILE); the client is refused.",
       Load(s.clients.emfile_events)},
      {"cluster_epoch", "gauge", "Epoch of the cluster map the node holds (0 = none).",
       Load(mig.epoch)},
      {"migration_active", "gauge", "1 while the node holds migration roles.", Load(mig.active)},
      {"migration_keys_applied_total", "counter",
       "Migrated entries and tombstones installed (newer than what the node held).",
       Load(mig.applied)},
      {"migration_keys_skipped_total", "counter",
       "Migrated entries not installed (older than what the node held, or expired).",
       Load(mig.skipped)},
      {"migration_keys_fetched_total", "counter", "Keys fetched from the old owner on a miss.",
       Load(mig.fetched)},
      {"migration_keys_written_through_total", "counter",
       "Entries and tombstones sent to the migration peer after a write.",
       Load(mig.written_through)},
      {"migration_tombstones_total", "counter", "Tombstones recorded for deletes in moving arcs.",
       Load(mig.tombstones)},
      {"migration_keys_sent_total", "counter", "Entries streamed to new owners (MoveArcs).",
       Load(mig.sent)},
      {"migration_keys_dropped_total", "counter",
       "Entries deleted from arcs the node no longer owns.", Load(mig.dropped)},
      {"forwarded_total", "counter", "Commands forwarded to the key's owner (one hop).",
       Load(mig.forwarded)},
      {"forward_errors_total", "counter", "Forwards that failed (owner unreachable or timed out).",
       Load(mig.forward_errors)},
      {"forward_retries_total", "counter",
       "Forwards retried with a newer cluster map the owner sent back.", Load(mig.forward_retries)},
      {"forwards_served_total", "counter", "Commands other nodes forwarded to this one.",
       Load(mig.forwards_served)},
      {"map_refreshes_total", "counter",
       "Newer cluster maps fetched because a request carried a newer epoch.",
       Load(mig.map_refreshes)},
      {"replica_writes_total", "counter", "Writes coordinated here and sent to replicas.",
       Load(rep.writes)},
      {"replica_reads_total", "counter", "Reads coordinated here that asked other replicas.",
       Load(rep.reads)},
      {"replica_acks_total", "counter", "RINGKV.APPLY answered by a replica.",
       Load(rep.replica_acks)},
      {"replica_failures_total", "counter", "Replica requests that failed or timed out.",
       Load(rep.replica_fails)},
      {"replica_read_repairs_total", "counter",
       "Newer entries sent to, or taken from, a stale replica during a read.",
       Load(rep.read_repairs)},
      {"replica_no_quorum_total", "counter",
       "Requests answered -NOREPLICAS or -TRYAGAIN for want of replicas.", Load(rep.no_quorum)},
      {"replica_failovers_total", "counter", "Forwards sent on to the next replica.",
       Load(rep.failovers)},
      {"replica_speculative_reads_total", "counter",
       "Quorum reads that asked their other replicas too: one asked failed or was slow.",
       Load(rep.speculative_reads)},
      {"replica_hints", "gauge", "Hints held for replicas that missed writes.",
       Load(rep.hints_held)},
      {"replica_hints_stored_total", "counter", "Hints recorded.", Load(rep.hints_stored)},
      {"replica_hints_dropped_total", "counter", "Hints refused by max_hints / max_hint_bytes.",
       Load(rep.hints_dropped)},
      {"replica_hints_replayed_total", "counter", "Hinted keys delivered to their replica.",
       Load(rep.hints_replayed)},
      {"replica_hints_expired_total", "counter", "Hints dropped after hint_ttl_s.",
       Load(rep.hints_expired)},
      {"repair_passes_total", "counter", "Anti-entropy passes finished.", Load(rep.repair_passes)},
      {"repair_keys_pushed_total", "counter",
       "Entries anti-entropy sent that a replica kept (they were newer).",
       Load(rep.repair_keys_pushed)},
      {"repair_keys_pulled_total", "counter",
       "Entries anti-entropy took from a replica and installed here.",
       Load(rep.repair_keys_pulled)},
      {"repair_bytes_total", "counter", "Bytes anti-entropy exchanged with replicas.",
       Load(rep.repair_bytes)},
      {"tombstones", "gauge", "Tombstones held (deletes of replicated keys).", st.tombstones},
      {"purged_tombstones_total", "counter", "Tombstones removed after tombstone_ttl_s.",
       st.purged_tombstones},
      {"store_writes_stopped", "gauge",
       "1 while RocksDB writes are stopped by a failed write (a full disk, an I/O error): "
       "writes are refused until RocksDB recovers, reads go on.",
       st.writes_stopped ? 1u : 0u},
  };
}

// Escapes a Prometheus label value (backslash, quote, newline).
std::string EscapeLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void AppendHeader(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out.append("# HELP ringkv_").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ringkv_").append(name).append(" ").append(type).append("\n");
}

}  // namespace

void Metrics::CountCommand(std::string_view name) {
  CountCommandAt(internal::CommandIndex(internal::FindCommand(name)));
}

uint64_t Metrics::Sum(std::atomic<uint64_t> Shard::*field) const {
  uint64_t total = 0;
  for (const Shard& s : shards_) total += (s.*field).load(std::memory_order_relaxed);
  return total;
}

uint64_t Metrics::SumCalls(size_t index) const {
  uint64_t total = 0;
  for (const Shard& s : shards_) total += s.calls[index].load(std::memory_order_relaxed);
  return total;
}

uint64_t Metrics::hits() const {
  return Sum(&Shard::hits);
}
uint64_t Metrics::misses() const {
  return Sum(&Shard::misses);
}
uint64_t Metrics::errors() const {
  return Sum(&Shard::errors);
}

uint64_t Metrics::commands_total() const {
  uint64_t total = 0;
  for (size_t i = 0; i < kMaxCommands; ++i) total += SumCalls(i);
  return total;
}

uint64_t Metrics::command_calls(std::string_view name) const {
  return SumCalls(internal::CommandIndex(internal::FindCommand(name)));
}

std::string Metrics::RenderPrometheus(const store::EngineStats& stats,
                                      const ServerState& state) const {
  std::string out;
  AppendHeader(out, "commands_total", "counter", "Commands executed, by command name.");
  for (const internal::CommandSpec& c : internal::Commands()) {
    out.append("ringkv_commands_total{cmd=\"").append(c.name).append("\"} ");
    out.append(std::to_string(command_calls(c.name))).append("\n");
  }
  for (const Fact& f : Facts(*this, stats, state)) {
    AppendHeader(out, f.name, f.type, f.help);
    out.append("ringkv_").append(f.name).append(" ").append(std::to_string(f.value)).append("\n");
  }
  AppendHeader(out, "refused_total", "counter",
               "Requests from other processes refused at the boundary, by reason.");
  for (size_t i = 0; i < static_cast<size_t>(Refusal::kCount); ++i) {
    const auto r = static_cast<Refusal>(i);
    out.append("ringkv_refused_total{reason=\"").append(RefusalReason(r)).append("\"} ");
    out.append(std::to_string(cluster_.refused.count(r))).append("\n");
  }
  AppendHeader(out, "info", "gauge", "Constant 1, labelled with the node's identity.");
  out.append("ringkv_info{node_id=\"").append(EscapeLabel(state.id));
  out.append("\",version=\"").append(EscapeLabel(state.version));
  out.append("\",engine=\"").append(EscapeLabel(state.engine_name)).append("\"} 1\n");
  return out;
}

std::string Metrics::RenderJson(const store::EngineStats& stats, const ServerState& state) const {
  nlohmann::json j;
  nlohmann::json commands = nlohmann::json::object();
  for (const internal::CommandSpec& c : internal::Commands()) {
    commands[std::string(c.name)] = command_calls(c.name);
  }
  j["commands"] = std::move(commands);
  j["commands_total"] = commands_total();
  nlohmann::json refused = nlohmann::json::object();
  for (size_t i = 0; i < static_cast<size_t>(Refusal::kCount); ++i) {
    const auto r = static_cast<Refusal>(i);
    refused[std::string(RefusalReason(r))] = cluster_.refused.count(r);
  }
  j["refused"] = std::move(refused);
  for (const Fact& f : Facts(*this, stats, state)) j[std::string(f.name)] = f.value;
  j["node_id"] = state.id;
  j["version"] = state.version;
  j["engine"] = state.engine_name;
  j["eviction_policy"] = state.eviction_policy;
  return j.dump();
}

}  // namespace ringkv::node
