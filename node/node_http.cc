#include "node/node_http.h"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/secret.h"
#include "cluster/neighbors.h"
#include "net/http_status.h"
#include "net/resp/resp_parser.h"

namespace ringkv::node {

namespace {

using net::HttpRequest;
using net::HttpResponse;

constexpr std::string_view kKvPrefix = "/kv/";

HttpResponse CheckAlive(const NodeHttpContext& ctx) {
  nlohmann::json j = {{"status", "ok"},
                      {"id", ctx.state.id},
                      {"version", ctx.state.version},
                      {"kind", "ringkv"},
                      {"engine", ctx.state.engine_name},
                      {"ports",
                       {{"resp", ctx.state.resp_port},
                        {"http", ctx.state.http_port},
                        {"grpc", ctx.state.grpc_port}}}};
  return HttpResponse::Json(200, j.dump());
}

// Runs one command as an authenticated internal session and decodes its reply.
std::optional<net::resp::Reply> Run(const NodeHttpContext& ctx,
                                    std::initializer_list<std::string_view> args) {
  Session session;
  session.authenticated = true;
  std::string out;
  ctx.dispatcher.Execute(std::span<const std::string_view>(args.begin(), args.size()), session,
                         out);
  return net::resp::DecodeReply(out);
}

// The status of a command's error reply: -OOM is a node at its memory limit
// under noeviction (507); anything else failed here (500). docs/design.md,
// "Conventions" has the table.
Status CommandStatus(const net::resp::Reply& r) {
  if (r.str.rfind("OOM", 0) == 0) return ResourceExhausted(r.str);
  return Internal(r.str);
}

HttpResponse CommandError(const net::resp::Reply& r) {
  return net::ErrorResponse(CommandStatus(r));
}

// The dispatcher wrote a reply that does not decode: a bug of this process.
HttpResponse MalformedReply() {
  return net::ErrorResponse(Internal("internal error"));
}

HttpResponse Kv(const HttpRequest& req, std::string_view key, const NodeHttpContext& ctx) {
  using Type = net::resp::Reply::Type;
  if (key.empty()) return HttpResponse::Error(400, "missing key: use /kv/{key}");
  if (req.method == "GET") {
    auto r = Run(ctx, {"GET", key});
    if (!r) return MalformedReply();
    if (r->type == Type::kError) return CommandError(*r);
    if (r->type == Type::kNull)
      return HttpResponse::Json(404, R"({"message": "Key does not exist."})");
    HttpResponse ok;
    ok.content_type = "application/octet-stream";
    ok.body = std::move(r->str);
    return ok;
  }
  if (req.method == "PUT" || req.method == "POST") {
    auto r = Run(ctx, {"SET", key, req.body});
    if (!r) return MalformedReply();
    if (r->type == Type::kError) return CommandError(*r);
    return HttpResponse::Json(201, "{\"key\": " + net::JsonQuote(key) +
                                       ", \"bytes\": " + std::to_string(req.body.size()) + "}");
  }
  if (req.method == "DELETE") {
    auto r = Run(ctx, {"DEL", key});
    if (!r) return MalformedReply();
    if (r->type == Type::kError) return CommandError(*r);
    if (r->integer == 0) return HttpResponse::Json(404, R"({"message": "Key does not exist."})");
    return HttpResponse::Json(200, R"({"deleted": 1})");
  }
  HttpResponse r = HttpResponse::Error(405, "method not allowed: use GET, PUT, POST or DELETE");
  r.headers.emplace_back("Allow", "GET, PUT, POST, DELETE");
  return r;
}

// The password is compared in constant time, so response timing does not reveal it.
bool Authorized(const HttpRequest& req, const NodeHttpContext& ctx) {
  if (ctx.password.empty()) return true;
  std::string_view h = req.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (h.rfind(kBearer, 0) != 0) return false;
  return SecretEquals(h.substr(kBearer.size()), ctx.password);
}

nlohmann::json PlacedJson(const cluster::ClusterMap& map, const cluster::PlacedNode& p) {
  const cluster::NodeInfo& n = map.nodes[p.index];
  return {{"id", n.id},
          {"addr", n.addr},
          {"http_addr", n.http_addr},
          {"grpc_addr", n.grpc_addr},
          {"state", cluster::NodeStateName(n.state)},
          {"position", std::to_string(p.position)}};
}

// Crustyring's neighbours: the nodes just before and after this one, ordered
// by ring id (cluster/neighbors.h), from the cluster map this node holds.
HttpResponse Neighbors(const NodeHttpContext& ctx) {
  nlohmann::json j = {{"id", ctx.state.id},  {"epoch", 0},      {"in_service", false},
                      {"previous", nullptr}, {"next", nullptr}, {"nodes", 0}};
  std::shared_ptr<const ClusterSnapshot> view;
  if (ctx.view != nullptr) view = ctx.view->Snapshot();
  if (!view || !view->map) return HttpResponse::Json(200, j.dump());
  const cluster::ClusterMap& map = *view->map;
  j["epoch"] = map.epoch;
  j["nodes"] = cluster::NodesByPosition(map).size();
  if (std::optional<cluster::Neighbors> n = cluster::NeighborsOf(map, ctx.state.id)) {
    j["in_service"] = true;
    j["position"] = std::to_string(n->self.position);
    j["previous"] = PlacedJson(map, n->previous);
    j["next"] = PlacedJson(map, n->next);
  }
  return HttpResponse::Json(200, j.dump());
}

// GET /repair: the progress; POST /repair[?split=1]: a pass now.
HttpResponse Repair(const HttpRequest& req, const NodeHttpContext& ctx) {
  if (ctx.repair == nullptr) return net::ErrorResponse(Unavailable("anti-entropy is not running"));
  if (req.method == "POST") {
    if (!Authorized(req, ctx)) {
      return HttpResponse::Error(401, "authentication required: Authorization: Bearer <password>");
    }
    auto it = req.query.find("split");
    const bool split = it != req.query.end() && it->second == "1";
    const bool running = ctx.repair->Request(split);
    nlohmann::json j = {
        {"id", ctx.state.id}, {"requested", true}, {"queued_behind_running_pass", running}};
    return HttpResponse::Json(202, j.dump());
  }
  if (req.method != "GET" && req.method != "HEAD") {
    return HttpResponse::Error(405, "method not allowed: use GET or POST");
  }
  return HttpResponse::Json(200, RenderRepairJson(ctx.repair->Progress()));
}

}  // namespace

HttpResponse NodeHttpApi::Handle(const HttpRequest& req) const {
  const NodeHttpContext& ctx = ctx_;
  const std::string& path = req.path;
  if (path.rfind(kKvPrefix, 0) == 0) {
    if (!Authorized(req, ctx))
      return HttpResponse::Error(401, "authentication required: Authorization: Bearer <password>");
    return Kv(req, std::string_view(path).substr(kKvPrefix.size()), ctx);
  }
  if (path == "/repair") return Repair(req, ctx);
  if (req.method != "GET" && req.method != "HEAD") {
    if (path == "/check-alive" || path == "/metrics" || path == "/stats" || path == "/neighbors") {
      return HttpResponse::Error(405, "method not allowed: use GET");
    }
    return HttpResponse::Error(404, "no such endpoint: " + path);
  }
  if (path == "/check-alive") return CheckAlive(ctx);
  if (path == "/neighbors") return Neighbors(ctx);
  if (path == "/metrics") {
    HttpResponse r =
        HttpResponse::Text(200, ctx.metrics.RenderPrometheus(ctx.engine.Stats(), ctx.state));
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  if (path == "/stats")
    return HttpResponse::Json(200, ctx.metrics.RenderJson(ctx.engine.Stats(), ctx.state));
  return HttpResponse::Error(404, "no such endpoint: " + path);
}

}  // namespace ringkv::node
