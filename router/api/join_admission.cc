#include "router/api/join_admission.h"

#include <spdlog/spdlog.h>

#include "cluster/membership.h"
#include "cluster/neighbors.h"
#include "net/http_client.h"
#include "net/resp_client.h"
#include "router/map/discovery.h"
#include "router/map/map_owner.h"
#include "router/rebalance/migrations_http.h"
#include "router/rebalance/migrator.h"
#include "router/rebalance/node_client.h"

namespace ringkv::router {
namespace {

using cluster::ClusterMap;
using cluster::NodeInfo;

RingNode AsRingNode(const ClusterMap& map, const cluster::PlacedNode& p) {
  return RingNode{p.position, map.nodes[p.index].grpc_addr};
}

// The value of `field` in an INFO reply ("field:value" lines), or nullopt.
std::optional<std::string> InfoField(std::string_view info, std::string_view field) {
  size_t at = 0;
  while (at < info.size()) {
    size_t end = info.find('\n', at);
    std::string_view line = info.substr(at, end == std::string_view::npos ? end : end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > field.size() && line.substr(0, field.size()) == field &&
        line[field.size()] == ':') {
      return std::string(line.substr(field.size() + 1));
    }
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return std::nullopt;
}

// The HTTP address of the ringkv node serving RESP at `addr`.
StatusOr<std::string> HttpAddrOverResp(const std::string& addr, uint32_t timeout_ms,
                                       const net::RespCredentials& backend) {
  auto c = net::RespClient::Connect(addr, timeout_ms, backend);
  if (!c.ok()) return c.status();
  auto r = c->Call({"INFO", "server"}, timeout_ms);
  if (!r.ok()) return r.status();
  if (r->type != net::resp::Reply::Type::kBulk) {
    return Unavailable("INFO on " + addr + ": " + (r->str.empty() ? "unexpected reply" : r->str));
  }
  if (!InfoField(r->str, "ringkv_node_id")) return Unavailable(addr + " is not a ringkv node");
  auto port = InfoField(r->str, "ringkv_http_port");
  if (!port || port->empty() || *port == "0") {
    return Unavailable("the ringkv node at " + addr +
                       " does not report its HTTP port (INFO ringkv_http_port); join with its "
                       "HTTP address");
  }
  auto hp = net::SplitHostPort(addr);
  if (!hp.ok()) return hp.status();
  return hp->first + ":" + *port;
}

}  // namespace

std::vector<RingNode> ConnectedNodes(const ClusterMap& map) {
  std::vector<RingNode> out;
  for (const cluster::PlacedNode& p : cluster::NodesByPosition(map)) {
    if (map.nodes[p.index].grpc_addr.empty()) continue;
    out.push_back(AsRingNode(map, p));
  }
  return out;
}

std::optional<Placement> PlacementOf(const ClusterMap& map, std::string_view node_id) {
  auto n = cluster::NeighborsOf(map, node_id);
  if (!n) return std::nullopt;
  return Placement{AsRingNode(map, n->self), AsRingNode(map, n->previous)};
}

std::optional<size_t> FindMember(const ClusterMap& map, const NodeNames& names) {
  for (size_t i = 0; i < map.nodes.size(); ++i) {
    const NodeInfo& n = map.nodes[i];
    if (!names.addr.empty() && (n.addr == names.addr || n.http_addr == names.addr)) return i;
    if (!names.grpc_addr.empty() && n.grpc_addr == names.grpc_addr) return i;
    if (!names.id.empty() && n.id == names.id) return i;
  }
  return std::nullopt;
}

JoinAdmission::JoinAdmission(JoinAdmissionOptions options, MapOwner& map_owner, Migrator* migrator,
                             NodeClient& peers)
    : options_(std::move(options)), map_owner_(map_owner), migrator_(migrator), peers_(peers) {}

StatusOr<JoinResult> JoinAdmission::Join(const JoinRequest& request) {
  if (Status s = cluster::ValidateAddr(request.addr); !s.ok()) {
    return InvalidArgument("addr: " + s.message());
  }
  if (request.weight > options_.limits.max_weight) {
    if (options_.refusals == nullptr || options_.refusals->Count()) {
      spdlog::warn("registry: join of {} refused: weight {} is beyond max_weight {}", request.addr,
                   request.weight, options_.limits.max_weight);
    }
    return InvalidArgument("weight must be in [0, " + std::to_string(options_.limits.max_weight) +
                           "] (0 = 1; max_weight), got " + std::to_string(request.weight));
  }
  ClusterMap map = map_owner_.Map();
  if (auto i = FindMember(map, {request.addr, "", request.id})) return Member(map, *i);
  auto node = Discover(request.addr);
  if (!node.ok()) return node.status();
  return Add(*std::move(node), request);
}

StatusOr<JoinResult> JoinAdmission::RegisterNode(const std::string& grpc_addr) {
  if (Status s = cluster::ValidateAddr(grpc_addr); !s.ok()) {
    return InvalidArgument("addr: " + s.message());
  }
  ClusterMap map = map_owner_.Map();
  if (auto i = FindMember(map, {"", grpc_addr, ""})) return Member(map, *i);
  auto st = peers_.GetStatus(grpc_addr, options_.discovery_timeout_ms);
  if (!st.ok()) {
    return Unavailable("no ringkv node answers at " + grpc_addr + ": " + st.status().message());
  }
  if (st->resp_addr.empty()) {
    return Unavailable(grpc_addr + " is not a ringkv node (its Status reports no RESP address)");
  }
  JoinRequest request{st->resp_addr, 0, ""};
  if (auto i = FindMember(map, {st->resp_addr, "", st->id})) return Member(map, *i);
  auto node = Discover(st->http_addr.empty() ? st->resp_addr : st->http_addr);
  if (!node.ok()) return node.status();
  return Add(*std::move(node), request);
}

StatusOr<JoinResult> JoinAdmission::Add(NodeInfo node, const JoinRequest& request) {
  if (request.weight != 0) node.weight = request.weight;
  if (!request.id.empty()) node.id = request.id;
  // Named by another address than the one it was discovered under.
  ClusterMap map = map_owner_.Map();
  if (auto i = FindMember(map, {node.addr, node.grpc_addr, ""}); i && map.nodes[*i].id == node.id) {
    return Member(map, *i);
  }
  auto started = StartChange(migrator_, map_owner_, cluster::MigrationKind::kAdd, node.addr,
                             [&](const ClusterMap& m) {
                               NodeInfo joining = node;
                               joining.state = cluster::NodeState::kJoining;
                               return cluster::AddNode(m, joining, options_.limits);
                             });
  if (!started.ok()) {
    if (started.status().code() != StatusCode::kAborted) return started.status();
    return Status(StatusCode::kAborted, "cannot add " + node.addr + " now: " +
                                            started.status().message() + "; retry when it is done");
  }
  JoinResult r;
  r.status = started->migration ? "processing" : "done";
  r.node_id = node.id;
  if (started->migration) r.migration_id = started->migration->id;
  r.map = started->after;
  spdlog::info("registry: {} ({}) joins at epoch {}{}", node.id, node.addr, r.map.epoch,
               r.migration_id.empty() ? "" : " (migration " + r.migration_id + ")");
  return r;
}

JoinResult JoinAdmission::Member(const ClusterMap& map, size_t index) const {
  JoinResult r;
  r.status = "member";
  r.node_id = map.nodes[index].id;
  if (migrator_ && map.nodes[index].state == cluster::NodeState::kJoining) {
    r.migration_id = migrator_->RunningId();
  }
  r.map = map;
  return r;
}

StatusOr<NodeInfo> JoinAdmission::Discover(const std::string& addr) const {
  const uint32_t timeout = options_.discovery_timeout_ms;
  auto node = DiscoverNode(addr, cluster::BackendKind::kRingkv, timeout, options_.backend);
  if (node.ok()) return node;
  auto http = HttpAddrOverResp(addr, timeout, options_.backend);
  if (!http.ok()) {
    return Unavailable("no ringkv node answers at " + addr + ": " + node.status().message() +
                       "; over RESP: " + http.status().message());
  }
  node = DiscoverNode(*http, cluster::BackendKind::kRingkv, timeout, options_.backend);
  if (!node.ok())
    return Unavailable("no ringkv node answers at " + addr + ": " + node.status().message());
  return node;
}

}  // namespace ringkv::router
