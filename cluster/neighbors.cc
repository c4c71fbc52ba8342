#include "cluster/neighbors.h"

#include <algorithm>

#include "ring/hash.h"

namespace ringkv::cluster {

uint64_t NodePosition(const ClusterMap& map, const NodeInfo& node) {
  return ring::HashKey(map.hash, node.id);
}

std::vector<PlacedNode> NodesByPosition(const ClusterMap& map) {
  std::vector<PlacedNode> placed;
  for (size_t i = 0; i < map.nodes.size(); ++i) {
    const NodeInfo& n = map.nodes[i];
    if (n.state != NodeState::kActive && n.state != NodeState::kJoining) continue;
    placed.push_back({NodePosition(map, n), i});
  }
  std::sort(placed.begin(), placed.end(), [&](const PlacedNode& a, const PlacedNode& b) {
    if (a.position != b.position) return a.position < b.position;
    return map.nodes[a.index].id < map.nodes[b.index].id;
  });
  return placed;
}

std::optional<Neighbors> NeighborsOf(const ClusterMap& map, std::string_view id) {
  std::vector<PlacedNode> placed = NodesByPosition(map);
  for (size_t i = 0; i < placed.size(); ++i) {
    if (map.nodes[placed[i].index].id != id) continue;
    const size_t n = placed.size();
    return Neighbors{placed[i], placed[(i + n - 1) % n], placed[(i + 1) % n]};
  }
  return std::nullopt;
}

std::optional<PlacedNode> PredecessorOf(const ClusterMap& map, uint64_t position) {
  std::vector<PlacedNode> placed = NodesByPosition(map);
  if (placed.empty()) return std::nullopt;
  auto it = std::lower_bound(placed.begin(), placed.end(), position,
                             [](const PlacedNode& p, uint64_t pos) { return p.position < pos; });
  return it == placed.begin() ? placed.back() : *(it - 1);
}

}  // namespace ringkv::cluster
