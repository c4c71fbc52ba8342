// COMMAND CONFIG INFO: introspection, enough for redis-cli, redis-benchmark
// and client libraries.
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "net/command/glob.h"
#include "node/commands/internal/command_table.h"
#include "node/commands/internal/handlers.h"
#include "node/commands/internal/parse.h"
#include "node/migration/migration_roles.h"

namespace ringkv::node::internal {

using net::command::StringMatch;
namespace {

// Redis 7 COMMAND INFO entry: 10 fields, the last four left empty.
void ReplyCommandInfo(Context& ctx, const CommandSpec& c) {
  ctx.w.ArrayHeader(10);
  ctx.w.Bulk(c.name);
  ctx.w.Integer(c.arity);
  size_t nflags = ((c.flags & kWrite) ? 1 : 0) + ((c.flags & kReadOnly) ? 1 : 0) +
                  ((c.flags & kNoAuth) ? 1 : 0);
  ctx.w.ArrayHeader(nflags);
  if (c.flags & kWrite) ctx.w.Simple("write");
  if (c.flags & kReadOnly) ctx.w.Simple("readonly");
  if (c.flags & kNoAuth) ctx.w.Simple("no_auth");
  ctx.w.Integer(c.first_key);
  ctx.w.Integer(c.last_key);
  ctx.w.Integer(c.key_step);
  for (int i = 0; i < 4; ++i) ctx.w.ArrayHeader(0);
}

void ReplyAllCommandInfo(Context& ctx) {
  std::span<const CommandSpec> all = Commands().subspan(1);
  ctx.w.ArrayHeader(all.size());
  for (const CommandSpec& c : all) ReplyCommandInfo(ctx, c);
}

struct ConfigParam {
  std::string_view name;
  std::string value;
};

std::vector<ConfigParam> ConfigParams(const Context& ctx) {
  // requirepass is never revealed: an empty value when unset, a mask when set.
  return {
      {"port", std::to_string(ctx.state.resp_port)},
      {"maxmemory", std::to_string(ctx.engine.Stats().max_memory)},
      {"maxmemory-policy", ctx.state.eviction_policy},
      {"maxclients", std::to_string(ctx.state.maxclients)},
      {"maxmemory-clients", std::to_string(ctx.state.client_limits.maxmemory_clients)},
      {"client-output-buffer-limit",
       "normal " + std::to_string(ctx.state.client_limits.output.hard_bytes) + " " +
           std::to_string(ctx.state.client_limits.output.soft_bytes) + " " +
           std::to_string(ctx.state.client_limits.output.soft_seconds)},
      {"save", ""},
      {"appendonly", "no"},
      {"databases", "1"},
      {"timeout", "0"},
      {"requirepass", ctx.options.requirepass.empty() ? "" : "********"},
  };
}

void ConfigGet(Context& ctx) {
  std::vector<ConfigParam> params = ConfigParams(ctx);
  std::vector<const ConfigParam*> hits;
  for (const ConfigParam& p : params) {
    for (size_t i = 2; i < ctx.args.size(); ++i) {
      if (StringMatch(ctx.args[i], p.name, true)) {
        hits.push_back(&p);
        break;
      }
    }
  }
  ctx.w.ArrayHeader(hits.size() * 2);
  for (const ConfigParam* p : hits) {
    ctx.w.Bulk(p->name);
    ctx.w.Bulk(p->value);
  }
}

void AppendField(std::string& s, std::string_view key, std::string_view value) {
  s.append(key);
  s.push_back(':');
  s.append(value);
  s.append("\r\n");
}

void AppendField(std::string& s, std::string_view key, uint64_t value) {
  AppendField(s, key, std::to_string(value));
}

void InfoServer(const Context& ctx, std::string& s) {
  int64_t uptime = (ctx.now_ms - ctx.state.start_ms) / 1000;
  if (uptime < 0) uptime = 0;
  s.append("# Server\r\n");
  AppendField(s, "redis_version", "7.0.0-compatible");
  AppendField(s, "ringkv_version", ctx.state.version);
  AppendField(s, "ringkv_node_id", ctx.state.id);
  AppendField(s, "ringkv_engine", ctx.state.engine_name);
  AppendField(s, "redis_mode", "standalone");
  AppendField(s, "arch_bits", "64");
  AppendField(s, "process_id", static_cast<uint64_t>(getpid()));
  AppendField(s, "run_id", ctx.run_id);
  AppendField(s, "tcp_port", ctx.state.resp_port);
  AppendField(s, "ringkv_http_port", ctx.state.http_port);
  AppendField(s, "ringkv_grpc_port", ctx.state.grpc_port);
  AppendField(s, "uptime_in_seconds", static_cast<uint64_t>(uptime));
  AppendField(s, "uptime_in_days", static_cast<uint64_t>(uptime / 86400));
}

void InfoClients(const Context& ctx, std::string& s) {
  s.append("# Clients\r\n");
  AppendField(s, "connected_clients", static_cast<uint64_t>(ctx.state.connected_clients.load()));
  AppendField(s, "maxclients", ctx.state.maxclients);
}

void InfoMemory(const store::EngineStats& st, const Context& ctx, std::string& s) {
  s.append("# Memory\r\n");
  AppendField(s, "used_memory", st.used_bytes);
  AppendField(s, "used_memory_human", HumanBytes(st.used_bytes));
  AppendField(s, "maxmemory", st.max_memory);
  AppendField(s, "maxmemory_human", HumanBytes(st.max_memory));
  AppendField(s, "maxmemory_policy", ctx.state.eviction_policy);
  AppendField(s, "mem_clients_normal",
              static_cast<uint64_t>(std::max<int64_t>(0, ctx.state.clients.buffer_bytes.load())));
  AppendField(s, "maxmemory_clients", ctx.state.client_limits.maxmemory_clients);
}

void InfoStats(const store::EngineStats& st, const Context& ctx, std::string& s) {
  s.append("# Stats\r\n");
  AppendField(s, "total_connections_received", ctx.state.total_connections.load());
  AppendField(s, "total_commands_processed", ctx.metrics.commands_total());
  AppendField(s, "rejected_connections", ctx.state.rejected_connections.load());
  AppendField(s, "evicted_clients", ctx.state.clients.memory_evictions.load());
  AppendField(s, "client_query_buffer_limit_disconnections",
              ctx.state.clients.query_limit_disconnects.load());
  AppendField(s, "client_output_buffer_limit_disconnections",
              ctx.state.clients.output_limit_disconnects.load());
  AppendField(s, "expired_keys", st.expired_keys);
  AppendField(s, "evicted_keys", st.evicted_keys);
  AppendField(s, "keyspace_hits", ctx.metrics.hits());
  AppendField(s, "keyspace_misses", ctx.metrics.misses());
  AppendField(s, "total_error_replies", ctx.metrics.errors());
}

void InfoKeyspace(const store::EngineStats& st, std::string& s) {
  s.append("# Keyspace\r\n");
  if (st.keys == 0) return;
  s.append("db0:keys=" + std::to_string(st.keys) +
           ",expires=" + std::to_string(st.keys_with_expiry) + ",avg_ttl=0\r\n");
}

void InfoMigration(const Context& ctx, std::string& s) {
  const ClusterCounters& m = ctx.metrics.cluster();
  auto load = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  s.append("# Migration\r\n");
  AppendField(s, "cluster_epoch", load(m.epoch));
  AppendField(s, "migration_id",
              ctx.options.migration != nullptr ? ctx.options.migration->migration_id() : "");
  AppendField(s, "migration_active", load(m.active));
  AppendField(s, "migration_keys_applied", load(m.applied));
  AppendField(s, "migration_keys_skipped", load(m.skipped));
  AppendField(s, "migration_keys_fetched", load(m.fetched));
  AppendField(s, "migration_keys_written_through", load(m.written_through));
  AppendField(s, "migration_tombstones", load(m.tombstones));
  AppendField(s, "migration_keys_sent", load(m.sent));
  AppendField(s, "migration_keys_dropped", load(m.dropped));
  AppendField(s, "migration_pending_drops",
              ctx.options.migration != nullptr ? ctx.options.migration->pending_drops() : 0);
}

// Whether INFO's arguments select `section` (no argument = all sections).
bool Wants(const Context& ctx, std::string_view section) {
  if (ctx.args.size() == 1) return true;
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    std::string_view a = ctx.args[i];
    if (EqualsLower(a, section) || EqualsLower(a, "all") || EqualsLower(a, "default") ||
        EqualsLower(a, "everything")) {
      return true;
    }
  }
  return false;
}

}  // namespace

