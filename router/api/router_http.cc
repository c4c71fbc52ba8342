#include "router/api/router_http.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "base/secret.h"
#include "cluster/membership.h"
#include "net/http_status.h"
#include "ring/balance.h"
#include "ring/diff.h"
#include "router/api/internal/config_http.h"
#include "router/api/internal/repair_http.h"
#include "router/jobs/jobs_api.h"
#include "router/map/discovery.h"
#include "router/rebalance/migrations_http.h"

namespace ringkv::router {

namespace internal {

using nlohmann::json;

std::optional<json> ParseObject(const std::string& body, std::string& error) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    error = "malformed JSON body";
    return std::nullopt;
  }
  if (!j.is_object()) {
    error = "the body must be a JSON object";
    return std::nullopt;
  }
  return j;
}

json MigrationField(const Migrator::Started& started) {
  return started.migration ? json::parse(MigrationSummaryJson(*started.migration)) : json();
}

}  // namespace internal

namespace {

using internal::MigrationField;
using internal::ParseObject;

using net::ErrorResponse;
using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;

constexpr std::string_view kKvPrefix = "/kv/";
constexpr std::string_view kRemovePrefix = "/remove-node/";
constexpr std::string_view kNodesPrefix = "/nodes/";

std::string AddrOf(const cluster::ClusterMap& map, const std::string& id) {
  for (const auto& n : map.nodes) {
    if (n.id == id) return n.addr;
  }
  return id;
}

// The consistent_hashing_server's transfer list between two maps, named by node address.
json Transfers(const cluster::ClusterMap& before, const cluster::ClusterMap& after) {
  json out = json::array();
  auto a = cluster::BuildRing(before);
  auto b = cluster::BuildRing(after);
  if (!a.ok() || !b.ok()) return out;
  for (const ring::Transfer& t : ring::ToTransfers(ring::Diff(**a, **b))) {
    out.push_back({{"source", AddrOf(before, t.source)},
                   {"destination", AddrOf(after, t.destination)},
                   {"min", t.min},
                   {"max", t.max},
                   {"exception", t.exception}});
  }
  return out;
}

json NodeJson(const cluster::NodeInfo& n, size_t index, double share) {
  return {{"id", n.id},
          {"addr", n.addr},
          {"http_addr", n.http_addr},
          {"grpc_addr", n.grpc_addr},
          {"kind", cluster::BackendKindName(n.kind)},
          {"weight", n.weight},
          {"state", cluster::NodeStateName(n.state)},
          {"index", index},
          {"share", share}};
}

json MapJson(const cluster::ClusterMap& map) {
  std::vector<double> shares(map.nodes.size(), 0.0);
  if (auto r = cluster::BuildRing(map); r.ok() && !(*r)->empty()) {
    ring::Balance b = ring::BalanceFromArcs(**r);
    for (size_t i = 0; i < map.nodes.size(); ++i) {
      uint32_t idx = (*r)->IndexOf(map.nodes[i].id);
      if (idx != ring::kNoNode) shares[i] = b.share[idx];
    }
  }
  json nodes = json::array();
  for (size_t i = 0; i < map.nodes.size(); ++i)
    nodes.push_back(NodeJson(map.nodes[i], i, shares[i]));
  return {{"epoch", map.epoch},
          {"vnodes", map.vnodes},
          {"hash", ring::HashKindName(map.hash)},
          {"replication", map.replication},
          {"write_consistency", cluster::ConsistencyName(map.write_consistency)},
          {"read_consistency", cluster::ConsistencyName(map.read_consistency)},
          {"tombstone_ttl_s", map.tombstone_ttl_s},
          {"hint_ttl_s", map.hint_ttl_s},
          {"in_service", map.InService()},
          {"nodes", nodes}};
}

bool Authorized(const HttpRequest& req, const RouterHttpContext& ctx) {
  if (ctx.admin_token.empty()) return true;
  return SecretEquals(req.Header("authorization"), "Bearer " + ctx.admin_token);
}

// The data and jobs paths: the clients' password, or the admin token.
bool ClientAuthorized(const HttpRequest& req, const RouterHttpContext& ctx) {
  if (ctx.requirepass.empty()) return true;
  std::string_view h = req.Header("authorization");
  return SecretEquals(h, "Bearer " + ctx.requirepass) ||
         (!ctx.admin_token.empty() && SecretEquals(h, "Bearer " + ctx.admin_token));
}

HttpResponse GetNode(const HttpRequest& req, RouterHttpContext& ctx) {
  std::string error;
  auto body = ParseObject(req.body, error);
  if (!body) return HttpResponse::Error(400, error);
  if (!body->contains("value") || !(*body)["value"].is_string()) {
    return HttpResponse::Error(400, "body must be {\"value\": \"<key>\"}");
  }
  std::string key = (*body)["value"];
  RouteTablePtr t = ctx.map_owner.Current();
  const Backend* b = t->Route(key);
  if (!b) return HttpResponse::Error(503, "no node in service");
  json replicas = json::array();
  for (uint32_t i : t->Replicas(key)) replicas.push_back(t->backends[i].addr);
  json j = {{"node", b->addr},
            {"hash", std::to_string(t->ring->KeyPosition(key))},
            {"index", b->map_index},
            {"count", t->in_service},
            {"replicas", std::move(replicas)}};
  return HttpResponse::Json(200, j.dump());
}

// Reads {"value": addr} or {"addr", "id", "weight", "kind"}.
StatusOr<cluster::NodeInfo> ParseAddNode(const std::string& body_text, RouterHttpContext& ctx) {
  std::string error;
  auto body = ParseObject(body_text, error);
  if (!body) return InvalidArgument(error);
  const json& b = *body;
  std::string addr;
  if (b.contains("value") && b["value"].is_string()) addr = b["value"];
  if (b.contains("addr") && b["addr"].is_string()) addr = b["addr"];
  if (addr.empty())
    return InvalidArgument(
        "body must be {\"value\": \"host:port\"} or {\"addr\": \"host:port\", ...}");
  if (Status s = cluster::ValidateAddr(addr); !s.ok()) return s;
  std::optional<cluster::BackendKind> kind;
  if (b.contains("kind")) {
    if (!b["kind"].is_string() ||
        !(kind = cluster::ParseBackendKind(b["kind"].get<std::string>()))) {
      return InvalidArgument("kind must be \"ringkv\" or \"redis\"");
    }
  }
  if (b.contains("weight") &&
      (!b["weight"].is_number_unsigned() || b["weight"].get<uint64_t>() == 0 ||
       b["weight"].get<uint64_t>() > ctx.limits.max_weight)) {
    if (ctx.refusals != nullptr && b["weight"].is_number_unsigned() &&
        b["weight"].get<uint64_t>() > ctx.limits.max_weight) {
      ctx.refusals->Count();
    }
    return InvalidArgument("weight must be an integer in [1, " +
                           std::to_string(ctx.limits.max_weight) + "] (max_weight)");
  }
  if (b.contains("id") && (!b["id"].is_string() || b["id"].get<std::string>().empty())) {
    return InvalidArgument("id must be a non-empty string");
  }
  auto node = DiscoverNode(addr, kind, ctx.discovery_timeout_ms, ctx.backend);
  if (!node.ok()) return InvalidArgument("cannot add " + addr + ": " + node.status().message());
  if (b.contains("weight")) node->weight = b["weight"].get<uint32_t>();
  if (b.contains("id")) node->id = b["id"].get<std::string>();
  return node;
}

const char* ChangeNote(const Migrator::Started& started) {
  if (started.migration) return "keys move while the cluster serves; follow GET /migrations";
  if (started.remapped) return "keys on moved arcs are remapped (cache semantics)";
  return "no key changes owner";
}

// The node named by its RESP address, HTTP address or id (the consistent_hashing_server's names
// nodes by address).
std::string NodeName(const cluster::ClusterMap& map, const std::string& name) {
  for (const auto& n : map.nodes) {
    if (n.http_addr == name) return n.id;
  }
  return name;
}

json ChangeJson(const Migrator::Started& started, const std::string& node_id) {
  const cluster::ClusterMap& after = started.after;
  size_t index = after.Find(node_id).value_or(0);
  json j = {{"status", started.migration ? "processing" : "done"}, {"epoch", after.epoch}};
  if (after.Find(node_id)) j["node"] = NodeJson(after.nodes[index], index, 0);
  j["transfers"] = Transfers(started.before, after);
  j["migration"] = MigrationField(started);
  j["note"] = ChangeNote(started);
  return j;
}

HttpResponse AddNode(const HttpRequest& req, RouterHttpContext& ctx) {
  auto node = ParseAddNode(req.body, ctx);
  if (!node.ok()) return ErrorResponse(node.status());
  auto started = StartChange(ctx.migrator, ctx.map_owner, cluster::MigrationKind::kAdd, node->addr,
                             [&](const cluster::ClusterMap& m) {
                               cluster::NodeInfo joining = *node;
                               joining.state = cluster::NodeState::kJoining;
                               return cluster::AddNode(m, joining, ctx.limits);
                             });
  if (!started.ok()) return ErrorResponse(started.status());
  std::string id = node->id.empty() ? node->addr : node->id;
  return HttpResponse::Json(200, ChangeJson(*started, id).dump());
}

// Marks the node leaving; its keys move to their new owners and it leaves
// the map when they have. Answers the consistent_hashing_server's transfer list.
HttpResponse RemoveNode(const std::string& name, RouterHttpContext& ctx) {
  std::string target = NodeName(ctx.map_owner.Map(), name);
  auto started =
      StartChange(ctx.migrator, ctx.map_owner, cluster::MigrationKind::kRemove, name,
                  [&](const cluster::ClusterMap& m) { return cluster::MarkLeaving(m, target); });
  if (!started.ok()) return ErrorResponse(started.status());
  return HttpResponse::Json(200, Transfers(started->before, started->after).dump());
}

// PUT /nodes/<addr> {"weight": N}
HttpResponse PutNode(const HttpRequest& req, const std::string& name, RouterHttpContext& ctx) {
  std::string error;
  auto body = ParseObject(req.body, error);
  if (!body) return HttpResponse::Error(400, error);
  const json& w = (*body)["weight"];
  if (!body->contains("weight") || !w.is_number_unsigned() || w.get<uint64_t>() == 0 ||
      w.get<uint64_t>() > ctx.limits.max_weight) {
    if (ctx.refusals != nullptr && w.is_number_unsigned() &&
        w.get<uint64_t>() > ctx.limits.max_weight) {
      ctx.refusals->Count();
    }
    return HttpResponse::Error(400, "body must be {\"weight\": N} with N in [1, " +
                                        std::to_string(ctx.limits.max_weight) + "] (max_weight)");
  }
  uint32_t weight = w.get<uint32_t>();
  cluster::ClusterMap map = ctx.map_owner.Map();
  std::string target = NodeName(map, name);
  auto i = map.Find(target);
  if (!i) return HttpResponse::Error(404, "no node " + name + " in the cluster");
  target = map.nodes[*i].id;
  auto started =
      StartChange(ctx.migrator, ctx.map_owner, cluster::MigrationKind::kWeight,
                  target + " weight " + std::to_string(weight), [&](const cluster::ClusterMap& m) {
                    return cluster::SetWeight(m, target, weight, ctx.limits);
                  });
  if (!started.ok()) return ErrorResponse(started.status());
  return HttpResponse::Json(200, ChangeJson(*started, target).dump());
}

// Runs `args` on `key`'s first live replica and, when that back end fails
// (no answer; an error reply is an answer), on the next one, marking the
// failed one suspect. Returns the reply and the back end that gave it (the
// last one tried when none answered).
std::pair<StatusOr<net::resp::Reply>, const Backend*> CallReplicas(
    const RouteTable& t, std::string_view key, std::span<const std::string_view> args,
    KvGateway& kv) {
  std::vector<std::string> tried;
  StatusOr<net::resp::Reply> r = Unavailable("no node in service");
  const Backend* served = nullptr;
  for (uint32_t i = t.Pick(key); i != ring::kNoNode; i = t.Pick(key, tried)) {
    served = &t.backends[i];
    r = kv.Call(served->addr, args);
    if (r.ok()) break;
    if (t.replication > 1) t.SetSuspect(i, true);
    tried.push_back(served->addr);
  }
  return {std::move(r), served};
}

HttpResponse Kv(const HttpRequest& req, std::string_view key, RouterHttpContext& ctx) {
  using Type = net::resp::Reply::Type;
  if (key.empty()) return HttpResponse::Error(400, "missing key: use /kv/{key}");
  RouteTablePtr t = ctx.map_owner.Current();
  const Backend* owner = t->Route(key);
  if (!owner) return HttpResponse::Error(503, "no node in service");
  if (Status moved = ctx.kv.MoveKeyFirst(*t, key); !moved.ok()) {
    return HttpResponse::Error(502, "backend " + owner->addr + ": " + moved.message());
  }
  std::string value;
  std::vector<std::string_view> args;
  int ok_status = 200;
  if (req.method == "GET") {
    args = {"GET", key};
  } else if (req.method == "PUT" || req.method == "POST") {
    value = req.body;
    // The FastAPI cache balancer's clients send {"value": "..."}; a raw body is stored as is.
    if (req.Header("content-type").find("application/json") != std::string_view::npos) {
      json j = json::parse(req.body, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("value") || !j["value"].is_string()) {
        return HttpResponse::Error(400, "a JSON body must be {\"value\": \"...\"}");
      }
      value = j["value"];
    }
    args = {"SET", key, value};
    ok_status = 201;
  } else if (req.method == "DELETE") {
    args = {"DEL", key};
  } else {
    return HttpResponse::Error(405, "method not allowed: use GET, PUT, POST or DELETE");
  }
  auto [r, served] = CallReplicas(*t, key, args, ctx.kv);
  const Backend* b = served != nullptr ? served : owner;
  HttpResponse out;
  if (!r.ok()) {
    out = HttpResponse::Error(502, "backend " + b->addr + " unavailable: " + r.status().message());
  } else if (r->type == Type::kError) {
    out = HttpResponse::Error(502, "backend " + b->addr + ": " + r->str);
  } else if (req.method == "GET" && r->type == Type::kNull) {
    out = HttpResponse::Json(404, R"({"message": "Key does not exist."})");
  } else if (req.method == "GET") {
    out = HttpResponse::Json(
        200, json({{"value", r->str}}).dump(-1, ' ', false, json::error_handler_t::replace));
    if (req.Header("accept").find("application/octet-stream") != std::string_view::npos) {
      out.content_type = "application/octet-stream";
      out.body = r->str;
    }
  } else if (req.method == "DELETE") {
    out = r->integer > 0 ? HttpResponse::Json(200, R"({"deleted": 1})")
                         : HttpResponse::Json(404, R"({"message": "Key does not exist."})");
  } else {
    out = HttpResponse::Json(ok_status, json({{"key", std::string(key)}, {"status", "stored"}})
                                            .dump(-1, ' ', false, json::error_handler_t::replace));
  }
  out.headers.emplace_back("X-CacheServer-Index", std::to_string(b->map_index));
  out.headers.emplace_back("X-CacheServer-Count", std::to_string(t->in_service));
  out.headers.emplace_back("X-CacheServer-Node", b->addr);
  out.headers.emplace_back("X-Served-By", b->addr);
  return out;
}

HttpResponse CheckAlive(RouterHttpContext& ctx) {
  cluster::ClusterMap map = ctx.map_owner.Map();
  json j = {{"status", "ok"},
            {"role", "router"},
            {"epoch", map.epoch},
            {"nodes", map.nodes.size()},
            {"in_service", map.InService()},
            {"ports", {{"http", ctx.http_port}, {"resp", ctx.resp_port}}}};
  return HttpResponse::Json(200, j.dump());
}

HttpResponse Metrics(RouterHttpContext& ctx) {
  cluster::ClusterMap map = ctx.map_owner.Map();
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    out += std::string(name) + " " + std::to_string(value) + "\n";
  };
  metric("ringkv_router_epoch", "gauge", "Epoch of the cluster map.", map.epoch);
  metric("ringkv_router_vnodes", "gauge", "Virtual nodes per unit of weight.", map.vnodes);
  // Weights and vnodes beyond max_weight / max_vnodes (docs/security.md).
  out += "# HELP ringkv_router_refused_total Requests refused at the boundary, by reason.\n";
  out += "# TYPE ringkv_router_refused_total counter\n";
  out += "ringkv_router_refused_total{reason=\"membership\"} " +
         std::to_string(ctx.refusals != nullptr ? ctx.refusals->count() : 0) + "\n";
  out +=
      "# HELP ringkv_router_nodes Nodes in the cluster map by state.\n# TYPE ringkv_router_nodes "
      "gauge\n";
  for (auto s : {cluster::NodeState::kJoining, cluster::NodeState::kActive,
                 cluster::NodeState::kLeaving, cluster::NodeState::kDown}) {
    size_t n = 0;
    for (const auto& node : map.nodes) n += node.state == s;
    out += "ringkv_router_nodes{state=\"" + std::string(cluster::NodeStateName(s)) + "\"} " +
           std::to_string(n) + "\n";
  }
  const ProxyStats& p = ctx.proxy_stats;
  metric("ringkv_router_commands_total", "counter", "Commands received by the RESP proxy.",
         p.commands.load());
  metric("ringkv_router_errors_total", "counter", "Error replies the proxy generated.",
         p.errors.load());
  metric("ringkv_router_backend_timeouts_total", "counter", "Back-end replies that timed out.",
         p.backend_timeouts.load());
  metric("ringkv_router_backend_failures_total", "counter", "Back-end connection failures.",
         p.backend_failures.load());
  metric("ringkv_router_failovers_total", "counter",
         "Commands re-sent to the next replica of their keys after a back end failed.",
         p.failovers.load());
  metric("ringkv_router_connected_clients", "gauge", "Open RESP client connections.",
         p.connected_clients.load());
  metric("ringkv_router_client_buffer_bytes", "gauge",
         "Input and output buffers of all RESP client connections.",
         std::max<int64_t>(0, p.clients.buffer_bytes.load()));
  metric("ringkv_router_client_output_limit_disconnects_total", "counter",
         "Clients disconnected at client-output-buffer-limit.",
         p.clients.output_limit_disconnects.load());
  metric("ringkv_router_client_query_buffer_limit_disconnects_total", "counter",
         "Clients disconnected for a query buffer over max_query_buffer.",
         p.clients.query_limit_disconnects.load());
  metric("ringkv_router_evicted_clients_total", "counter",
         "Clients disconnected at maxmemory-clients.", p.clients.memory_evictions.load());
  metric("ringkv_router_client_auth_timeouts_total", "counter",
         "Clients disconnected for not authenticating within auth_timeout.",
         p.clients.auth_timeouts.load());
  metric("ringkv_router_accept_out_of_fds_total", "counter",
         "Accepts that failed for want of file descriptors (EMFILE); the client is refused.",
         p.clients.emfile_events.load());
  if (ctx.jobs) out += ctx.jobs->MetricsText();
  HttpResponse r = HttpResponse::Text(200, std::move(out));
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

}  // namespace

