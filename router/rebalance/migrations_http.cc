#include "router/rebalance/migrations_http.h"

#include <nlohmann/json.hpp>

#include "net/http_status.h"

namespace ringkv::router {
namespace {

using net::ErrorResponse;
using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;

// {"max_keys_per_sec": N, "max_bytes_per_sec": M}: either may be left out
// (kept as it is); 0 = unlimited.
HttpResponse PutRate(const HttpRequest& req, Migrator& migrator) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return HttpResponse::Error(400,
                               "body must be {\"max_keys_per_sec\": N, \"max_bytes_per_sec\": M}");
  }
  json current = json::parse(migrator.StatusJson())["rate_limit"];
  uint64_t limits[2] = {current["max_keys_per_sec"], current["max_bytes_per_sec"]};
  const char* names[2] = {"max_keys_per_sec", "max_bytes_per_sec"};
  bool any = false;
  for (int i = 0; i < 2; ++i) {
    if (!body.contains(names[i])) continue;
    const json& v = body[names[i]];
    if (!v.is_number_unsigned()) {
      return HttpResponse::Error(400, std::string(names[i]) + " must be a non-negative integer");
    }
    limits[i] = v.get<uint64_t>();
    any = true;
  }
  if (!any) return HttpResponse::Error(400, "give max_keys_per_sec and/or max_bytes_per_sec");
  migrator.SetRate(limits[0], limits[1]);
  return HttpResponse::Json(200, migrator.StatusJson());
}

}  // namespace

bool IsMigrationsPath(const std::string& path) {
  return path == kMigrationsPath ||
         (path.rfind(kMigrationsPath, 0) == 0 && path[kMigrationsPath.size()] == '/');
}

bool IsMigrationsMutation(const HttpRequest& req) {
  return IsMigrationsPath(req.path) && req.method != "GET" && req.method != "HEAD";
}

HttpResponse HandleMigrationsHttp(const HttpRequest& req, Migrator* migrator) {
  if (!migrator) return HttpResponse::Error(503, "live rebalancing is not running");
  const std::string& p = req.path;
  const std::string& m = req.method;
  if (p == "/migrations") {
    if (m != "GET") return HttpResponse::Error(405, "method " + m + " not allowed on " + p);
    return HttpResponse::Json(200, migrator->StatusJson());
  }
  if (p == "/migrations/rate") {
    if (m != "PUT" && m != "POST") return HttpResponse::Error(405, "use PUT /migrations/rate");
    return PutRate(req, *migrator);
  }
  Status (Migrator::*control)() = nullptr;
  if (p == "/migrations/pause") control = &Migrator::Pause;
  if (p == "/migrations/resume") control = &Migrator::Resume;
  if (p == "/migrations/cancel") control = &Migrator::Cancel;
  if (!control) return HttpResponse::Error(404, "no such endpoint: " + p);
  if (m != "POST") return HttpResponse::Error(405, "method " + m + " not allowed on " + p);
  if (Status s = (migrator->*control)(); !s.ok()) return ErrorResponse(s);
  return HttpResponse::Json(200, migrator->StatusJson());
}

StatusOr<Migrator::Started> StartChange(Migrator* migrator, MapOwner& map_owner,
                                        cluster::MigrationKind kind, std::string subject,
                                        Migrator::MapChange change) {
  if (migrator) return migrator->Change(kind, std::move(subject), change);
  cluster::ClusterMap before = map_owner.Map();
  auto after = map_owner.Apply([&](const cluster::ClusterMap& m) -> StatusOr<cluster::ClusterMap> {
    auto next = change(m);
    if (!next.ok()) return next.status();
    return cluster::Settled(*next);
  });
  if (!after.ok()) return after.status();
  return Migrator::Started{before, *after, std::nullopt, true};
}

}  // namespace ringkv::router
