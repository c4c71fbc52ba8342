#include "cluster/membership.h"

#include <string>
#include <utility>

namespace ringkv::cluster {
namespace {

bool IsBlankOrControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u <= ' ' || u == 0x7f;
}

// Owns keys in the ring (see BuildRing): active or joining.
bool InService(NodeState s) {
  return s == NodeState::kActive || s == NodeState::kJoining;
}

Status NotInCluster(std::string_view name) {
  return NotFound("no node " + std::string(name) + " in the cluster");
}

// The copy every successful change starts from.
ClusterMap Next(const ClusterMap& map) {
  ClusterMap next = map;
  ++next.epoch;
  return next;
}

}  // namespace

Status ValidateLimits(const MembershipLimits& limits) {
  if (limits.max_weight < 1 || limits.max_weight > ring::kMaxNodeWeight) {
    return InvalidArgument("max_weight must be in [1, " + std::to_string(ring::kMaxNodeWeight) +
                           "], got " + std::to_string(limits.max_weight));
  }
  if (limits.max_vnodes < 1 || limits.max_vnodes > kMaxVnodes) {
    return InvalidArgument("max_vnodes must be in [1, " + std::to_string(kMaxVnodes) + "], got " +
                           std::to_string(limits.max_vnodes));
  }
  return OkStatus();
}

Status CheckWeight(uint32_t weight, const MembershipLimits& limits) {
  if (weight < 1 || weight > limits.max_weight) {
    return InvalidArgument("weight must be in [1, " + std::to_string(limits.max_weight) +
                           "] (max_weight), got " + std::to_string(weight));
  }
  return OkStatus();
}

Status CheckVnodes(uint32_t vnodes, const MembershipLimits& limits) {
  if (vnodes < 1 || vnodes > limits.max_vnodes) {
    return InvalidArgument("vnodes must be in [1, " + std::to_string(limits.max_vnodes) +
                           "] (max_vnodes), got " + std::to_string(vnodes));
  }
  return OkStatus();
}

Status ValidateAddr(std::string_view addr) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("invalid address \"" + std::string(addr) + "\": " + std::string(why));
  };
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return bad("expected host:port");
  std::string_view host = addr.substr(0, colon);
  std::string_view port = addr.substr(colon + 1);
  if (host.empty()) return bad("empty host");
  for (char c : host) {
    if (IsBlankOrControl(c)) return bad("host contains a space or control character");
  }
  if (port.empty() || port.size() > 5) return bad("port must be a number in [1, 65535]");
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("port must be a number in [1, 65535]");
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value < 1 || value > 65535) return bad("port must be a number in [1, 65535]");
  return OkStatus();
}

StatusOr<ClusterMap> AddNode(const ClusterMap& map, NodeInfo node, const MembershipLimits& limits) {
  if (node.id.empty()) node.id = node.addr;
  if (Status s = ValidateAddr(node.addr); !s.ok()) return s;
  for (const std::string* a : {&node.http_addr, &node.grpc_addr}) {
    if (a->empty()) continue;
    if (Status s = ValidateAddr(*a); !s.ok()) return s;
  }
  for (char c : node.id) {
    if (IsBlankOrControl(c)) {
      return InvalidArgument("invalid node id \"" + node.id +
                             "\": contains a space or control character");
    }
  }
  if (Status s = CheckWeight(node.weight, limits); !s.ok()) return s;
  for (const std::string* name : {&node.addr, &node.id}) {
    if (map.Find(*name)) return AlreadyExists("node " + *name + " is already in the cluster");
  }
  ClusterMap next = Next(map);
  next.nodes.push_back(std::move(node));
  return next;
}

StatusOr<ClusterMap> RemoveNode(const ClusterMap& map, std::string_view name) {
  std::optional<size_t> i = map.Find(name);
  if (!i) return NotInCluster(name);
  if (InService(map.nodes[*i].state) && map.InService() == 1) {
    return FailedPrecondition("cannot remove the last node in service");
  }
  ClusterMap next = Next(map);
  next.nodes.erase(next.nodes.begin() + static_cast<std::ptrdiff_t>(*i));
  return next;
}

StatusOr<ClusterMap> MarkLeaving(const ClusterMap& map, std::string_view name) {
  std::optional<size_t> i = map.Find(name);
  if (!i) return NotInCluster(name);
  const NodeInfo& n = map.nodes[*i];
  if (n.state == NodeState::kLeaving) {
    return FailedPrecondition("node " + std::string(name) + " is already leaving");
  }
  if (InService(n.state) && map.InService() == 1) {
    return FailedPrecondition("cannot remove the last node in service");
  }
  ClusterMap next = Next(map);
  next.nodes[*i].state = NodeState::kLeaving;
  return next;
}

StatusOr<ClusterMap> SetWeight(const ClusterMap& map, std::string_view name, uint32_t weight,
                               const MembershipLimits& limits) {
  std::optional<size_t> i = map.Find(name);
  if (!i) return NotInCluster(name);
  if (Status s = CheckWeight(weight, limits); !s.ok()) return s;
  ClusterMap next = Next(map);
  next.nodes[*i].weight = weight;
  return next;
}

// Any state is allowed, even down for the last node in service: health checks
// must be able to record what they see.
StatusOr<ClusterMap> SetState(const ClusterMap& map, std::string_view name, NodeState state) {
  std::optional<size_t> i = map.Find(name);
  if (!i) return NotInCluster(name);
  ClusterMap next = Next(map);
  next.nodes[*i].state = state;
  return next;
}

StatusOr<ClusterMap> Reinstate(const ClusterMap& map, const NodeInfo& fresh, NodeState state) {
  std::optional<size_t> i = map.Find(fresh.id);
  if (!i) return NotFound("node " + fresh.id + " left the cluster");
  ClusterMap next = Next(map);
  NodeInfo& n = next.nodes[*i];
  n.kind = fresh.kind;
  n.addr = fresh.addr;
  n.http_addr = fresh.http_addr;
  n.grpc_addr = fresh.grpc_addr;
  n.state = state;
  return next;
}

StatusOr<ClusterMap> SetVnodes(const ClusterMap& map, uint32_t vnodes,
                               const MembershipLimits& limits) {
  if (Status s = CheckVnodes(vnodes, limits); !s.ok()) return s;
  ClusterMap next = Next(map);
  next.vnodes = vnodes;
  return next;
}

StatusOr<ClusterMap> SetReplication(const ClusterMap& map, uint32_t replication) {
  ClusterMap next = Next(map);
  next.replication = replication;
  if (Status s = CheckReplication(next); !s.ok()) return s;
  return next;
}

}  // namespace ringkv::cluster