std::string ValidateHealth(const cluster::HealthOptions& h) {
  if (h.interval_ms < 10) return "health.interval_ms must be >= 10";
  if (h.timeout_ms == 0 || h.timeout_ms > h.interval_ms * 10)
    return "health.timeout_ms must be in [1, 10 x interval_ms]";
  if (h.failures == 0 || h.successes == 0)
    return "health.failures and health.successes must be >= 1";
  return "";
}

HttpResponse HandleRouterHttp(const HttpRequest& req, RouterHttpContext& ctx) {
  const std::string& path = req.path;
  const std::string& m = req.method;
  const bool kv = path.rfind(kKvPrefix, 0) == 0;
  if ((kv || JobsApi::Serves(path)) && !ClientAuthorized(req, ctx)) {
    return HttpResponse::Error(401, "this endpoint needs Authorization: Bearer <requirepass>");
  }
  if (JobsApi::Serves(path)) return HandleJobsHttp(req, ctx.jobs);
  if (kv) return Kv(req, std::string_view(path).substr(kKvPrefix.size()), ctx);
  bool mutating = (path == "/add-node" || path.rfind(kRemovePrefix, 0) == 0 ||
                   (path == "/config" && m == "PUT") || (path == "/repair" && m == "POST") ||
                   IsMigrationsMutation(req) || (path.rfind(kNodesPrefix, 0) == 0 && m != "GET"));
  if (mutating && !Authorized(req, ctx)) {
    return HttpResponse::Error(401, "this endpoint needs Authorization: Bearer <admin token>");
  }
  if (path == "/get-node" && m == "POST") return GetNode(req, ctx);
  if (path == "/add-node" && m == "POST") return AddNode(req, ctx);
  if (path.rfind(kRemovePrefix, 0) == 0 && m == "POST") {
    std::string name = path.substr(kRemovePrefix.size());
    if (name.empty()) return HttpResponse::Error(400, "use /remove-node/<addr>");
    return RemoveNode(name, ctx);
  }
  if (path == "/nodes" && m == "GET")
    return HttpResponse::Json(200, MapJson(ctx.map_owner.Map()).dump());
  if (path.rfind(kNodesPrefix, 0) == 0) {
    std::string name = path.substr(kNodesPrefix.size());
    if (name.empty()) return HttpResponse::Error(400, "use PUT /nodes/<addr>");
    if (m != "PUT") return HttpResponse::Error(405, "method " + m + " not allowed on " + path);
    return PutNode(req, name, ctx);
  }
  if (IsMigrationsPath(path)) return HandleMigrationsHttp(req, ctx.migrator);
  if (path == "/config" && m == "GET") return internal::GetConfig(ctx);
  if (path == "/config" && m == "PUT") return internal::PutConfig(req, ctx);
  if (path == "/repair" && m == "GET") return internal::GetRepair(ctx);
  if (path == "/repair" && m == "POST") return internal::StartRepair(ctx);
  if (path == "/check-alive" && m == "GET") return CheckAlive(ctx);
  if (path == "/metrics" && m == "GET") return Metrics(ctx);
  static const std::set<std::string> kKnown = {"/get-node",    "/add-node", "/nodes", "/config",
                                               "/check-alive", "/metrics",  "/repair"};
  if (kKnown.count(path) || path.rfind(kRemovePrefix, 0) == 0) {
    return HttpResponse::Error(405, "method " + m + " not allowed on " + path);
  }
  return HttpResponse::Error(404, "no such endpoint: " + path);
}

}  // namespace ringkv::router
