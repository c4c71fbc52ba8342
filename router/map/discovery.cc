#include "router/map/discovery.h"

#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "net/resp_client.h"

namespace ringkv::router {

namespace {

using cluster::BackendKind;
using cluster::NodeInfo;

// With backend_http_tls a node's HTTP API is reached over HTTPS, verified
// against the back ends' CA (docs/security.md, "TLS").
StatusOr<NodeInfo> FromCheckAlive(const std::string& http_addr, uint32_t timeout_ms,
                                  const net::RespCredentials& backend) {
  auto res = net::HttpCall("GET", http_addr, "/check-alive", "",
                           {.timeout_ms = timeout_ms, .tls = backend.http_tls});
  if (!res.ok()) return res.status();
  const std::string url = (backend.http_tls ? "https://" : "http://") + http_addr + "/check-alive";
  if (res->status != 200) {
    return Unavailable("GET " + url + " answered " + std::to_string(res->status));
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ports") || !j["ports"].is_object()) {
    return Unavailable("GET " + url + ": not a ringkv node (unexpected body)");
  }
  auto host = net::SplitHostPort(http_addr);
  if (!host.ok()) return host.status();
  NodeInfo n;
  n.kind = BackendKind::kRingkv;
  n.id = j.value("id", std::string());
  n.http_addr = http_addr;
  n.addr = host->first + ":" + std::to_string(j["ports"].value("resp", 0));
  int grpc = j["ports"].value("grpc", 0);
  if (grpc > 0) n.grpc_addr = host->first + ":" + std::to_string(grpc);
  if (n.id.empty()) n.id = n.addr;
  return n;
}

Status Ping(const std::string& addr, uint32_t timeout_ms, const net::RespCredentials& backend) {
  auto c = net::RespClient::Connect(addr, timeout_ms, backend);
  if (!c.ok()) return c.status();
  auto r = c->Call({"PING"}, timeout_ms);
  if (!r.ok()) return r.status();
  if (r->type != net::resp::Reply::Type::kSimple || r->str != "PONG") {
    return Unavailable("PING " + addr + ": " + (r->str.empty() ? "unexpected reply" : r->str));
  }
  return OkStatus();
}

}  // namespace

StatusOr<NodeInfo> DiscoverNode(const std::string& addr, std::optional<BackendKind> kind_hint,
                                uint32_t timeout_ms, const net::RespCredentials& backend) {
  if (auto hp = net::SplitHostPort(addr); !hp.ok()) return hp.status();
  if (!kind_hint || *kind_hint == BackendKind::kRingkv) {
    auto n = FromCheckAlive(addr, timeout_ms, backend);
    if (n.ok() || kind_hint) return n;
  }
  if (Status s = Ping(addr, timeout_ms, backend); !s.ok()) {
    return Unavailable("nothing at " + addr +
                       " answers /check-alive (ringkv node) or PING (redis): " + s.message());
  }
  NodeInfo n;
  n.kind = BackendKind::kRedis;
  n.id = addr;
  n.addr = addr;
  return n;
}

NodeInfo UndiscoveredNode(const std::string& addr) {
  NodeInfo n;
  n.id = n.addr = n.http_addr = addr;
  n.state = cluster::NodeState::kDown;
  return n;
}

bool IsUndiscovered(const NodeInfo& node) {
  // A discovered ringkv node serves HTTP and RESP on different ports; redis has no http_addr.
  return node.http_addr == node.addr;
}

Status ProbeNode(const NodeInfo& node, uint32_t timeout_ms, const net::RespCredentials& backend) {
  if (IsUndiscovered(node)) {
    return DiscoverNode(node.addr, std::nullopt, timeout_ms, backend).status();
  }
  if (node.kind == BackendKind::kRingkv && !node.http_addr.empty()) {
    auto res = net::HttpCall("GET", node.http_addr, "/check-alive", "",
                             {.timeout_ms = timeout_ms, .tls = backend.http_tls});
    if (!res.ok()) return res.status();
    if (res->status != 200)
      return Unavailable("check-alive answered " + std::to_string(res->status));
    // Over TLS the data path can fail where HTTP does not (a certificate
    // that does not verify): such a node is down, as the proxy finds it.
    if (backend.tls != nullptr) return Ping(node.addr, timeout_ms, backend);
    return OkStatus();
  }
  return Ping(node.addr, timeout_ms, backend);
}

Status FlushRedisNode(const NodeInfo& node, uint32_t timeout_ms,
                      const net::RespCredentials& backend) {
  if (node.kind != BackendKind::kRedis) {
    return FailedPrecondition("ringkv node " + node.id + " is never flushed");
  }
  auto c = net::RespClient::Connect(node.addr, timeout_ms, backend);
  if (!c.ok()) return c.status();
  auto r = c->Call({"FLUSHALL"}, timeout_ms);
  if (!r.ok()) return r.status();
  if (r->type == net::resp::Reply::Type::kError)
    return Internal("FLUSHALL on " + node.addr + ": " + r->str);
  return OkStatus();
}

}  // namespace ringkv::router
