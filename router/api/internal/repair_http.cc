#include "router/api/internal/repair_http.h"

#include "net/http_client.h"

namespace ringkv::router::internal {
namespace {

using net::HttpResponse;
using nlohmann::json;

constexpr const char* kTotals[] = {"passes",      "buckets_compared", "buckets_differing",
                                   "keys_pushed", "keys_pulled",      "bytes",
                                   "errors"};

// Calls `method /repair...` on every ringkv node of the map, one after another.
std::vector<NodeRepairAnswer> AskNodes(RouterHttpContext& ctx, const std::string& method,
                                       const std::string& target) {
  net::HttpCallOptions o;
  o.timeout_ms = ctx.discovery_timeout_ms;
  o.tls = ctx.backend.http_tls;  // null: plain HTTP
  if (!ctx.backend.password.empty()) {
    o.headers["Authorization"] = "Bearer " + ctx.backend.password;
  }
  std::vector<NodeRepairAnswer> out;
  for (const cluster::NodeInfo& n : ctx.map_owner.Map().nodes) {
    if (n.kind != cluster::BackendKind::kRingkv || n.http_addr.empty()) continue;
    NodeRepairAnswer a{.id = n.id, .http_addr = n.http_addr};
    StatusOr<net::HttpResponse> r = net::HttpCall(method, n.http_addr, target, "", o);
    if (!r.ok()) {
      a.body = r.status();
    } else if (r->status / 100 != 2) {
      a.body = Unavailable("HTTP " + std::to_string(r->status) + ": " + r->body);
    } else {
      json j = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
      a.body = j.is_object() ? StatusOr<json>(std::move(j))
                             : StatusOr<json>(Unavailable("malformed answer"));
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

json AggregateRepair(const std::vector<NodeRepairAnswer>& answers) {
  json totals = json::object();
  for (const char* k : kTotals) totals[k] = 0;
  json nodes = json::array();
  uint64_t running = 0;
  for (const NodeRepairAnswer& a : answers) {
    if (!a.body.ok()) {
      nodes.push_back(
          {{"id", a.id}, {"http_addr", a.http_addr}, {"error", a.body.status().message()}});
      continue;
    }
    const json& b = *a.body;
    if (b.value("state", "") == "running") ++running;
    if (b.contains("totals") && b["totals"].is_object()) {
      for (const char* k : kTotals) {
        const json& v = b["totals"].value(k, json(0));
        if (v.is_number_integer() && v.get<int64_t>() > 0) {
          totals[k] = totals[k].get<uint64_t>() + v.get<uint64_t>();
        }
      }
    }
    nodes.push_back(b);
  }
  return {{"state", running > 0 ? "running" : "idle"},
          {"running", running},
          {"totals", totals},
          {"nodes", nodes}};
}

HttpResponse GetRepair(RouterHttpContext& ctx) {
  return HttpResponse::Json(200, AggregateRepair(AskNodes(ctx, "GET", "/repair")).dump());
}

HttpResponse StartRepair(RouterHttpContext& ctx) {
  std::vector<NodeRepairAnswer> answers = AskNodes(ctx, "POST", "/repair?split=1");
  json nodes = json::array();
  uint64_t started = 0;
  for (const NodeRepairAnswer& a : answers) {
    json n = {{"id", a.id}, {"http_addr", a.http_addr}, {"requested", a.body.ok()}};
    if (!a.body.ok()) n["error"] = a.body.status().message();
    started += a.body.ok() ? 1 : 0;
    nodes.push_back(std::move(n));
  }
  json j = {{"requested", started},
            {"nodes", nodes},
            {"note",
             "each node compares the keys it replicates with every peer of greater id; "
             "follow GET /repair"}};
  return HttpResponse::Json(started > 0 ? 202 : 503, j.dump());
}

}  // namespace ringkv::router::internal