void CommandCommand(Context& ctx) {
  if (ctx.args.size() == 1) return ReplyAllCommandInfo(ctx);
  std::string sub = LowerName(ctx.args[1]);
  if (sub == "count") {
    if (ctx.args.size() != 2) return ReplyWrongArity(ctx, "command|count");
    return ctx.w.Integer(static_cast<int64_t>(Commands().size() - 1));
  }
  if (sub == "docs") return ctx.w.ArrayHeader(0);
  if (sub == "list") {
    ctx.w.ArrayHeader(Commands().size() - 1);
    for (const CommandSpec& c : Commands().subspan(1)) ctx.w.Bulk(c.name);
    return;
  }
  if (sub == "info") {
    if (ctx.args.size() == 2) return ReplyAllCommandInfo(ctx);
    ctx.w.ArrayHeader(ctx.args.size() - 2);
    for (size_t i = 2; i < ctx.args.size(); ++i) {
      const CommandSpec* c = FindCommand(ctx.args[i]);
      if (c != nullptr) {
        ReplyCommandInfo(ctx, *c);
      } else {
        ctx.w.NullArray();
      }
    }
    return;
  }
  ReplyUnknownSubcommand(ctx, "COMMAND");
}

void ConfigCommand(Context& ctx) {
  std::string sub = LowerName(ctx.args[1]);
  if (sub == "get") {
    if (ctx.args.size() < 3) return ReplyWrongArity(ctx, "config|get");
    return ConfigGet(ctx);
  }
  if (sub == "set") {
    if (ctx.args.size() < 4) return ReplyWrongArity(ctx, "config|set");
    return ctx.w.Error("ERR CONFIG SET is not supported by ringkv");
  }
  ReplyUnknownSubcommand(ctx, "CONFIG");
}

void InfoCommand(Context& ctx) {
  store::EngineStats st = ctx.engine.Stats();
  std::string s;
  auto section = [&](std::string_view name, auto&& render) {
    if (!Wants(ctx, name)) return;
    if (!s.empty()) s.append("\r\n");
    render();
  };
  section("server", [&] { InfoServer(ctx, s); });
  section("clients", [&] { InfoClients(ctx, s); });
  section("memory", [&] { InfoMemory(st, ctx, s); });
  section("stats", [&] { InfoStats(st, ctx, s); });
  section("replication",
          [&] { s.append("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"); });
  section("keyspace", [&] { InfoKeyspace(st, s); });
  section("migration", [&] { InfoMigration(ctx, s); });
  ctx.w.Bulk(s);
}

}  // namespace ringkv::node::internal
