#include "router/api/internal/config_http.h"

#include <set>
#include <string>
#include <tuple>

#include "cluster/membership.h"
#include "net/http_status.h"
#include "router/rebalance/migrations_http.h"

namespace ringkv::router::internal {

using net::ErrorResponse;
using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;

HttpResponse GetConfig(RouterHttpContext& ctx) {
  cluster::ClusterMap map = ctx.map_owner.Map();
  cluster::HealthOptions h = ctx.settings.health();
  json j = {{"vnodes", map.vnodes},
            {"hash", ring::HashKindName(map.hash)},
            {"epoch", map.epoch},
            {"replication", map.replication},
            {"write_consistency", cluster::ConsistencyName(map.write_consistency)},
            {"read_consistency", cluster::ConsistencyName(map.read_consistency)},
            {"tombstone_ttl_s", map.tombstone_ttl_s},
            {"hint_ttl_s", map.hint_ttl_s},
            {"health",
             {{"interval_ms", h.interval_ms},
              {"timeout_ms", h.timeout_ms},
              {"failures", h.failures},
              {"successes", h.successes},
              {"replace_after_s", h.replace_after_s}}},
            {"log_level", ctx.settings.log_level()}};
  return HttpResponse::Json(200, j.dump());
}

namespace {

StatusOr<uint32_t> BoundedField(const json& obj, const char* name, uint32_t current, uint32_t min,
                                uint32_t max) {
  if (!obj.contains(name)) return current;
  const json& v = obj[name];
  if (!v.is_number_unsigned() || v.get<uint64_t>() < min || v.get<uint64_t>() > max) {
    return InvalidArgument(std::string(name) + " must be an integer in [" + std::to_string(min) +
                           ", " + std::to_string(max) + "]");
  }
  return v.get<uint32_t>();
}

// The replication settings a PUT /config body asks for, over `map`'s:
// replication, write_consistency, read_consistency, tombstone_ttl_s,
// hint_ttl_s, checked together (cluster::CheckReplication). A new
// replication is a migration the caller starts (docs/replication.md, "Moves").
StatusOr<cluster::ClusterMap> ParseReplicationSettings(const json& body,
                                                       const cluster::ClusterMap& map) {
  cluster::ClusterMap next = map;
  if (body.contains("replication")) {
    const json& r = body["replication"];
    if (!r.is_number_unsigned() || r.get<uint64_t>() == 0 ||
        r.get<uint64_t>() > cluster::kMaxReplication) {
      return InvalidArgument("replication must be an integer in [1, " +
                             std::to_string(cluster::kMaxReplication) + "]");
    }
    next.replication = r.get<uint32_t>();
  }
  for (auto [name, field] : {std::pair{"write_consistency", &next.write_consistency},
                             std::pair{"read_consistency", &next.read_consistency}}) {
    if (!body.contains(name)) continue;
    const json& v = body[name];
    auto c = v.is_string() ? cluster::ParseConsistency(v.get<std::string>()) : std::nullopt;
    if (!c) return InvalidArgument(std::string(name) + " must be \"one\", \"quorum\" or \"all\"");
    *field = *c;
  }
  for (auto [name, field] : {std::pair{"tombstone_ttl_s", &next.tombstone_ttl_s},
                             std::pair{"hint_ttl_s", &next.hint_ttl_s}}) {
    if (!body.contains(name)) continue;
    const json& v = body[name];
    if (!v.is_number_unsigned() || v.get<uint64_t>() == 0) {
      return InvalidArgument(std::string(name) + " must be a positive integer (seconds)");
    }
    *field = v.get<uint64_t>();
  }
  if (Status s = cluster::CheckReplication(next); !s.ok()) return s;
  return next;
}

bool SameReplicationSettings(const cluster::ClusterMap& a, const cluster::ClusterMap& b) {
  return a.write_consistency == b.write_consistency && a.read_consistency == b.read_consistency &&
         a.tombstone_ttl_s == b.tombstone_ttl_s && a.hint_ttl_s == b.hint_ttl_s;
}

}  // namespace

HttpResponse PutConfig(const HttpRequest& req, RouterHttpContext& ctx) {
  std::string error;
  auto body = ParseObject(req.body, error);
  if (!body) return HttpResponse::Error(400, error);
  cluster::ClusterMap map = ctx.map_owner.Map();
  auto vnodes = BoundedField(*body, "vnodes", map.vnodes, 1, ctx.limits.max_vnodes);
  if (!vnodes.ok()) {
    const json& v = (*body)["vnodes"];
    if (ctx.refusals != nullptr && v.is_number_unsigned() &&
        v.get<uint64_t>() > ctx.limits.max_vnodes) {
      ctx.refusals->Count();
    }
    return ErrorResponse(vnodes.status());
  }
  auto wanted = ParseReplicationSettings(*body, map);
  if (!wanted.ok()) return ErrorResponse(wanted.status());
  cluster::HealthOptions h = ctx.settings.health();
  if (body->contains("health")) {
    const json& hj = (*body)["health"];
    if (!hj.is_object()) return HttpResponse::Error(400, "health must be an object");
    for (auto [name, field, min] :
         {std::tuple{"interval_ms", &h.interval_ms, 1u},
          std::tuple{"timeout_ms", &h.timeout_ms, 1u}, std::tuple{"failures", &h.failures, 1u},
          std::tuple{"successes", &h.successes, 1u},
          std::tuple{"replace_after_s", &h.replace_after_s, 0u}}) {
      auto v = BoundedField(hj, name, *field, min, 3600000);
      if (!v.ok()) return HttpResponse::Error(400, "health." + v.status().message());
      *field = *v;
    }
    if (std::string e = ValidateHealth(h); !e.empty()) return HttpResponse::Error(400, e);
  }
  std::optional<std::string> level;
  if (body->contains("log_level")) {
    const json& l = (*body)["log_level"];
    static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};
    if (!l.is_string() || !kLevels.count(l.get<std::string>())) {
      return HttpResponse::Error(
          400, "log_level must be one of trace, debug, info, warn, error, critical, off");
    }
    level = l.get<std::string>();
  }
  // Everything validated: apply. A vnodes change is a migration; when one
  // already runs, the 409 leaves every setting as it was.
  // Consistency levels and lifetimes move no key: a new epoch, pushed to
  // the nodes like every map.
  // While keys move the map must stay the migration's: 409, nothing changed.
  const bool replication_change = !SameReplicationSettings(*wanted, map);
  const bool copies_change = wanted->replication != map.replication;
  if (copies_change && *vnodes != map.vnodes) {
    return ErrorResponse(FailedPrecondition(
        "replication and vnodes each move keys: change one of them per request"));
  }
  if (copies_change && ctx.migrator != nullptr && ctx.migrator->Running()) {
    return ErrorResponse(Status(
        StatusCode::kAborted, "a migration is in progress (id " + ctx.migrator->RunningId() + ")"));
  }
  if (replication_change && ctx.migrator != nullptr && ctx.migrator->Running()) {
    return ErrorResponse(Status(
        StatusCode::kAborted, "migration " + ctx.migrator->RunningId() +
                                  " is running; change the consistency settings when it is done"));
  }
  if (replication_change) {
    auto r = ctx.map_owner.Apply([&](const cluster::ClusterMap& m) {
      cluster::ClusterMap next = m;
      next.write_consistency = wanted->write_consistency;
      next.read_consistency = wanted->read_consistency;
      next.tombstone_ttl_s = wanted->tombstone_ttl_s;
      next.hint_ttl_s = wanted->hint_ttl_s;
      next.epoch = m.epoch + 1;
      return StatusOr<cluster::ClusterMap>(std::move(next));
    });
    if (!r.ok()) return ErrorResponse(r.status());
  }
  json migration;
  if (*vnodes != map.vnodes) {
    auto r = StartChange(ctx.migrator, ctx.map_owner, cluster::MigrationKind::kVnodes,
                         "vnodes " + std::to_string(*vnodes), [&](const cluster::ClusterMap& m) {
                           return cluster::SetVnodes(m, *vnodes, ctx.limits);
                         });
    if (!r.ok()) return ErrorResponse(r.status());
    migration = MigrationField(*r);
  }
  if (copies_change) {
    const uint32_t copies = wanted->replication;
    auto r = StartChange(
        ctx.migrator, ctx.map_owner, cluster::MigrationKind::kReplication,
        "replication " + std::to_string(copies),
        [&](const cluster::ClusterMap& m) { return cluster::SetReplication(m, copies); });
    if (!r.ok()) return ErrorResponse(r.status());
    migration = MigrationField(*r);
  }
  ctx.settings.set_health(h);
  if (level) {
    ctx.settings.set_log_level(*level);
    if (ctx.apply_log_level) ctx.apply_log_level(*level);
  }
  HttpResponse out = GetConfig(ctx);
  json j = json::parse(out.body);
  j["vnodes"] = *vnodes;  // the targets, also while keys still move
  j["replication"] = wanted->replication;
  j["migration"] = migration;
  return HttpResponse::Json(200, j.dump());
}

}  // namespace ringkv::router::internal
