#include "router/proxy/route_table.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>

namespace ringkv::router {

namespace {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Splits "host:port" or "[v6]:port"; the port must be 1..65535.
StatusOr<HostPort> SplitAddr(std::string_view addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == addr.size()) {
    return InvalidArgument("address '" + std::string(addr) + "' is not host:port");
  }
  std::string_view host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string_view digits = addr.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || value == 0 || value > 65535) {
    return InvalidArgument("address '" + std::string(addr) + "' has a bad port");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

}  // namespace

StatusOr<RouteTablePtr> MakeRouteTable(const cluster::ClusterMap& map) {
  StatusOr<ring::RingPtr> ring = cluster::BuildRing(map);
  if (!ring.ok()) return ring.status();
  auto table = std::make_shared<RouteTable>();
  table->epoch = map.epoch;
  table->ring = *ring;
  table->in_service = map.InService();
  table->replication = map.replication;

  // Ring nodes are sorted by id; the map keeps its own order.
  std::unordered_map<std::string_view, size_t> by_id;
  for (size_t i = 0; i < map.nodes.size(); ++i) {
    const cluster::NodeInfo& n = map.nodes[i];
    by_id.emplace(n.id.empty() ? std::string_view(n.addr) : std::string_view(n.id), i);
  }
  table->backends.reserve(table->ring->size());
  for (const ring::NodeSpec& spec : table->ring->nodes()) {
    auto it = by_id.find(spec.id);
    if (it == by_id.end()) return Internal("ring node '" + spec.id + "' is not in the map");
    const cluster::NodeInfo& n = map.nodes[it->second];
    StatusOr<HostPort> hp = SplitAddr(n.addr);
    if (!hp.ok()) return hp.status();
    Backend b;
    b.id = spec.id;
    b.addr = n.addr;
    b.host = std::move(hp->host);
    b.port = hp->port;
    b.kind = n.kind;
    b.map_index = static_cast<uint32_t>(it->second);
    b.down = n.state == cluster::NodeState::kDown;
    table->backends.push_back(std::move(b));
  }
  table->suspects = std::make_shared<SuspectFlags>(table->backends.size());
  return RouteTablePtr(std::move(table));
}

uint32_t RouteTable::IndexOfAddr(std::string_view addr) const {
  for (size_t i = 0; i < backends.size(); ++i) {
    if (backends[i].addr == addr) return static_cast<uint32_t>(i);
  }
  return ring::kNoNode;
}

std::vector<uint32_t> RouteTable::Replicas(std::string_view key) const {
  if (!ring || ring->empty()) return {};
  if (replication <= 1) return {ring->OwnerIndexOfKey(key)};
  return ring->PreferenceList(ring->KeyPosition(key), replication);
}

uint32_t RouteTable::Pick(std::string_view key, std::span<const std::string> tried) const {
  if (!ring || ring->empty()) return ring::kNoNode;
  auto was_tried = [&](uint32_t i) {
    return std::find(tried.begin(), tried.end(), backends[i].addr) != tried.end();
  };
  if (replication <= 1) {
    uint32_t owner = ring->OwnerIndexOfKey(key);
    return was_tried(owner) ? ring::kNoNode : owner;
  }
  uint32_t fallback = ring::kNoNode;
  uint32_t list[ring::kMaxReplication];
  const uint32_t n = ring->OwnersOfKey(
      key, std::span<uint32_t>(list, std::min<uint32_t>(replication, ring::kMaxReplication)));
  for (uint32_t i : std::span<const uint32_t>(list, n)) {
    if (was_tried(i)) continue;
    if (Live(i)) return i;
    if (fallback == ring::kNoNode) fallback = i;
  }
  return fallback;
}

}  // namespace ringkv::router
